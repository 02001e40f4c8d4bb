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
export { summarize, ratio, scaling } from './bench/stats.js';
export { formatRows } from './report/formats.js';
export type { BenchRow, Stat, Provenance, OutputFormat, BenchWhat } from './bench/types.js';
export { ensureDefaultModel, syntheticModelPath, DEFAULT_MODEL } from './models/default.js';
export { testSignal } from './audio/generate.js';
export * from './models/index.js';

import { loadBinding } from './native.js';

/** The whisper.cpp version compiled into the addon. */
export function whisperVersion(): string {
  return loadBinding().version();
}

import { packageVersion as pv } from './system.js';
/** This package's version. */
export const version: string = pv();
