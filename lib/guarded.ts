/**
 * The public entry points that take caller data, wrapped so that they fail only with a
 * WhisperPerfError: an argument that throws when read (a getter, a Proxy) or has a shape no check
 * foresaw is INVALID_ARGUMENT, never a TypeError. The root export and the subpath exports
 * (./public/*.ts) both hand out these same functions.
 */
import { guarded, guardedAsync } from './errors.js';
import { loadModel as loadModel_ } from './model/model.js';
import { benchmark as benchmark_ } from './workloads/engine.js';
import { formatRows as formatRows_ } from './report/formats.js';
import { checkStreamParams as checkStreamParams_ } from './workloads/stream-window.js';
import { checkCapacityMemory as checkCapacityMemory_ } from './workloads/capacity.js';
import { parseMemorySize as parseMemorySize_ } from './memory.js';
import { normalizeText as normalizeText_, normalizeWords as normalizeWords_ } from './quality/normalize.js';
import { wer as wer_, corpusWer as corpusWer_ } from './quality/wer.js';
import { testSignal as testSignal_ } from './audio/generate.js';
import { loadAudio as loadAudio_ } from './audio/load.js';
import { decodeWav as decodeWav_, encodeWav as encodeWav_ } from './audio/wav-codec.js';
import { resample as resample_, resampleTo16k as resampleTo16k_ } from './audio/resample.js';
import { quantizeModel as quantizeModel_ } from './models/quantize.js';
import { readModelHeader as readModelHeader_, validateModelFile as validateModelFile_ } from './models/ggml.js';

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
