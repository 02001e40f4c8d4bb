/**
 * What `ab` concludes from its blocks: the whole units of blocks each pair of sides shares, the
 * ratio per stage with its interval over their blocks, the verdict against ±margin, the smallest
 * slowdown the interval could call, and which sides a race drops.
 */
import { median } from '../measure/stats.js';
import { trimmedMean, yuenRatio, type BlockRatio } from '../measure/ratios.js';
import { LOOP_STAGES, type ChunkResult, type LoopStage, type SideBlock } from './chunks.js';

export type AbVerdict = 'slower' | 'faster' | 'same' | 'inconclusive';

export interface AbStage {
  stage: LoopStage | 'load';
  gated: boolean;
  /** medians over blocks of the block figures (ms per run; load: ms) */
  baseMs: number;
  sideMs: number;
  ratio: BlockRatio;
  verdict: AbVerdict;
  /** the smallest slowdown this interval's width lets the run call slower: (1 + margin)·√(high/low) − 1 */
  detectable: number;
  /** where the spread of ln(side/base) sits (loop stages, when the segments per block are known) */
  parts?: SpreadParts;
}

/**
 * Where a pair's spread sits for one stage: standard deviations of ln(side/base) (so 0.02 is about
 * 2%), from a nested analysis of variance over the pair's blocks (each block: its segments, each
 * segment: its chunk pairs, untrimmed). A large model part says a block wants more segments (more
 * reloads); a large process part says the run wants more blocks, and more segments per block will
 * not narrow it.
 */
export interface SpreadParts {
  /** a chunk pair's own noise; null when a segment holds one chunk of the stage */
  chunkPair: number | null;
  /** a pair of loaded models beyond their chunks (with one chunk per segment: model and chunk together); null with one segment per block */
  modelPair: number | null;
  /** a pair of processes beyond their models (with one segment per block: process and model together) */
  processPair: number;
  /** a block's mean of ln(side/base) from block to block */
  block: number;
  blocks: number;
  segments: number;
  /** chunk pairs of the stage per segment */
  chunks: number;
}

export interface AbComparison {
  side: string;
  /** set when racing stopped this side: after which block, and the side and stage it lost on */
  dropped?: { afterBlock: number; slowerThan: string; stage: LoopStage; ratio: BlockRatio };
  stages: AbStage[];
  /** whole units of blocks this side shares with the baseline */
  units: number;
  /** process CPU time per round, side/base */
  cpu: BlockRatio;
  verdict: AbVerdict;
}

/** The verdict of a ratio's interval against ±margin. */
export function abVerdict(r: BlockRatio, margin: number): AbVerdict {
  if (r.n < 2) return 'inconclusive';
  if (r.low > 1 + margin) return 'slower';
  if (r.high < 1 - margin) return 'faster';
  if (r.low >= 1 - margin && r.high <= 1 + margin) return 'same';
  return 'inconclusive';
}

/** The smallest true slowdown whose interval, this wide, would lie wholly above 1 + margin. */
export function detectableSlowdown(r: BlockRatio, margin: number): number {
  if (r.n < 2 || !(r.low > 0)) return NaN;
  return (1 + margin) * Math.sqrt(r.high / r.low) - 1;
}

export interface BlockRecord {
  order: string[];
  sides: Record<string, SideBlock & { loadMs: number }>;
  /** the process ids each side ran in, one a segment (or one a block with fresh: 'block'; the same for every side with processes: 'shared') */
  pids?: Record<string, number[]>;
  /** GLIBC_TUNABLES of each side's process (malloc's settings: huge pages unless hugepages is false, and any the caller's environment set) */
  glibcTunables?: Record<string, string>;
  /** the addon files each side loaded, one a process: copies of its build written for them, removed after the block */
  addons?: Record<string, string[]>;
  /** each side's heat-up before each segment's chunks (abRound's heat: a model's first calls); its encodes are pairs of the encode ratio (stagePairLogs) */
  heat?: Record<string, ChunkResult[]>;
  /** the OS threads each side's chunks computed on: its model's compute thread, or with processes: 'shared' the process's main thread (its pid) */
  tids?: Record<string, number[]>;
}

/**
 * One pair's replicates: consecutive blocks that ran the same sides form a segment; in a segment of
 * k sides, k consecutive blocks are a unit (every side started in every position once), and only
 * whole units count, so the start orders stay balanced. Each block of a whole unit is a replicate
 * (its ln(a/b)): inside a block the sides already took turns chunk by chunk in a balanced order, and
 * the start order's own effect, measured here, is within the noise (0.7% and 0.2% between the
 * blocks either side started first, 30 blocks). Blocks as replicates give the interval twice the
 * degrees of freedom that units of two did. Segments change only when racing stops a side.
 * `picked` holds the indices of the blocks used, in order.
 */
export function pairUnits(blocks: readonly BlockRecord[], a: string, b: string, logRatio: BlockLogRatio): { logs: number[]; blocks: number; units: number; picked: number[] } {
  const logs: number[] = [];
  const picked: number[] = [];
  let units = 0;
  let i = 0;
  while (i < blocks.length) {
    const key = [...blocks[i].order].sort().join('\u0000');
    let j = i;
    while (j < blocks.length && [...blocks[j].order].sort().join('\u0000') === key) j++;
    const k = blocks[i].order.length;
    if (blocks[i].order.includes(a) && blocks[i].order.includes(b)) {
      for (let u = i; u + k <= j; u += k, units++) {
        for (let x = u; x < u + k; x++) {
          logs.push(logRatio(blocks[x], a, b));
          picked.push(x);
        }
      }
    }
    i = j;
  }
  return { logs, blocks: logs.length, units, picked };
}

/**
 * The spread parts of ln(a/b) for a stage over the blocks a pair shares (see SpreadParts): every
 * block must hold the same number of pairs of the stage (stagePairLogs), `segments` equal runs of them.
 * Undefined with fewer than two blocks or an unbalanced record.
 */
export function spreadParts(blocks: readonly BlockRecord[], a: string, b: string, stage: LoopStage, segments: number): SpreadParts | undefined {
  const { picked } = pairUnits(blocks, a, b, () => 0);
  const ys = picked.map((i) => stagePairLogs(blocks[i], a, b, stage));
  const B = ys.length;
  const n = ys[0]?.length ?? 0;
  const S = segments;
  if (B < 2 || n === 0 || !(Number.isInteger(S) && S >= 1) || n % S !== 0 || ys.some((y) => y.length !== n || !y.every(Number.isFinite))) return undefined;
  const K = n / S;
  const mean = (v: readonly number[]) => v.reduce((p, q) => p + q, 0) / v.length;
  const segMeans = ys.map((y) => Array.from({ length: S }, (_, g) => mean(y.slice(g * K, (g + 1) * K))));
  const blockMeans = segMeans.map(mean);
  const grand = mean(blockMeans);
  let ssK = 0;
  let ssS = 0;
  for (let i = 0; i < B; i++) {
    for (let g = 0; g < S; g++) {
      for (let k = 0; k < K; k++) ssK += (ys[i][g * K + k] - segMeans[i][g]) ** 2;
      ssS += K * (segMeans[i][g] - blockMeans[i]) ** 2;
    }
  }
  const ssB = S * K * blockMeans.reduce((p, m) => p + (m - grand) ** 2, 0);
  const msK = K > 1 ? ssK / (B * S * (K - 1)) : NaN;
  const msS = S > 1 ? ssS / (B * (S - 1)) : NaN;
  const msB = ssB / (B - 1);
  const part = (v: number) => Math.sqrt(Math.max(0, v));
  // expected mean squares: msK = σk², msS = σk² + K·σm², msB = σk² + K·σm² + S·K·σp²
  const below = S > 1 ? msS : K > 1 ? msK : 0;
  return {
    chunkPair: K > 1 ? part(msK) : null,
    modelPair: S > 1 ? (K > 1 ? part((msS - msK) / K) : part(msS)) : null,
    processPair: part((msB - below) / (S * K)),
    block: Math.sqrt(msB / (S * K)),
    blocks: B,
    segments: S,
    chunks: K,
  };
}

/** A block's ln(a/b) of one figure. */
export type BlockLogRatio = (rec: BlockRecord, a: string, b: string) => number;

/**
 * The share of a block's pairs set aside at each end before its stage ratio is averaged: a
 * quarter, so that one burst of the host's cannot move it. At a fifth a block's 4 encode pairs
 * then lost none (⌊4 × 0.2⌋ = 0): one A/A block read an encode pair of 485 against 819 ms, and
 * that run's encode spread 3.95% from block to block where the same blocks spread 1.19% at a
 * quarter (decode, 16 pairs: 1.75% and 1.69%). With the heat-up's encodes counted (stagePairLogs)
 * a block has 8 encode pairs and loses 2 at each end, so two pairs hit in one block no longer
 * move it either.
 */
export const CHUNK_TRIM = 0.25;

/**
 * A block's pairs of one stage, ln(a_i / b_i), segment by segment: the sides ran the same chunks
 * in the same order, taking turns, so chunk i of a and chunk i of b ran within a second of each
 * other. Encode counts each segment's heat-up encode too (BlockRecord.heat; first in its segment),
 * where the record holds one a segment: the first encode after a load, which here took 1.8% longer
 * than the next (50 blocks), is a pair as good as a measured one for a ratio, and costs nothing,
 * the heat-up running anyway. Measured on 50 A/A blocks with a second measured encode a segment
 * (tiny.en, 2 threads, 2026-12-07): a block's encode figure spread (winsorized) 1.52% from 4
 * measured pairs, 1.24% with the 4 heat-up pairs added, 0.87% from 8 measured pairs; per second of
 * a block (spread² × block time) the heat-up pairs gain a third and cost nothing, where a second
 * measured encode gains more on encode but lengthens a block by a quarter, and decode, then the
 * wider stage, loses blocks. A ratio's `baseMs` and `sideMs` stay the measured chunks' (warm).
 * Decode's heat-up (16 tokens on a cold model) is not counted.
 */
export function stagePairLogs(rec: BlockRecord, a: string, b: string, stage: LoopStage): number[] {
  const xa = rec.sides[a].chunkWallMs[stage];
  const xb = rec.sides[b].chunkWallMs[stage];
  const n = Math.min(xa.length, xb.length);
  const chunks = Array.from({ length: n }, (_, i) => Math.log(xa[i] / xb[i]));
  const ha = rec.heat?.[a]?.map((h) => h.wallPerRunMs.encode) ?? [];
  const hb = rec.heat?.[b]?.map((h) => h.wallPerRunMs.encode) ?? [];
  const S = ha.length;
  if (stage !== 'encode' || S === 0 || hb.length !== S || xa.length !== xb.length || n % S !== 0 || ![...ha, ...hb].every((x) => x > 0)) return chunks;
  const K = n / S;
  return Array.from({ length: S }, (_, g) => [Math.log(ha[g] / hb[g]), ...chunks.slice(g * K, (g + 1) * K)]).flat();
}

/**
 * How a block's figures are read into ratios, for a saved calibration (lib/ab/calibrate.ts) to
 * refuse runs read another way: 2 counts the heat-up encodes (stagePairLogs); files from before
 * it have no mark.
 */
export const AB_DESIGN = 2;

/** A block's ln(a/b) for a stage: the trimmed mean (CHUNK_TRIM) of its pairs (stagePairLogs). */
export function stageLogRatio(stage: LoopStage): BlockLogRatio {
  return (rec, a, b) => {
    const logs = stagePairLogs(rec, a, b, stage);
    return logs.length === 0 ? NaN : trimmedMean(logs, CHUNK_TRIM);
  };
}

const figureLogRatio =
  (fig: (rec: BlockRecord, side: string) => number): BlockLogRatio =>
  (rec, a, b) =>
    Math.log(fig(rec, a) / fig(rec, b));

const logRatioOf = (stage: LoopStage | 'load'): BlockLogRatio => (stage === 'load' ? figureLogRatio((r, s) => r.sides[s].loadMs) : stageLogRatio(stage));
const figOf = (stage: LoopStage | 'load') => (rec: BlockRecord, side: string) => (stage === 'load' ? rec.sides[side].loadMs : rec.sides[side].chunkMedianMs[stage]);

function pairRatio(blocks: readonly BlockRecord[], a: string, b: string, logRatio: BlockLogRatio): BlockRatio | undefined {
  const u = pairUnits(blocks, a, b, logRatio);
  return u.logs.length > 0 ? yuenRatio(u.logs, u.blocks) : undefined;
}

/**
 * Compares every side with the first over the blocks so far (the units each pair shares), on load
 * and each loop stage the blocks measured. Given the segments per block, each loop stage also says
 * where its spread sits (spreadParts).
 */
export function compareAb(blocks: readonly BlockRecord[], names: readonly string[], margin: number, gated: readonly LoopStage[], segments?: number): AbComparison[] {
  const base = names[0];
  return names.slice(1).flatMap((side) => {
    const withBoth = blocks.filter((r) => r.order.includes(side) && r.order.includes(base));
    const stages: AbStage[] = [];
    for (const stage of ['load', ...LOOP_STAGES] as const) {
      if (stage !== 'load' && !withBoth.some((r) => r.sides[base].chunkWallMs[stage].length > 0)) continue;
      const ratio = pairRatio(blocks, side, base, logRatioOf(stage));
      if (!ratio) return [];
      const figs = (s: string) => withBoth.map((r) => figOf(stage)(r, s));
      stages.push({
        stage,
        gated: stage !== 'load' && gated.includes(stage),
        baseMs: median(figs(base)),
        sideMs: median(figs(side)),
        ratio,
        verdict: abVerdict(ratio, margin),
        detectable: detectableSlowdown(ratio, margin),
        ...(segments !== undefined && stage !== 'load' ? { parts: spreadParts(blocks, side, base, stage, segments) } : {}),
      });
    }
    const cpu = pairRatio(blocks, side, base, figureLogRatio((r, s) => r.sides[s].measuredCpuMs))!;
    const { units } = pairUnits(blocks, side, base, () => 0);
    return [{ side, stages, units, cpu, verdict: overall(stages.filter((s) => s.gated).map((s) => s.verdict)) }];
  });
}

/**
 * Racing: a side (not the baseline) whose interval against another running side lies wholly above
 * 1 + margin on a gated stage is slower than that side; returns the first such finding per side.
 */
export function raceLosers(blocks: readonly BlockRecord[], running: readonly string[], base: string, margin: number, gated: readonly LoopStage[]) {
  const out: { side: string; slowerThan: string; stage: LoopStage; ratio: BlockRatio }[] = [];
  for (const side of running) {
    if (side === base) continue;
    search: for (const other of running) {
      if (other === side) continue;
      for (const stage of gated) {
        const r = pairRatio(blocks, side, other, stageLogRatio(stage));
        if (r && r.n >= 2 && r.low > 1 + margin) {
          out.push({ side, slowerThan: other, stage, ratio: r });
          break search;
        }
      }
    }
  }
  return out;
}

export function overall(vs: AbVerdict[]): AbVerdict {
  if (vs.includes('slower')) return 'slower';
  if (vs.includes('inconclusive')) return 'inconclusive';
  if (vs.length > 0 && vs.every((v) => v === 'faster')) return 'faster';
  return 'same';
}
