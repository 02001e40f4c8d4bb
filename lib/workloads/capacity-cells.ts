/**
 * One capacity cell: N transcriptions at once, either N whisper states over one model in this
 * process or N worker threads with a model each, timed from a shared start; their latencies, wall
 * and CPU time and the peak resident memory.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { WhisperPerfError } from '../errors.js';
import type { LoadOptions, Model, TranscribeOptions, WhisperState } from '../model/model.js';
import { startResourceMonitor } from '../measure/resources.js';

/** What one cell measured. */
export interface CellResult {
  latencies: number[];
  wallMs: number;
  cpuMs: number;
  peakRssMb: number;
  peakSource: 'hwm' | 'sampled';
}

/** The worker script: beside this file in dist/, or dist/ from the sources (tests). */
function workerUrl(): URL {
  const here = new URL('./capacity-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const dist = new URL('../../dist/workloads/capacity-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(dist))) return dist;
  throw new WhisperPerfError('capacity --workers: dist/workloads/capacity-worker.js is missing (npm run build)', 'NATIVE_UNAVAILABLE');
}

export async function runStatesCell(model: Model, n: number, pcm: Float32Array, head: Float32Array, opts: TranscribeOptions, rounds: number, warmup: number, signal?: AbortSignal): Promise<CellResult> {
  const mon = startResourceMonitor();
  const states: WhisperState[] = [];
  try {
    for (let i = 0; i < n; i++) states.push(await model.createState());
    const o = { ...opts, signal };
    for (let w = 0; w < warmup; w++) await Promise.all(states.map((s) => s.transcribe(head, o)));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const per = await Promise.all(
      states.map(async (s) => {
        const out: number[] = [];
        for (let r = 0; r < rounds; r++) {
          const t = performance.now();
          await s.transcribe(pcm, o);
          out.push(performance.now() - t);
        }
        return out;
      }),
    );
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const fig = mon.stop();
    return { latencies: per.flat(), wallMs, cpuMs: (cpu.user + cpu.system) / 1000, peakRssMb: fig.peak_rss_mb, peakSource: fig.peak_source };
  } finally {
    mon.stop();
    await Promise.all(states.map((s) => s.dispose()));
  }
}

type WorkerMessage = { type: 'ready' } | { type: 'done'; latencies: number[] } | { type: 'error'; code: string; message: string };

export async function runWorkersCell(modelPath: string, load: Omit<LoadOptions, 'signal'>, n: number, pcm: Float32Array, head: Float32Array, opts: TranscribeOptions, rounds: number, warmup: number, signal?: AbortSignal): Promise<CellResult> {
  const url = workerUrl();
  const mon = startResourceMonitor();
  const workers: Worker[] = [];
  const exits: Promise<void>[] = [];
  const waiters = new Map<Worker, { type: string; resolve: (m: WorkerMessage) => void; reject: (e: unknown) => void }>();
  let failure: WhisperPerfError | undefined;
  const fail = (e: WhisperPerfError) => {
    failure ??= e;
    for (const w of waiters.values()) w.reject(failure);
    waiters.clear();
  };
  const expect = (w: Worker, type: string) =>
    new Promise<WorkerMessage>((resolve, reject) => {
      if (failure) return reject(failure);
      waiters.set(w, { type, resolve, reject });
    });
  const onAbort = () => fail(new WhisperPerfError('capacity aborted', 'ABORTED'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const { signal: _s, onProgress: _p, onSegment: _g, ...plain } = opts;
    for (let i = 0; i < n; i++) {
      const w = new Worker(url, { workerData: { modelPath, load, pcm, head, options: plain, rounds, warmup }, execArgv: workerExecArgv(process.execArgv) });
      workers.push(w);
      w.on('message', (m: WorkerMessage) => {
        if (m.type === 'error') return fail(new WhisperPerfError(`worker ${i + 1}: ${m.message}`, (m.code as WhisperPerfError['code']) ?? 'NATIVE_FAILURE'));
        const waiter = waiters.get(w);
        if (waiter && waiter.type === m.type) {
          waiters.delete(w);
          waiter.resolve(m);
        }
      });
      w.on('error', (e) => fail(new WhisperPerfError(`worker ${i + 1}: ${(e as Error).message}`, 'NATIVE_FAILURE')));
      exits.push(new Promise((resolve) => w.once('exit', () => resolve())));
    }
    await Promise.all(workers.map((w) => expect(w, 'ready')));
    const cpu0 = process.cpuUsage();
    const done = workers.map((w) => expect(w, 'done'));
    const t0 = performance.now();
    for (const w of workers) w.postMessage('go');
    const results = await Promise.all(done);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const fig = mon.stop();
    await Promise.all(exits);
    return {
      latencies: results.flatMap((m) => (m.type === 'done' ? m.latencies : [])),
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      peakRssMb: fig.peak_rss_mb,
      peakSource: fig.peak_source,
    };
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    mon.stop();
  }
}

/**
 * The process's Node options for a worker, less those a worker refuses (`--input-type`, which
 * only `node -e` and stdin take: a worker started from `node --input-type=module -e ...` would
 * fail with ERR_WORKER_INVALID_EXEC_ARGV).
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i];
    if (a === '--input-type') {
      i++;
      continue;
    }
    if (a.startsWith('--input-type=')) continue;
    out.push(a);
  }
  return out;
}
