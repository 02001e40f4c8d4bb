/**
 * Summary statistics of repeated measurements, the warnings they call for, ratios for
 * comparisons and thread-scaling figures.
 *
 * Rules chosen here (all documented at their constants):
 * - sd is the sample standard deviation (n-1); 0 for one sample.
 * - ci95 is the half-width of the 95% confidence interval of the mean, t(0.975, n-1)·sd/√n,
 *   with t from an exact table for df ≤ 30 and a Cornish-Fisher expansion of the normal
 *   quantile for df > 30 (error < 1e-4 there); 0 for one sample.
 * - outliers follow hyperfine's modified z-score rule |0.6745·(x-median)/MAD| > 3.5. When
 *   MAD is 0 (more than half of the samples equal the median) that rule would divide by zero;
 *   we then fall back to the mean absolute deviation from the median, as Iglewicz & Hoaglin
 *   suggest: z = (x-median)/(1.253314·MeanAD). When every sample is equal there are no
 *   outliers. Fewer than MIN_OUTLIER_SAMPLES (5) samples get no outlier test at all.
 */
import { invalidArgument } from '../errors.js';
import type { Stat } from './types.js';

/** Modified z-score above which a sample is an outlier (Iglewicz & Hoaglin; hyperfine). */
export const OUTLIER_Z = 3.5;
/** Coefficient of variation above which a figure is called noisy (10%). */
export const HIGH_CV = 0.1;
/** Fewer samples than this get a "too few samples" warning. */
export const MIN_SAMPLES = 3;
/** Fewest samples for outlier detection: with 3 or 4 the MAD is one or two gaps and flags ordinary spread. */
export const MIN_OUTLIER_SAMPLES = 5;
/** The first sample is "much slower" when it exceeds the median of the others by this factor. */
export const SLOW_FIRST_FACTOR = 1.5;
/** Scaling knee: adding threads beyond the knee never improves speed by this much (10%). */
export const KNEE_GAIN = 0.1;

/** Two-sided 95% Student t quantiles (the 0.975 quantile) for df = 1..30. */
const T975: readonly number[] = [
  12.706204736, 4.30265273, 3.182446305, 2.776445105, 2.570581836, 2.446911851, 2.364624252,
  2.306004135, 2.262157163, 2.228138852, 2.20098516, 2.17881283, 2.160368656, 2.144786688,
  2.131449546, 2.119905299, 2.109815578, 2.10092204, 2.093024054, 2.085963447, 2.079613845,
  2.073873068, 2.06865761, 2.063898562, 2.059538553, 2.055529439, 2.051830516, 2.048407142,
  2.045229642, 2.042272456,
];
const Z975 = 1.959963984540054;

/** The 0.975 quantile of Student's t with `df` degrees of freedom (df ≥ 1). */
export function tQuantile975(df: number): number {
  if (!Number.isFinite(df) || df < 1) throw invalidArgument('df', df, 'a number >= 1');
  const d = Math.floor(df);
  if (d <= T975.length) return T975[d - 1];
  // Cornish-Fisher expansion of t in terms of the normal quantile z.
  const z = Z975;
  const z3 = z ** 3;
  const z5 = z ** 5;
  const z7 = z ** 7;
  const g1 = (z3 + z) / 4;
  const g2 = (5 * z5 + 16 * z3 + 3 * z) / 96;
  const g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384;
  return z + g1 / d + g2 / d ** 2 + g3 / d ** 3;
}

/** Median of a list (not modified). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Indices of the outliers of `samples` by the modified z-score rule (see the module comment). */
export function outlierIndices(samples: readonly number[]): number[] {
  if (samples.length < MIN_OUTLIER_SAMPLES) return [];
  const med = median(samples);
  const dev = samples.map((x) => Math.abs(x - med));
  const mad = median(dev);
  let scale: number;
  if (mad > 0) {
    scale = mad / 0.6745;
  } else {
    const meanAd = dev.reduce((a, b) => a + b, 0) / dev.length;
    if (meanAd === 0) return [];
    scale = 1.253314 * meanAd;
  }
  const out: number[] = [];
  dev.forEach((d, i) => {
    if (d / scale > OUTLIER_Z) out.push(i);
  });
  return out;
}

/** Summarize repeated measurements. Throws INVALID_ARGUMENT for no samples or non-finite ones. */
export function summarize(samples: readonly number[]): Stat {
  if (!Array.isArray(samples) || samples.length === 0) {
    throw invalidArgument('samples', samples, 'a non-empty array of finite numbers');
  }
  for (const x of samples) {
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw invalidArgument('sample', x, 'a finite number');
    }
  }
  const n = samples.length;
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  let ss = 0;
  for (const x of samples) ss += (x - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const ci95 = n > 1 ? (tQuantile975(n - 1) * sd) / Math.sqrt(n) : 0;
  return {
    n,
    mean,
    median: median(samples),
    sd,
    min: Math.min(...samples),
    max: Math.max(...samples),
    ci95,
    cv: mean !== 0 ? sd / Math.abs(mean) : 0,
    outliers: outlierIndices(samples),
    samples: [...samples],
  };
}

function fmt(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

/**
 * Human-readable warnings about a Stat, each prefixed with `label`:
 * - fewer than MIN_SAMPLES (3) samples (unless options.sampleCount is false);
 * - every sample 0 (below the timer's resolution or not measured);
 * - CV above HIGH_CV (10%);
 * - outliers by the modified z-score rule;
 * - the first run more than SLOW_FIRST_FACTOR (1.5×) slower than the median of the rest
 *   (n ≥ 3), the sign of a cold cache or a missing warm-up. For timings "slower" means a larger
 *   sample; for rates (higherIsBetter: GB/s, GFLOPS) a smaller one. higherIsBetter defaults to
 *   true when the label names a rate or a micro-benchmark (gbps, gflops, GB/s, memcpy, mulmat).
 */
export function warningsFor(stat: Stat, label: string, options: { higherIsBetter?: boolean; sampleCount?: boolean } = {}): string[] {
  const higherIsBetter = options.higherIsBetter ?? /gbps|gflops|gb\/s|memcpy|mulmat/i.test(label);
  const w: string[] = [];
  // sampleCount: false leaves the too-few-samples warning to a caller that says it once for many stats
  if (stat.n < MIN_SAMPLES && options.sampleCount !== false) {
    w.push(
      `${label}: only ${stat.n} sample${stat.n === 1 ? '' : 's'}; the spread and confidence interval ` +
        `are not meaningful below ${MIN_SAMPLES} (use more repetitions)`,
    );
  }
  if (stat.n > 0 && stat.max === 0 && stat.min === 0) {
    w.push(`${label}: every sample is 0 (below the timer's resolution, or not measured)`);
  }
  if (stat.cv > HIGH_CV) {
    w.push(
      `${label}: high variation, CV ${(stat.cv * 100).toFixed(1)}% (sd ${fmt(stat.sd)} on mean ` +
        `${fmt(stat.mean)}) is above ${HIGH_CV * 100}%; the system may be busy or throttling`,
    );
  }
  if (stat.outliers.length > 0) {
    const k = stat.outliers.length;
    const vals = stat.outliers.map((i) => fmt(stat.samples[i])).join(', ');
    w.push(
      `${label}: ${k} statistical outlier${k === 1 ? '' : 's'} among ${stat.n} samples (${vals}; ` +
        `modified z-score > ${OUTLIER_Z}); they may come from other processes, caches or ` +
        `frequency scaling — retry on a quiet system or with warm-up runs`,
    );
  }
  if (stat.n >= MIN_SAMPLES && stat.samples.length === stat.n) {
    const first = stat.samples[0];
    const restMedian = median(stat.samples.slice(1));
    const factor = higherIsBetter ? (first > 0 ? restMedian / first : Infinity) : first / restMedian;
    if (restMedian > 0 && factor > SLOW_FIRST_FACTOR) {
      w.push(
        `${label}: the first run (${fmt(first)}) was ${Number.isFinite(factor) ? factor.toFixed(1) + '×' : 'much'} slower than ` +
          `the median of the rest (${fmt(restMedian)}); caches may not have been warm — use warm-up runs`,
      );
    }
  }
  return w;
}

/** One thread count of a scaling series. */
export interface ScalingPoint {
  threads: number;
  median: number;
  /** base median / this median */
  speedup: number;
  /** speedup / (threads / base threads): 1 is perfect linear scaling */
  efficiency: number;
}

export interface Scaling {
  /** the smallest thread count, against which speedups are taken */
  base_threads: number;
  /** sorted by threads */
  points: ScalingPoint[];
  /**
   * The smallest thread count after which no larger thread count is ≥ KNEE_GAIN (10%) faster
   * (speedup_j < 1.1·speedup_knee for every j after it). Equals the largest thread count when
   * the series still scales at its end.
   */
  knee: number;
  /** true when the knee is below the largest thread count measured */
  saturated: boolean;
  /** the thread count with the lowest median */
  best: number;
}

/**
 * Thread scaling of a timing: speedup against the smallest thread count (1 when measured),
 * parallel efficiency and the knee. `rows` need not be sorted; duplicate thread counts,
 * non-positive thread counts or medians are rejected.
 */
export function scaling(rows: readonly { threads: number; median: number }[]): Scaling {
  if (rows.length === 0) throw invalidArgument('scaling rows', rows, 'at least one {threads, median}');
  const sorted = [...rows].sort((x, y) => x.threads - y.threads);
  for (let i = 0; i < sorted.length; i++) {
    const { threads, median: m } = sorted[i];
    if (!Number.isInteger(threads) || threads < 1) throw invalidArgument('threads', threads, 'an integer >= 1');
    if (!(m > 0) || !Number.isFinite(m)) throw invalidArgument('median', m, 'a finite number > 0');
    if (i > 0 && sorted[i - 1].threads === threads) {
      throw invalidArgument('threads', threads, 'each thread count once');
    }
  }
  const base = sorted[0];
  const points = sorted.map(({ threads, median: m }) => {
    const speedup = base.median / m;
    return { threads, median: m, speedup, efficiency: speedup / (threads / base.threads) };
  });
  let knee = points[points.length - 1].threads;
  for (let i = 0; i < points.length; i++) {
    const limit = points[i].speedup * (1 + KNEE_GAIN);
    if (points.slice(i + 1).every((p) => p.speedup < limit)) {
      knee = points[i].threads;
      break;
    }
  }
  let best = points[0];
  for (const p of points) if (p.median < best.median) best = p;
  return {
    base_threads: base.threads,
    points,
    knee,
    saturated: knee < points[points.length - 1].threads,
    best: best.threads,
  };
}
