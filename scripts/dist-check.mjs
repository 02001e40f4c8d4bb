// Whether dist/ is out of step with its build info (scripts/pretest.mjs): tsc's incremental build
// trusts dist/.tsbuildinfo, so an output deleted or edited since, with its source unchanged, is
// neither written again nor noticed.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The first output of a lib/ source that is missing from dist/, or that changed more than a second
 * after the build info was written, as a sentence; null when every output is in step, or when there
 * is no build info (tsc then builds everything anyway).
 */
export function distOutOfStep(root) {
  const info = join(root, 'dist', '.tsbuildinfo');
  if (!existsSync(info)) return null;
  const built = statSync(info).mtimeMs;
  const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  for (const src of walk(join(root, 'lib'))) {
    if (!src.endsWith('.ts') || src.endsWith('.d.ts') || src.endsWith('.test.ts')) continue;
    const out = join('dist', src.slice(join(root, 'lib').length + 1).replace(/\.ts$/, '.js'));
    if (!existsSync(join(root, out))) return `${out} is missing`;
    if (statSync(join(root, out)).mtimeMs > built + 1000) return `${out} changed after the build`;
  }
  return null;
}
