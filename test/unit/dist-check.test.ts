// pretest's guard against tsc's incremental build trusting its build info (scripts/dist-check.mjs):
// an output deleted or edited after the build, with its source unchanged, must be noticed.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { distOutOfStep } from '../../scripts/dist-check.mjs';

let root = '';
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** a tree of lib/a.ts and lib/sub/b.ts built into dist/ at time 1000 s, its build info written at 1001 s */
function tree(): string {
  root = mkdtempSync(join(tmpdir(), 'wp-dist-check-'));
  for (const d of ['lib/sub', 'dist/sub']) mkdirSync(join(root, d), { recursive: true });
  for (const f of ['lib/a.ts', 'lib/sub/b.ts', 'lib/types.d.ts', 'dist/a.js', 'dist/sub/b.js', 'dist/.tsbuildinfo']) writeFileSync(join(root, f), '');
  for (const f of ['dist/a.js', 'dist/sub/b.js']) utimesSync(join(root, f), 1000, 1000);
  utimesSync(join(root, 'dist/.tsbuildinfo'), 1001, 1001);
  return root;
}

describe('dist/ in step with its build info', () => {
  it('every output present and older than the build info: in step (a .d.ts source has no output)', () => {
    expect(distOutOfStep(tree())).toBeNull();
  });

  it('an output deleted after the build is named', () => {
    rmSync(join(tree(), 'dist/sub/b.js'));
    expect(distOutOfStep(root)).toBe('dist/sub/b.js is missing');
  });

  it('an output written more than a second after the build info is named; within the second it is not', () => {
    tree();
    utimesSync(join(root, 'dist/a.js'), 1001.5, 1001.5);
    expect(distOutOfStep(root)).toBeNull();
    utimesSync(join(root, 'dist/a.js'), 1003, 1003);
    expect(distOutOfStep(root)).toBe('dist/a.js changed after the build');
  });

  it('no build info: nothing to trust, tsc builds everything anyway', () => {
    rmSync(join(tree(), 'dist/.tsbuildinfo'));
    rmSync(join(root, 'dist/a.js'));
    expect(distOutOfStep(root)).toBeNull();
  });
});
