#!/usr/bin/env node
// Stands in for node-gyp under prebuildify: takes `rebuild --target=… --release|--debug`,
// builds the addon with cmake-js for the variant named in WHISPER_PERF_PREBUILD_VARIANT, and
// leaves it where prebuildify looks: <cwd>/build/Release/whisper_perf.node.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { SWITCHES } from './build-options.mjs';
import { buildNative } from './build-native.mjs';
import { VARIANTS } from './prebuild-select.mjs';

const name = process.env.WHISPER_PERF_PREBUILD_VARIANT;
const root = process.env.WHISPER_PERF_PREBUILD_ROOT;
const v = VARIANTS.find((x) => x.name === name);
if (!v || !root) {
  process.stderr.write('prebuildify-shim: run through `npm run prebuilds`\n');
  process.exit(1);
}
const debug = process.argv.includes('--debug');
// A prebuild is defined by its variant alone: the build switches of the calling shell
// (WHISPER_PERF_CUDA=ON, WHISPER_PERF_BUILD_TYPE=Debug, WHISPER_PERF_CMAKE_ARGS=…) must not leak
// into it (a Debug build would also land where prebuild.mjs does not look). WHISPER_PERF_JOBS stays.
const env = { ...process.env };
for (const s of Object.values(SWITCHES)) delete env[s.env];
for (const k of ['WHISPER_PERF_BUILD_TYPE', 'WHISPER_PERF_BUILD_DIR', 'WHISPER_PERF_CMAKE_ARGS']) delete env[k];
const out = buildNative([...v.args, '-DWHISPER_PERF_NATIVE_BENCH=OFF', '--out', join('build-prebuild', v.name), ...(debug ? ['--debug'] : [])], env);
const target = join(process.cwd(), 'build', debug ? 'Debug' : 'Release');
mkdirSync(target, { recursive: true });
copyFileSync(out, join(target, 'whisper_perf.node'));
