// The addon is context-aware: it loads and works in several worker_threads at once.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { describe, expect, inject, it } from 'vitest';

const tiny = inject('tinyModel');
const dist = join(process.cwd(), 'dist', 'index.js');

function runWorker(code: string, data: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: data });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (c) => c !== 0 && reject(new Error(`worker exited with ${c}`)));
  });
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.dist).then(async (wp) => {
  const m = await wp.loadModel(workerData.model, { useGpu: false });
  const d = await m.decode([1, 2, 3], 0, { threads: 1 });
  let code = null;
  try { await m.decode([999999], 0); } catch (e) { code = e.code + ':' + (e instanceof wp.WhisperPerfError); }
  await m.dispose();
  parentPort.postMessage({ type: m.info.type, ms: d.ms, code, version: wp.buildInfo().whisperVersion });
}).catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

describe('worker_threads', () => {
  it('loads and runs the model in two workers at once, each with its own error class', async () => {
    const results = await Promise.all([runWorker(WORKER, { dist, model: tiny }), runWorker(WORKER, { dist, model: tiny })]);
    for (const r of results) {
      expect(r).toMatchObject({ type: 'tiny', code: 'INVALID_ARGUMENT:true', version: '1.9.1' });
      expect((r as { ms: number }).ms).toBeGreaterThan(0);
    }
  });

  it('a worker that exits with a model still loaded does not take the process down', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.dist).then(async (wp) => {
        await wp.loadModel(workerData.model, { useGpu: false });
        parentPort.postMessage('loaded');
        process.exit(0);
      });`;
    await expect(runWorker(code, { dist, model: tiny })).resolves.toBe('loaded');
  });

  it('a worker terminated while its model computes ends without a deadlock, and the process lives on', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.dist).then(async (wp) => {
        const m = await wp.loadModel(workerData.model, { useGpu: false });
        const busy = Promise.all([m.encode({ threads: 2 }), m.encode({ threads: 2 }), m.decode([1], 0)]);
        parentPort.postMessage('computing');
        await busy;
      });`;
    const w = new Worker(code, { eval: true, workerData: { dist, model: tiny } });
    await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    // a deadlock here would hang until the test's timeout (no wall-clock bound: there is no
    // figure the teardown's time could be checked against on a shared machine)
    const exitCode = await w.terminate();
    expect(exitCode).toBe(1);
    // and this thread still computes
    const again = await runWorker(WORKER, { dist, model: tiny });
    expect(again).toMatchObject({ type: 'tiny' });
  });
});
