// The hardware fields of a row: buffer sizes from whisper.cpp's figures, the resource monitor's
// figures, and how every output format shows them; the CLI's shared context module.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { bufferFigures, cellResources, startCellMonitors } from '../../lib/measure/hardware.js';
import type { BenchRow } from '../../lib/measure/types.js';
import * as context from '../../lib/cli/context.js';
import { COLUMNS, flattenRow, formatRows } from '../../lib/report/formats.js';
import { mdTable } from '../../lib/report/table.js';
import { encoderRow } from '../fixtures/rows.js';

describe('bufferFigures', () => {
  it('sums KV and compute buffers and counts weights off the CPU as GPU memory, in MB', () => {
    const f = bufferFigures({
      model: 77_110_000,
      kvSelf: 3_150_000,
      kvCross: 9_440_000,
      kvPad: 2_360_000,
      computeConv: 28_680_000,
      computeEncode: 23_500_000,
      computeCross: 3_900_000,
      computeDecode: 96_500_000,
      byBuffer: { CUDA0: 77_110_000, CPU: 1_000, CPU_REPACK: 10 },
      total: 0,
    });
    expect(f).toEqual({ model_buffer_mb: 77.11, kv_buffer_mb: 14.95, compute_buffer_mb: 152.58, gpu_buffer_mb: 77.11 });
  });

  it('leaves out what whisper.cpp did not report', () => {
    expect(bufferFigures({ byBuffer: { CPU: 5 }, total: 0 })).toEqual({});
    expect(bufferFigures(undefined)).toEqual({});
  });
});

describe('cellResources', () => {
  it('measures peak RSS and CPU around work, and names the device that ran', async () => {
    const m = startCellMonitors('cpu', 'CPU');
    // burn some CPU and memory on this thread
    const keep: Buffer[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 150) keep.push(Buffer.alloc(1 << 20, 1));
    const f = await cellResources(m, { backend: 'CPU', buffers: { model: 1e6, byBuffer: {}, total: 1e6 } });
    expect(keep.length).toBeGreaterThan(0);
    expect(f.peak_rss_mb).toBeGreaterThan(10);
    expect(f.cpu_pct).toBeGreaterThan(0);
    expect(['hwm', 'sampled']).toContain(f.peak_rss_source);
    expect(f.backend).toBe('CPU');
    expect(f.model_buffer_mb).toBe(1);
    expect(f.gpu).toBeUndefined();
  });
});

function hwRow(): BenchRow {
  return {
    ...encoderRow(),
    device: '0',
    backend: 'CUDA0',
    peak_rss_mb: 812.3,
    cpu_pct: 99.5,
    peak_rss_source: 'hwm',
    model_buffer_mb: 147.4,
    kv_buffer_mb: 16.5,
    compute_buffer_mb: 90.2,
    gpu_buffer_mb: 147.4,
    gpu: { tool: 'nvidia-smi', index: 0, samples: 12, interval_ms: 200, util_pct: { mean: 61.5, peak: 98 }, mem_used_mib: { mean: 900, peak: 1210 }, temp_c: { mean: 40, peak: 43 } },
    build_name: 'cuda',
    build_baseline: 'native',
    encode_ratio: 0.125,
    encode_ratio_low: 0.12,
    encode_ratio_high: 0.13,
    decode_ratio: 0.5,
  };
}

describe('formats', () => {
  it('csv/sql columns carry every hardware field, GPU quantities absent as null', () => {
    const names = COLUMNS.map((c) => c.name);
    for (const n of ['peak_rss_mb', 'cpu_pct', 'backend', 'model_buffer_mb', 'kv_buffer_mb', 'compute_buffer_mb', 'gpu_util_pct_peak', 'gpu_power_w_mean', 'build_name', 'encode_ratio']) expect(names).toContain(n);
    expect(new Set(names).size).toBe(names.length);
    const f = flattenRow(hwRow());
    expect(f).toMatchObject({ backend: 'CUDA0', gpu_util_pct_mean: 61.5, gpu_util_pct_peak: 98, gpu_mem_used_mib_peak: 1210, gpu_power_w_mean: null, gpu_samples: 12, build_name: 'cuda', encode_ratio: 0.125 });
    const plain = flattenRow(encoderRow());
    expect(plain.gpu_tool).toBeNull();
    expect(plain.backend).toBeNull();
  });

  it('the markdown table shows the device that ran, build, memory, CPU, buffers, GPU figures and the ratio', () => {
    const md = formatRows([hwRow()], 'md');
    const [header, , line] = md.split('\n');
    for (const t of ['build', 'variant', 'options', 'backend/device', 'encode vs native', 'peak RSS MB', 'CPU %', 'weights/KV/compute MB', 'GPU util % mean/peak', 'GPU mem MiB peak', 'GPU °C peak']) expect(header).toContain(t);
    expect(header).not.toContain('GPU W');
    expect(line).toContain('CUDA0');
    expect(line).toContain('0.13× [0.12–0.13]');
    expect(line).toContain('147.4/16.5/90.2');
    expect(line).toContain('62/98');
  });

  it('rows without hardware fields print as before', () => {
    const md = formatRows([encoderRow()], 'md');
    expect(md).not.toContain('peak RSS');
    expect(md).not.toContain('GPU');
  });
});

describe('mdTable', () => {
  it('pads columns and right-aligns numeric ones', () => {
    expect(mdTable(['a', 'n'], [['x', '1.5'], ['long', '10 ms']])).toBe('| a    |     n |\n| ---- | ----: |\n| x    |   1.5 |\n| long | 10 ms |\n');
    expect(mdTable(['v'], [['1.9.1']])).toContain('| ----- |');
  });
});

describe('cli context', () => {
  it('is one module: main.ts re-exports the same functions', async () => {
    const main = await import('../../lib/cli/main.js');
    expect(main.parse).toBe(context.parse);
    expect(main.writeData).toBe(context.writeData);
  });

  it('no subcommand imports main.ts (the import circle is gone)', () => {
    const dir = join(process.cwd(), 'lib', 'cli');
    const offenders = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'main.ts' && /from '\.\/main\.js'/.test(readFileSync(join(dir, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('parse: unknown options are usage errors; writeData writes atomically', () => {
    expect(() => context.parse('x', ['--nope'], {})).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(context.parse('x', ['-o', 'json', 'pos'], { output: { type: 'string', short: 'o' } })).toEqual({ values: { output: 'json' }, positionals: ['pos'] });
    const out: string[] = [];
    context.writeData({ stdout: (t) => out.push(t), stderr: () => {} }, 'a');
    expect(out).toEqual(['a\n']);
    const file = join(mkdtempSync(join(tmpdir(), 'wp-ctx-')), 'o.txt');
    context.writeData({ stdout: () => {}, stderr: () => {} }, 'b\n', file);
    expect(readFileSync(file, 'utf8')).toBe('b\n');
  });
});
