/**
 * Streaming: a simulation of whisper.cpp's `stream` example (examples/stream/stream.cpp, its
 * sliding-window mode) fed from a file instead of a microphone, on one loaded model.
 *
 * The window logic is stream.cpp's:
 * - every `step` ms of new audio triggers a transcription; when the previous transcription ran late,
 *   only the newest `step` ms are taken and the audio before them is dropped (stream.cpp takes
 *   `audio.get(step_ms)` — the latest step — and clears the rest), counted here as dropped audio;
 * - the window is the new audio preceded by up to `keep + length − new` ms of the previous window;
 * - every n_new_line = max(1, ⌊length/step⌋ − 1) steps the line is final (stream.cpp prints a new
 *   line) and only the last `keep` ms are carried into the next window;
 * - each window is one whisper_full call with single_segment and no_timestamps on, no_context on
 *   (no prompt from earlier text) and max_tokens 0 unless set, greedy decoding with best-of 5 and
 *   temperature fallback (whisper_full's defaults), threads min(4, cores).
 * Differences, on purpose: `--step` longer than `--length` or `--keep` longer than `--step` are
 * errors (stream.cpp silently raises length / lowers keep); the file's last partial step is
 * transcribed (a microphone never ends); there is no VAD mode (step 0).
 *
 * Time. With `realtime` the audio "arrives" at the wall clock's pace: a step waits until its audio
 * would have been captured. Without it the steps run back to back as fast as possible on a virtual
 * clock that advances by each transcription's measured wall time and jumps to the arrival of the
 * next audio when idle: the same schedule, latencies and drops a live run would see when each step
 * costs what it cost here, without waiting. Latency of a step = time its text came out − time the
 * last sample of its new audio was captured. A step is on time when it finished before the next
 * step's audio was complete (latency ≤ step). The stream keeps up when at least KEEPS_UP_FRACTION
 * of its steps were on time.
 */
import { basename } from 'node:path';
import { setTimeout as sleepMs } from 'node:timers/promises';

import { loadAudio, type LoadAudioOptions } from '../audio/load.js';
import { invalidArgument, WhisperPerfError } from '../errors.js';
import { loadModel, type LoadOptions, type Model, type TranscribeOptions } from '../model/model.js';
import { ensureDefaultModel } from '../models/default.js';
import { buildInfo } from '../system.js';
import { checkBool, checkInt, checkPcm, checkThreads } from '../validate.js';
import { provenance } from './engine.js';
import { latencySummary } from '../measure/latency.js';
import { resolvePreset, type PresetName, type PresetParams } from '../presets.js';
import { startResourceMonitor, type ResourceFigures, type ResourceMonitor } from '../measure/resources.js';
import { summarize } from '../measure/stats.js';
import type { BenchRow } from '../measure/types.js';
import { KEEPS_UP_FRACTION, SAMPLES_PER_MS, STREAM_DEFAULTS, StreamScheduler, checkStreamParams, streamLines, streamVerdict, windowPcm, type StreamResult, type StreamStep } from './stream-window.js';

// ---------------------------------------------------------------- the stream

/** What stream() needs of a model: a Model or a WhisperState. */
export interface StreamModel {
  transcribe(pcm: Float32Array, options: TranscribeOptions): Promise<{ text: string; synthetic: boolean }>;
}

export interface StreamOptions extends Omit<PresetParams, 'singleSegment' | 'noTimestamps'> {
  /** transcribe a new window every `stepMs` ms of audio (default 3000, as stream.cpp) */
  stepMs?: number;
  /** window length, ms (default 10000) */
  lengthMs?: number;
  /** audio kept from the previous line, ms (default 200) */
  keepMs?: number;
  /** feed the audio at real-time pace (wall clock) instead of as fast as possible (default false) */
  realtime?: boolean;
  /** compute threads per transcription (default min(4, cores), as stream.cpp) */
  threads?: number;
  /** a preset's decoding parameters (single segment and no timestamps stay on) */
  preset?: PresetName;
  /** transcriptions of the first window before the stream starts, not measured (default 1) */
  warmup?: number;
  /** fraction of on-time steps that counts as keeping up (default KEEPS_UP_FRACTION) */
  keepUpFraction?: number;
  /** stops the stream: the transcription in progress is aborted and the run rejects with ABORTED */
  signal?: AbortSignal;
}

/** A running stream: iterate it for each step as it finishes; result() waits for the end. */
export interface StreamRun extends AsyncIterable<StreamStep> {
  /** every step and the summary, once the stream has ended (the steps not yet iterated run on) */
  result(): Promise<StreamResult>;
}

/** @internal time source of a stream; tests give a fake one. */
export interface StreamDeps {
  /** a monotonic clock, ms */
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const defaultStreamDeps: StreamDeps = {
  now: () => performance.now(),
  sleep: async (ms, signal) => {
    try {
      await sleepMs(ms, undefined, { signal });
    } catch {
      throw new WhisperPerfError('stream aborted', 'ABORTED');
    }
  },
};

/**
 * Streams `pcm` (16 kHz mono) through `model` as whisper.cpp's stream example would from a
 * microphone: a window every `stepMs`, at real-time pace or as fast as possible. It starts at
 * once; iterate the returned run for each step's partial text as it comes, and `await
 * run.result()` for the latency figures, the verdict and the text.
 */
export function stream(model: StreamModel, pcm: Float32Array, options: StreamOptions = {}): StreamRun {
  return createStream(model, pcm, options, defaultStreamDeps);
}

/** @internal stream() with its time source given. */
export function createStream(model: StreamModel, pcm: Float32Array, options: StreamOptions, deps: StreamDeps): StreamRun {
  if (!model || typeof model.transcribe !== 'function') throw invalidArgument('model', model, 'a loaded Model or WhisperState');
  checkPcm(pcm);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidArgument('options', options, 'an options object');
  const { stepMs: s, lengthMs: l, keepMs: k, realtime: rt, warmup: w, keepUpFraction: f, signal, preset, threads: t, ...decoding } = options;
  const { stepMs, lengthMs, keepMs } = checkStreamParams(s ?? STREAM_DEFAULTS.stepMs, l ?? STREAM_DEFAULTS.lengthMs, k ?? STREAM_DEFAULTS.keepMs);
  const realtime = checkBool(rt, 'realtime', false);
  const warmup = checkInt(w ?? 1, 'warmup', 0, 100);
  const threshold = f ?? KEEPS_UP_FRACTION;
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) throw invalidArgument('keepUpFraction', threshold, 'a number above 0, at most 1');
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgument('signal', signal, 'an AbortSignal');
  for (const key of ['singleSegment', 'noTimestamps'] as const) {
    if (key in (options as object)) throw invalidArgument(key, (options as Record<string, unknown>)[key], 'nothing: a stream always decodes one segment per window without timestamps, as stream.cpp');
  }
  const resolved = resolvePreset({ ...decoding, preset, threads: t });
  const threads = checkThreads(resolved.threads);
  const transcribeOpts: TranscribeOptions = { ...resolved, threads, singleSegment: true, noTimestamps: true, signal };
  const scheduler = new StreamScheduler({ stepMs, lengthMs, keepMs, totalSamples: pcm.length });

  const steps: StreamStep[] = [];
  let finished = false;
  let failure: unknown;
  let stopRequested = false;
  let synthetic = false;
  let wallMs = 0;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const produce = async (): Promise<void> => {
    const throwIfAborted = () => {
      if (signal?.aborted) throw new WhisperPerfError('stream aborted', 'ABORTED');
    };
    throwIfAborted();
    const first = pcm.slice(0, Math.min(pcm.length, scheduler.lengthSamples));
    for (let i = 0; i < warmup; i++) {
      throwIfAborted();
      await model.transcribe(first, transcribeOpts);
    }
    const t0 = deps.now();
    let virtual = 0;
    const clockNow = () => (realtime ? deps.now() - t0 : virtual);
    for (;;) {
      throwIfAborted();
      if (stopRequested) break;
      const ready = scheduler.nextReadyMs();
      if (ready === null) break;
      const before = clockNow();
      if (before < ready) {
        if (realtime) await deps.sleep(ready - before, signal);
        else virtual = ready;
      }
      // the step's audio: exactly `step` ms when it had to wait for it, the newest step when the model was late
      const captureMs = before < ready ? ready : before;
      const startedAtMs = Math.max(clockNow(), captureMs);
      const win = scheduler.take(captureMs);
      const buf = windowPcm(pcm, win.pieces);
      const c0 = deps.now();
      const tr = await model.transcribe(buf, transcribeOpts);
      const computeMs = deps.now() - c0;
      if (!realtime) virtual = startedAtMs + computeMs;
      const doneAtMs = Math.max(clockNow(), startedAtMs);
      synthetic = tr.synthetic;
      const capturedAtMs = win.newEnd / SAMPLES_PER_MS;
      const nextDueMs = capturedAtMs + stepMs;
      steps.push({
        index: win.index,
        audioStartMs: win.newStart / SAMPLES_PER_MS,
        audioEndMs: win.newEnd / SAMPLES_PER_MS,
        windowMs: win.samples / SAMPLES_PER_MS,
        keptMs: win.keptSamples / SAMPLES_PER_MS,
        droppedMs: win.droppedSamples / SAMPLES_PER_MS,
        capturedAtMs,
        startedAtMs,
        doneAtMs,
        latencyMs: doneAtMs - capturedAtMs,
        nextDueMs,
        onTime: doneAtMs <= nextDueMs,
        computeMs,
        text: tr.text,
        commit: win.commit,
        final: win.final,
      });
      wallMs = deps.now() - t0;
      notify();
    }
  };

  const done = produce().then(
    () => {
      finished = true;
      notify();
    },
    (e: unknown) => {
      failure = e;
      finished = true;
      notify();
    },
  );

  const result = async (): Promise<StreamResult> => {
    await done;
    if (failure !== undefined) throw failure;
    const v = streamVerdict(steps, stepMs, threshold);
    const lines = streamLines(steps);
    return {
      stepMs,
      lengthMs,
      keepMs,
      realtime,
      clock: realtime ? 'wall' : 'virtual',
      threads,
      audioS: pcm.length / 16000,
      steps: [...steps],
      latency: latencySummary(steps.map((x) => x.latencyMs)),
      compute: latencySummary(steps.map((x) => x.computeMs)),
      onTimeFraction: v.onTimeFraction,
      droppedMs: v.droppedMs,
      keepsUp: v.keepsUp,
      verdict: v.verdict,
      lines,
      text: lines.filter((x) => x !== '').join('\n'),
      wallMs,
      synthetic,
      stopped: stopRequested,
    };
  };

  return {
    result,
    [Symbol.asyncIterator](): AsyncIterator<StreamStep> {
      let next = 0;
      return {
        async next(): Promise<IteratorResult<StreamStep>> {
          for (;;) {
            if (next < steps.length) return { value: steps[next++], done: false };
            if (finished) {
              if (failure !== undefined) throw failure;
              return { value: undefined, done: true };
            }
            await new Promise<void>((resolve) => {
              const prev = wake;
              wake = () => {
                prev?.();
                resolve();
              };
            });
          }
        },
        async return(): Promise<IteratorResult<StreamStep>> {
          // leaving the loop early stops the stream after the step in progress
          stopRequested = true;
          return { value: undefined, done: true };
        },
      };
    },
  };
}

// ---------------------------------------------------------------- the command's cell

export interface StreamBenchmarkOptions extends StreamOptions {
  /** model file; default: the embedded synthetic tiny.en */
  model?: string;
  /** audio file (any format loadAudio reads) or PCM already decoded */
  file: string | { name: string; pcm: Float32Array; durationS?: number };
  /** options of loadModel (useGpu, gpuDevice, flashAttn) */
  load?: Omit<LoadOptions, 'signal'>;
  /** options of loadAudio */
  audio?: Omit<LoadAudioOptions, 'signal'>;
  /** each step as it finishes, with the file's duration in seconds */
  onStep?: (step: StreamStep, audioS: number) => void;
  /** progress messages (model generation, warm-up) */
  onNote?: (message: string) => void;
}

/**
 * The `stream` command's measurement: loads the model and the file, runs stream() and returns
 * one BenchRow (`what: 'stream'`) with the latency figures, the verdict and the text, or a row
 * with `error` when the stream failed (a model or file that does not load is thrown).
 */
export async function streamBenchmark(options: StreamBenchmarkOptions): Promise<BenchRow[]> {
  if (typeof options !== 'object' || options === null) throw invalidArgument('options', options, 'an options object');
  const { model: modelPath, file, load, audio, onStep, onNote, ...streamOptions } = options;
  if (onStep !== undefined && typeof onStep !== 'function') throw invalidArgument('onStep', onStep, 'a function (step) => void');
  // validate the stream options before anything loads
  checkStreamParams(streamOptions.stepMs ?? STREAM_DEFAULTS.stepMs, streamOptions.lengthMs ?? STREAM_DEFAULTS.lengthMs, streamOptions.keepMs ?? STREAM_DEFAULTS.keepMs);
  const path = modelPath ?? (await ensureDefaultModel({ onProgress: onNote }));
  const signal = streamOptions.signal;
  const base: BenchRow = {
    ...provenance(),
    what: 'stream',
    model: path,
    model_type: '',
    ftype: '',
    synthetic: false,
    threads: checkThreads(resolvePreset({ preset: streamOptions.preset, threads: streamOptions.threads }).threads),
    flash_attn: load?.flashAttn ?? true,
    device: 'cpu',
    repetitions: 1,
    file: typeof file === 'string' ? file : file.name,
    preset: streamOptions.preset ?? '',
    step_ms: streamOptions.stepMs ?? STREAM_DEFAULTS.stepMs,
    length_ms: streamOptions.lengthMs ?? STREAM_DEFAULTS.lengthMs,
    keep_ms: streamOptions.keepMs ?? STREAM_DEFAULTS.keepMs,
    realtime_pace: streamOptions.realtime ?? false,
    warnings: [...buildInfo().warnings],
  };
  let model: Model | undefined;
  let mon: ResourceMonitor | undefined;
  try {
    // a file that does not decode or a model that does not load is the cell's error, as in rtf
    const a = typeof file === 'string'
      ? { name: file, ...(await loadAudio(file, { ...audio, signal })) }
      : { name: file.name, pcm: file.pcm, durationS: file.durationS ?? file.pcm.length / 16000 };
    base.audio_s = a.durationS;
    model = await loadModel(path, { ...load, signal });
    const info = model.info;
    Object.assign(base, { model_type: info.type, ftype: info.ftype, synthetic: info.synthetic, device: info.backend === 'CPU' ? 'cpu' : info.backend, backend: info.backend });
    mon = startResourceMonitor();
    onNote?.(`streaming ${basename(a.name)} (${a.durationS.toFixed(1)} s) through ${basename(path)}: step ${base.step_ms} ms, length ${base.length_ms} ms, keep ${base.keep_ms} ms, ${base.realtime_pace ? 'real-time pace' : 'as fast as possible'}`);
    const run = stream(model, a.pcm, streamOptions);
    for await (const step of run) onStep?.(step, a.durationS);
    const r = await run.result();
    return [streamRow(base, r, mon.stop())];
  } catch (e) {
    const err = e instanceof WhisperPerfError ? e : new WhisperPerfError(String((e as Error)?.message ?? e), 'NATIVE_FAILURE');
    if (err.code === 'ABORTED' && signal?.aborted) throw err;
    return [{ ...base, error: { code: err.code, message: err.message } }];
  } finally {
    mon?.stop();
    await model?.dispose();
  }
}

const round = (v: number, d: number) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v);

/** A stream's row: latency statistics, on-time fraction, drops, verdict, text, memory and CPU. */
export function streamRow(base: BenchRow, r: StreamResult, resources?: ResourceFigures): BenchRow {
  const row: BenchRow = { ...base, warnings: [...base.warnings] };
  row.threads = r.threads;
  row.step_ms = r.stepMs;
  row.length_ms = r.lengthMs;
  row.keep_ms = r.keepMs;
  row.realtime_pace = r.realtime;
  row.stream_clock = r.clock;
  row.steps = r.steps.length;
  row.audio_s = r.audioS;
  if (r.steps.length > 0) {
    row.latency_ms = summarize(r.steps.map((s) => s.latencyMs));
    row.step_compute_ms = summarize(r.steps.map((s) => s.computeMs));
  }
  row.latency_p50_ms = round(r.latency.p50, 2);
  row.latency_p95_ms = round(r.latency.p95, 2);
  row.latency_max_ms = round(r.latency.max, 2);
  row.on_time_fraction = round(r.onTimeFraction, 4);
  row.dropped_audio_s = round(r.droppedMs / 1000, 3);
  row.keeps_up = r.keepsUp;
  row.verdict = r.verdict;
  row.text = r.text;
  row.wall_s = round(r.wallMs / 1000, 3);
  if (resources) {
    row.peak_rss_mb = resources.peak_rss_mb;
    row.cpu_pct = resources.cpu_pct;
  }
  if (!r.realtime) row.warnings.push('as fast as possible: latencies are on a virtual clock (each step costs its measured time; idle time is skipped), --realtime measures them on the wall clock');
  if (r.stopped) row.warnings.push('the stream was stopped early');
  if (base.synthetic) row.warnings.push('synthetic weights: timings are real, the text is meaningless (and the decoder rarely ends a window by itself: --max-tokens caps it)');
  return row;
}
