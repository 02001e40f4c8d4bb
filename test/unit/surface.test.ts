// Parts of the public surface that had no test of their own: pairedRatio, resampleTo16k,
// `--version`, `models list`. Expected values come from the definitions (worked by hand here),
// package.json and the test data, not from the code under test.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { resample, resampleTo16k } from '../../lib/audio/resample.js';
import { pairedRatio } from '../../lib/measure/ratios.js';
import { runMain } from '../fixtures/cli.js';
import { PUBLISHED_SIZES } from '../fixtures/published-models.js';
import { dB, sine, toneAmplitude } from '../fixtures/wav.js';

describe('pairedRatio', () => {
  it('every pair in the same ratio: that ratio, and an interval of width 0', () => {
    const b = [10, 20, 30, 40, 50];
    const r = pairedRatio(b.map((x) => x * 1.1), b);
    expect(r.ratio).toBeCloseTo(1.1, 12);
    expect(r.low).toBeCloseTo(1.1, 12);
    expect(r.high).toBeCloseTo(1.1, 12);
    expect(r).toMatchObject({ n: 5, method: 'paired-bootstrap' });
  });

  it('a 20% trimmed mean of log ratios: one wild pair in ten does not move it', () => {
    // nine pairs at 1.05 and one at 10: the trim drops the two lowest and two highest logs,
    // so the six kept are all ln 1.05
    const b = Array.from({ length: 10 }, (_, i) => 100 + i);
    const a = b.map((x, i) => (i === 3 ? x * 10 : x * 1.05));
    expect(pairedRatio(a, b).ratio).toBeCloseTo(1.05, 12);
  });

  it('noisy pairs: the interval holds the point, narrows with more pairs, and is the same for the same seed', () => {
    let s = 7;
    const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.1;
    const b = Array.from({ length: 40 }, (_, i) => 100 + i);
    const a = b.map((x) => x * 1.02 * (1 + rand()));
    const all = pairedRatio(a, b);
    const few = pairedRatio(a.slice(0, 8), b.slice(0, 8));
    expect(all.low).toBeLessThanOrEqual(all.ratio);
    expect(all.ratio).toBeLessThanOrEqual(all.high);
    expect(all.low).toBeLessThan(1.02);
    expect(all.high).toBeGreaterThan(1.02);
    expect(all.high - all.low).toBeLessThan(few.high - few.low);
    expect(pairedRatio(a, b)).toEqual(all);
  });

  it('refuses lists of different lengths, empty lists and non-positive values with INVALID_ARGUMENT', () => {
    for (const [a, b] of [[[1, 2], [1]], [[], []], [[1, 0], [1, 1]], [[1, NaN], [1, 1]], [[-1], [1]]] as [number[], number[]][]) {
      expect(() => pairedRatio(a, b), JSON.stringify([a, b])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});

describe('resampleTo16k', () => {
  it('48 kHz to 16 kHz: a third of the samples, tones at 1 kHz and 7 kHz (inside the default 0.9 × 8 kHz passband) kept within 0.1 dB', () => {
    for (const f of [1000, 7000]) {
      const x = sine(f, 48000, 48000, 0.5);
      const y = resampleTo16k(x, 48000);
      expect(y.length).toBe(16000);
      expect(Math.abs(dB(toneAmplitude(y.subarray(1000, 15000), 16000, f) / 0.5))).toBeLessThan(0.1);
      expect(y).toEqual(resample(x, 48000, 16000));
    }
  });

  it('a tone above 8 kHz at 44.1 kHz is removed, not folded back (at least 60 dB down at its alias)', () => {
    const x = sine(10000, 44100, 44100, 0.5);
    const y = resampleTo16k(x, 44100);
    expect(y.length).toBe(16000);
    // 10 kHz would alias to 16 − 10 = 6 kHz
    expect(dB(toneAmplitude(y.subarray(1000, 15000), 16000, 6000) / 0.5)).toBeLessThan(-60);
  });

  it('16 kHz input comes back unchanged', () => {
    const x = sine(440, 16000, 1600, 0.3);
    expect(resampleTo16k(x, 16000)).toEqual(x);
  });
});

describe('whisper-perf --version and models list', () => {
  it('--version and -v print package.json\'s version and nothing else', async () => {
    const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;
    for (const flag of ['--version', '-v']) {
      const r = await runMain([flag]);
      expect(r).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it('models list -o json: every known model with its published size, and the models in the cache', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'wp-models-'));
    writeFileSync(join(cache, 'not-a-model.txt'), 'x');
    const prev = process.env.WHISPER_PERF_CACHE;
    process.env.WHISPER_PERF_CACHE = cache;
    try {
      const r = await runMain(['models', 'list', '-o', 'json']);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as { known: { name: string; published_bytes: number | null }[]; cached: unknown[] };
      for (const [name, size] of Object.entries(PUBLISHED_SIZES)) {
        const k = j.known.find((x) => x.name === name);
        if (k) expect(k.published_bytes, name).toBe(size);
      }
      expect(j.known.map((k) => k.name)).toEqual(expect.arrayContaining(['tiny', 'tiny.en', 'base', 'small', 'medium', 'large-v3', 'large-v3-turbo']));
      expect(j.cached).toEqual([]);
    } finally {
      if (prev === undefined) delete process.env.WHISPER_PERF_CACHE;
      else process.env.WHISPER_PERF_CACHE = prev;
    }
  });
});
