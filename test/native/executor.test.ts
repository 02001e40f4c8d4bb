// The execution model: every whisper.cpp call of a model runs on that model's one compute
// thread, whichever libuv pool thread is free when the call is made, so the process holds one
// OpenMP team per model rather than one per pool thread.
import { pbkdf2 } from 'node:crypto';
import { promises as fsp, readdirSync } from 'node:fs';
import { promisify } from 'node:util';

import { describe, expect, inject, it } from 'vitest';

import { testSignal } from '../../lib/audio/generate.js';
import { WhisperPerfError } from '../../lib/errors.js';
import { benchWorkloadHere, loadModel, loadThreadOf, Model } from '../../lib/model/model.js';
import { loadBinding, type BindingModule } from '../../lib/native.js';
import { SPAWN_SYNC_MS } from '../fixtures/limits.js';

const tiny = inject('tinyModel');
const pbkdf2Async = promisify(pbkdf2);
const osThreads = () => readdirSync('/proc/self/task').length;

/** Keeps every libuv pool thread busy with unrelated work for a while. */
function saturatePool(): Promise<unknown> {
  return Promise.all([
    ...Array.from({ length: 8 }, () => pbkdf2Async('x', 'y', 3000, 32, 'sha256')),
    ...Array.from({ length: 8 }, () => fsp.readFile(tiny, { encoding: null }).then((b) => b.length)),
  ]);
}

describe('one compute thread per model', () => {
  it('runs load, mel, encode, decode, timings and transcribe on the same OS thread, while the pool is saturated', async () => {
    await saturatePool();
    const model = await loadModel(tiny, { useGpu: false });
    try {
      const home = model.threadId;
      expect(home).toBeGreaterThan(0);
      expect(home).not.toBe(process.pid); // not the JavaScript thread
      const tids = new Set<number>();
      for (let round = 0; round < 6; round++) {
        const busy = saturatePool();
        tids.add((await model.computeMel(testSignal(2), { threads: 2 })).tid);
        tids.add((await model.encode({ threads: 2 })).tid);
        for (let i = 0; i < 3; i++) {
          const b = saturatePool();
          tids.add((await model.decode([0], i, { threads: 2 })).tid);
          await b;
        }
        await busy;
      }
      tids.add((await model.transcribe(testSignal(1), { threads: 2, maxTokens: 4, noFallback: true, singleSegment: true })).tid);
      expect([...tids]).toEqual([home]);
    } finally {
      await model.dispose();
    }
  });

  it('keeps the process at one compute thread plus its OpenMP team, not one team per pool thread', async () => {
    const T = 4; // more threads than the pool's 4 masters could share: a team per pool thread shows at once
    await saturatePool(); // every pool thread exists before the baseline
    const before = osThreads();
    const model = await loadModel(tiny, { useGpu: false });
    try {
      for (let round = 0; round < 8; round++) {
        const busy = saturatePool();
        await model.encode({ threads: T });
        await model.decode([0], round, { threads: T });
        await busy;
      }
      const grown = osThreads() - before;
      // the compute thread + at most T-1 OpenMP workers (+1 for any helper the runtime keeps);
      // one team per pool thread would add 4 × (T-1) = 12
      expect(grown).toBeLessThanOrEqual(1 + (T - 1) + 1);
    } finally {
      await model.dispose();
    }
    // the compute thread ends with the model
    expect(loadBinding().stats().liveExecutors).toBe(0);
  });

  it('two models have two compute threads, and calls on each keep to their own', async () => {
    const [a, b] = await Promise.all([loadModel(tiny, { useGpu: false }), loadModel(tiny, { useGpu: false })]);
    try {
      expect(a.threadId).not.toBe(b.threadId);
      const [ra, rb] = await Promise.all([a.decode([1], 0, { threads: 1 }), b.decode([1], 0, { threads: 1 })]);
      expect(ra.tid).toBe(a.threadId);
      expect(rb.tid).toBe(b.threadId);
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
  });

  it("ab's side processes: benchWorkloadHere computes on the calling thread, so two models share its one OpenMP team", async () => {
    const T = 4;
    const a = await loadModel(tiny, { useGpu: false });
    const b = await loadModel(tiny, { useGpu: false });
    const work = { threads: T, heat: 0, heatDecodes: 0, nEncode: 0, nDecode: 4, nBatch: 0, nPrompt: 0 };
    try {
      const before = osThreads();
      for (let round = 0; round < 3; round++) {
        for (const m of [a, b]) {
          const r = await benchWorkloadHere(m, work);
          expect(r.tid).toBe(process.pid); // this process's main thread, not the model's compute thread
          expect(r.counts.decode).toBe(4);
        }
      }
      // the calling thread's team: T-1 OpenMP workers (+1 for any helper the runtime keeps), whichever
      // model computed; through benchWorkload each model's compute thread would hold a team of its own
      const grown = osThreads() - before;
      expect(grown).toBeGreaterThanOrEqual(T - 1);
      expect(grown).toBeLessThanOrEqual(T - 1 + 1);
      expect((await a.benchWorkload(work)).tid).toBe(a.threadId);
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
  });

  it("ab's side processes: Model.load's `here` loads on the calling thread; later calls still run on the model's compute thread", async () => {
    const here = await Model.load(tiny, { useGpu: false }, undefined, true);
    const there = await loadModel(tiny, { useGpu: false });
    try {
      expect(loadThreadOf(here)).toBe(process.pid); // whisper.cpp's buffers come from this thread's malloc arena
      expect(here.threadId).not.toBe(process.pid);
      expect((await here.decode([0], 0, { threads: 1 })).tid).toBe(here.threadId);
      expect(loadThreadOf(there)).toBe(there.threadId);
      expect(there.threadId).not.toBe(process.pid);
    } finally {
      await Promise.all([here.dispose(), there.dispose()]);
    }
    // an addon built before loadHere: a clear error, not a TypeError
    const old = { ...loadBinding(), loadHere: undefined } as unknown as BindingModule;
    await expect(Model.load(tiny, { useGpu: false }, old, true)).rejects.toMatchObject({ code: 'NATIVE_UNAVAILABLE', message: expect.stringMatching(/rebuild/) });
  });

  it("the binding's benchHere refuses a model with calls in flight on its compute thread", async () => {
    const binding = loadBinding();
    const { model } = await binding.load(tiny, { useGpu: false, gpuDevice: 0, flashAttn: true });
    const work = { threads: 1, heat: 0, heatDecodes: 0, nEncode: 0, nDecode: 2, nBatch: 0, nPrompt: 0 };
    try {
      const inFlight = model.decode(Int32Array.of(1), 0, 1);
      let code: unknown;
      try {
        await model.benchHere(work);
      } catch (e) {
        code = (e as { code?: string }).code;
      }
      expect(code).toBe('INVALID_ARGUMENT');
      await inFlight;
      await expect(model.benchHere(work)).resolves.toMatchObject({ tid: process.pid });
    } finally {
      await model.dispose();
    }
  });

  it('a call queued behind a dispose is rejected with DISPOSED, and nothing deadlocks', async () => {
    const model = await loadModel(tiny, { useGpu: false });
    const enc = model.encode({ threads: 2 });
    const disposing = model.dispose();
    const late = model.decode([1], 0).then(
      () => 'resolved',
      (e: unknown) => (e instanceof WhisperPerfError ? e.code : String(e)),
    );
    await expect(enc).resolves.toMatchObject({ ms: expect.any(Number) });
    await disposing;
    expect(await late).toBe('DISPOSED');
    expect(loadBinding().stats()).toMatchObject({ liveExecutors: 0, liveContexts: 0 });
  });

  it('an idle loaded model does not keep the process alive', async () => {
    const { spawnSync } = await import('node:child_process');
    const { join } = await import('node:path');
    const script = `
      const wp = await import(${JSON.stringify(join(process.cwd(), 'dist', 'index.js'))});
      const m = await wp.loadModel(process.argv[1], { useGpu: false });
      await m.decode([1], 0, { threads: 1 });
      globalThis.kept = m; // never disposed: the process must still exit on its own
      console.log('done');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, tiny], { encoding: 'utf8', timeout: SPAWN_SYNC_MS });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('done');
  });
});
