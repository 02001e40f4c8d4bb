/**
 * Recommendations from measurements: which model, quantization, thread count and preset meet a use
 * case's target on this machine, with a stated margin, and the measured rows that say so.
 *
 * Evidence: rows of `bench` (encoder rows) or `rtf` (whole transcriptions), from files or from a
 * short calibration run. A row's real-time factor (processing time / audio time, below 1 is faster
 * than real time) is the measured median of an rtf row, or, for a bench row, an estimate of one
 * 30-second window: (mel of 30 s + 1 encode + TOKENS_PER_WINDOW single-token decodes) / 30 s,
 * which is what greedy decoding of speech at about 150 words a minute costs. Its memory is the
 * row's peak RSS (the whole process during the cell).
 *
 * | use case | RTF target (default)                 | among the models that meet it | threads                          | preset   |
 * | -------- | ------------------------------------ | ----------------------------- | -------------------------------- | -------- |
 * | realtime | per stream ≤ 0.5                     | the largest                   | the fastest                      | realtime |
 * | batch    | machine-wide ≤ 0.25 (rtf·threads/cores, cores/threads jobs at once) | the largest | the most efficient (lowest rtf·threads) | speed |
 * | embedded | per stream ≤ 1 (keeps up)            | the largest that fits memory  | the fewest that meet the target  | speed    |
 * | server   | per request ≤ 0.5                    | the largest                   | the most efficient meeting it; streams = cores / threads | balanced |
 *
 * Meeting the target with margin m (default 25%): rtf × (1 + m) ≤ target, and with --memory,
 * peak RSS × (1 + m) ≤ memory. "Largest" orders models tiny < base < small < medium < large, then
 * by weight precision (f32, f16, q8_0, q5_1, q5_0, q4_1, q4_0). When nothing qualifies the answer
 * is empty and says why (the nearest miss and by how much).
 */
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { readFileSync } from 'node:fs';
import { invalidArgument, WhisperPerfError } from '../errors.js';
import type { BenchRow, Stat } from '../measure/types.js';
import { CalibrationOptions, calibrate, calibrationSource } from './calibration.js';

export const USE_CASES = ['realtime', 'batch', 'embedded', 'server'] as const;
export type UseCase = (typeof USE_CASES)[number];

/** Decoded tokens assumed per 30-second window when a bench row stands in for a transcription. */
export const TOKENS_PER_WINDOW = 100;
/** Default margin: the figure must meet the target with this much to spare. */
export const DEFAULT_MARGIN = 0.25;

export const USE_CASE_DEFAULTS: Readonly<Record<UseCase, { rtfTarget: number; preset: string; what: string }>> = {
  realtime: { rtfTarget: 0.5, preset: 'realtime', what: 'one live stream: each window must be done well before the next arrives' },
  batch: { rtfTarget: 0.25, preset: 'speed', what: 'a queue of files: throughput of the whole machine, cores/threads jobs at once' },
  embedded: { rtfTarget: 1, preset: 'speed', what: 'a small device: keep up with real time within the memory and cores given' },
  server: { rtfTarget: 0.5, preset: 'balanced', what: 'concurrent requests: each answered fast, as many streams as the cores allow' },
};

export interface RecommendOptions {
  useCase: UseCase;
  /** memory the transcription may use, GB (10^9 bytes) */
  memoryGB?: number;
  /** cores it may use (default: the logical cores) */
  cores?: number;
  /** real-time-factor target (default per use case) */
  rtfTarget?: number;
  /** margin, a fraction (default 0.25) */
  margin?: number;
  /** measured rows (bench or rtf); without them a calibration run measures some */
  rows?: readonly BenchRow[];
  /** the calibration run, when there are no rows */
  calibration?: CalibrationOptions;
}

/** One measured configuration, as the recommendation judges it. */
export interface Candidate {
  model: string;
  model_type: string;
  ftype: string;
  threads: number;
  flash_attn: boolean;
  device: string;
  preset?: string;
  rtf: number;
  rtf_source: 'measured' | 'estimated';
  /** the figure compared with the target: per-stream rtf, or machine-wide for batch */
  rtf_effective: number;
  peak_rss_mb?: number;
  cpu_pct?: number;
  synthetic: boolean;
  /** meets every constraint with the margin */
  meets: boolean;
  /** why it does or does not */
  why: string;
}

export interface Recommendation {
  use_case: UseCase;
  /** what the use case optimizes */
  goal: string;
  rtf_target: number;
  /** 'per stream' or 'machine-wide' */
  rtf_scope: string;
  margin: number;
  memory_gb?: number;
  cores: number;
  /** the answer; null when nothing qualifies */
  recommendation: {
    model: string;
    model_type: string;
    quantization: string;
    threads: number;
    preset: string;
    flash_attn: boolean;
    device: string;
    rtf: number;
    rtf_source: 'measured' | 'estimated';
    peak_rss_mb?: number;
    /** server: requests served at once; batch: jobs at once */
    streams?: number;
  } | null;
  /** why this answer (or why none) */
  reason: string;
  /** the rows behind it: every configuration judged, best first */
  evidence: Candidate[];
  /** where the rows came from */
  source: string;
  notes: string[];
}

const TYPE_RANK: Record<string, number> = { tiny: 0, base: 1, small: 2, medium: 3, large: 4 };
const FTYPE_RANK: Record<string, number> = { f32: 7, f16: 6, q8_0: 5, q5_1: 4, q5_0: 3, q4_1: 2, q4_0: 1 };
const typeRank = (t: string) => TYPE_RANK[t.toLowerCase()] ?? -1;
const ftypeRank = (f: string) => FTYPE_RANK[f.toLowerCase()] ?? 0;
/** Larger and more precise first. */
export const compareQuality = (a: { model_type: string; ftype: string }, b: { model_type: string; ftype: string }) =>
  typeRank(b.model_type) - typeRank(a.model_type) || ftypeRank(b.ftype) - ftypeRank(a.ftype);

const med = (s: Stat | undefined) => (s && Number.isFinite(s.median) ? s.median : undefined);
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** The real-time factor of a row: measured (rtf rows) or estimated from the bench timings; undefined when neither. */
export function rowRtf(row: BenchRow): { rtf: number; source: 'measured' | 'estimated' } | undefined {
  const measured = med(row.rtf);
  if (measured !== undefined && measured > 0) return { rtf: measured, source: 'measured' };
  const enc = med(row.encode_ms);
  const dec = med(row.decode_ms);
  if (row.what !== 'encoder' || enc === undefined || dec === undefined) return undefined;
  const mel = med(row.mel_ms) ?? 0;
  return { rtf: (mel + enc + TOKENS_PER_WINDOW * dec) / 30000, source: 'estimated' };
}

/** Reads rows from JSON (an array, or an object with `rows`) or JSON lines. */
export function parseRowsText(text: string, name = 'input'): BenchRow[] {
  const t = text.trim();
  if (t === '') return [];
  try {
    const v = JSON.parse(t) as unknown;
    const rows = Array.isArray(v) ? v : v && typeof v === 'object' && Array.isArray((v as { rows?: unknown }).rows) ? (v as { rows: unknown[] }).rows : undefined;
    if (!rows) throw new Error('not an array of rows');
    return rows.filter((r): r is BenchRow => !!r && typeof r === 'object' && typeof (r as BenchRow).what === 'string');
  } catch (e) {
    // JSON lines
    const lines = t.split('\n').filter((l) => l.trim() !== '');
    try {
      return lines.map((l) => JSON.parse(l) as BenchRow).filter((r) => r && typeof r.what === 'string');
    } catch {
      throw new WhisperPerfError(`${name}: not JSON rows (bench -o json or -o jsonl): ${(e as Error).message}`, 'INVALID_ARGUMENT');
    }
  }
}

/** Judges every usable row against the use case's constraints; best first. */
export function judge(rows: readonly BenchRow[], o: { useCase: UseCase; rtfTarget: number; margin: number; memoryMb?: number; cores: number }): Candidate[] {
  const out: Candidate[] = [];
  for (const row of rows) {
    if (row.error || (row.what !== 'encoder' && row.what !== 'rtf')) continue;
    const r = rowRtf(row);
    if (!r) continue;
    const effective = o.useCase === 'batch' ? (r.rtf * row.threads) / o.cores : r.rtf;
    const need = row.peak_rss_mb;
    const reasons: string[] = [];
    let meets = true;
    if (row.threads > o.cores) {
      meets = false;
      reasons.push(`${row.threads} threads > ${o.cores} cores`);
    }
    const limit = o.rtfTarget / (1 + o.margin);
    const scope = o.useCase === 'batch' ? 'machine-wide RTF' : 'RTF';
    if (effective > limit) {
      meets = false;
      reasons.push(`${scope} ${r3(effective)} > ${r3(limit)} (target ${o.rtfTarget} with ${Math.round(o.margin * 100)}% margin)`);
    } else reasons.push(`${scope} ${r3(effective)} ≤ ${r3(limit)}`);
    if (o.memoryMb !== undefined) {
      if (need === undefined) {
        meets = false;
        reasons.push('no peak RSS in the row: cannot check --memory');
      } else if (need * (1 + o.margin) > o.memoryMb) {
        meets = false;
        reasons.push(`needs ${Math.round(need * (1 + o.margin))} MB with margin (peak RSS ${Math.round(need)} MB) > ${Math.round(o.memoryMb)} MB`);
      } else reasons.push(`peak RSS ${Math.round(need)} MB fits`);
    }
    if ((row.warnings ?? []).some((w) => /competed for the cores/.test(w))) reasons.push('measured under CPU contention: the figures are pessimistic');
    out.push({
      model: row.model,
      model_type: row.model_type,
      ftype: row.ftype,
      threads: row.threads,
      flash_attn: row.flash_attn,
      device: row.backend ?? row.device,
      ...(row.preset ? { preset: row.preset } : {}),
      rtf: r3(r.rtf),
      rtf_source: r.source,
      rtf_effective: r3(effective),
      ...(need !== undefined ? { peak_rss_mb: need } : {}),
      ...(row.cpu_pct !== undefined ? { cpu_pct: row.cpu_pct } : {}),
      synthetic: row.synthetic,
      meets,
      why: reasons.join('; '),
    });
  }
  return out.sort((a, b) => Number(b.meets) - Number(a.meets) || compareQuality(a, b) || a.rtf_effective - b.rtf_effective);
}

/** Picks the answer from judged candidates (see the module table). */
export function decide(cands: readonly Candidate[], o: { useCase: UseCase; rtfTarget: number; margin: number; memoryMb?: number; cores: number }): { pick?: Candidate; reason: string; streams?: number } {
  const ok = cands.filter((c) => c.meets);
  if (cands.length === 0) return { reason: 'no usable rows: give bench or rtf rows with timings (bench -o json), or run without --from to calibrate' };
  if (ok.length === 0) {
    // the nearest miss: memory first (nothing else helps), then speed
    if (o.memoryMb !== undefined) {
      const known = cands.filter((c) => c.peak_rss_mb !== undefined);
      const fits = known.filter((c) => c.peak_rss_mb! * (1 + o.margin) <= o.memoryMb!);
      if (known.length && fits.length === 0) {
        const smallest = known.reduce((a, b) => (b.peak_rss_mb! < a.peak_rss_mb! ? b : a));
        return {
          reason: `--memory ${(o.memoryMb / 1000).toFixed(2)} GB is below every model's need: the smallest, ${basename(smallest.model)} (${smallest.model_type} ${smallest.ftype}), needs ${Math.round(smallest.peak_rss_mb! * (1 + o.margin))} MB (peak RSS ${Math.round(smallest.peak_rss_mb!)} MB + ${Math.round(o.margin * 100)}% margin)`,
        };
      }
    }
    const fastest = cands.reduce((a, b) => (b.rtf_effective < a.rtf_effective ? b : a));
    return {
      reason: `nothing meets ${o.useCase === 'batch' ? 'machine-wide ' : ''}RTF ≤ ${o.rtfTarget} with ${Math.round(o.margin * 100)}% margin (≤ ${r3(o.rtfTarget / (1 + o.margin))}) on ${o.cores} core${o.cores === 1 ? '' : 's'}${o.memoryMb !== undefined ? ` in ${(o.memoryMb / 1000).toFixed(2)} GB` : ''}: the fastest, ${basename(fastest.model)} at ${fastest.threads} threads, has ${r3(fastest.rtf_effective)} (${fastest.why})`,
    };
  }
  // the largest model (and precision) that qualifies
  const top = ok.filter((c) => compareQuality(c, ok[0]) === 0);
  let pick: Candidate;
  let how: string;
  switch (o.useCase) {
    case 'realtime':
      pick = top.reduce((a, b) => (b.rtf < a.rtf || (b.rtf === a.rtf && b.threads < a.threads) ? b : a));
      how = `the fastest thread count for it (RTF ${pick.rtf})`;
      break;
    case 'embedded':
      pick = top.reduce((a, b) => (b.threads < a.threads || (b.threads === a.threads && b.rtf < a.rtf) ? b : a));
      how = `the fewest threads that meet the target (${pick.threads}), leaving the other cores free`;
      break;
    case 'batch':
    case 'server':
      pick = top.reduce((a, b) => (b.rtf * b.threads < a.rtf * a.threads ? b : a));
      how = `the most efficient thread count (lowest RTF × threads: ${r3(pick.rtf * pick.threads)})`;
      break;
  }
  let streams: number | undefined;
  if (o.useCase === 'server' || o.useCase === 'batch') {
    streams = Math.max(1, Math.floor(o.cores / pick.threads));
    if (o.memoryMb !== undefined && pick.peak_rss_mb) streams = Math.max(1, Math.min(streams, Math.floor(o.memoryMb / (pick.peak_rss_mb * (1 + o.margin)))));
  }
  const bigger = cands.filter((c) => !c.meets && compareQuality(c, pick) < 0).sort((a, b) => compareQuality(b, a) || a.rtf_effective - b.rtf_effective)[0];
  const reason =
    `${basename(pick.model)} (${pick.model_type} ${pick.ftype}) is the largest model measured that meets the target: ${pick.why}; ${how}` +
    (streams !== undefined ? `; ${streams} ${o.useCase === 'server' ? 'requests' : 'jobs'} at once on ${o.cores} cores` : '') +
    (bigger ? `. The next larger, ${basename(bigger.model)} (${bigger.model_type} ${bigger.ftype}), misses: ${bigger.why}` : '');
  return { pick, reason, streams };
}

function checkOptions(o: RecommendOptions) {
  if (!o || !USE_CASES.includes(o.useCase)) throw invalidArgument('useCase', o?.useCase, USE_CASES.join(', '));
  const cores = o.cores ?? availableParallelism();
  if (!Number.isInteger(cores) || cores < 1 || cores > 4096) throw invalidArgument('cores', o.cores, 'an integer from 1');
  const margin = o.margin ?? DEFAULT_MARGIN;
  if (typeof margin !== 'number' || !(margin >= 0 && margin <= 10)) throw invalidArgument('margin', margin, 'a fraction from 0 to 10');
  const rtfTarget = o.rtfTarget ?? USE_CASE_DEFAULTS[o.useCase].rtfTarget;
  if (typeof rtfTarget !== 'number' || !(rtfTarget > 0 && rtfTarget <= 1000)) throw invalidArgument('rtfTarget', rtfTarget, 'a number above 0');
  if (o.memoryGB !== undefined && (typeof o.memoryGB !== 'number' || !(o.memoryGB > 0))) throw invalidArgument('memoryGB', o.memoryGB, 'a number of GB above 0');
  return { useCase: o.useCase, cores, margin, rtfTarget, memoryMb: o.memoryGB !== undefined ? o.memoryGB * 1000 : undefined };
}

/** Answers one use case from rows already measured (no measuring). */
export function recommendFromRows(rows: readonly BenchRow[], options: Omit<RecommendOptions, 'rows' | 'calibration'>, source = 'rows given'): Recommendation {
  const o = checkOptions(options);
  const evidence = judge(rows, o);
  const { pick, reason, streams } = decide(evidence, o);
  const notes: string[] = [];
  if (evidence.some((c) => c.rtf_source === 'estimated')) {
    notes.push(`estimated RTF = (mel of 30 s + 1 encode + ${TOKENS_PER_WINDOW} decodes) / 30 s from bench rows; measure real transcriptions with \`whisper-perf rtf\` and pass them with --from`);
  }
  if (evidence.some((c) => c.synthetic)) notes.push('synthetic weights: the speed and memory are real, but transcripts (and so a real model\'s decode length) are not');
  const ftypes = new Set(evidence.map((c) => c.ftype));
  if (![...ftypes].some((f) => /^q/i.test(f))) notes.push(`quantization: only ${[...ftypes].join(', ') || 'no'} weights were measured; quantized models (q8_0, q5_x, q4_x) were not`);
  const preset = pick?.preset ?? USE_CASE_DEFAULTS[o.useCase].preset;
  return {
    use_case: o.useCase,
    goal: USE_CASE_DEFAULTS[o.useCase].what,
    rtf_target: o.rtfTarget,
    rtf_scope: o.useCase === 'batch' ? 'machine-wide (rtf × threads / cores)' : 'per stream',
    margin: o.margin,
    ...(options.memoryGB !== undefined ? { memory_gb: options.memoryGB } : {}),
    cores: o.cores,
    recommendation: pick
      ? {
          model: pick.model,
          model_type: pick.model_type,
          quantization: pick.ftype,
          threads: pick.threads,
          preset,
          flash_attn: pick.flash_attn,
          device: pick.device,
          rtf: pick.rtf,
          rtf_source: pick.rtf_source,
          ...(pick.peak_rss_mb !== undefined ? { peak_rss_mb: pick.peak_rss_mb } : {}),
          ...(streams !== undefined ? { streams } : {}),
        }
      : null,
    reason,
    evidence,
    source,
    notes,
  };
}

/** Recommends a configuration for a use case from rows given, or from a short calibration run when none are. */
export async function recommend(options: RecommendOptions): Promise<Recommendation> {
  const o = checkOptions(options);
  let rows = options.rows;
  let source = 'rows given';
  if (!rows || rows.length === 0) {
    rows = await calibrate(o.cores, options.calibration);
    source = calibrationSource(rows);
  }
  return recommendFromRows(rows, options, source);
}

/** The use-case guide: one recommendation per use case from the same rows (measured once). */
export async function recommendGuide(options: Omit<RecommendOptions, 'useCase'>): Promise<Recommendation[]> {
  let rows = options.rows;
  let source = 'rows given';
  if (!rows || rows.length === 0) {
    const cores = options.cores ?? availableParallelism();
    rows = await calibrate(cores, options.calibration);
    source = calibrationSource(rows);
  }
  return USE_CASES.map((useCase) => recommendFromRows(rows!, { ...options, useCase, rtfTarget: options.rtfTarget }, source));
}

/** Reads rows from files (JSON arrays or JSON lines, as bench/rtf -o json|jsonl write them). */
export function readRowFiles(files: readonly string[]): BenchRow[] {
  return files.flatMap((f) => {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      throw new WhisperPerfError(`--from ${f}: ${(e as Error).message}`, 'INVALID_ARGUMENT');
    }
    return parseRowsText(text, f);
  });
}
