/**
 * The little a store needs from a database: queries with `?` placeholders, transactions and a
 * lock for migrations. SqlStore (./sql-store.ts) holds all the SQL, so both databases run the same
 * statements; a driver only adapts its client (placeholders, error codes, locking).
 */
export type Dialect = 'sqlite' | 'postgres';

export type SqlValue = string | number | null;

export interface Driver {
  readonly dialect: Dialect;
  /** rows of a query; `?` placeholders in order */
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** runs a statement; returns the number of rows it changed */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** runs several statements without parameters (DDL) */
  exec(sql: string): Promise<void>;
  /** BEGIN a transaction that will write (SQLite: BEGIN IMMEDIATE, so a busy store waits here) */
  begin(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** inside a transaction: serializes migrations between processes (PostgreSQL: an advisory lock) */
  lockForMigration(): Promise<void>;
  /**
   * PostgreSQL only: a statement in the server's own placeholders ($1, $2 ...) with any values,
   * untouched (a queue library's SQL on the store's connection)
   */
  native?(sql: string, params?: readonly unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number }>;
  /** names of the user tables in the store's schema */
  tableNames(): Promise<string[]>;
  close(): Promise<void>;
}
