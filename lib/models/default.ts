/** The embedded default model: synthetic tiny.en, generated once into the cache and reused. */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';

import { defaultCacheDir } from './download.js';
import { writeSyntheticModel } from './synth.js';

export const DEFAULT_MODEL = 'tiny.en';

/** Path of a cached synthetic model for (arch, ftype, seed). */
export function syntheticModelPath(arch = DEFAULT_MODEL, ftype: 'f16' | 'f32' = 'f16', seed = 0, dir = defaultCacheDir()): string {
  return join(dir, 'synthetic', `ggml-${arch}-${ftype}-seed${seed}.bin`);
}

/** Returns the default model's path, generating it first when the cache has none. */
export async function ensureDefaultModel(opts: { dir?: string; onProgress?: (message: string) => void } = {}): Promise<string> {
  const path = syntheticModelPath(DEFAULT_MODEL, 'f16', 0, opts.dir);
  if (existsSync(path)) return path;
  mkdirSync(join(path, '..'), { recursive: true });
  opts.onProgress?.(`generating the default model (synthetic ${DEFAULT_MODEL}) into ${path}`);
  // write under a temporary name so an interrupted run never leaves a half file behind
  const tmp = `${path}.${process.pid}.tmp`;
  await writeSyntheticModel(tmp, { arch: DEFAULT_MODEL, ftype: 'f16', seed: 0 });
  renameSync(tmp, path);
  return path;
}
