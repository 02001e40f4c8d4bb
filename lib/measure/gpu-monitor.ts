/**
 * GPU monitor: while a GPU cell runs, samples the GPU's utilisation, memory in use, temperature
 * and power draw through NVML's command-line client,
 *
 *   nvidia-smi --query-gpu=index,utilization.gpu,memory.used,temperature.gpu,power.draw
 *              --format=csv,noheader,nounits -lms 200
 *
 * and reduces the samples to a mean and a peak per quantity. Where no tool exists (no NVIDIA
 * driver, another vendor) the monitor yields nothing and rows carry no GPU figures: absent, not
 * zero. A quantity the GPU does not report ("[N/A]", "[Not Supported]") is absent on its own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The fields queried, in order (index first, so several GPUs can be told apart). */
export const NVIDIA_SMI_FIELDS = ['index', 'utilization.gpu', 'memory.used', 'temperature.gpu', 'power.draw'] as const;

/** One line of nvidia-smi output; a quantity the GPU does not report is undefined. */
export interface GpuSample {
  index: number;
  util_pct?: number;
  mem_used_mib?: number;
  temp_c?: number;
  power_w?: number;
}

export interface MeanPeak {
  mean: number;
  peak: number;
}

/** What a row carries about the GPU while its cell ran. */
export interface GpuFigures {
  tool: 'nvidia-smi';
  /** nvidia-smi's index of the GPU sampled */
  index: number;
  /** samples taken while the cell ran */
  samples: number;
  /** the sampling interval asked for, ms */
  interval_ms: number;
  /** GPU utilisation, percent of time a kernel ran */
  util_pct?: MeanPeak;
  /** device memory in use (all processes), MiB */
  mem_used_mib?: MeanPeak;
  /** GPU temperature, °C */
  temp_c?: MeanPeak;
  /** board power draw, W */
  power_w?: MeanPeak;
}

const value = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const t = text.trim();
  // nvidia-smi writes "[N/A]", "[Not Supported]", "[Unknown Error]" for quantities it cannot read
  if (t === '' || t.startsWith('[') || !/^-?\d+(\.\d+)?$/.test(t)) return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
};

/**
 * Parses nvidia-smi CSV lines (noheader, nounits) of either 5 fields (index first, as queried
 * here) or the 4 fields utilization.gpu, memory.used, temperature.gpu, power.draw (index 0).
 * Lines that are not samples (blank, a header, an error message) are skipped.
 */
export function parseNvidiaSmi(text: string): GpuSample[] {
  const out: GpuSample[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const f = line.split(',').map((s) => s.trim());
    let index: number | undefined;
    let rest: string[];
    if (f.length === 5) {
      index = value(f[0]);
      rest = f.slice(1);
    } else if (f.length === 4) {
      index = 0;
      rest = f;
    } else continue;
    if (index === undefined || !Number.isInteger(index)) continue;
    const s: GpuSample = { index };
    const [u, m, t, p] = rest.map(value);
    if (u !== undefined) s.util_pct = u;
    if (m !== undefined) s.mem_used_mib = m;
    if (t !== undefined) s.temp_c = t;
    if (p !== undefined) s.power_w = p;
    // a line where nothing parsed is not a sample (a header such as "index, utilization.gpu [%] ...")
    if (u === undefined && m === undefined && t === undefined && p === undefined) continue;
    out.push(s);
  }
  return out;
}

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

function meanPeak(values: number[]): MeanPeak | undefined {
  if (values.length === 0) return undefined;
  return { mean: round(values.reduce((a, b) => a + b, 0) / values.length), peak: round(Math.max(...values)) };
}

/** Mean and peak per quantity of the samples of one GPU; undefined when there is no sample of it. */
export function summarizeGpu(samples: readonly GpuSample[], index: number, intervalMs: number): GpuFigures | undefined {
  const mine = samples.filter((s) => s.index === index);
  if (mine.length === 0) return undefined;
  const pick = (k: 'util_pct' | 'mem_used_mib' | 'temp_c' | 'power_w') => meanPeak(mine.map((s) => s[k]).filter((v): v is number => v !== undefined));
  const g: GpuFigures = { tool: 'nvidia-smi', index, samples: mine.length, interval_ms: intervalMs };
  const u = pick('util_pct');
  const m = pick('mem_used_mib');
  const t = pick('temp_c');
  const p = pick('power_w');
  if (u) g.util_pct = u;
  if (m) g.mem_used_mib = m;
  if (t) g.temp_c = t;
  if (p) g.power_w = p;
  return g;
}

/** The nvidia-smi program: WHISPER_PERF_NVIDIA_SMI, else `nvidia-smi` on the PATH; undefined when there is none. */
export function findNvidiaSmi(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.WHISPER_PERF_NVIDIA_SMI) return env.WHISPER_PERF_NVIDIA_SMI;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, 'nvidia-smi');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface GpuMonitorOptions {
  /** nvidia-smi's index of the GPU to report (default 0) */
  index?: number;
  /** sampling interval, ms (default 200) */
  intervalMs?: number;
  /** the program (default: findNvidiaSmi()); tests pass a recorder */
  command?: string;
}

export interface GpuMonitor {
  /** true when a tool is sampling */
  readonly active: boolean;
  /** stops sampling; the figures, or undefined where no tool exists or no sample came */
  stop(): Promise<GpuFigures | undefined>;
}

const queryArgs = (intervalMs?: number): string[] => [
  `--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`,
  '--format=csv,noheader,nounits',
  ...(intervalMs !== undefined ? ['-lms', String(intervalMs)] : []),
];

/**
 * Starts sampling the GPU in a child process (nvidia-smi's own loop, `-lms`), so sampling goes on
 * whatever the JavaScript thread does. stop() ends it; when the cell was too short for a sample,
 * one more query is made so that a GPU cell still gets its figures.
 */
export function startGpuMonitor(options: GpuMonitorOptions = {}): GpuMonitor {
  const index = options.index ?? 0;
  const intervalMs = Math.max(20, Math.round(options.intervalMs ?? 200));
  const command = options.command ?? findNvidiaSmi();
  if (!command) return { active: false, stop: async () => undefined };
  let text = '';
  let child: ChildProcess | undefined;
  let failed = false;
  try {
    child = spawn(command, queryArgs(intervalMs), { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => (text += d));
    child.on('error', () => (failed = true));
    child.unref();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
  } catch {
    failed = true;
  }
  let result: Promise<GpuFigures | undefined> | undefined;
  return {
    get active() {
      return !failed;
    },
    stop() {
      result ??= (async () => {
        if (child && child.exitCode === null && !failed) {
          const exited = new Promise<void>((resolve) => {
            child!.once('close', () => resolve());
            setTimeout(resolve, 1000).unref();
          });
          child.kill('SIGTERM');
          await exited;
        }
        let samples = parseNvidiaSmi(text);
        if (!failed && !samples.some((s) => s.index === index)) {
          const once = spawnSync(command, queryArgs(), { encoding: 'utf8', timeout: 5000 });
          if (once.status === 0) samples = parseNvidiaSmi(once.stdout);
        }
        return summarizeGpu(samples, index, intervalMs);
      })();
      return result;
    },
  };
}
