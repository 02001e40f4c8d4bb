/** whisper-perf/stats: the statistics the engine, ab, compare and bench:parity use. */
export { summarize, scaling, median, tQuantile975 } from '../measure/stats.js';
export { ratio, pairedRatio, blockRatio, type PairedRatio, type BlockRatio } from '../measure/ratios.js';
export { percentile, latencySummary, type LatencySummary } from '../measure/latency.js';
export { welch, mannWhitney, chooseTest, testSamples, type TestResult, type TestChoice } from '../report/significance.js';
