/**
 * Transcription: the options validated and filled with whisper.cpp's defaults, and the body that
 * Model.transcribe and WhisperState.transcribe share (callbacks, result, timings).
 */
import { invalidArgument } from '../errors.js';
import { joinLogLines, parseTimings } from '../logs.js';
import type { NativeFullEvent, NativeFullOptions, NativeModel, NativeModelInfo, NativeSegment } from '../native.js';
import { checkBool, checkInt, checkObject, checkPcm, checkThreads } from '../validate.js';
import { timed } from './calls.js';
import type { Transcript, TranscribeOptions, TranscriptSegment } from './types.js';

type FullCall = (o: NativeFullOptions, onEvent?: (e: NativeFullEvent) => void) => ReturnType<NativeModel['full']>;
type FullResult = Awaited<ReturnType<NativeModel['full']>>;

/** The shared body of Model.transcribe and WhisperState.transcribe: validation, callbacks, result. */
export function startTranscription(pcm: Float32Array, options: TranscribeOptions, hparams: NativeModelInfo, synthetic: boolean, hasTimings: boolean) {
  let callbackError: unknown;
  return {
    start(call: FullCall) {
      const o = checkObject<TranscribeOptions>(options, 'options');
      checkPcm(pcm);
      const native = transcribeOptions(o, hparams);
      const { onProgress, onSegment } = o;
      if (onProgress !== undefined && typeof onProgress !== 'function') throw invalidArgument('onProgress', onProgress, 'a function (percent) => void');
      if (onSegment !== undefined && typeof onSegment !== 'function') throw invalidArgument('onSegment', onSegment, 'a function (segment) => void');
      native.wantProgress = Boolean(onProgress);
      native.wantSegments = Boolean(onSegment);
      const onEvent = onProgress || onSegment
        ? (e: NativeFullEvent) => {
            const failed = (err: unknown) => {
              callbackError ??= err;
            };
            try {
              // an async callback's rejection is this transcription's error too, never an unhandled rejection
              const settle = (v: unknown) => {
                if (v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as PromiseLike<unknown>).then === 'function') {
                  Promise.resolve(v).catch(failed);
                }
              };
              if (e.type === 'progress') settle(onProgress?.(e.progress));
              else for (const s of e.segments) settle(onSegment?.(segmentOf(s)));
            } catch (err) {
              // a throwing callback must not throw into the addon: the transcription rejects with it
              callbackError ??= err;
            }
          }
        : undefined;
      return call(native, onEvent);
    },
    finish: (r: FullResult): Transcript => {
      if (callbackError !== undefined) throw callbackError;
      const timings = parseTimings(joinLogLines(r.timingLines));
      const audioS = pcm.length / 16000;
      const segments = r.segments.map(segmentOf);
      return {
        ...timed(r),
        language: r.language,
        segments,
        text: segments.map((s) => s.text).join('').trim(),
        timings: hasTimings ? timings : null,
        audioS,
        rtf: r.ms / 1000 / audioS,
        firstSegmentMs: r.firstSegmentMs,
        fallbacks: hasTimings ? timings.fallbacksP + timings.fallbacksH : null,
        synthetic,
      } as Transcript;
    },
  };
}

function segmentOf(s: NativeSegment): TranscriptSegment {
  return {
    index: s.index,
    start: s.t0 / 100,
    end: s.t1 / 100,
    text: s.text,
    noSpeechProb: s.noSpeechProb,
    tokens: s.tokens.map((t) => ({ id: t.id, text: t.text, p: t.p, start: t.t0 / 100, end: t.t1 / 100 })),
  };
}

const num = (v: unknown, name: string, def: number, min: number, max: number): number => {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !(v >= min && v <= max)) throw invalidArgument(name, v, `a number from ${min} to ${max}`);
  return v;
};

/** Validates transcription options and fills whisper.cpp's defaults. */
export function transcribeOptions(o: TranscribeOptions, h: { nTextCtx: number; nAudioCtx: number }): NativeFullOptions {
  const language = o.language ?? 'en';
  if (typeof language !== 'string' || !/^(auto|[a-z]{2,3}|haw|yue)$/.test(language)) {
    throw invalidArgument('language', language, "an ISO 639-1 code such as 'en', or 'auto'");
  }
  const beamSize = o.beamSize === undefined ? 0 : checkInt(o.beamSize, 'beamSize', 1, 16);
  if (o.initialPrompt !== undefined && typeof o.initialPrompt !== 'string') throw invalidArgument('initialPrompt', o.initialPrompt, 'a string');
  const noFallback = checkBool(o.noFallback, 'noFallback', false);
  return {
    threads: checkThreads(o.threads),
    processors: o.processors === undefined ? 1 : checkInt(o.processors, 'processors', 1, 64),
    language,
    detectLanguage: false,
    translate: checkBool(o.translate, 'translate', false),
    beamSearch: beamSize > 0,
    beamSize: beamSize || 5,
    bestOf: o.bestOf === undefined ? 5 : checkInt(o.bestOf, 'bestOf', 1, 16),
    temperature: num(o.temperature, 'temperature', 0, 0, 1),
    temperatureInc: noFallback ? 0 : num(o.temperatureInc, 'temperatureInc', 0.2, 0, 1),
    entropyThold: num(o.entropyThold, 'entropyThold', 2.4, 0, 100),
    logprobThold: num(o.logprobThold, 'logprobThold', -1, -100, 0),
    noSpeechThold: num(o.noSpeechThold, 'noSpeechThold', 0.6, 0, 1),
    noContext: true,
    singleSegment: checkBool(o.singleSegment, 'singleSegment', false),
    noTimestamps: checkBool(o.noTimestamps, 'noTimestamps', false),
    tokenTimestamps: checkBool(o.tokenTimestamps, 'tokenTimestamps', false),
    splitOnWord: checkBool(o.splitOnWord, 'splitOnWord', false),
    suppressBlank: true,
    suppressNst: false,
    maxLen: o.maxLen === undefined ? 0 : checkInt(o.maxLen, 'maxLen', 0, 100000),
    maxTokens: o.maxTokens === undefined ? 0 : checkInt(o.maxTokens, 'maxTokens', 0, h.nTextCtx),
    audioCtx: o.audioCtx === undefined ? 0 : checkInt(o.audioCtx, 'audioCtx', 0, h.nAudioCtx),
    maxTextCtx: o.maxTextCtx === undefined ? 16384 : checkInt(o.maxTextCtx, 'maxTextCtx', 0, 16384),
    offsetMs: o.offsetMs === undefined ? 0 : checkInt(o.offsetMs, 'offsetMs', 0, 2 ** 31 - 1),
    durationMs: o.durationMs === undefined ? 0 : checkInt(o.durationMs, 'durationMs', 0, 2 ** 31 - 1),
    initialPrompt: o.initialPrompt ?? '',
    wantProgress: false,
    wantSegments: false,
  };
}
