// Shared pieces of the argument fuzz suite: hostile values, and a tally of how each call ended.
import fc from 'fast-check';

import { WhisperPerfError, type ErrorCode } from '../../lib/errors.js';
import { HANG_MS } from '../fixtures/limits.js';

export interface Tally {
  tried: number;
  rejected: number;
  accepted: number;
  crashed: number;
  /** the first few crashes, for the failure message */
  crashes: string[];
}

export const tally: Tally = { tried: 0, rejected: 0, accepted: 0, crashed: 0, crashes: [] };

/*
 * A call that answers in no more than HANG_MS (test/fixtures/limits.ts) or counts as a hang. A weird
 * value in place of the whole options object is a transcription at the defaults (all of the audio
 * context, the default threads, fallback): 0.85 s here alone, up to 11.6 s beside two spinning
 * shells, and past the old 20 s in a flake run (docs/flake/3f8a8aa.jsonl, run 2).
 */

function show(v: unknown): string {
  try {
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'symbol') return v.toString();
    return String(v).slice(0, 200);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/**
 * Runs one generated case: it must return (or resolve), or throw (or reject) a WhisperPerfError
 * with one of `codes`. Anything else (a TypeError, a RangeError, another code, a hang) is a crash:
 * it is counted and the property fails, so fast-check shrinks it to a small counterexample.
 */
export async function attempt(label: string, codes: readonly ErrorCode[], call: () => unknown): Promise<'accepted' | 'rejected'> {
  tally.tried++;
  let timer: NodeJS.Timeout | undefined;
  try {
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${label}: no answer within ${HANG_MS} ms (hang)`)), HANG_MS);
    });
    await Promise.race([Promise.resolve().then(call), hang]);
    tally.accepted++;
    return 'accepted';
  } catch (e) {
    if (e instanceof WhisperPerfError && codes.includes(e.code)) {
      tally.rejected++;
      return 'rejected';
    }
    tally.crashed++;
    const what = e instanceof WhisperPerfError ? `WhisperPerfError ${e.code}: ${e.message}` : e instanceof Error ? `${e.name}: ${e.message}` : `thrown ${show(e)}`;
    if (tally.crashes.length < 20) tally.crashes.push(`${label}: ${what}`);
    throw new Error(`${label}: ended in ${what}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- hostile values

// fast-check asks every generated value whether it has its clone method: that one question is answered
const throwingProxy = (err: () => Error = () => new Error('proxy trap')) =>
  new Proxy(
    {},
    {
      get() {
        throw err();
      },
      has(_t, key) {
        if (key === fc.cloneMethod) return false;
        throw err();
      },
      set() {
        throw err();
      },
      apply() {
        throw err();
      },
      construct() {
        throw err();
      },
      defineProperty() {
        throw err();
      },
      deleteProperty() {
        throw err();
      },
      isExtensible() {
        throw err();
      },
      preventExtensions() {
        throw err();
      },
      setPrototypeOf() {
        throw err();
      },
      ownKeys() {
        throw err();
      },
      getPrototypeOf() {
        throw err();
      },
      getOwnPropertyDescriptor() {
        throw err();
      },
    },
  );

/** Behaves as a revoked proxy (a TypeError on every operation; a real one would break fast-check itself). */
const revokedProxy = () => throwingProxy(() => new TypeError('Cannot perform operation on a proxy that has been revoked'));

/** An object each of whose named properties throws when read. */
const throwingGetters = (keys: readonly string[]) => {
  const o: Record<string, unknown> = {};
  for (const k of keys) {
    Object.defineProperty(o, k, {
      enumerable: true,
      get() {
        throw new Error(`getter ${k}`);
      },
    });
  }
  return o;
};

/** A property that reads as a valid value the first time and as something else afterwards (checked, then changed). */
const flipping = (first: unknown, later: unknown) => {
  let n = 0;
  return { get: () => (n++ === 0 ? first : later) };
};

const sideEffects = () => {
  let n = 0;
  return {
    toString() {
      n++;
      throw new Error('toString side effect');
    },
    valueOf() {
      n++;
      return n;
    },
    [Symbol.toPrimitive]() {
      n++;
      throw new Error('toPrimitive side effect');
    },
  };
};

const detachedF32 = () => {
  const buf = new ArrayBuffer(64);
  const a = new Float32Array(buf);
  structuredClone(buf, { transfer: [buf] });
  return a;
};

const hugeSparse = () => {
  const a: number[] = [];
  a.length = 2 ** 32 - 1;
  a[5] = 1;
  return a;
};

/**
 * A hostile value, made only inside the property: fast-check itself inspects, clones and prints
 * what it generates, and a proxy or a throwing getter would break fast-check rather than the API.
 */
export class Hostile {
  constructor(
    readonly label: string,
    readonly make: () => unknown,
  ) {}
  [fc.toStringMethod](): string {
    return this.label;
  }
}

/** The real value of a generated one: hostile values made, plain arrays and objects gone through. */
export function real(v: unknown): unknown {
  if (v instanceof Hostile) return v.make();
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    v.forEach((x, i) => (out[i] = real(x)));
    return out;
  }
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, real(x)]));
  }
  return v;
}

const N: [string, () => unknown][] = [
  ['undefined', () => undefined],
  ['null', () => null],
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['-Infinity', () => -Infinity],
  ['-0', () => -0],
  ['0', () => 0],
  ['1', () => 1],
  ['-1', () => -1],
  ['0.5', () => 0.5],
  ['2^31', () => 2 ** 31],
  ['2^32+1', () => 2 ** 32 + 1],
  ['2^53', () => 2 ** 53],
  ['-2^53', () => -(2 ** 53)],
  ['MAX_VALUE', () => Number.MAX_VALUE],
  ['MIN_VALUE', () => Number.MIN_VALUE],
  ['EPSILON', () => Number.EPSILON],
  ['""', () => ''],
  ['"\\0"', () => '\0'],
  ['"a\\0b"', () => 'a\0b'],
  ['"en\\0"', () => 'en\0'],
  ['../ x50', () => '../'.repeat(50) + 'etc/passwd'],
  ['x x100000', () => 'x'.repeat(100_000)],
  ['words x20000', () => 'one 2 three, '.repeat(20_000)],
  ['"1e3"', () => '1e3'],
  ['"  "', () => '  '],
  ['emoji+lone surrogate', () => '\u{1F600}\uD800'],
  ['Symbol', () => Symbol('s')],
  ['Symbol.iterator', () => Symbol.iterator],
  ['10n', () => 10n],
  ['-1n', () => -1n],
  ['2n^64n', () => 2n ** 64n],
  ['true', () => true],
  ['false', () => false],
  ['[]', () => []],
  ['[1,2,3]', () => [1, 2, 3]],
  // eslint-disable-next-line no-sparse-arrays
  ['sparse [,,1]', () => [, , 1]],
  ['[NaN,Inf,-1,2^40]', () => [NaN, Infinity, -1, 2 ** 40]],
  ['["a",{},null]', () => ['a', {}, null]],
  ['huge sparse array', () => hugeSparse()],
  ['100000 x 7', () => new Array(100_000).fill(7)],
  ['Float32Array(0)', () => new Float32Array(0)],
  ['Float32Array[NaN,Inf]', () => new Float32Array([NaN, Infinity, -Infinity, 1e38])],
  ['Float32Array(3)', () => new Float32Array(3)],
  ['Float64Array(400)', () => new Float64Array(400)],
  ['Int16Array(400)', () => new Int16Array(400)],
  ['Int32Array', () => new Int32Array([0, 1, -5, 2 ** 31 - 1])],
  ['Uint8Array(64)', () => new Uint8Array(64)],
  ['Uint8ClampedArray', () => new Uint8ClampedArray(8)],
  ['BigInt64Array', () => new BigInt64Array(4)],
  ['DataView', () => new DataView(new ArrayBuffer(16))],
  ['ArrayBuffer', () => new ArrayBuffer(16)],
  ['Float32Array(shared)', () => new Float32Array(new SharedArrayBuffer(64))],
  ['Float32Array(offset view)', () => new Float32Array(new ArrayBuffer(64), 4, 3)],
  ['Float32Array(detached)', () => detachedF32()],
  ['Buffer RIFF', () => Buffer.from('RIFF\0\0\0\0WAVE')],
  ['{}', () => ({})],
  ['null-prototype object', () => Object.create(null)],
  ['{length:2^40}', () => ({ length: 2 ** 40 })],
  ['{length:-1}', () => ({ length: -1, 0: 1 })],
  ['toString/valueOf side effects', () => sideEffects()],
  ['throwing proxy', () => throwingProxy()],
  ['revoked proxy', () => revokedProxy()],
  ['proxy of Float32Array', () => new Proxy(new Float32Array(16), {})],
  ['proxy of array', () => new Proxy([1, 2, 3], {})],
  ['throwing getters', () => throwingGetters(['threads', 'signal', 'nLen', 'offset', 'language', 'length', 'maxBytes', 'normalize', 'useGpu', 'then', 'ref', 'hyp', 'bytes', 'source'])],
  ['thenable that never settles', () => ({ then: () => undefined })],
  ['() => undefined', () => () => undefined],
  ['callback that throws', () => () => {
    throw new Error('callback throws');
  }],
  ['async callback that throws', () => async () => {
    throw new Error('async callback throws');
  }],
  ['class', () => class {}],
  ['Invalid Date', () => new Date(NaN)],
  ['RegExp', () => /x/g],
  ['Map', () => new Map([[1, 2]])],
  ['Set', () => new Set([1])],
  ['WeakMap', () => new WeakMap()],
  ['Promise', () => Promise.resolve(1)],
  ['Error', () => new Error('an error as a value')],
  ['aborted signal', () => AbortSignal.abort()],
  ['live signal', () => new AbortController().signal],
  ['aborted signal with reason', () => AbortSignal.abort(new Error('reason'))],
  ['file: URL', () => new URL('file:///nonexistent/x.wav')],
  ['https: URL', () => new URL('https://example.invalid/a.wav')],
  ['globalThis', () => globalThis],
  ['process', () => process],
];

/** A hand-picked list of nasty values (each made fresh: some have state). */
export const nasty: fc.Arbitrary<unknown> = fc.constantFrom(...N).map(([label, make]) => new Hostile(label, make));

/** Any value: the nasty list, fast-check's anything (with bigints, typed arrays, sparse arrays, null prototypes), numbers and strings. */
export const weird: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: nasty },
  {
    weight: 2,
    arbitrary: fc.anything({
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
      maxDepth: 2,
      maxKeys: 4,
    }),
  },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

/**
 * An options object: a valid `base` with some keys replaced by weird values (given as plain
 * properties, throwing getters, or values that change after the first read), or a weird value
 * in place of the whole object. Generated as a Hostile: real() makes it.
 */
export function options(keys: readonly string[], base: Record<string, unknown> = {}, whole = true): fc.Arbitrary<unknown> {
  const entry = fc.tuple(fc.constantFrom(...keys), weird, fc.constantFrom('plain', 'plain', 'plain', 'getter-throws', 'flips'));
  const built = fc.array(entry, { minLength: 1, maxLength: 3 }).map((entries) => new Hostile(
    `{ ${entries.map(([k, v, how]) => `${k}: ${how === 'plain' ? fc.stringify(v) : `${how}(${fc.stringify(v)})`}`).join(', ')} } over ${JSON.stringify(base)}`,
    () => {
      const o: Record<string, unknown> = { ...base };
      for (const [k, v, how] of entries) {
        const value = real(v);
        if (how === 'plain') Object.defineProperty(o, k, { enumerable: true, configurable: true, writable: true, value });
        else if (how === 'getter-throws') {
          Object.defineProperty(o, k, {
            enumerable: true,
            configurable: true,
            get() {
              throw new Error(`getter ${k} throws`);
            },
          });
        } else Object.defineProperty(o, k, { enumerable: true, configurable: true, ...flipping(base[k], value) });
      }
      return o;
    },
  ));
  return whole ? fc.oneof({ weight: 6, arbitrary: built }, { weight: 1, arbitrary: weird }) : built;
}
