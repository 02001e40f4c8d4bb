/**
 * The one module that touches pg-boss. whisper-perf runs on pg-boss 10.4.x, the last line for
 * Node 20; a move to 12.x (heartbeats, per-job abort) changes this file only.
 *
 * pg-boss runs over the store's own PostgreSQL connection (Store.native, serialized with every
 * other call on it), so a fleet process holds one connection whatever it does, and a cell's rows
 * and its job's completion commit in one transaction (`completeWithin`).
 *
 * One queue per machine kind (`wp_fleet_<kind>`). A job's id is derived from (sweep, kind, cell),
 * so submitting a sweep again inserts nothing. A claimed job is fenced by its retry count and start
 * time: a worker presumed dead (its job expired and was claimed again) cannot complete the new
 * claim, and its late rows are rolled back.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

import { WhisperPerfError } from '../errors.js';
import { requireOptional } from '../optional.js';
import type { Store, StoreTransaction } from '../store/types.js';

const SCHEMA = 'pgboss';

/** pg-boss's job as fetch returns it with includeMetadata. */
interface BossJob {
  id: string;
  name: string;
  data: unknown;
  retryCount: number;
  retryLimit: number;
  startedOn: Date | string;
}
interface BossDb {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number }>;
}
interface Boss {
  start(): Promise<unknown>;
  stop(options?: { graceful?: boolean; close?: boolean; wait?: boolean; timeout?: number }): Promise<void>;
  on(event: 'error', fn: (e: Error) => void): void;
  createQueue(name: string, options: Record<string, unknown>): Promise<void>;
  getQueue(name: string): Promise<unknown>;
  insert(jobs: Record<string, unknown>[]): Promise<unknown>;
  fetch(name: string, options: Record<string, unknown>): Promise<BossJob[]>;
  complete(name: string, id: string, data: unknown, options?: { db: BossDb }): Promise<{ affected: number }>;
  fail(name: string, id: string, data: unknown): Promise<{ affected: number }>;
  cancel(name: string, ids: string[]): Promise<{ affected: number }>;
}
type BossClass = new (config: Record<string, unknown>) => Boss;

/** A claimed job. */
export interface ClaimedJob<T> {
  id: string;
  kind: string;
  data: T;
  /** 1 for the first claim, 2 for the first retry ... */
  attempt: number;
  retryLimit: number;
  /** the fence: this claim's retry count and start time */
  readonly fence: { retryCount: number; startedOn: string };
}

export interface QueueOptions {
  /** run pg-boss's maintenance (expiring jobs whose worker went silent) from this process (default true) */
  supervise?: boolean;
  /** how often maintenance runs, seconds (default 5; pg-boss takes ≥ 1) */
  maintenanceSeconds?: number;
}

export interface KindQueueOptions {
  /** seconds a claimed job may run before it is presumed dead and retried (the visibility timeout) */
  expireSeconds: number;
  /** retries after the first attempt */
  retryLimit: number;
  /** seconds before a retry */
  retryDelay: number;
}

/** The queue of one machine kind. Kind names are checked by plan.ts (a-z, 0-9, _ and -). */
export function queueName(kind: string): string {
  return `wp_fleet_${kind.replace(/-/g, '_')}`;
}

/** A stable UUID for (sweep, kind, cell): the same sweep submitted twice has the same job ids. */
export function jobId(sweepId: string, kind: string, cell: number): string {
  const h = createHash('sha256').update(`${sweepId}\0${kind}\0${cell}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The pg-boss schema version this code runs on. */
function bossSchemaVersion(): number {
  const require = createRequire(import.meta.url);
  return Number((require('pg-boss/version.json') as { schema: number }).schema);
}

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

export class FleetQueue {
  private readonly created = new Set<string>();
  private lastError: Error | undefined;

  private constructor(
    private readonly store: Store,
    private readonly boss: Boss,
  ) {}

  /** pg-boss over `store`'s connection, its schema created (or checked) and started. */
  static async open(store: Store, options: QueueOptions = {}): Promise<FleetQueue> {
    if (store.kind !== 'postgres') throw new WhisperPerfError(`the fleet needs a PostgreSQL store (--db postgres://...), not ${store.location}`, 'USAGE');
    const PgBoss = requireOptional<BossClass>('pg-boss', 'the fleet', 'STORE_UNAVAILABLE');
    // a pg-boss schema of another version: refused with its version, never migrated backwards
    const want = bossSchemaVersion();
    const have = await store.native(`SELECT version FROM ${SCHEMA}.version`).then(
      (r) => (r.rows.length ? Number(r.rows[0].version) : null),
      () => null,
    );
    if (have !== null && have > want) {
      throw new WhisperPerfError(`the database's pg-boss schema is version ${have}, newer than this whisper-perf's pg-boss (schema ${want}): upgrade whisper-perf on this machine`, 'STORE_VERSION');
    }
    const db: BossDb = { executeSql: (text, values) => store.native(text, values ?? []) };
    const boss = new PgBoss({
      db,
      schema: SCHEMA,
      migrate: true,
      supervise: options.supervise ?? true,
      maintenanceIntervalSeconds: options.maintenanceSeconds ?? 5,
      schedule: false,
    });
    const q = new FleetQueue(store, boss);
    // pg-boss reports maintenance failures as events: kept for the caller, never an unhandled crash
    boss.on('error', (e) => (q.lastError = e));
    try {
      await boss.start();
    } catch (e) {
      throw new WhisperPerfError(`could not start the job queue (pg-boss) in ${store.location}: ${(e as Error).message}`, 'STORE_FAILED', { cause: e });
    }
    return q;
  }

  /** The last error pg-boss reported from its background maintenance, if any. */
  takeError(): Error | undefined {
    const e = this.lastError;
    this.lastError = undefined;
    return e;
  }

  /** Creates the kind's queue when it does not exist (its options are set once, at creation). */
  async ensureQueue(kind: string, options: KindQueueOptions): Promise<void> {
    const name = queueName(kind);
    if (this.created.has(name)) return;
    if (!(await this.boss.getQueue(name))) {
      await this.boss.createQueue(name, { policy: 'standard', expireInSeconds: options.expireSeconds, retryLimit: options.retryLimit, retryDelay: options.retryDelay, retentionMinutes: 60 * 24 * 14 }).catch(async (e) => {
        // two submitters creating it at once: the second finds it there
        if (!(await this.boss.getQueue(name))) throw e;
      });
    }
    this.created.add(name);
  }

  /** Queues jobs (ids from jobId()); ids already queued are left as they are. Returns how many were new. */
  async submit(kind: string, jobs: readonly { id: string; data: unknown; expireSeconds: number; retryLimit: number; retryDelay: number }[]): Promise<number> {
    const name = queueName(kind);
    const ids = jobs.map((j) => j.id);
    const count = async () => Number((await this.store.native(`SELECT count(*) AS n FROM ${SCHEMA}.job WHERE name = $1 AND id = ANY($2::uuid[])`, [name, ids])).rows[0].n);
    const before = await count();
    for (let i = 0; i < jobs.length; i += 500) {
      await this.boss.insert(
        jobs.slice(i, i + 500).map((j) => ({ id: j.id, name, data: j.data, expireInSeconds: j.expireSeconds, retryLimit: j.retryLimit, retryDelay: j.retryDelay })),
      );
    }
    return (await count()) - before;
  }

  /** Claims the next job of the kind's queue, or undefined when none is ready. */
  async fetch<T>(kind: string): Promise<ClaimedJob<T> | undefined> {
    const name = queueName(kind);
    const [job] = await this.boss.fetch(name, { batchSize: 1, includeMetadata: true });
    if (!job) return undefined;
    return { id: job.id, kind, data: job.data as T, attempt: job.retryCount + 1, retryLimit: job.retryLimit, fence: { retryCount: job.retryCount, startedOn: iso(job.startedOn) } };
  }

  /**
   * Inside the caller's store transaction: completes the job when this claim still holds it
   * (active, same retry count and start time) and returns true; false when the job expired and
   * was claimed again, finished by another worker or cancelled (the caller then rolls back).
   */
  async completeWithin(tx: StoreTransaction, job: ClaimedJob<unknown>, output: Record<string, unknown>): Promise<boolean> {
    const name = queueName(job.kind);
    const held = await tx.native(
      `SELECT retry_count, started_on FROM ${SCHEMA}.job WHERE name = $1 AND id = $2 AND state = 'active' FOR UPDATE`,
      [name, job.id],
    );
    const row = held.rows[0];
    if (!row || Number(row.retry_count) !== job.fence.retryCount || iso(row.started_on as Date) !== job.fence.startedOn) return false;
    const r = await this.boss.complete(name, job.id, output, { db: { executeSql: (text, values) => tx.native(text, values ?? []) } });
    return r.affected === 1;
  }

  /** Fails the claim (pg-boss retries it while retries are left). */
  async fail(job: ClaimedJob<unknown>, reason: { message: string; code?: string }): Promise<void> {
    await this.boss.fail(queueName(job.kind), job.id, { message: reason.message, code: reason.code ?? null });
  }

  /** Cancels the jobs of a sweep that have not finished; returns how many. */
  async cancel(sweepId: string): Promise<number> {
    const r = await this.store.native(`SELECT name, id FROM ${SCHEMA}.job WHERE data->>'sweep' = $1 AND state < 'completed'`, [sweepId]);
    const byName = new Map<string, string[]>();
    for (const row of r.rows) byName.set(String(row.name), [...(byName.get(String(row.name)) ?? []), String(row.id)]);
    let n = 0;
    for (const [name, ids] of byName) n += (await this.boss.cancel(name, ids)).affected;
    return n;
  }

  /** The sweep's jobs by kind and state, with the failures' reasons and the running jobs' claims. */
  async jobs(sweepId: string): Promise<{ kind: string; state: string; id: string; attempt: number; startedOn: string | null; output: unknown; cell: number }[]> {
    const r = await this.store.native(
      `SELECT data->>'kind' AS kind, state::text AS state, id::text AS id, retry_count, started_on, output, (data->>'cell')::int AS cell FROM ${SCHEMA}.job WHERE data->>'sweep' = $1
       UNION ALL
       SELECT data->>'kind', state::text, id::text, retry_count, started_on, output, (data->>'cell')::int FROM ${SCHEMA}.archive WHERE data->>'sweep' = $1`,
      [sweepId],
    );
    return r.rows.map((row) => ({
      kind: String(row.kind),
      state: String(row.state),
      id: String(row.id),
      attempt: Number(row.retry_count) + 1,
      startedOn: row.started_on ? iso(row.started_on as Date) : null,
      output: row.output,
      cell: Number(row.cell),
    }));
  }

  /** Kinds that have a queue, with how many jobs wait in each. */
  async queues(): Promise<{ kind: string; queued: number }[]> {
    const r = await this.store.native(
      `SELECT q.name, (SELECT count(*) FROM ${SCHEMA}.job j WHERE j.name = q.name AND j.state < 'active') AS queued FROM ${SCHEMA}.queue q WHERE q.name LIKE 'wp_fleet_%' ORDER BY q.name`,
    );
    return r.rows.map((row) => ({ kind: String(row.name).slice('wp_fleet_'.length).replace(/_/g, '-'), queued: Number(row.queued) }));
  }

  /** Stops pg-boss (its timers); the store stays open for the caller to close. */
  async close(): Promise<void> {
    await this.boss.stop({ graceful: false, close: false, wait: true }).catch(() => undefined);
  }
}
