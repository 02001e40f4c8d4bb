/**
 * whisper-perf: whisper.cpp in-process through an N-API addon, and its measurement.
 *
 * The root export is what a service needs: load a model and run it, transcribe a file, benchmark,
 * print rows, system and build facts, errors. Everything else is a documented subpath:
 * whisper-perf/audio, /models, /bench, /stats, /quality, /store, /report (see the README's API).
 */
import { loadBinding } from './native.js';
import { packageVersion } from './system.js';

export { WhisperPerfError, type ErrorCode } from './errors.js';
export {
  Model,
  WhisperState,
  type LoadOptions,
  type ModelInfo,
  type Timed,
  type TranscribeOptions,
  type Transcript,
  type TranscriptSegment,
  type TranscriptToken,
  type StateTranscript,
  type LogHandler,
} from './model/model.js';
export { loadModel, benchmark, formatRows, loadAudio, testSignal } from './guarded.js';
export { transcribeFile, type TranscribeFileOptions, type FileTranscript } from './transcribe.js';
export type { BenchmarkOptions } from './workloads/engine.js';
export type { BenchRow, OutputFormat } from './measure/types.js';
export type { LoadAudioOptions, LoadedAudio } from './audio/load.js';
export { systemInfo, buildInfo, gpuDevices, type SystemInfo, type BuildInfo } from './system.js';
export { ensureDefaultModel } from './models/default.js';
export { ab, type AbOptions, type AbResult, type AbSideSpec } from './ab/ab.js';

/** The whisper.cpp version compiled into the addon. */
export function whisperVersion(): string {
  return loadBinding().version();
}

/** This package's version. */
export const version: string = packageVersion();
