/**
 * The real-time-factor matrix: models × audio files × presets × threads, each cell a number of
 * whole transcriptions (whisper_full) of the file, with the bench engine's statistics, warnings
 * and provenance, one BenchRow (`what: 'rtf'`) per cell.
 *
 * - Each model is loaded once and kept while files, presets and threads change (the model is the
 *   outer axis); each audio file is decoded once (loadAudio) and shared by every model.
 * - A cell: `warmup` transcriptions of the file's first 30 s (default 1: the first run after a
 *   change of thread count or file is slower), then `repetitions` measured transcriptions of the
 *   whole file (default 3). Memory and CPU are taken over the whole cell.
 * - process_s is the wall time of whisper_full on the model's compute thread (mel, encoder and
 *   decoder included; not the queue wait); rtf = process_s / audio_s with audio_s the file's true
 *   duration; rtfx = audio_s / process_s. Stage timings are whisper.cpp's own per-run figures.
 * - A cell that fails (a file that does not decode, a model that does not load, a transcription
 *   that fails) becomes a row with `error`; the sweep goes on. An abort through `signal` stops it.
 */
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { loadAudio, type LoadAudioOptions } from '../audio/load.js';
import { invalidArgument, WhisperPerfError } from '../errors.js';
import type { BufferSizes, WhisperTimings } from '../logs.js';
import { loadModel, type LoadOptions, type Transcript, type TranscribeOptions } from '../model/model.js';
import { ensureDefaultModel } from '../models/default.js';
import { buildInfo, gpuDevices } from '../system.js';
import { checkInt, checkThreads } from '../validate.js';
import type { BenchmarkProgress } from './engine.js';
import { provenance } from './engine.js';
import { cartesian } from '../measure/params.js';
import { getPreset, presetThreads, resolvePreset, type PresetName, type PresetParams } from '../presets.js';
import { cellResources, contentionWarning, startCellMonitors } from '../measure/hardware.js';
import { MIN_SAMPLES, summarize, warningsFor } from '../measure/stats.js';
import type { BenchRow, Provenance } from '../measure/types.js';

/** Audio already in memory: 16 kHz mono PCM with a name for the rows. */
export interface RtfAudio {
  name: string;
  pcm: Float32Array;
  /** true duration in seconds (default pcm.length / 16000) */
  durationS?: number;
}

export interface RtfOptions {
  /** model files; default: the embedded synthetic tiny.en */
  models?: string | string[];
  /** audio files (any format loadAudio reads) or PCM already decoded */
  files: string | RtfAudio | (string | RtfAudio)[];
  /** thread counts; default: each preset's own thread policy */
  threads?: number | number[];
  /** presets (default 'balanced': whisper_full's defaults) */
  presets?: PresetName | PresetName[];
  /** decoding options applied to every cell over the preset (language, beamSize, audioCtx ...) */
  transcribe?: PresetParams;
  /** measured transcriptions per cell (default 3) */
  repetitions?: number;
  /** warm-up transcriptions of the file's first 30 s per cell (default 1) */
  warmup?: number;
  /** pause between cells, ms (default 0) */
  delayMs?: number;
  /** 'cpu' or a GPU index as a string (default: '0' with a GPU build, else 'cpu') */
  device?: string;
  /** flash attention (default true) */
  flashAttn?: boolean;
  /** options of loadAudio (maxSeconds, maxBytes, ffmpeg) */
  audio?: Omit<LoadAudioOptions, 'signal'>;
  onProgress?: (p: BenchmarkProgress) => void;
  signal?: AbortSignal;
}

/** The model surface rtf needs (the real Model, or a fake in tests). */
export interface RtfModel {
  info: { type: string; ftype: string; synthetic: boolean; backend: string; buffers?: BufferSizes };
  transcribe(pcm: Float32Array, options: TranscribeOptions): Promise<RtfTranscript>;
  /** whisper.cpp's counters since the load: only the fallback counts are read */
  timings(): Promise<Pick<WhisperTimings, 'fallbacksP' | 'fallbacksH'>>;
  dispose(): Promise<void>;
}

/** What a transcription must report for a row. */
export type RtfTranscript = Pick<Transcript, 'ms' | 'timings' | 'firstSegmentMs' | 'fallbacks' | 'language'> & { segments: readonly unknown[] };

/** @internal what rtf() calls out to; tests replace it. */
export interface RtfDeps {
  loadModel(path: string, options: LoadOptions): Promise<RtfModel>;
  loadAudio(input: string, options: LoadAudioOptions): Promise<{ pcm: Float32Array; durationS: number }>;
  provenance(): Provenance;
  /** build warnings every row carries (debug build, sanitizer) */
  buildWarnings(): string[];
  gpuCount(): number;
  /** starts the cell's monitors (memory, CPU, GPU); stop() gives the row's hardware fields */
  monitor(device: string, info: RtfModel['info']): { stop(): Promise<Partial<BenchRow>> };
  defaultModel(onProgress?: (m: string) => void): Promise<string>;
}

/** The real dependencies of the rtf cell (quality's sweep runs the same cell with them). */
export const defaultRtfDeps: RtfDeps = {
  loadModel: (p, o) => loadModel(p, o),
  loadAudio: (i, o) => loadAudio(i, o),
  provenance,
  buildWarnings: () => buildInfo().warnings,
  gpuCount: () => gpuDevices().length,
  monitor: (device, info) => {
    const m = startCellMonitors(device, info.backend);
    return { stop: () => cellResources(m, info) };
  },
  defaultModel: (onProgress) => ensureDefaultModel({ onProgress }),
};

/** Seconds of audio in a warm-up run: one whisper window. */
export const WARMUP_AUDIO_S = 30;

const asList = <T>(v: T | T[] | undefined, fallback: T[]): T[] => (v === undefined ? fallback : Array.isArray(v) ? v : [v]);

/**
 * Runs the real-time-factor matrix: every combination of models × files × presets × threads,
 * each a cell of repeated whole transcriptions → one BenchRow per cell (`what: 'rtf'`).
 * A failed cell is a row with `error`; the others still run.
 */
export function rtf(options: RtfOptions): Promise<BenchRow[]> {
  return runRtf(options, defaultRtfDeps);
}

/** @internal rtf() with its dependencies given. */
export async function runRtf(options: RtfOptions, deps: RtfDeps): Promise<BenchRow[]> {
  if (typeof options !== 'object' || options === null) throw invalidArgument('options', options, 'an options object');
  const files = asList(options.files, []);
  if (files.length === 0) throw invalidArgument('files', options.files, 'at least one audio file');
  const names = files.map((f, i) => {
    if (typeof f === 'string' && f !== '') return f;
    if (f && typeof f === 'object' && typeof f.name === 'string' && f.pcm instanceof Float32Array) return f.name;
    throw invalidArgument(`files[${i}]`, f, 'an audio file path or { name, pcm: Float32Array }');
  });
  if (new Set(names).size !== names.length) throw invalidArgument('files', names.join(','), 'each file once');
  const presets = asList<PresetName>(options.presets, ['balanced']);
  for (const p of presets) getPreset(p);
  if (new Set(presets).size !== presets.length) throw invalidArgument('presets', presets.join(','), 'each preset once');
  const threads: (number | undefined)[] = options.threads === undefined ? [undefined] : asList(options.threads, []).map((t) => checkThreads(t));
  if (threads.length === 0) throw invalidArgument('threads', '[]', 'at least one thread count');
  const repetitions = checkInt(options.repetitions ?? 3, 'repetitions', 1, 10000);
  const warmup = checkInt(options.warmup ?? 1, 'warmup', 0, 100);
  const delayMs = checkInt(options.delayMs ?? 0, 'delayMs', 0, 3_600_000);
  const extra: PresetParams = options.transcribe ?? {};
  if (typeof extra !== 'object' || extra === null || 'preset' in extra) throw invalidArgument('transcribe', extra, 'decoding options (the presets go in `presets`)');
  const gpus = deps.gpuCount();
  const device = options.device ?? (gpus > 0 ? '0' : 'cpu');
  if (device !== 'cpu' && !/^\d+$/.test(device)) throw invalidArgument('device', device, "'cpu' or a GPU index");
  const flashAttn = options.flashAttn ?? true;
  if (typeof flashAttn !== 'boolean') throw invalidArgument('flashAttn', flashAttn, 'true or false');
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgument('signal', signal, 'an AbortSignal');

  const models = asList(options.models, []);
  if (models.length === 0) models.push(await deps.defaultModel((m) => options.onProgress?.({ done: 0, total: 1, label: m })));
  for (const m of models) if (typeof m !== 'string' || m === '') throw invalidArgument('model', m, 'a model file path');

  const prov = deps.provenance();
  const buildWarnings = deps.buildWarnings();
  // model first: it is loaded once; threads last, so a file's cells come together
  const cells = cartesian({ model: models, file: files.map((_, i) => i), preset: presets, threads });

  // each file decoded once, on first use, for every model
  const audio = new Map<number, Promise<{ pcm: Float32Array; durationS: number }>>();
  const getAudio = (i: number) => {
    let a = audio.get(i);
    if (!a) {
      const f = files[i];
      a = typeof f === 'string'
        ? deps.loadAudio(f, { ...options.audio, signal })
        : Promise.resolve({ pcm: f.pcm, durationS: f.durationS ?? f.pcm.length / 16000 });
      a.catch(() => undefined);
      audio.set(i, a);
    }
    return a;
  };

  // progress: the ETA weighs cells by their audio seconds once known
  const started = performance.now();
  const weight = (i: number) => known.get(cells[i].file) ?? meanKnown();
  const known = new Map<number, number>();
  const meanKnown = () => (known.size ? [...known.values()].reduce((a, b) => a + b, 0) / known.size : 1);
  let doneWeight = 0;
  const progress = (done: number, label: string) => {
    let eta: number | undefined;
    if (doneWeight > 0) {
      let left = 0;
      for (let i = done; i < cells.length; i++) left += weight(i);
      eta = ((performance.now() - started) / doneWeight) * left;
    }
    options.onProgress?.({ done, total: cells.length, label, etaMs: eta });
  };

  const rows: BenchRow[] = [];
  let current: { path: string; model: RtfModel } | undefined;
  let loadFailure: { path: string; error: WhisperPerfError } | undefined;
  try {
    for (const [i, cell] of cells.entries()) {
      throwIfAborted(signal);
      const name = names[cell.file];
      const preset = getPreset(cell.preset);
      const t = cell.threads ?? presetThreads(preset.threads);
      const label = `${basename(cell.model)} ${basename(name)} ${cell.preset} -t ${t}`;
      progress(i, label);
      const base: BenchRow = {
        ...prov,
        what: 'rtf',
        model: cell.model,
        model_type: '',
        ftype: '',
        synthetic: false,
        threads: t,
        flash_attn: flashAttn,
        device,
        repetitions,
        file: name,
        preset: cell.preset,
        warnings: [...buildWarnings],
      };
      try {
        if (device !== 'cpu' && Number(device) >= gpus) {
          throw new WhisperPerfError(`device ${device}: this build sees ${gpus} GPU device(s)`, 'INVALID_ARGUMENT');
        }
        if (loadFailure?.path === cell.model) throw loadFailure.error;
        if (current?.path !== cell.model) {
          await current?.model.dispose();
          current = undefined;
          try {
            current = { path: cell.model, model: await deps.loadModel(cell.model, { useGpu: device !== 'cpu', gpuDevice: device === 'cpu' ? undefined : Number(device), flashAttn, signal }) };
          } catch (e) {
            loadFailure = { path: cell.model, error: asError(e) };
            throw e;
          }
        }
        const model = current.model;
        const info = model.info;
        Object.assign(base, { model_type: info.type, ftype: info.ftype, synthetic: info.synthetic });
        if (info.backend && info.backend !== 'CPU' && device === 'cpu') base.warnings.push(`the weights are on ${info.backend}, not the CPU`);
        const a = await getAudio(cell.file);
        known.set(cell.file, a.durationS);
        base.audio_s = a.durationS;
        const opts = { ...resolvePreset({ ...extra, preset: cell.preset, threads: t }), signal };
        const mon = deps.monitor(device, info);
        let hardware: Partial<BenchRow>;
        const runs: RtfTranscript[] = [];
        try {
          const head = a.pcm.length > WARMUP_AUDIO_S * 16000 ? a.pcm.slice(0, WARMUP_AUDIO_S * 16000) : a.pcm;
          for (let w = 0; w < warmup; w++) {
            progress(i, `${label} warm-up ${w + 1}/${warmup}`);
            await model.transcribe(head, opts);
          }
          for (let r = 0; r < repetitions; r++) {
            progress(i, `${label} run ${r + 1}/${repetitions}`);
            // whisper_reset_timings leaves whisper.cpp's fallback counters alone: they count from the
            // load, so a transcription's fallbacks are the difference of the counters around it
            const before = await fallbackCount(model);
            const t = await model.transcribe(a.pcm, opts);
            runs.push({ ...t, fallbacks: (await fallbackCount(model)) - before });
          }
        } finally {
          hardware = await mon.stop();
        }
        rows.push(rtfRow(base, a.durationS, runs, hardware));
      } catch (e) {
        const err = asError(e);
        if (err.code === 'ABORTED' && signal?.aborted) throw err;
        rows.push({ ...base, error: { code: err.code, message: err.message } });
      }
      doneWeight += weight(i);
      if (delayMs && i < cells.length - 1) await sleep(delayMs);
    }
  } finally {
    await current?.model.dispose();
  }
  progress(cells.length, 'done');
  return rows;
}

async function fallbackCount(model: RtfModel): Promise<number> {
  const t = await model.timings();
  return t.fallbacksP + t.fallbacksH;
}

function asError(e: unknown): WhisperPerfError {
  return e instanceof WhisperPerfError ? e : new WhisperPerfError(String((e as Error)?.message ?? e), 'NATIVE_FAILURE');
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new WhisperPerfError('rtf aborted', 'ABORTED');
}

type StageName = 'encode' | 'decode' | 'batchd' | 'prompt' | 'sample';
const STAGES: readonly StageName[] = ['encode', 'decode', 'batchd', 'prompt', 'sample'];

const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;

/**
 * A cell's row from its measured transcriptions: process_s, rtf and rtfx per run, whisper.cpp's
 * per-run stage timings (a stage that did not run in a transcription adds no sample), the file's
 * mel, the time to the first segment, fallbacks and stage runs per transcription (means), the
 * cell's hardware fields (memory, CPU, backend, buffers, GPU: see hardware.ts), and the warnings
 * the figures call for.
 */
export function rtfRow(base: BenchRow, audioS: number, runs: readonly RtfTranscript[], hardware: Partial<BenchRow> = {}): BenchRow {
  if (runs.length === 0) throw invalidArgument('runs', runs, 'at least one transcription');
  if (!(audioS > 0)) throw invalidArgument('audioS', audioS, 'a duration > 0');
  const proc = runs.map((r) => r.ms / 1000);
  const row: BenchRow = { ...base, warnings: [...base.warnings], audio_s: audioS };
  row.process_s = summarize(proc);
  row.rtf = summarize(proc.map((p) => p / audioS));
  row.rtfx = summarize(proc.map((p) => (p > 0 ? audioS / p : 0)));
  const perRun = (k: StageName) => runs.map((r) => (r.timings as WhisperTimings)[k]).filter((s) => s.runs > 0).map((s) => s.perRunMs);
  const stat = (xs: number[]) => (xs.length ? summarize(xs) : undefined);
  const enc = stat(perRun('encode'));
  const dec = stat(perRun('decode'));
  const bat = stat(perRun('batchd'));
  const pro = stat(perRun('prompt'));
  const sam = stat(perRun('sample'));
  const mel = stat(runs.map((r) => r.timings.melMs).filter((x) => x > 0));
  const first = stat(runs.map((r) => r.firstSegmentMs).filter((x): x is number => typeof x === 'number'));
  if (enc) row.encode_ms = enc;
  if (dec) row.decode_ms = dec;
  if (bat) row.batchd_ms = bat;
  if (pro) row.prompt_ms = pro;
  if (sam) row.sample_ms = sam;
  if (mel) row.mel_ms = mel;
  if (first) row.first_segment_ms = first;
  const meanOf = (xs: number[]) => round(xs.reduce((a, b) => a + b, 0) / xs.length, 2);
  row.fallbacks = meanOf(runs.map((r) => r.fallbacks));
  row.stage_runs = Object.fromEntries(STAGES.map((k) => [k, meanOf(runs.map((r) => r.timings[k].runs))])) as NonNullable<BenchRow['stage_runs']>;
  const lang = runs[runs.length - 1].language;
  if (lang) row.language = lang;
  Object.assign(row, hardware);

  for (const [label, s] of [['process', row.process_s], ['encode', enc], ['decode', dec], ['batchd', bat], ['prompt', pro]] as const) {
    if (s) row.warnings.push(...warningsFor(s, label, { sampleCount: false }));
  }
  const contention = contentionWarning(row.cpu_pct, row.threads);
  if (contention) row.warnings.push(contention);
  if (runs.length < MIN_SAMPLES) {
    row.warnings.push(`only ${runs.length} repetition${runs.length === 1 ? '' : 's'}: spreads and confidence intervals need at least ${MIN_SAMPLES} (-r ${MIN_SAMPLES})`);
  }
  const noSegment = runs.filter((r) => r.segments.length === 0).length;
  if (noSegment > 0) row.warnings.push(`${noSegment} of ${runs.length} transcriptions produced no segment (silence, or the no-speech threshold): the decoder did little work`);
  if (row.fallbacks > 0) {
    row.warnings.push(
      `${row.fallbacks} failed decode${row.fallbacks === 1 ? '' : 's'} per transcription (entropy or log-probability threshold; whisper.cpp's fallback count): ` +
        'with temperature fallback on, each ran the decoder again at a higher temperature, and the RTF includes it',
    );
  }
  if (base.synthetic) row.warnings.push('synthetic weights: timings are real, transcripts are meaningless');
  return row;
}

