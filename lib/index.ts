/**
 * whisper-perf: whisper.cpp in-process through an N-API addon, and its measurement.
 */
export { WhisperPerfError, type ErrorCode } from './errors.js';
export {
  loadModel,
  Model,
  ftypeName,
  type LoadOptions,
  type ModelInfo,
  type Timed,
  type TranscribeOptions,
  type Transcript,
  type BenchWorkloadOptions,
  type BenchWorkloadResult,
  type LogHandler,
} from './model.js';
export type { WhisperTimings, BufferSizes } from './logs.js';
export { systemInfo, buildInfo, gpuDevices, packageVersion, type SystemInfo, type BuildInfo } from './system.js';
export { benchmark, provenance, type BenchmarkOptions, type BenchmarkProgress } from './bench/engine.js';
export { microBench } from './bench/micro.js';
export { summarize, ratio, pairedRatio, scaling, type PairedRatio } from './bench/stats.js';
export { formatRows } from './report/formats.js';
export { normalizeText, normalizeWords } from './quality/normalize.js';
export { wer, corpusWer, alignWords, formatAlignment, type WerOptions, type WerResult, type WerCounts, type CorpusWerResult, type PairInput, type PairResult, type AlignmentStep } from './quality/wer.js';
export type { BenchRow, Stat, Provenance, OutputFormat, BenchWhat } from './bench/types.js';
export { ensureDefaultModel, syntheticModelPath, DEFAULT_MODEL } from './models/default.js';
export { testSignal } from './audio/generate.js';
export { loadAudio, sniffFormat, DEFAULT_MAX_BYTES, DEFAULT_MAX_SECONDS, type LoadAudioOptions, type LoadedAudio, type AudioSource } from './audio/load.js';
export { decodeWav, encodeWav, parseWavHeader, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, MAX_CHANNELS, type WavInfo, type WavCodec, type DecodedWav, type EncodeWavOptions } from './audio/wav.js';
export { resample, resampleTo16k, type ResampleOptions } from './audio/resample.js';
export { decodeWithFfmpeg, findFfmpeg, type FfmpegDecodeOptions, type FfprobeInfo } from './audio/ffmpeg.js';
export { generateTestAudio, writeTestAudio, synthesize, findEspeak, SPEECH_TEXT, type TestAudioKind, type TestAudioOptions, type TestAudio, type WrittenTestAudio } from './audio/speech.js';
export * from './models/index.js';

import { loadBinding } from './native.js';

/** The whisper.cpp version compiled into the addon. */
export function whisperVersion(): string {
  return loadBinding().version();
}

import { packageVersion as pv } from './system.js';
/** This package's version. */
export const version: string = pv();
