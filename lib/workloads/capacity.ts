/**
 * Capacity: how many concurrent transcriptions one machine serves faster than real time.
 *
 * A cell is N concurrent streams, each transcribing the whole file `rounds` times back to back:
 * - `states` (the default): N whisper states over ONE loaded model's weights (Model.createState():
 *   each state has its own KV caches, compute buffers and compute thread, the weights are shared);
 * - `workers`: N worker threads (node:worker_threads), each loading its own copy of the model from
 *   the compiled package (dist/index.js) — the way to compare memory against shared weights.
 * Before a cell allocates anything, its memory is checked: N × (what one more stream needs) must
 * fit in the memory available (os.freemem(), lowered to the cgroup limit less this process's RSS
 * where one is set; or `memoryLimit`), else the cell fails with INVALID_ARGUMENT and nothing is
 * allocated. One stream needs the buffers whisper.cpp reported at load (model.info.buffers):
 * KV self (× best-of + 2 when several decoders can run, as whisper.cpp reallocates it), KV cross,
 * KV pad and the four compute buffers; a worker needs the weights and one such state as well.
 * These are the sizes whisper.cpp allocates; the resident memory they grow by is smaller (compute
 * buffers are not touched in full), so the check errs on the safe side.
 *
 * Figures per cell: aggregate throughput (audio seconds transcribed / wall seconds, from the
 * moment all streams are released together to the last one done), per-request latency
 * (submitted → done) p50/p95/max, per-request RTF, peak RSS of the process (states, workers and
 * all), CPU use. A cell is real-time when every request finished in less time than its audio
 * lasts; the sweep's answer is the largest N that is real-time with every smaller N measured.
 * Warm-up: each stream first transcribes the file's first WARMUP_AUDIO_S seconds, unmeasured.
 */
import { basename } from 'node:path';

import { loadAudio, type LoadAudioOptions } from '../audio/load.js';
import { invalidArgument, WhisperPerfError } from '../errors.js';
import type { BufferSizes } from '../logs.js';
import { availableMemory, maxDecoders, mb, stateMemory, type AvailableMemory } from '../memory.js';
import { loadModel, type LoadOptions, type Model, type TranscribeOptions } from '../model/model.js';
import { transcribeOptions } from '../model/transcription.js';
import { ensureDefaultModel } from '../models/default.js';
import { buildInfo } from '../system.js';
import { checkInt, checkThreads } from '../validate.js';
import type { BenchmarkProgress } from './engine.js';
import { provenance } from './engine.js';
import { latencySummary } from '../measure/latency.js';
import { resolvePreset, type PresetName, type PresetParams } from '../presets.js';
import { summarize } from '../measure/stats.js';
import type { BenchRow } from '../measure/types.js';
import { runStatesCell, runWorkersCell, type CellResult } from './capacity-cells.js';

export type CapacityMode = 'states' | 'workers';
export const CAPACITY_MODES: readonly CapacityMode[] = ['states', 'workers'];
/** The most concurrent streams one cell may ask for (each is a native thread with its own buffers). */
export const MAX_STREAMS = 256;
/** Seconds of audio in each stream's warm-up transcription. */
export const CAPACITY_WARMUP_S = 5;

// ---------------------------------------------------------------- memory (pure)

/** Memory one more stream of a mode needs: a state, plus the weights for a worker with its own model. */
export function streamMemoryBytes(mode: CapacityMode, buffers: Partial<BufferSizes>, decoders = 1, fileSize = 0): number {
  const st = stateMemory(buffers, decoders).total;
  return mode === 'states' ? st : st + (buffers.model ?? fileSize);
}

/**
 * Refuses N streams that would not fit: INVALID_ARGUMENT saying what N streams need, what one
 * needs, and what is available. Nothing is allocated before this check.
 */
export function checkCapacityMemory(n: number, perStreamBytes: number, available: AvailableMemory, mode: CapacityMode = 'states'): void {
  checkInt(n, 'streams', 1, MAX_STREAMS);
  // numbers checked before any arithmetic: `*` on an object runs its valueOf/toString (a huge
  // sparse array would be joined)
  const isSize = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  if (!isSize(perStreamBytes)) throw invalidArgument('bytes per stream', perStreamBytes, 'a finite number of bytes ≥ 0');
  let avail: { bytes: unknown; source: unknown } | null = null;
  try {
    if (available !== null && typeof available === 'object') avail = { bytes: available.bytes, source: available.source };
  } catch {
    // a getter that throws: refused below
  }
  if (avail === null || !isSize(avail.bytes)) throw invalidArgument('available memory', available, '{ bytes: a finite number ≥ 0, source }');
  if (!(CAPACITY_MODES as readonly unknown[]).includes(mode)) throw invalidArgument('mode', mode, CAPACITY_MODES.join(' or '));
  available = { bytes: avail.bytes, source: avail.source as AvailableMemory['source'] };
  const needed = n * perStreamBytes;
  if (needed > available.bytes) {
    const what = mode === 'states' ? 'whisper states' : 'worker threads with a model each';
    const from = available.source === 'memory-limit' ? '--memory-limit' : available.source === 'cgroup' ? 'the cgroup limit less this process' : 'free memory (os.freemem)';
    const fits = perStreamBytes > 0 ? Math.floor(available.bytes / perStreamBytes) : MAX_STREAMS;
    throw new WhisperPerfError(
      `${n} ${what} need ${mb(needed)} MB (${mb(perStreamBytes)} MB each) but only ${mb(available.bytes)} MB is available (${from}); at most ${fits} fit`,
      'INVALID_ARGUMENT',
    );
  }
}

/**
 * The largest N that is real-time, with every smaller N measured real-time too (0 when N = the
 * smallest is not): a failed or slower-than-real-time cell ends the run of N.
 */
export function maxRealtimeStreams(cells: readonly { streams: number; realtimeOk: boolean }[]): number {
  const sorted = [...cells].sort((a, b) => a.streams - b.streams);
  let best = 0;
  for (const c of sorted) {
    if (!c.realtimeOk) break;
    best = c.streams;
  }
  return best;
}

// ---------------------------------------------------------------- the sweep

export interface CapacityOptions {
  /** model file; default: the embedded synthetic tiny.en */
  model?: string;
  /** the audio each stream transcribes (any format loadAudio reads), or PCM already decoded */
  file: string | { name: string; pcm: Float32Array; durationS?: number };
  /** concurrent streams per cell, e.g. [1, 2, 4, 8] */
  streams: number | number[];
  /** compute threads of each transcription (default: the preset's, else min(4, cores)) */
  threads?: number;
  /** modes to measure (default ['states']); `workers: true` adds 'workers' */
  modes?: CapacityMode[];
  workers?: boolean;
  /** transcriptions of the file per stream in a cell (default 1) */
  rounds?: number;
  /** warm-up transcriptions per stream of the file's first CAPACITY_WARMUP_S seconds (default 1) */
  warmup?: number;
  /** memory the streams may use, bytes (default: availableMemory()) */
  memoryLimit?: number;
  /** a preset's decoding parameters */
  preset?: PresetName;
  /** decoding options over the preset (language, maxTokens, audioCtx, noFallback ...) */
  transcribe?: PresetParams;
  /** options of loadModel (useGpu, gpuDevice, flashAttn) */
  load?: Omit<LoadOptions, 'signal' | 'onLog' | 'verbose'>;
  audio?: Omit<LoadAudioOptions, 'signal'>;
  onProgress?: (p: BenchmarkProgress) => void;
  signal?: AbortSignal;
}

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function asError(e: unknown): WhisperPerfError {
  return e instanceof WhisperPerfError ? e : new WhisperPerfError(String((e as Error)?.message ?? e), 'NATIVE_FAILURE');
}

/**
 * Measures N concurrent transcriptions for every N in `streams` (and every mode) → one BenchRow
 * per cell (`what: 'capacity'`), each with `max_realtime_streams`: the largest real-time N of its
 * mode. A cell that fails (memory check, a transcription) is a row with `error`; the rest run.
 */
export async function capacity(options: CapacityOptions): Promise<BenchRow[]> {
  if (typeof options !== 'object' || options === null) throw invalidArgument('options', options, 'an options object');
  const ns = asList(options.streams);
  if (ns.length === 0) throw invalidArgument('streams', options.streams, 'at least one stream count');
  for (const n of ns) checkInt(n, 'streams', 1, MAX_STREAMS);
  if (new Set(ns).size !== ns.length) throw invalidArgument('streams', ns.join(','), 'each count once');
  const asked = options.modes ?? (options.workers ? (['states', 'workers'] as CapacityMode[]) : (['states'] as CapacityMode[]));
  if (!Array.isArray(asked) || asked.length === 0) throw invalidArgument('modes', asked, CAPACITY_MODES.join(', '));
  for (const m of asked) if (!CAPACITY_MODES.includes(m)) throw invalidArgument('mode', m, CAPACITY_MODES.join(', '));
  // states first: the shared model is disposed before the workers load their own copies
  const modes = CAPACITY_MODES.filter((m) => asked.includes(m));
  const rounds = checkInt(options.rounds ?? 1, 'rounds', 1, 1000);
  const warmup = checkInt(options.warmup ?? 1, 'warmup', 0, 100);
  if (options.memoryLimit !== undefined && !(typeof options.memoryLimit === 'number' && options.memoryLimit > 0)) {
    throw invalidArgument('memoryLimit', options.memoryLimit, 'a number of bytes above 0');
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgument('signal', signal, 'an AbortSignal');
  const extra = options.transcribe ?? {};
  if (typeof extra !== 'object' || extra === null) throw invalidArgument('transcribe', extra, 'decoding options');
  const resolved: TranscribeOptions = resolvePreset({ ...extra, preset: options.preset, threads: options.threads });
  const threads = checkThreads(resolved.threads);
  const opts: TranscribeOptions = { ...resolved, threads };
  const full = transcribeOptions(opts, { nTextCtx: 448, nAudioCtx: 1500 });
  const decoders = maxDecoders(full);

  const note = (label: string) => options.onProgress?.({ done: 0, total: 1, label });
  const modelPath = options.model ?? (await ensureDefaultModel({ onProgress: note }));
  const file = options.file;
  const fileName = typeof file === 'string' ? file : file.name;
  const prov = provenance();
  const buildWarnings = buildInfo().warnings;
  const cells = modes.flatMap((mode) => ns.map((n) => ({ mode, n })));
  const errorRows = (e: unknown): BenchRow[] => {
    const err = asError(e);
    if (err.code === 'ABORTED' && signal?.aborted) throw err;
    return cells.map(({ mode, n }) => ({
      ...prov,
      what: 'capacity',
      model: modelPath,
      model_type: '',
      ftype: '',
      synthetic: false,
      threads,
      flash_attn: options.load?.flashAttn ?? true,
      device: 'cpu',
      repetitions: rounds,
      file: fileName,
      preset: options.preset ?? '',
      streams: n,
      capacity_mode: mode,
      max_realtime_streams: 0,
      warnings: [...buildWarnings],
      error: { code: err.code, message: err.message },
    }));
  };
  // a file that does not decode or a model that does not load fails every cell, as in rtf
  let a: { name: string; pcm: Float32Array; durationS: number };
  let model: Model | undefined;
  try {
    a = typeof file === 'string'
      ? { name: file, ...(await loadAudio(file, { ...options.audio, signal })) }
      : { name: file.name, pcm: file.pcm, durationS: file.durationS ?? file.pcm.length / 16000 };
    model = await loadModel(modelPath, { ...options.load, signal });
    transcribeOptions(opts, model.info.hparams); // the model's own limits (maxTokens, audioCtx)
  } catch (e) {
    await model?.dispose();
    return errorRows(e);
  }
  const info = model.info;
  const head = a.pcm.slice(0, Math.min(a.pcm.length, CAPACITY_WARMUP_S * 16000));
  const rows: BenchRow[] = [];
  const started = performance.now();
  try {
    for (const [i, { mode, n }] of cells.entries()) {
      if (signal?.aborted) throw new WhisperPerfError('capacity aborted', 'ABORTED');
      const label = `${basename(modelPath)} ${mode} N=${n} -t ${threads}`;
      const eta = i > 0 ? ((performance.now() - started) / i) * (cells.length - i) : undefined;
      options.onProgress?.({ done: i, total: cells.length, label, etaMs: eta });
      const per = streamMemoryBytes(mode, info.buffers, decoders, info.fileSize);
      const base: BenchRow = {
        ...prov,
        what: 'capacity',
        model: modelPath,
        model_type: info.type,
        ftype: info.ftype,
        synthetic: info.synthetic,
        threads,
        flash_attn: options.load?.flashAttn ?? true,
        device: info.backend === 'CPU' ? 'cpu' : info.backend,
        backend: info.backend,
        repetitions: rounds,
        file: a.name,
        audio_s: a.durationS,
        preset: options.preset ?? '',
        streams: n,
        capacity_mode: mode,
        stream_memory_mb: mb(per),
        warnings: [...buildWarnings],
      };
      try {
        const avail = availableMemory(options.memoryLimit);
        base.memory_needed_mb = mb(n * per);
        base.memory_available_mb = mb(avail.bytes);
        if (!stateMemory(info.buffers, decoders).known) base.warnings.push('whisper.cpp did not report the buffer sizes: the memory check could not count the KV caches and compute buffers');
        checkCapacityMemory(n, per, avail, mode);
        if (mode === 'workers' && model) {
          // the workers hold their own models: the shared one goes, so RSS compares N copies with 1 + N states
          await model.dispose();
          model = undefined;
        }
        const r = mode === 'states'
          ? await runStatesCell(model!, n, a.pcm, head, opts, rounds, warmup, signal)
          : await runWorkersCell(modelPath, options.load ?? {}, n, a.pcm, head, opts, rounds, warmup, signal);
        rows.push(capacityRow(base, a.durationS, r));
      } catch (e) {
        const err = asError(e);
        if (err.code === 'ABORTED' && signal?.aborted) throw err;
        rows.push({ ...base, error: { code: err.code, message: err.message } });
      }
    }
  } finally {
    await model?.dispose();
  }
  options.onProgress?.({ done: cells.length, total: cells.length, label: 'done' });
  for (const mode of modes) {
    const mine = rows.filter((r) => r.capacity_mode === mode);
    const best = maxRealtimeStreams(mine.map((r) => ({ streams: r.streams!, realtimeOk: !r.error && r.realtime_ok === true })));
    for (const r of mine) r.max_realtime_streams = best;
  }
  return rows;
}

const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;

/** A cell's row from its per-request latencies (ms) and wall time. */
function capacityRow(base: BenchRow, audioS: number, r: CellResult): BenchRow {
  const row: BenchRow = { ...base, warnings: [...base.warnings] };
  const n = base.streams ?? 1;
  const lat = latencySummary(r.latencies);
  row.latency_ms = summarize(r.latencies);
  row.latency_p50_ms = round(lat.p50, 2);
  row.latency_p95_ms = round(lat.p95, 2);
  row.latency_max_ms = round(lat.max, 2);
  row.rtf = summarize(r.latencies.map((ms) => ms / 1000 / audioS));
  row.wall_s = round(r.wallMs / 1000, 3);
  row.throughput_x = round((n * (base.repetitions ?? 1) * audioS) / (r.wallMs / 1000), 3);
  row.realtime_ok = lat.max < audioS * 1000;
  row.peak_rss_mb = r.peakRssMb;
  row.peak_rss_source = r.peakSource;
  row.cpu_pct = r.wallMs > 0 ? round((r.cpuMs / r.wallMs) * 100, 1) : 0;
  if (base.synthetic) row.warnings.push('synthetic weights: timings are real, transcripts are meaningless (the decoder rarely ends a segment by itself: --max-tokens caps it)');
  return row;
}

