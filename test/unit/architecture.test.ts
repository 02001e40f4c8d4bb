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

  it('lib/ has no import circle', () => {
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
