/** whisper-perf/stats: the statistics the engine, ab, compare and bench:parity use. */
export { summarize, ratio, pairedRatio, blockRatio, scaling, median, tQuantile975, type PairedRatio, type BlockRatio } from '../measure/stats.js';
export { percentile, latencySummary, type LatencySummary } from '../measure/latency.js';
export { welch, mannWhitney, chooseTest, testSamples, type TestResult, type TestChoice } from '../report/significance.js';
