#!/usr/bin/env node
// npm install step for the addon: use a prebuild when one was made for this CPU and
// loads in a child process; otherwise compile from vendor/whisper.cpp (tuned for this CPU).
//   WHISPER_PERF_SKIP_BUILD=1     do nothing (the loader will say the addon is missing)
//   WHISPER_PERF_FROM_SOURCE=1    never use a prebuild
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildNative } from './build-native.mjs';
import { pickPrebuild } from './prebuild-select.mjs';
import { resolveBuildOptions } from './build-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (m) => process.stderr.write(`[whisper-perf] ${m}\n`);

/** Loads an addon in a child process so a bad binary cannot take this process down. */
export function loadsInChild(path) {
  const r = spawnSync(process.execPath, ['-e', `const m=require(${JSON.stringify(path)});process.stdout.write(m.version())`], {
    encoding: 'utf8', timeout: 60_000,
  });
  return r.status === 0 && /^\d+\.\d+\.\d+/.test(r.stdout);
}

function main() {
  if (process.env.WHISPER_PERF_SKIP_BUILD === '1') return log('WHISPER_PERF_SKIP_BUILD=1: not building the addon');
  const custom = resolveBuildOptions([], process.env).requested.length > 0;
  if (process.env.WHISPER_PERF_FROM_SOURCE !== '1' && !custom) {
    const pre = pickPrebuild(root);
    if (pre && loadsInChild(pre.path)) return log(`using prebuild ${pre.path} (${pre.variant})`);
  }
  log('building the addon from source (about 2 minutes on 2 cores)');
  const out = buildNative([]);
  if (!loadsInChild(out)) throw new Error(`the built addon ${out} does not load`);
  log(`built ${out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try { main(); } catch (e) { log(`error: ${e.message}`); process.exit(1); }
}
