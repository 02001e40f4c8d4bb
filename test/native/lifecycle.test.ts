// Lifecycle (issue #11, part 5): exits with work in flight, dispose under running work, worker
// threads that end with a model loaded, aborts. Exits run in child processes, each bounded.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

import { describe, expect, inject, it } from 'vitest';

import { testSignal } from '../../lib/audio/generate.js';
import { WhisperPerfError } from '../../lib/errors.js';
import { loadModel } from '../../lib/model/model.js';
import { loadBinding } from '../../lib/native.js';
import { SPAWN_SYNC_MS } from '../fixtures/limits.js';

const tiny = inject('tinyModel');
const dist = resolve('dist/index.js');
const LONG = { threads: 1, noFallback: true };

/** Runs an ES module snippet in a child node with the model path, bounded by a timeout. */
function child(body: string) {
  const code = `import * as w from ${JSON.stringify(pathToFileURL(dist).href)};\nconst tiny = ${JSON.stringify(tiny)};\n${body}`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: SPAWN_SYNC_MS });
}

describe('process exit with work in flight', () => {
  // The main thread's exit() runs ggml's static destructors without the environment's cleanup
  // hooks; a compute thread still running then reads freed memory (SIGSEGV in about 1 exit in 10
  // here before the addon stopped its threads on 'exit'). The crash itself is a race, so the
  // tests check its cause directly: by the time a later 'exit' listener runs, no compute thread of
  // the process is left (liveExecutors 0), whatever was running when the exit began.
  const inFlight = `
    const { loadBinding } = await import(${JSON.stringify(pathToFileURL(resolve('dist/native.js')).href)});
    const m = await w.loadModel(tiny, { useGpu: false });
    const m2 = await w.loadModel(tiny, { useGpu: false });
    m.transcribe(w.testSignal(8), ${JSON.stringify(LONG)}).catch(() => {});
    m2.encode({ threads: 1 }).catch(() => {});
    let live0 = -1;
    process.on('exit', (code) => console.log('at-exit ' + JSON.stringify({ code, live0, live: loadBinding().stats().liveExecutors })));
  `;
  function atExit(stdout: string) {
    const line = stdout.split('\n').find((l) => l.startsWith('at-exit '));
    expect(line, stdout).toBeDefined();
    return JSON.parse(line!.slice('at-exit '.length)) as { code: number; live0: number; live: number };
  }

  it('process.exit() while a transcription runs exits with the code given, no signal, no hang, and no compute thread left', () => {
    const r = child(`${inFlight}
      setTimeout(() => { live0 = loadBinding().stats().liveExecutors; process.exit(7); }, 300);
    `);
    expect(r.error).toBeUndefined(); // not killed by the timeout
    expect(r.signal).toBeNull();
    expect(r.status).toBe(7);
    expect(atExit(r.stdout)).toEqual({ code: 7, live0: 2, live: 0 });
  });

  it('an uncaught exception while a transcription runs exits 1 the same way', () => {
    const r = child(`${inFlight}
      setTimeout(() => { live0 = loadBinding().stats().liveExecutors; throw new Error('thrown on purpose'); }, 300);
    `);
    expect(r.error).toBeUndefined();
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('thrown on purpose');
    expect(atExit(r.stdout)).toEqual({ code: 1, live0: 2, live: 0 });
  });

  it('a normal exit with a transcription in flight waits for it and exits 0', () => {
    const r = child(`
      const m = await w.loadModel(tiny, { useGpu: false });
      m.transcribe(w.testSignal(2), { threads: 1, maxTokens: 4, noFallback: true }).then(() => console.log('done'));
    `);
    expect(r.error).toBeUndefined();
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('done');
  });
});

describe('dispose while work runs', () => {
  it('waits for the running job, rejects new work with DISPOSED, and frees only afterwards', async () => {
    const m = await loadModel(tiny, { useGpu: false });
    const running = m.transcribe(testSignal(3), { threads: 1, maxTokens: 4, noFallback: true });
    await new Promise((r) => setTimeout(r, 50));
    const disposing = m.dispose();
    const late = await m.encode({ threads: 1 }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(WhisperPerfError);
    expect((late as WhisperPerfError).code).toBe('DISPOSED');
    // the context lives until the running job is over
    expect(loadBinding().stats().liveContexts).toBeGreaterThan(0);
    const t = await running; // the running job completes on live memory
    expect(t.segments).toBeInstanceOf(Array);
    await disposing;
    expect(loadBinding().stats()).toEqual({ liveContexts: 0, liveExecutors: 0 });
  });
});

describe('worker threads', () => {
  it('a worker that ends with a model loaded frees it: native stats back to 0', async () => {
    const code = `import * as w from ${JSON.stringify(pathToFileURL(dist).href)}; const m = await w.loadModel(${JSON.stringify(tiny)}, { useGpu: false }); await m.encode({ threads: 1 }); process.exit(0);`;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
    const exit = await new Promise<number>((r) => worker.on('exit', r));
    expect(exit).toBe(0);
    // cleanup hooks of the worker's environment run as it exits; give the compute thread a moment
    for (let i = 0; i < 50 && loadBinding().stats().liveContexts > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(loadBinding().stats()).toEqual({ liveContexts: 0, liveExecutors: 0 });
  });
});

describe('abort', () => {
  it('aborts at random moments reject with ABORTED (or the transcription had finished), and the model lives on', async () => {
    const m = await loadModel(tiny, { useGpu: false });
    try {
      let aborted = 0;
      for (let i = 0; i < 4; i++) {
        const ac = new AbortController();
        const p = m.transcribe(testSignal(4), { ...LONG, signal: ac.signal });
        setTimeout(() => ac.abort(), 20 + Math.random() * 200);
        const r = await p.catch((e: unknown) => e);
        if (r instanceof WhisperPerfError) {
          expect(r.code).toBe('ABORTED');
          aborted++;
        } else expect(r).toHaveProperty('segments');
      }
      expect(aborted).toBeGreaterThan(0);
      const ok = await m.transcribe(testSignal(1), { threads: 1, maxTokens: 2, noFallback: true });
      expect(ok.segments).toBeInstanceOf(Array);
    } finally {
      await m.dispose();
    }
  });
});
