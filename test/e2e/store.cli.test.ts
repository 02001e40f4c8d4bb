// The store through the CLI as a user runs it: exit codes on bad input, import, report, compare
// as a gate, and a sweep killed with SIGKILL in its middle that --resume completes.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, inject, it } from 'vitest';

import type { BenchRow } from '../../lib/measure/types.js';
import { endsWithTest } from '../fixtures/cli.js';
import { pgUnavailable, row } from '../fixtures/store.js';

const cli = join(process.cwd(), 'dist', 'cli', 'main.js');
const tmp = mkdtempSync(join(tmpdir(), 'wp-store-cli-'));
const fixtures = join(process.cwd(), 'test', 'fixtures', 'native');
const require = createRequire(import.meta.url);

function start(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<{ code: number; stdout: string; stderr: string }> } {
  const child = endsWithTest(spawn(process.execPath, [cli, ...args], { cwd: tmp, env: { ...process.env, WHISPER_PERF_CACHE: join(tmp, 'cache'), WHISPER_PERF_DB: join(tmp, 'default.db'), ...env } }));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => child.on('close', (code, signal) => resolve({ code: code ?? (signal ? -1 : -2), stdout, stderr })));
  return { child, done };
}
const run = (args: string[]) => start(args).done;

function sql<T = Record<string, unknown>>(file: string, query: string): T[] {
  const Database = require('better-sqlite3') as new (f: string, o?: { readonly?: boolean }) => { prepare(s: string): { all(): unknown[] }; close(): void };
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(query).all() as T[];
  } finally {
    db.close();
  }
}

describe('store CLI: help', () => {
  it('report, compare, db and the bench store options have help; top-level help names them', async () => {
    const top = await run(['--help']);
    for (const c of ['report', 'compare', 'db']) expect(top.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect((await run(['report', '--help'])).stdout).toContain('--html FILE');
    expect((await run(['help', 'compare'])).stdout).toContain('--threshold PCT');
    expect((await run(['db', '--help'])).stdout).toContain('db import FILE');
    const bench = (await run(['bench', '--help'])).stdout;
    for (const o of ['--db FILE|URL', '--tag NAME', '--resume RUN', '--save']) expect(bench).toContain(o);
    expect((await run(['compare', 'onlyone'])).code).toBe(2);
    expect((await run(['db', 'frob'])).code).toBe(2);
  });
});

describe('store CLI: bad input exits 2 and leaves the store as it was', () => {
  it('a file that is not SQLite', async () => {
    const f = join(tmp, 'notes.txt');
    writeFileSync(f, 'not a database\n'.repeat(50));
    const before = readFileSync(f);
    for (const args of [['report', '--db', f], ['db', 'import', join(fixtures, 'whisper-cli.txt'), '--db', f], ['compare', '1', '2', '--db', f]]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/not a SQLite database .*\[STORE_INVALID\]/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(readFileSync(f).equals(before)).toBe(true);
  });

  it('a store that does not exist, for a command that reads', async () => {
    const r = await run(['report', '--db', join(tmp, 'nothing-here.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no store at .*nothing-here\.db/);
    expect(existsSync(join(tmp, 'nothing-here.db'))).toBe(false);
  });

  it('a schema newer than this code', async () => {
    const f = join(tmp, 'future.db');
    expect((await run(['db', 'migrate', '--db', f])).code).toBe(0);
    const Database = require('better-sqlite3') as new (f: string) => { exec(s: string): void; close(): void };
    const db = new Database(f);
    db.exec("INSERT INTO schema_migrations VALUES (7, 'future', '2030-01-01')");
    db.close();
    const before = readFileSync(f);
    const r = await run(['db', 'import', join(fixtures, 'whisper-cli.txt'), '--db', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/schema version 7, newer than this whisper-perf knows \(3\); upgrade whisper-perf \[STORE_VERSION\]/);
    expect(readFileSync(f).equals(before)).toBe(true);
  });

  it('PostgreSQL that does not answer, or refuses the password', async () => {
    const r = await run(['report', '--db', 'postgres://wp:pw@127.0.0.1:1/none']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does not answer \(ECONNREFUSED\) \[STORE_UNAVAILABLE\]/);
    if ((await pgUnavailable()) === undefined) {
      const u = new URL(process.env.WHISPER_PERF_TEST_PG!);
      u.password = 'not-the-password';
      const w = await run(['report', '--db', u.toString()]);
      expect(w.code).toBe(2);
      expect(w.stderr).toMatch(/refused the login/);
      expect(w.stderr).not.toContain('not-the-password');
    }
  });
});

describe('store CLI: import, report and compare', () => {
  const db = join(tmp, 'imports.db');

  it('imports whisper.cpp output marked native, reports on it, writes an HTML page', async () => {
    const r = await run(['db', 'import', join(fixtures, 'whisper-bench-t1.txt'), join(fixtures, 'whisper-cli.txt'), join(fixtures, 'bench-py.csv'), '--db', db, '--tag', 'native', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { file: join(fixtures, 'whisper-bench-t1.txt'), format: 'whisper-bench', run: 1, rows: 1 },
      { file: join(fixtures, 'whisper-cli.txt'), format: 'whisper-cli', run: 2, rows: 1 },
      { file: join(fixtures, 'bench-py.csv'), format: 'bench-py', run: 3, rows: 3 },
    ]);
    const runs = sql<{ source: string; kind: string; git_commit: string | null }>(db, 'SELECT source, kind, git_commit FROM runs ORDER BY id');
    expect(runs.map((x) => x.source)).toEqual(['native', 'native', 'native']);
    expect(runs[2].git_commit).toBe('a1b2c3d');
    const rep = await run(['report', '--db', db, '--view', 'rtf,stages', '-o', 'json']);
    expect(rep.code).toBe(0);
    const j = JSON.parse(rep.stdout) as { rtf: { model: string; native: string }[]; stages: { threads: number }[] };
    // whisper-cli's base.en at 4 threads and bench.py's pool into one line
    expect(j.rtf.map((x) => x.model)).toEqual(['ggml-base.en.bin', 'ggml-tiny.en.bin', 'ggml-tiny.en.bin']);
    expect(j.rtf.every((x) => x.native === 'yes')).toBe(true);
    expect(j.stages).toHaveLength(1);
    const html = join(tmp, 'r.html');
    const h = await run(['report', '--db', db, '--html', html]);
    expect(h.code).toBe(0);
    expect(h.stdout).toBe('');
    expect(readFileSync(html, 'utf8')).toContain('id="chart-rtf"');
    // a bad file imports nothing
    const bad = join(tmp, 'bad.txt');
    writeFileSync(bad, 'hello');
    const b = await run(['db', 'import', join(fixtures, 'whisper-cli.txt'), bad, '--db', db]);
    expect(b.code).toBe(2);
    expect(sql<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM runs')[0].n).toBe(3);
  });

  it('compare: one run per side is inconclusive (3); with repeated runs in the store, identical runs never fail and -t 1 against -t 2 does (1)', async () => {
    const write = (name: string, rows: BenchRow[]) => {
      const f = join(tmp, name);
      writeFileSync(f, JSON.stringify(rows));
      return f;
    };
    const t2 = write('t2.json', [row('/m/ggml-tiny.bin', 2, [100, 101, 99, 100.5, 99.5])]);
    const t1 = write('t1.json', [row('/m/ggml-tiny.bin', 1, [180, 182, 179, 181, 180])]);
    // two files are two processes and nothing else: no verdict either way
    const alone = await run(['compare', t2, t1]);
    expect(alone.code).toBe(3);
    expect(alone.stdout).toMatch(/encode_ms .*🟡 inconclusive/);
    expect(alone.stderr).toMatch(/inconclusive: these runs cannot tell a change/);
    // four runs of the same configuration, each process a few percent off the others, as on this VM
    const rdb = join(tmp, 'repeat.db');
    const shifts = [1.0, 1.051, 0.985, 1.057];
    for (const [i, f] of shifts.entries()) {
      const file = write(`same-${i}.json`, [row('/m/ggml-tiny.bin', 2, [100, 100.3, 99.7, 100.1, 99.9].map((x) => x * f))]);
      expect((await run(['db', 'import', file, '--format', 'json', '--db', rdb, '--tag', `same${i}`])).code).toBe(0);
    }
    expect((await run(['db', 'import', t1, '--format', 'json', '--db', rdb, '--tag', 'one'])).code).toBe(0);
    for (let i = 0; i < 4; i++) {
      for (let j = i + 1; j < 4; j++) {
        const c = await run(['compare', `tag:same${i}`, `tag:same${j}`, '--db', rdb, '-o', 'json']);
        expect(c.code, `same${i} against same${j}`).not.toBe(1);
        expect(JSON.parse(c.stdout)).toMatchObject({ slower: 0 });
      }
    }
    const slow = await run(['compare', 'tag:same0', 'tag:one', '--db', rdb]);
    expect(slow.code).toBe(1);
    expect(slow.stdout).toMatch(/encode_ms .*🔴 slower/);
    expect(slow.stdout).toMatch(/3 df, the store's repeated runs/);
    expect(slow.stderr).toMatch(/the gate fails/);
    const missing = await run(['compare', '1', '99', '--db', db]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/99: no run 99/);
    const nothing = await run(['compare', 'tag:nope', '1', '--db', db]);
    expect(nothing.code).toBe(2);
    // run 1 holds an encoder row, run 2 an rtf row: nothing to compare
    const disjoint = await run(['compare', '1', '2', '--db', db]);
    expect(disjoint.code).toBe(2);
    expect(disjoint.stderr).toMatch(/share no metric/);
  });
});

describe('store CLI: a sweep killed with SIGKILL keeps its finished cells; --resume completes it', () => {
  it('kill -9 after the first cell, then --resume runs only the second', async () => {
    const tiny = inject('tinyModel');
    const model = join(tmp, 'ggml-tiny-test.bin');
    copyFileSync(tiny, model);
    const db = join(tmp, 'sweep.db');
    const sweep = ['bench', '-m', model, '-t', '1,2', '-r', '1', '--quick', '--warmup', '0', '--db', db, '--tag', 'killed'];
    // the sweep stops itself right after committing its first cell (a test hook in the recorder):
    // killed there, it has exactly one committed cell and the second has not begun to commit
    const p = start(sweep, { WHISPER_PERF_TEST_PAUSE_AFTER_CELLS: '1' });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      p.child.stderr!.on('data', (d) => {
        err += d;
        if (err.includes('test hook: paused after committing cell 1')) resolve();
      });
      p.done.then((r) => reject(new Error(`the sweep ended before its first cell was committed: ${r.stderr}`)));
    });
    const n = sql<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM results')[0].n;
    expect(n).toBe(1);
    p.child.kill('SIGKILL');
    const killed = await p.done;
    expect(killed.code).toBe(-1);
    const before = sql<{ status: string; results: number }>(db, 'SELECT status, (SELECT COUNT(*) FROM results) AS results FROM runs');
    expect(before).toEqual([{ status: 'running', results: 1 }]);
    const firstRow = sql<{ row: string }>(db, 'SELECT row FROM results WHERE seq = 1')[0].row;

    // sweep options with --resume are a usage error
    expect((await run(['bench', '--db', db, '--resume', '1', '-t', '4'])).code).toBe(2);
    const r = await run(['bench', '--db', db, '--resume', '1', '-o', 'json', '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming run 1 .*: 1 row\(s\) of 1 finished cell\(s\) kept/);
    const rows = JSON.parse(r.stdout) as BenchRow[];
    expect(rows.map((x) => x.threads)).toEqual([1, 2]);
    const after = sql<{ status: string; finished_at: string | null }>(db, 'SELECT status, finished_at FROM runs');
    expect(after[0].status).toBe('finished');
    expect(after[0].finished_at).not.toBeNull();
    const stored = sql<{ seq: number; row: string }>(db, 'SELECT seq, row FROM results ORDER BY seq');
    expect(stored.map((x) => (JSON.parse(x.row) as BenchRow).threads)).toEqual([1, 2]);
    // the first cell was not measured again: its samples are the ones stored before the kill
    const was = JSON.parse(firstRow) as BenchRow;
    const now = JSON.parse(stored[0].row) as BenchRow;
    expect(now.encode_ms!.samples).toEqual(was.encode_ms!.samples);
    // and the figures over the whole sweep were added to it afterwards
    expect(now.speedup).toBe(1);
    expect(typeof (JSON.parse(stored[1].row) as BenchRow).speedup).toBe('number');
    // resuming a finished run measures nothing more
    const again = await run(['bench', '--db', db, '--resume', '1', '-o', 'json']);
    expect(again.code).toBe(0);
    expect(sql<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM results')[0].n).toBe(2);
  }, 600_000);
});
