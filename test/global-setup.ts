// Generates the synthetic tiny.en model once for the whole run (into a test cache),
// so test files share it instead of each writing 78 MB.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { TestProject } from 'vitest/node';

import { ensureDefaultModel } from '../lib/models/default.js';

export default async function setup(project: TestProject): Promise<void> {
  const dir = process.env.WHISPER_PERF_TEST_CACHE ?? join(process.cwd(), '.cache', 'test');
  mkdirSync(dir, { recursive: true });
  const path = await ensureDefaultModel({ dir });
  project.provide('tinyModel', path);
  project.provide('cacheDir', dir);
}

declare module 'vitest' {
  export interface ProvidedContext {
    tinyModel: string;
    cacheDir: string;
  }
}
