/**
 * The interleaved workload that `ab` and bench:parity share: whisper-bench's calls (the addon's
 * bench loop, binding/bench_loop.h) in small numbers, cut into short chunks of one stage each, so
 * that the sides can take turns chunk by chunk and each side's chunk runs within a second of the
 * others' same chunk.
 */
import { median } from '../measure/stats.js';
import type { NativeBenchOptions, StageFigures } from '../native.js';

/** Stages the bench loop measures. */
export const LOOP_STAGES = Object.freeze(['encode', 'decode', 'batchd', 'prompt'] as const);
export type LoopStage = (typeof LOOP_STAGES)[number];
export type { StageFigures };

/** One `run` of the bench loop: heat-up, then the measured calls of each stage (the addon's bench options less the threads). */
export type ChunkSpec = Omit<NativeBenchOptions, 'threads'>;

const chunk = (o: Partial<ChunkSpec>): ChunkSpec => Object.freeze({ heat: 0, heatDecodes: 0, nEncode: 0, nDecode: 0, nBatch: 0, nPrompt: 0, ...o });

/**
 * One round: 1 encode, 4 × 32 single-token decodes, 4 × 4 batches of 5 tokens and 8 prompts of
 * 256 tokens, as 17 chunks of 0.1–0.8 s each for tiny on 2 cores (whisper-bench's own mix is
 * 1 encode to 16 prompts).
 */
export const CHUNKS: readonly ChunkSpec[] = Object.freeze(
  [0, 1, 2, 3].flatMap((g) => [
    ...(g === 2 ? [chunk({ nEncode: 1 })] : []),
    chunk({ nPrompt: 1 }),
    chunk({ nDecode: 32 }),
    chunk({ nPrompt: 1 }),
    chunk({ nBatch: 4 }),
  ]),
);

/**
 * `ab`'s round (bench:parity keeps CHUNKS above), as segments: each side loads its model afresh
 * before every segment but the first (a new process begins the first), heats it up, then the sides
 * take turns on the segment's chunks. Measured here (tiny.en, 2 threads, two identical sides):
 * - a chunk's noise is a burst of the host's and shrinks with the chunks averaged and with a longer
 *   chunk (128 decodes spread 1.8% from block to block where 32 spread 4.2%);
 * - beside it each loaded model carries a speed of its own: 16 decode chunks in one model spread
 *   4.0% from block to block where their pairs' own noise predicts 1.0%, and the same 16 chunks as
 *   4 models of 4 chunks each (a reload between) spread 1.6%. Where the weights and buffers landed
 *   is drawn anew by a reload, not only by a new process, and a reload costs ~0.2 s where a process
 *   costs more;
 * - decode, with the smaller share of the time, was the wider interval.
 * So a segment is 1 encode, 4 chunks of 128 single-token decodes, 1 prompt of 256 and 1 chunk of 16
 * batches of 5, and a block AB_SEGMENT_COUNT of them; abRound keeps the chunks of the stages asked
 * for only.
 */
export const AB_SEGMENT: readonly ChunkSpec[] = Object.freeze([
  chunk({ nEncode: 1 }),
  chunk({ nDecode: 128 }),
  chunk({ nDecode: 128 }),
  chunk({ nPrompt: 1 }),
  chunk({ nDecode: 128 }),
  chunk({ nDecode: 128 }),
  chunk({ nBatch: 16 }),
]);

/**
 * Segments per block by default: two. A block of four segments (the default until 2026-12-07) and
 * two blocks of two hold the same chunks, but the interval is over blocks: at 10 blocks of four
 * Yuen's t has 7 degrees of freedom (2.36), at 20 blocks of two 15 (2.13), and a unit of two
 * blocks is half as long, so a run that ends on its budget wastes half as much of it
 * (docs/store.md, "Calibration").
 */
export const AB_SEGMENT_COUNT = 2;

/**
 * A block's work for the stages measured: `segments` copies of AB_SEGMENT less the other stages'
 * chunks, and the heat-up before each (a chunk kept apart from the measured ones, whose encode is
 * a pair of the encode ratio only: stagePairLogs in lib/ab/verdicts.ts): an encode when encode is
 * measured, a 256-token prompt when prompt or batchd is, and 16 single-token decodes. A model's first
 * call after a load runs on buffers not yet touched (here the first encode took 5–10% longer than the
 * next, on a later machine 1.8%; the first prompt 40%), and a stage not measured costs nothing: encode and decode alone make a
 * block about a fifth shorter than all four stages.
 */
export function abRound(stages: readonly LoopStage[], segments: number): { heat: ChunkSpec; segments: ChunkSpec[][] } {
  const has = (st: LoopStage) => stages.includes(st);
  const segment = AB_SEGMENT.filter((c) => LOOP_STAGES.some((st) => has(st) && stageRuns(c)[st] > 0));
  const heat = chunk({ nEncode: has('encode') ? 1 : 0, nPrompt: has('prompt') || has('batchd') ? 1 : 0, nDecode: 16 });
  return { heat, segments: Array.from({ length: segments }, () => [...segment]) };
}

/** A light heat-up of a model that has not computed yet, before its round's chunks. */
export const HEAT: ChunkSpec = chunk({ heat: 1, heatDecodes: 16 });

/** whisper.cpp's run counts of a chunk per stage: batchd and prompt count tokens. */
export const stageRuns = (spec: ChunkSpec): StageFigures => ({ encode: spec.nEncode, decode: spec.nDecode, batchd: spec.nBatch * 5, prompt: spec.nPrompt * 256 });

/** The round's totals: calls per stage over all chunks. */
export const ROUND: Omit<ChunkSpec, 'heat' | 'heatDecodes'> = Object.freeze(
  CHUNKS.reduce((a, c) => ({ nEncode: a.nEncode + c.nEncode, nDecode: a.nDecode + c.nDecode, nBatch: a.nBatch + c.nBatch, nPrompt: a.nPrompt + c.nPrompt }), {
    nEncode: 0,
    nDecode: 0,
    nBatch: 0,
    nPrompt: 0,
  }),
);

/** The driver's `run` command for a chunk (or any bench spec). */
export function runCommand(c: ChunkSpec): string {
  return `run ${c.heat} ${c.heatDecodes} ${c.nEncode} ${c.nDecode} ${c.nBatch} ${c.nPrompt}`;
}

/** What a side reports for one chunk (the bench loop's result, or the native driver's). */
export interface ChunkResult {
  wallPerRunMs: StageFigures;
  perRunMs: StageFigures;
  measuredCpuMs: number;
  /** the OS thread that computed it (the addon's sides) */
  tid?: number;
}

/** One side's figures for a block, from its chunks. */
export interface SideBlock {
  runs: StageFigures;
  /** wall time per run, weighted by each chunk's runs */
  wallPerRunMs: StageFigures;
  /** each stage's median over its chunks of their per-run wall time: the figure compared */
  chunkMedianMs: StageFigures;
  chunkWallMs: Record<LoopStage, number[]>;
  /** whisper.cpp's own per-run timing (no injected busy-wait) */
  perRunMs: StageFigures;
  wallTotalMs: StageFigures;
  measuredCpuMs: number;
  wallMs: number;
}

const zero = (): StageFigures => ({ encode: 0, decode: 0, batchd: 0, prompt: 0 });

/**
 * One side's figures for a block from its chunks' results: per-run figures weighted by each
 * chunk's runs, CPU and wall summed, and each stage's median over its chunks of their per-run wall
 * time, so a burst of the host's noise that slows one chunk cannot move it.
 */
export function accumulateChunks(parts: readonly { spec: ChunkSpec; r: ChunkResult }[]): SideBlock {
  const runs = zero();
  const wall = zero();
  const own = zero();
  const perChunk: Record<LoopStage, number[]> = { encode: [], decode: [], batchd: [], prompt: [] };
  let measuredCpuMs = 0;
  for (const { spec, r } of parts) {
    const n = stageRuns(spec);
    for (const s of LOOP_STAGES) {
      if (n[s] === 0) continue;
      runs[s] += n[s];
      wall[s] += r.wallPerRunMs[s] * n[s];
      own[s] += r.perRunMs[s] * n[s];
      perChunk[s].push(r.wallPerRunMs[s]);
    }
    measuredCpuMs += r.measuredCpuMs;
  }
  const byStage = (f: (s: LoopStage) => number): StageFigures => ({ encode: f('encode'), decode: f('decode'), batchd: f('batchd'), prompt: f('prompt') });
  const per = (t: StageFigures) => byStage((s) => (runs[s] > 0 ? t[s] / runs[s] : 0));
  return {
    runs,
    wallPerRunMs: per(wall),
    chunkMedianMs: byStage((s) => (perChunk[s].length === 0 ? 0 : median(perChunk[s]))),
    chunkWallMs: perChunk,
    perRunMs: per(own),
    wallTotalMs: wall,
    measuredCpuMs,
    wallMs: LOOP_STAGES.reduce((a, s) => a + wall[s], 0),
  };
}

/**
 * Who goes when at step `i` (a block's start order, a chunk's turn): the sides rotate by one
 * place each step and the rotation reverses every `sides.length` steps, so each n steps put every
 * side in every position once, and over 2·n steps every side also follows every other side equally
 * often.
 */
export function sideOrder<T>(i: number, sides: readonly T[]): T[] {
  const n = sides.length;
  const k = i % n;
  const rotated = [...sides.slice(k), ...sides.slice(0, k)];
  return Math.floor(i / n) % 2 === 1 ? rotated.reverse() : rotated;
}
