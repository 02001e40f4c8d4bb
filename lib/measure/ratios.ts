/**
 * Ratios of two timings with their 95% intervals: of two summaries (bootstrap or propagation), of
 * paired rounds (bootstrap over pairs), and of blocks in units (Student-t over units, what `ab`
 * and bench:parity decide on).
 */
import { invalidArgument } from '../errors.js';
import type { Stat } from './types.js';
import { median, tQuantile975 } from './stats.js';

/** A ratio of two medians with its 95% confidence interval. */
export interface Ratio {
  /** a.median / b.median (for timings: > 1 means a is slower than b) */
  ratio: number;
  /** lower and upper ends of the 95% interval of the ratio */
  low: number;
  high: number;
  /** half-width of the interval, (high - low) / 2 */
  ci95: number;
  /** true when the interval excludes 1 */
  significant: boolean;
  method: 'bootstrap' | 'propagation';
}

export interface RatioOptions {
  /** 'bootstrap' (default; needs ≥ 2 samples on each side) or 'propagation' */
  method?: 'bootstrap' | 'propagation';
  /** bootstrap resamples (default 2000) */
  resamples?: number;
  /** bootstrap seed (default 42); the same seed gives the same interval */
  seed?: number;
}

/** mulberry32: a small deterministic PRNG giving floats in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function quantileSorted(s: readonly number[], q: number): number {
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * Ratio of medians a/b with a 95% interval. Default: a percentile bootstrap of the ratio
 * of medians (fixed seed, so the result is reproducible). With fewer than 2 samples on a side,
 * or method 'propagation', first-order error propagation of the standard errors of the means
 * around the ratio of medians: r·√((se_a/mean_a)² + (se_b/mean_b)²)·t, df = min(n)-1
 * (0 width when a side has one sample).
 */
export function ratio(a: Stat, b: Stat, options: RatioOptions = {}): Ratio {
  if (!(b.median !== 0 && Number.isFinite(b.median))) {
    throw invalidArgument('ratio denominator median', b.median, 'a finite non-zero number');
  }
  const r = a.median / b.median;
  const canBoot = a.samples.length >= 2 && b.samples.length >= 2;
  const method = options.method ?? 'bootstrap';
  let low: number;
  let high: number;
  if (method === 'bootstrap' && canBoot) {
    const resamples = options.resamples ?? 2000;
    if (!Number.isInteger(resamples) || resamples < 10) {
      throw invalidArgument('resamples', resamples, 'an integer >= 10');
    }
    const rand = prng(options.seed ?? 42);
    const draw = (xs: readonly number[], buf: number[]): number => {
      for (let i = 0; i < xs.length; i++) buf[i] = xs[Math.floor(rand() * xs.length)];
      return median(buf);
    };
    const bufA = new Array<number>(a.samples.length);
    const bufB = new Array<number>(b.samples.length);
    const rs: number[] = [];
    for (let k = 0; k < resamples; k++) {
      const mb = draw(b.samples, bufB);
      const ma = draw(a.samples, bufA);
      if (mb !== 0) rs.push(ma / mb);
    }
    rs.sort((x, y) => x - y);
    if (rs.length === 0) {
      low = high = r;
    } else {
      low = Math.min(r, quantileSorted(rs, 0.025));
      high = Math.max(r, quantileSorted(rs, 0.975));
    }
  } else {
    const nMin = Math.min(a.n, b.n);
    if (nMin < 2 || a.mean === 0 || b.mean === 0) {
      low = high = r;
    } else {
      const relA = a.sd / Math.sqrt(a.n) / a.mean;
      const relB = b.sd / Math.sqrt(b.n) / b.mean;
      const half = Math.abs(r) * Math.sqrt(relA ** 2 + relB ** 2) * tQuantile975(nMin - 1);
      low = r - half;
      high = r + half;
    }
  }
  return {
    ratio: r,
    low,
    high,
    ci95: (high - low) / 2,
    significant: low > 1 || high < 1,
    method: method === 'bootstrap' && canBoot ? 'bootstrap' : 'propagation',
  };
}

/** A paired comparison: a_i and b_i measured side by side (the same round), so slow drift cancels. */
export interface PairedRatio {
  /** exp of the 20% trimmed mean of ln(a_i / b_i): the typical a/b of a pair */
  ratio: number;
  /** 95% percentile-bootstrap interval of that estimate, resampling whole pairs */
  low: number;
  high: number;
  /** number of pairs */
  n: number;
  method: 'paired-bootstrap';
}

/** The mean of what is left once the lowest and the highest `trim` of the values are set aside. */
export function trimmedMean(xs: readonly number[], trim = 0.2): number {
  const s = [...xs].sort((x, y) => x - y);
  const k = Math.floor(s.length * trim);
  const kept = s.slice(k, s.length - k);
  return kept.reduce((a, b) => a + b, 0) / kept.length;
}

/**
 * Paired ratio of two sample lists of equal length: ratio = exp(20% trimmed mean of the
 * per-pair log ratios), CI by a percentile bootstrap over pairs (fixed seed: the same samples
 * give the same interval). The trimmed mean keeps most of the mean's power while a burst of
 * noise on one pair cannot move it much. With fewer than 2 pairs the interval is the point.
 */
export function pairedRatio(a: readonly number[], b: readonly number[], options: { resamples?: number; seed?: number } = {}): PairedRatio {
  if (a.length !== b.length || a.length === 0) throw invalidArgument('pairs', `${a.length} vs ${b.length} samples`, 'two non-empty lists of the same length');
  const logs: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (!(a[i] > 0 && b[i] > 0 && Number.isFinite(a[i]) && Number.isFinite(b[i]))) {
      throw invalidArgument('pair', `${a[i]} / ${b[i]}`, 'finite positive values');
    }
    logs.push(Math.log(a[i] / b[i]));
  }
  const point = trimmedMean(logs);
  let low = point;
  let high = point;
  if (logs.length >= 2) {
    const resamples = options.resamples ?? 4000;
    const rand = prng(options.seed ?? 42);
    const buf = new Array<number>(logs.length);
    const est: number[] = [];
    for (let k = 0; k < resamples; k++) {
      for (let i = 0; i < logs.length; i++) buf[i] = logs[Math.floor(rand() * logs.length)];
      est.push(trimmedMean(buf));
    }
    est.sort((x, y) => x - y);
    low = Math.min(point, quantileSorted(est, 0.025));
    high = Math.max(point, quantileSorted(est, 0.975));
  }
  return { ratio: Math.exp(point), low: Math.exp(low), high: Math.exp(high), n: logs.length, method: 'paired-bootstrap' };
}

/** A ratio estimated over balanced units of blocks (see blockRatio). */
export interface BlockRatio {
  /** exp of the mean over units of each unit's mean ln(a/b) */
  ratio: number;
  /** 95% Student-t interval over units (df = units − 1), on the log scale */
  low: number;
  high: number;
  /** number of units (the independent replicates) */
  n: number;
  /** number of blocks those units hold */
  blocks: number;
  /** standard deviation of the units' log ratios (winsorized, as many at each end as were trimmed, for 'block-yuen') */
  sdLog: number;
  /** 'block-yuen': the trimmed mean with Yuen's interval (yuenRatio); `trimmed` at each end */
  method: 'block-t' | 'block-yuen';
  trimmed?: number;
}

/**
 * Ratio a/b of two sides measured in blocks, each block with fresh processes on both sides, the
 * blocks grouped in consecutive units of `unitSize` in which every side was started in every
 * position once (a Latin square of start orders). Whatever a process or its start position brings
 * (where its memory landed on the host, say) varies between blocks; a unit cancels the position
 * effects and the spread between units holds the rest, so the interval counts it. Per unit: the
 * mean of its blocks' ln(a/b); estimate exp(mean over units); 95% CI by Student t over units. A
 * trailing partial unit is left out. With fewer than 2 units the interval is the point.
 */
export function blockRatio(a: readonly number[], b: readonly number[], unitSize: number): BlockRatio {
  if (a.length !== b.length || a.length === 0) throw invalidArgument('blocks', `${a.length} vs ${b.length} samples`, 'two non-empty lists of the same length');
  if (!Number.isInteger(unitSize) || unitSize < 1) throw invalidArgument('unitSize', unitSize, 'a positive integer');
  const units: number[] = [];
  for (let u = 0; (u + 1) * unitSize <= a.length; u++) {
    let sum = 0;
    for (let i = u * unitSize; i < (u + 1) * unitSize; i++) {
      if (!(a[i] > 0 && b[i] > 0 && Number.isFinite(a[i]) && Number.isFinite(b[i]))) {
        throw invalidArgument('pair', `${a[i]} / ${b[i]}`, 'finite positive values');
      }
      sum += Math.log(a[i] / b[i]);
    }
    units.push(sum / unitSize);
  }
  if (units.length === 0) throw invalidArgument('blocks', a.length, `at least one whole unit of ${unitSize}`);
  return unitsRatio(units, units.length * unitSize);
}

/**
 * The ratio over units from each unit's mean ln(a/b) (see blockRatio): exp(mean), 95% Student-t
 * interval with units − 1 degrees of freedom; `blocks` is how many blocks the units hold.
 */
export function unitsRatio(unitLogs: readonly number[], blocks: number): BlockRatio {
  const n = unitLogs.length;
  if (n === 0) throw invalidArgument('units', n, 'at least one unit');
  const mean = unitLogs.reduce((x, y) => x + y, 0) / n;
  const sdLog = n > 1 ? Math.sqrt(unitLogs.reduce((x, y) => x + (y - mean) ** 2, 0) / (n - 1)) : 0;
  const half = n > 1 ? (tQuantile975(n - 1) * sdLog) / Math.sqrt(n) : 0;
  return { ratio: Math.exp(mean), low: Math.exp(mean - half), high: Math.exp(mean + half), n, blocks, sdLog, method: 'block-t' };
}

/**
 * The ratio over replicates (each a ln(a/b)) from their trimmed mean, with Yuen's 95% interval:
 * g replicates set aside at each end (one from 6 replicates on, a tenth from 20), the winsorized
 * variance s_w² (the g lowest set to the next, the g highest likewise), SE = √((n − 1)·s_w²) /
 * √(h·(h − 1)) with h = n − 2g kept, and Student's t with h − 1 degrees of freedom. Where a
 * replicate now and then lands far off (a process whose code is slow for its whole life), the mean
 * and its interval follow it and the trimmed mean does not; under normal noise the interval is a
 * few percent wider than Student's. Under 6 replicates: unitsRatio.
 */
export function yuenRatio(logs: readonly number[], blocks: number): BlockRatio {
  const n = logs.length;
  const g = n >= 6 ? Math.max(1, Math.floor(n / 10)) : 0;
  if (g === 0) return unitsRatio(logs, blocks);
  const s = [...logs].sort((x, y) => x - y);
  const h = n - 2 * g;
  const mean = s.slice(g, n - g).reduce((x, y) => x + y, 0) / h;
  const w = s.map((x, i) => (i < g ? s[g] : i >= n - g ? s[n - g - 1] : x));
  const wm = w.reduce((x, y) => x + y, 0) / n;
  const sw2 = w.reduce((x, y) => x + (y - wm) ** 2, 0) / (n - 1);
  const half = tQuantile975(h - 1) * Math.sqrt(((n - 1) * sw2) / (h * (h - 1)));
  return { ratio: Math.exp(mean), low: Math.exp(mean - half), high: Math.exp(mean + half), n, blocks, sdLog: Math.sqrt(sw2), method: 'block-yuen', trimmed: g };
}
