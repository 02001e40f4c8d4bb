/**
 * The hardware figures every measured row carries, taken around its cell: peak RSS and CPU use
 * (resources.ts), the device that really ran and the buffer sizes whisper.cpp reported
 * (model.info), and on a GPU the monitor's utilisation, memory, temperature and power
 * (gpu-monitor.ts). One helper for every kind of row (bench, rtf, ...):
 *
 *   const m = startCellMonitors(device, model.info.backend);
 *   try { ...run the cell...; Object.assign(row, await cellResources(m, model.info)); }
 *   finally { await m.stop(); }
 */
import type { BufferSizes } from '../logs.js';
import { startGpuMonitor, type GpuFigures, type GpuMonitor } from './gpu-monitor.js';
import { startResourceMonitor, type ResourceFigures, type ResourceMonitor } from './resources.js';
import type { BenchRow } from './types.js';

export interface CellMonitors {
  resources: ResourceMonitor;
  /** present while a GPU ran the cell and a GPU tool exists */
  gpu?: GpuMonitor;
  /** stops everything (idempotent) */
  stop(): Promise<void>;
}

/**
 * nvidia-smi's index for a ggml backend device name (CUDA0 → 0, Vulkan1 → 1); undefined for the
 * CPU. nvidia-smi numbers GPUs in PCI bus order and CUDA by default fastest first: they agree on
 * machines with one GPU or identical GPUs, or with CUDA_DEVICE_ORDER=PCI_BUS_ID.
 */
export function gpuIndexOf(backend: string | undefined): number | undefined {
  if (!backend || /^CPU/i.test(backend)) return undefined;
  const m = /(\d+)$/.exec(backend);
  return m ? Number(m[1]) : 0;
}

/** Starts the monitors of one cell: resources always, the GPU monitor when the weights live on a GPU. */
export function startCellMonitors(device: string, backend: string | undefined, options: { gpuIntervalMs?: number; gpuCommand?: string } = {}): CellMonitors {
  const resources = startResourceMonitor();
  const index = device === 'cpu' ? undefined : gpuIndexOf(backend);
  const gpu = index === undefined ? undefined : startGpuMonitor({ index, intervalMs: options.gpuIntervalMs, command: options.gpuCommand });
  let gpuFigures: Promise<GpuFigures | undefined> | undefined;
  return {
    resources,
    gpu: gpu && gpu.active ? gpu : undefined,
    async stop() {
      resources.stop();
      gpuFigures ??= gpu ? gpu.stop() : Promise.resolve(undefined);
      await gpuFigures;
    },
  };
}

const mb = (bytes: number | undefined): number | undefined => (bytes === undefined ? undefined : Math.round(bytes / 1e4) / 100);

/** The buffer sizes whisper.cpp reported, in MB, as row fields (absent where it reported none). */
export function bufferFigures(buffers: BufferSizes | undefined): Pick<BenchRow, 'model_buffer_mb' | 'kv_buffer_mb' | 'compute_buffer_mb' | 'gpu_buffer_mb'> {
  if (!buffers) return {};
  const out: Pick<BenchRow, 'model_buffer_mb' | 'kv_buffer_mb' | 'compute_buffer_mb' | 'gpu_buffer_mb'> = {};
  const sum = (xs: (number | undefined)[]) => (xs.some((x) => x !== undefined) ? xs.reduce<number>((a, b) => a + (b ?? 0), 0) : undefined);
  const model = buffers.model;
  const kv = sum([buffers.kvSelf, buffers.kvCross, buffers.kvPad]);
  const compute = sum([buffers.computeConv, buffers.computeEncode, buffers.computeCross, buffers.computeDecode]);
  const gpu = sum(Object.entries(buffers.byBuffer ?? {}).filter(([name]) => !/^(CPU|AMX|KLEIDIAI)([_-].*)?$/i.test(name)).map(([, b]) => b));
  if (model !== undefined) out.model_buffer_mb = mb(model);
  if (kv !== undefined) out.kv_buffer_mb = mb(kv);
  if (compute !== undefined) out.compute_buffer_mb = mb(compute);
  if (gpu !== undefined) out.gpu_buffer_mb = mb(gpu);
  return out;
}

/**
 * A warning when the process got much less CPU than the threads it ran (below half of
 * threads × 100%): other processes competed for the cores, and the timings are inflated.
 */
export function contentionWarning(cpuPct: number | undefined, threads: number, where = ''): string | undefined {
  if (cpuPct === undefined || !(threads > 0) || cpuPct >= 50 * threads) return undefined;
  return `${where ? where + ': ' : ''}the process used ${cpuPct.toFixed(0)}% CPU on ${threads} thread${threads === 1 ? '' : 's'} (expected about ${threads * 100}%): other work competed for the cores, so the timings are inflated`;
}

/** Row fields from the resource figures. */
export function resourceFields(r: ResourceFigures): Pick<BenchRow, 'peak_rss_mb' | 'cpu_pct' | 'peak_rss_source'> {
  return { peak_rss_mb: r.peak_rss_mb, cpu_pct: r.cpu_pct, peak_rss_source: r.peak_source };
}

/** Stops the monitors and returns the row's hardware fields: resources, device that ran, buffers, GPU figures. */
export async function cellResources(m: CellMonitors, info: { backend?: string; buffers?: BufferSizes }): Promise<Partial<BenchRow>> {
  const r = m.resources.stop();
  const gpu = m.gpu ? await m.gpu.stop() : undefined;
  await m.stop();
  return {
    ...resourceFields(r),
    ...(info.backend ? { backend: info.backend } : {}),
    ...bufferFigures(info.buffers),
    ...(gpu ? { gpu } : {}),
  };
}
