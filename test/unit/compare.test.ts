import { describe, expect, it } from 'vitest';

import { summarize } from '../../lib/measure/stats.js';
import type { BenchRow } from '../../lib/measure/types.js';
import { WhisperPerfError } from '../../lib/errors.js';
import { betweenRunSpread, compareRows, type CompareSide, type RunSpread } from '../../lib/report/compare.js';
import { comparisonCsv, comparisonMarkdown } from '../../lib/report/compare-format.js';
import { betaInc, chooseTest, lnGamma, mannWhitney, mannWhitneyFloor, skewness, testSamples, tTwoSided, welch } from '../../lib/report/significance.js';
import { parseThreshold } from '../../lib/cli/compare.js';
import { memcpyRow } from '../fixtures/rows.js';
import { row } from '../fixtures/store.js';

describe('significance: the distributions', () => {
  it('ln Γ and the incomplete beta function match closed forms', () => {
    expect(lnGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    // I_x(2,3) = sum_{j=2..4} C(4,j) x^j (1-x)^(4-j): 11/16 at x = 1/2
    expect(betaInc(0.5, 2, 3)).toBeCloseTo(11 / 16, 12);
    expect(betaInc(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(betaInc(0, 2, 2)).toBe(0);
    expect(betaInc(1, 2, 2)).toBe(1);
  });

  it("Student's t: the 97.5% quantiles give p = 0.05; t = 2 with 8 df gives R's 0.0805", () => {
    expect(tTwoSided(2.306004135, 8)).toBeCloseTo(0.05, 8);
    expect(tTwoSided(12.706204736, 1)).toBeCloseTo(0.05, 8);
    expect(tTwoSided(2.042272456, 30)).toBeCloseTo(0.05, 8);
    expect(tTwoSided(2, 8)).toBeCloseTo(0.08051623, 7);
    expect(tTwoSided(0, 5)).toBeCloseTo(1, 12);
  });
});

describe('significance: the tests', () => {
  it("Welch's t: t, Welch–Satterthwaite df and p (R: t.test(b, a))", () => {
    const r = welch([1, 2, 3, 4, 5], [3, 4, 5, 6, 7]);
    expect(r.t).toBeCloseTo(2, 12);
    expect(r.df).toBeCloseTo(8, 12);
    expect(r.p).toBeCloseTo(0.08051623, 7);
    // unequal variances: df below n_a + n_b - 2
    const u = welch([10, 10.1, 9.9, 10.05], [12, 14, 11, 15, 13, 12.5]);
    expect(u.df).toBeLessThan(8);
    expect(u.df).toBeGreaterThan(5);
    expect(welch([1, 1, 1], [1, 1, 1]).p).toBe(1);
    expect(welch([1, 1, 1], [2, 2, 2]).p).toBe(0);
  });

  it('Mann–Whitney U: exact p from the distribution of U (R: wilcox.test(b, a))', () => {
    expect(mannWhitney([1, 2, 3, 4], [5, 6, 7, 8])).toMatchObject({ u: 16, exact: true });
    expect(mannWhitney([1, 2, 3, 4], [5, 6, 7, 8]).p).toBeCloseTo(2 / 70, 12);
    expect(mannWhitney([1, 2, 3], [4, 5, 6]).p).toBeCloseTo(0.1, 12);
    // U = 22 of 25 with 5 and 5: P(U >= 22) = (1 + 1 + 2 + 3) / 252
    const r = mannWhitney([1.1, 2.2, 3.3, 4.4, 5.5], [3.0, 6.0, 7.0, 8.0, 9.0]);
    expect(r.u).toBe(22);
    expect(r.p).toBeCloseTo(14 / 252, 12);
    expect(mannWhitney([5, 6, 7, 8], [1, 2, 3, 4]).u).toBe(0);
    // ties: the normal approximation with tie and continuity corrections
    const t = mannWhitney([1, 1, 2, 2, 3, 3], [1, 1, 2, 2, 3, 3]);
    expect(t.exact).toBe(false);
    expect(t.p).toBeCloseTo(1, 6);
    expect(mannWhitneyFloor(3, 3)).toBeCloseTo(0.1, 12);
    expect(mannWhitneyFloor(4, 4)).toBeCloseTo(2 / 70, 12);
  });

  it('chooses Welch or Mann–Whitney and says why', () => {
    expect(chooseTest([1], [1, 2])).toMatchObject({ test: 'none' });
    const few = chooseTest([1, 2, 3], [4, 5, 6]);
    expect(few.test).toBe('welch');
    expect(few.why).toMatch(/Mann–Whitney's smallest p would be 0\.10, never below 0\.05/);
    expect(chooseTest([1, 2, 3, 4], [5, 6, 7, 8])).toMatchObject({ test: 'mann-whitney', why: expect.stringMatching(/few samples/) });
    expect(chooseTest([10, 11, 9, 10.5, 9.5, 10.2], [12, 13, 11, 12.5, 11.5, 12.2])).toMatchObject({ test: 'welch', why: expect.stringMatching(/neither skewed nor with outliers/) });
    const skewed = chooseTest([10, 10.1, 10.2, 10.1, 10, 30], [12, 12.1, 12.2, 12.1, 12, 12.05]);
    expect(skewed.test).toBe('mann-whitney');
    expect(skewed.why).toMatch(/base (skewed|has 1 outlier)/);
    expect(skewness([1, 2, 3])).toBeCloseTo(0, 12);
    expect(skewness([1, 1, 1, 1, 10])).toBeGreaterThan(1);
    expect(testSamples([1, 2, 3, 4], [5, 6, 7, 8])).toMatchObject({ test: 'mann-whitney', statistic: 16 });
  });
});

const side = (label: string, rows: BenchRow[], runs?: (string | number)[]): CompareSide => ({ spec: label, label, rows: rows as unknown as CompareSide['rows'], runs });
/** n runs of one configuration, run i's encode samples scaled by factors[i] around `center` */
const runsOf = (center: number, factors: number[], threads = 2) => factors.map((f) => row('/m/a.bin', threads, [0.99, 1, 1.01].map((x) => x * center * f)));
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
/** a measured between-run spread: sd of ln run figure `sd` with `df` degrees of freedom */
const spreadOf = (sd: number, df: number) => new Map<string, RunSpread>([['encode_ms', { ss: sd * sd * df, df, source: 'test' }]]);

describe('compare: the run is the unit', () => {
  it('one run per side and nothing else in the store: inconclusive whatever the samples say (exit 3), never slower', () => {
    // the case that failed identical code: +5% between two processes, tight samples inside each
    const c = compareRows(side('run 1', [row('/m/a.bin', 2, [100, 100.2, 99.8, 100.1, 99.9])]), side('run 2', [row('/m/a.bin', 2, [105, 105.2, 104.8, 105.1, 104.9])]));
    const enc = c.metrics.find((m) => m.metric === 'encode_ms')!;
    expect(enc.p!).toBeLessThan(1e-6); // the within-run test would have called it
    expect(enc.verdict).toBe('inconclusive');
    expect(enc.reason).toMatch(/cannot be told from between-process drift; use ab/);
    expect(Number.isNaN(enc.ratio_low)).toBe(true);
    expect(c.pass).toBe(true);
    expect(c.inconclusive).toBe(c.metrics.length);
    expect(comparisonMarkdown(c)).toMatch(/\*\*INCONCLUSIVE\*\*: 0 slower/);
  });

  it('2 threads against 1 thread, with the spread the store measured: threads is the change under test and -t 1 is slower', () => {
    const base = side('run 1', [row('/m/ggml-tiny.bin', 2, [100, 101, 99, 100.5, 99.5])]);
    const cand = side('run 2', [row('/m/ggml-tiny.bin', 1, [180, 182, 179, 181, 180])]);
    const c = compareRows(base, cand, { spread: spreadOf(0.04, 3) });
    expect(c.differs).toEqual([{ param: 'threads', base: '2', cand: '1' }]);
    const enc = c.metrics.find((m) => m.metric === 'encode_ms')!;
    expect(enc.verdict).toBe('slower');
    expect(enc.ratio).toBeCloseTo(180 / 100, 6);
    // interval: exp(ln 1.8 ± t(3) · 0.04 · √2)
    const half = 3.182446305284263 * 0.04 * Math.SQRT2;
    expect(enc.ratio_low).toBeCloseTo(1.8 * Math.exp(-half), 6);
    expect(enc.ratio_high).toBeCloseTo(1.8 * Math.exp(half), 6);
    expect(enc.noise_df).toBe(3);
    expect(c.pass).toBe(false);
    const md = comparisonMarkdown(c);
    expect(md).toMatch(/Differs: threads 2 → 1/);
    expect(md).toMatch(/\| encoder ggml-tiny\.bin cpu fa=on +\| encode_ms .*🔴 slower/);
    expect(md).toMatch(/\*\*FAIL\*\*: 1 slower/);
    const csv = comparisonCsv(c).trim().split('\n');
    expect(csv[0]).toBe('config,metric,higher_is_better,base_n,base_runs,base_median,cand_n,cand_runs,cand_median,ratio,ratio_low,ratio_high,change,threshold,noise,noise_df,verdict,reason,p,test,test_why');
    expect(csv.length).toBe(c.metrics.length + 1);
  });

  it('a +5% pair of identical configurations against a 4% between-run spread is inconclusive, not slower', () => {
    const c = compareRows(side('a', [row('/m/a.bin', 2, [100, 100.1, 99.9])]), side('b', [row('/m/a.bin', 2, [105, 105.1, 104.9])]), { spread: spreadOf(0.04, 3) });
    const enc = c.metrics.find((m) => m.metric === 'encode_ms')!;
    expect(enc.verdict).toBe('inconclusive');
    expect(enc.reason).toMatch(/crosses ±5\.0%/);
    expect(c.pass).toBe(true);
  });

  it("several runs per side: each run is one unit, the sides' own spread sets the interval", () => {
    const f = [0.97, 1.0, 1.03, 0.99, 1.01];
    const same = compareRows(side('tag a', runsOf(100, f), ids('a', 5)), side('tag b', runsOf(100, [...f].reverse().map((x) => x * 1.005)), ids('b', 5)));
    const m = same.metrics.find((x) => x.metric === 'encode_ms')!;
    expect(m.base.runs).toBe(5);
    expect(m.cand.runs).toBe(5);
    expect(m.noise_df).toBe(8);
    expect(m.noise_source).toBe('these runs');
    expect(m.verdict).toBe('no change');
    expect(same.pass).toBe(true);
    const slow = compareRows(side('tag a', runsOf(100, f), ids('a', 5)), side('tag b', runsOf(112, f), ids('b', 5)));
    expect(slow.metrics.find((x) => x.metric === 'encode_ms')!.verdict).toBe('slower');
    const fast = compareRows(side('tag a', runsOf(100, f), ids('a', 5)), side('tag b', runsOf(88, f), ids('b', 5)));
    expect(fast.metrics.find((x) => x.metric === 'encode_ms')!.verdict).toBe('faster');
    // the same rows with no run ids are one run per side: nothing can be said
    expect(compareRows(side('a', runsOf(100, f)), side('b', runsOf(112, f))).metrics.find((x) => x.metric === 'encode_ms')!.verdict).toBe('inconclusive');
  });

  it('a spread the store measured with more degrees of freedom wins over the sides\' own', () => {
    const c = compareRows(side('a', runsOf(100, [1, 1.01]), ids('a', 2)), side('b', runsOf(100, [1, 1.01]), ids('b', 2)), { spread: spreadOf(0.02, 10) });
    const m = c.metrics.find((x) => x.metric === 'encode_ms')!;
    expect(m.noise_df).toBe(10);
    expect(m.noise).toBeCloseTo(0.02, 9);
    expect(m.noise_source).toBe('test');
  });

  it('rates are better higher: less memcpy GB/s is slower', () => {
    const a = { ...memcpyRow(), memcpy_gbps: summarize([12, 12.1, 11.9, 12.05, 11.95]) };
    const b = { ...memcpyRow(), memcpy_gbps: summarize([9, 9.1, 8.9, 9.05, 8.95]) };
    const spread = new Map<string, RunSpread>([['memcpy_gbps', { ss: 0.03 ** 2 * 4, df: 4, source: 'test' }]]);
    const c = compareRows(side('a', [a]), side('b', [b]), { spread });
    const m = c.metrics.find((x) => x.metric === 'memcpy_gbps')!;
    expect(m.higher_is_better).toBe(true);
    expect(m.change).toBeCloseTo(12 / 9 - 1, 2);
    expect(m.verdict).toBe('slower');
    expect(compareRows(side('a', [b]), side('b', [a]), { spread }).metrics.find((x) => x.metric === 'memcpy_gbps')!.verdict).toBe('faster');
  });

  it('pools the samples of matching rows of one run; leaves failed rows out', () => {
    const c = compareRows(side('tag x', [row('/m/a.bin', 2, [100, 101, 99]), row('/m/a.bin', 2, [100, 102, 98])]), side('b', [row('/m/a.bin', 2, [100, 101, 99]), { ...row('/m/a.bin', 2, [1, 1, 1]), error: { code: 'X', message: 'failed' } }]));
    const m = c.metrics.find((x) => x.metric === 'encode_ms')!;
    expect(m.base.n).toBe(6);
    expect(m.base.runs).toBe(1);
    expect(m.cand.n).toBe(3);
    expect(m.cand.median).toBeCloseTo(100, 9);
  });
});

describe('betweenRunSpread', () => {
  it('pools ln run medians of repeated configurations per host and build; single runs add nothing', () => {
    const r = (run: string, host: string, med: number, threads = 2) => ({ run, host, row: row('/m/a.bin', threads, [med * 0.99, med, med * 1.01]) as unknown as { what: string } });
    const sp = betweenRunSpread([
      r('1', 'h1', 100), r('2', 'h1', 104), r('3', 'h1', 98), // one group of three runs
      r('4', 'h1', 50, 1), r('5', 'h1', 52, 1), // another configuration: two runs
      r('6', 'h2', 200), // another host, one run: nothing
      r('7', 'h1', 300, 4), // one run: nothing
    ]);
    const g1 = [100, 104, 98].map(Math.log);
    const g2 = [50, 52].map(Math.log);
    const ss = (xs: number[]) => xs.reduce((a, x) => a + (x - xs.reduce((p, y) => p + y, 0) / xs.length) ** 2, 0);
    const enc = sp.get('encode_ms')!;
    expect(enc.df).toBe(3);
    expect(enc.ss).toBeCloseTo(ss(g1) + ss(g2), 12);
  });
});

describe('compare: more', () => {
  it('two sides that share no metric: a usage error naming what each has', () => {
    const e = (() => {
      try {
        compareRows(side('run 1', [row('/m/a.bin', 2, [1, 2, 3])]), side('run 2', [memcpyRow()]));
      } catch (x) {
        return x as WhisperPerfError;
      }
      throw new Error('no error');
    })();
    expect(e.code).toBe('USAGE');
    expect(e.message).toMatch(/share no metric: base has .*encode_ms/);
  });

  it("passes on the rows' warnings about a busy machine as caveats", () => {
    const busy = 'the process used 45% CPU on 2 threads (expected about 200%): other work competed for the cores, so the timings are inflated';
    const c = compareRows(side('a', [row('/m/a.bin', 2, [100, 101, 99])]), side('b', [{ ...row('/m/a.bin', 2, [100, 101, 99]), warnings: [busy, 'synthetic weights: timings are real'] }]));
    expect(c.caveats).toEqual([`candidate: ${busy}`]);
    expect(comparisonMarkdown(c)).toContain('Caution');
    expect(compareRows(side('a', [row('/m/a.bin', 2, [100, 101, 99])]), side('b', [row('/m/a.bin', 2, [100, 101, 99])])).caveats).toEqual([]);
  });

  it('--threshold takes 5%, 5 and 0.05', () => {
    expect(parseThreshold('5%')).toBeCloseTo(0.05, 12);
    expect(parseThreshold('5')).toBeCloseTo(0.05, 12);
    expect(parseThreshold('0.05')).toBeCloseTo(0.05, 12);
    expect(parseThreshold('0%')).toBe(0);
    expect(() => parseThreshold('five')).toThrow(/--threshold/);
  });
});
