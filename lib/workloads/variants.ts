/**
 * Build variants as a sweep axis: the same benchmark run once per addon build, each in a child
 * process of its own with WHISPER_PERF_ADDON set to that build (one addon per process, so each
 * build's cells run as they would alone; `ab --processes shared` is where builds share one). The
 * timing inside each child is the usual in-process timing. The rows come back with the build's
 * name and, against the first build named (the baseline), the ratio of the median encode and decode
 * times of the same cell (> 1: slower than the baseline) with a 95% bootstrap interval for encode.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { invalidArgument, WhisperPerfError, type ErrorCode } from '../errors.js';
import { packageRoot } from '../native.js';
import { packageVersion } from '../system.js';
import { checkLoads, resolveBuilds, type AddonBuild } from './builds.js';
import { cellKeyOfRow } from '../measure/cells.js';
import type { BenchmarkOptions, BenchmarkProgress } from './engine.js';
import { ratio } from '../measure/ratios.js';
import type { BenchRow } from '../measure/types.js';
import type { ChildMessage, ChildRequest } from './variant-child.js';
import type { RtfOptions } from './rtf.js';

export interface BuildBenchmarkOptions extends BenchmarkOptions {
  /** builds by name (see listBuilds) or as found by listBuilds/resolveBuilds; the first is the baseline */
  builds: readonly (string | AddonBuild)[];
}

/** The compiled child script; the library runs from dist/, tests from lib/ with dist/ built beside. */
function childScript(): string {
  const p = join(packageRoot, 'dist', 'workloads', 'variant-child.js');
  if (!existsSync(p)) throw new WhisperPerfError(`${p} is missing: run \`npm run build\` first`, 'NATIVE_UNAVAILABLE');
  return p;
}

/** Runs the benchmark in one child process with that build's addon; resolves to its rows or rejects with its error. */
function runInChild(build: AddonBuild, fn: 'benchmark' | 'rtf', options: BenchmarkOptions | RtfOptions, onProgress: (p: BenchmarkProgress) => void): Promise<BenchRow[]> {
  const { onProgress: _p, signal, ...rest } = options;
  // only data crosses to the child: callbacks (onCell, skipCell ...) stay here
  const plain = Object.fromEntries(Object.entries(rest).filter(([, v]) => typeof v !== 'function'));
  return new Promise((resolvePromise, reject) => {
    const child = fork(childScript(), [], {
      env: { ...process.env, WHISPER_PERF_ADDON: build.path },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    let settled = false;
    const done = (f: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      f();
    };
    const onAbort = () => {
      child.kill('SIGTERM');
      done(() => reject(new WhisperPerfError('benchmark aborted', 'ABORTED')));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'progress') onProgress(m);
      else if (m.type === 'rows') done(() => resolvePromise(m.rows as BenchRow[]));
      else if (m.type === 'error') done(() => reject(new WhisperPerfError(`build ${build.name}: ${m.message}`, m.code as ErrorCode)));
    });
    child.on('error', (e) => done(() => reject(new WhisperPerfError(`build ${build.name}: ${e.message}`, 'NATIVE_FAILURE'))));
    child.on('exit', (code, sig) => {
      const tail = stderr.trim().split('\n').slice(-3).join(' / ');
      done(() => reject(new WhisperPerfError(`build ${build.name}: the child process ended (${sig ?? `exit ${code}`}) before its rows${tail ? `: ${tail}` : ''}`, 'NATIVE_FAILURE')));
    });
    child.send({ type: 'run', fn, options: plain } as ChildRequest);
  });
}

/** A cell's identity without the build: the same cell measured with another build. */
const cellOf = (r: BenchRow) => `${cellKeyOfRow(r as unknown as { what: string } & Record<string, unknown>)}\0${r.mulmat_type ?? ''}\0${r.mulmat_size ?? ''}`;

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

/** The same cell on any device: a GPU build's row (device 0) against a CPU baseline's (cpu). */
const cellOnAnyDevice = (r: BenchRow) => cellOf({ ...r, device: undefined as unknown as string });

/**
 * Sets build_baseline and the encode/decode ratios of every row against the baseline build's row of
 * the same cell; a row whose device the baseline did not run (a GPU build against a CPU build) is
 * set against the baseline's one row of the same cell on its own device.
 */
export function deriveBuildRatios(rows: BenchRow[], baseline: string): void {
  const base = new Map<string, BenchRow>();
  const anyDevice = new Map<string, BenchRow[]>();
  for (const r of rows) {
    if (r.build_name !== baseline || r.error) continue;
    base.set(cellOf(r), r);
    const k = cellOnAnyDevice(r);
    anyDevice.set(k, [...(anyDevice.get(k) ?? []), r]);
  }
  for (const r of rows) {
    if (r.error) continue;
    const others = anyDevice.get(cellOnAnyDevice(r));
    const b = base.get(cellOf(r)) ?? (others?.length === 1 ? others[0] : undefined);
    if (!b) continue;
    r.build_baseline = baseline;
    if (r.build_name === baseline) {
      // the baseline against itself: exactly 1, no interval
      if (r.encode_ms) r.encode_ratio = 1;
      if (r.decode_ms) r.decode_ratio = 1;
      continue;
    }
    if (r.encode_ms && b.encode_ms && b.encode_ms.median > 0) {
      const q = ratio(r.encode_ms, b.encode_ms);
      r.encode_ratio = round(q.ratio);
      r.encode_ratio_low = round(q.low);
      r.encode_ratio_high = round(q.high);
    }
    if (r.decode_ms && b.decode_ms && b.decode_ms.median > 0) r.decode_ratio = round(r.decode_ms.median / b.decode_ms.median);
  }
}

/**
 * Runs the same benchmark with each build, one child process per build, and returns every row
 * with its build's name and its ratio against the first build. A build whose child fails gives
 * one row with the error (code and message) and the others go on.
 */
export async function benchmarkBuilds(options: BuildBenchmarkOptions): Promise<BenchRow[]> {
  return runBuilds('benchmark', options);
}

/** rtf() once per build, each in its own child process (`rtf --build`): the rows as benchmarkBuilds gives them. */
export async function rtfBuilds(options: RtfOptions & { builds: readonly (string | AddonBuild)[] }): Promise<BenchRow[]> {
  return runBuilds('rtf', options);
}

async function runBuilds(fn: 'benchmark' | 'rtf', options: (BenchmarkOptions | RtfOptions) & { builds: readonly (string | AddonBuild)[] }): Promise<BenchRow[]> {
  if (!options || !Array.isArray(options.builds) || options.builds.length === 0) throw invalidArgument('builds', options?.builds, 'a non-empty list of build names');
  const names = options.builds.filter((b): b is string => typeof b === 'string');
  // a build that is not there or cannot run here is a row with its reason; the others go on
  const resolved = resolveBuilds(names, undefined, { unusable: 'keep' });
  const builds = options.builds.map((b) => (typeof b === 'string' ? resolved[names.indexOf(b)] : b));
  const { builds: _b, ...bench } = options;
  const rows: BenchRow[] = [];
  const totals = new Map<number, number>();
  for (const [i, build] of builds.entries()) {
    if (options.signal?.aborted) throw new WhisperPerfError('benchmark aborted', 'ABORTED');
    const progress = (p: BenchmarkProgress) => {
      totals.set(i, p.total);
      const per = Math.max(...totals.values());
      options.onProgress?.({ done: i * per + p.done, total: builds.length * per, label: `[${build.name}] ${p.label}` });
    };
    progress({ done: 0, total: 1, label: `loading ${build.path}` });
    const tag = (r: BenchRow): BenchRow => ({ ...r, build_name: build.name, build_path: build.path });
    if (build.usable === false) {
      rows.push(failedRow(build, 'NATIVE_UNAVAILABLE', build.problem ?? 'cannot run here'));
      continue;
    }
    const loads = checkLoads(build.path);
    if (!loads.ok) {
      rows.push(failedRow(build, 'NATIVE_UNAVAILABLE', `the addon does not load: ${loads.error}`));
      continue;
    }
    try {
      rows.push(...(await runInChild(build, fn, bench, progress)).map(tag));
    } catch (e) {
      const err = e instanceof WhisperPerfError ? e : new WhisperPerfError(String(e), 'NATIVE_FAILURE');
      if (err.code === 'ABORTED') throw err;
      rows.push(failedRow(build, err.code, err.message));
    }
  }
  deriveBuildRatios(rows, (builds.find((b) => b.usable !== false) ?? builds[0]).name);
  return rows;
}

function failedRow(build: AddonBuild, code: string, message: string): BenchRow {
  const info = build.info ?? {};
  return {
    timestamp: new Date().toISOString(),
    package_version: packageVersion(),
    node_version: process.version,
    whisper_version: info.pin?.whisperVersion ?? '',
    build: {
      variant: build.variant,
      build_type: build.buildType,
      backends: build.backends,
      compiler: info.compiler ?? '',
      sanitizer: info.sanitizer === 'ON',
      options: info.options ?? {},
    },
    cpu_model: '',
    cpu_features: [],
    cpu_cores: 0,
    memory_bytes: 0,
    os: '',
    what: 'encoder',
    model: '',
    model_type: '',
    ftype: '',
    synthetic: false,
    threads: 0,
    flash_attn: false,
    device: '',
    repetitions: 0,
    warnings: [],
    build_name: build.name,
    build_path: build.path,
    error: { code, message },
  };
}
