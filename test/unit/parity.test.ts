// The pure parts of bench:parity (bench/parity-lib.mjs): the stage comparison over units of
// blocks and its verdict rule, the self-check, the order of sides, argument parsing, the table, and the parsing
// of whisper-bench's output for the reference line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  accumulateChunks,
  CHUNKS,
  HEAT,
  ROUND,
  blocksToResolve,
  compareBlocks,
  compareStage,
  extendTo,
  fmtMs,
  MAX_EXTENSIONS,
  formatModeTable,
  nativeArgs,
  parseNativeBench,
  parseParityArgs,
  runCommand,
  sideEnv,
  sideOrder,
  UsageError,
  verdictFor,
} from '../../bench/parity-lib.mjs';
import { blockRatio } from '../../lib/measure/ratios.js';

/**
 * What whisper-bench printed on stderr, captured from a real run (whisper.cpp 1.9.1, tiny.en,
 * 1 thread): test/fixtures/native/whisper-bench-t1.txt. The figures expected below were read
 * off that file by eye, not computed by the parser under test.
 */
const capture = readFileSync(join(process.cwd(), 'test', 'fixtures', 'native', 'whisper-bench-t1.txt'), 'utf8');

describe('parseNativeBench', () => {
  it('reads load time, per-run timings, threads and system_info from a real whisper-bench run', () => {
    const r = parseNativeBench(capture);
    expect(r.loadMs).toBeCloseTo(263.02, 6);
    // total / runs: "encode time = 1511.94 ms / 1 runs", "decode time = 5974.60 ms / 256 runs" …
    expect(r.perRunMs.encode).toBeCloseTo(1511.94, 6);
    expect(r.perRunMs.decode).toBeCloseTo(5974.6 / 256, 9);
    expect(r.perRunMs.batchd).toBeCloseTo(4293.44 / 320, 9);
    expect(r.perRunMs.prompt).toBeCloseTo(8417.36 / 4096, 9);
    expect(r.runs).toEqual({ encode: 1, decode: 256, batchd: 320, prompt: 4096 });
    expect(r.threads).toBe(1);
    expect(r.systemInfo).toBe(
      'WHISPER : COREML = 0 | OPENVINO = 0 | CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX_VNNI = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | OPENMP = 1 | REPACK = 1 |',
    );
  });

  it('takes per-run figures from total / runs, keeping the precision "ms per run" rounds away', () => {
    // the capture's "(23.34 ms per run)" is 5974.60 / 256 = 23.3383 rounded
    expect(parseNativeBench(capture).perRunMs.decode).not.toBeCloseTo(23.34, 3);
  });

  it('accepts CRLF line ends', () => {
    expect(parseNativeBench(capture.replace(/\n/g, '\r\n')).perRunMs.encode).toBeCloseTo(1511.94, 6);
  });

  it('throws when the timings are missing', () => {
    expect(() => parseNativeBench('error: failed to initialize whisper context\n')).toThrow(/no whisper_print_timings/);
    const noEncode = capture.replace(/^.*encode time.*$/m, '');
    expect(() => parseNativeBench(noEncode)).toThrow(/no whisper_print_timings/);
    const noLoad = capture.replace(/^.*load time.*$/m, '');
    expect(() => parseNativeBench(noLoad)).toThrow(/no whisper_print_timings/);
  });
});


/** Seeded noise so the tests are deterministic. */
function noise(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0xffffffff - 0.5;
  };
}

const STAGE_BASE = { encode: 420, decode: 5.4, batchd: 3.9, prompt: 0.57 };

/**
 * Synthetic blocks in the order they run: every side's per-stage figure is the stage's base time
 * × the machine's speed in that block (drift) × the side's factor × a start-position effect (the
 * side started first in its block is `first` slower, as measured between two native processes
 * on the Firecracker VM) × its own process's random factor × jitter. `addon` and `injected` are
 * factors against native. `fixedOrder` starts the sides in the same order in every block.
 */
function makeBlocks(
  n: number,
  o: { addon?: number; injected?: number; drift?: number; jitter?: number; first?: number; proc?: number; seed?: number; fixedOrder?: boolean } = {},
) {
  const { addon = 1, injected = 1.05, drift = 0.2, jitter = 0.01, first = 0.09, proc = 0.01, seed = 7, fixedOrder = false } = o;
  const rnd = noise(seed);
  const sides = ['native', 'addon', 'injected'];
  const blocks = [];
  for (let i = 0; i < n; i++) {
    const d = 1 + drift * rnd() * 2; // the machine's speed this block
    const order = fixedOrder ? sides : sideOrder(i, sides);
    const side = (name: string, f: number) => {
      const p = (order[0] === name ? 1 + first : 1) * (1 + proc * rnd() * 2);
      const wallPerRunMs = Object.fromEntries(Object.entries(STAGE_BASE).map(([k, v]) => [k, v * d * f * p * (1 + jitter * rnd() * 2)]));
      return { wallPerRunMs, perRunMs: wallPerRunMs, loadMs: 80 * d * (1 + jitter * rnd()), measuredCpuMs: 2700 * d * f * p, wallMs: 1380 * d * f * p, injected: f === 1 ? 0 : f - 1 };
    };
    blocks.push({ block: i + 1, order, native: side('native', 1), addon: side('addon', addon), injected: side('injected', addon * injected) });
  }
  return blocks;
}

describe('verdictFor', () => {
  const r = (ratio: number, low: number, high: number, n = 10) => ({ ratio, low, high, n, method: 'block-t' });
  it('is PASS when the whole CI is at or below the target', () => {
    expect(verdictFor(r(1.0, 0.98, 1.03), 1.03)).toBe('PASS');
  });
  it('is FAIL when the whole CI is above the target', () => {
    expect(verdictFor(r(1.05, 1.031, 1.07), 1.03)).toBe('FAIL');
  });
  it('is inconclusive when the CI straddles the target, or with fewer than 2 pairs', () => {
    expect(verdictFor(r(1.0, 0.95, 1.06), 1.03)).toBe('inconclusive');
    expect(verdictFor(r(1.05, 1.02, 1.08), 1.03)).toBe('inconclusive');
    expect(verdictFor(r(1.0, 1.0, 1.0, 1), 1.03)).toBe('inconclusive');
  });
});

describe('comparison over units of blocks', () => {
  it('compares each stage by its median over chunks when the blocks carry it: one slowed chunk does not move it', () => {
    const blocks = makeBlocks(27).map((b) => ({ ...b, native: { ...b.native, chunkMedianMs: b.native.wallPerRunMs }, addon: { ...b.addon, chunkMedianMs: b.addon.wallPerRunMs, wallPerRunMs: { ...b.addon.wallPerRunMs, prompt: b.addon.wallPerRunMs.prompt * 1.5 } } }));
    const prompt = compareBlocks(blocks).stages.find((s) => s.stage === 'prompt')!;
    expect(prompt.ratio.ratio).toBeCloseTo(1, 1);
  });

  it('cancels drift and the start-position effect: 20% drift, a 9% first-started penalty, the same speed → PASS', () => {
    const res = compareBlocks(makeBlocks(27));
    expect(res.unitSize).toBe(3);
    expect(res.units).toBe(9);
    for (const s of res.stages.filter((x) => x.stage !== 'load')) {
      expect(s.verdict, s.stage).toBe('PASS');
      expect(s.ratio.ratio).toBeCloseTo(1, 1);
    }
    expect(res.pass).toBe(true);
  });

  it('flags a 5% slower addon as FAIL on every loop stage under the same effects', () => {
    const res = compareBlocks(makeBlocks(27, { addon: 1.05 }));
    for (const s of res.stages.filter((x) => x.stage !== 'load')) expect(s.verdict, s.stage).toBe('FAIL');
    expect(res.pass).toBe(false);
  });

  it('one start order for every block mistakes the position effect for the addon: rotation is what removes it', () => {
    // native always started first: an addon of the same speed reads about 9% faster
    const fixed = compareBlocks(makeBlocks(27, { fixedOrder: true }));
    expect(fixed.stages.find((s) => s.stage === 'decode')!.ratio.ratio).toBeLessThan(0.94);
    const rotated = compareBlocks(makeBlocks(27));
    expect(rotated.stages.find((s) => s.stage === 'decode')!.ratio.ratio).toBeGreaterThan(0.98);
  });

  it('the self-check compares the injected side with the addon: a faster addon does not hide it', () => {
    // the addon 4% faster than native: +5% injected is only 1.008 against native, but 1.05 against the addon
    const res = compareBlocks(makeBlocks(27, { addon: 0.96, injected: 1.05 }));
    expect(res.selfCheck?.flagged).toBe(true);
    for (const s of res.selfCheck!.stages) expect(s.ratio.ratio).toBeCloseTo(1.05, 1);
  });

  it('the self-check passes only when every injected stage is FAIL', () => {
    expect(compareBlocks(makeBlocks(27)).selfCheck).toMatchObject({ flagged: true });
    // an injection the noise hides: 5% under 15% jitter in 2 units is not resolved
    const weak = compareBlocks(makeBlocks(6, { jitter: 0.15 }));
    expect(weak.selfCheck?.flagged).toBe(false);
    expect(weak.pass).toBe(false);
    const two = makeBlocks(6).map(({ injected: _i, ...b }) => b);
    expect(compareBlocks(two as never).selfCheck).toBeNull();
    expect(compareBlocks(makeBlocks(6), { selfCheck: false }).selfCheck).toBeNull();
  });

  it('compares load only when both sides have it, and reports CPU', () => {
    const blocks = makeBlocks(6).map((r) => ({ ...r, native: { ...r.native, loadMs: undefined } }));
    expect(compareBlocks(blocks).stages.map((s) => s.stage)).toEqual(['encode', 'decode', 'batchd', 'prompt']);
    const full = compareBlocks(makeBlocks(6));
    expect(full.stages[0].stage).toBe('load');
    expect(full.cpu.ratio.ratio).toBeCloseTo(1, 1);
    expect(full.cpu.nativeBusy.median).toBeCloseTo(2700 / 1380, 5);
  });

  it('says how many blocks would resolve an inconclusive stage', () => {
    const r = { ratio: 1.0, low: 0.97, high: 1.06, n: 10 };
    const need = blocksToResolve(r, 1.03, 3)!;
    expect(need).toBeGreaterThan(30);
    expect(need % 3).toBe(0);
    expect(blocksToResolve({ ...r, ratio: 1.03 }, 1.03, 3)).toBeNull();
    const s = compareStage('decode', [5, 5.1, 4.9, 5.2, 5, 5.3], [5, 5.4, 4.8, 5.5, 5.2, 5.2], 2);
    if (s.verdict === 'inconclusive') expect(s.blocksToResolve).toBeGreaterThan(6);
  });

  it('extends a table only while the self-check has not flagged every stage, by what its interval says', () => {
    // 5% injected under heavy per-process noise: 2 units do not resolve it
    const weak = compareBlocks(makeBlocks(6, { proc: 0.04, jitter: 0.03, seed: 3 }));
    expect(weak.selfCheck?.flagged).toBe(false);
    const ext = extendTo(weak, { blocksRun: 6, maxBlocks: 300, extensions: 0 });
    expect(ext).not.toBeNull();
    expect(ext!.to % 3).toBe(0);
    expect(ext!.to).toBeGreaterThanOrEqual(9);
    const missed = weak.selfCheck!.stages.filter((s) => s.verdict !== 'FAIL');
    expect(ext!.stages).toEqual(missed.map((s) => s.stage));
    expect(ext!.to).toBe(Math.min(300, Math.max(9, ...missed.map((s) => s.blocksToResolve!))));
    // capped by --max-blocks and by the number of extensions; none once flagged or without a check
    expect(extendTo(weak, { blocksRun: 6, maxBlocks: 12, extensions: 0 })!.to).toBeLessThanOrEqual(12);
    expect(extendTo(weak, { blocksRun: 12, maxBlocks: 12, extensions: 0 })).toBeNull();
    expect(extendTo(weak, { blocksRun: 6, maxBlocks: 300, extensions: MAX_EXTENSIONS })).toBeNull();
    expect(extendTo(compareBlocks(makeBlocks(27)), { blocksRun: 27, maxBlocks: 300, extensions: 0 })).toBeNull();
    expect(extendTo(compareBlocks(makeBlocks(6), { selfCheck: false }), { blocksRun: 6, maxBlocks: 300, extensions: 0 })).toBeNull();
    // never on the addon's own verdict: a 5% slower addon with a flagged check is not extended
    const slow = compareBlocks(makeBlocks(27, { addon: 1.05 }));
    expect(slow.selfCheck?.flagged).toBe(true);
    expect(extendTo(slow, { blocksRun: 27, maxBlocks: 300, extensions: 0 })).toBeNull();
  });

  it('does not extend when the self-check saw less than the target (more blocks would not flag it)', () => {
    const none = compareBlocks(makeBlocks(27, { injected: 1.0 }));
    expect(none.selfCheck?.stages.some((s) => s.verdict === 'PASS')).toBe(true);
    expect(extendTo(none, { blocksRun: 27, maxBlocks: 300, extensions: 0 })).toBeNull();
  });

  it('after one unit (no interval yet) extends by at least one more unit', () => {
    const one = compareBlocks(makeBlocks(3));
    expect(one.selfCheck?.flagged).toBe(false);
    expect(extendTo(one, { blocksRun: 3, maxBlocks: 30, extensions: 0 })).toMatchObject({ to: 6 });
  });

  it('rejects no blocks and a stage without a target', () => {
    expect(() => compareBlocks([])).toThrow(/no blocks/);
    expect(() => compareStage('nope', [1, 2], [1, 2], 1)).toThrow(/no target/);
  });
});

describe('blockRatio', () => {
  it('averages ln(a/b) within each unit, then takes a Student-t interval over the units', () => {
    // units of 2: ln ratios (0.1, -0.1) → 0, (0.2, 0) → 0.1, (0.05, 0.05) → 0.05
    const b = [1, 1, 1, 1, 1, 1];
    const a = [0.1, -0.1, 0.2, 0, 0.05, 0.05].map(Math.exp);
    const r = blockRatio(a, b, 2);
    expect(r).toMatchObject({ n: 3, blocks: 6, method: 'block-t' });
    expect(Math.log(r.ratio)).toBeCloseTo(0.05, 12);
    expect(r.sdLog).toBeCloseTo(0.05, 12);
    // t(0.975, 2) = 4.303
    expect(Math.log(r.high) - Math.log(r.ratio)).toBeCloseTo((4.303 * 0.05) / Math.sqrt(3), 3);
    expect(Math.log(r.ratio) - Math.log(r.low)).toBeCloseTo((4.303 * 0.05) / Math.sqrt(3), 3);
  });

  it('leaves out a trailing partial unit, gives a point for one unit, rejects no whole unit and bad values', () => {
    expect(blockRatio([2, 2, 2, 2, 9], [1, 1, 1, 1, 1], 2)).toMatchObject({ ratio: 2, n: 2, blocks: 4 });
    expect(blockRatio([2, 2], [1, 1], 2)).toMatchObject({ ratio: 2, low: 2, high: 2, n: 1 });
    expect(() => blockRatio([2], [1], 2)).toThrow(/whole unit/);
    expect(() => blockRatio([2, 0], [1, 1], 2)).toThrow(/positive/);
    expect(() => blockRatio([2, 2], [1], 1)).toThrow(/same length/);
  });
});

describe('formatModeTable', () => {
  it('prints one row per stage with the self-check columns, the CPU line and the self-check line', () => {
    const md = formatModeTable(compareBlocks(makeBlocks(27)));
    const lines = md.split('\n');
    expect(lines[0]).toMatch(/^\| stage \| native median \| addon median \| addon\/native \[95% CI\] \| target \| verdict \| self-check: \+5% injected \/ addon \[95% CI\] \| flagged \|$/);
    expect(lines.filter((l) => l.startsWith('| ')).length).toBe(2 + 5);
    expect(md).toMatch(/CPU per round/);
    expect(md).toMatch(/Self-check: passed/);
    // the synthetic injected side's own times are 1.05 × the addon's (no busy-wait to leave out)
    expect(md).toMatch(/injected calls' own time .*decode 1\.05\d \[/);
  });

  it('explains an inconclusive stage with the blocks that would resolve it', () => {
    const md = formatModeTable(compareBlocks(makeBlocks(6, { jitter: 0.08, seed: 3 }), { selfCheck: false }));
    expect(md).not.toMatch(/self-check/);
    expect(md).toMatch(/inconclusive/);
    expect(md).toMatch(/blocks would resolve it/);
  });
});

describe('parseParityArgs', () => {
  it('defaults: 1 thread and the core count, both modes, self-check on at 5%', () => {
    expect(parseParityArgs([], { cores: 2 })).toMatchObject({
      threads: [1, 2],
      modes: ['fresh', 'served'],
      blocks: 45,
      rounds: 1,
      selfCheck: true,
      inject: 0.05,
      reference: true,
      nativeThread: true,
      flashAttn: true,
      useGpu: true,
      output: 'md',
      native: 'build/Release/whisper-perf-native-bench',
    });
    expect(parseParityArgs([], { cores: 1 }).threads).toEqual([1]);
  });

  it('reads every option', () => {
    const o = parseParityArgs(['-m', 'x.bin', '-t', '2,4', '-b', '10', '-r', '2', '--mode', 'served', '--inject', '0.1', '--no-self-check', '--no-reference', '--fa', 'off', '--no-gpu', '--native', 'n', '-o', 'json']);
    expect(o).toMatchObject({ model: 'x.bin', threads: [2, 4], blocks: 10, rounds: 2, modes: ['served'], inject: 0.1, selfCheck: false, reference: false, flashAttn: false, useGpu: false, native: 'n', output: 'json' });
  });

  it('the native driver computes on a second thread, as the addon does, unless --native-main-thread', () => {
    expect(parseParityArgs(['--native-thread']).nativeThread).toBe(true);
    expect(parseParityArgs(['--native-main-thread']).nativeThread).toBe(false);
  });

  it('--max-blocks: twice -b by default, -b under --quick, rounded to units, never below -b', () => {
    expect(parseParityArgs([]).maxBlocks).toBe(90);
    expect(parseParityArgs(['-b', '12']).maxBlocks).toBe(24);
    expect(parseParityArgs(['--quick']).maxBlocks).toBe(6);
    expect(parseParityArgs(['-b', '9', '--max-blocks', '10']).maxBlocks).toBe(12);
    expect(parseParityArgs(['-b', '9', '--max-blocks', '9']).maxBlocks).toBe(9);
    expect(() => parseParityArgs(['-b', '30', '--max-blocks', '12'])).toThrow(UsageError);
    expect(() => parseParityArgs(['--max-blocks', 'x'])).toThrow(UsageError);
  });

  it('rounds the blocks up to whole units: 3 with the self-check, 2 without', () => {
    expect(parseParityArgs(['-b', '4']).blocks).toBe(6);
    expect(parseParityArgs(['-b', '3', '--no-self-check']).blocks).toBe(4);
    expect(parseParityArgs(['-b', '9']).blocks).toBe(9);
  });

  it('--quick: 6 blocks, the core count, fresh only, unless told otherwise', () => {
    expect(parseParityArgs(['--quick'], { cores: 4 })).toMatchObject({ blocks: 6, rounds: 1, threads: [4], modes: ['fresh'] });
    expect(parseParityArgs(['--quick', '-b', '12', '-t', '1'], { cores: 4 })).toMatchObject({ blocks: 12, threads: [1] });
  });

  it('huge pages for malloc on every side by default, appended to GLIBC_TUNABLES; --no-hugepages leaves it', () => {
    expect(parseParityArgs([]).hugepages).toBe(true);
    expect(parseParityArgs(['--no-hugepages']).hugepages).toBe(false);
    expect(sideEnv({ A: '1' }, { hugepages: true })).toEqual({ A: '1', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
    expect(sideEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, { hugepages: true }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    const base = { A: '1' };
    expect(sideEnv(base, { hugepages: false })).toEqual({ A: '1' });
    expect(sideEnv(base, { hugepages: true })).not.toBe(base);
    expect(base).toEqual({ A: '1' });
  });

  it('returns help alone for -h', () => {
    expect(parseParityArgs(['-h'])).toEqual({ help: true });
  });

  it('rejects bad values as usage errors', () => {
    for (const argv of [['-t', '0'], ['-t', 'x'], ['-r', '-1'], ['-b', '0'], ['--mode', 'cold'], ['--inject', '0'], ['--inject', '2'], ['--fa', 'maybe'], ['-o', 'csv'], ['--bogus'], ['-m', '']]) {
      expect(() => parseParityArgs(argv), argv.join(' ')).toThrow(UsageError);
    }
  });
});

describe('nativeArgs, runCommand and sideOrder', () => {
  it('passes -nfa, -ng and --on-thread only when asked', () => {
    expect(nativeArgs({ model: 'm', threads: 2, flashAttn: true, useGpu: true })).toEqual(['-m', 'm', '-t', '2']);
    expect(nativeArgs({ model: 'm', threads: 2, flashAttn: true, useGpu: true, nativeThread: true })).toEqual(['-m', 'm', '-t', '2', '--on-thread']);
    expect(nativeArgs({ model: 'm', threads: 1, flashAttn: false, useGpu: false })).toEqual(['-m', 'm', '-t', '1', '-nfa', '-ng']);
  });

  it('sends a chunk to the driver in its argument order', () => {
    expect(runCommand(HEAT)).toBe('run 1 16 0 0 0 0');
    expect(runCommand({ heat: 0, heatDecodes: 0, nEncode: 1, nDecode: 32, nBatch: 4, nPrompt: 2 })).toBe('run 0 0 1 32 4 2');
  });

  it('puts every side in every position, and after every other side, equally often over 2·n rounds', () => {
    const sides = ['native', 'addon', 'injected'];
    const orders = Array.from({ length: 6 }, (_, i) => sideOrder(i, sides));
    for (const s of sides) {
      for (let pos = 0; pos < 3; pos++) expect(orders.filter((o) => o[pos] === s).length).toBe(2);
    }
    const follows = (a: string, b: string) => orders.filter((o) => o.indexOf(b) === o.indexOf(a) + 1).length;
    expect(follows('native', 'addon')).toBe(follows('addon', 'native'));
    expect(sideOrder(0, ['native', 'addon'])).toEqual(['native', 'addon']);
    expect(sideOrder(1, ['native', 'addon'])).toEqual(['addon', 'native']);
  });
});

describe('a round in chunks', () => {
  it("holds whisper-bench's stages in small numbers, each chunk one stage, no heat-up inside", () => {
    expect(ROUND).toEqual({ nEncode: 1, nDecode: 128, nBatch: 16, nPrompt: 8 });
    for (const c of CHUNKS) {
      expect(c.heat).toBe(0);
      expect([c.nEncode, c.nDecode, c.nBatch, c.nPrompt].filter((n) => n > 0)).toHaveLength(1);
      expect(c.nDecode).toBeLessThanOrEqual(256);
    }
    // the stages are spread over the round rather than run one after the other
    const at = (f: (c: (typeof CHUNKS)[number]) => boolean) => CHUNKS.flatMap((c, i) => (f(c) ? [i] : []));
    expect(at((c) => c.nEncode > 0)).toEqual([8]);
    for (const f of [(c: (typeof CHUNKS)[number]) => c.nDecode > 0, (c: (typeof CHUNKS)[number]) => c.nPrompt > 0]) {
      const idx = at(f);
      expect(idx[0]).toBeLessThan(4);
      expect(idx[idx.length - 1]).toBeGreaterThan(CHUNKS.length - 5);
    }
  });

  it("weights each chunk's per-run figures by its runs (batchd and prompt per token) and sums CPU", () => {
    const z = { encode: 0, decode: 0, batchd: 0, prompt: 0 };
    const chunk = (o: object) => ({ heat: 0, heatDecodes: 0, nEncode: 0, nDecode: 0, nBatch: 0, nPrompt: 0, ...o });
    const side = accumulateChunks([
      { spec: chunk({ nEncode: 1 }), r: { wallPerRunMs: { ...z, encode: 100 }, perRunMs: { ...z, encode: 99 }, measuredCpuMs: 200 } },
      { spec: chunk({ nDecode: 10 }), r: { wallPerRunMs: { ...z, decode: 2 }, perRunMs: { ...z, decode: 1.9 }, measuredCpuMs: 40 } },
      { spec: chunk({ nDecode: 30 }), r: { wallPerRunMs: { ...z, decode: 4 }, perRunMs: { ...z, decode: 3.9 }, measuredCpuMs: 240 } },
      { spec: chunk({ nBatch: 2 }), r: { wallPerRunMs: { ...z, batchd: 1 }, perRunMs: { ...z, batchd: 1 }, measuredCpuMs: 20 } },
      { spec: chunk({ nEncode: 1 }), r: { wallPerRunMs: { ...z, encode: 120 }, perRunMs: { ...z, encode: 119 }, measuredCpuMs: 240 } },
    ]);
    expect(side.runs).toEqual({ encode: 2, decode: 40, batchd: 10, prompt: 0 });
    expect(side.wallPerRunMs.encode).toBeCloseTo(110, 9);
    expect(side.wallPerRunMs.decode).toBeCloseTo((10 * 2 + 30 * 4) / 40, 9);
    expect(side.perRunMs.decode).toBeCloseTo((10 * 1.9 + 30 * 3.9) / 40, 9);
    expect(side.wallPerRunMs.batchd).toBe(1);
    expect(side.wallPerRunMs.prompt).toBe(0);
    expect(side.measuredCpuMs).toBe(740);
    expect(side.wallMs).toBeCloseTo(220 + 140 + 10, 9);
    // the comparison's figure: each stage's median over its chunks (per-run wall), unweighted
    expect(side.chunkMedianMs).toEqual({ encode: 110, decode: 3, batchd: 1, prompt: 0 });
    expect(side.chunkWallMs.decode).toEqual([2, 4]);
  });
});

describe('fmtMs', () => {
  it('formats by magnitude', () => {
    expect(fmtMs(1234.56)).toBe('1234.6');
    expect(fmtMs(12.345)).toBe('12.35');
    expect(fmtMs(0.012345)).toBe('0.0123');
    expect(fmtMs(0)).toBe('0');
    expect(fmtMs(NaN)).toBe('NaN');
  });
});
