// Addon builds as a sweep axis: discovery and naming in a package folder, resolution of --build
// names with the errors a user sees, and the ratios against the baseline build.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildCommandFor, listBuilds, resolveBuilds } from '../../lib/workloads/builds.js';
import { summarize } from '../../lib/measure/stats.js';
import type { BenchRow } from '../../lib/measure/types.js';
import { benchmarkBuilds, deriveBuildRatios } from '../../lib/workloads/variants.js';
import { buildOptionsSummary } from '../../lib/report/hardware.js';
import { encoderRow } from '../fixtures/rows.js';

function info(variant: string, options: Record<string, string>, extra: object = {}) {
  return JSON.stringify({ pin: { package: 'nodejs-whisper', version: '0.3.1', whisperVersion: '1.9.1' }, buildType: 'Release', compiler: 'GNU 12.2.0', variant, backends: ['cpu'], sanitizer: 'OFF', options, ...extra });
}

/** A package folder with build/ (native), build-generic/ (generic+avx2), build-cuda/ without build info, and an x86-64-v4 prebuild. */
function fakePackage(): string {
  const root = mkdtempSync(join(tmpdir(), 'wp-builds-'));
  const put = (dir: string, json?: string) => {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, 'whisper_perf.node'), '');
    if (json) writeFileSync(join(root, dir, 'whisper-perf-build.json'), json);
  };
  put('build/Release', info('native', { GGML_NATIVE: 'ON' }));
  put('build-generic/Release', info('generic+sse42+avx+avx2+fma+f16c+bmi2', { GGML_NATIVE: 'OFF', GGML_SSE42: 'ON', GGML_AVX: 'ON', GGML_AVX2: 'ON', GGML_FMA: 'ON', GGML_F16C: 'ON', GGML_BMI2: 'ON' }));
  put('build-generic/Debug', info('generic', { GGML_NATIVE: 'OFF' }, { buildType: 'Debug' }));
  put('build-cuda/Release');
  mkdirSync(join(root, 'build-empty'));
  const pre = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  mkdirSync(pre, { recursive: true });
  writeFileSync(join(pre, 'whisper-perf.x86-64-v2.node'), '');
  writeFileSync(join(pre, 'whisper-perf.x86-64-v2.json'), info('generic+sse42', { GGML_NATIVE: 'OFF', GGML_SSE42: 'ON' }));
  writeFileSync(join(pre, 'whisper-perf.x86-64-v9.node'), '');
  mkdirSync(join(root, 'scripts'));
  writeFileSync(join(root, 'scripts', 'variants.json'), JSON.stringify([{ name: 'x86-64-v2', flags: [] }, { name: 'x86-64-v9', flags: ['no-such-cpu-flag'] }]));
  return root;
}

describe('listBuilds', () => {
  const root = fakePackage();
  const builds = listBuilds(root);
  const by = (name: string) => builds.find((b) => b.name === name)!;

  it('finds every build folder and type, and the prebuilds, with their build info', () => {
    expect(builds.map((b) => b.name)).toEqual(['native', 'cuda', 'generic', 'generic-debug', 'x86-64-v2', 'x86-64-v9']);
    expect(by('native')).toMatchObject({ kind: 'source', dir: join('build', 'Release'), variant: 'native', buildType: 'Release', fits: true });
    expect(by('native').aliases).toEqual(['default', 'build']);
    expect(by('generic')).toMatchObject({ variant: 'generic+sse42+avx+avx2+fma+f16c+bmi2', aliases: ['build-generic'] });
    expect(by('generic-debug')).toMatchObject({ buildType: 'Debug' });
    expect(by('x86-64-v2')).toMatchObject({ kind: 'prebuild', fits: true, aliases: ['v2', 'prebuild-x86-64-v2'] });
  });

  it('marks what cannot be used, and why', () => {
    expect(by('cuda').info).toBeUndefined();
    expect(by('cuda').problem).toMatch(/no whisper-perf-build\.json/);
    expect(by('x86-64-v9')).toMatchObject({ fits: false, problem: 'this CPU lacks no-such-cpu-flag' });
  });
});

describe('resolveBuilds', () => {
  const root = fakePackage();

  it('resolves names, aliases, folder names and paths in the order given', () => {
    expect(resolveBuilds(['native', 'generic'], root).map((b) => b.name)).toEqual(['native', 'generic']);
    expect(resolveBuilds(['build-generic', 'default', 'v2'], root).map((b) => b.name)).toEqual(['generic', 'native', 'x86-64-v2']);
    expect(resolveBuilds([join(root, 'build-generic', 'Release', 'whisper_perf.node')], root)[0].name).toBe('generic');
    expect(resolveBuilds([join(root, 'build-generic')], root)[0].name).toBe('generic');
  });

  it('a build never built is a usage error that lists the builds and says how to build it', () => {
    let err: unknown;
    try {
      resolveBuilds(['native', 'blas'], root);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'USAGE' });
    expect((err as Error).message).toMatch(/no build named "blas" \(found: native \(build\/Release\), cuda/);
    expect((err as Error).message).toContain('npm run build:native -- --out build-blas --blas');
  });

  it('with unusable: keep (bench --build), keeps what is absent or cannot run as entries with the reason', () => {
    const got = resolveBuilds(['native', 'opencl', 'cuda', 'x86-64-v9'], root, { unusable: 'keep' });
    expect(got.map((b) => [b.name, b.usable, b.kind])).toEqual([
      ['native', undefined, 'source'],
      ['opencl', false, 'missing'],
      ['cuda', false, 'source'],
      ['x86-64-v9', false, 'prebuild'],
    ]);
    expect(got[1].problem).toMatch(/no build named "opencl" .*npm run build:native -- --out build-opencl --opencl/);
    expect(got[2].problem).toMatch(/no whisper-perf-build\.json/);
    expect(got[3].problem).toMatch(/this CPU lacks no-such-cpu-flag/);
    // nothing that can run at all is still a usage error, and so is the same build twice
    expect(() => resolveBuilds(['opencl', 'vulkan'], root, { unusable: 'keep' })).toThrow(/none of the builds can run: .*"opencl".*"vulkan"/);
    expect(() => resolveBuilds(['native', 'default', 'opencl'], root, { unusable: 'keep' })).toThrow(/twice/);
  });

  it('refuses a build without build info, one this CPU cannot run, and the same build twice', () => {
    expect(() => resolveBuilds(['cuda'], root)).toThrow(/no whisper-perf-build\.json/);
    expect(() => resolveBuilds(['x86-64-v9'], root)).toThrow(/cannot run here: this CPU lacks no-such-cpu-flag/);
    expect(() => resolveBuilds(['native', 'default'], root)).toThrow(/twice/);
  });

  it('knows the build command of common variants', () => {
    expect(buildCommandFor('generic')).toBe('npm run build:native -- --out build-generic --no-native');
    expect(buildCommandFor('cuda')).toBe('npm run build:native -- --out build-cuda --cuda');
    expect(buildCommandFor('mine')).toBe('npm run build:native -- --out build-mine [options]');
  });
});

describe('deriveBuildRatios', () => {
  const mk = (build: string, enc: number[], dec: number[], threads = 2): BenchRow => ({
    ...encoderRow(),
    threads,
    build_name: build,
    encode_ms: summarize(enc),
    decode_ms: summarize(dec),
  });

  it('gives each row its median time over the baseline build of the same cell, with an interval for encode', () => {
    const rows = [mk('native', [100, 101, 99, 100, 102], [5, 5, 5, 5, 5]), mk('generic', [180, 182, 178, 181, 179], [6, 6, 6, 6, 6]), mk('generic', [90, 91], [3, 3], 4)];
    deriveBuildRatios(rows, 'native');
    expect(rows[0]).toMatchObject({ build_baseline: 'native', encode_ratio: 1, decode_ratio: 1 });
    expect(rows[0].encode_ratio_low).toBeUndefined();
    expect(rows[1]).toMatchObject({ build_baseline: 'native', encode_ratio: 1.8, decode_ratio: 1.2 });
    expect(rows[1].encode_ratio_low!).toBeLessThanOrEqual(1.8);
    expect(rows[1].encode_ratio_high!).toBeGreaterThanOrEqual(1.8);
    expect(rows[1].encode_ratio_low!).toBeGreaterThan(1.7);
    // no baseline row at 4 threads: no ratio
    expect(rows[2].encode_ratio).toBeUndefined();
    expect(rows[2].build_baseline).toBeUndefined();
  });

  it('sets a GPU build\'s row (device 0) against the CPU baseline\'s row of the same cell', () => {
    const rows = [mk('native', [100, 100, 100], [5, 5, 5]), { ...mk('vulkan', [300, 300, 300], [10, 10, 10]), device: '0' }];
    deriveBuildRatios(rows, 'native');
    expect(rows[1]).toMatchObject({ build_baseline: 'native', encode_ratio: 3, decode_ratio: 2 });
  });

  it('leaves failed rows alone', () => {
    const rows = [mk('native', [100], [5]), { ...mk('generic', [1], [1]), error: { code: 'X', message: 'y' } }];
    deriveBuildRatios(rows, 'native');
    expect(rows[1].encode_ratio).toBeUndefined();
  });
});

describe('buildOptionsSummary', () => {
  it('names native tuning, or the instruction sets, backends and a non-Release type', () => {
    const b = encoderRow().build;
    expect(buildOptionsSummary({ ...b, options: { GGML_NATIVE: 'ON' }, backends: ['cpu'] })).toBe('-march=native');
    expect(buildOptionsSummary({ ...b, options: { GGML_NATIVE: 'OFF', GGML_AVX2: 'ON', GGML_FMA: 'ON', GGML_OPENMP: 'OFF' }, backends: ['cpu', 'cuda'], build_type: 'Debug' })).toBe('AVX2 FMA, no OpenMP, CUDA, Debug');
    expect(buildOptionsSummary({ ...b, options: { GGML_NATIVE: 'OFF' }, backends: ['cpu'] })).toBe('baseline x86-64');
    expect(buildOptionsSummary(undefined)).toBe('');
  });
});

describe('benchmarkBuilds with a build that cannot run', () => {
  it('gives it one row carrying the reason, without starting a child process for it', async () => {
    const [missing] = resolveBuilds(['native', 'opencl'], fakePackage(), { unusable: 'keep' }).slice(1);
    const rows = await benchmarkBuilds({ builds: [missing] });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ build_name: 'opencl', error: { code: 'NATIVE_UNAVAILABLE', message: expect.stringContaining('no build named "opencl"') } });
  });
});
