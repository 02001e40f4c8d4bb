/**
 * Synthetic whisper.cpp models: files with the exact architecture, tensor layout and size of
 * a published ggml model, filled with deterministic pseudo-random weights. whisper.cpp loads
 * and runs them like the real thing (the transcripts are gibberish), so load/encode/decode
 * timings and memory match a real model without downloading one.
 *
 * Contents:
 *  - hparams of the chosen architecture, ftype 1 (f16) or 0 (f32);
 *  - a real Slaney-normalised mel filter bank (the librosa `filters.mel` defaults that
 *    Whisper's mel_filters.npz was made with: 16 kHz, n_fft 400, fmin 0, fmax 8 kHz);
 *  - a made-up vocabulary with the real token count (50256 for English-only models,
 *    50257 for multilingual ones; whisper.cpp adds the special tokens up to n_vocab):
 *    tokens 0..255 are the single bytes 0x00..0xff (so any text can be tokenized, and the
 *    " " token that whisper.cpp's blank suppression looks up with map::at exists), token 256
 *    is SYNTHETIC_MARKER_TOKEN, the rest are distinct lowercase words (half with a leading
 *    space) whose lengths add up to the byte total of the real vocabulary, so a synthetic
 *    f16 file is exactly as large as the published one;
 *  - weights: layer-norm gains 1 and layer-norm biases 0 (activations stay finite), every
 *    other tensor drawn from N(0, 0.02^2) via a 65536-entry table indexed by xorshift128.
 *
 * Same (architecture, ftype, seed) => byte-identical file: the vocabulary does not depend
 * on the seed, and each tensor's generator is seeded from (seed, tensor index).
 */
import { createHash } from 'node:crypto';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { dirname } from 'node:path';
import { WhisperPerfError, invalidArgument } from '../errors.js';
import { FTYPES, HPARAM_FIELDS, resolveArch, isMultilingual, N_VOCAB_EN, type ModelHParams } from './arch.js';
import {
  GGML_FILE_MAGIC,
  GGML_TYPES,
  MEL_FILTER_BINS,
  SYNTHETIC_MARKER_INDEX,
  SYNTHETIC_MARKER_TOKEN,
  WHISPER_N_FFT,
  WHISPER_SAMPLE_RATE,
  expectedTensors,
  ggmlFileSize,
  type ExpectedTensor,
} from './ggml.js';

export type SyntheticFtype = 'f16' | 'f32';

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

export interface SyntheticModelOptions {
  /** model name from MODEL_NAMES ('tiny.en', 'large-v3', ...) or explicit header values */
  arch: string | ModelHParams;
  /** weight format; default 'f16' (the published files' format) */
  ftype?: SyntheticFtype;
  /** non-negative safe integer; default 0 */
  seed?: number;
  /** called after each chunk reaches the file */
  onProgress?: (bytesWritten: number, total: number) => void;
  signal?: AbortSignal;
  /** bytes per write, default 4 MiB */
  chunkBytes?: number;
}

export interface SyntheticModelResult {
  path: string;
  bytes: number;
  /** hex SHA-256 of the file */
  sha256: string;
}

// ---------------------------------------------------------------------------------------
// Pseudo-random numbers

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Four 32-bit xorshift128 state words from a seed and a stream number. */
function seedState(seed: number, stream: number): Uint32Array {
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
class XorShift128 {
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

// ---------------------------------------------------------------------------------------
// Architecture / size

function synthHParams(arch: string | ModelHParams, ftype: SyntheticFtype): ModelHParams {
  if (ftype !== 'f16' && ftype !== 'f32') throw invalidArgument('ftype', ftype, "'f16', 'f32'");
  let h: ModelHParams;
  if (typeof arch === 'string') {
    const a = resolveArch(arch);
    if (a.ftype !== FTYPES.f16) {
      throw invalidArgument('arch', arch, 'an unquantized model name (synthetic models are f16 or f32)');
    }
    h = { ...a };
  } else if (arch && typeof arch === 'object') {
    h = {} as ModelHParams;
    for (const f of HPARAM_FIELDS) {
      const v = arch[f];
      if (f !== 'ftype' && (!Number.isInteger(v) || v < 1)) throw invalidArgument(`arch.${f}`, v, 'a positive integer');
      h[f] = v;
    }
    if (h.n_vocab < N_VOCAB_EN) {
      // whisper.cpp hard-codes the special token ids (eot = 50256 ... beg = 50363 + languages)
      throw invalidArgument('arch.n_vocab', h.n_vocab, `>= ${N_VOCAB_EN}`);
    }
    if (h.n_text_state !== h.n_audio_state) {
      throw invalidArgument('arch.n_text_state', h.n_text_state, `equal to n_audio_state (${h.n_audio_state})`);
    }
  } else {
    throw invalidArgument('arch', arch, 'a model name or header values');
  }
  h.ftype = FTYPES[ftype];
  return h;
}

/**
 * Exact size in bytes of the file writeSyntheticModel() produces, computed without
 * writing. For the published f16 models this equals the published file size.
 */
export function syntheticModelSize(arch: string | ModelHParams, ftype: SyntheticFtype = 'f16'): number {
  const h = synthHParams(arch, ftype);
  return ggmlFileSize(h, syntheticVocabBytes(isMultilingual(h.n_vocab)));
}

// ---------------------------------------------------------------------------------------
// Writing

const TABLE_BITS = 16;
const TABLE_SIZE = 1 << TABLE_BITS;
const WEIGHT_STD = 0.02;
const SCRATCH_ELEMENTS = 1 << 20; // even, so per-tensor streams do not depend on blocking

let normalTables: { f32: Float32Array; f16: Uint16Array } | undefined;

/** 65536 samples of N(0, WEIGHT_STD^2) (Box-Muller from a fixed stream), as f32 and f16 bits. */
function tables(): { f32: Float32Array; f16: Uint16Array } {
  if (normalTables) return normalTables;
  const rng = new XorShift128(seedState(0x6e6f726d, 0));
  const f32 = new Float32Array(TABLE_SIZE);
  const f16 = new Uint16Array(TABLE_SIZE);
  for (let i = 0; i < TABLE_SIZE; i += 2) {
    const r = Math.sqrt(-2 * Math.log(rng.uniform()));
    const th = 2 * Math.PI * rng.uniform();
    f32[i] = WEIGHT_STD * r * Math.cos(th);
    f32[i + 1] = WEIGHT_STD * r * Math.sin(th);
  }
  for (let i = 0; i < TABLE_SIZE; i++) f16[i] = toHalfBits(f32[i]);
  normalTables = { f32, f16 };
  return normalTables;
}

type Fill = 'normal' | 'ones' | 'zeros';

const LAYER_NORM = /(?:_ln|\.ln_post|^decoder\.ln)\.(weight|bias)$/;

function fillKind(name: string): Fill {
  const m = LAYER_NORM.exec(name);
  if (!m) return 'normal';
  return m[1] === 'weight' ? 'ones' : 'zeros';
}

/** Double-buffered chunked file writer that hashes what it writes. */
class ChunkSink {
  private cur: Buffer;
  private spare: Buffer;
  private used = 0;
  private pending: Promise<unknown> | undefined;
  private filePos = 0;
  readonly hash = createHash('sha256');

  constructor(
    private readonly fh: FileHandle,
    chunkBytes: number,
    private readonly total: number,
    private readonly onProgress?: (bytesWritten: number, total: number) => void,
    private readonly signal?: AbortSignal,
  ) {
    this.cur = Buffer.allocUnsafe(chunkBytes);
    this.spare = Buffer.allocUnsafe(chunkBytes);
  }

  get written(): number {
    return this.filePos;
  }

  async write(src: Uint8Array): Promise<void> {
    let off = 0;
    while (off < src.length) {
      const n = Math.min(src.length - off, this.cur.length - this.used);
      this.cur.set(src.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
      if (this.used === this.cur.length) await this.flush();
    }
  }

  async flush(): Promise<void> {
    if (this.pending) await this.pending;
    this.pending = undefined;
    if (this.signal?.aborted) throw new WhisperPerfError('synthetic model writing aborted', 'ABORTED');
    if (this.used === 0) return;
    const buf = this.cur;
    const len = this.used;
    this.hash.update(buf.subarray(0, len));
    const at = this.filePos;
    this.filePos += len;
    this.cur = this.spare;
    this.spare = buf;
    this.used = 0;
    this.pending = writeFully(this.fh, buf, len, at).then(() => this.onProgress?.(at + len, this.total));
  }

  async finish(): Promise<void> {
    await this.flush();
    if (this.pending) await this.pending;
    this.pending = undefined;
  }

  /** Waits for an in-flight write (used before closing on error). */
  async settle(): Promise<void> {
    try {
      await this.pending;
    } catch {
      /* reported elsewhere */
    }
  }
}

async function writeFully(fh: FileHandle, buf: Buffer, len: number, position: number): Promise<void> {
  let done = 0;
  while (done < len) {
    const { bytesWritten } = await fh.write(buf, done, len - done, position + done);
    done += bytesWritten;
  }
}

function tensorHeader(t: ExpectedTensor): Buffer {
  const name = Buffer.from(t.name, 'utf8');
  const b = Buffer.alloc(12 + 4 * t.shape.length + name.length);
  b.writeInt32LE(t.shape.length, 0);
  b.writeInt32LE(name.length, 4);
  b.writeInt32LE(GGML_TYPES[t.type].id, 8);
  t.shape.forEach((d, i) => b.writeInt32LE(d, 12 + 4 * i));
  name.copy(b, 12 + 4 * t.shape.length);
  return b;
}

async function writeTensorData(
  sink: ChunkSink,
  t: ExpectedTensor,
  index: number,
  seed: number,
  scratch: { u16: Uint16Array; f32: Float32Array },
): Promise<void> {
  const kind = fillKind(t.name);
  const half = t.type === 'f16';
  const { f32: tf32, f16: tf16 } = tables();
  const s = seedState(seed, index);
  let x = s[0];
  let y = s[1];
  let z = s[2];
  let w = s[3];
  let left = t.elements;
  while (left > 0) {
    const n = Math.min(left, SCRATCH_ELEMENTS);
    if (half) {
      const out = scratch.u16;
      if (kind === 'normal') {
        for (let i = 0; i < n; i += 2) {
          const tt = x ^ (x << 11);
          x = y;
          y = z;
          z = w;
          w = (w ^ (w >>> 19) ^ (tt ^ (tt >>> 8))) >>> 0;
          out[i] = tf16[w & 0xffff];
          out[i + 1] = tf16[w >>> 16];
        }
      } else {
        out.fill(kind === 'ones' ? 0x3c00 : 0, 0, n);
      }
      await sink.write(new Uint8Array(out.buffer, 0, n * 2));
    } else {
      const out = scratch.f32;
      if (kind === 'normal') {
        for (let i = 0; i < n; i += 2) {
          const tt = x ^ (x << 11);
          x = y;
          y = z;
          z = w;
          w = (w ^ (w >>> 19) ^ (tt ^ (tt >>> 8))) >>> 0;
          out[i] = tf32[w & 0xffff];
          out[i + 1] = tf32[w >>> 16];
        }
      } else {
        out.fill(kind === 'ones' ? 1 : 0, 0, n);
      }
      await sink.write(new Uint8Array(out.buffer, 0, n * 4));
    }
    left -= n;
  }
}

/**
 * Writes a synthetic whisper.cpp ggml model (see the module comment) to `path`, streaming
 * it in chunks through a temporary file in the same directory that is renamed into place
 * at the end. Memory use is a few chunk buffers regardless of model size.
 * @throws WhisperPerfError INVALID_ARGUMENT (bad options), ABORTED (signal)
 */
export async function writeSyntheticModel(path: string, options: SyntheticModelOptions): Promise<SyntheticModelResult> {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument('path', path, 'a file path');
  if (!options || typeof options !== 'object') throw invalidArgument('options', options, '{ arch, ftype?, seed? }');
  const ftype = options.ftype ?? 'f16';
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw invalidArgument('seed', seed, 'a non-negative safe integer');
  const chunkBytes = options.chunkBytes ?? 4 << 20;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 4096) throw invalidArgument('chunkBytes', chunkBytes, 'an integer >= 4096');
  if (endianness() !== 'LE') {
    throw new WhisperPerfError('synthetic models can only be written on little-endian hosts', 'INVALID_ARGUMENT');
  }
  const h = synthHParams(options.arch, ftype);
  const multilingual = isMultilingual(h.n_vocab);
  const tensors = expectedTensors(h);
  const vocab = syntheticVocabulary(multilingual);
  const total = ggmlFileSize(h, vocab.length);
  if (options.signal?.aborted) throw new WhisperPerfError('synthetic model writing aborted', 'ABORTED');

  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let fh: FileHandle;
  try {
    await mkdir(dirname(path), { recursive: true });
    fh = await open(tmp, 'w');
  } catch (e) {
    throw new WhisperPerfError(`cannot write synthetic model ${path}: ${(e as Error).message}`, 'INVALID_ARGUMENT', {
      cause: e,
    });
  }
  const sink = new ChunkSink(fh, chunkBytes, total, options.onProgress, options.signal);
  let ok = false;
  try {
    const head = Buffer.alloc(4 + 4 * HPARAM_FIELDS.length + 8);
    let p = head.writeUInt32LE(GGML_FILE_MAGIC, 0);
    for (const f of HPARAM_FIELDS) p = head.writeInt32LE(h[f], p);
    p = head.writeInt32LE(h.n_mels, p);
    head.writeInt32LE(MEL_FILTER_BINS, p);
    await sink.write(head);
    const mel = melFilterBank(h.n_mels);
    await sink.write(new Uint8Array(mel.buffer, mel.byteOffset, mel.byteLength));
    await sink.write(vocab);

    const scratchBuf = new ArrayBuffer(SCRATCH_ELEMENTS * 4);
    const scratch = { u16: new Uint16Array(scratchBuf), f32: new Float32Array(scratchBuf) };
    for (let i = 0; i < tensors.length; i++) {
      await sink.write(tensorHeader(tensors[i]));
      await writeTensorData(sink, tensors[i], i, seed, scratch);
    }
    await sink.finish();
    if (sink.written !== total) throw new Error(`wrote ${sink.written} bytes, expected ${total}`);
    await fh.close();
    await rename(tmp, path);
    ok = true;
  } catch (e) {
    await sink.settle();
    if (e instanceof WhisperPerfError) throw e;
    throw new WhisperPerfError(`cannot write synthetic model ${path}: ${(e as Error).message}`, 'INVALID_ARGUMENT', {
      cause: e,
    });
  } finally {
    if (!ok) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
    }
  }
  return { path, bytes: total, sha256: sink.hash.digest('hex') };
}
