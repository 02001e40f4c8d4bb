import { describe, expect, it } from 'vitest';

import { derivePeakFraction, deriveScaling } from '../../lib/workloads/engine.js';
import { summarize } from '../../lib/measure/stats.js';
import type { BenchRow } from '../../lib/measure/types.js';
import { encoderFlops } from '../../lib/measure/flops.js';
import { encoderRow, mulmatRow } from '../fixtures/rows.js';

const enc = (threads: number, ms: number, model = 'a.bin'): BenchRow => ({ ...encoderRow(), model, threads, encode_ms: summarize([ms, ms, ms]) });

describe('derived figures', () => {
  it('thread scaling: speed-up and efficiency against the smallest thread count, per model', () => {
    const rows = [enc(1, 1000), enc(2, 520), enc(4, 300), enc(8, 290), enc(1, 50, 'b.bin')];
    deriveScaling(rows);
    expect(rows[0].speedup).toBe(1);
    expect(rows[1].speedup).toBeCloseTo(1000 / 520, 2);
    expect(rows[2].efficiency).toBeCloseTo(1000 / 300 / 4, 2);
    // 8 threads gain < 10% over 4: the knee is 4
    expect(rows.slice(0, 4).every((r) => r.knee_threads === 4)).toBe(true);
    // a model measured at one thread count has no scaling
    expect(rows[4].speedup).toBeUndefined();
  });

  it('failed rows take no part in scaling', () => {
    const rows = [enc(1, 1000), { ...enc(2, 500), error: { code: 'NATIVE_FAILURE', message: 'x' } }];
    deriveScaling(rows);
    expect(rows[0].speedup).toBeUndefined();
  });

  it('the encoder share of the mul_mat peak of its weight type at the same thread count', () => {
    const e = { ...enc(2, 1000), ftype: 'f16', encoder_gflops: 40 };
    const m1 = { ...mulmatRow(), threads: 2, mulmat_type: 'F16', mulmat_gflops: summarize([80, 80]) };
    const m2 = { ...mulmatRow(), threads: 2, mulmat_type: 'F16', mulmat_gflops: summarize([100, 100]) };
    const other = { ...mulmatRow(), threads: 4, mulmat_type: 'F16', mulmat_gflops: summarize([400]) };
    const rows = [e, m1, m2, other];
    derivePeakFraction(rows);
    expect(e.encoder_peak_fraction).toBeCloseTo(0.4, 3);
  });

  it('encoder FLOPs grow with the model: tiny < base < small and match a hand count for tiny', () => {
    const tiny = encoderFlops({ nMels: 80, nAudioCtx: 1500, nAudioState: 384, nAudioLayer: 4 });
    const base = encoderFlops({ nMels: 80, nAudioCtx: 1500, nAudioState: 512, nAudioLayer: 6 });
    // conv1 2·3000·384·80·3 + conv2 2·1500·384²·3 + 4·(24·1500·384² + 4·1500²·384)
    const hand = 2 * 3000 * 384 * 80 * 3 + 2 * 1500 * 384 * 384 * 3 + 4 * (24 * 1500 * 384 * 384 + 4 * 1500 * 1500 * 384);
    expect(tiny).toBe(hand);
    expect(base).toBeGreaterThan(tiny);
  });
});
