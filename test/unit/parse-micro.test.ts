import { describe, expect, it } from 'vitest';
import { WhisperPerfError } from '../../lib/errors.js';
import { parseMemcpy, parseMulmat } from '../../lib/measure/parse-micro.js';
import { microRowsOf } from '../../lib/workloads/engine.js';
import { provenance } from '../fixtures/rows.js';

// printf helpers reproducing the format strings in whisper.cpp's src/whisper.cpp
const f = (x: number, width: number, prec: number) => x.toFixed(prec).padStart(width); // %W.Pf
const d = (x: number, width: number) => String(x).padStart(width); // %Wd, %Wzu

/** What whisper_bench_memcpy_str(nThreads) returns for given figures. */
function memcpyText(heat: number, single: number, perK: number[], sum = 12345.5): string {
  let s = '';
  s += `memcpy: ${f(heat, 7, 2)} GB/s (heat-up)\n`;
  s += `memcpy: ${f(single, 7, 2)} GB/s ( 1 thread)\n`;
  perK.forEach((g, i) => {
    s += `memcpy: ${f(g, 7, 2)} GB/s (${d(i + 1, 2)} thread)\n`;
  });
  s += `sum:    ${sum.toFixed(6)}\n`;
  return s;
}

const TYPES = ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'F16', 'F32'] as const;

/** What whisper_bench_ggml_mul_mat_str returns, for gflops(type, N) and runs(type, N). */
function mulmatText(sizes: number[], gf: (k: number, n: number) => number, runs: (k: number, n: number) => number): string {
  let s = '';
  for (const N of sizes) {
    const c = (k: number) => [f(gf(k, N), 7, 1), d(runs(k, N), 3)];
    const [g0, r0] = c(0), [g1, r1] = c(1), [g2, r2] = c(2), [g3, r3] = c(3), [g4, r4] = c(4), [g5, r5] = c(5), [g6, r6] = c(6);
    s += `${d(N, 4)} x ${d(N, 4)}: Q4_0 ${g0} GFLOPS (${r0} runs) | Q4_1 ${g1} GFLOPS (${r1} runs)\n`;
    s += `${d(N, 4)} x ${d(N, 4)}: Q5_0 ${g2} GFLOPS (${r2} runs) | Q5_1 ${g3} GFLOPS (${r3} runs) | Q8_0 ${g4} GFLOPS (${r4} runs)\n`;
    s += `${d(N, 4)} x ${d(N, 4)}: F16  ${g5} GFLOPS (${r5} runs) | F32  ${g6} GFLOPS (${r6} runs)\n`;
  }
  return s;
}

describe('parseMemcpy', () => {
  it('reads one call with several thread counts', () => {
    const text = memcpyText(9.87, 10.5, [10.25, 18.75, 20.01, 21.5]);
    expect(text.split('\n')[2]).toBe('memcpy:   10.25 GB/s ( 1 thread)');
    const r = parseMemcpy(text);
    expect(r.threads).toBe(4);
    expect(r.gbps).toEqual([21.5]);
    expect(r.single_gbps).toEqual([10.5]);
    expect(r.runs).toHaveLength(1);
    expect(r.runs[0]).toEqual({
      heatup_gbps: 9.87,
      single_gbps: 10.5,
      by_threads: [
        { threads: 1, gbps: 10.25 },
        { threads: 2, gbps: 18.75 },
        { threads: 3, gbps: 20.01 },
        { threads: 4, gbps: 21.5 },
      ],
      sum: 12345.5,
    });
  });

  it('reads two-digit thread counts', () => {
    const perK = Array.from({ length: 12 }, (_, i) => 10 + i);
    const text = memcpyText(1, 2, perK);
    expect(text).toContain('memcpy:   21.00 GB/s (12 thread)');
    expect(parseMemcpy(text)).toMatchObject({ threads: 12, gbps: [21] });
  });

  it('gives one figure per call when calls are concatenated', () => {
    const text = memcpyText(9, 10, [10, 19]) + memcpyText(9, 11, [11, 19.5]) + memcpyText(9, 12, [12, 18.25]);
    const r = parseMemcpy(text);
    expect(r.threads).toBe(2);
    expect(r.gbps).toEqual([19, 19.5, 18.25]);
    expect(r.single_gbps).toEqual([10, 11, 12]);
  });

  it('uses the single-thread line when no k-thread line was printed (n_threads 0)', () => {
    expect(parseMemcpy(memcpyText(9, 10.75, []))).toMatchObject({ threads: 1, gbps: [10.75] });
  });

  it('ignores log lines mixed in, and CRLF', () => {
    const text = 'whisper_init: something\r\n' + memcpyText(9, 10, [10, 17.5]).replace(/\n/g, '\r\n');
    expect(parseMemcpy(text).gbps).toEqual([17.5]);
  });

  it('throws NATIVE_FAILURE without a result line', () => {
    expect(() => parseMemcpy('')).toThrow(WhisperPerfError);
    expect(() => parseMemcpy('memcpy:    9.00 GB/s (heat-up)\n')).toThrow(/no "memcpy/);
  });
});

describe('parseMulmat', () => {
  const sizes = [64, 128, 256, 512, 1024, 2048, 4096];
  const gf = (k: number, n: number) => (k + 1) * 10 + n / 1000;
  const runs = (k: number, n: number) => (n <= 256 ? 128 : 3 + k);
  const text = mulmatText(sizes, gf, runs);

  it('reads every size and type in printed order', () => {
    expect(text.split('\n')[0]).toBe('  64 x   64: Q4_0    10.1 GFLOPS (128 runs) | Q4_1    20.1 GFLOPS (128 runs)');
    expect(text.split('\n')[20]).toBe('4096 x 4096: F16     64.1 GFLOPS (  8 runs) | F32     74.1 GFLOPS (  9 runs)');
    const { rows } = parseMulmat(text);
    expect(rows).toHaveLength(sizes.length * 7);
    expect(rows.slice(0, 7).map((r) => r.type)).toEqual([...TYPES]);
    expect(rows.map((r) => r.size)).toEqual(sizes.flatMap((n) => Array(7).fill(n)));
    for (const r of rows) {
      const k = TYPES.indexOf(r.type);
      expect(r.gflops).toBeCloseTo(gf(k, r.size), 1);
      expect(r.runs).toBe(runs(k, r.size));
    }
  });

  it('derives the seconds of the timed runs', () => {
    const { rows } = parseMulmat(text);
    const r = rows.find((x) => x.type === 'F32' && x.size === 1024)!;
    // gflops 71.0 (printed %7.1f of 71.024), runs 9: seconds = 2 * 1024^3 * 9 / 71.0e9
    expect(r.gflops).toBe(71);
    expect(r.seconds).toBeCloseTo((2 * 1024 ** 3 * 9) / 71e9, 12);
  });

  it('omits seconds for 0 GFLOPS', () => {
    const t = mulmatText([64], () => 0, () => 128);
    const { rows } = parseMulmat(t);
    expect(rows[0]).toEqual({ type: 'Q4_0', size: 64, gflops: 0, runs: 128 });
  });

  it('throws on an unreadable cell or no result', () => {
    expect(() => parseMulmat('  64 x   64: Q4_0 fast GFLOPS (128 runs)\n')).toThrow(/unreadable cell/);
    expect(() => parseMulmat('  64 x   64: Q9_9    10.0 GFLOPS (128 runs)\n')).toThrow(WhisperPerfError);
    expect(() => parseMulmat('nothing here\n')).toThrow(/no "N x N/);
  });
});

describe('mulmat rows', () => {
  it('a cell that printed 0.0 GFLOPS (below the one decimal) is kept and its row says why; others carry no such warning', () => {
    // two repetitions; Q4_0 64 × 64 read 0.0 in the first (95 runs in just over 1 s: 0.0498 GFLOPS)
    const gf = (rep: number) => (k: number, n: number) => (rep === 0 && k === 0 && n === 64 ? 0 : 1.5 * k + n / 64);
    const runs = (k: number, n: number) => (k === 0 && n === 64 ? 95 : 128);
    const rows = microRowsOf('mulmat', [mulmatText([64, 128], gf(0), runs), mulmatText([64, 128], gf(1), runs)], 2, provenance());
    expect(rows).toHaveLength(14);
    const zero = rows.find((r) => r.mulmat_type === 'Q4_0' && r.mulmat_size === 64)!;
    expect(zero.mulmat_gflops!.samples).toEqual([0, 1]);
    expect(zero.warnings.join(' ')).toMatch(/mulmat Q4_0 64: 1 of 2 repetition\(s\) printed 0\.0 GFLOPS, below whisper\.cpp's one-decimal resolution/);
    for (const r of rows.filter((x) => x !== zero)) expect(r.warnings.join(' ')).not.toMatch(/printed 0\.0 GFLOPS/);
  });
});
