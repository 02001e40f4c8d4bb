/**
 * What a synthetic model holds besides its weights, and the generators its weights come from:
 * xorshift128 pseudo-random numbers, IEEE binary16 conversion, the real Slaney mel filter bank and
 * the made-up vocabulary with the real token count and byte total (see the top of synth.ts).
 */
import { WhisperPerfError, invalidArgument } from '../errors.js';
import { SYNTHETIC_MARKER_INDEX, SYNTHETIC_MARKER_TOKEN, WHISPER_N_FFT, WHISPER_SAMPLE_RATE } from './ggml-format.js';

/** Tokens stored in the file: GPT-2's 50256 byte-level BPE tokens, one more for multilingual. */
export const VOCAB_TOKENS_EN = 50256;
export const VOCAB_TOKENS_MULTILINGUAL = 50257;

/**
 * Total bytes of the token strings in the published files' vocabularies (English-only:
 * gpt2.tiktoken; multilingual: multilingual.tiktoken). Derived as published file size minus
 * everything else in the file (see PUBLISHED_MODEL_SIZES); the difference is the same for
 * every published model of a vocabulary family, which is what the synthetic vocabulary is
 * sized to.
 */
export const VOCAB_TOKEN_BYTES_EN = 320_831;
export const VOCAB_TOKEN_BYTES_MULTILINGUAL = 307_057;

const MIN_WORD = 4;
const MAX_WORD = 16;

// ---------------------------------------------------------------------------------------
// Pseudo-random numbers

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Four 32-bit xorshift128 state words from a seed and a stream number. */
export function seedState(seed: number, stream: number): Uint32Array {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 0x100000000) >>> 0;
  let h = fmix32(lo ^ fmix32(hi + 0x9e3779b9) ^ fmix32(Math.imul(stream + 1, 0x27d4eb2f)));
  const s = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    h = fmix32(h + 0x9e3779b9 * (i + 1));
    s[i] = h;
  }
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s;
}

/** xorshift128 (Marsaglia 2003): one 32-bit word per call. */
export class XorShift128 {
  private x: number;
  private y: number;
  private z: number;
  private w: number;
  constructor(s: Uint32Array) {
    this.x = s[0];
    this.y = s[1];
    this.z = s[2];
    this.w = s[3];
  }
  next(): number {
    const t = this.x ^ (this.x << 11);
    this.x = this.y;
    this.y = this.z;
    this.z = this.w;
    this.w = (this.w ^ (this.w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return this.w;
  }
  /** uniform in (0, 1) */
  uniform(): number {
    return (this.next() + 0.5) / 4294967296;
  }
}

// ---------------------------------------------------------------------------------------
// float16

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** IEEE binary16 bits of a number (round to nearest even, overflow to infinity). */
export function toHalfBits(value: number): number {
  f32buf[0] = value;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // underflows to zero
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (rem > mid || (rem === mid && half & 1) ? half + 1 : half);
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // may carry into the exponent: still correct
  if (half >= 0x7c00) return sign | 0x7c00;
  return sign | half;
}

/** The number a binary16 bit pattern encodes. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// ---------------------------------------------------------------------------------------
// Mel filter bank

const MEL_F_SP = 200 / 3; // Hz per mel below 1 kHz (Slaney)
const MEL_MIN_LOG_HZ = 1000;
const MEL_MIN_LOG_MEL = MEL_MIN_LOG_HZ / MEL_F_SP;
const MEL_LOG_STEP = Math.log(6.4) / 27;

function hzToMel(f: number): number {
  return f >= MEL_MIN_LOG_HZ ? MEL_MIN_LOG_MEL + Math.log(f / MEL_MIN_LOG_HZ) / MEL_LOG_STEP : f / MEL_F_SP;
}

function melToHz(m: number): number {
  return m >= MEL_MIN_LOG_MEL ? MEL_MIN_LOG_HZ * Math.exp(MEL_LOG_STEP * (m - MEL_MIN_LOG_MEL)) : m * MEL_F_SP;
}

/**
 * Slaney-style mel filter bank (triangles equally spaced on the Slaney mel scale, each
 * scaled to unit area in Hz), as Whisper uses: rows are mel bands, columns the
 * n_fft/2 + 1 STFT bins. Computed in double precision, returned as float32.
 */
export function melFilterBank(
  nMels: number,
  sampleRate = WHISPER_SAMPLE_RATE,
  nFft = WHISPER_N_FFT,
  fMin = 0,
  fMax = sampleRate / 2,
): Float32Array {
  if (!Number.isInteger(nMels) || nMels < 1) throw invalidArgument('nMels', nMels, 'a positive integer');
  const nBins = Math.floor(nFft / 2) + 1;
  const out = new Float32Array(nMels * nBins);
  const melLo = hzToMel(fMin);
  const melHi = hzToMel(fMax);
  const edges = new Float64Array(nMels + 2);
  for (let i = 0; i < nMels + 2; i++) edges[i] = melToHz(melLo + ((melHi - melLo) * i) / (nMels + 1));
  for (let m = 0; m < nMels; m++) {
    const lo = edges[m];
    const mid = edges[m + 1];
    const hi = edges[m + 2];
    const norm = 2 / (hi - lo);
    for (let k = 0; k < nBins; k++) {
      const f = (k * sampleRate) / nFft;
      const up = (f - lo) / (mid - lo);
      const down = (hi - f) / (hi - mid);
      const w = Math.max(0, Math.min(up, down));
      out[m * nBins + k] = w * norm;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Vocabulary

const vocabCache = new Map<boolean, Buffer>();

function vocabShape(multilingual: boolean): { count: number; tokenBytes: number } {
  return multilingual
    ? { count: VOCAB_TOKENS_MULTILINGUAL, tokenBytes: VOCAB_TOKEN_BYTES_MULTILINGUAL }
    : { count: VOCAB_TOKENS_EN, tokenBytes: VOCAB_TOKEN_BYTES_EN };
}

/** Bytes of the vocabulary section (count + length-prefixed tokens) of a synthetic model. */
export function syntheticVocabBytes(multilingual: boolean): number {
  const { count, tokenBytes } = vocabShape(multilingual);
  return 4 + 4 * count + tokenBytes;
}

/**
 * The synthetic vocabulary section, serialized (count, then length + bytes per token).
 * Independent of the weight seed.
 */
export function syntheticVocabulary(multilingual: boolean): Buffer {
  const cached = vocabCache.get(multilingual);
  if (cached) return cached;
  const { count, tokenBytes } = vocabShape(multilingual);
  const marker = Buffer.from(SYNTHETIC_MARKER_TOKEN, 'latin1');
  const nWords = count - SYNTHETIC_MARKER_INDEX - 1;
  const wordBytes = tokenBytes - SYNTHETIC_MARKER_INDEX - marker.length;
  if (wordBytes < nWords * MIN_WORD || wordBytes > nWords * MAX_WORD) {
    throw new WhisperPerfError('synthetic vocabulary cannot meet its size', 'INVALID_ARGUMENT');
  }
  const rng = new XorShift128(seedState(0x766f6361, multilingual ? 1 : 0));
  const lens = new Uint8Array(nWords);
  let sum = 0;
  for (let i = 0; i < nWords; i++) {
    lens[i] = MIN_WORD + (rng.next() % 6);
    sum += lens[i];
  }
  // nudge lengths round-robin until they add up exactly
  for (let i = 0, diff = wordBytes - sum; diff !== 0; i = (i + 1) % nWords) {
    if (diff > 0 && lens[i] < MAX_WORD) {
      lens[i]++;
      diff--;
    } else if (diff < 0 && lens[i] > MIN_WORD) {
      lens[i]--;
      diff++;
    }
  }

  const out = Buffer.alloc(syntheticVocabBytes(multilingual));
  let p = out.writeInt32LE(count, 0);
  for (let b = 0; b < 256; b++) {
    p = out.writeUInt32LE(1, p);
    out[p++] = b;
  }
  p = out.writeUInt32LE(marker.length, p);
  p += marker.copy(out, p);
  const seen = new Set<string>();
  for (let i = 0; i < nWords; i++) {
    const len = lens[i];
    let word: string;
    do {
      const space = (rng.next() & 1) === 1;
      let s = space ? ' ' : '';
      while (s.length < len) s += String.fromCharCode(97 + (rng.next() % 26));
      word = s;
    } while (seen.has(word));
    seen.add(word);
    p = out.writeUInt32LE(len, p);
    p += out.write(word, p, 'latin1');
  }
  if (p !== out.length) throw new Error(`synthetic vocabulary size mismatch: ${p} != ${out.length}`);
  vocabCache.set(multilingual, out);
  return out;
}
