#!/usr/bin/env node
// Builds the prebuilt addons: one self-contained .node per x86-64 level, so a prebuild never
// runs a generic (much slower) ggml. prebuildify does the packaging; it knows only node-gyp,
// so PREBUILD_NODE_GYP points it at scripts/prebuildify-shim.mjs, which runs cmake-js.
//   npm run prebuilds [-- --variant x86-64-v3]
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { VARIANTS } from './prebuild-select.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const log = (m) => process.stderr.write(`[prebuild] ${m}\n`);

function main(argv) {
  const i = argv.indexOf('--variant');
  const only = i >= 0 ? argv[i + 1] : undefined;
  const variants = VARIANTS.filter((v) => !only || v.name === only);
  if (variants.length === 0) throw new Error(`unknown variant ${only}: ${VARIANTS.map((v) => v.name).join(', ')}`);
  const prebuildify = join(dirname(require.resolve('prebuildify/package.json')), 'bin.js');
  const dest = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  mkdirSync(dest, { recursive: true });
  for (const v of variants) {
    const stage = join(root, 'build-prebuild', v.name, 'stage');
    rmSync(stage, { recursive: true, force: true });
    mkdirSync(stage, { recursive: true });
    log(`${v.name}: ${v.args.join(' ')}`);
    const r = spawnSync(process.execPath, [prebuildify, '--napi', '--strip', '--target', process.versions.node, '--cwd', stage, '--out', stage], {
      stdio: 'inherit',
      env: {
        ...process.env,
        PREBUILD_NODE_GYP: join(root, 'scripts', 'prebuildify-shim.mjs'),
        WHISPER_PERF_PREBUILD_VARIANT: v.name,
        WHISPER_PERF_PREBUILD_ROOT: root,
      },
    });
    if (r.status !== 0) throw new Error(`prebuildify failed for ${v.name}`);
    const outDir = join(stage, 'prebuilds', `${process.platform}-${process.arch}`);
    const built = readdirSync(outDir).find((f) => f.endsWith('.node'));
    if (!built) throw new Error(`prebuildify wrote no .node for ${v.name}`);
    renameSync(join(outDir, built), join(dest, `whisper-perf.${v.name}.node`));
    copyFileSync(join(root, 'build-prebuild', v.name, 'Release', 'whisper-perf-build.json'), join(dest, `whisper-perf.${v.name}.json`));
    log(`${v.name}: ${join(dest, `whisper-perf.${v.name}.node`)}`);
  }
}

try {
  main(process.argv.slice(2));
} catch (e) {
  log(`error: ${e.message}`);
  process.exit(1);
}
