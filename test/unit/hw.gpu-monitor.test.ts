// The GPU monitor: nvidia-smi's CSV parsed from recorded output, reduced to mean/peak, and the
// sampling loop driven by a stand-in nvidia-smi that replays recorded lines.
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { findNvidiaSmi, parseNvidiaSmi, startGpuMonitor, summarizeGpu } from '../../lib/measure/gpu-monitor.js';
import { gpuIndexOf, startCellMonitors } from '../../lib/measure/hardware.js';
import { HANG_MS } from '../fixtures/limits.js';

// Recorded: `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,temperature.gpu,power.draw
// --format=csv,noheader,nounits -lms 200` on a two-GPU machine (an H100 and a T4 without power
// readings), and the 4-field form of the same query without index.
const RECORDED_5 = `0, 0, 1, 31, 68.52
1, 0, 0, 38, [N/A]
0, 87, 4127, 33, 301.17
1, 0, 0, 38, [N/A]
0, 100, 4127, 35, 412.80
1, 3, 0, 38, [Not Supported]
0, 42, 2051, 34, 150.00
`;
const RECORDED_4 = `12, 812, 45, 71.25
97, 1850, 47, 203.50
`;

describe('parseNvidiaSmi', () => {
  it('reads the 5-field form, one sample per line and GPU, [N/A] as absent', () => {
    const s = parseNvidiaSmi(RECORDED_5);
    expect(s).toHaveLength(7);
    expect(s[0]).toEqual({ index: 0, util_pct: 0, mem_used_mib: 1, temp_c: 31, power_w: 68.52 });
    expect(s[1]).toEqual({ index: 1, util_pct: 0, mem_used_mib: 0, temp_c: 38 });
    expect(s[1].power_w).toBeUndefined();
    expect(s[5].power_w).toBeUndefined();
  });

  it('reads the 4-field form as GPU 0', () => {
    const s = parseNvidiaSmi(RECORDED_4);
    expect(s).toEqual([
      { index: 0, util_pct: 12, mem_used_mib: 812, temp_c: 45, power_w: 71.25 },
      { index: 0, util_pct: 97, mem_used_mib: 1850, temp_c: 47, power_w: 203.5 },
    ]);
  });

  it('skips headers, blank lines, error messages and lines of the wrong shape', () => {
    const text = 'index, utilization.gpu [%], memory.used [MiB], temperature.gpu, power.draw [W]\n\nNVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.\n1, 2\n0, 5, 10, 30, 40\n';
    expect(parseNvidiaSmi(text)).toEqual([{ index: 0, util_pct: 5, mem_used_mib: 10, temp_c: 30, power_w: 40 }]);
  });
});

describe('summarizeGpu', () => {
  it('gives mean and peak per quantity of the chosen GPU only', () => {
    const g = summarizeGpu(parseNvidiaSmi(RECORDED_5), 0, 200)!;
    expect(g).toMatchObject({ tool: 'nvidia-smi', index: 0, samples: 4, interval_ms: 200 });
    expect(g.util_pct).toEqual({ mean: 57.3, peak: 100 });
    expect(g.mem_used_mib).toEqual({ mean: 2576.5, peak: 4127 });
    expect(g.temp_c).toEqual({ mean: 33.3, peak: 35 });
    expect(g.power_w).toEqual({ mean: 233.1, peak: 412.8 });
  });

  it('leaves a quantity the GPU never reported absent, not zero', () => {
    const g = summarizeGpu(parseNvidiaSmi(RECORDED_5), 1, 200)!;
    expect(g.samples).toBe(3);
    expect(g.util_pct).toEqual({ mean: 1, peak: 3 });
    expect('power_w' in g).toBe(false);
  });

  it('is undefined for a GPU with no sample', () => {
    expect(summarizeGpu(parseNvidiaSmi(RECORDED_5), 2, 200)).toBeUndefined();
    expect(summarizeGpu([], 0, 200)).toBeUndefined();
  });
});

/**
 * A stand-in nvidia-smi: prints the recorded lines one per 30 ms, looping, until killed (as -lms
 * does); once it has printed them all it creates `<dir>/ready`, so a test can wait for samples
 * instead of guessing how long a loaded machine takes to start a process.
 */
function fakeSmi(lines: string): { command: string; ready: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wp-smi-'));
  const p = join(dir, 'nvidia-smi');
  const ready = join(dir, 'ready');
  const body =
    `const fs=require('fs');const l=${JSON.stringify(lines.trim().split('\n'))};let i=0;const loop=process.argv.includes('-lms');` +
    `if(!loop){process.stdout.write(l[0]+'\\n');process.exit(0)}` +
    `setInterval(()=>{process.stdout.write(l[i++%l.length]+'\\n');if(i===l.length)fs.writeFileSync(${JSON.stringify(ready)},'')},30);`;
  writeFileSync(p, `#!${process.execPath}\n${body}\n`);
  chmodSync(p, 0o755);
  return { command: p, ready };
}

async function waitFor(file: string, ms = HANG_MS): Promise<void> {
  const t0 = Date.now();
  while (!existsSync(file)) {
    if (Date.now() - t0 > ms) throw new Error(`${file} did not appear in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // let the pipe deliver what was written before the file
  await new Promise((r) => setTimeout(r, 50));
}

describe('startGpuMonitor', () => {
  it('samples while running and reports mean/peak after stop()', async () => {
    const smi = fakeSmi(RECORDED_5);
    const mon = startGpuMonitor({ index: 0, intervalMs: 30, command: smi.command });
    expect(mon.active).toBe(true);
    await waitFor(smi.ready);
    const g = (await mon.stop())!;
    // every recorded line of GPU 0 came at least once
    expect(g.samples).toBeGreaterThanOrEqual(4);
    expect(g.mem_used_mib!.peak).toBe(4127);
    expect(g.util_pct!.peak).toBe(100);
    expect(g.power_w!.peak).toBe(412.8);
    // stop() is idempotent
    expect(await mon.stop()).toEqual(g);
  });

  it('takes one sample at stop() when the cell was shorter than the first one', async () => {
    const smi = fakeSmi('0, 55, 900, 40, 100.5\n');
    const mon = startGpuMonitor({ index: 0, intervalMs: 10_000, command: smi.command });
    const g = await mon.stop();
    expect(g).toMatchObject({ samples: 1, util_pct: { mean: 55, peak: 55 } });
  });

  it('yields nothing (absent) when the tool does not exist', async () => {
    const mon = startGpuMonitor({ command: join(tmpdir(), 'no-such-dir', 'nvidia-smi') });
    expect(await mon.stop()).toBeUndefined();
    expect(findNvidiaSmi({ PATH: join(tmpdir(), 'no-such-dir') })).toBeUndefined();
    expect(findNvidiaSmi({ PATH: '', WHISPER_PERF_NVIDIA_SMI: '/x/nvidia-smi' })).toBe('/x/nvidia-smi');
  });
});

describe('cell monitors', () => {
  it('maps ggml backend names to nvidia-smi indices and never monitors the CPU', () => {
    expect(gpuIndexOf('CPU')).toBeUndefined();
    expect(gpuIndexOf('CPU_REPACK')).toBeUndefined();
    expect(gpuIndexOf(undefined)).toBeUndefined();
    expect(gpuIndexOf('CUDA0')).toBe(0);
    expect(gpuIndexOf('CUDA1')).toBe(1);
    expect(gpuIndexOf('Vulkan2')).toBe(2);
  });

  it('starts the GPU monitor only for a GPU device whose weights are on the GPU', async () => {
    const smi = fakeSmi(RECORDED_5);
    const cpu = startCellMonitors('cpu', 'CPU', { gpuCommand: smi.command });
    expect(cpu.gpu).toBeUndefined();
    await cpu.stop();
    const gpu = startCellMonitors('1', 'CUDA1', { gpuCommand: smi.command, gpuIntervalMs: 30 });
    expect(gpu.gpu).toBeDefined();
    await waitFor(smi.ready);
    const figures = await gpu.gpu!.stop();
    expect(figures?.index).toBe(1);
    await gpu.stop();
  });
});
