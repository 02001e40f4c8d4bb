// bench/gpu-check.sh without a GPU: its plan, its checks, the budget that skips what cannot fit,
// and a real CPU-only run of one model through the same steps (build variant, rows, tables).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, inject, it } from 'vitest';

import type { BenchRow } from '../../lib/measure/types.js';

const script = join(process.cwd(), 'bench', 'gpu-check.sh');
const cache = inject('cacheDir');
const tmp = mkdtempSync(join(tmpdir(), 'wp-gpucheck-'));
const hasNvidiaSmi = spawnSync('sh', ['-c', 'command -v nvidia-smi']).status === 0;
const sh = (args: string[], timeout = 280_000) =>
  spawnSync('bash', [script, ...args], { encoding: 'utf8', timeout, env: { ...process.env, WHISPER_PERF_CACHE: cache } });

describe('bench/gpu-check.sh', () => {
  it('--dry-run prints the plan and what the machine lacks, and measures nothing', () => {
    const r = sh(['--dry-run', '--out', join(tmp, 'dry')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('npm run build:native -- --cuda --out build-cuda');
    for (const m of ['tiny', 'base', 'small']) expect(r.stdout).toContain(`model ${m}:`);
    expect(r.stdout).toContain('--device cpu,0');
    if (!hasNvidiaSmi) expect(r.stdout).toContain('no nvidia-smi');
    expect(existsSync(join(tmp, 'dry'))).toBe(false);
  });

  it.skipIf(hasNvidiaSmi)('without a GPU and without --cpu-only it refuses with the reason (exit 1)', () => {
    const r = sh(['--out', join(tmp, 'refused')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('no nvidia-smi');
  });

  it('bad options are usage errors (exit 2)', () => {
    expect(sh(['--bogus']).status).toBe(2);
    expect(sh(['--budget', 'soon']).status).toBe(2);
  });

  it('skips a model the budget left cannot hold, and says so in results.md', () => {
    const out = join(tmp, 'skip');
    const r = sh(['--cpu-only', '--models', 'tiny', '--budget', '20', '--out', out]);
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'rows.json'), 'utf8'))).toEqual([]);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toMatch(/Skipped:\n\n- tiny: \d+s left, needs about 40s/);
  });

  it('--cpu-only runs one model through the build-variant path and writes rows.json and results.md', () => {
    const out = join(tmp, 'cpu');
    const r = sh(['--cpu-only', '--models', 'tiny', '--threads', '1', '-r', '1', '--warmup', '0', '--budget', '270', '--out', out]);
    expect(r.status).toBe(0);
    const rows = JSON.parse(readFileSync(join(out, 'rows.json'), 'utf8')) as BenchRow[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ model_type: 'tiny', device: 'cpu', backend: 'CPU', build_name: 'native', threads: 1 });
    expect(rows[0].peak_rss_mb).toBeGreaterThan(0);
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md).toContain('# gpu-check (cpu)');
    expect(md).toMatch(/\| tiny \(ggml-tiny-f16-seed0\.bin\) \| CPU \|/);
    expect(md).toContain('## Every row');
    expect(existsSync(join(out, 'build.txt'))).toBe(true);
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).toContain('bench tiny on cpu');
  });
});
