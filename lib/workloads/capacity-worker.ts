/**
 * One stream of a `capacity --workers` cell: a worker thread that loads its own copy of the model
 * from the compiled package, warms up, waits for 'go', transcribes the file `rounds` times and
 * posts the latencies. Messages: { type: 'ready' } → (go) → { type: 'done', latencies } or
 * { type: 'error', code, message }.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { loadModel } from '../model/model.js';
import type { LoadOptions, TranscribeOptions } from '../model/model.js';

interface CapacityWorkerData {
  modelPath: string;
  load: Omit<LoadOptions, 'signal'>;
  pcm: Float32Array;
  head: Float32Array;
  options: TranscribeOptions;
  rounds: number;
  warmup: number;
}

const port = parentPort;
if (!port) throw new Error('capacity-worker runs in a worker thread');
const data = workerData as CapacityWorkerData;

try {
  const model = await loadModel(data.modelPath, data.load);
  try {
    for (let w = 0; w < data.warmup; w++) await model.transcribe(data.head, data.options);
    const go = new Promise<void>((resolve) => port.once('message', () => resolve()));
    port.postMessage({ type: 'ready' });
    await go;
    const latencies: number[] = [];
    for (let r = 0; r < data.rounds; r++) {
      const t = performance.now();
      await model.transcribe(data.pcm, data.options);
      latencies.push(performance.now() - t);
    }
    port.postMessage({ type: 'done', latencies });
  } finally {
    await model.dispose();
  }
} catch (e) {
  const err = e as { code?: string; message?: string };
  port.postMessage({ type: 'error', code: err?.code ?? 'NATIVE_FAILURE', message: String(err?.message ?? e) });
}
