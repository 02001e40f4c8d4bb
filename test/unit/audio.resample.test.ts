// The band-limited resampler: pass band flat, everything above the output's Nyquist frequency
// removed before it can alias, no delay, exact lengths; and the 44.1 kHz stereo 24-bit file of
// issue 7 through loadAudio.
import { describe, expect, it } from 'vitest';

import { loadAudio } from '../../lib/audio/load.js';
import { resample, resampledLength } from '../../lib/audio/resample.js';
import { encodeWav } from '../../lib/audio/wav-codec.js';
import { dB, mix, powerSpectrum, sine, toneAmplitude } from '../fixtures/wav.js';

/** Amplitude of a sinusoid with the RMS of x. */
const rmsAmp = (x: Float32Array) => Math.sqrt((2 * x.reduce((s, v) => s + v * v, 0)) / x.length);

const alias = (f: number, fs: number) => {
  const m = f % fs;
  return Math.min(m, fs - m);
};

describe('resample', () => {
  it('44.1 kHz stereo 24-bit file: true duration, 1 kHz passes within 0.5 dB, 12 kHz removed by more than 60 dB', async () => {
    const rate = 44100;
    const n = 2 * rate; // 2 s
    const tone1k = sine(1000, rate, n, 0.4);
    const tone12k = sine(12000, rate, n, 0.4);
    const left = mix(tone1k, tone12k);
    const right = mix(tone1k, tone12k);
    const wav = encodeWav([left, right], rate, { bits: 24 });
    const a = await loadAudio(wav);
    expect(a.source).toMatchObject({ format: 'wav', codec: 'pcm_s24le', sampleRate: 44100, channels: 2, bitsPerSample: 24, frames: n, decoder: 'wav' });
    expect(a.durationS).toBe(2);
    expect(a.sampleRate).toBe(16000);
    expect(a.pcm.length).toBe(32000);
    // the 12 kHz tone would alias to 4 kHz; it must be gone, the 1 kHz tone intact
    const pass = toneAmplitude(a.pcm, 16000, 1000);
    const leak = toneAmplitude(a.pcm, 16000, alias(12000, 16000));
    expect(Math.abs(dB(pass / 0.4))).toBeLessThan(0.5);
    expect(dB(leak / 0.4)).toBeLessThan(-60);
    // and the whole spectrum: outside 1 kHz ± 50 Hz, less than −60 dB of the tone's energy
    const { power, hzPerBin } = powerSpectrum(a.pcm, 16000);
    let inTone = 0;
    let rest = 0;
    power.forEach((p, i) => (Math.abs(i * hzPerBin - 1000) <= 50 ? (inTone += p) : (rest += p)));
    expect(10 * Math.log10(rest / inTone)).toBeLessThan(-60);
  });

  for (const from of [44100, 48000, 96000, 22050, 32000, 44099]) {
    it(`${from} Hz → 16 kHz: pass band within 0.5 dB, every tone above 8 kHz attenuated by more than 60 dB`, () => {
      const n = Math.round(from * 0.5);
      for (const f of [100, 1000, 3000, 6000, 7000]) {
        if (f >= from / 2) continue;
        const y = resample(sine(f, from, n, 0.5), from, 16000);
        const got = toneAmplitude(y.subarray(500, y.length - 500), 16000, f);
        expect(Math.abs(dB(got / 0.5)), `${f} Hz`).toBeLessThan(0.5);
      }
      for (const f of [8000, 8500, 9000, 12000, 15000, 20000, 23000, 40000]) {
        if (f >= from / 2) continue;
        const y = resample(sine(f, from, n, 0.5), from, 16000);
        const a = alias(f, 16000);
        // at exactly the output's Nyquist frequency the alias sits on the edge of the band: measure energy
        const level = a === 8000 || a === 0 ? rmsAmp(y.subarray(500, y.length - 500)) : toneAmplitude(y.subarray(500, y.length - 500), 16000, a);
        expect(dB(level / 0.5), `${f} Hz (alias at ${a} Hz)`).toBeLessThan(-60);
      }
    });
  }

  it('8 kHz → 16 kHz: the 1 kHz tone passes, its image at 7 kHz does not appear', () => {
    const y = resample(sine(1000, 8000, 8000, 0.5), 8000, 16000);
    expect(y.length).toBe(16000);
    expect(Math.abs(dB(toneAmplitude(y, 16000, 1000) / 0.5))).toBeLessThan(0.5);
    expect(dB(toneAmplitude(y, 16000, 7000) / 0.5)).toBeLessThan(-60);
  });

  it('adds no delay: a 440 Hz sine resampled from 44.1 kHz lands on the 16 kHz grid in phase', () => {
    const x = sine(440, 44100, 44100, 0.5);
    const y = resample(x, 44100, 16000);
    const want = sine(440, 16000, 16000, 0.5);
    let maxErr = 0;
    for (let i = 1000; i < 15000; i++) maxErr = Math.max(maxErr, Math.abs(y[i] - want[i]));
    expect(maxErr).toBeLessThan(1e-4);
  });

  it('keeps DC at unit gain and keeps exact lengths', () => {
    const y = resample(new Float32Array(48000).fill(0.25), 48000, 16000);
    expect(y.length).toBe(16000);
    for (let i = 1000; i < 15000; i++) expect(Math.abs(y[i] - 0.25)).toBeLessThan(1e-6);
    expect(resampledLength(44100, 44100, 16000)).toBe(16000);
    expect(resample(new Float32Array(1), 44100, 16000).length).toBe(1);
    expect(resample(new Float32Array(0), 44100, 16000).length).toBe(0);
    expect(resample(new Float32Array(441), 44100, 16000).length).toBe(160);
    expect(resample(new Float32Array(442), 44100, 16000).length).toBe(161);
  });

  it('returns a copy at the same rate and refuses bad rates', () => {
    const x = Float32Array.from([1, 2, 3]);
    const y = resample(x, 16000, 16000);
    expect(Array.from(y)).toEqual([1, 2, 3]);
    expect(y).not.toBe(x);
    expect(() => resample(x, 0, 16000)).toThrow(/invalid fromRate/);
    expect(() => resample(x, 44100.5, 16000)).toThrow(/invalid fromRate/);
    expect(() => resample(x, 44100, 16000, { attenuationDb: 10 })).toThrow(/invalid attenuationDb/);
  });
});
