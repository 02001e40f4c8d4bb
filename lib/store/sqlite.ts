/**
 * The SQLite driver (better-sqlite3 12): one connection, WAL journal (readers never wait for the
 * writer), foreign keys on, a busy timeout so a second process writing at the same moment waits
 * for the lock instead of failing. Every write is a BEGIN IMMEDIATE transaction: the lock is
 * taken at BEGIN, where the busy timeout applies, never half-way through.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

import { WhisperPerfError } from '../errors.js';
import { optionalLoadProblem, requireOptional } from '../optional.js';
import type { Driver, SqlValue } from './driver.js';

/** The first 16 bytes of every SQLite 3 database file. */
const MAGIC = 'SQLite format 3\0';

interface SqliteStatement {
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number };
}
interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  pragma(sql: string, options?: { simple?: boolean }): unknown;
  close(): void;
  readonly inTransaction: boolean;
}
type SqliteCtor = new (file: string, options?: { timeout?: number; fileMustExist?: boolean; readonly?: boolean }) => SqliteDatabase;

let ctor: SqliteCtor | undefined;
function loadSqlite(): SqliteCtor {
  if (ctor) return ctor;
  ctor = requireOptional<SqliteCtor>('better-sqlite3', 'the SQLite store', 'STORE_UNAVAILABLE');
  return ctor;
}

/** Translates a better-sqlite3 error into a WhisperPerfError with a code the CLI understands. */
export function sqliteError(e: unknown, file: string): WhisperPerfError {
  if (e instanceof WhisperPerfError) return e;
  const code = (e as { code?: string })?.code ?? '';
  const msg = (e as Error)?.message ?? String(e);
  // better-sqlite3 loads its native part at the first open: one built for another Node fails here
  if (code === 'ERR_DLOPEN_FAILED' || /NODE_MODULE_VERSION/.test(msg)) {
    return new WhisperPerfError(optionalLoadProblem('better-sqlite3', 'the SQLite store', e), 'STORE_UNAVAILABLE', { cause: e });
  }
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED' || code.startsWith('SQLITE_LOCKED_')) {
    return new WhisperPerfError(`the store ${file} is locked by another process (${msg}); try again when it has finished`, 'STORE_LOCKED', { cause: e });
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new WhisperPerfError(`${file} is not a SQLite database (${msg})`, 'STORE_INVALID', { cause: e });
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM') {
    return new WhisperPerfError(`cannot write the store ${file} (${msg})`, 'STORE_UNAVAILABLE', { cause: e });
  }
  return new WhisperPerfError(`SQLite store ${file}: ${msg}`, 'STORE_FAILED', { cause: e });
}

/** Checks that an existing, non-empty file starts with SQLite's header, without opening it as a database. */
export function checkSqliteFile(file: string): void {
  if (!existsSync(file)) return;
  const st = statSync(file);
  if (st.isDirectory()) throw new WhisperPerfError(`${file} is a directory, not a SQLite database`, 'STORE_INVALID');
  if (st.size === 0) return;
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(16);
    const n = readSync(fd, buf, 0, 16, 0);
    if (n < 16 || buf.toString('latin1') !== MAGIC) throw new WhisperPerfError(`${file} is not a SQLite database (its first bytes are not "SQLite format 3")`, 'STORE_INVALID');
  } finally {
    closeSync(fd);
  }
}

export class SqliteDriver implements Driver {
  readonly dialect = 'sqlite' as const;
  private db: SqliteDatabase;

  constructor(
    private readonly file: string,
    options: { busyTimeoutMs?: number; mustExist?: boolean } = {},
  ) {
    const Database = loadSqlite();
    try {
      this.db = new Database(file, { timeout: options.busyTimeoutMs ?? 10_000, fileMustExist: options.mustExist ?? false });
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CANTOPEN' && options.mustExist) throw new WhisperPerfError(`no store at ${file}`, 'NOT_FOUND', { cause: e });
      throw sqliteError(e, file);
    }
  }

  /** Journal and integrity settings; called once the store is known to be ours (WAL changes the file). */
  configure(): void {
    this.wrap(() => {
      this.db.pragma('foreign_keys = ON');
      const mode = this.db.pragma('journal_mode', { simple: true });
      if (String(mode).toLowerCase() !== 'wal') this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
    });
  }

  private wrap<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw sqliteError(e, this.file);
    }
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.wrap(() => this.db.prepare(sql).all(...params) as T[]);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.wrap(() => this.db.prepare(sql).run(...params).changes);
  }

  async exec(sql: string): Promise<void> {
    this.wrap(() => this.db.exec(sql));
  }

  async begin(): Promise<void> {
    this.wrap(() => this.db.exec('BEGIN IMMEDIATE'));
  }

  async commit(): Promise<void> {
    this.wrap(() => this.db.exec('COMMIT'));
  }

  async rollback(): Promise<void> {
    if (this.db.inTransaction) this.wrap(() => this.db.exec('ROLLBACK'));
  }

  async lockForMigration(): Promise<void> {
    // BEGIN IMMEDIATE already holds the one write lock of the file
  }

  async tableNames(): Promise<string[]> {
    return (await this.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")).map((r) => r.name);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
