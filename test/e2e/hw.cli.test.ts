// The hardware commands as a user runs them: builds, bench --build, threads, recommend, profile,
// and the memory/CPU/device fields of every bench row. Kept short: -r 1, the quick workload.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { describe, expect, inject, it } from 'vitest';

import type { BenchRow } from '../../lib/measure/types.js';
import type { Recommendation } from '../../lib/advise/recommend.js';
import type { ThreadsResult } from '../../lib/workloads/threads.js';
import type { ProfileResult } from '../../lib/workloads/profile.js';
import { cliRunner } from '../fixtures/cli.js';

const tiny = inject('tinyModel');
const tmp = mkdtempSync(join(tmpdir(), 'wp-hw-'));

const run = cliRunner({ WHISPER_PERF_CACHE: join(tmp, 'cache') });

describe('help', () => {
  it('names the hardware commands and their options', async () => {
    const top = await run(['--help']);
    for (const c of ['builds', 'threads', 'recommend', 'profile']) expect(top.stdout).toContain(c);
    expect((await run(['threads', '--help'])).stdout).toContain('--min-gain');
    expect((await run(['recommend', '-h'])).stdout).toContain('--use-case');
    expect((await run(['profile', '--help'])).stdout).toContain('--tool');
    expect((await run(['help', 'builds'])).stdout).toContain('usage: whisper-perf builds');
    expect((await run(['bench', '--help'])).stdout).toContain('--build');
  });
});

describe('builds', () => {
  it('lists the source build with its build info, as a table and as JSON', async () => {
    const md = await run(['builds']);
    // other builds in the checkout (build-*) may be half made; the source build must load
    expect(md.stdout).toMatch(/\| native \* .*\| ok +\|/);
    expect(md.code).toBe(md.stdout.includes('does not load') ? 1 : 0);
    expect(md.stdout).toContain('build/Release');
    const json = await run(['builds', '-o', 'json', '--no-check']);
    const builds = JSON.parse(json.stdout) as { name: string; variant: string; isDefault: boolean; info: object }[];
    const native = builds.find((b) => b.name === 'native')!;
    expect(native).toMatchObject({ variant: 'native', isDefault: true });
    expect(native.info).toBeDefined();
  });
});

describe('bench rows carry memory, CPU, buffers and the device that ran', () => {
  it('bench -o json', async () => {
    const r = await run(['bench', '-m', tiny, '-t', '1', '-r', '1', '--quick', '--warmup', '0', '-o', 'json']);
    expect(r.code).toBe(0);
    const [row] = JSON.parse(r.stdout) as BenchRow[];
    expect(row.peak_rss_mb).toBeGreaterThan(50);
    expect(row.cpu_pct).toBeGreaterThan(0);
    expect(row.backend).toBe('CPU');
    expect(row.model_buffer_mb).toBeGreaterThan(70);
    expect(row.kv_buffer_mb).toBeGreaterThan(0);
    expect(row.compute_buffer_mb).toBeGreaterThan(0);
    // no GPU ran: no GPU figures at all (absent, not zero)
    expect(row.gpu).toBeUndefined();
    const csv = await run(['bench', '-m', tiny, '-t', '1', '-r', '1', '--quick', '--warmup', '0', '-o', 'csv']);
    const [head, line] = csv.stdout.trim().split('\n');
    const cols = head.split(',');
    expect(line.split(',')[cols.indexOf('backend')]).toBe('CPU');
    expect(Number(line.split(',')[cols.indexOf('peak_rss_mb')])).toBeGreaterThan(50);
  });
});

describe('bench --build', () => {
  it('runs each build in its own process and marks the ratio against the first', async () => {
    const r = await run(['bench', '--build', 'native', '-m', tiny, '-t', '1', '-r', '1', '--quick', '--warmup', '0', '-o', 'json']);
    expect(r.stderr).not.toMatch(/cell failed/);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as BenchRow[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ build_name: 'native', build_baseline: 'native', encode_ratio: 1, backend: 'CPU' });
    expect(rows[0].build_path).toMatch(/build\/Release\/whisper_perf\.node$/);
    expect(rows[0].build.variant).toBe('native');
  });

  it('a build that does not load gives a failed row with the reason (exit 1), never another build\'s timings', async () => {
    const dir = join(tmp, 'build-broken', 'Release');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'whisper_perf.node'), 'not an ELF file');
    writeFileSync(join(dir, 'whisper-perf-build.json'), readFileSync(join(process.cwd(), 'build', 'Release', 'whisper-perf-build.json')));
    const r = await run(['bench', '--build', join(dir, 'whisper_perf.node'), '-m', tiny, '-t', '1', '-r', '1', '--quick', '--warmup', '0', '-o', 'json']);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as BenchRow[];
    expect(rows).toHaveLength(1);
    expect(rows[0].error?.code).toBe('NATIVE_UNAVAILABLE');
    expect(rows[0].error?.message).toMatch(/does not load/);
    expect(rows[0].encode_ms).toBeUndefined();
    expect(r.stderr).toMatch(/cell failed: \[build-broken\]/);
  });

  it('a build never built: alone a usage error that says how to build it; beside others a row with that reason', async () => {
    const r = await run(['bench', '--build', 'nosuch', '-t', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no build named "nosuch"');
    expect(r.stderr).toContain('npm run build:native -- --out build-nosuch');
    const both = await run(['bench', '--build', 'native,nosuch', '-t', '1', '--quick', '-r', '1', '--warmup', '0', '-o', 'json']);
    expect(both.code).toBe(1);
    const rows = JSON.parse(both.stdout) as BenchRow[];
    expect(rows.map((x) => [x.build_name, x.error?.code ?? 'ok'])).toEqual([
      ['native', 'ok'],
      ['nosuch', 'NATIVE_UNAVAILABLE'],
    ]);
    expect(rows[1].error?.message).toContain('npm run build:native -- --out build-nosuch');
  });
});

describe('threads', () => {
  it('names the fastest, most efficient and knee counts with the table (max 2, one run)', async () => {
    const r = await run(['threads', '-m', tiny, '--max', '2', '-r', '1', '-o', 'json']);
    expect(r.code).toBe(0);
    const t = JSON.parse(r.stdout) as ThreadsResult;
    expect(t.points.map((p) => p.threads)).toEqual([1, 2]);
    for (const pick of [t.fastest, t.most_efficient, t.knee]) {
      expect([1, 2]).toContain(pick.threads);
      expect(pick.reason.length).toBeGreaterThan(10);
    }
    expect(t.points[0].speedup).toBe(1);
    expect(t.points[0].peak_rss_mb).toBeGreaterThan(50);
  });

  it('a bad option is a usage error', async () => {
    expect((await run(['threads', '--max', '0'])).code).toBe(2);
    expect((await run(['threads', '-m', join(tmp, 'missing.bin')])).code).toBe(2);
  });
});

function rowsFile(): string {
  const base: Partial<BenchRow> = { what: 'encoder', ftype: 'f16', synthetic: true, flash_attn: true, device: 'cpu', repetitions: 1, warnings: [], cpu_pct: 100 };
  const stat = (x: number) => ({ n: 1, mean: x, median: x, sd: 0, min: x, max: x, ci95: 0, cv: 0, outliers: [], samples: [x] });
  const rows = [
    { ...base, model: '/m/tiny.bin', model_type: 'tiny', threads: 1, encode_ms: stat(3000), decode_ms: stat(2), peak_rss_mb: 180 },
    { ...base, model: '/m/base.bin', model_type: 'base', threads: 1, encode_ms: stat(9000), decode_ms: stat(4), peak_rss_mb: 300 },
  ];
  const f = join(tmp, 'rows.json');
  writeFileSync(f, JSON.stringify(rows));
  return f;
}

describe('recommend', () => {
  it('answers from rows given, with the evidence', async () => {
    const r = await run(['recommend', '--use-case', 'realtime', '--from', rowsFile(), '--cores', '1', '-o', 'json']);
    expect(r.code).toBe(0);
    const rec = JSON.parse(r.stdout) as Recommendation;
    // tiny: (3000 + 200) / 30000 = 0.107; base: 0.313 — both ≤ 0.4: the larger wins
    expect(rec.recommendation).toMatchObject({ model_type: 'base', threads: 1, preset: 'realtime', quantization: 'f16' });
    expect(rec.evidence).toHaveLength(2);
    const md = await run(['recommend', '-u', 'realtime', rowsFile(), '--cores', '1']);
    expect(md.stdout).toContain('Why:');
    expect(md.stdout).toContain('Evidence:');
  });

  it('without --from: a short calibration run on this machine measures the rows it answers from', async () => {
    const r = await run(['recommend', '-u', 'realtime', '-m', tiny, '--cores', '2', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/no --from rows: a short calibration run measures this machine first/);
    const rec = JSON.parse(r.stdout) as Recommendation & { source: string };
    expect(rec.source).toMatch(/^calibration run on this machine \(.+ at 1, 2 threads, 1 run each/);
    // one measured row per thread count (1 = cores / 2, 2 = all cores), each judged against the target
    expect(rec.evidence.map((e) => e.threads).sort()).toEqual([1, 2]);
    for (const e of rec.evidence) expect(e).toMatchObject({ model: tiny, rtf_source: 'estimated' });
    for (const e of rec.evidence) expect(e.rtf).toBeGreaterThan(0);
    // The answer follows from the rows measured, whatever this machine's speed: the fastest row that
    // meets RTF × (1 + margin) ≤ target, or none, with the fastest row named. Flake run 2 of 39ddb4d
    // (a Xeon model 207 beside a busy core) measured 0.482 at best, above realtime's 0.4, and the old
    // test, which took a row meeting the target for granted, failed there.
    const limit = rec.rtf_target / (1 + rec.margin);
    expect(limit).toBeCloseTo(0.4, 6);
    // each row judged by that rule (its RTF is rounded to 3 decimals: half of the last digit either way)
    for (const e of rec.evidence) {
      if (e.meets) expect(e.rtf_effective, `${e.threads} threads`).toBeLessThanOrEqual(limit + 0.0005);
      else expect(e.rtf_effective, `${e.threads} threads`).toBeGreaterThan(limit - 0.0005);
    }
    // realtime takes the fastest, and of equally fast rows the fewer threads
    const byRtf = [...rec.evidence].sort((a, b) => a.rtf_effective - b.rtf_effective || a.threads - b.threads);
    const best = byRtf.find((e) => e.meets);
    if (best) {
      expect(rec.recommendation).toMatchObject({ model: tiny, threads: best.threads, preset: 'realtime', rtf: best.rtf });
    } else {
      expect(rec.recommendation).toBeNull();
      const fastest = byRtf.filter((e) => e.rtf_effective === byRtf[0].rtf_effective);
      expect(fastest.some((e) => rec.reason.includes(`the fastest, ${basename(tiny)} at ${e.threads} threads, has ${e.rtf_effective} (`)), rec.reason).toBe(true);
      expect(r.stderr).toMatch(/no configuration fits/);
    }
  });

  it('an empty answer with its reason when --memory is below every model', async () => {
    const r = await run(['recommend', '-u', 'embedded', '--from', rowsFile(), '--memory', '0.05', '-o', 'json']);
    expect(r.code).toBe(0);
    const rec = JSON.parse(r.stdout) as Recommendation;
    expect(rec.recommendation).toBeNull();
    expect(rec.reason).toMatch(/below every model's need: the smallest, tiny\.bin \(tiny f16\), needs 225 MB/);
    expect(r.stderr).toMatch(/no configuration fits/);
  });

  it('the guide: one line per use case', async () => {
    const r = await run(['recommend', '--guide', '--from', rowsFile(), '--cores', '1']);
    expect(r.code).toBe(0);
    for (const u of ['realtime', 'batch', 'embedded', 'server']) expect(r.stdout).toContain(`| ${u}`);
  });

  it('usage errors: no use case, an unknown one, a file that is not rows', async () => {
    expect((await run(['recommend'])).code).toBe(2);
    expect((await run(['recommend', '-u', 'gaming'])).code).toBe(2);
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, 'hello');
    const r = await run(['recommend', '-u', 'batch', '--from', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not JSON rows');
  });
});

// perf is often missing or forbidden (a container without perf_event access): the perf test then
// skips, visibly, with the reason. Where CI sets WHISPER_PERF_REQUIRE_PERF=1 it fails instead.
const UNAVAILABLE = /perf is not installed|perf cannot profile here/;
function skipUnlessRan(r: { code: number; stderr: string }, require: string, skip: (why: string) => void): void {
  if (r.code === 0) return;
  // the only acceptable failure: the tool said clearly why it cannot run here (exit 1)
  expect(r.stderr).toMatch(UNAVAILABLE);
  expect(r.code).toBe(1);
  if (process.env[require] === '1') throw new Error(`${require}=1 but: ${r.stderr.trim()}`);
  skip(`${r.stderr.trim()} (set ${require}=1 to make this a failure)`);
}

describe('profile', () => {
  it('perf: writes its reports and a summary', async (ctx) => {
    const dir = join(tmp, 'prof');
    const r = await run(['profile', '--tool', 'perf', '-m', tiny, '--what', 'encode', '-t', '1', '--out-dir', dir, '-o', 'json']);
    skipUnlessRan(r, 'WHISPER_PERF_REQUIRE_PERF', (why) => ctx.skip(why));
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(r.stdout) as ProfileResult;
    expect(p.files).toEqual(expect.arrayContaining(['perf-stat.csv', 'perf.data', 'summary.json']));
    for (const f of p.files) expect(existsSync(join(dir, f))).toBe(true);
    expect(p.scenario_only).toBe(true);
    const taskClock = p.metrics.find((m) => m.name === 'task-clock')?.value;
    expect(taskClock).toBeGreaterThan(0);
    expect(p.scenario!.scenario_wall_ms).toBeGreaterThan(0);
    const ipc = p.metrics.find((m) => m.name === 'IPC');
    if (!ipc) expect(p.notes.join(' ')).toMatch(/hardware (performance )?counters/);
    // the samples were taken in the encoder: ggml's compute is among the top functions
    expect(p.top_functions.length).toBeGreaterThan(0);
    expect(p.top_functions.map((f) => f.name).join(' ')).toMatch(/ggml/);
    expect(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).tool).toBe('perf');
  });

  // valgrind's tools (memcheck, callgrind, massif) run for real in profile.valgrind.test.ts

  it('usage errors: no tool, an unknown tool or scenario', async () => {
    expect((await run(['profile'])).code).toBe(2);
    expect((await run(['profile', '--tool', 'gprof'])).code).toBe(2);
    expect((await run(['profile', '--tool', 'perf', '--what', 'everything'])).code).toBe(2);
  });
});
