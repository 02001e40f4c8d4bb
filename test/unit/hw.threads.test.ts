// The thread sweep's logic over synthetic scaling curves: doubling, the early stop, the refinement
// around the best count, and the three answers with their reasons.
import { describe, expect, it } from 'vitest';

import { pickThreads, sweepThreads } from '../../lib/workloads/threads.js';

/** Amdahl's law with a serial fraction, plus an oversubscription penalty above `cores`. */
const amdahl = (serial: number, cores: number, base = 1000) => (t: number) => {
  const eff = Math.min(t, cores);
  return base * (serial + (1 - serial) / eff) * (t > cores ? 1 + 0.1 * (t - cores) : 1);
};

async function sweep(curve: (t: number) => number, max: number, opts: { minGain?: number; maxRefine?: number } = {}) {
  const calls: number[] = [];
  const r = await sweepThreads(async (t) => {
    calls.push(t);
    return curve(t);
  }, max, opts);
  return { ...r, calls };
}

describe('sweepThreads', () => {
  it('doubles up to the core count when every doubling helps, ending on the core count itself', async () => {
    const r = await sweep(amdahl(0.02, 64), 12);
    expect(r.calls.slice(0, 5)).toEqual([1, 2, 4, 8, 12]);
    expect(r.stoppedEarly).toBeUndefined();
    // refines between 8 and 12 around the best (12)
    expect(r.calls).toContain(10);
    expect(r.order.find((o) => o.threads === 10)?.phase).toBe('refine');
    expect(new Set(r.calls).size).toBe(r.calls.length);
  });

  it('stops doubling once a doubling gains less than minGain, and says why', async () => {
    // 4 physical cores: 4 → 8 oversubscribes and gets slower
    const r = await sweep(amdahl(0.05, 4), 32);
    expect(r.calls.slice(0, 4)).toEqual([1, 2, 4, 8]);
    expect(r.calls).not.toContain(16);
    expect(r.calls).not.toContain(32);
    expect(r.stoppedEarly).toMatch(/4 → 8 threads/);
    // refinement between 4 and 8 looks at 6 then 5
    expect(r.calls).toContain(6);
    expect(r.calls).toContain(5);
  });

  it('measures 1 and 2 only on a 2-core machine (nothing to refine)', async () => {
    const r = await sweep(amdahl(0.1, 2), 2);
    expect(r.calls).toEqual([1, 2]);
  });

  it('measures just 1 when max is 1', async () => {
    const r = await sweep(amdahl(0.1, 2), 1);
    expect(r.calls).toEqual([1]);
  });

  it('respects maxRefine', async () => {
    const r = await sweep(amdahl(0.0, 1000), 100, { maxRefine: 1 });
    expect(r.order.filter((o) => o.phase === 'refine')).toHaveLength(1);
  });
});

describe('pickThreads', () => {
  it('names the fastest, the most efficient and the knee with reasons', () => {
    // 1: 1000, 2: 520, 4: 300, 8: 280
    const p = pickThreads(
      [
        { threads: 1, median: 1000 },
        { threads: 2, median: 520 },
        { threads: 4, median: 300 },
        { threads: 8, median: 280 },
      ],
      8,
    );
    expect(p.fastest.threads).toBe(8);
    expect(p.fastest.reason).toMatch(/lowest median time, 280\.0 ms/);
    expect(p.fastest.reason).toMatch(/next: 4 threads, 7\.1% slower/);
    // efficiencies: 1.00, 0.96, 0.83, 0.45 → 2 is within 5% of the best (1 thread): the larger is taken
    expect(p.most_efficient.threads).toBe(2);
    expect(p.most_efficient.reason).toMatch(/96%/);
    expect(p.most_efficient.reason).toMatch(/4 jobs of 2 threads/);
    // 4 → 8 gains 7% (< 10%): the knee is 4
    expect(p.knee.threads).toBe(4);
    expect(p.knee.reason).toMatch(/beyond 4 threads/);
  });

  it('says when the series is still scaling at its end', () => {
    const p = pickThreads(
      [
        { threads: 1, median: 1000 },
        { threads: 2, median: 500 },
      ],
      2,
    );
    expect(p.knee.threads).toBe(2);
    expect(p.knee.reason).toMatch(/still scaling/);
    expect(p.most_efficient.threads).toBe(2);
  });

  it('flags a near tie for the fastest as noise', () => {
    const p = pickThreads(
      [
        { threads: 1, median: 1000 },
        { threads: 2, median: 600 },
        { threads: 3, median: 595 },
      ],
      3,
    );
    expect(p.fastest.threads).toBe(3);
    expect(p.fastest.reason).toMatch(/within run-to-run noise/);
  });
});
