#!/usr/bin/env node
// Builds the addon from vendor/whisper.cpp with cmake-js.
//   npm run build:native -- [--cuda] [--vulkan] [--opencl] [--blas] [--no-native --avx2 --fma --f16c]
//                           [--no-openmp] [--debug] [-DGGML_X=Y] [--out DIR] [-j N] [--configure-only]
// --configure-only stops after CMake's configure and generate steps (checks the options and that
// every source file the build names exists, in seconds).
// The same switches can be set as environment variables (WHISPER_PERF_CUDA=ON ...): see README.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { cmakeJsArgs, resolveBuildOptions } from './build-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function readReason(file) {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function buildNative(argv = [], env = process.env) {
  const configureOnly = argv.includes('--configure-only');
  const opts = resolveBuildOptions(argv.filter((a) => a !== '--configure-only'), env);
  // the pinned sources (a no-op when vendor/whisper.cpp already matches the pin)
  const r = spawnSync(process.execPath, [join(root, 'vendor/fetch.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('could not materialize vendor/whisper.cpp');
  const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  // configure every time: `cmake-js build` skips configuring when the folder has a cache, and
  // the options asked for now would be silently dropped
  for (const command of configureOnly ? ['configure'] : ['configure', 'build']) {
    const args = cmakeJsArgs(opts, root, command);
    process.stderr.write(`[build] cmake-js ${args.join(' ')}\n`);
    const r = spawnSync(process.execPath, [cmakeJs, ...args], { cwd: root, stdio: ['ignore', process.stderr, process.stderr] });
    if (r.status !== 0) {
      // a backend check in CMakeLists.txt that failed leaves its one-line reason here
      const why = command === 'configure' ? readReason(resolve(root, opts.out, 'whisper-perf-configure-error.txt')) : undefined;
      throw new Error(why ?? `cmake-js ${command} exited with ${r.status ?? r.signal}`);
    }
  }
  return configureOnly ? resolve(root, opts.out) : resolve(root, opts.out, opts.buildType, 'whisper_perf.node');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const out = buildNative(process.argv.slice(2));
    process.stderr.write(`[build] ${out}\n`);
  } catch (e) {
    process.stderr.write(`[build] error: ${e.message}\n`);
    process.exit(1);
  }
}
