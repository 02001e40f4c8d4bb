#!/usr/bin/env node
// Runs before `npm test` (npm's pretest): the suite runs dist/ in child processes and packs
// prebuilds/ for the consumer test, so both are first brought up to date with the tree. Both steps
// are incremental: a few seconds each when nothing changed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { distOutOfStep } from './dist-check.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
/** Removes what dist/ holds for sources that no longer exist (a moved or deleted lib/ file): tsc's incremental build leaves them. */
function removeStale(dir = join(root, 'dist')) {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) {
      n += removeStale(p);
      if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
      continue;
    }
    const m = /^(.*)\.(js|d\.ts|js\.map|d\.ts\.map)$/.exec(f);
    if (!m) continue;
    const source = join(root, 'lib', p.slice(join(root, 'dist').length + 1, p.length - f.length), `${m[1]}.ts`);
    if (!existsSync(source)) {
      rmSync(p);
      n++;
    }
  }
  return n;
}

const stale = removeStale();
if (stale > 0) process.stderr.write(`[pretest] removed ${stale} file(s) of dist/ whose source is gone\n`);

const outOfStep = distOutOfStep(root);
if (outOfStep) {
  rmSync(join(root, 'dist', '.tsbuildinfo'));
  process.stderr.write(`[pretest] ${outOfStep}: dist/ is built afresh\n`);
}

const steps = [
  ['dist/ from lib/', [join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc'), '-p', 'tsconfig.build.json']],
  ['prebuilds/ for the consumer test', [join(root, 'scripts', 'prebuild.mjs')]],
];
for (const [what, args] of steps) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', process.stderr, process.stderr] });
  if (r.status !== 0) {
    process.stderr.write(`[pretest] ${what}: failed (${r.status ?? r.signal})\n`);
    process.exit(1);
  }
  process.stderr.write(`[pretest] ${what}: up to date (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
}
