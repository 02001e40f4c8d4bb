/** whisper-perf/stats: the statistics the engine, ab, compare and bench:parity use. */
export { summarize, ratio, pairedRatio, blockRatio, scaling, median, tQuantile975, type PairedRatio, type BlockRatio } from '../bench/stats.js';
export { percentile, latencySummary, type LatencySummary } from '../bench/latency.js';
export { welch, mannWhitney, chooseTest, testSamples, type TestResult, type TestChoice } from '../report/significance.js';
