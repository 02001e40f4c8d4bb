import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { resolveBuildOptions } from '../../scripts/build-options.mjs';
import { pickPrebuild } from '../../scripts/prebuild-select.mjs';

const V4 = ['avx512f', 'avx512bw', 'avx512vl', 'avx2', 'fma', 'f16c', 'bmi2', 'sse4_2'];
const V3 = ['avx2', 'fma', 'f16c', 'bmi2', 'sse4_2'];

describe('pickPrebuild', () => {
  let root: string;
  let dir: string;
  const fake = (...variants: string[]) => {
    for (const v of variants) writeFileSync(join(dir, `whisper-perf.${v}.node`), '');
  };
  const file = (v: string) => join(dir, `whisper-perf.${v}.node`);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'wp-prebuild-'));
    dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    mkdirSync(dir, { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('picks v4 when the CPU has the avx512 flags and the file exists', () => {
    fake('x86-64-v4', 'x86-64-v3', 'x86-64-v2');
    expect(pickPrebuild(root, new Set(V4))).toEqual({ path: file('x86-64-v4'), variant: 'x86-64-v4' });
  });

  it('picks v3 on a CPU without avx512', () => {
    fake('x86-64-v4', 'x86-64-v3', 'x86-64-v2');
    expect(pickPrebuild(root, new Set(V3))).toEqual({ path: file('x86-64-v3'), variant: 'x86-64-v3' });
  });

  it('needs every flag of a level: avx512f alone is not v4', () => {
    fake('x86-64-v4', 'x86-64-v3');
    expect(pickPrebuild(root, new Set([...V3, 'avx512f']))?.variant).toBe('x86-64-v3');
  });

  it('skips variants whose file is missing', () => {
    fake('x86-64-v3');
    expect(pickPrebuild(root, new Set(V4))).toEqual({ path: file('x86-64-v3'), variant: 'x86-64-v3' });
    rmSync(file('x86-64-v3'));
    fake('x86-64-v2');
    expect(pickPrebuild(root, new Set(V4))?.variant).toBe('x86-64-v2');
  });

  it('returns undefined when no prebuild fits', () => {
    // files that this CPU cannot run
    fake('x86-64-v4', 'x86-64-v3');
    expect(pickPrebuild(root, new Set(['sse4_2']))).toBeUndefined();
    // no flags at all (no /proc/cpuinfo)
    expect(pickPrebuild(root, new Set())).toBeUndefined();
    // no prebuilds directory
    rmSync(join(root, 'prebuilds'), { recursive: true });
    expect(pickPrebuild(root, new Set(V4))).toBeUndefined();
  });
});

describe('resolveBuildOptions', () => {
  it('defaults to a native Release build in build/', () => {
    expect(resolveBuildOptions([], {})).toEqual({
      defs: { GGML_NATIVE: 'ON', GGML_CUDA: 'OFF', GGML_VULKAN: 'OFF', GGML_OPENCL: 'OFF', GGML_BLAS: 'OFF' },
      buildType: 'Release',
      out: 'build',
      jobs: undefined,
      requested: [],
    });
  });

  it('--cuda turns GGML_CUDA on and keeps native tuning', () => {
    const { defs } = resolveBuildOptions(['--cuda'], {});
    expect(defs.GGML_CUDA).toBe('ON');
    expect(defs.GGML_NATIVE).toBe('ON');
  });

  it('backends not asked for are set OFF explicitly, so a reused build folder drops them', () => {
    const { defs } = resolveBuildOptions(['--vulkan'], {});
    expect(defs).toMatchObject({ GGML_VULKAN: 'ON', GGML_CUDA: 'OFF', GGML_OPENCL: 'OFF', GGML_BLAS: 'OFF' });
  });

  it('an instruction-set switch alone turns GGML_NATIVE off', () => {
    expect(resolveBuildOptions(['--avx2'], {}).defs).toMatchObject({ GGML_AVX2: 'ON', GGML_NATIVE: 'OFF' });
    expect(resolveBuildOptions(['--avx2'], {}).requested).toEqual(['GGML_AVX2', 'GGML_NATIVE']);
    // unless native is asked for explicitly
    expect(resolveBuildOptions(['--avx2', '--native'], {}).defs.GGML_NATIVE).toBe('ON');
  });

  it('reads switches from the environment', () => {
    expect(resolveBuildOptions([], { WHISPER_PERF_VULKAN: 'ON' }).defs.GGML_VULKAN).toBe('ON');
    expect(resolveBuildOptions([], { WHISPER_PERF_VULKAN: 'off' }).defs.GGML_VULKAN).toBe('OFF');
    // an empty variable means unset
    expect(resolveBuildOptions([], { WHISPER_PERF_NATIVE: '' }).defs.GGML_NATIVE).toBe('ON');
    // argv wins over the environment
    expect(resolveBuildOptions(['--no-vulkan'], { WHISPER_PERF_VULKAN: 'ON' }).defs.GGML_VULKAN).toBe('OFF');
  });

  it('throws on an unknown switch', () => {
    expect(() => resolveBuildOptions(['--frobnicate'], {})).toThrow(/unknown build option: --frobnicate/);
  });

  it('throws on a value that is neither ON nor OFF', () => {
    expect(() => resolveBuildOptions([], { WHISPER_PERF_CUDA: 'maybe' })).toThrow(/WHISPER_PERF_CUDA=maybe: expected ON or OFF/);
  });
});
