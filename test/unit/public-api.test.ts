// The public surface, pinned: every name (values and types) each entry point exports, read with
// the TypeScript compiler from the sources, against test/fixtures/public-api.json. A change here
// is a change of what users may import: make it on purpose, and update the list with it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = process.cwd();
const pinned = JSON.parse(readFileSync(join(root, 'test/fixtures/public-api.json'), 'utf8')) as Record<string, string[]>;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string | { types: string; import: string; default: string }> };

const sourceOf = (entry: string) => join(root, entry === '.' ? 'lib/index.ts' : `lib/public/${entry.slice(2)}.ts`);

function exportedNames(files: string[]): Record<string, string[]> {
  const program = ts.createProgram(files, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, skipLibCheck: true, types: ['node'] });
  const checker = program.getTypeChecker();
  const out: Record<string, string[]> = {};
  for (const f of files) {
    const sym = checker.getSymbolAtLocation(program.getSourceFile(f)!)!;
    out[f] = checker.getExportsOfModule(sym).map((s) => s.name).sort();
  }
  return out;
}

describe('public API', () => {
  const entries = Object.keys(pkg.exports).filter((k) => k !== './package.json');

  it('package.json exports exactly the pinned entry points, each with types and an ESM file that exist after the build', () => {
    expect(entries.sort()).toEqual(Object.keys(pinned).sort());
    for (const e of entries) {
      const t = pkg.exports[e] as { types: string; import: string; default: string };
      expect(existsSync(sourceOf(e)), e).toBe(true);
      expect(t.types, e).toBe(t.import.replace(/\.js$/, '.d.ts'));
      expect(t.default, e).toBe(t.import);
      expect(existsSync(join(root, t.import)), `${t.import} (npm test builds dist/ first)`).toBe(true);
    }
  });

  it('every entry point exports exactly its pinned names; the root at most 40', () => {
    const names = exportedNames(entries.map(sourceOf));
    for (const e of entries) expect(names[sourceOf(e)], e).toEqual(pinned[e]);
    expect(pinned['.'].length).toBeLessThanOrEqual(40);
  });

  it('a function exported by the root and a subpath is the same object (one guarded entry point, not two)', async () => {
    const rootMod = await import('../../lib/index.js');
    const audio = await import('../../lib/public/audio.js');
    const report = await import('../../lib/public/report.js');
    expect(audio.loadAudio).toBe(rootMod.loadAudio);
    expect(audio.testSignal).toBe(rootMod.testSignal);
    expect(report.formatRows).toBe(rootMod.formatRows);
  });
});
