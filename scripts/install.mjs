#!/usr/bin/env node
// npm install step for the addon. A prebuild that fits this CPU and loads in a child process is
// used as it is: no whisper.cpp sources are fetched and no compiler runs. Otherwise the addon is
// compiled from the pinned whisper.cpp (tuned for this CPU), after checking that the tools exist.
//   WHISPER_PERF_SKIP_BUILD=1     do nothing (the loader will say the addon is missing)
//   WHISPER_PERF_FROM_SOURCE=1    never use a prebuild
// Every failure is one line on stderr that says what to do, and a non-zero exit, so npm stops the
// install instead of leaving a package that fails later at import.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildNative } from './build-native.mjs';
import { cpuFlags, fittingPrebuilds, VARIANTS } from './prebuild-select.mjs';
import { resolveBuildOptions } from './build-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (m) => process.stderr.write(`[whisper-perf] ${m}\n`);

/**
 * Loads an addon in a child process so a bad binary cannot take this process down.
 * Returns undefined when it loads, else the first line of the reason.
 */
export function loadProblem(path) {
  const r = spawnSync(process.execPath, ['-e', `const m=require(${JSON.stringify(path)});process.stdout.write(m.version())`], {
    encoding: 'utf8', timeout: 60_000,
  });
  if (r.status === 0 && /^\d+\.\d+\.\d+/.test(r.stdout)) return undefined;
  if (r.signal) return `the loading process died with ${r.signal} (built for instructions this CPU lacks?)`;
  const line = (r.stderr ?? '').split('\n').find((l) => /Error|error:/.test(l)) ?? (r.stderr ?? '').split('\n')[0];
  return line?.trim() || `exit code ${r.status}`;
}

/** The first of these commands found on PATH, or undefined. */
function which(names) {
  for (const n of names) {
    const r = spawnSync('/bin/sh', ['-c', `command -v "$1"`, 'sh', n], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}

/** What a source build lacks on this machine (empty when it has everything). */
export function missingTools(env = process.env) {
  const missing = [];
  if (!which(['cmake'])) missing.push('CMake ≥ 3.15');
  const cxx = env.CXX ? [env.CXX] : ['c++', 'g++', 'clang++'];
  if (!which(cxx)) missing.push('a C++17 compiler');
  return missing;
}

function main() {
  if (process.env.WHISPER_PERF_SKIP_BUILD === '1') return log('WHISPER_PERF_SKIP_BUILD=1: not building the addon');
  const custom = resolveBuildOptions([], process.env).requested.length > 0;
  const why = [];
  if (process.env.WHISPER_PERF_FROM_SOURCE === '1') why.push('WHISPER_PERF_FROM_SOURCE=1');
  else if (custom) why.push('build options were set');
  // the loader prefers a source build in build/: once there is one (a checkout), keep it current
  else if (existsSync(join(root, 'build', 'Release', 'whisper_perf.node'))) why.push('a source build exists in build/Release');
  else {
    const flags = cpuFlags();
    const fitting = fittingPrebuilds(root, flags);
    for (const pre of fitting) {
      const problem = loadProblem(pre.path);
      if (!problem) return log(`using prebuild ${pre.variant} (${pre.path}); no compiler needed`);
      log(`prebuild ${pre.variant} does not load here: ${problem}`);
      why.push(`prebuild ${pre.variant} does not load`);
    }
    if (fitting.length === 0) {
      why.push(`no prebuild for ${process.platform}-${process.arch} fits this CPU (levels: ${VARIANTS.map((v) => v.name).join(', ')})`);
    }
  }
  const missing = missingTools();
  if (missing.length > 0) {
    throw new Error(
      `${why.join('; ')}, and building from source needs ${missing.join(' and ')}: install them ` +
        '(Debian/Ubuntu: apt-get install cmake g++) and run npm install again, or set WHISPER_PERF_SKIP_BUILD=1 to install without the addon',
    );
  }
  log(`building the addon from source (${why.join('; ')}; about 2 minutes on 2 cores)`);
  const out = buildNative([]);
  const problem = loadProblem(out);
  if (problem) throw new Error(`the addon built from source (${out}) does not load: ${problem}`);
  log(`built ${out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try { main(); } catch (e) { log(`error: ${e.message}`); process.exit(1); }
}
