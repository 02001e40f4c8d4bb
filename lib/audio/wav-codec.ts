/**
 * WAV samples: decoding the frames of a parsed file (every codec wav.ts accepts, channels averaged)
 * and encoding PCM or float WAV files.
 */
import { types } from 'node:util';

import { invalidArgument, WhisperPerfError } from '../errors.js';
import { fail, KSDATAFORMAT_TAIL, MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, parseWavHeader, type DecodedWav, type WavInfo } from './wav.js';

const MULAW = new Float32Array(256);
const ALAW = new Float32Array(256);
for (let i = 0; i < 256; i++) {
  // G.711, as in the ITU reference and sox
  const u = ~i & 0xff;
  let t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  MULAW[i] = (u & 0x80 ? 0x84 - t : t - 0x84) / 32768;
  const a = i ^ 0x55;
  const m = a & 0x0f;
  const seg = (a & 0x70) >> 4;
  const v = seg ? (2 * m + 33) << (seg + 2) : (2 * m + 1) << 3;
  ALAW[i] = (a & 0x80 ? v : -v) / 32768;
}

/**
 * Decodes `frames` whole frames from `bytes` (starting at a frame boundary) into `out` at
 * `outOffset`, averaging the channels. `firstFrame` only numbers frames in errors.
 * Throws AUDIO_INVALID on a NaN or infinite float sample.
 */
export function decodeFrames(bytes: Uint8Array, info: Pick<WavInfo, 'codec' | 'channels' | 'sampleRate'>, out: Float32Array, outOffset: number, frames: number, firstFrame = 0): void {
  const ch = info.channels;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const inv = 1 / ch;
  let p = 0;
  switch (info.codec) {
    case 'pcm_u8':
      for (let f = 0; f < frames; f++) {
        let s = 0;
        for (let c = 0; c < ch; c++) s += bytes[p++] - 128;
        out[outOffset + f] = (s * inv) / 128;
      }
      return;
    case 'pcm_s16le':
      for (let f = 0; f < frames; f++) {
        let s = 0;
        for (let c = 0; c < ch; c++, p += 2) s += dv.getInt16(p, true);
        out[outOffset + f] = (s * inv) / 32768;
      }
      return;
    case 'pcm_s24le':
      for (let f = 0; f < frames; f++) {
        let s = 0;
        for (let c = 0; c < ch; c++, p += 3) s += ((bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16)) << 8) >> 8;
        out[outOffset + f] = (s * inv) / 8388608;
      }
      return;
    case 'pcm_s32le':
      for (let f = 0; f < frames; f++) {
        let s = 0;
        for (let c = 0; c < ch; c++, p += 4) s += dv.getInt32(p, true);
        out[outOffset + f] = (s * inv) / 2147483648;
      }
      return;
    case 'pcm_f32le':
    case 'pcm_f64le': {
      const f64 = info.codec === 'pcm_f64le';
      for (let f = 0; f < frames; f++) {
        let s = 0;
        for (let c = 0; c < ch; c++) {
          const v = f64 ? dv.getFloat64(p, true) : dv.getFloat32(p, true);
          p += f64 ? 8 : 4;
          if (!Number.isFinite(v)) {
            const n = firstFrame + f;
            throw fail(`invalid sample: frame ${n} (channel ${c}, at ${(n / info.sampleRate).toFixed(3)} s) is ${v}`);
          }
          s += v;
        }
        out[outOffset + f] = s * inv;
      }
      return;
    }
    case 'pcm_alaw':
    case 'pcm_mulaw': {
      const table = info.codec === 'pcm_alaw' ? ALAW : MULAW;
      for (let f = 0; f < frames; f++) {
        let s = 0;
        for (let c = 0; c < ch; c++) s += table[bytes[p++]];
        out[outOffset + f] = s * inv;
      }
      return;
    }
  }
}

/** Decodes a whole WAV file held in memory to mono samples at its own rate. Throws AUDIO_INVALID. */
export function decodeWav(bytes: Uint8Array): DecodedWav {
  const info = parseWavHeader((o, n) => bytes.subarray(o, Math.min(bytes.length, o + n)), bytes.length);
  const samples = new Float32Array(info.frames);
  decodeFrames(bytes.subarray(info.dataOffset, info.dataOffset + info.dataBytes), info, samples, 0, info.frames);
  return { samples, info };
}

/** Options of {@link encodeWav}. */
export interface EncodeWavOptions {
  /** Sample format: 8 (unsigned), 16, 24, 32-bit integer, or 32/64-bit float with `float`. Default 16. */
  bits?: 8 | 16 | 24 | 32 | 64;
  /** IEEE float samples (32 or 64 bits). */
  float?: boolean;
  /** Write a WAVE_FORMAT_EXTENSIBLE header. */
  extensible?: boolean;
}

/**
 * Encodes samples as a WAV file: one Float32Array per channel (all the same length), or one
 * for mono. Integer formats clip to [-1, 1) and round to nearest.
 */
export function encodeWav(channels: Float32Array | Float32Array[], sampleRate: number, options: EncodeWavOptions = {}): Uint8Array {
  const chans = Array.isArray(channels) ? channels : [channels];
  const nch = chans.length;
  if (nch < 1 || nch > MAX_CHANNELS) throw new WhisperPerfError(`encodeWav: ${nch} channels (1..${MAX_CHANNELS})`, 'INVALID_ARGUMENT');
  for (let c = 0; c < nch; c++) {
    if (!types.isFloat32Array(chans[c])) throw invalidArgument(`channel ${c}`, chans[c], 'a Float32Array of samples');
  }
  if (!Number.isInteger(sampleRate) || sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    throw invalidArgument('sampleRate', sampleRate, `an integer from ${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE}`);
  }
  const bits = options.bits ?? (options.float ? 32 : 16);
  const float = !!options.float;
  if (float ? bits !== 32 && bits !== 64 : bits !== 8 && bits !== 16 && bits !== 24 && bits !== 32) {
    throw new WhisperPerfError(`encodeWav: unsupported ${float ? 'float' : 'integer'} sample size ${bits}`, 'INVALID_ARGUMENT');
  }
  if (nch < 1 || nch > MAX_CHANNELS) throw new WhisperPerfError(`encodeWav: ${nch} channels (1..${MAX_CHANNELS})`, 'INVALID_ARGUMENT');
  const frames = chans[0].length;
  if (chans.some((c) => c.length !== frames)) throw new WhisperPerfError('encodeWav: channels differ in length', 'INVALID_ARGUMENT');
  const bps = bits / 8;
  const blockAlign = nch * bps;
  const dataBytes = frames * blockAlign;
  const fmtSize = options.extensible ? 40 : float ? 18 : 16;
  const header = 12 + 8 + fmtSize + 8;
  const out = new Uint8Array(header + dataBytes + (dataBytes & 1));
  const dv = new DataView(out.buffer);
  const str = (o: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[o + i] = s.charCodeAt(i);
  };
  str(0, 'RIFF');
  dv.setUint32(4, out.length - 8, true);
  str(8, 'WAVE');
  str(12, 'fmt ');
  dv.setUint32(16, fmtSize, true);
  const tag = float ? 3 : 1;
  dv.setUint16(20, options.extensible ? 0xfffe : tag, true);
  dv.setUint16(22, nch, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * blockAlign, true);
  dv.setUint16(32, blockAlign, true);
  dv.setUint16(34, bits, true);
  if (fmtSize >= 18) dv.setUint16(36, fmtSize - 18, true);
  if (options.extensible) {
    dv.setUint16(38, bits, true);
    dv.setUint32(40, nch <= 2 ? (nch === 1 ? 0x4 : 0x3) : 0, true);
    dv.setUint32(44, tag, true);
    out.set(KSDATAFORMAT_TAIL, 48);
  }
  const d = 12 + 8 + fmtSize;
  str(d, 'data');
  dv.setUint32(d + 4, dataBytes, true);
  let p = d + 8;
  const q = (v: number, scale: number) => Math.max(-scale, Math.min(scale - 1, Math.round(v * scale)));
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < nch; c++, p += bps) {
      const v = chans[c][f];
      if (float) {
        if (bits === 32) dv.setFloat32(p, v, true);
        else dv.setFloat64(p, v, true);
      } else if (bits === 8) out[p] = q(v, 128) + 128;
      else if (bits === 16) dv.setInt16(p, q(v, 32768), true);
      else if (bits === 24) {
        const s = q(v, 8388608);
        out[p] = s & 0xff;
        out[p + 1] = (s >> 8) & 0xff;
        out[p + 2] = (s >> 16) & 0xff;
      } else dv.setInt32(p, q(v, 2147483648), true);
    }
  }
  return out;
}
