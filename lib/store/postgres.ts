/**
 * The PostgreSQL driver (pg): one client connection; `?` placeholders become $1, $2 ...;
 * migrations take a transaction-scoped advisory lock so two machines opening a new store at once
 * apply each migration once. Connection failures (no answer, refused password, no such database)
 * become STORE_UNAVAILABLE errors that name the server without the password.
 */

import { WhisperPerfError } from '../errors.js';
import { requireOptional } from '../optional.js';
import type { Driver, SqlValue } from './driver.js';

/** Advisory lock key for migrations: "wpstore" in ASCII, as a 64-bit integer. */
const MIGRATION_LOCK = '0x7770_7374_6f72_65'.replace(/_/g, '');

interface PgClient {
  connect(): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
  end(): Promise<void>;
  on(event: 'error', fn: (e: Error) => void): void;
}
interface PgModule {
  Client: new (config: { connectionString: string; connectionTimeoutMillis?: number; application_name?: string }) => PgClient;
  types: { setTypeParser(oid: number, fn: (v: string) => unknown): void };
}

let pgModule: PgModule | undefined;
function loadPg(): PgModule {
  if (pgModule) return pgModule;
  const pg = requireOptional<PgModule>('pg', 'the PostgreSQL store', 'STORE_UNAVAILABLE');
  // int8 (COUNT, bigint ids) as numbers: every count and id here is far below 2^53
  pg.types.setTypeParser(20, (v) => Number(v));
  pgModule = pg;
  return pg;
}

/** The URL with its password replaced by ***. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/** Placeholders `?` → `$1`, `$2` ... (the SQL here never has a ? inside a string literal). */
export function toPgPlaceholders(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

function pgError(e: unknown, where: string, connecting: boolean): WhisperPerfError {
  if (e instanceof WhisperPerfError) return e;
  const code = (e as { code?: string })?.code ?? '';
  const msg = (e as Error)?.message ?? String(e);
  if (code === '28P01' || code === '28000') return new WhisperPerfError(`PostgreSQL at ${where} refused the login: ${msg}`, 'STORE_UNAVAILABLE', { cause: e });
  if (code === '3D000') return new WhisperPerfError(`PostgreSQL at ${where}: ${msg}`, 'STORE_UNAVAILABLE', { cause: e });
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN'].includes(code) || (connecting && /timeout|terminated|connect/i.test(msg))) {
    return new WhisperPerfError(`PostgreSQL at ${where} does not answer (${code || msg})`, 'STORE_UNAVAILABLE', { cause: e });
  }
  if (code === '55P03' || code === '40P01') return new WhisperPerfError(`PostgreSQL store ${where} is locked: ${msg}`, 'STORE_LOCKED', { cause: e });
  return new WhisperPerfError(`PostgreSQL store ${where}: ${msg}${code ? ` (${code})` : ''}`, 'STORE_FAILED', { cause: e });
}

export class PostgresDriver implements Driver {
  readonly dialect = 'postgres' as const;
  private client!: PgClient;
  private readonly where: string;
  private broken: Error | undefined;

  private constructor(url: string) {
    this.where = redactUrl(url);
  }

  static async connect(url: string, options: { connectTimeoutMs?: number } = {}): Promise<PostgresDriver> {
    const pg = loadPg();
    const d = new PostgresDriver(url);
    d.client = new pg.Client({ connectionString: url, connectionTimeoutMillis: options.connectTimeoutMs ?? 5000, application_name: 'whisper-perf' });
    // an idle connection dropped by the server must not crash the process: the next query fails instead
    d.client.on('error', (e) => (d.broken = e));
    try {
      await d.client.connect();
    } catch (e) {
      await d.client.end().catch(() => undefined);
      throw pgError(e, d.where, true);
    }
    return d;
  }

  private async q(sql: string, params: readonly SqlValue[] = []) {
    if (this.broken) throw pgError(this.broken, this.where, false);
    try {
      return await this.client.query(toPgPlaceholders(sql), [...params]);
    } catch (e) {
      throw pgError(e, this.where, false);
    }
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.q(sql, params)).rows as T[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.q(sql, params)).rowCount ?? 0;
  }

  async native(sql: string, params: readonly unknown[] = []): Promise<{ rows: Record<string, unknown>[]; rowCount: number }> {
    if (this.broken) throw pgError(this.broken, this.where, false);
    try {
      const r = await this.client.query(sql, [...params]);
      return { rows: r.rows, rowCount: r.rowCount ?? 0 };
    } catch (e) {
      throw pgError(e, this.where, false);
    }
  }

  async exec(sql: string): Promise<void> {
    // a multi-statement string with no parameters goes through the simple query protocol
    if (this.broken) throw pgError(this.broken, this.where, false);
    try {
      await this.client.query(sql);
    } catch (e) {
      throw pgError(e, this.where, false);
    }
  }

  async begin(): Promise<void> {
    await this.exec('BEGIN');
  }

  async commit(): Promise<void> {
    await this.exec('COMMIT');
  }

  async rollback(): Promise<void> {
    await this.exec('ROLLBACK');
  }

  async lockForMigration(): Promise<void> {
    await this.exec(`SELECT pg_advisory_xact_lock(${BigInt(MIGRATION_LOCK).toString()})`);
  }

  async tableNames(): Promise<string[]> {
    return (await this.all<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name")).map((r) => r.name);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
