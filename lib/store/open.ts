/**
 * Opening a store: a file path (SQLite) or a postgres:// URL (PostgreSQL). Before anything is
 * written the store is checked — a file that is not SQLite, a database that belongs to something
 * else, a schema newer than this code — and refused untouched; then pending migrations run.
 *
 * Location, in order: the argument (`--db`), `WHISPER_PERF_DB`, and the default file
 * `$XDG_DATA_HOME/whisper-perf/results.db` (`~/.local/share/whisper-perf/results.db`).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

import { WhisperPerfError } from '../errors.js';
import type { Driver } from './driver.js';
import { currentVersion, LATEST_VERSION, migrate } from './migrations.js';
import { PostgresDriver, redactUrl } from './postgres.js';
import { SqlStore } from './sql-store.js';
import { checkSqliteFile, SqliteDriver } from './sqlite.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  /** create a SQLite file that does not exist (default true; read-only commands pass false) */
  create?: boolean;
  /** how long a write waits for another process's lock, ms (SQLite; default 10000) */
  busyTimeoutMs?: number;
  /** how long to wait for a PostgreSQL server to answer, ms (default 5000) */
  connectTimeoutMs?: number;
  /** migrate only up to this version (tests of migrations) */
  targetVersion?: number;
}

/** Tables a whisper-perf store holds. */
const STORE_TABLES = ['schema_migrations', 'runs', 'run_tags', 'results', 'metrics', 'fleet_sweeps', 'fleet_cells', 'fleet_workers'];

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The default SQLite file. */
export function defaultStorePath(): string {
  const data = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(data, 'whisper-perf', 'results.db');
}

/** The store location used when none is given: WHISPER_PERF_DB, else the default file. */
export function defaultStoreLocation(): string {
  return process.env.WHISPER_PERF_DB || defaultStorePath();
}

/** A location for messages: the URL without its password, or the file path. */
export function displayLocation(location: string): string {
  return isPostgresUrl(location) ? redactUrl(location) : location;
}

async function checkOurs(db: Driver, where: string): Promise<void> {
  const tables = await db.tableNames();
  const version = await currentVersion(db, tables);
  if (version > LATEST_VERSION) {
    throw new WhisperPerfError(`the store ${where} has schema version ${version}, newer than this whisper-perf knows (${LATEST_VERSION}); upgrade whisper-perf`, 'STORE_VERSION');
  }
  if (!tables.includes('schema_migrations')) {
    const foreign = db.dialect === 'sqlite' ? tables : tables.filter((t) => STORE_TABLES.includes(t));
    if (foreign.length > 0) {
      throw new WhisperPerfError(`${where} is not a whisper-perf store (it has tables ${foreign.slice(0, 5).join(', ')} but no schema_migrations)`, 'STORE_INVALID');
    }
  }
}

/** Opens (creating and migrating when needed) the store at `location`. */
export async function openStore(location: string = defaultStoreLocation(), options: OpenStoreOptions = {}): Promise<Store> {
  if (typeof location !== 'string' || location.trim() === '') throw new WhisperPerfError('store location: expected a file path or a postgres:// URL', 'USAGE');
  if (isPostgresUrl(location)) {
    const db = await PostgresDriver.connect(location, { connectTimeoutMs: options.connectTimeoutMs });
    try {
      await checkOurs(db, redactUrl(location));
      const migrated = await migrate(db, options.targetVersion);
      return new SqlStore(db, redactUrl(location), migrated);
    } catch (e) {
      await db.close();
      throw e;
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location) && !location.startsWith('file://')) {
    throw new WhisperPerfError(`store location ${JSON.stringify(location)}: only SQLite files and postgres:// URLs are supported`, 'USAGE');
  }
  const file = resolve(location.startsWith('file://') ? new URL(location).pathname : location);
  const create = options.create ?? true;
  if (!existsSync(file)) {
    if (!create) throw new WhisperPerfError(`no store at ${file} (nothing has been stored there yet: run a command with --db ${location})`, 'NOT_FOUND');
    mkdirSync(dirname(file), { recursive: true });
  }
  checkSqliteFile(file);
  const db = new SqliteDriver(file, { busyTimeoutMs: options.busyTimeoutMs, mustExist: !create });
  try {
    await checkOurs(db, file);
    db.configure();
    const migrated = await migrate(db, options.targetVersion);
    return new SqlStore(db, file, migrated);
  } catch (e) {
    await db.close();
    throw e;
  }
}
