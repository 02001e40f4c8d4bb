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
import { GGML_FILE_MAGIC, GGML_TYPES, MEL_FILTER_BINS, expectedTensors, ggmlFileSize, type ExpectedTensor } from './ggml-format.js';
import { XorShift128, melFilterBank, seedState, syntheticVocabBytes, syntheticVocabulary, toHalfBits } from './synth-content.js';

export type SyntheticFtype = 'f16' | 'f32';

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
      // the f32 twin of the loop above, on purpose: one loop per array type keeps V8's element
      // access monomorphic in the loop that writes every weight of a model
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
