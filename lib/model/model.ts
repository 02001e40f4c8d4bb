/**
 * Model: a loaded whisper.cpp context. Every operation runs off the JavaScript thread,
 * one at a time per model (a queue), and resolves to its own measured milliseconds.
 */
import { existsSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { types } from 'node:util';

import { invalidArgument, WhisperPerfError } from '../errors.js';
import { joinLogLines, parseBufferSizes, parseTimings, WhisperTimings } from '../logs.js';
import { validateModelFile } from '../models/ggml.js';
import { type BindingModule, loadBinding, type NativeBenchOptions, type NativeBenchResult, NativeModel, NativeModelInfo } from '../native.js';
import { checkMemory, estimateModelMemory, memoryLimitOf, stateMemory } from '../memory.js';
import { gpuDevices } from '../system.js';
import { checkBool, checkInt, checkObject, checkPcm, checkThreads, describe } from '../validate.js';
import { CallQueue, checkSignal, emit, forwardLogs, makeLogHandler, signalOf, throwIfAborted, timed, withCallSite } from './calls.js';
import { WhisperState } from './state.js';
import { startTranscription } from './transcription.js';
import type { BenchWorkloadOptions, BenchWorkloadResult, LoadOptions, LogHandler, ModelInfo, Timed, Transcript, TranscribeOptions } from './types.js';

export type * from './types.js';
export { WhisperState } from './state.js';

const FTYPE_NAMES: Record<number, string> = { 0: 'f32', 1: 'f16', 2: 'q4_0', 3: 'q4_1', 7: 'q8_0', 8: 'q5_0', 9: 'q5_1' };

export function ftypeName(ftype: number): string {
  // whisper.cpp stores qnt version * 1000 + ftype
  return FTYPE_NAMES[ftype % 1000] ?? `ftype${ftype}`;
}

/** @internal test hooks: beforeNativeLoad runs between the file's validation and whisper.cpp's load. */
export const loadHooks: { beforeNativeLoad?: (path: string) => void | Promise<void> } = {};

interface HeldFile {
  fh?: FileHandle;
  /** what whisper.cpp opens: /proc/self/fd/N where that works, else the path */
  loadPath: string;
  /** MODEL_INVALID when the file is no longer the one validated (replaced, truncated, rewritten) */
  check(validatedSize: number): Promise<void>;
}

async function holdModelFile(path: string): Promise<HeldFile> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch {
    // validateModelFile says why (missing, a directory, no permission) with its own code
    return { loadPath: path, check: async () => undefined };
  }
  const first = await fh.stat();
  const viaFd = `/proc/self/fd/${fh.fd}`;
  const loadPath = process.platform === 'linux' && existsSync(viaFd) ? viaFd : path;
  const changed = (why: string) => new WhisperPerfError(`model file ${path} changed while it was loaded (${why}): refused`, 'MODEL_INVALID');
  return {
    fh,
    loadPath,
    async check(validatedSize: number) {
      const now = await fh.stat();
      if (now.size !== first.size || now.size !== validatedSize) throw changed(`size ${first.size} → ${now.size}`);
      if (now.mtimeMs !== first.mtimeMs) throw changed('modified');
      let byPath;
      try {
        byPath = await stat(path);
      } catch {
        throw changed('removed');
      }
      if (byPath.ino !== first.ino || byPath.dev !== first.dev) throw changed('replaced by another file');
    },
  };
}

/** Loads a whisper.cpp ggml model file. The file is validated first, so a bad file never reaches whisper.cpp. */
export async function loadModel(path: string, options: LoadOptions = {}): Promise<Model> {
  const callSite = new Error();
  try {
    return await Model.load(path, options);
  } catch (e) {
    throw withCallSite(e, callSite);
  }
}

const BENCH_HERE = Symbol('benchWorkloadHere');
/** the OS thread whisper.cpp loaded each model on (Model.load's `here`: the calling thread) */
const loadThreads = new WeakMap<Model, number>();

/** The OS thread id whisper.cpp loaded the model on: its compute thread, or the calling thread with Model.load's `here` (not part of the API). */
export function loadThreadOf(model: Model): number {
  return loadThreads.get(model)!;
}

/**
 * Model.benchWorkload on the calling thread instead of the model's compute thread: it blocks the
 * event loop until the workload ends, so it is not part of the API. `ab`'s side processes use it so
 * that every model of a process computes from one thread and shares one OpenMP team, the team a
 * process with one model has (a compute thread per model gives each model its own team, and two
 * teams in one process slow decode down). Rejected while the model has calls in flight.
 */
export function benchWorkloadHere(model: Model, options: BenchWorkloadOptions = {}): Promise<BenchWorkloadResult> {
  return model[BENCH_HERE](options);
}

export class Model implements AsyncDisposable {
  readonly info: ModelInfo;
  /** milliseconds whisper.cpp took to load the file */
  readonly loadMs: number;
  #native: NativeModel;
  #calls: CallQueue;
  #disposed = false;
  #onLog?: LogHandler;
  #hparams: NativeModelInfo;
  #states = new Set<WhisperState>();
  #fallbacksSeen = 0;
  #memoryLimit?: number;

  private constructor(native: NativeModel, info: ModelInfo, loadMs: number, onLog?: LogHandler) {
    this.#native = native;
    this.info = info;
    this.loadMs = loadMs;
    this.#onLog = onLog;
    this.#hparams = native.info();
    this.#calls = new CallQueue('model', native, () => this.#disposed, onLog);
  }

  /**
   * @internal use loadModel(). `binding`: the addon to load it with (loadBindingAt; `ab` runs
   * builds side by side), default the loader's. `here`: whisper.cpp loads on the calling thread,
   * blocking the event loop, as benchWorkloadHere computes (`ab`'s processes with several sides)
   */
  static async load(path: string, options: LoadOptions = {}, binding?: BindingModule, here = false): Promise<Model> {
    if (typeof path !== 'string' || path === '') throw invalidArgument('path', path, 'a path to a ggml model file');
    const opts = checkObject<LoadOptions>(options, 'options');
    const useGpu = checkBool(opts.useGpu, 'useGpu', true);
    const flashAttn = checkBool(opts.flashAttn, 'flashAttn', true);
    const gpuDevice = opts.gpuDevice === undefined ? 0 : checkInt(opts.gpuDevice, 'gpuDevice', 0, 255);
    const signal = checkSignal(opts.signal);
    throwIfAborted(signal);
    const onLog = makeLogHandler(opts.verbose, opts.onLog);
    const memoryLimit = memoryLimitOf(opts.memoryLimit);

    // the file is held open from before validation to after the load, and whisper.cpp reads it
    // through that descriptor (/proc/self/fd/N on Linux): a file replaced after the check is not
    // the one loaded, and one changed in place (size, mtime) is refused with MODEL_INVALID
    const held = await holdModelFile(path);
    try {
      return await Model.#loadHeld(path, held, { useGpu, gpuDevice, flashAttn, signal, onLog, memoryLimit, gpuDeviceGiven: opts.gpuDevice !== undefined, binding, here });
    } finally {
      await held.fh?.close().catch(() => undefined);
    }
  }

  static async #loadHeld(
    path: string,
    held: HeldFile,
    o: { useGpu: boolean; gpuDevice: number; flashAttn: boolean; signal?: AbortSignal; onLog?: LogHandler; memoryLimit?: number; gpuDeviceGiven: boolean; binding?: BindingModule; here: boolean },
  ): Promise<Model> {
    const { useGpu, gpuDevice, flashAttn, signal, onLog, memoryLimit } = o;
    const file = await validateModelFile(path);
    throwIfAborted(signal);
    await held.check(file.fileSize);
    const estimate = estimateModelMemory(file.hparams, file.tensorDataBytes);
    checkMemory(`model ${path}`, estimate.total, memoryLimit);
    const binding = o.binding ?? loadBinding();
    if (useGpu && o.gpuDeviceGiven) {
      // whisper.cpp falls back to the CPU for a GPU index it does not have: refuse instead
      const gpus = gpuDevices(binding);
      if (gpuDevice >= gpus.length) {
        throw invalidArgument(
          'gpuDevice',
          gpuDevice,
          gpus.length ? `0 to ${gpus.length - 1} (${gpus.map((g, i) => `${i}: ${g.description}`).join(', ')})` : 'none: this build sees no GPU device (use useGpu: false, or a GPU build)',
        );
      }
    }
    await loadHooks.beforeNativeLoad?.(path);
    await held.check(file.fileSize);
    if (o.here && typeof binding.loadHere !== 'function') {
      throw new WhisperPerfError('this addon cannot load on the calling thread (built before loadHere): rebuild it', 'NATIVE_UNAVAILABLE');
    }
    const args = [held.loadPath, { useGpu, gpuDevice, flashAttn }] as const;
    const r = await (o.here ? binding.loadHere(...args) : binding.load(...args)).catch((e: unknown) => {
      throw forwardLogs(e, onLog);
    });
    try {
      await held.check(file.fileSize);
    } catch (e) {
      await r.model.dispose();
      throw e;
    }
    const lines = emit(r.logs, onLog);
    const native = r.model;
    if (signal?.aborted) {
      await native.dispose();
      throw new WhisperPerfError('model load aborted', 'ABORTED');
    }
    const ni = native.info();
    const { type, typeId: _t, ftype, multilingual, nLen: _n, tokenEot: _e, tokenSot: _s, ...hparams } = ni;
    const buffers = parseBufferSizes(lines);
    const info: ModelInfo = {
      path,
      type,
      ftype: ftypeName(ftype),
      ftypeId: ftype,
      multilingual,
      hparams,
      fileSize: file.fileSize,
      parameterCount: file.parameterCount,
      synthetic: file.synthetic,
      buffers,
      backend: weightsBackend(buffers.byBuffer),
      estimatedBytes: estimate.total,
    };
    const model = new Model(native, info, r.ms, onLog);
    model.#memoryLimit = memoryLimit;
    loadThreads.set(model, r.tid);
    return model;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Converts 16 kHz mono PCM to a log-mel spectrogram held by the model. */
  computeMel(pcm: Float32Array, options: { threads?: number } = {}): Promise<Timed & { nLen: number }> {
    return this.#run('computeMel', () => {
      checkPcm(pcm);
      const threads = checkThreads(checkObject<{ threads: number }>(options, 'options').threads);
      return this.#native.pcmToMel(pcm, threads);
    }, (r) => ({ ...timed(r), nLen: r.nLen }));
  }

  /** Sets the mel spectrogram directly: nMel rows (the model's n_mels) of nLen frames. */
  setMel(mel: Float32Array, options: { nLen?: number } = {}): Promise<Timed & { nLen: number }> {
    return this.#run('setMel', () => {
      if (!types.isFloat32Array(mel)) throw invalidArgument('mel', describe(mel), 'a Float32Array');
      const nMel = this.#hparams.nMels;
      const nLen = checkObject<{ nLen: number }>(options, 'options').nLen ?? mel.length / nMel;
      if (!Number.isInteger(nLen) || nLen < 0 || nLen * nMel !== mel.length) {
        throw invalidArgument('mel', `${mel.length} values`, `nLen × ${nMel} values (the model's n_mels)`);
      }
      return this.#native.setMel(mel, nLen, nMel);
    }, (r) => ({ ...timed(r), nLen: r.nLen }));
  }

  /** Runs the encoder on the current mel from frame `offset`. */
  encode(options: { threads?: number; offset?: number } = {}): Promise<Timed> {
    return this.#run('encode', () => {
      const o = checkObject<{ threads: number; offset: number }>(options, 'options');
      const threads = checkThreads(o.threads);
      const nLen = this.#native.info().nLen;
      const offset = o.offset === undefined ? 0 : checkInt(o.offset, 'offset', 0, Math.max(0, nLen - 1));
      return this.#native.encode(offset, threads);
    }, (r) => timed(r));
  }

  /** Runs the decoder on `tokens` after `nPast` tokens already in the KV cache. */
  decode(tokens: Int32Array | readonly number[], nPast: number, options: { threads?: number } = {}): Promise<Timed> {
    return this.#run('decode', () => {
      const threads = checkThreads(checkObject<{ threads: number }>(options, 'options').threads);
      const { nVocab, nTextCtx } = this.#hparams;
      if (!types.isInt32Array(tokens) && !Array.isArray(tokens)) throw invalidArgument('tokens', describe(tokens), 'an Int32Array or array of token ids');
      // before copying: a 4-billion-slot sparse array is refused, not allocated
      if (tokens.length > nTextCtx) throw invalidArgument('tokens', `${tokens.length} tokens`, `at most ${nTextCtx} (the text context)`);
      const arr = types.isInt32Array(tokens) ? tokens : Int32Array.from(tokens, (t) => (Number.isInteger(t) ? t : -1));
      if (arr.length === 0) throw invalidArgument('tokens', '[]', 'at least one token');
      if (Array.isArray(tokens) && !Array.from(tokens).every((t) => Number.isInteger(t))) {
        throw invalidArgument('tokens', 'non-integer', `integers from 0 to ${nVocab - 1}`);
      }
      for (const t of arr) if (t < 0 || t >= nVocab) throw invalidArgument('token', t, `0 to ${nVocab - 1} (the vocabulary)`);
      checkInt(nPast, 'nPast', 0, nTextCtx - arr.length);
      return this.#native.decode(arr, nPast, threads);
    }, (r) => timed(r));
  }

  /** Full transcription of 16 kHz mono PCM with whisper_full (every parameter that matters for speed or quality). */
  transcribe(pcm: Float32Array, options: TranscribeOptions = {}): Promise<Transcript> {
    const t = startTranscription(pcm, options, this.#hparams, this.info.synthetic, true);
    return this.#run('transcribe', () => t.start((o, cb) => this.#native.full(pcm, o, cb)), (r) => {
      const out = t.finish(r);
      // whisper_reset_timings leaves whisper.cpp's fallback counters alone: they count from the
      // load, so this call's fallbacks are the difference from the last total seen
      const total = out.timings.fallbacksP + out.timings.fallbacksH;
      out.fallbacks = Math.max(0, total - this.#fallbacksSeen);
      this.#fallbacksSeen = total;
      return out;
    }, signalOf(options));
  }

  /**
   * A new whisper state over this model's weights: its own KV caches and compute buffers (see
   * info.buffers) and its own compute thread, so several states transcribe at once over one copy
   * of the weights. States are disposed before their model.
   */
  async createState(): Promise<WhisperState> {
    const callSite = new Error();
    if (this.#disposed) throw withCallSite(new WhisperPerfError('createState: model is disposed', 'DISPOSED'), callSite);
    try {
      // the same guard as loadModel: one more state needs the KV caches and compute buffers reported at load
      const need = stateMemory(this.info.buffers);
      if (need.known) checkMemory('a new whisper state', need.total, this.#memoryLimit);
      const r = await this.#native.createState();
      emit(r.logs, this.#onLog);
      const st = new WhisperState(r.state, this.#hparams, this.info.synthetic, this.#onLog, () => this.#states.delete(st));
      this.#states.add(st);
      return st;
    } catch (e) {
      throw withCallSite(forwardLogs(e, this.#onLog), callSite);
    }
  }

  /** whisper-bench's workload on this model: heat-up, then encode, decodes, batches and prompts. */
  benchWorkload(options: BenchWorkloadOptions = {}): Promise<BenchWorkloadResult> {
    return this.#bench(options, (spec) => this.#native.bench(spec));
  }

  /** benchWorkloadHere's body (above the class): the same workload on the calling thread. */
  [BENCH_HERE](options: BenchWorkloadOptions): Promise<BenchWorkloadResult> {
    return this.#bench(options, (spec) => this.#native.benchHere(spec));
  }

  #bench(options: BenchWorkloadOptions, call: (spec: NativeBenchOptions) => Promise<NativeBenchResult>): Promise<BenchWorkloadResult> {
    return this.#run('benchWorkload', () => call(this.#benchSpec(options)), ({ logs: _l, runMs: _r, ...rest }) => rest, signalOf(options));
  }

  #benchSpec(options: BenchWorkloadOptions): NativeBenchOptions {
    const o = checkObject<BenchWorkloadOptions>(options, 'options');
    if (this.#hparams.nTextCtx < 261) throw invalidArgument('model', this.info.path, 'a model with a text context of at least 261 tokens');
    return {
      threads: checkThreads(o.threads),
      heat: o.heat === undefined ? 2 : checkInt(o.heat, 'heat', 0, 100),
      heatDecodes: o.heatDecodes === undefined ? 256 : checkInt(o.heatDecodes, 'heatDecodes', 0, 256),
      nEncode: o.nEncode === undefined ? 1 : checkInt(o.nEncode, 'nEncode', 0, 100000),
      nDecode: o.nDecode === undefined ? 256 : checkInt(o.nDecode, 'nDecode', 0, 256),
      nBatch: o.nBatch === undefined ? 64 : checkInt(o.nBatch, 'nBatch', 0, 100000),
      nPrompt: o.nPrompt === undefined ? 16 : checkInt(o.nPrompt, 'nPrompt', 0, 100000),
    };
  }

  /** OS thread id of this model's compute thread: every whisper.cpp call on the model runs there. */
  get threadId(): number {
    return this.#native.threadId();
  }

  /** whisper.cpp's own accumulated timings (sample, encode, decode, batchd, prompt, mel, load, fallbacks). */
  timings(): Promise<WhisperTimings> {
    return this.#run('timings', () => this.#native.timings(), (r) => parseTimings(joinLogLines(r.lines)));
  }

  /** Zeroes whisper.cpp's timing counters. */
  resetTimings(): Promise<void> {
    return this.#run('resetTimings', () => this.#native.resetTimings(), () => undefined);
  }

  /** Frees the native model once the work already queued on it has finished. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    // states compute on this model's weights: they go first
    await Promise.all([...this.#states].map((s) => s.dispose()));
    await this.#calls.finally(() => this.#native.dispose());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** Queues one operation: validation runs when the operation starts, so it sees the model's current state. */
  #run<R extends object, T>(name: string, start: () => Promise<R>, map: (r: R) => T, signal?: AbortSignal): Promise<T> {
    return this.#calls.run(name, start, map, signal);
  }
}

/**
 * Where the weights live, as ggml names the device: the buffer holding most of them, with the CPU
 * backend's extra buffer types (AMX, CPU_REPACK, CPU_AARCH64, KleidiAI: repacked weights that the
 * CPU computes on) counted as CPU.
 */
export function weightsBackend(byBuffer: Record<string, number>): string {
  const totals = new Map<string, number>();
  for (const [name, bytes] of Object.entries(byBuffer)) {
    const device = /^(CPU|AMX|KLEIDIAI)([_-].*)?$/i.test(name) ? 'CPU' : name;
    totals.set(device, (totals.get(device) ?? 0) + bytes);
  }
  let best = 'CPU';
  let most = -1;
  for (const [device, bytes] of totals) if (bytes > most) [best, most] = [device, bytes];
  return best;
}
