import { describe, expect, it } from 'vitest';

import { summarize } from '../../lib/bench/stats.js';
import type { BenchRow } from '../../lib/bench/types.js';
import { WhisperPerfError } from '../../lib/errors.js';
import { compareRows, comparisonCsv, comparisonMarkdown, type CompareSide } from '../../lib/report/compare.js';
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

const side = (label: string, rows: BenchRow[]): CompareSide => ({ spec: label, label, rows: rows as unknown as CompareSide['rows'] });

describe('compare', () => {
  it('2 threads against 1 thread: threads is the change under test and the 1-thread encode is slower', () => {
    const base = side('run 1', [row('/m/ggml-tiny.bin', 2, [100, 101, 99, 100.5, 99.5])]);
    const cand = side('run 2', [row('/m/ggml-tiny.bin', 1, [180, 182, 179, 181, 180])]);
    const c = compareRows(base, cand);
    expect(c.differs).toEqual([{ param: 'threads', base: '2', cand: '1' }]);
    const enc = c.metrics.find((m) => m.metric === 'encode_ms')!;
    expect(enc.verdict).toBe('slower');
    expect(enc.ratio).toBeCloseTo(180 / 100, 6);
    expect(enc.ratio_low).toBeGreaterThan(1);
    expect(enc.test).toBe('welch');
    expect(enc.p!).toBeLessThan(1e-6);
    expect(c.pass).toBe(false);
    // the other stats of the fixture rows are the same on both sides: no change
    expect(c.metrics.filter((m) => m.metric !== 'encode_ms').every((m) => m.verdict === 'no change')).toBe(true);
    const md = comparisonMarkdown(c);
    expect(md).toMatch(/Differs: threads 2 → 1/);
    expect(md).toMatch(/\| encoder ggml-tiny\.bin cpu fa=on +\| encode_ms .*🔴 slower/);
    expect(md).toMatch(/\*\*FAIL\*\*: 1 slower/);
    const csv = comparisonCsv(c).trim().split('\n');
    expect(csv[0]).toBe('config,metric,higher_is_better,base_n,base_median,cand_n,cand_median,ratio,ratio_low,ratio_high,change,p,test,threshold,noise,verdict,reason,test_why');
    expect(csv.length).toBe(c.metrics.length + 1);
  });

  it('the same configuration with small noise: no change, the gate passes', () => {
    const c = compareRows(side('a', [row('/m/a.bin', 2, [100, 101, 99])]), side('b', [row('/m/a.bin', 2, [100.5, 99.8, 100.2])]));
    expect(c.differs).toEqual([]);
    expect(c.metrics.find((m) => m.metric === 'encode_ms')!.verdict).toBe('no change');
    expect(c.pass).toBe(true);
  });

  it('a significant change smaller than the threshold is no change; a larger one is', () => {
    const base = [100, 100.1, 99.9, 100, 100.05];
    const two = compareRows(side('a', [row('/m/a.bin', 2, base)]), side('b', [row('/m/a.bin', 2, base.map((x) => x * 1.02))]));
    const m = two.metrics.find((x) => x.metric === 'encode_ms')!;
    expect(m.p!).toBeLessThan(0.05);
    expect(m.verdict).toBe('no change');
    expect(m.reason).toMatch(/within threshold/);
    const ten = compareRows(side('a', [row('/m/a.bin', 2, base)]), side('b', [row('/m/a.bin', 2, base.map((x) => x * 0.9))]));
    expect(ten.metrics.find((x) => x.metric === 'encode_ms')!.verdict).toBe('faster');
    expect(ten.pass).toBe(true);
    // --threshold 1% calls the 2% change
    expect(compareRows(side('a', [row('/m/a.bin', 2, base)]), side('b', [row('/m/a.bin', 2, base.map((x) => x * 1.02))]), { threshold: 0.01 }).pass).toBe(false);
  });

  it('the threshold rises to the noise of a metric: a 12% change with 15% CV is no change', () => {
    const noisy = [70, 85, 100, 115, 130, 72, 88, 102, 118, 128];
    const shifted = noisy.map((x) => x * 1.12 + 0);
    const c = compareRows(side('a', [row('/m/a.bin', 2, noisy)]), side('b', [row('/m/a.bin', 2, shifted)]), { alpha: 0.5 });
    const m = c.metrics.find((x) => x.metric === 'encode_ms')!;
    expect(m.noise).toBeGreaterThan(0.15);
    expect(m.threshold).toBe(m.noise);
    expect(m.verdict).toBe('no change');
    expect(m.reason).toMatch(/within noise/);
  });

  it('rates are better higher: less memcpy GB/s is slower', () => {
    const a = { ...memcpyRow(), memcpy_gbps: summarize([12, 12.1, 11.9, 12.05, 11.95]) };
    const b = { ...memcpyRow(), memcpy_gbps: summarize([9, 9.1, 8.9, 9.05, 8.95]) };
    const c = compareRows(side('a', [a]), side('b', [b]));
    const m = c.metrics.find((x) => x.metric === 'memcpy_gbps')!;
    expect(m.higher_is_better).toBe(true);
    expect(m.change).toBeCloseTo(12 / 9 - 1, 2);
    expect(m.verdict).toBe('slower');
  });

  it('pools the samples of matching rows from several runs; leaves failed rows out', () => {
    const c = compareRows(side('tag x', [row('/m/a.bin', 2, [100, 101, 99]), row('/m/a.bin', 2, [100, 102, 98])]), side('b', [row('/m/a.bin', 2, [100, 101, 99]), { ...row('/m/a.bin', 2, [1, 1, 1]), error: { code: 'X', message: 'failed' } }]));
    expect(c.metrics.find((m) => m.metric === 'encode_ms')!.base.n).toBe(6);
    expect(c.metrics.find((m) => m.metric === 'encode_ms')!.cand.n).toBe(3);
  });

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
