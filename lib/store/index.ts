/** The results store: SQLite and PostgreSQL behind one interface, with versioned migrations. */
export type { AnyRow, NewRun, ResultFilter, RunFilter, RunRecord, RunStatus, Store, StoreInfo, StoredResult } from './types.js';
export { openStore, defaultStoreLocation, defaultStorePath, displayLocation, isPostgresUrl, type OpenStoreOptions } from './open.js';
export { MIGRATIONS, LATEST_VERSION, type Migration } from './migrations.js';
export { startRun, resumeRun, gitState, RunRecorder, type RunFacts } from './recorder.js';
export { metricsOf, paramsOf, statsOf, higherIsBetter, isStat, valueOf, type MetricValue } from './metrics.js';
export { copyStore, type CopyResult } from './copy.js';
