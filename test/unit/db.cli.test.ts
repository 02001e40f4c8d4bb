// `whisper-perf db info|runs|copy|delete` through main() (no addon), on a store filled from the
// recorded whisper.cpp outputs in test/fixtures/native: one result each from whisper-bench and
// whisper-cli, and three from scripts/bench.py's CSV (its three data lines).
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { expectUsageError, runMain } from '../fixtures/cli.js';

const require = createRequire(import.meta.url);
const tmp = mkdtempSync(join(tmpdir(), 'wp-db-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const fx = (f: string) => join(process.cwd(), 'test', 'fixtures', 'native', f);

/** Counts read straight from the SQLite file, not through the store. */
function counts(file: string): { runs: number; results: number } {
  const Database = require('better-sqlite3') as new (f: string, o?: { readonly?: boolean }) => { prepare(s: string): { get(): unknown }; close(): void };
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT (SELECT COUNT(*) FROM runs) AS runs, (SELECT COUNT(*) FROM results) AS results').get() as { runs: number; results: number };
  } finally {
    db.close();
  }
}

describe('db info, runs, copy, delete', () => {
  const a = join(tmp, 'a.db');
  const b = join(tmp, 'b.db');
  beforeAll(async () => {
    const r = await runMain(['db', 'import', fx('whisper-bench-t1.txt'), fx('whisper-cli.txt'), fx('bench-py.csv'), '--db', a, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('db info -o json: the location, schema version and the counts in the file', async () => {
    const r = await runMain(['db', 'info', '--db', a, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ kind: 'sqlite', location: a, runs: 3, results: 5, migrated: [] });
    expect(j.schema_version).toBe(j.latest_version);
    expect(counts(a)).toEqual({ runs: 3, results: 5 });
  });

  it('db runs -o json: one entry per run with its result count; filters narrow it', async () => {
    const r = await runMain(['db', 'runs', '--db', a, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const runs = (JSON.parse(r.stdout) as { runs: { run: number; results: number; source: string; kind: string }[] }).runs;
    expect(runs.map((x) => [x.run, x.results]).sort()).toEqual([[1, 1], [2, 1], [3, 3]]);
    for (const x of runs) expect(x).toMatchObject({ kind: 'import', source: 'native' });
    const one = JSON.parse((await runMain(['db', 'runs', '--db', a, '--run', '3', '-o', 'json'])).stdout).runs;
    expect(one.map((x: { run: number }) => x.run)).toEqual([3]);
  });

  it('db copy: the chosen runs with their results; a second copy skips what is there', async () => {
    const r = await runMain(['db', 'copy', '--db', a, '--to', b, '--run', '1,3', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ copied: [{ from: 1, to: 1, results: 1 }, { from: 3, to: 2, results: 3 }], skipped: [] });
    expect(counts(b)).toEqual({ runs: 2, results: 4 });
    const again = await runMain(['db', 'copy', '--db', a, '--to', b, '--run', '1,3', '-o', 'json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).copied).toEqual([]);
    expect(JSON.parse(again.stdout).skipped).toHaveLength(2);
    expect(counts(b)).toEqual({ runs: 2, results: 4 });
  });

  it('db delete: the run and its results go; an unknown run is an error that deletes nothing', async () => {
    const r = await runMain(['db', 'delete', '3', '--db', a]);
    expect(r.code, r.stderr).toBe(0);
    expect(counts(a)).toEqual({ runs: 2, results: 2 });
    const missing = await runMain(['db', 'delete', '99', '--db', a]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no run 99/);
    expect(counts(a)).toEqual({ runs: 2, results: 2 });
    expectUsageError(await runMain(['db', 'frobnicate', '--db', a]), 'frobnicate');
  });
});
