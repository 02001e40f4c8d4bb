/**
 * Latency figures of streaming and capacity runs: percentiles of per-step or per-request
 * latencies, beside the bench engine's Stat (lib/measure/stats.ts).
 *
 * Percentile rule: linear interpolation between the two closest ranks (Hyndman & Fan type 7,
 * numpy's and R's default): p-th percentile of sorted x[0..n-1] is x[h] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋])
 * with h = (n − 1)·p/100. One sample is its own every percentile; no samples give NaN.
 */
import { invalidArgument } from '../errors.js';

/** The p-th percentile (0–100) of `values` by linear interpolation between closest ranks (type 7). */
export function percentile(values: readonly number[], p: number): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 100)) throw invalidArgument('percentile', p, 'a number from 0 to 100');
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const h = ((s.length - 1) * p) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] + (h - lo) * (s[hi] - s[lo]);
}

/** p50, p95, max and mean of a list of latencies (NaN for an empty list). */
export interface LatencySummary {
  n: number;
  p50: number;
  p95: number;
  max: number;
  mean: number;
}

export function latencySummary(values: readonly number[]): LatencySummary {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max: values.length ? Math.max(...values) : NaN,
    mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN,
  };
}
