/**
 * The calibration run behind `recommend` when no measured rows are given: the small synthetic
 * models benchmarked here at one thread and at the core count, and how the evidence is named.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';

import { syntheticModelPath } from '../models/default.js';
import { writeSyntheticModel } from '../models/synth.js';
import { benchmark, type BenchmarkProgress } from '../workloads/engine.js';
import type { BenchRow } from '../measure/types.js';

export interface CalibrationOptions {
  /** model files or synthetic model names (default tiny.en, base.en) */
  models?: string[];
  /** thread counts (default 1 and the cores) */
  threads?: number[];
  repetitions?: number;
  onProgress?: (p: BenchmarkProgress) => void;
  signal?: AbortSignal;
}

/** Synthetic model files for names (tiny.en …) or paths, generated into the cache when missing. */
async function calibrationModels(names: readonly string[], onProgress?: (p: BenchmarkProgress) => void): Promise<string[]> {
  const out: string[] = [];
  for (const n of names) {
    if (existsSync(n)) {
      out.push(n);
      continue;
    }
    const path = syntheticModelPath(n, 'f16', 0);
    if (!existsSync(path)) {
      onProgress?.({ done: 0, total: 1, label: `generating synthetic ${n} into ${path}` });
      mkdirSync(join(path, '..'), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeSyntheticModel(tmp, { arch: n, ftype: 'f16', seed: 0 });
      renameSync(tmp, path);
    }
    out.push(path);
  }
  return out;
}

/** A short calibration run: the bench workload (shortened) on a few models at 1 thread and at the cores, one repetition. */
export async function calibrate(cores: number, o: CalibrationOptions = {}): Promise<BenchRow[]> {
  const models = await calibrationModels(o.models ?? ['tiny.en', 'base.en'], o.onProgress);
  const threads = o.threads ?? [...new Set([1, Math.max(1, Math.floor(cores / 2)), cores])];
  return benchmark({
    models,
    threads,
    repetitions: o.repetitions ?? 1,
    // the engine's cold run (before the measured one) already heats caches and the thread team
    warmup: 0,
    workload: { nDecode: 32, nBatch: 4, nPrompt: 1 },
    onProgress: o.onProgress,
    signal: o.signal,
  });
}

/** How a calibration run is described as the evidence's source, naming the models it measured. */
export function calibrationSource(rows: readonly BenchRow[]): string {
  const models = [...new Set(rows.map((r) => basename(r.model)))];
  const threads = [...new Set(rows.map((r) => r.threads))].sort((a, b) => a - b);
  return `calibration run on this machine (${models.join(', ')} at ${threads.join(', ')} threads, 1 run each; larger models not measured: add them with -m or give rows with --from)`;
}
