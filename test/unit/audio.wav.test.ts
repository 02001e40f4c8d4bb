// WAV decoding of every format variant, checked against the samples written and, where
// ffmpeg is installed, against ffmpeg's own decoding of the same bytes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { decodeWav, encodeWav, type EncodeWavOptions } from '../../lib/audio/wav-codec.js';
import { chunk, fmtBody, riff, sine } from '../fixtures/wav.js';

const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'wp-wav-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Mono decode by ffmpeg at the file's own rate, as float32. */
function ffmpegDecode(bytes: Uint8Array): Float32Array {
  const p = join(tmp, `f${Math.random().toString(36).slice(2)}.wav`);
  writeFileSync(p, bytes);
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', p, '-f', 'f32le', 'pipe:1'], { maxBuffer: 1 << 26 });
  expect(r.status, r.stderr?.toString()).toBe(0);
  return new Float32Array(r.stdout.buffer.slice(r.stdout.byteOffset, r.stdout.byteOffset + r.stdout.length));
}

const variants: { name: string; opts: EncodeWavOptions; tol: number; codec: string }[] = [
  { name: '8-bit unsigned', opts: { bits: 8 }, tol: 1 / 128 + 1e-6, codec: 'pcm_u8' },
  { name: '16-bit', opts: { bits: 16 }, tol: 1 / 32768 + 1e-7, codec: 'pcm_s16le' },
  { name: '24-bit', opts: { bits: 24 }, tol: 1 / 8388608 + 1e-7, codec: 'pcm_s24le' },
  { name: '32-bit integer', opts: { bits: 32 }, tol: 1e-7, codec: 'pcm_s32le' },
  { name: '32-bit float', opts: { bits: 32, float: true }, tol: 0, codec: 'pcm_f32le' },
  { name: '64-bit float', opts: { bits: 64, float: true }, tol: 0, codec: 'pcm_f64le' },
];

describe('decodeWav: sample formats × header kinds × channel counts', () => {
  for (const v of variants) {
    for (const extensible of [false, true]) {
      for (const channels of [1, 2, 6]) {
        it(`${v.name}, ${extensible ? 'WAVE_FORMAT_EXTENSIBLE' : 'plain'}, ${channels} channel(s)`, () => {
          const rate = 22050;
          const n = 2205;
          // each channel a different signal; the decoder must return their average
          const chans = Array.from({ length: channels }, (_, c) => sine(300 + 100 * c, rate, n, 0.9 / (c + 1), c));
          const bytes = encodeWav(chans, rate, { ...v.opts, extensible });
          const { samples, info } = decodeWav(bytes);
          expect(info.codec).toBe(v.codec);
          expect(info.extensible).toBe(extensible);
          expect(info.channels).toBe(channels);
          expect(info.sampleRate).toBe(rate);
          expect(info.frames).toBe(n);
          expect(info.durationS).toBeCloseTo(n / rate, 12);
          expect(info.warnings).toEqual([]);
          expect(samples.length).toBe(n);
          let maxErr = 0;
          for (let i = 0; i < n; i++) {
            let want = 0;
            for (const ch of chans) want += ch[i];
            want /= channels;
            maxErr = Math.max(maxErr, Math.abs(samples[i] - want));
          }
          expect(maxErr).toBeLessThanOrEqual(v.tol + 1e-7);
        });
      }
    }
  }

  it.skipIf(!hasFfmpeg)('matches ffmpeg sample for sample on every mono variant', () => {
    const rate = 8000;
    const x = sine(440, rate, 800, 0.99);
    for (const v of variants) {
      for (const extensible of [false, true]) {
        const bytes = encodeWav(x, rate, { ...v.opts, extensible });
        const ours = decodeWav(bytes).samples;
        const theirs = ffmpegDecode(bytes);
        expect(ours.length, v.name).toBe(theirs.length);
        let maxErr = 0;
        for (let i = 0; i < ours.length; i++) maxErr = Math.max(maxErr, Math.abs(ours[i] - theirs[i]));
        expect(maxErr, `${v.name} extensible=${extensible}`).toBeLessThan(1e-6);
      }
    }
  });
});

describe('decodeWav: G.711 A-law and mu-law', () => {
  const all = Array.from({ length: 256 }, (_, i) => i);
  it('decodes the mu-law code points as G.711 defines them', () => {
    const bytes = riff([chunk('fmt ', fmtBody({ tag: 7, bits: 8, rate: 8000 })), chunk('data', [0xff, 0x7f, 0x80, 0x00, 0xfe])]);
    const { samples, info } = decodeWav(bytes);
    expect(info.codec).toBe('pcm_mulaw');
    expect(Array.from(samples).map((s) => Math.round(s * 32768))).toEqual([0, 0, 32124, -32124, 8]);
  });
  it('decodes the A-law code points as G.711 defines them', () => {
    const bytes = riff([chunk('fmt ', fmtBody({ tag: 6, bits: 8, rate: 8000 })), chunk('data', [0xd5, 0x55, 0xaa, 0x2a])]);
    const { samples, info } = decodeWav(bytes);
    expect(info.codec).toBe('pcm_alaw');
    expect(Array.from(samples).map((s) => Math.round(s * 32768))).toEqual([8, -8, 32256, -32256]);
  });
  it.skipIf(!hasFfmpeg)('agrees with ffmpeg on all 256 code points of both laws', () => {
    for (const tag of [6, 7]) {
      const bytes = riff([chunk('fmt ', fmtBody({ tag, bits: 8, rate: 8000 })), chunk('data', all)]);
      const ours = decodeWav(bytes).samples;
      const theirs = ffmpegDecode(bytes);
      expect(Array.from(ours)).toEqual(Array.from(theirs));
    }
  });
});

describe('encodeWav', () => {
  it('round-trips 16-bit and clips out-of-range samples', () => {
    const x = Float32Array.from([0, 0.5, -0.5, 1.5, -1.5]);
    const { samples } = decodeWav(encodeWav(x, 16000));
    expect(Array.from(samples).map((s) => Math.round(s * 32768))).toEqual([0, 16384, -16384, 32767, -32768]);
  });
  it('refuses an unsupported sample size', () => {
    expect(() => encodeWav(new Float32Array(4), 16000, { bits: 64 })).toThrow(/unsupported integer sample size 64/);
  });
});
