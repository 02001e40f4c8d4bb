import { describe, expect, it } from 'vitest';
import { WhisperPerfError } from '../../lib/errors.js';
import { HIGH_CV, median, outlierIndices, scaling, summarize, tQuantile975, warningsFor } from '../../lib/measure/stats.js';
import { ratio } from '../../lib/measure/ratios.js';

describe('summarize', () => {
  it('computes the hand-checked figures of [1,2,3,4,5]', () => {
    const s = summarize([1, 2, 3, 4, 5]);
    expect(s.n).toBe(5);
    expect(s.mean).toBe(3);
    expect(s.median).toBe(3);
    expect(s.sd).toBeCloseTo(1.5811388, 6);
    expect(s.min).toBe(1);
    expect(s.max).toBe(5);
    // t(0.975, 4) = 2.776445; 2.776445 * 1.5811388 / sqrt(5) = 1.963243
    expect(s.ci95).toBeCloseTo(1.963243, 5);
    expect(s.cv).toBeCloseTo(1.5811388 / 3, 6);
    expect(s.outliers).toEqual([]);
    expect(s.samples).toEqual([1, 2, 3, 4, 5]);
  });

  it('takes the median of an even count as the mean of the middle two', () => {
    expect(summarize([4, 1, 3, 2]).median).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('gives sd, ci95 and cv 0 for one sample', () => {
    const s = summarize([7]);
    expect(s).toMatchObject({ n: 1, mean: 7, median: 7, sd: 0, ci95: 0, cv: 0, min: 7, max: 7, outliers: [] });
  });

  it('gives cv 0 when the mean is 0', () => {
    expect(summarize([0, 0, 0]).cv).toBe(0);
  });

  it('copies the samples', () => {
    const xs = [3, 1, 2];
    const s = summarize(xs);
    xs[0] = 100;
    expect(s.samples).toEqual([3, 1, 2]);
    expect(s.samples).not.toBe(xs);
  });

  it('rejects no samples and non-finite samples', () => {
    expect(() => summarize([])).toThrow(WhisperPerfError);
    expect(() => summarize([1, NaN])).toThrow(/sample/);
    expect(() => summarize([1, Infinity])).toThrow(WhisperPerfError);
    try {
      summarize([]);
    } catch (e) {
      expect((e as WhisperPerfError).code).toBe('INVALID_ARGUMENT');
    }
  });

  it('flags the outlier of [10,10.1,9.9,10,10.2,30]', () => {
    // median 10.05, MAD 0.1; z(30) = 0.6745 * 19.95 / 0.1 = 134.6; z(10.2) = 1.01
    const s = summarize([10, 10.1, 9.9, 10, 10.2, 30]);
    expect(s.median).toBeCloseTo(10.05, 10);
    expect(s.outliers).toEqual([5]);
  });
});

describe('tQuantile975', () => {
  it('matches tables for small and large df', () => {
    expect(tQuantile975(1)).toBeCloseTo(12.7062, 4);
    expect(tQuantile975(4)).toBeCloseTo(2.7764, 4);
    expect(tQuantile975(30)).toBeCloseTo(2.0423, 4);
    expect(tQuantile975(40)).toBeCloseTo(2.0211, 3);
    expect(tQuantile975(60)).toBeCloseTo(2.0003, 3);
    expect(tQuantile975(120)).toBeCloseTo(1.9799, 3);
    expect(tQuantile975(1e6)).toBeCloseTo(1.96, 3);
    expect(() => tQuantile975(0)).toThrow(WhisperPerfError);
  });

  it('decreases with df', () => {
    for (let df = 1; df < 200; df++) expect(tQuantile975(df + 1)).toBeLessThan(tQuantile975(df));
  });
});

describe('outlierIndices', () => {
  it('has none with fewer than 3 samples or all-equal samples', () => {
    expect(outlierIndices([1, 100])).toEqual([]);
    expect(outlierIndices([5, 5, 5, 5])).toEqual([]);
  });

  it('falls back to the mean absolute deviation when MAD is 0', () => {
    // median 10, MAD 0, MeanAD 20/6; z(30) = 20 / (1.253314 * 3.333) = 4.79 > 3.5
    expect(outlierIndices([10, 10, 10, 10, 10, 30])).toEqual([5]);
    // median 10, MAD 0, MeanAD 0.25; z(11) = 1 / (1.253314 * 0.25) = 3.19 <= 3.5
    expect(outlierIndices([10, 10, 10, 11])).toEqual([]);
    // three or four samples are too few to call one an outlier: [9.35, 9.33, 9.57] is ordinary spread
    expect(outlierIndices([9.35, 9.33, 9.57])).toEqual([]);
    expect(outlierIndices([9.35, 9.33, 9.34, 9.57, 9.36])).toEqual([3]);
  });

  it('flags both low and high outliers', () => {
    expect(outlierIndices([1, 10, 10.1, 9.9, 10.2, 9.8, 50])).toEqual([0, 6]);
  });
});

describe('warningsFor', () => {
  it('says nothing about a clean series', () => {
    expect(warningsFor(summarize([10, 10.1, 9.9, 10, 10.05]), 'encode_ms')).toEqual([]);
  });

  it('warns about too few samples', () => {
    const w = warningsFor(summarize([10, 10.1]), 'encode_ms');
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/^encode_ms: only 2 samples/);
    expect(warningsFor(summarize([10]), 'x')[0]).toMatch(/only 1 sample;/);
  });

  it('warns about a high CV', () => {
    const s = summarize([1, 2, 3, 4, 5]);
    expect(s.cv).toBeGreaterThan(HIGH_CV);
    const w = warningsFor(s, 'decode_ms');
    expect(w.some((x) => /decode_ms: high variation, CV 52\.7%/.test(x))).toBe(true);
  });

  it('warns about outliers, naming how many and why they may occur', () => {
    const w = warningsFor(summarize([10, 10.1, 9.9, 10, 10.2, 30]), 'encode_ms');
    const o = w.find((x) => x.includes('outlier'));
    expect(o).toMatch(/1 statistical outlier among 6 samples/);
    expect(o).toMatch(/other processes/);
    expect(o).toMatch(/caches/);
  });

  it('warns when the first run is much slower than the rest', () => {
    const w = warningsFor(summarize([20, 10, 10.1, 9.9, 10]), 'encode_ms');
    expect(w.some((x) => /first run \(20\.00\) was 2\.0× slower/.test(x))).toBe(true);
  });

  it('reads "slower" as a lower figure for rates', () => {
    const slowRate = summarize([6, 12, 12.1, 11.9, 12]);
    expect(warningsFor(slowRate, 'memcpy').some((x) => /first run \(6\.00\) was 2\.0× slower/.test(x))).toBe(true);
    expect(warningsFor(slowRate, 'encode_ms').some((x) => x.includes('first run'))).toBe(false);
    expect(warningsFor(slowRate, 'x', { higherIsBetter: true }).some((x) => x.includes('first run'))).toBe(true);
    const fastRate = summarize([24, 12, 12.1, 11.9, 12]);
    expect(warningsFor(fastRate, 'mulmat Q8_0 256').some((x) => x.includes('first run'))).toBe(false);
  });

  it('warns when every sample is 0', () => {
    expect(warningsFor(summarize([0, 0, 0]), 'prompt_ms')).toEqual([
      "prompt_ms: every sample is 0 (below the timer's resolution, or not measured)",
    ]);
  });
});

describe('ratio', () => {
  const a = summarize([20, 20.2, 19.8, 20.1, 19.9]);
  const b = summarize([10, 10.1, 9.9, 10.05, 9.95]);

  it('is the ratio of medians with a reproducible bootstrap interval', () => {
    const r = ratio(a, b);
    expect(r.ratio).toBe(2);
    expect(r.method).toBe('bootstrap');
    expect(r.low).toBeLessThanOrEqual(2);
    expect(r.high).toBeGreaterThanOrEqual(2);
    expect(r.low).toBeGreaterThan(1.9);
    expect(r.high).toBeLessThan(2.1);
    expect(r.ci95).toBeCloseTo((r.high - r.low) / 2, 12);
    expect(r.significant).toBe(true);
    expect(ratio(a, b)).toEqual(r);
    expect(ratio(a, b, { seed: 7 }).ratio).toBe(2);
  });

  it('is not significant for equal series', () => {
    const r = ratio(b, b);
    expect(r.ratio).toBe(1);
    expect(r.significant).toBe(false);
  });

  it('propagates errors by hand-checked numbers', () => {
    // rel se of each = 0.2357; half = 0.5 * sqrt(2) * 0.2357 * 2.776445 = 0.462741
    const r = ratio(summarize([1, 2, 3, 4, 5]), summarize([2, 4, 6, 8, 10]), { method: 'propagation' });
    expect(r.ratio).toBe(0.5);
    expect(r.method).toBe('propagation');
    expect(r.ci95).toBeCloseTo(0.462741, 5);
  });

  it('falls back to a zero-width interval with one sample', () => {
    const r = ratio(summarize([4]), summarize([2]));
    expect(r).toMatchObject({ ratio: 2, low: 2, high: 2, ci95: 0, method: 'propagation', significant: true });
  });

  it('rejects a zero denominator', () => {
    expect(() => ratio(a, summarize([0, 0, 0]))).toThrow(WhisperPerfError);
  });
});

describe('scaling', () => {
  it('computes speedup, efficiency, knee and best', () => {
    const s = scaling([
      { threads: 8, median: 26 },
      { threads: 1, median: 100 },
      { threads: 4, median: 28 },
      { threads: 2, median: 52 },
      { threads: 16, median: 27 },
    ]);
    expect(s.base_threads).toBe(1);
    expect(s.points.map((p) => p.threads)).toEqual([1, 2, 4, 8, 16]);
    const sp = s.points.map((p) => p.speedup);
    expect(sp[0]).toBe(1);
    expect(sp[1]).toBeCloseTo(100 / 52, 10);
    expect(sp[2]).toBeCloseTo(100 / 28, 10);
    expect(s.points[2].efficiency).toBeCloseTo(100 / 28 / 4, 10);
    expect(s.points[4].efficiency).toBeCloseTo(100 / 27 / 16, 10);
    // from 4 threads (3.571x) no later count reaches 3.571 * 1.1 = 3.93x (8: 3.846x, 16: 3.704x)
    expect(s.knee).toBe(4);
    expect(s.saturated).toBe(true);
    expect(s.best).toBe(8);
  });

  it('uses the smallest thread count as the base and reports a series still scaling', () => {
    const s = scaling([
      { threads: 2, median: 50 },
      { threads: 4, median: 25 },
      { threads: 8, median: 13 },
    ]);
    expect(s.base_threads).toBe(2);
    expect(s.points[1].efficiency).toBeCloseTo(1, 10);
    expect(s.points[2].efficiency).toBeCloseTo(50 / 13 / 4, 10);
    expect(s.knee).toBe(8);
    expect(s.saturated).toBe(false);
    expect(s.best).toBe(8);
  });

  it('is not fooled by one step that gains little', () => {
    // 2 -> 3 gains under 10%, but 4 threads is still much faster: the knee is 4
    const s = scaling([
      { threads: 1, median: 100 },
      { threads: 2, median: 50 },
      { threads: 3, median: 48 },
      { threads: 4, median: 30 },
      { threads: 5, median: 29 },
    ]);
    expect(s.knee).toBe(4);
  });

  it('rejects bad input', () => {
    expect(() => scaling([])).toThrow(WhisperPerfError);
    expect(() => scaling([{ threads: 1, median: 1 }, { threads: 1, median: 2 }])).toThrow(/each thread count once/);
    expect(() => scaling([{ threads: 0, median: 1 }])).toThrow(WhisperPerfError);
    expect(() => scaling([{ threads: 1, median: 0 }])).toThrow(WhisperPerfError);
  });
});
