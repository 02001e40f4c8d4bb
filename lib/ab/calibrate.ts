/**
 * `ab --calibrate`: the gate's own false-alarm rate and power, measured. A/A runs the same side
 * against itself; A/A′ runs it against itself with a known slowdown injected into every measured
 * call of the second side (WHISPER_PERF_INJECT_SLOWDOWN, honoured by the addon's bench loop only).
 * Each side runs a copy of the build of its own (copyOfBuild), as two builds would, written alike.
 * Each is a whole `ab` run at the same settings; the rates carry Wilson 95% intervals.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { WhisperPerfError } from '../errors.js';
import { median } from '../measure/stats.js';
import { unitsRatio, type BlockRatio } from '../measure/ratios.js';
import { addonCandidates } from '../native.js';
import { resolveBuilds } from '../workloads/builds.js';
import { ab, type AbOptions, type AbResult, type AbSideSpec } from './ab.js';
import type { AbVerdict, SpreadParts } from './verdicts.js';
import type { LoopStage } from './chunks.js';

export interface CalibrateOptions extends Omit<AbOptions, 'sides' | 'onProgress'> {
  /** the side measured against itself (default: the default build) */
  side?: AbSideSpec;
  /** ab runs of each kind (default 20) */
  runs?: number;
  /** the injected slowdown (default 0.05) */
  inject?: number;
  onRun?: (kind: 'A/A' | "A/A'", i: number, runs: number, r: AbResult) => void;
}

export interface RateWithInterval {
  count: number;
  of: number;
  rate: number;
  low: number;
  high: number;
}

export interface CalibrationKind {
  kind: 'A/A' | "A/A'";
  runs: number;
  verdicts: Record<AbVerdict, number>;
  /** A/A: runs with a gated stage called slower (false alarms); A/A′: runs with every gated stage slower (detections) */
  rate: RateWithInterval;
  medianSeconds: number;
  medianBlocks: number;
  /** per gated stage, the median smallest detectable slowdown */
  detectable: Partial<Record<LoopStage, number>>;
  /** per gated stage, the median over runs of each part of the spread (SpreadParts; null where the round joins parts) */
  spread: Partial<Record<LoopStage, MedianParts>>;
  /**
   * per gated stage, whisper.cpp's own timing of the measured calls (which leaves the injected
   * busy-wait out), second side against first, every block of every run a replicate: 1 within its
   * interval when the injection adds exactly its share and changes nothing else about the calls
   */
  ownTiming: Partial<Record<LoopStage, BlockRatio>>;
  results: AbResult[];
}

/** The spread parts' figures without their counts: a calibration's medians, or one run's parts. */
export type MedianParts = Pick<SpreadParts, 'chunkPair' | 'modelPair' | 'processPair' | 'block'>;

export interface Calibration {
  inject: number;
  margin: number;
  budgetS: number;
  aa: CalibrationKind;
  aaPrime: CalibrationKind;
}

/** Wilson score interval of count/of at 95%. */
export function wilson(count: number, of: number): RateWithInterval {
  if (of === 0) return { count, of, rate: NaN, low: 0, high: 1 };
  const z = 1.959963984540054;
  const p = count / of;
  const d = 1 + (z * z) / of;
  const c = (p + (z * z) / (2 * of)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / of + (z * z) / (4 * of * of))) / d;
  return { count, of, rate: p, low: Math.max(0, c - h), high: Math.min(1, c + h) };
}

/**
 * whisper.cpp's own per-call time of a stage (perRunMs), the runs' second side against their first,
 * over every block of every run (blocks as replicates, Student t); undefined under two blocks.
 */
export function ownTimingRatio(results: readonly AbResult[], stage: LoopStage): BlockRatio | undefined {
  const logs: number[] = [];
  for (const r of results) {
    if (!r.records || r.sides.length < 2) continue;
    const [a, b] = [r.sides[0].name, r.sides[1].name];
    for (const rec of r.records) {
      const x = rec.sides[b]?.perRunMs[stage];
      const y = rec.sides[a]?.perRunMs[stage];
      if (x > 0 && y > 0) logs.push(Math.log(x / y));
    }
  }
  return logs.length >= 2 ? unitsRatio(logs, logs.length) : undefined;
}

/** One kind's summary over its runs: verdict counts, the rate with its interval, and medians of time, blocks, detectable slowdown and spread parts. */
export function summarizeKind(kind: 'A/A' | "A/A'", results: AbResult[], stages: readonly LoopStage[]): CalibrationKind {
  const verdicts: Record<AbVerdict, number> = { slower: 0, faster: 0, same: 0, inconclusive: 0 };
  for (const r of results) verdicts[r.verdict]++;
  const gatedOf = (r: AbResult) => r.comparisons[0].stages.filter((s) => s.gated);
  const hit = (r: AbResult) => (kind === 'A/A' ? gatedOf(r).some((s) => s.verdict === 'slower') : gatedOf(r).every((s) => s.verdict === 'slower'));
  const detectable: Partial<Record<LoopStage, number>> = {};
  for (const st of stages) {
    const xs = results.map((r) => r.comparisons[0].stages.find((s) => s.stage === st)?.detectable ?? NaN).filter(Number.isFinite);
    if (xs.length) detectable[st] = median(xs);
  }
  const spread: Partial<Record<LoopStage, MedianParts>> = {};
  for (const st of stages) {
    const ps = results.map((r) => r.comparisons[0].stages.find((s) => s.stage === st)?.parts).filter((p) => p !== undefined);
    if (!ps.length) continue;
    const med = (f: (p: (typeof ps)[number]) => number | null) => {
      const xs = ps.map(f);
      return xs.every((x) => x !== null) ? median(xs as number[]) : null;
    };
    spread[st] = { chunkPair: med((p) => p.chunkPair), modelPair: med((p) => p.modelPair), processPair: median(ps.map((p) => p.processPair)), block: median(ps.map((p) => p.block)) };
  }
  const ownTiming: Partial<Record<LoopStage, BlockRatio>> = {};
  for (const st of stages) {
    const o = ownTimingRatio(results, st);
    if (o) ownTiming[st] = o;
  }
  return {
    kind,
    runs: results.length,
    verdicts,
    rate: wilson(results.filter(hit).length, results.length),
    medianSeconds: median(results.map((r) => r.elapsedS)),
    medianBlocks: median(results.map((r) => r.blocks)),
    detectable,
    spread,
    ownTiming,
    results,
  };
}

/**
 * A copy of the side's build in a new folder (removed by the caller): each side of the calibration
 * runs one. Two builds, as a gate compares, are two files that the loader maps each in a place of
 * its own; a side against the very same file would share that placement whenever the sides share a
 * process, and the calibration would read better than any comparison of two builds can. And both
 * sides run copies, not one the original: how a file came into the page cache changes how fast its
 * code runs (a .node just written by the linker decoded about 30% slower here than a copy of it, or
 * than itself once read back from disk: docs/store.md), so one side on the linker's file would be
 * measured against another on a copy.
 */
export function copyOfBuild(side: AbSideSpec): { build: string; dir: string } {
  const name = side.build ?? process.env.WHISPER_PERF_ADDON ?? addonCandidates()[0];
  if (name === undefined) throw new WhisperPerfError('ab --calibrate: no addon build here to measure', 'NATIVE_UNAVAILABLE');
  const [b] = resolveBuilds([name]);
  const dir = mkdtempSync(join(tmpdir(), 'whisper-perf-calibrate-'));
  copyFileSync(b.path, join(dir, 'whisper_perf.node'));
  writeFileSync(join(dir, 'whisper-perf-build.json'), JSON.stringify(b.info));
  return { build: join(dir, 'whisper_perf.node'), dir };
}

/** Runs the A/A and A/A′ series, alternating, and summarizes them. */
export async function calibrate(options: CalibrateOptions = {}): Promise<Calibration> {
  const runs = options.runs ?? 20;
  const inject = options.inject ?? 0.05;
  const base: AbSideSpec = options.side ?? {};
  const { side: _side, runs: _runs, inject: _inject, onRun, ...abOptions } = options;
  const stages = abOptions.stages ?? ['encode', 'decode'];
  const aa: AbResult[] = [];
  const aap: AbResult[] = [];
  const copies = [copyOfBuild(base)];
  try {
    copies.push(copyOfBuild(base));
    const [first, second] = copies;
    for (let i = 0; i < runs; i++) {
      options.signal?.throwIfAborted();
      const a = await ab({ ...abOptions, sides: [{ ...base, build: first.build, name: 'A' }, { ...base, build: second.build, name: 'A2' }] });
      aa.push(a);
      onRun?.('A/A', i + 1, runs, a);
      const p = await ab({ ...abOptions, sides: [{ ...base, build: first.build, name: 'A' }, { ...base, build: second.build, name: "A'", inject }] });
      aap.push(p);
      onRun?.("A/A'", i + 1, runs, p);
    }
  } finally {
    for (const c of copies) rmSync(c.dir, { recursive: true, force: true });
  }
  return {
    inject,
    margin: aa[0]?.margin ?? abOptions.margin ?? 0.03,
    budgetS: aa[0]?.budgetS ?? abOptions.budgetS ?? 300,
    aa: summarizeKind('A/A', aa, stages),
    aaPrime: summarizeKind("A/A'", aap, stages),
  };
}
