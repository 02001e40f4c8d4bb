/**
 * `ab --calibrate`: the gate's own false-alarm rate and power, measured. A/A runs the same side
 * against itself; A/A′ runs it against itself with a known slowdown injected into every measured
 * call of the second side (WHISPER_PERF_INJECT_SLOWDOWN, honoured by the addon's bench loop only).
 * Both sides name the same build, and `ab` runs each side of each block on a copy of it written
 * for that block (lib/ab/copies.ts), as it runs two builds.
 * Each is a whole `ab` run at the same settings; the rates carry Wilson 95% intervals.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

import { WhisperPerfError } from '../errors.js';
import { median } from '../measure/stats.js';
import { unitsRatio, type BlockRatio } from '../measure/ratios.js';
import { ab, AB_DEFAULTS, type AbOptions, type AbResult, type AbSideSpec } from './ab.js';
import { AB_DESIGN, type AbVerdict, type SpreadParts } from './verdicts.js';
import { AB_SEGMENT_COUNT, type LoopStage } from './chunks.js';

export interface CalibrateOptions extends Omit<AbOptions, 'sides' | 'onProgress'> {
  /** the side measured against itself (default: the default build) */
  side?: AbSideSpec;
  /** ab runs of each kind (default 20) */
  runs?: number;
  /** the injected slowdown (default 0.05) */
  inject?: number;
  onRun?: (kind: 'A/A' | "A/A'", i: number, runs: number, r: AbResult) => void;
  /** a JSON-lines file each run is appended to as it ends; one that holds runs of the same settings is gone on with */
  save?: string;
  /** called once when `save` already held runs: how many of each kind */
  onResume?: (aa: number, aaPrime: number) => void;
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
  detect: number;
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

/** What a saved calibration must share with the run that goes on with it. */
function settingsOf(o: CalibrateOptions, inject: number): Record<string, unknown> {
  return {
    // how a block's figures are read: runs read another way are not the same series
    design: AB_DESIGN,
    side: o.side ?? null,
    inject,
    model: o.model ?? null,
    threads: o.threads ?? null,
    flashAttn: o.flashAttn ?? null,
    margin: o.margin ?? AB_DEFAULTS.margin,
    detect: o.detect ?? null,
    budgetS: o.budgetS ?? AB_DEFAULTS.budgetS,
    minBlocks: o.minBlocks ?? null,
    maxBlocks: o.maxBlocks ?? null,
    // the count, not null for the default: the default was 4 until 2026-12-07 and is 2 since
    segments: o.segments ?? AB_SEGMENT_COUNT,
    stages: o.stages ?? AB_DEFAULTS.stages,
    processes: o.processes ?? AB_DEFAULTS.processes,
    fresh: o.fresh ?? AB_DEFAULTS.fresh,
    hugepages: o.hugepages ?? true,
    fixedMmap: o.fixedMmap ?? true,
    // a calibration measures one machine
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
  };
}

interface SavedRun {
  kind: 'A/A' | "A/A'";
  result: AbResult;
}

/**
 * The runs a save file already holds (its first line the settings, then a run a line), after
 * checking that its settings are these; none when the file does not exist. A last line cut short
 * (the run was stopped while writing it) is left out.
 */
export function readSaved(file: string, settings: Record<string, unknown>): SavedRun[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const parse = (l: string, i: number) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      if (i === lines.length - 1 && i > 0) return undefined;
      throw new WhisperPerfError(`--save ${file}: line ${i + 1} is not JSON: not a calibration this command saved`, 'USAGE');
    }
  };
  const head = parse(lines[0], 0)?.calibration as Record<string, unknown> | undefined;
  if (!head || typeof head !== 'object') throw new WhisperPerfError(`--save ${file}: its first line holds no calibration settings: not a file this command saved`, 'USAGE');
  // files saved before the count was recorded ran the default of then: 4 segments a block
  if (head.segments === null) head.segments = 4;
  const differ = Object.keys({ ...head, ...settings }).filter((k) => JSON.stringify(head[k]) !== JSON.stringify(settings[k]));
  if (differ.length > 0) {
    throw new WhisperPerfError(
      `--save ${file}: it holds a calibration with other settings (${differ.map((k) => `${k} ${JSON.stringify(head[k])} there, ${JSON.stringify(settings[k])} here`).join('; ')}): the same settings go on with it, other settings need another file`,
      'USAGE',
    );
  }
  const out: SavedRun[] = [];
  for (const [i, l] of lines.slice(1).entries()) {
    const x = parse(l, i + 1) as unknown as SavedRun | undefined;
    if (x === undefined) continue;
    if ((x.kind !== 'A/A' && x.kind !== "A/A'") || !x.result || !Array.isArray(x.result.comparisons)) throw new WhisperPerfError(`--save ${file}: line ${i + 2} is not a saved run`, 'USAGE');
    out.push(x);
  }
  return out;
}

/**
 * Runs the A/A and A/A′ series, alternating, and summarizes them. With `save`, every run is
 * appended to that file as it ends, and a file that already holds runs of the same settings is
 * gone on with: a series of 2 × 20 runs takes 2 1/2 to 3 hours here, and a stop loses none of it.
 */
export async function calibrate(options: CalibrateOptions = {}): Promise<Calibration> {
  const runs = options.runs ?? 20;
  const inject = options.inject ?? 0.05;
  const base: AbSideSpec = options.side ?? {};
  const { side: _side, runs: _runs, inject: _inject, onRun, save, onResume, ...abOptions } = options;
  const stages = abOptions.stages ?? AB_DEFAULTS.stages;
  const aa: AbResult[] = [];
  const aap: AbResult[] = [];
  if (save !== undefined) {
    const settings = settingsOf(options, inject);
    const saved = readSaved(save, settings);
    for (const x of saved) (x.kind === 'A/A' ? aa : aap).push(x.result);
    if (saved.length === 0) writeFileSync(save, JSON.stringify({ calibration: settings }) + '\n');
    else onResume?.(aa.length, aap.length);
  }
  const keep = (kind: SavedRun['kind'], r: AbResult) => {
    if (save !== undefined) appendFileSync(save, JSON.stringify({ kind, result: r } satisfies SavedRun) + '\n');
  };
  // alternating, the kind behind first
  while (aa.length < runs || aap.length < runs) {
    options.signal?.throwIfAborted();
    if (aa.length <= aap.length && aa.length < runs) {
      const a = await ab({ ...abOptions, sides: [{ ...base, name: 'A' }, { ...base, name: 'A2' }] });
      aa.push(a);
      keep('A/A', a);
      onRun?.('A/A', aa.length, runs, a);
    } else {
      const p = await ab({ ...abOptions, sides: [{ ...base, name: 'A' }, { ...base, name: "A'", inject }] });
      aap.push(p);
      keep("A/A'", p);
      onRun?.("A/A'", aap.length, runs, p);
    }
  }
  return {
    inject,
    margin: aa[0]?.margin ?? abOptions.margin ?? AB_DEFAULTS.margin,
    detect: aa[0]?.detect ?? abOptions.detect ?? AB_DEFAULTS.detect,
    budgetS: aa[0]?.budgetS ?? abOptions.budgetS ?? AB_DEFAULTS.budgetS,
    aa: summarizeKind('A/A', aa, stages),
    aaPrime: summarizeKind("A/A'", aap, stages),
  };
}
