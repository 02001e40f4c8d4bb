// Nothing leaks: repeated loads, failed loads and forgotten models are freed.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, inject, it } from 'vitest';

import { WhisperPerfError } from '../../lib/errors.js';
import { loadModel } from '../../lib/model.js';

const tiny = inject('tinyModel');
const MB = 1e6;

describe('memory', () => {
  it('load/dispose cycles reach a plateau instead of growing by a model each time', async () => {
    // one loaded tiny.en holds ~220 MB (weights, KV caches, compute buffers). The first cycles
    // grow RSS while each pool thread's malloc arena fills (seen: ~75 MB → ~330 MB by cycle 10,
    // then flat); a leak would add a model per cycle after that.
    const cycle = async () => {
      const m = await loadModel(tiny, { useGpu: false });
      await m.decode([1], 0, { threads: 1 });
      await m.dispose();
    };
    for (let i = 0; i < 10; i++) await cycle();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 15; i++) await cycle();
    const grown = process.memoryUsage().rss - before;
    expect(grown).toBeLessThan(100 * MB);
  });

  it('failed calls leave nothing behind', async () => {
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 200; i++) {
      await loadModel('/nonexistent/model.bin').catch((e) => expect(e).toBeInstanceOf(WhisperPerfError));
    }
    expect(process.memoryUsage().rss - before).toBeLessThan(50 * MB);
  });

  it('a model that is never disposed is freed by its finalizer once collected', () => {
    const script = `
      const wp = await import(${JSON.stringify(join(process.cwd(), 'dist', 'index.js'))});
      const rss = () => process.memoryUsage().rss;
      const warm = await wp.loadModel(process.argv[1], { useGpu: false }); await warm.dispose();
      const base = rss();
      let kept = [];
      for (let i = 0; i < 6; i++) kept.push(await wp.loadModel(process.argv[1], { useGpu: false }));
      const peak = rss();
      kept = null;
      for (let i = 0; i < 10; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 50)); }
      console.log(JSON.stringify({ base, peak, after: rss() }));`;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script, tiny], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const { base, peak, after } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    // six undisposed models really took memory ...
    expect(peak - base).toBeGreaterThan(400 * MB);
    // ... and the finalizers gave most of it back
    expect(after - base).toBeLessThan((peak - base) / 2);
  });
});
