/** whisper-perf/quality: word error rate, text normalization, and the quality-against-speed sweep. */
export { wer, corpusWer, normalizeText, normalizeWords } from '../guarded.js';
export { alignWords, formatAlignment, type WerOptions, type WerResult, type WerCounts, type CorpusWerResult, type PairInput, type PairResult, type AlignmentStep } from '../quality/wer.js';
export { quality, paretoFrontier, referenceCandidates, quantizedPath, AMX_QUANT_TYPES, type QualityOptions, type QualityAudio, type QuantizeEvent } from '../quality/sweep.js';
export { configurationRow } from '../quality/rows.js';
