/**
 * The child process of a build comparison (variants.ts): started with WHISPER_PERF_ADDON set to one
 * build's addon, it receives the benchmark options over IPC, checks that exactly that addon loaded
 * (the loader would otherwise fall back to another build without a word), runs the benchmark
 * in-process and sends back progress and rows.
 */
import { resolve } from 'node:path';

import { WhisperPerfError } from '../errors.js';
import { buildInfo } from '../system.js';
import { benchmark, type BenchmarkOptions } from './engine.js';
import type { RtfOptions } from './rtf.js';

export type ChildRequest =
  | { type: 'run'; fn?: 'benchmark'; options: Omit<BenchmarkOptions, 'onProgress' | 'signal'> }
  | { type: 'run'; fn: 'rtf'; options: Omit<RtfOptions, 'onProgress' | 'signal'> };
export type ChildMessage =
  | { type: 'progress'; done: number; total: number; label: string; etaMs?: number }
  | { type: 'rows'; rows: unknown[] }
  | { type: 'error'; code: string; message: string };

const send = (m: ChildMessage) => new Promise<void>((ok) => process.send!(m, () => ok()));

async function run(req: ChildRequest): Promise<void> {
  const want = process.env.WHISPER_PERF_ADDON;
  if (!want) throw new WhisperPerfError('variant child: WHISPER_PERF_ADDON is not set', 'INVALID_ARGUMENT');
  const got = buildInfo().addonPath;
  if (resolve(got) !== resolve(want)) {
    throw new WhisperPerfError(`the addon ${want} did not load (the loader fell back to ${got}): refusing to measure another build under its name`, 'NATIVE_UNAVAILABLE');
  }
  const onProgress = (p: { done: number; total: number; label: string; etaMs?: number }) => void send({ type: 'progress', ...p });
  const rows = req.fn === 'rtf' ? await (await import('./rtf.js')).rtf({ ...req.options, onProgress }) : await benchmark({ ...req.options, onProgress });
  await send({ type: 'rows', rows });
}

if (process.send) {
  process.once('message', (req: ChildRequest) => {
    run(req)
      .catch(async (e: unknown) => {
        const err = e instanceof WhisperPerfError ? e : new WhisperPerfError(String((e as Error)?.stack ?? e), 'NATIVE_FAILURE');
        await send({ type: 'error', code: err.code, message: err.message });
      })
      .finally(() => process.disconnect?.());
  });
}
