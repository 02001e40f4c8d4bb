#!/usr/bin/env node
// Stands in for node-gyp under prebuildify: takes `rebuild --target=… --release|--debug`,
// builds the addon with cmake-js for the variant named in WHISPER_PERF_PREBUILD_VARIANT, and
// leaves it where prebuildify looks: <cwd>/build/Release/whisper_perf.node.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

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
const out = buildNative([...v.args, '-DWHISPER_PERF_NATIVE_BENCH=OFF', '--out', join('build-prebuild', v.name), ...(debug ? ['--debug'] : [])], {
  ...process.env,
  WHISPER_PERF_NATIVE: '',
});
const target = join(process.cwd(), 'build', debug ? 'Debug' : 'Release');
mkdirSync(target, { recursive: true });
copyFileSync(out, join(target, 'whisper_perf.node'));
