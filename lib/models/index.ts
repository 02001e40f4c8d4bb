/** Model architectures, the ggml file format, synthetic models and downloads. */
export {
  FTYPES,
  HPARAM_FIELDS,
  MODEL_NAMES,
  N_AUDIO_CTX,
  N_TEXT_CTX,
  N_VOCAB_EN,
  N_VOCAB_MULTILINGUAL,
  N_VOCAB_V3,
  PUBLISHED_MODEL_SHA1,
  PUBLISHED_MODEL_SIZES,
  ftypeToName,
  isModelName,
  isMultilingual,
  matchArchNames,
  modelTypeFromLayers,
  parameterCount,
  resolveArch,
  type FtypeName,
  type ModelArch,
  type ModelHParams,
  type ModelName,
  type ModelType,
} from './arch.js';
export { readModelHeader, validateModelFile, type ModelFileHeader, type ModelFileInfo } from './ggml.js';
export { GGML_FILE_MAGIC, GGML_QNT_VERSION_FACTOR, GGML_TYPES, MEL_FILTER_BINS, SYNTHETIC_MARKER_INDEX, SYNTHETIC_MARKER_TOKEN, expectedTensors, ggmlFileSize, ggmlTypeName, tensorBytes, weightType, type ExpectedTensor, type GgmlTypeName } from './ggml-format.js';
export { syntheticModelSize, writeSyntheticModel, type SyntheticFtype, type SyntheticModelOptions, type SyntheticModelResult } from './synth.js';
export { melFilterBank, syntheticVocabulary } from './synth-content.js';
export {
  DEFAULT_BASE_URL,
  DOWNLOADABLE_MODELS,
  defaultCacheDir,
  downloadModel,
  modelFileName,
  type DownloadOptions,
  type DownloadResult,
  type DownloadableModel,
} from './download.js';
export { quantizeModel, QUANT_TYPES, GGML_QNT_VERSION, type QuantType, type QuantizeResult, type QuantizeProgress } from './quantize.js';
