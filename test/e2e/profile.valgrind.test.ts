// `whisper-perf profile` under valgrind, run for real on the load scenario (the model loaded and
// freed: no compute, so memcheck, callgrind and massif finish in a minute or two here rather than
// the 5–10 minutes of one tiny encode). Valgrind does not emulate AVX-512: on a CPU with it the
// command takes a build without it when there is one (a build-generic/ folder, or a prebuild such
// as x86-64-v3 once npm pack has made them), and the figures name the file that ran; when there is
// none, the tests first do what the command's refusal tells a user to, build a variant without it
// (`npm run build:native -- --no-native --out DIR`), and profile that build with --build.
// Without valgrind the tests skip with the reason; WHISPER_PERF_REQUIRE_VALGRIND=1 (CI) makes
// that a failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { beforeAll, describe, expect, inject, it } from 'vitest';

import type { ProfileResult } from '../../lib/workloads/profile.js';
import { cliRunner } from '../fixtures/cli.js';

const tiny = inject('tinyModel');
const tmp = mkdtempSync(join(tmpdir(), 'wp-valgrind-'));
const run = cliRunner({ WHISPER_PERF_CACHE: join(tmp, 'cache') });
const required = process.env.WHISPER_PERF_REQUIRE_VALGRIND === '1';
const hasValgrind = spawnSync('valgrind', ['--version']).status === 0;

// whisper.cpp's own log of this file's weights: "model size = 77.11 MB"
const WEIGHTS_MB = 77.11;

/** --build for valgrind: none when the loaded build runs under it, else a build without AVX-512 made here. */
let buildArgs: string[] = [];

describe.runIf(hasValgrind || required)('profile under valgrind, the load scenario', () => {
  beforeAll(async () => {
    if (!hasValgrind) throw new Error('WHISPER_PERF_REQUIRE_VALGRIND=1 but valgrind is not installed');
    // the command refuses an AVX-512 build with a message naming the fix; do that fix
    const probe = await run(['profile', '--tool', 'memcheck', '-m', tiny, '--what', 'load', '--timeout', '1', '--out-dir', join(tmp, 'probe')]);
    if (!/valgrind cannot run this build: it uses AVX-512/.test(probe.stderr)) return;
    expect(probe.stderr).toMatch(/npm run build:native -- --out build-generic --no-native/);
    const out = join(tmp, 'build-generic');
    const b = spawnSync(process.execPath, ['scripts/build-native.mjs', '--no-native', '--out', out], { encoding: 'utf8' });
    expect(b.status, b.stderr.slice(-2000)).toBe(0);
    const node = join(out, 'Release', 'whisper_perf.node');
    expect(existsSync(node)).toBe(true);
    buildArgs = ['--build', node];
  }, 900_000);

  const profileLoad = async (tool: string, dir: string): Promise<ProfileResult> => {
    const r = await run(['profile', '--tool', tool, '-m', tiny, '--what', 'load', '--timeout', '900', ...buildArgs, '--out-dir', dir, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(r.stdout) as ProfileResult;
    expect(p.what).toBe('load');
    for (const f of p.files) expect(existsSync(join(dir, f)), f).toBe(true);
    // the scenario ran to its end under the tool: one counted load, timed by whisper.cpp
    expect(p.scenario?.runs_ms).toHaveLength(1);
    expect(p.scenario!.runs_ms[0]).toBeGreaterThan(0);
    return p;
  };
  const metric = (p: ProfileResult, name: string) => {
    const m = p.metrics.find((x) => x.name === name);
    expect(m, `metric ${name} in ${p.metrics.map((x) => x.name).join(', ')}`).toBeDefined();
    return m!.value as number;
  };

  it('memcheck: loading and freeing the model leaves no error and no leak with a frame in the addon', async () => {
    const dir = join(tmp, 'memcheck');
    const p = await profileLoad('memcheck', dir);
    expect(p.files).toContain('memcheck.txt');
    const log = readFileSync(join(dir, 'memcheck.txt'), 'utf8');
    // the log is memcheck's, of the whole run (Node's own records included: their count is read,
    // not judged), and the addon's share is taken by the file of the build that ran
    expect(log).toMatch(/ERROR SUMMARY: [\d,]+ errors/);
    expect(metric(p, 'errors')).toBe(Number(/ERROR SUMMARY: ([\d,]+) errors/.exec(log)![1].replace(/,/g, '')));
    expect(p.metrics.find((m) => m.name === 'error contexts in the addon')?.note).toBe(`records with a frame in ${basename(p.build.addon)}`);
    expect(metric(p, 'error contexts in the addon')).toBe(0);
    expect(metric(p, 'definitely lost in the addon')).toBe(0);
    expect(metric(p, 'indirectly lost in the addon')).toBe(0);
  }, 1_200_000);

  it('callgrind: the instructions of the load, with whisper.cpp\'s loader among the top functions', async () => {
    const dir = join(tmp, 'callgrind');
    const p = await profileLoad('callgrind', dir);
    expect(p.files).toEqual(expect.arrayContaining(['callgrind.out', 'callgrind.txt']));
    expect(metric(p, 'instructions (Ir)')).toBeGreaterThan(1e8);
    expect(p.top_functions.length).toBeGreaterThan(0);
    // the top functions by self cost come from the addon (its loader, ggml's fp16 tables) or the
    // C library's copies and memsets it calls; Node's own start is not all of it
    expect(p.top_functions.some((f) => /whisper_perf\.node|libc/.test(f.object ?? ''))).toBe(true);
  }, 1_200_000);

  it('massif: the peak heap holds the weights whisper.cpp reports, malloc\'d by ggml in the addon', async () => {
    const dir = join(tmp, 'massif');
    const p = await profileLoad('massif', dir);
    expect(p.files).toEqual(expect.arrayContaining(['massif.out', 'summary.json']));
    // whisper.cpp logs "model size = 77.11 MB" for this file; its weights are malloc'd (no mmap), so
    // they are in the heap's peak. No upper bound from the logged buffers: measured here, whisper.cpp's
    // four schedulers (ggml_backend_sched_new) malloc another 331 MB that its log never names
    expect(metric(p, 'peak heap')).toBeGreaterThan(WEIGHTS_MB);
    // the build profiled: this tree's, one built above, or a prebuild without AVX-512 (its exported
    // ggml symbols keep their names though the file is stripped)
    const top = p.top_functions.map((f) => f.name);
    expect(top.some((t) => t.startsWith(`ggml_aligned_malloc (in ${p.build.addon}) (`)), top.join('\n')).toBe(true);
  }, 1_200_000);
});
