/**
 * Two-sample tests on raw samples, for `compare`: Welch's t-test and the Mann–Whitney U test,
 * and the rule that picks one of them (chooseTest).
 *
 * - Welch's t: t = (mean_b − mean_a) / √(s_a²/n_a + s_b²/n_b), Welch–Satterthwaite degrees of
 *   freedom, two-sided p from Student's t distribution (regularized incomplete beta function).
 * - Mann–Whitney U: ranks with ties averaged; the exact two-sided p from the distribution of U
 *   when there are no ties and n_a·n_b ≤ 400, else the normal approximation with tie correction
 *   and continuity correction.
 */
import { outlierIndices } from '../measure/stats.js';

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-13). */
export function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  const z = x - 1;
  let s = c[0];
  for (let i = 1; i < 9; i++) s += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaCf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    // even step
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    // odd step
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function betaInc(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaCf(a, b, x)) / a;
  return 1 - (Math.exp(lnFront) * betaCf(b, a, 1 - x)) / b;
}

/** Two-sided p-value of Student's t with `df` degrees of freedom (df may be fractional). */
export function tTwoSided(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return betaInc(df / (df + t * t), df / 2, 0.5);
}

/** The standard normal upper tail P(Z > z). */
export function normalUpper(z: number): number {
  // erfc by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7)
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const variance = (xs: readonly number[]) => {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
};

export interface WelchResult {
  t: number;
  df: number;
  p: number;
}

/** Welch's unequal-variances t-test of b against a (t > 0: b's mean is larger). Needs ≥ 2 samples a side. */
export function welch(a: readonly number[], b: readonly number[]): WelchResult {
  const va = variance(a) / a.length;
  const vb = variance(b) / b.length;
  const diff = mean(b) - mean(a);
  const se2 = va + vb;
  if (se2 === 0) return { t: diff === 0 ? 0 : Math.sign(diff) * Infinity, df: a.length + b.length - 2, p: diff === 0 ? 1 : 0 };
  const t = diff / Math.sqrt(se2);
  const df = (se2 * se2) / ((va * va) / (a.length - 1) + (vb * vb) / (b.length - 1));
  return { t, df, p: tTwoSided(t, df) };
}

export interface MannWhitneyResult {
  /** U of sample b: the number of pairs (a_i, b_j) with b_j > a_i, ties counting one half */
  u: number;
  p: number;
  exact: boolean;
}

/** Number of arrangements giving each U, for sizes m and n (the exact null distribution). */
function uCounts(m: number, n: number): number[] {
  // f[i][j] is the count polynomial for sizes (i, j); f(i, j) = f(i-1, j) shifted by j + f(i, j-1)
  let prev: number[][] = []; // prev[j] = counts for (i-1, j)
  for (let i = 0; i <= m; i++) {
    const cur: number[][] = [];
    for (let j = 0; j <= n; j++) {
      if (i === 0 || j === 0) {
        cur.push([1]);
        continue;
      }
      const a = prev[j]; // (i-1, j) shifted by j
      const b = cur[j - 1]; // (i, j-1)
      const out = new Array<number>(i * j + 1).fill(0);
      a.forEach((v, u) => (out[u + j] += v));
      b.forEach((v, u) => (out[u] += v));
      cur.push(out);
    }
    prev = cur;
  }
  return prev[n];
}

/** log of the binomial coefficient C(n, k). */
function lnChoose(n: number, k: number): number {
  return lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1);
}

/** The smallest two-sided p the exact Mann–Whitney test can give with these sample sizes. */
export function mannWhitneyFloor(m: number, n: number): number {
  return Math.min(1, 2 * Math.exp(-lnChoose(m + n, m)));
}

/** The Mann–Whitney U test of b against a. */
export function mannWhitney(a: readonly number[], b: readonly number[]): MannWhitneyResult {
  const m = a.length;
  const n = b.length;
  const all = [...a.map((v) => ({ v, s: 0 })), ...b.map((v) => ({ v, s: 1 }))].sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(all.length);
  let ties = false;
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1].v === all[i].v) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[k] = r;
    const t = j - i + 1;
    if (t > 1) {
      ties = true;
      tieTerm += t ** 3 - t;
    }
    i = j + 1;
  }
  let rb = 0;
  all.forEach((x, i) => {
    if (x.s === 1) rb += ranks[i];
  });
  const u = rb - (n * (n + 1)) / 2;
  if (!ties && m * n <= 400) {
    const counts = uCounts(m, n);
    const total = counts.reduce((s, c) => s + c, 0);
    const uu = Math.round(u);
    let low = 0;
    let high = 0;
    counts.forEach((c, k) => {
      if (k <= uu) low += c;
      if (k >= uu) high += c;
    });
    return { u, p: Math.min(1, (2 * Math.min(low, high)) / total), exact: true };
  }
  const mu = (m * n) / 2;
  const N = m + n;
  const sigma = Math.sqrt(((m * n) / 12) * (N + 1 - tieTerm / (N * (N - 1))));
  if (sigma === 0) return { u, p: 1, exact: false };
  const z = (Math.abs(u - mu) - 0.5) / sigma;
  return { u, p: Math.min(1, 2 * normalUpper(Math.max(0, z))), exact: false };
}

/** Sample skewness g1 = m3 / m2^1.5 (0 for constant samples). */
export function skewness(xs: readonly number[]): number {
  const m = mean(xs);
  let m2 = 0;
  let m3 = 0;
  for (const x of xs) {
    m2 += (x - m) ** 2;
    m3 += (x - m) ** 3;
  }
  m2 /= xs.length;
  m3 /= xs.length;
  return m2 === 0 ? 0 : m3 / m2 ** 1.5;
}

/** Fewest samples on a side for the shape checks (skewness, outliers). */
export const SHAPE_MIN_SAMPLES = 5;
/** |skewness| above this calls a sample skewed. */
export const SKEW_LIMIT = 1;

export type TestName = 'welch' | 'mann-whitney' | 'none';

export interface TestChoice {
  test: TestName;
  why: string;
}

/**
 * Which test fits two samples, and why:
 * - fewer than 2 samples on a side: no test;
 * - few samples (fewer than 5 on a side), where the shape cannot be checked: Mann–Whitney, which
 *   assumes no shape, when its exact p can go below alpha (4 and 4 samples or more); otherwise
 *   Welch, because Mann–Whitney could never flag anything (with 3 and 3 its smallest p is 0.10);
 * - enough samples: Mann–Whitney when a side is skewed (|g1| > 1) or has outliers (modified
 *   z-score), else Welch (more power when the samples look symmetric).
 */
export function chooseTest(a: readonly number[], b: readonly number[], alpha = 0.05): TestChoice {
  const na = a.length;
  const nb = b.length;
  if (na < 2 || nb < 2) return { test: 'none', why: `${na} and ${nb} samples: a test needs at least 2 on each side` };
  const floor = mannWhitneyFloor(na, nb);
  if (na < SHAPE_MIN_SAMPLES || nb < SHAPE_MIN_SAMPLES) {
    if (floor < alpha) return { test: 'mann-whitney', why: `few samples (${na} and ${nb}): too few to check their shape, so the test that assumes none` };
    return { test: 'welch', why: `few samples (${na} and ${nb}): Mann–Whitney's smallest p would be ${floor.toPrecision(2)}, never below ${alpha}` };
  }
  const reasons: string[] = [];
  for (const [name, xs] of [['base', a], ['candidate', b]] as const) {
    const g1 = skewness(xs);
    if (Math.abs(g1) > SKEW_LIMIT) reasons.push(`${name} skewed (g1 = ${g1.toFixed(2)})`);
    const out = outlierIndices(xs).length;
    if (out > 0) reasons.push(`${name} has ${out} outlier${out === 1 ? '' : 's'}`);
  }
  if (reasons.length > 0) return { test: 'mann-whitney', why: reasons.join(', ') };
  return { test: 'welch', why: `${na} and ${nb} samples, neither skewed nor with outliers` };
}

export interface TestResult extends TestChoice {
  /** two-sided p-value; null when no test ran */
  p: number | null;
  /** the test statistic: t (Welch) or U (Mann–Whitney) */
  statistic: number | null;
  df?: number;
  exact?: boolean;
}

/** Picks the test and runs it. */
export function testSamples(a: readonly number[], b: readonly number[], alpha = 0.05): TestResult {
  const choice = chooseTest(a, b, alpha);
  if (choice.test === 'welch') {
    const r = welch(a, b);
    return { ...choice, p: r.p, statistic: r.t, df: r.df };
  }
  if (choice.test === 'mann-whitney') {
    const r = mannWhitney(a, b);
    return { ...choice, p: r.p, statistic: r.u, exact: r.exact };
  }
  return { ...choice, p: null, statistic: null };
}
