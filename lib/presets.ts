/**
 * Transcription presets: named, documented sets of whisper_full parameters for `rtf`,
 * `transcribe` and the API (`preset` option). A preset fills the options the caller did not
 * give: explicit options always win (`resolvePreset`).
 *
 * | preset   | threads                 | decoding                  | fallback                     | other                                   |
 * | -------- | ----------------------- | ------------------------- | ---------------------------- | --------------------------------------- |
 * | speed    | every core              | greedy, best-of 1         | none (temperatureInc 0)      | max text context 64                      |
 * | balanced | min(4, cores)           | greedy, best-of 5         | +0.2 up to 1.0               | whisper_full's defaults (= no preset)    |
 * | quality  | every core              | beam search 5, best-of 5  | +0.2 up to 1.0               | whisper-cli's defaults                   |
 * | realtime | every core but one      | greedy, best-of 1         | none                         | single segment per window, max text 64   |
 *
 * Thresholds (entropy 2.4, log-probability −1, no-speech 0.6) are whisper.cpp's in every preset:
 * they decide when a fallback happens, and with fallback off they only mark silent segments.
 * audio_ctx is 0 (the full 1500 frames) in every preset: a smaller encoder context speeds the
 * encoder up but whisper.cpp then sees only audioCtx × 20 ms of each 30-second window, and with
 * single-segment decoding it moves on by the whole window — audio would be skipped silently and
 * the real-time factor would flatter. Set `audioCtx` explicitly to measure that trade.
 */
import { availableParallelism } from 'node:os';

import { invalidArgument } from './errors.js';
import type { TranscribeOptions } from './model/model.js';
import { transcribeOptions } from './model/transcription.js';
import type { NativeFullOptions } from './native.js';

export const PRESET_NAMES = ['speed', 'balanced', 'quality', 'realtime'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/**
 * How a preset picks the thread count when the caller gives none:
 * - `all`: every logical core (availableParallelism());
 * - `all-but-one`: every core but one, at least 1 (a core left for audio capture and the event loop);
 * - `whisper-default`: whisper.cpp's own default, min(4, cores).
 */
export type ThreadsPolicy = 'all' | 'all-but-one' | 'whisper-default';

/** The decoding parameters a preset sets (every TranscribeOptions field but threads, callbacks and signal). */
export type PresetParams = Omit<TranscribeOptions, 'threads' | 'onProgress' | 'onSegment' | 'signal'>;

export interface Preset {
  name: PresetName;
  /** one line: what it is for */
  summary: string;
  threads: ThreadsPolicy;
  params: Readonly<PresetParams>;
}

const WHISPER_THRESHOLDS = { entropyThold: 2.4, logprobThold: -1, noSpeechThold: 0.6 } as const;

/** The presets, exactly. */
export const PRESETS: Readonly<Record<PresetName, Preset>> = Object.freeze({
  speed: Object.freeze({
    name: 'speed',
    summary: 'fastest: greedy decoding, one candidate, no temperature fallback, every core',
    threads: 'all',
    params: Object.freeze({ bestOf: 1, temperature: 0, temperatureInc: 0, ...WHISPER_THRESHOLDS, audioCtx: 0, maxTextCtx: 64, singleSegment: false, noTimestamps: false }),
  }),
  balanced: Object.freeze({
    name: 'balanced',
    summary: "whisper_full's defaults (what transcribe() does without a preset): greedy, best-of 5 on fallback, fallback +0.2",
    threads: 'whisper-default',
    params: Object.freeze({ bestOf: 5, temperature: 0, temperatureInc: 0.2, ...WHISPER_THRESHOLDS, audioCtx: 0, maxTextCtx: 16384, singleSegment: false, noTimestamps: false }),
  }),
  quality: Object.freeze({
    name: 'quality',
    summary: "whisper-cli's defaults: beam search of 5, best-of 5 on fallback, fallback +0.2, every core",
    threads: 'all',
    params: Object.freeze({ beamSize: 5, bestOf: 5, temperature: 0, temperatureInc: 0.2, ...WHISPER_THRESHOLDS, audioCtx: 0, maxTextCtx: 16384, singleSegment: false, noTimestamps: false }),
  }),
  realtime: Object.freeze({
    name: 'realtime',
    summary: 'lowest latency per window, as whisper-stream: greedy, one candidate, no fallback, one segment per window, a core left free',
    threads: 'all-but-one',
    params: Object.freeze({ bestOf: 1, temperature: 0, temperatureInc: 0, ...WHISPER_THRESHOLDS, audioCtx: 0, maxTextCtx: 64, singleSegment: true, noTimestamps: false }),
  }),
});

/** True for a preset name. */
export function isPresetName(name: unknown): name is PresetName {
  return typeof name === 'string' && (PRESET_NAMES as readonly string[]).includes(name);
}

/** The preset of that name; INVALID_ARGUMENT naming the presets for any other value. */
export function getPreset(name: unknown): Preset {
  if (!isPresetName(name)) throw invalidArgument('preset', name, PRESET_NAMES.join(', '));
  return PRESETS[name];
}

/** The thread count a policy gives on a machine with `cores` logical cores. */
export function presetThreads(policy: ThreadsPolicy, cores: number = availableParallelism()): number {
  switch (policy) {
    case 'all':
      return Math.max(1, cores);
    case 'all-but-one':
      return Math.max(1, cores - 1);
    case 'whisper-default':
      return Math.max(1, Math.min(4, cores));
    default:
      throw invalidArgument('threads policy', policy, 'all, all-but-one, whisper-default');
  }
}

/** Transcription options that may name a preset. */
export type PresetOptions = TranscribeOptions & { preset?: PresetName };

/**
 * Merges a preset under explicit options: every option the caller set (not undefined) wins, the
 * preset fills the rest, and `threads` comes from the preset's policy when not given. Without a
 * preset the options come back unchanged (minus `preset`). `beamSize: 0` asks for greedy
 * decoding explicitly (it removes a preset's beam search).
 */
export function resolvePreset(options: PresetOptions = {}, cores?: number): TranscribeOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidArgument('options', options, 'an options object');
  const { preset, ...rest } = options;
  const explicit: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) explicit[k] = v;
  let merged: Record<string, unknown>;
  if (preset === undefined) {
    merged = explicit;
  } else {
    const p = getPreset(preset);
    merged = { ...p.params, threads: presetThreads(p.threads, cores), ...explicit };
  }
  if (merged.beamSize === 0) delete merged.beamSize;
  return merged as TranscribeOptions;
}

/** whisper_full's parameters exactly as a preset sends them (validated and with every default filled), on a machine with `cores` cores. */
export function presetFullParams(name: PresetName, cores?: number): Omit<NativeFullOptions, 'wantProgress' | 'wantSegments'> {
  // the context sizes are only range limits here: every model has 1500 audio frames and 448 text tokens
  const { wantProgress: _p, wantSegments: _s, ...full } = transcribeOptions(resolvePreset({ preset: name }, cores), { nTextCtx: 448, nAudioCtx: 1500 });
  return full;
}

/** A preset as one flat table row (the `presets` command). */
export interface PresetRow {
  preset: PresetName;
  threads_policy: ThreadsPolicy;
  /** the threads the policy gives on this machine */
  threads: number;
  decoding: 'greedy' | 'beam';
  beam_size: number | null;
  best_of: number;
  temperature: number;
  temperature_inc: number;
  fallback: boolean;
  entropy_thold: number;
  logprob_thold: number;
  no_speech_thold: number;
  audio_ctx: number;
  max_text_ctx: number;
  single_segment: boolean;
  no_timestamps: boolean;
  language: string;
  summary: string;
}

/** Every preset as a row with its exact parameters on a machine with `cores` cores. */
export function presetRows(cores?: number): PresetRow[] {
  return PRESET_NAMES.map((name) => {
    const f = presetFullParams(name, cores);
    return {
      preset: name,
      threads_policy: PRESETS[name].threads,
      threads: f.threads,
      decoding: f.beamSearch ? 'beam' : 'greedy',
      beam_size: f.beamSearch ? f.beamSize : null,
      best_of: f.bestOf,
      temperature: f.temperature,
      temperature_inc: f.temperatureInc,
      fallback: f.temperatureInc > 0,
      entropy_thold: f.entropyThold,
      logprob_thold: f.logprobThold,
      no_speech_thold: f.noSpeechThold,
      audio_ctx: f.audioCtx,
      max_text_ctx: f.maxTextCtx,
      single_segment: f.singleSegment,
      no_timestamps: f.noTimestamps,
      language: f.language,
      summary: PRESETS[name].summary,
    };
  });
}
