// The store suite: the same tests against SQLite and PostgreSQL (see test/fixtures/store.ts).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { cellKeyOfRow } from '../../lib/measure/cells.js';
import { WhisperPerfError } from '../../lib/errors.js';
import { copyStore } from '../../lib/store/copy.js';
import { LATEST_VERSION } from '../../lib/store/migrations.js';
import { openStore } from '../../lib/store/open.js';
import { resumeRun, startRun } from '../../lib/store/recorder.js';
import type { NewRun, Store } from '../../lib/store/types.js';
import { failedRow, memcpyRow, mulmatRow } from '../fixtures/rows.js';
import { type Backend, pgUnavailable, postgresBackend, row, rtfRow, sqliteBackend } from '../fixtures/store.js';

const pgWhy = await pgUnavailable();
if (pgWhy && process.env.WHISPER_PERF_REQUIRE_PG === '1') throw new Error(`WHISPER_PERF_REQUIRE_PG=1 but ${pgWhy}`);
if (pgWhy) console.warn(`[store tests] skipping the PostgreSQL half: ${pgWhy}`);

const backends: { name: string; make: () => Backend; skip: boolean }[] = [
  { name: 'sqlite', make: sqliteBackend, skip: false },
  { name: 'postgres', make: postgresBackend, skip: pgWhy !== undefined },
];

function newRun(extra: Partial<NewRun> = {}): NewRun {
  return {
    kind: 'bench',
    source: 'whisper-perf',
    host: 'box-a',
    command: ['bench', '-t', '1,2'],
    plan: { threads: [1, 2], repetitions: 3 },
    tags: ['nightly', 'base'],
    git_commit: 'abcdef0123456789abcdef0123456789abcdef01',
    git_dirty: false,
    package_version: '0.1.0',
    whisper_version: '1.9.1',
    node_version: 'v20.20.2',
    system: { cores: 2, features: { avx2: true } },
    build: { variant: 'native', options: { GGML_NATIVE: 'ON' } },
    ...extra,
  };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<WhisperPerfError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(WhisperPerfError);
    expect((e as WhisperPerfError).code).toBe(code);
    return e as WhisperPerfError;
  }
  throw new Error(`expected a ${code} error`);
}

for (const b of backends) {
  describe.skipIf(b.skip)(`store: ${b.name}`, () => {
    const be = b.make();
    afterAll(() => be.cleanup());
    const open = async (loc?: string): Promise<Store> => openStore(loc ?? (await be.fresh()), { busyTimeoutMs: 2000 });

    it('a new store gets every migration once, recorded with its time; reopening applies none', async () => {
      const loc = await be.fresh();
      const s = await open(loc);
      const info = await s.info();
      expect(info).toMatchObject({ kind: b.name, schema_version: LATEST_VERSION, latest_version: LATEST_VERSION, runs: 0, results: 0 });
      expect(info.migrated).toEqual([1, 2, 3]);
      await s.close();
      const again = await open(loc);
      expect((await again.info()).migrated).toEqual([]);
      await again.close();
      const m = await be.query(loc, 'SELECT version, name, applied_at FROM schema_migrations ORDER BY version');
      expect(m.map((r) => Number(r.version))).toEqual([1, 2, 3]);
      for (const r of m) expect(String(r.applied_at)).toMatch(/^\d{4}-\d\d-\d\dT/);
    });

    it('transaction(): its results and its own statements commit together, or none of them when it throws', async () => {
      const s = await open();
      const run = await s.createRun(newRun());
      const kept = await s.transaction(async (tx) => {
        const ids = await tx.addResults(run.id, [row('/m/a.bin', 1, [1, 2, 3])]);
        await tx.run("INSERT INTO fleet_sweeps (id, created_at, command, plan, kinds, cells, status) VALUES ('s1', 'now', '[]', '{}', '[]', 1, 'active')");
        return ids;
      });
      expect(kept.length).toBe(1);
      await expect(
        s.transaction(async (tx) => {
          await tx.addResults(run.id, [row('/m/b.bin', 2, [1, 2, 3])]);
          await tx.run("INSERT INTO fleet_sweeps (id, created_at, command, plan, kinds, cells, status) VALUES ('s2', 'now', '[]', '{}', '[]', 1, 'active')");
          throw new Error('late result');
        }),
      ).rejects.toThrow('late result');
      expect((await s.results()).map((r) => r.row.model)).toEqual(['/m/a.bin']);
      expect((await s.transaction((tx) => tx.all<{ id: string }>('SELECT id FROM fleet_sweeps'))).map((r) => r.id)).toEqual(['s1']);
      // native(): the server's own placeholders on PostgreSQL; refused on SQLite
      if (b.name === 'postgres') expect((await s.native('SELECT $1::int + 1 AS n', [41])).rows[0].n).toBe(42);
      else await expectCode(s.native('SELECT 1'), 'STORE_FAILED');
      await s.close();
    });

    it('keeps a run and its rows exactly: every field, unknown row types included', async () => {
      const s = await open();
      const run = await s.createRun(newRun());
      expect(run).toMatchObject({ id: 1, status: 'running', kind: 'bench', host: 'box-a', tags: ['base', 'nightly'], git_dirty: false, results: 0, finished_at: null });
      expect(run.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(run.command).toEqual(['bench', '-t', '1,2']);
      expect(run.plan).toEqual({ threads: [1, 2], repetitions: 3 });
      expect(run.system).toEqual({ cores: 2, features: { avx2: true } });
      const rows = [row('/m/ggml-base.en.bin', 1, [500, 510, 505]), failedRow(), rtfRow('/m/ggml-base.en.bin', 2, [0.25, 0.26, 0.24])];
      const ids = await s.addResults(run.id, rows);
      expect(ids).toHaveLength(3);
      const got = await s.results({ ids: [run.id] });
      expect(got.map((g) => g.seq)).toEqual([1, 2, 3]);
      // byte for byte: what went in comes out
      expect(got.map((g) => JSON.stringify(g.row))).toEqual(rows.map((r) => JSON.stringify(r)));
      expect(got[2].row).toMatchObject({ what: 'rtf', file: '/audio/speech-30s.wav', preset: 'balanced', audio_s: 30, peak_rss_mb: 312.5 });
      expect(got[0].cell).toBe(cellKeyOfRow(rows[0] as never));
      expect((await s.getRun(run.id))!.results).toBe(3);
      await s.close();
    });

    it('tags come back in code-point order whatever the database collation', async () => {
      const s = await open();
      const run = await s.createRun(newRun({ tags: ['nightly', 'Zeta', 'a-b', 'a_b', 'base', 'base'] }));
      expect(run.tags).toEqual(['Zeta', 'a-b', 'a_b', 'base', 'nightly']);
      await s.close();
    });

    it('indexes common keys and every statistic or figure in SQL tables', async () => {
      const loc = await be.fresh();
      const s = await open(loc);
      const run = await s.createRun(newRun());
      await s.addResults(run.id, [rtfRow('/m/ggml-tiny.bin', 2, [0.5, 0.4, 0.45]), failedRow()]);
      await s.close();
      const r = await be.query(loc, 'SELECT what, model_name, threads, flash_attn, error_code, warnings FROM results ORDER BY seq');
      expect(r[0]).toMatchObject({ what: 'rtf', model_name: 'ggml-tiny.bin', threads: 2, flash_attn: 1, error_code: null });
      expect(r[1]).toMatchObject({ error_code: 'MODEL_INVALID' });
      const m = await be.query(loc, "SELECT name, value, n, median, samples FROM metrics WHERE name IN ('rtf', 'peak_rss_mb', 'encode_ms') ORDER BY name");
      expect(m.map((x) => x.name)).toEqual(['encode_ms', 'peak_rss_mb', 'rtf']);
      const rtf = m.find((x) => x.name === 'rtf')!;
      expect(Number(rtf.value)).toBeCloseTo(0.45, 12);
      expect(Number(rtf.n)).toBe(3);
      expect(JSON.parse(String(rtf.samples))).toEqual([0.5, 0.4, 0.45]);
      const rss = m.find((x) => x.name === 'peak_rss_mb')!;
      expect(Number(rss.value)).toBe(312.5);
      expect(rss.samples).toBeNull();
    });

    it('filters runs and results by tag, host, date, commit, model, what and threads', async () => {
      const s = await open();
      const a = await s.createRun(newRun({ tags: ['ci'], host: 'box-a', started_at: '2025-03-01T10:00:00.000Z', git_commit: 'aaaa1111' + '0'.repeat(32) }));
      const c = await s.createRun(newRun({ tags: ['nightly'], host: 'box-b', started_at: '2025-03-05T10:00:00.000Z', git_commit: 'bbbb2222' + '0'.repeat(32) }));
      await s.addResults(a.id, [row('/x/ggml-tiny.bin', 1, [10, 11, 12]), row('/x/ggml-base.bin', 2, [20, 21, 22])]);
      await s.addResults(c.id, [row('/y/ggml-tiny.bin', 2, [9, 10, 11]), memcpyRow(), failedRow()]);
      const ids = (f: Parameters<Store['findRuns']>[0]) => s.findRuns(f).then((r) => r.map((x) => x.id));
      expect(await ids({ tags: ['ci'] })).toEqual([a.id]);
      expect(await ids({ tags: ['ci', 'nightly'] })).toEqual([a.id, c.id]);
      expect(await ids({ hosts: ['box-b'] })).toEqual([c.id]);
      expect(await ids({ since: '2025-03-02' })).toEqual([c.id]);
      expect(await ids({ until: '2025-03-01' })).toEqual([a.id]);
      expect(await ids({ commits: ['BBBB22'] })).toEqual([c.id]);
      expect(await ids({ tags: ['ci'], hosts: ['box-b'] })).toEqual([]);
      const models = (await s.results({ models: ['ggml-tiny.bin'] })).map((r) => `${r.run_id}:${r.row.threads}`);
      expect(models).toEqual([`${a.id}:1`, `${c.id}:2`]);
      expect((await s.results({ models: ['/y/ggml-tiny.bin'] })).map((r) => r.run_id)).toEqual([c.id]);
      expect((await s.results({ what: ['memcpy'] })).map((r) => r.row.what)).toEqual(['memcpy']);
      expect((await s.results({ threads: [2], ids: [a.id] })).map((r) => r.row.model)).toEqual(['/x/ggml-base.bin']);
      expect((await s.results({ ids: [c.id], okOnly: true })).length).toBe(2);
      await s.close();
    });

    it('records cell by cell, rewrites derived figures, and resumes with the finished cells known', async () => {
      const s = await open();
      const rec = await startRun(s, { kind: 'bench', argv: ['bench'], plan: { threads: [1, 2, 4] }, tags: ['t'], git_commit: null });
      const r1 = row('/m/a.bin', 1, [10, 10, 10]);
      await rec.record([r1]);
      await rec.record([mulmatRow(), { ...mulmatRow(), mulmat_size: 512 }]);
      // the process dies here: the run stays 'running' with both cells
      const run = (await s.getRun(rec.id))!;
      expect(run).toMatchObject({ status: 'running', results: 3, pid: process.pid });
      await expectCode(resumeRun(s, 999, 'bench'), 'NOT_FOUND');
      await expectCode(resumeRun(s, rec.id, 'rtf'), 'USAGE');
      const { recorder, done, previous } = await resumeRun(s, rec.id, 'bench');
      expect(done).toEqual(new Set([cellKeyOfRow(r1 as never), cellKeyOfRow(mulmatRow() as never)]));
      expect(previous).toHaveLength(3);
      await recorder.record([row('/m/a.bin', 2, [6, 6, 6])]);
      // a figure derived over the whole sweep changes a stored row: it is written back
      (recorder.rows[0] as unknown as Record<string, unknown>).speedup = 1;
      expect(await recorder.rewrite()).toBe(1);
      await recorder.finish();
      const after = (await s.getRun(rec.id))!;
      expect(after.status).toBe('finished');
      expect(after.finished_at).not.toBeNull();
      const rows = await s.results({ ids: [rec.id] });
      expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
      expect(rows[0].row).toMatchObject({ speedup: 1 });
      await s.close();
    });

    it('deletes a run with its results; copies runs to another store once', async () => {
      const s = await open();
      const a = await s.createRun(newRun({ status: 'finished' }));
      await s.addResults(a.id, [row('/m/a.bin', 1, [1, 2, 3])]);
      const c = await s.createRun(newRun());
      await s.addResults(c.id, [row('/m/a.bin', 2, [1, 2, 3]), memcpyRow()]);
      const dst = await open();
      const copied = await copyStore(s, dst);
      expect(copied.copied.map((x) => x.results)).toEqual([1, 2]);
      expect((await copyStore(s, dst)).skipped).toEqual([a.id, c.id]);
      const runs = await dst.findRuns();
      expect(runs.map((r) => [r.uid, r.status, r.started_at, r.results])).toEqual((await s.findRuns()).map((r) => [r.uid, r.status, r.started_at, r.results]));
      expect(JSON.stringify((await dst.results()).map((r) => r.row))).toBe(JSON.stringify((await s.results()).map((r) => r.row)));
      expect(await s.deleteRun(a.id)).toBe(true);
      expect(await s.deleteRun(a.id)).toBe(false);
      expect((await s.info()).results).toBe(2);
      await s.close();
      await dst.close();
    });

    it('migrates a version-1 store to the latest, keeping its rows and filling the new table', async () => {
      const loc = await be.fresh();
      const v1 = await openStore(loc, { targetVersion: 1 });
      expect((await v1.info()).schema_version).toBe(1);
      const run = await v1.createRun(newRun());
      // a version-1 store has no metrics table: write rows through SQL the version-1 code would run
      await v1.close();
      const before = await openStore(loc, { targetVersion: 1 });
      await expect(before.addResults(run.id, [row('/m/a.bin', 1, [1, 2, 3])])).rejects.toThrow(/metrics/);
      await before.close();
      const ts = new Date().toISOString();
      const json = JSON.stringify(row('/m/a.bin', 1, [1, 2, 3])).replace(/'/g, "''");
      await be.query(loc, `INSERT INTO results (run_id, seq, cell, created_at, what, warnings, row) VALUES (${run.id}, 1, 'c', '${ts}', 'encoder', '[]', '${json}')`);
      const s = await open(loc);
      const info = await s.info();
      expect(info.migrated).toEqual([2, 3]);
      expect(info.schema_version).toBe(LATEST_VERSION);
      expect((await s.results()).length).toBe(1);
      await s.close();
      const m = await be.query(loc, "SELECT value FROM metrics WHERE name = 'encode_ms'");
      expect(Number(m[0].value)).toBe(2);
    });

    it('refuses a store with a newer schema and leaves it as it was', async () => {
      const loc = await be.fresh();
      const s = await open(loc);
      await s.createRun(newRun());
      await s.close();
      await be.query(loc, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'from the future', '2030-01-01T00:00:00Z')");
      const before = b.name === 'sqlite' ? readFileSync(loc) : undefined;
      const e = await expectCode(openStore(loc), 'STORE_VERSION');
      expect(e.message).toMatch(/schema version 99, newer than this whisper-perf knows \(3\)/);
      if (before) expect(readFileSync(loc).equals(before)).toBe(true);
      expect(Number((await be.query(loc, 'SELECT MAX(version) AS v FROM schema_migrations'))[0].v)).toBe(99);
      expect(Number((await be.query(loc, 'SELECT COUNT(*) AS n FROM runs'))[0].n)).toBe(1);
    });

    it('refuses a database holding whisper-perf-like tables without its migrations table', async () => {
      const loc = await be.fresh();
      await be.query(loc, 'CREATE TABLE runs (x INTEGER)');
      await expectCode(openStore(loc), 'STORE_INVALID');
      expect(Number((await be.query(loc, 'SELECT COUNT(*) AS n FROM runs'))[0].n)).toBe(0);
    });

    it('two processes writing at once both keep all their rows', async () => {
      const loc = await be.fresh();
      const s0 = await open(loc);
      await s0.close();
      const script = join(process.cwd(), 'test', 'fixtures', 'store-writer.mjs');
      expect(existsSync(join(process.cwd(), 'dist', 'store', 'index.js')), 'needs the compiled library: npm run build').toBe(true);
      // barriers over IPC: both writers open the store and start their runs, each commits one
      // result, then both write the rest at once
      const writers = ['w1', 'w2'].map((name) => {
        const p = spawn(process.execPath, [script, loc, name, '40'], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
        let out = '';
        p.stdout!.on('data', (d) => (out += d));
        p.stderr!.on('data', (d) => (out += d));
        const said: string[] = [];
        const waiters: ((m: string) => void)[] = [];
        p.on('message', (m) => (waiters.length ? waiters.shift()!(String(m)) : said.push(String(m))));
        const closed = new Promise<{ code: number; out: string }>((resolve) => p.on('close', (code) => resolve({ code: code ?? -1, out })));
        const hear = (what: string) =>
          Promise.race([
            new Promise<string>((resolve) => (said.length ? resolve(said.shift()!) : waiters.push(resolve))),
            closed.then((c) => `exited ${c.code}: ${c.out}`),
          ]).then((m) => expect(m, name).toBe(what));
        return { p, hear, closed };
      });
      for (const w of writers) await w.hear('ready');
      for (const w of writers) w.p.send('go');
      for (const w of writers) await w.hear('first');
      for (const w of writers) w.p.send('go');
      const done = await Promise.all(writers.map((w) => w.closed));
      for (const d of done) expect(d.code, d.out).toBe(0);
      const s = await open(loc);
      const runs = await s.findRuns();
      expect(runs.map((r) => [r.tags[0], r.results, r.status])).toEqual(expect.arrayContaining([['w1', 40, 'finished'], ['w2', 40, 'finished']]));
      // their commits interleaved: each writer's first result came before the other's others
      const rows = await s.results();
      expect(rows).toHaveLength(80);
      const order = (await be.query(loc, 'SELECT run_id FROM results ORDER BY id')).map((r) => Number(r.run_id));
      expect(new Set(order.slice(0, 2)).size).toBe(2);
      expect(order.filter((r) => r === order[0])).toHaveLength(40);
      await s.close();
    });
  });
}

describe('store: SQLite bad input', () => {
  const be = sqliteBackend();

  it('a file that is not SQLite: STORE_INVALID, the file untouched', async () => {
    const loc = await be.fresh();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(loc, 'this is a text file, not a database\n'.repeat(100));
    const before = readFileSync(loc);
    const e = await expectCode(openStore(loc), 'STORE_INVALID');
    expect(e.message).toContain('not a SQLite database');
    expect(readFileSync(loc).equals(before)).toBe(true);
    expect(existsSync(`${loc}-wal`)).toBe(false);
  });

  it("another program's SQLite database: STORE_INVALID, untouched", async () => {
    const loc = await be.fresh();
    await be.query(loc, 'CREATE TABLE notes (body TEXT)');
    const before = readFileSync(loc);
    await expectCode(openStore(loc), 'STORE_INVALID');
    expect(readFileSync(loc).equals(before)).toBe(true);
  });

  it('a missing store for a command that only reads: NOT_FOUND, nothing created', async () => {
    const loc = await be.fresh();
    await expectCode(openStore(loc, { create: false }), 'NOT_FOUND');
    expect(existsSync(loc)).toBe(false);
  });

  it('a store locked by another writer: STORE_LOCKED after the busy timeout, nothing written', async () => {
    const loc = await be.fresh();
    const s = await openStore(loc);
    await s.close();
    const { createRequire } = await import('node:module');
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (f: string) => { exec(s: string): void; close(): void };
    const holder = new Database(loc);
    holder.exec('BEGIN IMMEDIATE');
    try {
      const w = await openStore(loc, { busyTimeoutMs: 200 });
      const t0 = Date.now();
      await expectCode(w.createRun(newRun()), 'STORE_LOCKED');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
      await w.close();
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect((await be.query(loc, 'SELECT COUNT(*) AS n FROM runs'))[0].n).toBe(0);
  });
});

describe.skipIf(pgWhy !== undefined)('store: PostgreSQL bad input', () => {
  it('a server that does not answer: STORE_UNAVAILABLE', async () => {
    const u = new URL(process.env.WHISPER_PERF_TEST_PG!);
    u.port = '1';
    const e = await expectCode(openStore(u.toString(), { connectTimeoutMs: 2000 }), 'STORE_UNAVAILABLE');
    expect(e.message).toMatch(/does not answer/);
  });

  it('a refused password: STORE_UNAVAILABLE, and the message hides the password', async () => {
    const u = new URL(process.env.WHISPER_PERF_TEST_PG!);
    u.password = 'wrong-secret-1234';
    const e = await expectCode(openStore(u.toString()), 'STORE_UNAVAILABLE');
    expect(e.message).toMatch(/refused the login/);
    expect(e.message).not.toContain('wrong-secret-1234');
  });
});

describe.skipIf(pgWhy !== undefined)('report: SQLite and PostgreSQL give the same report', () => {
  it('the same runs in both stores: every view identical in md, json and csv', async () => {
    const { buildViews, renderViews, VIEWS } = await import('../../lib/report/views.js');
    const { reportRows } = await import('../fixtures/report.js');
    const { selectData } = await import('../../lib/cli/report.js');
    const sb = sqliteBackend();
    const pb = postgresBackend();
    const sqlite = await openStore(await sb.fresh());
    const { runs, rows } = reportRows();
    for (const r of runs) {
      const created = await sqlite.createRun({ ...newRun({ tags: r.tags, git_commit: r.git_commit, started_at: r.started_at }), status: 'finished' });
      for (const [runId, row2] of rows) if (runId === r.id) await sqlite.addResults(created.id, [row2]);
    }
    const pg = await openStore(await pb.fresh());
    await copyStore(sqlite, pg);
    try {
      for (const filter of [{}, { tags: ['nightly'] }, { models: ['ggml-tiny.bin'] }, { since: '2025-04-02' }]) {
        const a = await selectData(sqlite, filter);
        const c = await selectData(pg, filter);
        for (const v of VIEWS) {
          for (const fmt of ['md', 'json', 'csv'] as const) {
            const ta = renderViews(buildViews(a, [v], { metric: 'rtf' }), fmt);
            expect(renderViews(buildViews(c, [v], { metric: 'rtf' }), fmt), `${v} ${fmt} ${JSON.stringify(filter)}`).toBe(ta);
          }
        }
      }
    } finally {
      await sqlite.close();
      await pg.close();
      await pb.cleanup();
    }
  });
});
