/**
 * The store over a Driver: every statement of both databases lives here, written once in the SQL
 * they share, so SQLite and PostgreSQL hold the same rows and answer the same queries. Calls on
 * one store are serialized (a transaction on the one connection is never interleaved with
 * another call); separate processes are kept apart by the databases' own locking.
 */
import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';

import { cellKeyOfRow } from '../measure/cells.js';
import { WhisperPerfError } from '../errors.js';
import type { Driver, SqlValue } from './driver.js';
import { insertMetrics, LATEST_VERSION, currentVersion } from './migrations.js';
import type { AnyRow, NewRun, ResultFilter, RunFilter, RunRecord, RunStatus, Store, StoreInfo, StoredResult, StoreTransaction } from './types.js';

interface RunDbRow {
  id: number;
  uid: string;
  started_at: string;
  finished_at: string | null;
  status: string;
  kind: string;
  source: string;
  host: string;
  pid: number | null;
  command: string;
  plan: string | null;
  git_commit: string | null;
  git_dirty: number | null;
  package_version: string | null;
  whisper_version: string | null;
  node_version: string | null;
  system: string | null;
  build: string | null;
  n_results: number | string;
}

const RUN_COLUMNS = 'id, uid, started_at, finished_at, status, kind, source, host, pid, command, plan, git_commit, git_dirty, package_version, whisper_version, node_version, system, build';

const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));
const parse = <T>(s: string | null): T | null => (s === null || s === undefined ? null : (JSON.parse(s) as T));
const bool = (b: boolean | null | undefined): number | null => (b === null || b === undefined ? null : b ? 1 : 0);

/** End of an --until value: a bare date means the whole day. */
function untilBound(until: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(until) ? `${until}T23:59:59.999Z` : until;
}

export class SqlStore implements Store {
  readonly kind: 'sqlite' | 'postgres';
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly db: Driver,
    readonly location: string,
    private readonly migrated: number[] = [],
  ) {
    this.kind = db.dialect;
  }

  /** Runs `fn` after every call before it: one call at a time on the connection. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new WhisperPerfError(`the store ${this.location} is closed`, 'STORE_FAILED'));
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async tx<T>(fn: () => Promise<T>): Promise<T> {
    await this.db.begin();
    try {
      const r = await fn();
      await this.db.commit();
      return r;
    } catch (e) {
      await this.db.rollback().catch(() => undefined);
      throw e;
    }
  }

  info(): Promise<StoreInfo> {
    return this.serial(async () => {
      const n = async (table: string) => Number((await this.db.all<{ n: number | string }>(`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM ${table}`))[0].n);
      return {
        kind: this.kind,
        location: this.location,
        schema_version: await currentVersion(this.db),
        latest_version: LATEST_VERSION,
        runs: await n('runs'),
        results: await n('results'),
        migrated: [...this.migrated],
      };
    });
  }

  createRun(run: NewRun): Promise<RunRecord> {
    return this.serial(() =>
      this.tx(async () => {
        const uid = run.uid ?? randomUUID();
        const started = run.started_at ?? new Date().toISOString();
        const status = run.status ?? 'running';
        const rows = await this.db.all<{ id: number }>(
          `INSERT INTO runs (uid, started_at, finished_at, status, kind, source, host, pid, command, plan, git_commit, git_dirty, package_version, whisper_version, node_version, system, build)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
          [
            uid,
            started,
            run.finished_at ?? null,
            status,
            run.kind,
            run.source,
            run.host,
            run.pid ?? null,
            JSON.stringify(run.command),
            json(run.plan),
            run.git_commit,
            bool(run.git_dirty),
            run.package_version,
            run.whisper_version,
            run.node_version,
            json(run.system),
            json(run.build),
          ],
        );
        const id = Number(rows[0].id);
        for (const tag of [...new Set(run.tags)]) await this.db.run('INSERT INTO run_tags (run_id, tag) VALUES (?, ?)', [id, tag]);
        return (await this.loadRuns('WHERE r.id = ?', [id]))[0];
      }),
    );
  }

  addResults(runId: number, rows: readonly AnyRow[]): Promise<number[]> {
    return this.serial(() => this.tx(() => this.insertResults(runId, rows)));
  }

  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    return this.serial(() =>
      this.tx(() =>
        fn({
          all: (sql, params = []) => this.db.all(sql, params),
          run: (sql, params = []) => this.db.run(sql, params),
          native: (sql, params) => this.nativeStatement(sql, params),
          addResults: (runId, rows) => this.insertResults(runId, rows),
        }),
      ),
    );
  }

  native(sql: string, params?: readonly unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number }> {
    return this.serial(() => this.nativeStatement(sql, params));
  }

  private nativeStatement(sql: string, params?: readonly unknown[]) {
    if (!this.db.native) return Promise.reject(new WhisperPerfError(`the store ${this.location} is SQLite: this needs a PostgreSQL store (--db postgres://...)`, 'STORE_FAILED'));
    return this.db.native(sql, params);
  }

  /** The rows of one cell, inside the caller's transaction. */
  private async insertResults(runId: number, rows: readonly AnyRow[]): Promise<number[]> {
    const run = await this.db.all<{ id: number }>('SELECT id FROM runs WHERE id = ?', [runId]);
    if (run.length === 0) throw new WhisperPerfError(`no run ${runId} in ${this.location}`, 'NOT_FOUND');
    const last = await this.db.all<{ s: number | null }>('SELECT MAX(seq) AS s FROM results WHERE run_id = ?', [runId]);
    let seq = Number(last[0]?.s ?? 0);
    const ids: number[] = [];
    const now = new Date().toISOString();
    for (const row of rows) {
      const r = row as AnyRow & Record<string, unknown>;
      seq++;
      const inserted = await this.db.all<{ id: number }>(
        `INSERT INTO results (run_id, seq, cell, created_at, what, model, model_name, model_type, ftype, device, threads, flash_attn, repetitions, synthetic, error_code, error_message, warnings, row)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [runId, seq, cellKeyOfRow(r), now, ...this.indexed(r)],
      );
      const id = Number(inserted[0].id);
      await insertMetrics(this.db, id, runId, r);
      ids.push(id);
    }
    return ids;
  }

  /** The indexed columns of a row, from `what` to `row`, in the order of the INSERT above. */
  private indexed(r: Record<string, unknown>): SqlValue[] {
    const s = (k: string): string | null => (typeof r[k] === 'string' ? (r[k] as string) : null);
    const i = (k: string): number | null => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : null);
    const b = (k: string): number | null => (typeof r[k] === 'boolean' ? (r[k] ? 1 : 0) : null);
    const err = (r.error ?? null) as { code?: unknown; message?: unknown } | null;
    const model = s('model');
    return [
      String(r.what),
      model,
      model ? basename(model) : null,
      s('model_type'),
      s('ftype'),
      s('device'),
      i('threads'),
      b('flash_attn'),
      i('repetitions'),
      b('synthetic'),
      err && err.code !== undefined ? String(err.code) : null,
      err && err.message !== undefined ? String(err.message) : null,
      JSON.stringify(Array.isArray(r.warnings) ? r.warnings : []),
      JSON.stringify(r),
    ];
  }

  updateResult(resultId: number, row: AnyRow): Promise<void> {
    return this.serial(() =>
      this.tx(async () => {
        const r = row as AnyRow & Record<string, unknown>;
        const cur = await this.db.all<{ run_id: number }>('SELECT run_id FROM results WHERE id = ?', [resultId]);
        if (cur.length === 0) throw new WhisperPerfError(`no result ${resultId} in ${this.location}`, 'NOT_FOUND');
        await this.db.run(
          `UPDATE results SET what = ?, model = ?, model_name = ?, model_type = ?, ftype = ?, device = ?, threads = ?, flash_attn = ?, repetitions = ?, synthetic = ?, error_code = ?, error_message = ?, warnings = ?, row = ? WHERE id = ?`,
          [...this.indexed(r), resultId],
        );
        await this.db.run('DELETE FROM metrics WHERE result_id = ?', [resultId]);
        await insertMetrics(this.db, resultId, Number(cur[0].run_id), r);
      }),
    );
  }

  setRunStatus(runId: number, status: RunStatus, pid?: number | null): Promise<void> {
    return this.serial(async () => {
      const finished = status === 'running' ? null : new Date().toISOString();
      const n =
        pid === undefined
          ? await this.db.run('UPDATE runs SET status = ?, finished_at = ? WHERE id = ?', [status, finished, runId])
          : await this.db.run('UPDATE runs SET status = ?, finished_at = ?, pid = ? WHERE id = ?', [status, finished, pid, runId]);
      if (n === 0) throw new WhisperPerfError(`no run ${runId} in ${this.location}`, 'NOT_FOUND');
    });
  }

  getRun(id: number): Promise<RunRecord | undefined> {
    return this.serial(async () => (await this.loadRuns('WHERE r.id = ?', [id]))[0]);
  }

  findRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    return this.serial(async () => {
      const { where, params } = this.runWhere(filter);
      return this.loadRuns(where, params);
    });
  }

  private runWhere(f: RunFilter): { where: string; params: SqlValue[] } {
    const conds: string[] = [];
    const params: SqlValue[] = [];
    const anyOf = (column: string, values: readonly SqlValue[] | undefined) => {
      if (!values || values.length === 0) return;
      conds.push(`${column} IN (${values.map(() => '?').join(', ')})`);
      params.push(...values);
    };
    anyOf('r.id', f.ids);
    anyOf('r.host', f.hosts);
    anyOf('r.kind', f.kinds);
    anyOf('r.source', f.sources);
    anyOf('r.status', f.status);
    if (f.tags && f.tags.length > 0) {
      conds.push(`r.id IN (SELECT run_id FROM run_tags WHERE tag IN (${f.tags.map(() => '?').join(', ')}))`);
      params.push(...f.tags);
    }
    if (f.commits && f.commits.length > 0) {
      conds.push(`(${f.commits.map(() => 'lower(r.git_commit) LIKE ?').join(' OR ')})`);
      params.push(...f.commits.map((c) => `${c.toLowerCase()}%`));
    }
    if (f.since) {
      conds.push('r.started_at >= ?');
      params.push(f.since);
    }
    if (f.until) {
      conds.push('r.started_at <= ?');
      params.push(untilBound(f.until));
    }
    return { where: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params };
  }

  private async loadRuns(where: string, params: SqlValue[]): Promise<RunRecord[]> {
    const rows = await this.db.all<RunDbRow>(
      `SELECT ${RUN_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')},
              (SELECT CAST(COUNT(*) AS INTEGER) FROM results x WHERE x.run_id = r.id) AS n_results
       FROM runs r ${where} ORDER BY r.started_at, r.id`,
      params,
    );
    if (rows.length === 0) return [];
    const tags = new Map<number, string[]>();
    const ids = rows.map((r) => Number(r.id));
    // tags of these runs (chunks keep the parameter count small)
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const t = await this.db.all<{ run_id: number; tag: string }>(`SELECT run_id, tag FROM run_tags WHERE run_id IN (${chunk.map(() => '?').join(', ')})`, chunk);
      for (const x of t) tags.set(Number(x.run_id), [...(tags.get(Number(x.run_id)) ?? []), x.tag]);
    }
    return rows.map((r) => ({
      id: Number(r.id),
      uid: r.uid,
      started_at: r.started_at,
      finished_at: r.finished_at,
      status: r.status as RunStatus,
      kind: r.kind,
      source: r.source,
      host: r.host,
      pid: r.pid === null ? null : Number(r.pid),
      command: parse<string[]>(r.command) ?? [],
      plan: parse<Record<string, unknown>>(r.plan),
      // sorted here, not in SQL: PostgreSQL's collation may order text unlike SQLite's binary one
      tags: (tags.get(Number(r.id)) ?? []).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
      git_commit: r.git_commit,
      git_dirty: r.git_dirty === null ? null : Number(r.git_dirty) !== 0,
      package_version: r.package_version,
      whisper_version: r.whisper_version,
      node_version: r.node_version,
      system: parse<Record<string, unknown>>(r.system),
      build: parse<Record<string, unknown>>(r.build),
      results: Number(r.n_results),
    }));
  }

  results(filter: ResultFilter = {}): Promise<StoredResult[]> {
    return this.serial(async () => {
      const { where, params } = this.runWhere(filter);
      const conds = where ? [where.slice('WHERE '.length)] : [];
      if (filter.models && filter.models.length > 0) {
        // a path matches the end of the stored path; a name matches the file name as it is, or
        // whisper.cpp's ggml-NAME.bin, or a variant of it (the synthetic ggml-NAME-f16-seed0.bin)
        const parts: string[] = [];
        for (const raw of filter.models) {
          const m = raw.toLowerCase();
          if (m.includes('/')) {
            parts.push('lower(x.model) LIKE ?');
            params.push(`%${m}`);
          } else {
            parts.push('(lower(x.model_name) = ? OR lower(x.model_name) = ? OR lower(x.model_name) LIKE ?)');
            params.push(m, `ggml-${m}.bin`, `ggml-${m}-%`);
          }
        }
        conds.push(`(${parts.join(' OR ')})`);
      }
      if (filter.what && filter.what.length > 0) {
        conds.push(`x.what IN (${filter.what.map(() => '?').join(', ')})`);
        params.push(...filter.what);
      }
      if (filter.threads && filter.threads.length > 0) {
        conds.push(`x.threads IN (${filter.threads.map(() => '?').join(', ')})`);
        params.push(...filter.threads);
      }
      if (filter.okOnly) conds.push('x.error_code IS NULL');
      const rows = await this.db.all<{ id: number; run_id: number; seq: number; cell: string; created_at: string; row: string }>(
        `SELECT x.id, x.run_id, x.seq, x.cell, x.created_at, x.row FROM results x JOIN runs r ON r.id = x.run_id
         ${conds.length ? `WHERE ${conds.join(' AND ')}` : ''} ORDER BY r.started_at, r.id, x.seq`,
        params,
      );
      return rows.map((x) => ({
        id: Number(x.id),
        run_id: Number(x.run_id),
        seq: Number(x.seq),
        cell: x.cell,
        created_at: x.created_at,
        row: JSON.parse(x.row) as StoredResult['row'],
      }));
    });
  }

  cells(runId: number): Promise<Set<string>> {
    return this.serial(async () => new Set((await this.db.all<{ cell: string }>('SELECT DISTINCT cell FROM results WHERE run_id = ?', [runId])).map((r) => r.cell)));
  }

  deleteRun(id: number): Promise<boolean> {
    return this.serial(() =>
      this.tx(async () => {
        // explicit deletes: the same on both databases whatever their foreign-key settings
        await this.db.run('DELETE FROM metrics WHERE run_id = ?', [id]);
        await this.db.run('DELETE FROM results WHERE run_id = ?', [id]);
        await this.db.run('DELETE FROM run_tags WHERE run_id = ?', [id]);
        return (await this.db.run('DELETE FROM runs WHERE id = ?', [id])) > 0;
      }),
    );
  }

  hasUid(uid: string): Promise<boolean> {
    return this.serial(async () => (await this.db.all('SELECT id FROM runs WHERE uid = ?', [uid])).length > 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.serial(async () => undefined).catch(() => undefined);
    this.closed = true;
    await this.db.close();
  }
}
