// The layering rules of ARCHITECTURE.md that a tool can check: no import circle in lib/ (value
// imports; `import type` costs nothing at run time) and none among the binding's files.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

import { describe, expect, it } from 'vitest';

/** Strongly connected components of more than one node (Tarjan). */
export function circles(graph: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p, ext) : ext.test(f) ? [p] : [];
  });
}

describe('architecture', () => {
  it('the circle finder finds a circle and nothing in a chain', () => {
    expect(circles(new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])], ['d', new Set(['a'])]]))).toEqual([['a', 'b', 'c']]);
    expect(circles(new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set()]]))).toEqual([]);
  });

  // the layers of ARCHITECTURE.md, bottom up: a module imports its own layer or lower ones only
  const RANK_OF_FILE: Record<string, number> = { errors: 0, validate: 0, optional: 0, logs: 0, native: 0, system: 0, memory: 0, transcribe: 2, presets: 2, guarded: 7, index: 7 };
  const RANK_OF_DIR: Record<string, number> = { audio: 1, models: 1, model: 2, measure: 3, workloads: 4, ab: 4, quality: 4, advise: 5, store: 6, report: 6, fleet: 6, cli: 7, public: 7 };
  const rank = (file: string) => {
    const parts = normalize(file).split(/[\\/]/);
    const r = parts.length === 2 ? RANK_OF_FILE[parts[1].replace(/\.ts$/, '')] : RANK_OF_DIR[parts[1]];
    if (r === undefined) throw new Error(`${file}: no layer in ARCHITECTURE.md (add it to the table and here)`);
    return r;
  };

  it('lib/ has no import circle and no upward import', () => {
    const graph = new Map<string, Set<string>>();
    for (const f of files('lib', /\.ts$/)) {
      const src = readFileSync(f, 'utf8');
      const deps = new Set<string>();
      for (const m of src.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'(\.[^']+)'/gms)) {
        if (m[2]) continue;
        deps.add(normalize(join(dirname(f), m[3].replace(/\.js$/, '.ts'))));
      }
      graph.set(normalize(f), deps);
    }
    expect(graph.size).toBeGreaterThan(50);
    expect(circles(graph)).toEqual([]);
    const upward = [...graph].flatMap(([f, deps]) => [...deps].filter((d) => rank(d) > rank(f)).map((d) => `${f} → ${d}`));
    expect(upward).toEqual([]);
  });

  it('binding/ has no include circle and addon.cc includes no implementation file', () => {
    const graph = new Map<string, Set<string>>();
    for (const f of files('binding', /\.(cc|h)$/)) {
      const deps = new Set([...readFileSync(f, 'utf8').matchAll(/^#include "([^"]+)"/gm)].map((m) => join('binding', m[1])));
      graph.set(f, deps);
    }
    expect(circles(graph)).toEqual([]);
    expect([...graph.get(join('binding', 'addon.cc'))!].every((d) => d.endsWith('.h'))).toBe(true);
  });
});
