// The fleet with real processes on one machine against the throwaway PostgreSQL: three `fleet
// work` processes of two kinds, one killed with SIGKILL in the middle of a cell (and restarted,
// as systemd would), one stopped with SIGSTOP past the visibility timeout and then continued.
// Every cell must be stored exactly once, the killed cell retried, the stopped worker's late
// result discarded, and each kind's cells run only by that kind's workers. Every wait is on an
// event (a log line, a stored cell), never on a wall-clock guess.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CLI } from '../fixtures/cli.js';
import { pgUnavailable, postgresBackend } from '../fixtures/store.js';

const tmp = mkdtempSync(join(tmpdir(), 'wp-fleet-'));
const cache = join(tmp, 'cache');
const unavailable = await pgUnavailable();
if (unavailable && process.env.WHISPER_PERF_REQUIRE_PG) throw new Error(`WHISPER_PERF_REQUIRE_PG is set but ${unavailable}`);
if (unavailable) console.warn(`fleet tests skipped: ${unavailable}`);
const pg = postgresBackend();

interface Proc {
  child: ChildProcess;
  pid: number;
  out: () => string;
  err: () => string;
  /** resolves with the first stderr line matching `re` (from the start of the output) */
  line: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCli(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, WHISPER_PERF_CACHE: cache, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const m = err.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => {
    err += d;
    check();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return {
    child,
    pid: child.pid!,
    out: () => out,
    err: () => err,
    exited,
    line: (re, timeoutMs = 480_000) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no line ${re} within ${timeoutMs} ms; stderr:\n${err.slice(-3000)}`)), timeoutMs);
        waiters.push({ re, resolve: (m) => (clearTimeout(t), resolve(m)) });
        check();
        void exited.then(() => setTimeout(() => reject(new Error(`exited before a line ${re}; stderr:\n${err.slice(-3000)}`)), 50));
      }),
  };
}

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startCli(args, env);
  const { code } = await p.exited;
  return { code, stdout: p.out(), stderr: p.err() };
}

/** Polls `fn` until it returns a value (an event in the database, not a duration); `context` adds the workers' logs to a timeout. */
async function until<T>(what: string, fn: () => Promise<T | undefined>, context: () => string = () => '', timeoutMs = 480_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}${context()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(!!unavailable)('fleet: workers of two kinds, one killed, one stopped', () => {
  let db = '';
  let env: Record<string, string> = {};
  const procs: Proc[] = [];
  const q = (sql: string) => pg.query(db, sql);
  beforeAll(async () => {
    db = await pg.fresh();
    env = { WHISPER_PERF_DB: db };
  });
  afterAll(async () => {
    if (process.env.FLEET_TEST_DEBUG) for (const p of procs) console.error(`--- worker ${p.pid}\n${p.err()}`);
    for (const p of procs) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
    }
    await pg.cleanup();
  });

  it('stores every cell exactly once; the killed cell is retried, the stopped worker discards its late result', async () => {
    // the visibility timeout must be far above a cell's time on a busy machine, or a live worker's
    // cell expires and every attempt is discarded: a cell (tiny, --quick, one repetition) took 7-9 s
    // beside another test file, 13 s beside 2 spinning shells and 29 s beside 6 here, and with 30 s
    // a flake run lost cell 1 of ka (docs/flake/3f8a8aa.jsonl, run 2)
    const TIMEOUT_S = 120;
    const sub = await cli(['fleet', 'submit', '--kind', 'ka,kb', '-t', '1', '--fa', 'on,off', '--quick', '-r', '1', '--warmup', '0', '--timeout', String(TIMEOUT_S), '-o', 'json'], env);
    expect(sub.code, sub.stderr).toBe(0);
    const submitted = JSON.parse(sub.stdout) as { sweep: string; cells: number; jobs: number; queued: number };
    expect(submitted).toMatchObject({ cells: 2, jobs: 4, queued: 4 });
    const sweep = submitted.sweep;
    // no worker of either kind has run yet: submit says so
    expect(sub.stderr).toMatch(/no worker of kind ka/);
    // the same sweep again queues nothing
    const again = await cli(['fleet', 'submit', '--kind', 'ka,kb', '-t', '1', '--fa', 'on,off', '--quick', '-r', '1', '--warmup', '0', '--timeout', String(TIMEOUT_S), '-o', 'json'], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ sweep, queued: 0, jobs: 4 });

    const logs = () => procs.map((p) => `\n--- worker ${p.pid}:\n${p.err().slice(-2000)}`).join('');
    const work = (kind: string) => {
      const p = startCli(['fleet', 'work', '--kind', kind, '--maintenance', '1', '--poll', '1'], env);
      procs.push(p);
      return p;
    };
    const a1 = work('ka');
    const a2 = work('ka');
    const b1 = work('kb');

    // SIGKILL b1 in the middle of its first cell, then start its replacement
    const bClaim = await b1.line(/claimed sweep \w+ cell (\d+) .* attempt 1/);
    const killedCell = Number(bClaim[1]);
    b1.child.kill('SIGKILL');
    const killedAt = Date.now();
    expect((await b1.exited).signal).toBe('SIGKILL');
    const b2 = work('kb');

    // SIGSTOP a2 in the middle of a cell, until another ka worker has stored that cell
    const aClaim = await a2.line(/claimed sweep \w+ cell (\d+) /);
    const stoppedCell = Number(aClaim[1]);
    a2.child.kill('SIGSTOP');
    await until(`cell ${stoppedCell} of ka stored by another worker`, async () => ((await q(`SELECT 1 FROM fleet_cells WHERE kind = 'ka' AND cell_index = ${stoppedCell}`)).length ? true : undefined), logs);
    a2.child.kill('SIGCONT');
    await a2.line(new RegExp(`discarded the late result of sweep \\w+ cell ${stoppedCell} .*claimed again`));

    // every cell of both kinds stored
    await until('all 4 cells stored', async () => (Number((await q(`SELECT count(*) AS n FROM fleet_cells WHERE sweep_id = '${sweep}'`))[0].n) === 4 ? true : undefined), logs);
    const retried = (await q(`SELECT started_on FROM pgboss.job WHERE data->>'kind' = 'kb' AND (data->>'cell')::int = ${killedCell} UNION ALL SELECT started_on FROM pgboss.archive WHERE data->>'kind' = 'kb' AND (data->>'cell')::int = ${killedCell}`))[0];
    const cellMs = await q(`SELECT kind, cell_index, attempt, cell_ms FROM fleet_cells WHERE sweep_id = '${sweep}' ORDER BY kind, cell_index`);
    console.error(`[fleet test] cells stored: ${cellMs.map((c) => `${c.kind}/${c.cell_index} attempt ${c.attempt} ${Math.round(Number(c.cell_ms))} ms`).join(', ')}`);
    console.error(`[fleet test] killed cell rerun ${((new Date(retried.started_on as string).getTime() - killedAt) / 1000).toFixed(1)} s after the SIGKILL (visibility timeout ${TIMEOUT_S} s)`);

    // status while workers are still up: all done, the live workers listed
    const status = await cli(['fleet', 'status', sweep, '-o', 'json'], env);
    expect(status.code, status.stderr).toBe(0);
    const st = JSON.parse(status.stdout) as { kinds: { kind: string; done: number; queued: number; running: number; failed: number }[]; workers: { id: string }[] };
    expect(st.kinds.map((k) => [k.kind, k.done, k.queued, k.running, k.failed])).toEqual([
      ['ka', 2, 0, 0, 0],
      ['kb', 2, 0, 0, 0],
    ]);
    expect(st.workers.length).toBeGreaterThanOrEqual(3);
    expect(status.stdout).not.toContain(new URL(db).password);

    // SIGTERM: each worker stops cleanly
    for (const p of [a1, a2, b2]) p.child.kill('SIGTERM');
    for (const p of [a1, a2, b2]) expect((await p.exited).code, p.err()).toBe(0);

    // exactly once: 4 results, one per (kind, cell); the report agrees
    const rows = await q(`SELECT row FROM results`);
    const fleet = rows.map((r) => (JSON.parse(r.row as string) as { fleet: { kind: string; cell: number; attempt: number; worker: string } }).fleet);
    expect(fleet.length).toBe(4);
    expect(new Set(fleet.map((f) => `${f.kind}/${f.cell}`)).size).toBe(4);
    // the killed cell was stored by a later attempt, by the replacement worker
    const killed = fleet.find((f) => f.kind === 'kb' && f.cell === killedCell)!;
    expect(killed.attempt).toBeGreaterThanOrEqual(2);
    expect(killed.worker).toContain(`:${b2.pid}:`);
    // routing: ka cells only by ka workers, kb cells only by kb workers
    const pidOf = (w: string) => Number(w.split(':')[1]);
    for (const f of fleet) expect(f.kind === 'ka' ? [a1.pid, a2.pid] : [b1.pid, b2.pid]).toContain(pidOf(f.worker));
    // the stopped worker's cell: stored once, not by it
    const stopped = fleet.find((f) => f.kind === 'ka' && f.cell === stoppedCell)!;
    expect(pidOf(stopped.worker)).toBe(a1.pid);

    const report = await cli(['fleet', 'report', sweep, '-o', 'json'], env);
    expect(report.code, report.stderr).toBe(0);
    expect(JSON.parse(report.stdout)).toMatchObject({ missing: 0, doubled: 0 });
    const md = await cli(['fleet', 'report', sweep], env);
    expect(md.stdout).toMatch(/4 cell\(s\) × kind: 4 stored, 0 missing, 0 doubled/);
  }, 900_000);

  it('cancel: cells not yet run are cancelled and no worker runs them', async () => {
    const sub = await cli(['fleet', 'submit', '--kind', 'kc', '-t', '1,2', '--quick', '-r', '1', '--warmup', '0', '--tag', 'cancel-me', '-o', 'json'], env);
    expect(sub.code, sub.stderr).toBe(0);
    const { sweep } = JSON.parse(sub.stdout) as { sweep: string };
    const c = await cli(['fleet', 'cancel', sweep, '-o', 'json'], env);
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout)).toEqual({ sweep, cancelled: 2 });
    const w = await cli(['fleet', 'work', '--kind', 'kc', '--once'], env);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toMatch(/stopped: 0 cell\(s\) stored/);
    const st = JSON.parse((await cli(['fleet', 'status', sweep, '-o', 'json'], env)).stdout) as { status: string; kinds: { cancelled: number; done: number }[] };
    expect(st.status).toBe('cancelled');
    expect(st.kinds[0]).toMatchObject({ cancelled: 2, done: 0 });
  });

  it('an rtf sweep: the audio travels by hash, downloaded from --files-from on loopback; the row is an rtf row', async () => {
    const audioDir = join(tmp, 'audio');
    const gen = await cli(['audio', 'gen', '--duration', '2', '--kind', 'tones', '--out-dir', audioDir], env);
    expect(gen.code, gen.stderr).toBe(0);
    // a file server on loopback: the real bytes, or other bytes under the same name
    let lie = false;
    const served: string[] = [];
    const server = createServer((req, res) => {
      served.push(req.url ?? '');
      res.end(lie ? Buffer.from('RIFF-not-the-same') : readFileSync(join(audioDir, decodeURIComponent((req.url ?? '').replace(/^\/files\//, '')))));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files`;
    const sub = await cli(['fleet', 'submit', '--kind', 'kf', '-f', join(audioDir, 'tones-2s.wav'), '-p', 'speed', '-t', '1', '-r', '1', '--warmup', '0', '--files-from', base, '-o', 'json'], env);
    expect(sub.code, sub.stderr).toBe(0);
    const { sweep, cells } = JSON.parse(sub.stdout) as { sweep: string; cells: number };
    expect(cells).toBe(1);
    // first a server that lies: the worker refuses the bytes and fails the cell back to the queue
    lie = true;
    const wl = await cli(['fleet', 'work', '--kind', 'kf', '--once'], env);
    expect(wl.stderr).toMatch(/tones-2s.wav from http:\/\/127.0.0.1:\d+\/files\/tones-2s.wav: SHA-256 \w+… is not the sweep's .*\[CHECKSUM_MISMATCH\] \(will be retried\)/);
    lie = false;
    // the retry waits out its retry delay (1 s), then downloads the right bytes
    let w = await cli(['fleet', 'work', '--kind', 'kf', '--once'], env);
    for (let i = 0; i < 20 && /stopped: 0 cell/.test(w.stderr); i++) w = await cli(['fleet', 'work', '--kind', 'kf', '--once'], env);
    server.close();
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toMatch(/stored sweep \w+ cell 0 \(ggml-tiny.en-f16-seed0.bin tones-2s.wav speed -t 1\) attempt 2: 1 row/);
    expect(served).toEqual(['/files/tones-2s.wav', '/files/tones-2s.wav']);
    const r = JSON.parse((await cli(['fleet', 'report', sweep, '-o', 'json'], env)).stdout) as { missing: number; cells: { results: { what: string; preset: string; file: string; rtf?: { median: number }; error?: unknown }[] }[] };
    expect(r.missing).toBe(0);
    const row = r.cells[0].results[0];
    expect(row).toMatchObject({ what: 'rtf', preset: 'speed' });
    expect(row.error).toBeUndefined();
    expect(row.file).toContain('tones-2s.wav');
    expect(row.rtf!.median).toBeGreaterThan(0);
    // a bench option in an rtf sweep is a usage error
    expect((await cli(['fleet', 'submit', '--kind', 'kf', '-f', join(audioDir, 'tones-2s.wav'), '-w', 'memcpy'], env)).code).toBe(2);
  });

  it('bad input: a newer payload, a model whose hash does not match, a wrong URL, SQLite, an unknown sweep', async () => {
    // a job from a newer whisper-perf: failed with the reason, never run
    const sub = await cli(['fleet', 'submit', '--kind', 'kd', '-t', '1', '--quick', '-r', '1', '--warmup', '0', '--retries', '0', '-o', 'json'], env);
    const { sweep } = JSON.parse(sub.stdout) as { sweep: string };
    await q(`UPDATE pgboss.job SET data = jsonb_set(data, '{v}', '99') WHERE data->>'sweep' = '${sweep}'`);
    const w = await cli(['fleet', 'work', '--kind', 'kd', '--once'], env);
    expect(w.code).toBe(0);
    expect(w.stderr).toMatch(/submitted by a newer whisper-perf \(payload version 99/);
    const st = JSON.parse((await cli(['fleet', 'status', sweep, '-o', 'json'], env)).stdout) as { failures: { reason: string }[] };
    expect(st.failures[0].reason).toMatch(/newer whisper-perf/);

    // a model file of the sweep's name whose bytes differ: refused by hash, stored with its error
    const models = join(tmp, 'models');
    const real = join(models, 'real');
    const fake = join(models, 'fake');
    for (const d of [real, fake]) mkdirSync(d, { recursive: true });
    copyFileSync(join(cache, 'synthetic', 'ggml-tiny.en-f16-seed0.bin'), join(real, 'm.bin'));
    writeFileSync(join(fake, 'm.bin'), 'not the same model');
    const s2 = await cli(['fleet', 'submit', '--kind', 'ke', '-m', join(real, 'm.bin'), '-t', '1', '--quick', '-r', '1', '--warmup', '0', '--retries', '0', '-o', 'json'], env);
    expect(s2.code, s2.stderr).toBe(0);
    const w2 = await cli(['fleet', 'work', '--kind', 'ke', '--once', '--files-dir', fake], { ...env, WHISPER_PERF_CACHE: join(tmp, 'empty-cache') });
    expect(w2.stderr).toMatch(/does not match the sweep's SHA-256/);
    const r2 = JSON.parse((await cli(['fleet', 'report', JSON.parse(s2.stdout).sweep, '-o', 'json'], env)).stdout) as { cells: { results: { error?: { code: string } }[] }[] };
    expect(r2.cells[0].results[0].error?.code).toBe('CHECKSUM_MISMATCH');

    // a wrong password: refused without the password in the message
    const bad = new URL(db);
    bad.password = 'wrong-secret-123';
    const w3 = await cli(['fleet', 'status'], { WHISPER_PERF_DB: bad.toString() });
    expect(w3.code).toBe(2);
    expect(w3.stderr).toMatch(/STORE_UNAVAILABLE|refused/);
    expect(w3.stderr).not.toContain('wrong-secret-123');
    // SQLite cannot be shared by machines
    const w4 = await cli(['fleet', 'status', '--db', join(tmp, 'x.db')], {});
    expect(w4.code).toBe(2);
    expect(w4.stderr).toMatch(/must be PostgreSQL/);
    // an unknown sweep, a bad kind
    expect((await cli(['fleet', 'status', 'nosuchsweep'], env)).code).toBe(2);
    const k = await cli(['fleet', 'work', '--kind', 'Bad Kind'], env);
    expect(k.code).toBe(2);
    expect(k.stderr).toMatch(/machine kind "Bad Kind"/);
  });
});
