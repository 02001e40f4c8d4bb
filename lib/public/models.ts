/** whisper-perf/models: model architectures, the ggml file format, synthetic models, downloads and quantization. */
export * from '../models/index.js';
// the guarded entry points win over the plain ones of models/index.ts
export { quantizeModel, readModelHeader, validateModelFile } from '../guarded.js';
export { ensureDefaultModel, syntheticModelPath, DEFAULT_MODEL } from '../models/default.js';
export { ftypeName } from '../model/model.js';
