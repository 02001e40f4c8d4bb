/**
 * The typed surface of the native addon and its loader: the only module that touches it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { WhisperPerfError } from './errors.js';

const require = createRequire(import.meta.url);

export interface NativeLogLine {
  level: number;
  text: string;
}

/** Every asynchronous native call resolves to at least this. */
export interface NativeResult {
  /** milliseconds between submitting the job and its start on the model's compute thread */
  queueMs: number;
  /** milliseconds the job ran, including locking */
  runMs: number;
  /** process CPU time (all threads) while the job ran, ms */
  cpuMs: number;
  /** OS thread id of the thread that ran the job (the model's compute thread) */
  tid: number;
  logs: NativeLogLine[];
}

export interface NativeTimed extends NativeResult {
  /** milliseconds of the whisper.cpp call itself */
  ms: number;
}

export interface NativeModelInfo {
  type: string;
  typeId: number;
  ftype: number;
  multilingual: boolean;
  nVocab: number;
  nAudioCtx: number;
  nAudioState: number;
  nAudioHead: number;
  nAudioLayer: number;
  nTextCtx: number;
  nTextState: number;
  nTextHead: number;
  nTextLayer: number;
  nMels: number;
  nLen: number;
  tokenEot: number;
  tokenSot: number;
}

export interface NativeFullOptions {
  threads: number;
  processors: number;
  language: string;
  detectLanguage: boolean;
  translate: boolean;
  beamSearch: boolean;
  beamSize: number;
  bestOf: number;
  temperature: number;
  temperatureInc: number;
  entropyThold: number;
  logprobThold: number;
  noSpeechThold: number;
  noContext: boolean;
  singleSegment: boolean;
  noTimestamps: boolean;
  tokenTimestamps: boolean;
  splitOnWord: boolean;
  suppressBlank: boolean;
  suppressNst: boolean;
  maxLen: number;
  maxTokens: number;
  audioCtx: number;
  maxTextCtx: number;
  offsetMs: number;
  durationMs: number;
  initialPrompt: string;
  wantProgress: boolean;
  wantSegments: boolean;
}

export interface NativeToken {
  id: number;
  text: string;
  /** probability of the token */
  p: number;
  /** token timestamps, centiseconds (with tokenTimestamps) */
  t0: number;
  t1: number;
}

export interface NativeSegment {
  index: number;
  /** centiseconds */
  t0: number;
  t1: number;
  text: string;
  noSpeechProb: number;
  tokens: NativeToken[];
}

/** Events of a running transcription, on the JavaScript thread. */
export type NativeFullEvent = { type: 'progress'; progress: number } | { type: 'segments'; atMs: number; segments: NativeSegment[] };

export interface NativeBenchOptions {
  threads: number;
  heat: number;
  heatDecodes: number;
  nEncode: number;
  nDecode: number;
  nBatch: number;
  nPrompt: number;
}

export interface StageFigures {
  encode: number;
  decode: number;
  batchd: number;
  prompt: number;
}

export interface NativeBenchResult extends NativeResult {
  heatMs: number;
  /** wall time of each stage's measured calls, summed, ms */
  wallTotalMs: StageFigures;
  /** wall time per whisper.cpp "run" (per call for encode and decode, per token for batchd and prompt), ms */
  wallPerRunMs: StageFigures;
  counts: StageFigures;
  /** process CPU time during the measured part, ms */
  measuredCpuMs: number;
  /** the slowdown injected for bench:parity's self-check (WHISPER_PERF_INJECT_SLOWDOWN), 0 normally */
  injected: number;
  /** whisper.cpp's own per-run timings of the measured part */
  perRunMs?: StageFigures;
}

export interface NativeModel {
  info(): NativeModelInfo;
  pcmToMel(pcm: Float32Array, threads: number): Promise<NativeTimed & { nLen: number }>;
  setMel(mel: Float32Array, nLen: number, nMel: number): Promise<NativeTimed & { nLen: number }>;
  encode(offset: number, threads: number): Promise<NativeTimed>;
  decode(tokens: Int32Array, nPast: number, threads: number): Promise<NativeTimed>;
  full(
    pcm: Float32Array,
    options: NativeFullOptions,
    onEvent?: (e: NativeFullEvent) => void,
  ): Promise<NativeTimed & { language: string | null; segments: NativeSegment[]; firstSegmentMs: number | null; timingLines: NativeLogLine[] }>;
  bench(options: NativeBenchOptions): Promise<NativeBenchResult>;
  /** bench on the calling thread, blocking it (ab's side processes only); settled when it returns */
  benchHere(options: NativeBenchOptions): Promise<NativeBenchResult>;
  timings(): Promise<NativeResult & { lines: NativeLogLine[] }>;
  resetTimings(): Promise<NativeResult & { lines: NativeLogLine[] }>;
  abort(): void;
  dispose(): Promise<NativeResult>;
  isDisposed(): boolean;
  /** OS thread id of the model's compute thread */
  threadId(): number;
  /** a new whisper state over this model's weights, with its own compute thread */
  createState(): Promise<NativeResult & { state: NativeState }>;
}

/** One whisper_state over a model's weights (KV caches, compute buffers, results), with its own compute thread. */
export interface NativeState {
  full: NativeModel['full'];
  abort(): void;
  dispose(): Promise<NativeResult>;
  isDisposed(): boolean;
  threadId(): number;
}

export interface NativeDevice {
  index: number;
  name: string;
  description: string;
  type: 'cpu' | 'gpu' | 'igpu' | 'accel' | 'other';
  backend: string;
  memoryFree: number;
  memoryTotal: number;
}

export interface BindingModule {
  load(path: string, options: { useGpu: boolean; gpuDevice: number; flashAttn: boolean }): Promise<NativeTimed & { model: NativeModel }>;
  /** load on the calling thread, blocking it (settled before it returns) */
  loadHere(path: string, options: { useGpu: boolean; gpuDevice: number; flashAttn: boolean }): Promise<NativeTimed & { model: NativeModel }>;
  setErrorClass(cls: typeof WhisperPerfError): void;
  /** registryLog: what ggml's backends logged while registering their devices (absent in addons built before it) */
  systemInfo(): { whisper: string; hardwareConcurrency: number; devices: NativeDevice[]; registryLog?: { level: number; text: string }[] };
  /** JSON text written by cmake/build-info.cmake at configure time */
  buildInfo(): string;
  version(): string;
  microBench(what: 'memcpy' | 'mulmat', threads: number): Promise<NativeResult & { text: string }>;
  /** live native objects, process-wide: whisper contexts not yet freed, compute threads not yet joined */
  stats(): { liveContexts: number; liveExecutors: number };
  /** stops every compute thread of this thread's instance (running jobs asked to stop, queued ones dropped); for process exit */
  shutdown(): void;
  /** ggml_quantize_chunk: rows of f32 (or f16 bits) → a quantized ggml type, off the JavaScript thread */
  quantize(src: Float32Array | Uint16Array, type: number, rows: number, perRow: number): Promise<NativeResult & { data: Buffer }>;
  /** ggml's facts about a type id, null for an unknown one */
  typeInfo(type: number): { name: string; blockSize: number; typeSize: number; quantized: boolean; needsImatrix: boolean } | null;
}

/** The package root: one level above lib/ (sources) or dist/ (compiled). */
export const packageRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the addon was loaded from, once loaded. */
export let addonPath: string | undefined;

let binding: BindingModule | undefined;

/** Candidate addon files in the order they are tried. */
export function addonCandidates(root = packageRoot): string[] {
  const out: string[] = [];
  const env = process.env.WHISPER_PERF_ADDON;
  if (env) out.push(resolve(env));
  // A source build beats a prebuild: it was compiled for this CPU.
  for (const dir of ['build/Release', 'build/Debug', 'build/RelWithDebInfo']) {
    const p = join(root, dir, 'whisper_perf.node');
    if (existsSync(p)) out.push(p);
  }
  const fitting = prebuildCandidates(root);
  out.push(...fitting);
  try {
    // node-gyp-build's own resolution (build/ then prebuilds/<platform>-<arch>/); it knows nothing
    // of CPU variants, so a prebuild it finds counts only if it fits this CPU
    const ngb = require('node-gyp-build') as { resolve(dir: string): string };
    const p = ngb.resolve(root);
    const isVariant = /whisper-perf\.[^/\\]+\.node$/.test(p);
    if (!out.includes(p) && (!isVariant || fitting.includes(p))) out.push(p);
  } catch {
    // none found there
  }
  return out;
}

const bindings = new Map<string, BindingModule>();

/** Requires one addon file, once per path and thread, and readies it. */
function requireBinding(p: string): BindingModule {
  const known = bindings.get(p);
  if (known) return known;
  const mod = require(p) as BindingModule;
  mod.setErrorClass(WhisperPerfError);
  // process.exit() on the main thread runs the C++ static destructors (ggml's among them)
  // without the environment's cleanup hooks: a compute thread still running then would read
  // freed memory (seen as SIGSEGV in ggml_cpu_extra_compute_forward). 'exit' comes first.
  process.on('exit', () => mod.shutdown());
  bindings.set(p, mod);
  return mod;
}

/** Loads the addon once per thread (it is context-aware, so each worker_thread gets its own instance). */
export function loadBinding(): BindingModule {
  if (binding) return binding;
  const candidates = addonCandidates();
  const errors: string[] = [];
  for (const p of candidates) {
    try {
      const mod = requireBinding(p);
      binding = mod;
      addonPath = p;
      return mod;
    } catch (e) {
      errors.push(`${p}: ${(e as Error).message}`);
    }
  }
  const tried = errors.join('; ') || `no source build in build/ and no prebuild for ${process.platform}-${process.arch} that this CPU runs`;
  throw new WhisperPerfError(
    `the whisper-perf native addon is not available (${tried}): build it from source with \`WHISPER_PERF_FROM_SOURCE=1 npm rebuild whisper-perf\` ` +
      '(needs CMake, a C++17 compiler, and npm allowing whisper-perf\'s install script: `allowScripts` in package.json; ' +
      'in a checkout of whisper-perf: `npm run build:native`)',
    'NATIVE_UNAVAILABLE',
  );
}

/**
 * One particular addon file, beside the one the loader picked (`ab` runs several builds in one
 * process). ggml is linked into each addon statically and Node opens an addon without sharing its
 * symbols, so two builds in one process keep apart: each has its own ggml, backends and compute
 * threads. Rejects with NATIVE_UNAVAILABLE when the file does not load.
 */
export function loadBindingAt(path: string): BindingModule {
  const p = resolve(path);
  try {
    return requireBinding(p);
  } catch (e) {
    throw new WhisperPerfError(`the addon ${p} does not load: ${(e as Error).message}`, 'NATIVE_UNAVAILABLE', { cause: e });
  }
}

/** Prebuilt CPU variants this CPU can run, best first (see scripts/variants.json). */
export function prebuildCandidates(root = packageRoot): string[] {
  const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const table = join(root, 'scripts', 'variants.json');
  if (!existsSync(dir) || !existsSync(table)) return [];
  const variants = JSON.parse(readFileSync(table, 'utf8')) as { name: string; flags: string[] }[];
  let flags = new Set<string>();
  try {
    flags = new Set(/^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim().split(/\s+/) ?? []);
  } catch {
    // no /proc: no prebuild can be vouched for
  }
  const files = new Set(readdirSync(dir));
  return variants
    .filter((v) => files.has(`whisper-perf.${v.name}.node`) && v.flags.every((f) => flags.has(f)))
    .map((v) => join(dir, `whisper-perf.${v.name}.node`));
}
