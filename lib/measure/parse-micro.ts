/**
 * Parsers for the text whisper.cpp's micro-benchmarks return:
 *
 * whisper_bench_memcpy_str(n_threads) prints, per call (1 GB copied 20 times each):
 *   "memcpy: %7.2f GB/s (heat-up)\n"
 *   "memcpy: %7.2f GB/s ( 1 thread)\n"              the single-thread run
 *   "memcpy: %7.2f GB/s (%2d thread)\n"             for k = 1..n_threads (k threads)
 *   "sum:    %f\n"
 * Note the single-thread line and the k = 1 line read alike; they are told apart by order.
 *
 * whisper_bench_ggml_mul_mat_str(n_threads) prints, for N in 64..4096, three lines:
 *   "%4zu x %4zu: Q4_0 %7.1f GFLOPS (%3d runs) | Q4_1 %7.1f GFLOPS (%3d runs)\n"
 *   "%4zu x %4zu: Q5_0 %7.1f GFLOPS (%3d runs) | Q5_1 ... | Q8_0 %7.1f GFLOPS (%3d runs)\n"
 *   "%4zu x %4zu: F16  %7.1f GFLOPS (%3d runs) | F32  %7.1f GFLOPS (%3d runs)\n"
 * where GFLOPS = 2·N³·runs / seconds · 1e-9.
 *
 * Lines matching neither format (log lines mixed in) are ignored; text with no result line
 * at all throws NATIVE_FAILURE.
 */
import { WhisperPerfError } from '../errors.js';

/** One call of whisper_bench_memcpy_str. */
export interface MemcpyRun {
  heatup_gbps: number | null;
  single_gbps: number | null;
  /** the "k thread" lines, k ascending as printed */
  by_threads: { threads: number; gbps: number }[];
  /** the checksum line, when present */
  sum: number | null;
}

export interface MemcpyResult {
  /** the largest thread count printed (1 when only the single-thread line is there) */
  threads: number;
  /** per repetition (one per call found in the text): GB/s at `threads` threads */
  gbps: number[];
  /** per repetition: the single-thread figure */
  single_gbps: number[];
  runs: MemcpyRun[];
}

const NUM = '([-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?|[-+]?inf|[-+]?nan)';
const MEMCPY_RE = new RegExp(`^\\s*memcpy:\\s*${NUM}\\s*GB/s\\s*\\((heat-up|\\s*(\\d+)\\s*thread)\\)\\s*$`, 'i');
const SUM_RE = new RegExp(`^\\s*sum:\\s*${NUM}\\s*$`, 'i');

function parseNum(s: string): number {
  const l = s.toLowerCase();
  if (l.endsWith('inf')) return l.startsWith('-') ? -Infinity : Infinity;
  if (l.endsWith('nan')) return NaN;
  return Number(s);
}

function newRun(): MemcpyRun {
  return { heatup_gbps: null, single_gbps: null, by_threads: [], sum: null };
}

/**
 * Parse the output of one or more calls of whisper_bench_memcpy_str (concatenated). A
 * "(heat-up)" line starts a new call; within a call the first thread line is the
 * single-thread run and the following ones are the k-thread runs.
 */
export function parseMemcpy(text: string): MemcpyResult {
  const runs: MemcpyRun[] = [];
  let cur: MemcpyRun | null = null;
  let ended = false;
  for (const line of String(text).split(/\r?\n/)) {
    const m = MEMCPY_RE.exec(line);
    if (m) {
      const gbps = parseNum(m[1]);
      if (m[2].toLowerCase() === 'heat-up') {
        cur = newRun();
        runs.push(cur);
        cur.heatup_gbps = gbps;
        ended = false;
        continue;
      }
      if (!cur || ended) {
        cur = newRun();
        runs.push(cur);
        ended = false;
      }
      if (cur.single_gbps === null) cur.single_gbps = gbps;
      else cur.by_threads.push({ threads: Number(m[3]), gbps });
      continue;
    }
    const s = SUM_RE.exec(line);
    if (s && cur) {
      cur.sum = parseNum(s[1]);
      ended = true;
    }
  }
  const measured = runs.filter((r) => r.single_gbps !== null);
  if (measured.length === 0) {
    throw new WhisperPerfError('memcpy benchmark output has no "memcpy: ... GB/s (N thread)" line', 'NATIVE_FAILURE');
  }
  let threads = 1;
  for (const r of measured) for (const b of r.by_threads) threads = Math.max(threads, b.threads);
  const gbps: number[] = [];
  for (const r of measured) {
    const at = r.by_threads.find((b) => b.threads === threads);
    if (at) gbps.push(at.gbps);
    else if (threads === 1 && r.by_threads.length === 0 && r.single_gbps !== null) gbps.push(r.single_gbps);
  }
  return { threads, gbps, single_gbps: measured.map((r) => r.single_gbps as number), runs: measured };
}

export type MulmatType = 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1' | 'Q8_0' | 'F16' | 'F32';

export interface MulmatRow {
  type: MulmatType;
  /** N of the N×N by N×N product */
  size: number;
  gflops: number;
  /** timed runs (after one heat-up run) */
  runs?: number;
  /**
   * total seconds of the timed runs, derived as 2·N³·runs / (gflops·1e9); approximate since
   * GFLOPS is printed with one decimal; absent when gflops is 0 or not finite
   */
  seconds?: number;
}

const MULMAT_TYPES: readonly string[] = ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'F16', 'F32'];
const LINE_RE = /^\s*(\d+)\s*x\s*(\d+)\s*:\s*(.*?)\s*$/;
const CELL_RE = new RegExp(`^\\s*([A-Z0-9_]+)\\s+${NUM}\\s+GFLOPS\\s*\\(\\s*(\\d+)\\s+runs\\)\\s*$`, 'i');

export interface MulmatResult {
  /** one row per matrix size and type, in printed order (size ascending; Q4_0 ... F32) */
  rows: MulmatRow[];
}

/**
 * Parse the output of whisper_bench_ggml_mul_mat_str into one row per size and type, in
 * printed order. A line of the "N x N:" form whose cells do not parse throws NATIVE_FAILURE.
 */
export function parseMulmat(text: string): MulmatResult {
  const out: MulmatRow[] = [];
  for (const line of String(text).split(/\r?\n/)) {
    const m = LINE_RE.exec(line);
    if (!m) continue;
    const size = Number(m[1]);
    for (const cell of m[3].split('|')) {
      const c = CELL_RE.exec(cell);
      const type = c?.[1].toUpperCase();
      if (!c || !type || !MULMAT_TYPES.includes(type)) {
        throw new WhisperPerfError(`mul_mat benchmark output has an unreadable cell: ${JSON.stringify(cell.trim())}`, 'NATIVE_FAILURE');
      }
      const gflops = parseNum(c[2]);
      const runs = Number(c[3]);
      const r: MulmatRow = { type: type as MulmatType, size, gflops, runs };
      if (gflops > 0 && Number.isFinite(gflops)) r.seconds = (2 * size ** 3 * runs) / (gflops * 1e9);
      out.push(r);
    }
  }
  if (out.length === 0) {
    throw new WhisperPerfError('mul_mat benchmark output has no "N x N: TYPE ... GFLOPS" line', 'NATIVE_FAILURE');
  }
  return { rows: out };
}
