/**
 * The results store: one interface, two implementations (SQLite through better-sqlite3, PostgreSQL
 * through pg) over the same schema and the same versioned migrations (./migrations.ts).
 *
 * A store keeps runs (one invocation of a measuring command, with the facts that explain it) and
 * results (one row per measured cell). A result keeps the row exactly as the command produced it
 * (JSON: samples, statistics, warnings, error, provenance; any row type, including fields this
 * code does not know), plus indexed columns for the common keys and one `metrics` row per
 * statistic or figure, so SQL users can query it without parsing JSON.
 */

/** Any measured row: a BenchRow, an rtf row, an imported native row ... identified by `what`. */
export interface AnyRow {
  readonly what: string;
}

/** running: the command is (or was, when it was killed) measuring; the others are final. */
export type RunStatus = 'running' | 'finished' | 'failed' | 'interrupted';

export interface RunRecord {
  /** small integer id, unique in this store (what --resume, compare and report take) */
  id: number;
  /** globally unique id (copies between stores keep it; a copy never duplicates a run) */
  uid: string;
  /** ISO 8601 UTC */
  started_at: string;
  finished_at: string | null;
  status: RunStatus;
  /** the command that measured: bench, rtf, threads, quality, capacity, import */
  kind: string;
  /** 'whisper-perf' (measured in-process) or 'native' (imported whisper.cpp output) */
  source: string;
  host: string;
  /** process id of the command while it runs (a --resume refuses a run whose process is alive) */
  pid: number | null;
  /** the command line, as argv after `whisper-perf` */
  command: string[];
  /** what --resume needs to rebuild the sweep (the engine options), or null */
  plan: Record<string, unknown> | null;
  tags: string[];
  /** git commit of the working directory the command ran in, when it is a git work tree */
  git_commit: string | null;
  /** true when that work tree had uncommitted changes */
  git_dirty: boolean | null;
  package_version: string | null;
  whisper_version: string | null;
  node_version: string | null;
  /** machine facts (CPU, cores, memory, OS, features) */
  system: Record<string, unknown> | null;
  /** build facts (variant, build type, backends, compiler, GGML options) */
  build: Record<string, unknown> | null;
  /** number of results stored for the run (filled by getRun / findRuns) */
  results: number;
}

/** What a command gives to start a run; the store fills id, and uid / started_at when absent. */
export type NewRun = Omit<RunRecord, 'id' | 'uid' | 'started_at' | 'finished_at' | 'status' | 'results' | 'pid'> &
  Partial<Pick<RunRecord, 'uid' | 'started_at' | 'finished_at' | 'status' | 'pid'>>;

export interface StoredResult {
  id: number;
  run_id: number;
  /** 1, 2, ... in the order the run measured its cells */
  seq: number;
  /** the cell key (lib/measure/cells.ts): rows of one cell share it */
  cell: string;
  /** ISO time the row was committed */
  created_at: string;
  row: AnyRow & Record<string, unknown>;
}

/** Filters select runs; every given filter must match (a list matches any of its values). */
export interface RunFilter {
  ids?: number[];
  /** runs carrying any of these tags */
  tags?: string[];
  hosts?: string[];
  /** git commits: a prefix of at least 4 hex digits matches */
  commits?: string[];
  kinds?: string[];
  sources?: string[];
  status?: RunStatus[];
  /** started at or after (ISO date or date-time) */
  since?: string;
  /** started before the end of this day / at or before this time */
  until?: string;
}

export interface ResultFilter extends RunFilter {
  /** model base names or paths; a value matches a result whose model path ends with it (case-insensitive) */
  models?: string[];
  what?: string[];
  threads?: number[];
  /** leave out failed cells (rows with an error) */
  okOnly?: boolean;
}

export interface StoreInfo {
  kind: 'sqlite' | 'postgres';
  /** the file path, or the URL with its password hidden */
  location: string;
  schema_version: number;
  /** the newest schema version this code knows */
  latest_version: number;
  runs: number;
  results: number;
  /** migrations applied by this open (empty when the store was current) */
  migrated: number[];
}

/** What a caller may do inside Store.transaction: its own statements and a cell's results, committed together. */
export interface StoreTransaction {
  /** a statement with `?` placeholders; its rows */
  all<T = Record<string, unknown>>(sql: string, params?: readonly (string | number | null)[]): Promise<T[]>;
  /** a statement with `?` placeholders that returns no rows; the number of rows it changed */
  run(sql: string, params?: readonly (string | number | null)[]): Promise<number>;
  /** PostgreSQL: a statement in $1, $2 placeholders with any values (a queue library's SQL) */
  native(sql: string, params?: readonly unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number }>;
  /** as Store.addResults, inside this transaction */
  addResults(runId: number, rows: readonly AnyRow[]): Promise<number[]>;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** the file path, or the URL with its password hidden */
  readonly location: string;
  info(): Promise<StoreInfo>;
  /** starts a run; it is committed at once (status 'running' unless given) */
  createRun(run: NewRun): Promise<RunRecord>;
  /** stores the rows of one finished cell in one transaction; returns their result ids */
  addResults(runId: number, rows: readonly AnyRow[]): Promise<number[]>;
  /** rewrites one stored row (derived figures added after the sweep); its cell and seq stay */
  updateResult(resultId: number, row: AnyRow): Promise<void>;
  /** sets a run's status (finished_at is set for final states and cleared for 'running') */
  setRunStatus(runId: number, status: RunStatus, pid?: number | null): Promise<void>;
  getRun(id: number): Promise<RunRecord | undefined>;
  /** runs matching the filter, oldest first */
  findRuns(filter?: RunFilter): Promise<RunRecord[]>;
  /** results of the matching runs, by run then seq */
  results(filter?: ResultFilter): Promise<StoredResult[]>;
  /** the distinct cell keys a run holds */
  cells(runId: number): Promise<Set<string>>;
  /** deletes a run and its results; false when there was none */
  deleteRun(id: number): Promise<boolean>;
  /**
   * Runs `fn` in one transaction on the store's connection, serialized with every other call: its
   * statements and the results it adds commit together, or none of them when it throws.
   */
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  /**
   * PostgreSQL: one statement in the server's placeholders, serialized with every other call (so a
   * library such as pg-boss can share the store's one connection); a STORE_FAILED error on SQLite
   */
  native(sql: string, params?: readonly unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number }>;
  /** true when a run with this uid exists (copies) */
  hasUid(uid: string): Promise<boolean>;
  close(): Promise<void>;
}
