/**
 * Parsers for llama-bench-style list options: every option takes a comma-separated list and
 * every parser returns an array (deduplicated, first occurrence kept). Bad input throws a
 * WhisperPerfError with code 'USAGE' and a one-line message naming the option and the value.
 *
 * Integer syntax, per comma-separated item:
 *   N            one value
 *   A-B          A, A+1, ..., B            (A ≤ B)
 *   A-B+S        A, A+S, A+2S, ... ≤ B     (S ≥ 1)
 *   A-B*M        A, A·M, A·M², ... ≤ B     (M ≥ 2, A ≥ 1)
 * Only non-negative decimal integers are accepted; a list may hold at most MAX_LIST_VALUES values.
 */
import { WhisperPerfError } from '../errors.js';
import type { OutputFormat } from './types.js';

/** The most values one list option may expand to. */
export const MAX_LIST_VALUES = 1000;

function shown(text: string): string {
  const s = JSON.stringify(text);
  return s.length > 60 ? s.slice(0, 57) + '..."' : s;
}

/** A USAGE error naming the option, the bad value and why. */
export function usageError(option: string, value: string, why: string): WhisperPerfError {
  return new WhisperPerfError(`${option}: invalid value ${shown(value)}: ${why}`, 'USAGE');
}

function dedupe<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function items(option: string, text: string): string[] {
  if (typeof text !== 'string' || text.trim() === '') throw usageError(option, String(text), 'empty list');
  const parts = text.split(',').map((s) => s.trim());
  parts.forEach((p, i) => {
    if (p === '') throw usageError(option, text, `empty item at position ${i + 1}`);
  });
  return parts;
}

export interface IntListOptions {
  /** smallest value allowed (default 0) */
  min?: number;
  /** largest value allowed (default Number.MAX_SAFE_INTEGER) */
  max?: number;
}

const INT = '(\\d+)';
const ITEM_RE = new RegExp(`^${INT}(?:-${INT}(?:([*+])${INT})?)?$`);

/** Parse an integer list/range option, e.g. `-t 1,2,8-16*2`. */
export function parseIntList(option: string, text: string, opts: IntListOptions = {}): number[] {
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  const out: number[] = [];
  const num = (s: string, item: string): number => {
    const v = Number(s);
    if (!Number.isSafeInteger(v)) throw usageError(option, item, `${s} is too large`);
    return v;
  };
  const check = (v: number, item: string): void => {
    if (v < min) throw usageError(option, item, `${v} is below the minimum ${min}`);
    if (v > max) throw usageError(option, item, `${v} is above the maximum ${max}`);
  };
  for (const item of items(option, text)) {
    const m = ITEM_RE.exec(item);
    if (!m) {
      throw usageError(option, item, 'expected an integer N, a range A-B, A-B+STEP or A-B*FACTOR');
    }
    const start = num(m[1], item);
    check(start, item);
    if (m[2] === undefined) {
      out.push(start);
    } else {
      const end = num(m[2], item);
      if (end < start) throw usageError(option, item, `range end ${end} is below its start ${start}`);
      check(end, item);
      const op = m[3] ?? '+';
      const step = m[4] === undefined ? 1 : num(m[4], item);
      let count: number;
      if (op === '+') {
        if (step < 1) throw usageError(option, item, `step +${step} must be at least 1`);
        count = Math.floor((end - start) / step) + 1;
      } else {
        if (step < 2) throw usageError(option, item, `factor *${step} must be at least 2`);
        if (start < 1) throw usageError(option, item, 'a multiplicative range must start at 1 or more');
        count = Math.floor(Math.log(end / start) / Math.log(step) + 1e-9) + 1;
      }
      if (out.length + count > MAX_LIST_VALUES) {
        throw usageError(option, item, `expands to more than ${MAX_LIST_VALUES} values`);
      }
      if (op === '+') {
        for (let v = start; v <= end; v += step) out.push(v);
      } else {
        for (let v = start; v <= end; v *= step) out.push(v);
      }
    }
    if (out.length > MAX_LIST_VALUES) throw usageError(option, text, `more than ${MAX_LIST_VALUES} values`);
  }
  return dedupe(out);
}

const TRUE_WORDS = new Set(['on', '1', 'true', 'yes']);
const FALSE_WORDS = new Set(['off', '0', 'false', 'no']);

/** Parse a boolean list, e.g. `--fa on,off` (on/off, 1/0, true/false, yes/no; any case). */
export function parseBoolList(option: string, text: string): boolean[] {
  return dedupe(
    items(option, text).map((item) => {
      const w = item.toLowerCase();
      if (TRUE_WORDS.has(w)) return true;
      if (FALSE_WORDS.has(w)) return false;
      throw usageError(option, item, 'expected on/off, 1/0, true/false or yes/no');
    }),
  );
}

/** Parse a list of strings, e.g. `-m a.bin,b.bin` (items trimmed; no empty items; no commas inside items). */
export function parseStringList(option: string, text: string): string[] {
  return dedupe(items(option, text));
}

/** Parse a device list, e.g. `--device cpu,0,1`: 'cpu' (any case) or a GPU index 0..255, normalized. */
export function parseDeviceList(option: string, text: string): string[] {
  return dedupe(
    items(option, text).map((item) => {
      if (item.toLowerCase() === 'cpu') return 'cpu';
      if (/^\d+$/.test(item)) {
        const v = Number(item);
        if (v <= 255) return String(v);
      }
      throw usageError(option, item, "expected 'cpu' or a GPU device index (0, 1, ...)");
    }),
  );
}

/** One combination of a cartesian product: each key holds one element of its axis. */
export type Combination<T extends Record<string, readonly unknown[]>> = { [K in keyof T]: T[K][number] };

/**
 * The cartesian product of named axes. The FIRST axis (in key order) changes slowest and the
 * last fastest, so put the costly-to-change axis (the model) first: every combination for a
 * model comes together and a loaded model is reused. An empty axis gives no combinations;
 * no axes give one empty combination.
 */
export function cartesian<T extends Record<string, readonly unknown[]>>(axes: T): Combination<T>[] {
  const keys = Object.keys(axes) as (keyof T & string)[];
  let acc: Record<string, unknown>[] = [{}];
  for (const key of keys) {
    const values = axes[key];
    const next: Record<string, unknown>[] = [];
    for (const partial of acc) {
      for (const v of values) next.push({ ...partial, [key]: v });
    }
    acc = next;
  }
  return acc as Combination<T>[];
}

const FORMATS: readonly OutputFormat[] = ['md', 'csv', 'json', 'jsonl', 'sql'];

/** Parse an output format name (md, csv, json, jsonl, sql; any case). */
export function parseOutputFormat(text: string, option = '-o'): OutputFormat {
  const f = String(text).trim().toLowerCase();
  if ((FORMATS as readonly string[]).includes(f)) return f as OutputFormat;
  throw usageError(option, String(text), `expected one of ${FORMATS.join(', ')}`);
}

/** One integer option from min to max, or undefined when the option was not given. */
export function parseOneInt(option: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const v = parseIntList(option, text, { min, max });
  if (v.length !== 1) throw usageError(option, text, 'takes one value');
  return v[0];
}
