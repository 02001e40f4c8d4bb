/**
 * whisper-perf: whisper.cpp in-process through an N-API addon, and its measurement.
 */
export { WhisperPerfError, type ErrorCode } from './errors.js';
export {
  Model,
  ftypeName,
  type LoadOptions,
  type ModelInfo,
  type Timed,
  type TranscribeOptions,
  type Transcript,
  type TranscriptSegment,
  type StateTranscript,
  WhisperState,
  type TranscriptToken,
  type BenchWorkloadOptions,
  type BenchWorkloadResult,
  type LogHandler,
} from './model.js';
export type { WhisperTimings, BufferSizes } from './logs.js';
export { systemInfo, buildInfo, gpuDevices, packageVersion, type SystemInfo, type BuildInfo } from './system.js';
export { provenance, type BenchmarkOptions, type BenchmarkProgress } from './bench/engine.js';
export { microBench } from './bench/micro.js';
export { threads, sweepThreads, pickThreads, type ThreadsOptions, type ThreadsResult, type ThreadsPoint, type ThreadsPick } from './bench/threads.js';
export { listBuilds, resolveBuilds, type AddonBuild, type BuildFileInfo } from './bench/builds.js';
export { benchmarkBuilds, rtfBuilds, deriveBuildRatios, type BuildBenchmarkOptions } from './bench/variants.js';
export { startResourceMonitor, type ResourceFigures, type ResourceMonitor } from './bench/resources.js';
export { startGpuMonitor, parseNvidiaSmi, findNvidiaSmi, type GpuFigures, type GpuMonitor, type GpuSample } from './bench/gpu-monitor.js';
export { recommend, recommendGuide, recommendFromRows, USE_CASES, type UseCase, type RecommendOptions, type Recommendation, type Candidate } from './bench/recommend.js';
export { profile, PROFILE_TOOLS, PROFILE_WHATS, type ProfileOptions, type ProfileResult, type ProfileTool, type ProfileWhat } from './bench/profile.js';
export { summarize, ratio, pairedRatio, blockRatio, scaling, type PairedRatio, type BlockRatio } from './bench/stats.js';
export { rtf, rtfRow, WARMUP_AUDIO_S, type RtfOptions, type RtfAudio } from './bench/rtf.js';
export { stream, streamBenchmark, streamRow, streamVerdict, streamLines, StreamScheduler, windowPcm, STREAM_DEFAULTS, KEEPS_UP_FRACTION, type StreamOptions, type StreamRun, type StreamStep, type StreamResult, type StreamModel, type StreamWindow, type StreamBenchmarkOptions } from './bench/stream.js';
export { capacity, streamMemoryBytes, maxRealtimeStreams, CAPACITY_MODES, MAX_STREAMS, type CapacityOptions, type CapacityMode } from './bench/capacity.js';
export { availableMemory, stateMemory, maxDecoders, type StateMemory, type AvailableMemory } from './memory.js';
export { percentile, latencySummary, type LatencySummary } from './bench/latency.js';
export { PRESETS, PRESET_NAMES, getPreset, isPresetName, presetThreads, resolvePreset, presetFullParams, presetRows, type Preset, type PresetName, type PresetParams, type PresetOptions, type PresetRow, type ThreadsPolicy } from './bench/presets.js';
export { summarizeRtf, type RtfSummary, type RtfConfiguration, type RtfThreadsGroup } from './report/rtf.js';
export { transcribeFile, type TranscribeFileOptions, type FileTranscript } from './transcribe.js';
export { toTxt, toSrt, toVtt, formatSegments, TRANSCRIPT_FORMATS, type TranscriptFormat } from './report/transcript.js';
export { quality, paretoFrontier, referenceCandidates, quantizedPath, configurationRow, AMX_QUANT_TYPES, type QualityOptions, type QualityAudio, type QuantizeEvent } from './quality/sweep.js';
export { qualityMarkdown, QUALITY_COLUMNS } from './report/quality.js';
export { alignWords, formatAlignment, type WerOptions, type WerResult, type WerCounts, type CorpusWerResult, type PairInput, type PairResult, type AlignmentStep } from './quality/wer.js';
export type { BenchRow, Stat, Provenance, OutputFormat, BenchWhat } from './bench/types.js';
export { ensureDefaultModel, syntheticModelPath, DEFAULT_MODEL } from './models/default.js';
export { sniffFormat, DEFAULT_MAX_BYTES, DEFAULT_MAX_SECONDS, type LoadAudioOptions, type LoadedAudio, type AudioSource } from './audio/load.js';
export { parseWavHeader, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, MAX_CHANNELS, type WavInfo, type WavCodec, type DecodedWav, type EncodeWavOptions } from './audio/wav.js';
export { type ResampleOptions } from './audio/resample.js';
export { decodeWithFfmpeg, findFfmpeg, type FfmpegDecodeOptions, type FfprobeInfo } from './audio/ffmpeg.js';
export { generateTestAudio, writeTestAudio, synthesize, findEspeak, SPEECH_TEXT, type TestAudioKind, type TestAudioOptions, type TestAudio, type WrittenTestAudio } from './audio/speech.js';
export * from './models/index.js';
export * from './store/index.js';
export { parseImport, detectFormat, IMPORT_FORMATS, type ImportFormat, type ImportedFile } from './store/native-import.js';
export { compareRows, comparisonMarkdown, comparisonCsv, type CompareSide, type CompareOptions, type Comparison, type MetricComparison, type Verdict } from './report/compare.js';
export { welch, mannWhitney, chooseTest, testSamples, type TestResult, type TestChoice } from './report/significance.js';
export { buildViews, renderViews, VIEWS, type ViewName, type ReportTable, type ReportData } from './report/views.js';
export { reportHtml } from './report/html.js';

import { loadBinding } from './native.js';
import { guarded, guardedAsync } from './errors.js';
import { loadModel as loadModel_ } from './model.js';
import { benchmark as benchmark_ } from './bench/engine.js';
import { formatRows as formatRows_ } from './report/formats.js';
import { checkStreamParams as checkStreamParams_ } from './bench/stream.js';
import { checkCapacityMemory as checkCapacityMemory_ } from './bench/capacity.js';
import { parseMemorySize as parseMemorySize_ } from './memory.js';
import { normalizeText as normalizeText_, normalizeWords as normalizeWords_ } from './quality/normalize.js';
import { wer as wer_, corpusWer as corpusWer_ } from './quality/wer.js';
import { testSignal as testSignal_ } from './audio/generate.js';
import { loadAudio as loadAudio_ } from './audio/load.js';
import { decodeWav as decodeWav_, encodeWav as encodeWav_ } from './audio/wav.js';
import { resample as resample_, resampleTo16k as resampleTo16k_ } from './audio/resample.js';
import { quantizeModel as quantizeModel_ } from './models/quantize.js';
import { readModelHeader as readModelHeader_, validateModelFile as validateModelFile_ } from './models/ggml.js';

// The entry points below fail only with a WhisperPerfError: an argument that throws when read (a
// getter, a Proxy) or has a shape no check foresaw is INVALID_ARGUMENT, never a TypeError.
/** Loads a whisper.cpp ggml model file (see Model). */
export const loadModel: typeof loadModel_ = guardedAsync('loadModel', loadModel_);
export const benchmark: typeof benchmark_ = guardedAsync('benchmark', benchmark_);
export const loadAudio: typeof loadAudio_ = guardedAsync('loadAudio', loadAudio_);
export const quantizeModel: typeof quantizeModel_ = guardedAsync('quantizeModel', quantizeModel_);
export const readModelHeader: typeof readModelHeader_ = guardedAsync('readModelHeader', readModelHeader_);
export const validateModelFile: typeof validateModelFile_ = guardedAsync('validateModelFile', validateModelFile_);
export const formatRows: typeof formatRows_ = guarded('formatRows', formatRows_);
export const checkStreamParams: typeof checkStreamParams_ = guarded('checkStreamParams', checkStreamParams_);
export const checkCapacityMemory: typeof checkCapacityMemory_ = guarded('checkCapacityMemory', checkCapacityMemory_);
export const parseMemorySize: typeof parseMemorySize_ = guarded('parseMemorySize', parseMemorySize_);
export const normalizeText: typeof normalizeText_ = guarded('normalizeText', normalizeText_);
export const normalizeWords: typeof normalizeWords_ = guarded('normalizeWords', normalizeWords_);
export const wer: typeof wer_ = guarded('wer', wer_);
export const corpusWer: typeof corpusWer_ = guarded('corpusWer', corpusWer_);
export const testSignal: typeof testSignal_ = guarded('testSignal', testSignal_);
export const decodeWav: typeof decodeWav_ = guarded('decodeWav', decodeWav_);
export const encodeWav: typeof encodeWav_ = guarded('encodeWav', encodeWav_);
export const resample: typeof resample_ = guarded('resample', resample_);
export const resampleTo16k: typeof resampleTo16k_ = guarded('resampleTo16k', resampleTo16k_);

/** The whisper.cpp version compiled into the addon. */
export function whisperVersion(): string {
  return loadBinding().version();
}

import { packageVersion as pv } from './system.js';
/** This package's version. */
export const version: string = pv();
