/**
 * Memory: what a model and a whisper state allocate (estimated from a model's header before
 * anything is allocated, or taken from the sizes whisper.cpp reports), the memory available, and
 * the guard that refuses an allocation that would not fit (MEMORY_LIMIT). Below the model: the
 * model, the audio loader and the capacity workload all use it.
 */
import { freemem, totalmem } from 'node:os';

import { invalidArgument, WhisperPerfError } from './errors.js';
import type { BufferSizes } from './logs.js';

/** The decoding parameters that decide how many decoders whisper_full may run at once. */
export interface DecoderParams {
  beamSearch: boolean;
  beamSize: number;
  bestOf: number;
  temperature: number;
  temperatureInc: number;
}

/**
 * The most decoders whisper_full runs at once with these parameters: the beam size at temperature
 * 0 with beam search, best-of at any temperature above 0 (the first one, or a fallback), else 1.
 */
export function maxDecoders(p: DecoderParams): number {
  const hot = p.temperature > 0 || (p.temperatureInc > 0 && p.temperature + p.temperatureInc < 1 + 1e-6);
  let n = 1;
  if (p.beamSearch && p.temperature === 0) n = p.beamSize;
  if (hot) n = Math.max(n, p.bestOf);
  return Math.max(1, n);
}

/** What one more whisper state allocates, bytes, from the sizes whisper.cpp reported for the model. */
export interface StateMemory {
  /** KV self-attention cache, scaled for the decoders (whisper.cpp reallocates it at decoders + 2 when more than one runs) */
  kvSelf: number;
  /** KV cross-attention cache and padding */
  kvCross: number;
  kvPad: number;
  /** compute buffers: conv + encode + cross + decode */
  compute: number;
  total: number;
  /** false when whisper.cpp's log did not report the sizes (then nothing can be checked) */
  known: boolean;
}

export function stateMemory(buffers: Partial<BufferSizes>, decoders = 1): StateMemory {
  const factor = decoders > 1 ? decoders + 2 : 1;
  const kvSelf = (buffers.kvSelf ?? 0) * factor;
  const kvCross = buffers.kvCross ?? 0;
  const kvPad = buffers.kvPad ?? 0;
  const compute = (buffers.computeConv ?? 0) + (buffers.computeEncode ?? 0) + (buffers.computeCross ?? 0) + (buffers.computeDecode ?? 0);
  const known = buffers.kvSelf !== undefined && buffers.kvCross !== undefined && (buffers.computeEncode !== undefined || buffers.computeDecode !== undefined);
  return { kvSelf, kvCross, kvPad, compute, total: kvSelf + kvCross + kvPad + compute, known };
}

/** Memory available to new streams, bytes, and where the figure comes from. */
export interface AvailableMemory {
  bytes: number;
  source: 'memory-limit' | 'freemem' | 'cgroup';
}

/**
 * The memory new streams may use: `limit` when given; else os.freemem() (Linux: MemAvailable),
 * lowered to the cgroup limit less this process's RSS when a cgroup limit below the machine's
 * memory is set (process.constrainedMemory()).
 */
export function availableMemory(limit?: number): AvailableMemory {
  if (limit !== undefined) return { bytes: limit, source: 'memory-limit' };
  const free = freemem();
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  if (constrained && constrained > 0 && constrained < totalmem()) {
    const left = Math.max(0, constrained - process.memoryUsage.rss());
    if (left < free) return { bytes: left, source: 'cgroup' };
  }
  return { bytes: free, source: 'freemem' };
}

/** Bytes as megabytes with one decimal, for messages. */
export const mb = (b: number) => Math.round(b / 1e5) / 10;

const pad = (n: number, to: number) => Math.ceil(n / to) * to;

/** What loadModel allocates for a model, bytes: an estimate from the file's header and tensor sizes. */
export interface ModelMemoryEstimate {
  /** tensor data as stored (whisper.cpp allocates the weights at their stored size) */
  weights: number;
  /** one default state (whisper_init_state): KV caches, cross and pad, and compute buffers */
  state: StateMemory;
  total: number;
}

/**
 * Estimates what whisper_init allocates, from the hyper-parameters alone (no allocation): the
 * weights; the KV self cache (f16 K and V per text layer, text context padded to 256); the KV
 * cross cache (per text layer, audio context padded to 256) and its pad buffer (one layer); the
 * compute buffers: conv (~3 f32 tensors of 2·n_audio_ctx × n_audio_state), encode (~8 of
 * n_audio_ctx × n_audio_state), cross (~2), decode (the logits, n_vocab × n_text_ctx f32, and
 * ~8 of n_text_ctx × n_text_state). On tiny.en it is within a few percent of the sizes
 * whisper.cpp reports (test/native/memory.test.ts says how close).
 */
export function estimateModelMemory(h: { n_vocab: number; n_audio_ctx: number; n_audio_state: number; n_text_ctx: number; n_text_state: number; n_text_layer: number }, weights: number): ModelMemoryEstimate {
  const textCtx = pad(h.n_text_ctx, 256);
  const audioCtx = pad(h.n_audio_ctx, 256);
  const kvSelf = h.n_text_layer * textCtx * h.n_text_state * 2 * 2;
  const kvCross = h.n_text_layer * audioCtx * h.n_text_state * 2 * 2;
  const kvPad = audioCtx * h.n_text_state * 2 * 2;
  const f32 = 4;
  const computeConv = 3 * 2 * h.n_audio_ctx * h.n_audio_state * f32;
  const computeEncode = 8 * h.n_audio_ctx * h.n_audio_state * f32;
  const computeCross = 2 * h.n_audio_ctx * h.n_audio_state * f32;
  const computeDecode = h.n_vocab * h.n_text_ctx * f32 + 8 * h.n_text_ctx * h.n_text_state * f32;
  const state = stateMemory({ kvSelf, kvCross, kvPad, computeConv, computeEncode, computeCross, computeDecode });
  return { weights, state, total: weights + state.total };
}

/** The memory limit in force: `limit` (bytes or a size string), else WHISPER_PERF_MEMORY_LIMIT, else none. */
export function memoryLimitOf(limit: unknown, name = 'memoryLimit'): number | undefined {
  if (limit === undefined) {
    const env = process.env.WHISPER_PERF_MEMORY_LIMIT;
    if (env === undefined || env === '') return undefined;
    try {
      return parseMemorySize(env);
    } catch {
      throw invalidArgument('WHISPER_PERF_MEMORY_LIMIT', env, 'bytes, or a number with K, M, G or T (binary), e.g. 512M, 4G');
    }
  }
  if (typeof limit !== 'number' && typeof limit !== 'string') throw invalidArgument(name, limit, 'bytes, or a size such as 512M or 4G');
  try {
    return parseMemorySize(limit);
  } catch {
    throw invalidArgument(name, limit, 'bytes (a positive integer), or a size such as 512M or 4G');
  }
}

/**
 * Refuses an allocation of `needed` bytes above the limit (when one is set) or above the memory
 * available (MemAvailable, lowered to the cgroup limit): MEMORY_LIMIT, before anything is allocated.
 */
export function checkMemory(what: string, needed: number, limit?: number): void {
  const available = availableMemory(limit);
  if (needed > available.bytes) {
    const from = available.source === 'memory-limit' ? 'the memory limit (memoryLimit / WHISPER_PERF_MEMORY_LIMIT)' : available.source === 'cgroup' ? 'the cgroup limit less this process' : 'available memory (MemAvailable)';
    throw new WhisperPerfError(`${what} needs about ${mb(needed)} MB but ${from} is ${mb(available.bytes)} MB`, 'MEMORY_LIMIT');
  }
}

/** Parses a memory size: bytes, or a number with K, M, G or T (binary: 1G = 1024³ bytes; KB/KiB alike). */
export function parseMemorySize(text: string | number): number {
  if (typeof text === 'number' && Number.isSafeInteger(text) && text > 0) return text;
  if (typeof text !== 'string' || text.length > 64) throw invalidArgument('memory size', text, 'bytes, or a number with K, M, G or T (binary), e.g. 512M, 4G');
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt])?(?:i?b)?\s*$/i.exec(text);
  if (!m) throw invalidArgument('memory size', text, 'bytes, or a number with K, M, G or T (binary), e.g. 512M, 4G');
  const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] ?? '').toLowerCase() as 'k'] ?? 1;
  const v = Math.round(Number(m[1]) * mult);
  if (!(v > 0) || !Number.isSafeInteger(v)) throw invalidArgument('memory size', text, 'a size above 0');
  return v;
}
