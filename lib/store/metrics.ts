/**
 * What a row measured and under which parameters, for any row type (bench, rtf, imported ...):
 *
 * - a **statistic** is a top-level field holding a Stat (an object with numeric `median` and a
 *   `samples` array): encode_ms, decode_ms, rtf when it is a Stat ...;
 * - a **figure** is a top-level finite number that is neither a parameter nor provenance:
 *   encoder_gflops, speedup, peak_rss_mb, cpu_pct, rtf when it is a plain number ...;
 * - a **parameter** is `what`, a known setting (PARAM_NUMBERS) or any other top-level string or
 *   boolean that is not provenance (model, device, flash_attn, file, preset, mulmat_type ...).
 *
 * Compare matches rows on their parameters and compares their statistics; the store indexes
 * both (the `metrics` table).
 */
import { basename } from 'node:path';

import type { Stat } from '../measure/types.js';

/** Fields that describe where and with what a row was measured, not what: never parameters or figures. */
export const PROVENANCE_FIELDS: ReadonlySet<string> = new Set([
  'timestamp',
  'package_version',
  'node_version',
  'whisper_version',
  'build',
  'cpu_model',
  'cpu_features',
  'cpu_cores',
  'memory_bytes',
  'os',
  'warnings',
  'error',
  'synthetic',
  'model_type',
  'ftype',
  'repetitions',
  'native',
  'source',
  'host',
  'cold',
  'knee_threads',
  'commit',
  'hardware',
  'peak_source',
  'peak_rss_source',
  'language',
  'backend',
  'build_path',
  'build_baseline',
  'stage_runs',
  'gpu',
]);

/** Numeric fields that are settings of a measurement, not results. */
export const PARAM_NUMBERS: ReadonlySet<string> = new Set(['threads', 'mulmat_size', 'audio_s', 'duration_s', 'processors', 'beam_size', 'best_of', 'n_decode', 'n_batch', 'n_prompt', 'gpu_device']);

/** Parameters compared by base name, so the same model or file in two folders matches. */
const BY_BASENAME: ReadonlySet<string> = new Set(['model', 'file']);

export function isStat(v: unknown): v is Stat {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return typeof s.median === 'number' && Array.isArray(s.samples);
}

type Row = Record<string, unknown>;

/** The parameters of a row, as strings, sorted by name (`what` first). */
export function paramsOf(row: Row): Record<string, string> {
  const out: Record<string, string> = { what: String(row.what) };
  for (const k of Object.keys(row).sort()) {
    if (k === 'what' || PROVENANCE_FIELDS.has(k)) continue;
    const v = row[k];
    if (typeof v === 'string' || typeof v === 'boolean') {
      if (v === '') continue;
      out[k] = BY_BASENAME.has(k) && typeof v === 'string' ? basename(v) : String(v);
    } else if (typeof v === 'number' && PARAM_NUMBERS.has(k)) {
      out[k] = String(v);
    }
  }
  return out;
}

export interface MetricValue {
  name: string;
  /** the median of a statistic, or the figure */
  value: number | null;
  n: number | null;
  mean: number | null;
  median: number | null;
  sd: number | null;
  min: number | null;
  max: number | null;
  ci95: number | null;
  cv: number | null;
  samples: number[] | null;
}

const fin = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** Every statistic and figure of a row, by field name, in field order. */
export function metricsOf(row: Row): MetricValue[] {
  const out: MetricValue[] = [];
  for (const [k, v] of Object.entries(row)) {
    if (PROVENANCE_FIELDS.has(k) || PARAM_NUMBERS.has(k)) continue;
    if (isStat(v)) {
      out.push({
        name: k,
        value: fin(v.median),
        n: fin(v.n),
        mean: fin(v.mean),
        median: fin(v.median),
        sd: fin(v.sd),
        min: fin(v.min),
        max: fin(v.max),
        ci95: fin(v.ci95),
        cv: fin(v.cv),
        samples: v.samples.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)),
      });
    } else if (typeof v === 'number' && Number.isFinite(v)) {
      out.push({ name: k, value: v, n: null, mean: null, median: null, sd: null, min: null, max: null, ci95: null, cv: null, samples: null });
    }
  }
  return out;
}

/** The statistics (Stat fields) of a row. */
export function statsOf(row: Row): Record<string, Stat> {
  const out: Record<string, Stat> = {};
  for (const [k, v] of Object.entries(row)) if (!PROVENANCE_FIELDS.has(k) && isStat(v)) out[k] = v;
  return out;
}

/**
 * Whether a larger value of a metric is better: rates (GB/s, GFLOPS, RTFx = audio time /
 * processing time, tokens or samples per second, speed-up, efficiency) are; times, RTF (processing
 * time / audio time), memory, CPU and error rates are not.
 */
export function higherIsBetter(metric: string): boolean {
  return /gbps|gflops|rtfx|per_s(ec)?$|_per_s_|tok_s|throughput|speedup|efficiency|x_realtime|realtime_x|speed$/i.test(metric);
}

/** A number or the median of a Stat, or undefined. */
export function valueOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (isStat(v) && Number.isFinite(v.median)) return v.median;
  return undefined;
}
