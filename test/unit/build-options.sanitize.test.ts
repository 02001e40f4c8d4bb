// --sanitize address|thread: instrumented builds in folders of their own (scripts/sanitize.sh).
import { describe, expect, it } from 'vitest';

import { cmakeJsArgs, resolveBuildOptions } from '../../scripts/build-options.mjs';

describe('resolveBuildOptions --sanitize', () => {
  it('address: ASan + UBSan, RelWithDebInfo, into build-asan, without the bench executables', () => {
    const o = resolveBuildOptions(['--sanitize', 'address'], {});
    expect(o.defs).toMatchObject({
      WHISPER_SANITIZE_ADDRESS: 'ON',
      WHISPER_SANITIZE_UNDEFINED: 'ON',
      WHISPER_SANITIZE_THREAD: 'OFF',
      WHISPER_PERF_NATIVE_BENCH: 'OFF',
      GGML_NATIVE: 'ON',
    });
    expect(o.defs.GGML_OPENMP).toBeUndefined();
    expect(o).toMatchObject({ out: 'build-asan', buildType: 'RelWithDebInfo', sanitize: 'address' });
  });

  it('thread: TSan with OpenMP off (libgomp is not instrumented), into build-tsan', () => {
    const o = resolveBuildOptions(['--sanitize=thread'], {});
    expect(o.defs).toMatchObject({ WHISPER_SANITIZE_THREAD: 'ON', WHISPER_SANITIZE_ADDRESS: 'OFF', WHISPER_SANITIZE_UNDEFINED: 'OFF', GGML_OPENMP: 'OFF' });
    expect(o.out).toBe('build-tsan');
    // an explicit --openmp does not bring OpenMP back under TSan
    expect(resolveBuildOptions(['--openmp', '--sanitize', 'thread'], {}).defs.GGML_OPENMP).toBe('OFF');
  });

  it('never builds into the release folder by default, but --out, --debug and -D are honoured', () => {
    expect(resolveBuildOptions(['--sanitize', 'thread', '--out', 'build-t2'], {}).out).toBe('build-t2');
    expect(resolveBuildOptions(['--out', 'x', '--sanitize', 'address'], {}).out).toBe('x');
    expect(resolveBuildOptions(['--sanitize', 'address', '--debug'], {}).buildType).toBe('Debug');
    expect(resolveBuildOptions(['--sanitize', 'address', '-DWHISPER_PERF_NATIVE_BENCH=ON'], {}).defs.WHISPER_PERF_NATIVE_BENCH).toBe('ON');
    expect(resolveBuildOptions(['--sanitize', 'address', '--no-native'], {}).defs.GGML_NATIVE).toBe('OFF');
  });

  it('reads WHISPER_PERF_SANITIZE, and WHISPER_PERF_BUILD_DIR wins over the default folder', () => {
    expect(resolveBuildOptions([], { WHISPER_PERF_SANITIZE: 'address' }).out).toBe('build-asan');
    expect(resolveBuildOptions([], { WHISPER_PERF_SANITIZE: 'thread', WHISPER_PERF_BUILD_DIR: 'b' }).out).toBe('b');
  });

  it('rejects an unknown sanitizer', () => {
    expect(() => resolveBuildOptions(['--sanitize', 'memory'], {})).toThrow(/expected one of address, thread/);
    expect(() => resolveBuildOptions(['--sanitize'], {})).toThrow(/--sanitize needs one of address, thread/);
  });

  it('passes the definitions on to cmake-js', () => {
    const args = cmakeJsArgs(resolveBuildOptions(['--sanitize', 'thread', '-j', '2'], {}), '/r');
    expect(args).toEqual(expect.arrayContaining(['-O', 'build-tsan', '--config', 'RelWithDebInfo', '-p', '2', '--CDWHISPER_SANITIZE_THREAD=ON', '--CDGGML_OPENMP=OFF']));
  });

  it('a build without --sanitize is unchanged', () => {
    const o = resolveBuildOptions([], {});
    expect(o.sanitize).toBeUndefined();
    expect(Object.keys(o.defs).some((k) => k.includes('SANITIZE'))).toBe(false);
    expect(o.out).toBe('build');
  });
});
