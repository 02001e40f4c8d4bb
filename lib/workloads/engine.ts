/**
 * The benchmark engine: options → plan (cartesian product of cells) → run each cell
 * in-process → samples → statistics → BenchRow.
 */
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { invalidArgument, WhisperPerfError } from '../errors.js';
import { loadModel, Model } from '../model/model.js';
import { ensureDefaultModel } from '../models/default.js';
import { buildInfo, gpuDevices, packageVersion, systemInfo } from '../system.js';
import { checkInt, checkThreads, defaultThreads } from '../validate.js';
import { encoderFlops } from '../measure/flops.js';
import { cartesian } from '../measure/params.js';
import { microBench } from './micro.js';
import { parseMemcpy, parseMulmat } from '../measure/parse-micro.js';
import { MIN_SAMPLES, scaling, summarize, warningsFor } from '../measure/stats.js';
import { testSignal } from '../audio/generate.js';
import type { BenchRow, BenchWhat, Provenance } from '../measure/types.js';
import { cellKey } from '../measure/cells.js';
import { cellResources, contentionWarning, startCellMonitors } from '../measure/hardware.js';

export interface BenchmarkProgress {
  /** cells finished */
  done: number;
  total: number;
  /** what runs now */
  label: string;
  /** estimated milliseconds left, from the cells done so far */
  etaMs?: number;
}

export interface BenchmarkOptions {
  /** what to measure (default 'encoder': whisper-bench's workload); a list runs each in turn */
  what?: BenchWhat | BenchWhat[];
  /** model files; default: the embedded synthetic tiny.en, generated once and cached */
  models?: string | string[];
  /** thread counts (default whisper-bench's min(4, cores)) */
  threads?: number | number[];
  /** flash attention on/off (default on, as whisper.cpp 1.9) */
  flashAttn?: boolean | boolean[];
  /** 'cpu' or a GPU device index as a string (default 'cpu' when the build has no GPU backend, else '0') */
  devices?: string | string[];
  /** measured repetitions per cell, after warm-up (default 3) */
  repetitions?: number;
  /** heat-up loops after the cold run (default 1; whisper-bench does 2 and has no cold run) */
  warmup?: number;
  /** pause between cells, milliseconds (default 0) */
  delayMs?: number;
  /** shorten the workload (tests): decodes, batches and prompts per run */
  workload?: { nDecode?: number; nBatch?: number; nPrompt?: number };
  onProgress?: (p: BenchmarkProgress) => void;
  signal?: AbortSignal;
  /** called with the rows of each finished cell and awaited before the next cell begins (a store commits them here) */
  onCell?: (rows: BenchRow[]) => void | Promise<void>;
  /** cells to leave out, by cellKey() of ./cells.ts (--resume: the cells a stored run already holds) */
  skipCell?: (key: string) => boolean;
}

const asList = <T>(v: T | T[] | undefined, fallback: T[]): T[] => (v === undefined ? fallback : Array.isArray(v) ? v : [v]);

/** Builds the provenance every row carries. */
export function provenance(): Provenance {
  const b = buildInfo();
  const s = systemInfo();
  return {
    timestamp: new Date().toISOString(),
    package_version: packageVersion(),
    node_version: process.version,
    whisper_version: b.whisperVersion,
    build: {
      variant: b.variant,
      build_type: b.buildType,
      backends: b.backends,
      compiler: b.compiler,
      sanitizer: b.sanitizer,
      options: b.options,
    },
    cpu_model: s.cpuModel,
    cpu_features: Object.entries(s.features).filter(([, v]) => v).map(([k]) => k),
    cpu_cores: s.cores,
    memory_bytes: s.memoryBytes,
    os: s.os,
  };
}

/**
 * Runs a benchmark: whisper-bench's workload (or memcpy / mul_mat) over every combination
 * of the options, with repetitions and statistics. A failed cell becomes a row with
 * `error` and the rest go on.
 */
export async function benchmark(options: BenchmarkOptions = {}): Promise<BenchRow[]> {
  if (typeof options !== 'object' || options === null) throw invalidArgument('options', options, 'an options object');
  const whats = asList<BenchWhat>(options.what, ['encoder']);
  for (const w of whats) if (!['encoder', 'memcpy', 'mulmat'].includes(w)) throw invalidArgument('what', w, 'encoder, memcpy or mulmat');
  const rows: BenchRow[] = [];
  for (const what of whats) rows.push(...(await benchmarkOne(what, options)));
  deriveScaling(rows);
  derivePeakFraction(rows);
  return rows;
}

async function benchmarkOne(what: BenchWhat, options: BenchmarkOptions): Promise<BenchRow[]> {
  const threads = asList(options.threads, [defaultThreads()]).map((t) => checkThreads(t));
  const repetitions = checkInt(options.repetitions ?? 3, 'repetitions', 1, 10000);
  const warmup = checkInt(options.warmup ?? 1, 'warmup', 0, 100);
  const delayMs = checkInt(options.delayMs ?? 0, 'delayMs', 0, 3_600_000);
  const b = buildInfo();
  // ggml's GPU devices in load order: a --device index counts among these, as whisper.cpp's
  // gpu_device counts devices of type GPU and IGPU (integrated: Vulkan APUs, CUDA on Jetson)
  const gpus = gpuDevices();
  // a build with a GPU backend defaults to its GPU even when the backend found none: the cell then
  // says why, rather than measuring the CPU under that build's name
  const absent = systemInfo().absentBackends;
  const devices = asList(options.devices, [gpus.length > 0 || absent.length > 0 ? '0' : 'cpu']);
  for (const d of devices) if (d !== 'cpu' && !/^\d+$/.test(d)) throw invalidArgument('device', d, "'cpu' or a GPU index");
  const flashAttn = asList(options.flashAttn, [true]);
  for (const f of flashAttn) if (typeof f !== 'boolean') throw invalidArgument('flashAttn', f, 'true or false');
  const prov = provenance();
  const started = performance.now();
  const progress = (done: number, total: number, label: string) => {
    const elapsed = performance.now() - started;
    options.onProgress?.({ done, total, label, etaMs: done > 0 ? (elapsed / done) * (total - done) : undefined });
  };

  if (what === 'memcpy' || what === 'mulmat') {
    const rows: BenchRow[] = [];
    for (const [i, t] of threads.entries()) {
      if (options.skipCell?.(cellKey({ what, model: '', device: 'cpu', flash_attn: false, threads: t }))) continue;
      progress(i, threads.length, `${what} -t ${t}`);
      const cellRows = await microRows(what, t, repetitions, prov, options.signal);
      rows.push(...cellRows);
      await options.onCell?.(cellRows);
      if (delayMs && i < threads.length - 1) await sleep(delayMs);
    }
    progress(threads.length, threads.length, 'done');
    return rows;
  }

  const models = asList(options.models, []);
  if (models.length === 0) models.push(await ensureDefaultModel({ onProgress: (m) => options.onProgress?.({ done: 0, total: 1, label: m }) }));
  for (const m of models) if (typeof m !== 'string' || m === '') throw invalidArgument('model', m, 'a model file path');

  // model first: a loaded model is reused while only threads (a run-time option) change
  const cells = cartesian({ model: models, device: devices, flashAttn, threads });
  const rows: BenchRow[] = [];
  let current: { key: string; model: Model; loads: number[]; coldLoad: number } | undefined;
  let loadError: WhisperPerfError | undefined;
  let loadErrorKey = '';

  try {
    for (const [i, cell] of cells.entries()) {
      if (options.signal?.aborted) throw new WhisperPerfError('benchmark aborted', 'ABORTED');
      const key = `${cell.model}\0${cell.device}\0${cell.flashAttn}`;
      const label = `${basename(cell.model)} ${cell.device} fa=${cell.flashAttn ? 'on' : 'off'} -t ${cell.threads}`;
      if (options.skipCell?.(cellKey({ what: 'encoder', model: cell.model, device: cell.device, flash_attn: cell.flashAttn, threads: cell.threads }))) continue;
      progress(i, cells.length, label);
      const base: BenchRow = {
        ...prov,
        what: 'encoder',
        model: cell.model,
        model_type: '',
        ftype: '',
        synthetic: false,
        threads: cell.threads,
        flash_attn: cell.flashAttn,
        device: cell.device,
        repetitions,
        warnings: [...b.warnings],
      };
      try {
        if (key === loadErrorKey && loadError) throw loadError;
        if (cell.device !== 'cpu' && Number(cell.device) >= gpus.length) {
          // whisper.cpp would quietly fall back to the CPU: measuring that under a GPU's name would lie
          throw new WhisperPerfError(
            `device ${cell.device}: this build sees ${gpus.length} GPU device(s)${gpus.length ? ` (${gpus.map((g, i) => `${i}: ${g.description}`).join(', ')})` : ''}; backends compiled in: ${b.backends.join(', ')}` +
              absent.map((a) => `; ${a.backend}: ${a.reason}`).join(''),
            // a GPU backend with no device is this machine's lack, not a wrong argument
            gpus.length === 0 && absent.length > 0 ? 'NATIVE_UNAVAILABLE' : 'INVALID_ARGUMENT',
          );
        }
        if (current?.key !== key) {
          await current?.model.dispose();
          current = undefined;
          loadErrorKey = key;
          const loadOpts = { useGpu: cell.device !== 'cpu', gpuDevice: cell.device === 'cpu' ? 0 : Number(cell.device), flashAttn: cell.flashAttn, signal: options.signal };
          // the cold load, then `repetitions` loads from the page cache; the last one is kept
          const loads: number[] = [];
          let model = await loadModel(cell.model, loadOpts);
          const coldLoad = (await model.timings()).loadMs;
          for (let r = 0; r < repetitions; r++) {
            await model.dispose();
            model = await loadModel(cell.model, loadOpts);
            loads.push((await model.timings()).loadMs);
          }
          if (cell.device !== 'cpu' && model.info.backend === 'CPU') {
            await model.dispose();
            throw new WhisperPerfError(`device ${cell.device}: whisper.cpp put the weights in CPU memory (a CPU fallback): measuring it under a GPU's name would lie`, 'NATIVE_FAILURE');
          }
          current = { key, model, loads, coldLoad };
          loadErrorKey = '';
        }
        // memory, CPU and (on a GPU) the GPU monitor around everything the cell runs
        const monitors = startCellMonitors(cell.device, current.model.info.backend);
        try {
          const row = await runCell(current.model, base, cell.threads, repetitions, warmup, current, options);
          Object.assign(row, await cellResources(monitors, current.model.info));
          const busy = contentionWarning(row.cpu_pct, cell.threads);
          if (busy) row.warnings.push(busy);
          rows.push(row);
        } finally {
          await monitors.stop();
        }
      } catch (e) {
        const err = e instanceof WhisperPerfError ? e : new WhisperPerfError(String((e as Error)?.message ?? e), 'NATIVE_FAILURE');
        if (err.code === 'ABORTED') throw err;
        if (loadErrorKey === key) loadError = err;
        rows.push({ ...base, error: { code: err.code, message: err.message } });
      }
      await options.onCell?.(rows.slice(-1));
      if (delayMs && i < cells.length - 1) await sleep(delayMs);
    }
  } finally {
    await current?.model.dispose();
  }
  progress(cells.length, cells.length, 'done');
  return rows;
}

async function runCell(
  model: Model,
  base: BenchRow,
  threads: number,
  repetitions: number,
  warmup: number,
  group: { loads: number[]; coldLoad: number },
  options: BenchmarkOptions,
): Promise<BenchRow> {
  const wl = { threads, ...options.workload, signal: options.signal };
  const info = model.info;
  // cold: the first run at this thread count, no heat-up
  const pcm = testSignal(30);
  const coldMel = await model.computeMel(pcm, { threads });
  const cold = await model.benchWorkload({ ...wl, heat: 0 });
  if (warmup > 0) await model.benchWorkload({ ...wl, heat: warmup, nDecode: 0, nBatch: 0, nPrompt: 0 });
  const enc: number[] = [];
  const dec: number[] = [];
  const bat: number[] = [];
  const pro: number[] = [];
  const mel: number[] = [];
  for (let r = 0; r < repetitions; r++) {
    mel.push((await model.computeMel(pcm, { threads })).ms);
    const res = await model.benchWorkload({ ...wl, heat: 0 });
    const p = res.perRunMs!;
    enc.push(p.encode);
    if (res.counts.decode > 0) dec.push(p.decode);
    if (res.counts.batchd > 0) bat.push(p.batchd);
    if (res.counts.prompt > 0) pro.push(p.prompt);
  }
  const row: BenchRow = {
    ...base,
    model_type: info.type,
    ftype: info.ftype,
    synthetic: info.synthetic,
    load_ms: summarize(group.loads),
    mel_ms: summarize(mel),
    encode_ms: summarize(enc),
    ...(dec.length ? { decode_ms: summarize(dec) } : {}),
    ...(bat.length ? { batchd_ms: summarize(bat) } : {}),
    ...(pro.length ? { prompt_ms: summarize(pro) } : {}),
    cold: {
      load_ms: group.coldLoad,
      mel_ms: coldMel.ms,
      encode_ms: cold.perRunMs?.encode ?? 0,
      decode_ms: cold.perRunMs?.decode ?? 0,
      batchd_ms: cold.perRunMs?.batchd ?? 0,
      prompt_ms: cold.perRunMs?.prompt ?? 0,
    },
  };
  const gflop = encoderFlops(info.hparams) / 1e9;
  row.encoder_gflop = round(gflop, 3);
  row.encoder_gflops = round(gflop / (row.encode_ms!.median / 1000), 2);
  for (const [label, s] of [['encode', row.encode_ms], ['decode', row.decode_ms], ['batchd', row.batchd_ms], ['prompt', row.prompt_ms], ['load', row.load_ms], ['mel', row.mel_ms]] as const) {
    if (s) row.warnings.push(...warningsFor(s, label, { sampleCount: false }));
  }
  // every timing of the row has `repetitions` samples: one sample-count warning, not one per timing
  if (repetitions < MIN_SAMPLES) {
    row.warnings.push(`only ${repetitions} repetition${repetitions === 1 ? '' : 's'}: spreads and confidence intervals need at least ${MIN_SAMPLES} (-r ${MIN_SAMPLES})`);
  }
  if (info.synthetic) row.warnings.push('synthetic weights: timings are real, transcripts are meaningless');
  return row;
}

async function microRows(what: 'memcpy' | 'mulmat', threads: number, repetitions: number, prov: Provenance, signal?: AbortSignal): Promise<BenchRow[]> {
  const texts: string[] = [];
  for (let r = 0; r < repetitions; r++) {
    if (signal?.aborted) throw new WhisperPerfError('benchmark aborted', 'ABORTED');
    texts.push(await microBench(what, threads));
  }
  return microRowsOf(what, texts, threads, prov);
}

/** @internal The rows of whisper.cpp's memcpy or mul_mat benchmark outputs, one per repetition. */
export function microRowsOf(what: 'memcpy' | 'mulmat', texts: string[], threads: number, prov: Provenance): BenchRow[] {
  const repetitions = texts.length;
  const base = {
    ...prov,
    what,
    model: '',
    model_type: '',
    ftype: '',
    synthetic: false,
    threads,
    flash_attn: false,
    device: 'cpu',
    repetitions,
    warnings: [] as string[],
  } satisfies BenchRow;
  if (what === 'memcpy') {
    const gbps = texts.flatMap((t) => parseMemcpy(t).gbps);
    const s = summarize(gbps);
    return [{ ...base, memcpy_gbps: s, warnings: warningsFor(s, 'memcpy') }];
  }
  const byKey = new Map<string, { type: string; size: number; gflops: number[] }>();
  for (const t of texts) {
    for (const r of parseMulmat(t).rows) {
      const k = `${r.type}:${r.size}`;
      const e = byKey.get(k) ?? { type: r.type, size: r.size, gflops: [] };
      e.gflops.push(r.gflops);
      byKey.set(k, e);
    }
  }
  return [...byKey.values()].map((e) => {
    const s = summarize(e.gflops);
    const warnings = warningsFor(s, `mulmat ${e.type} ${e.size}`);
    // whisper.cpp prints GFLOPS with one decimal: a product slower than 0.05 GFLOPS reads 0.0 (seen
    // for 64 × 64 at 2 threads beside a busy core: ~10 ms a run, its threads waiting on each other)
    const zeros = e.gflops.filter((g) => g === 0).length;
    if (zeros > 0) warnings.push(`mulmat ${e.type} ${e.size}: ${zeros} of ${e.gflops.length} repetition(s) printed 0.0 GFLOPS, below whisper.cpp's one-decimal resolution (slower than 0.05 GFLOPS: a busy machine, or more threads than so small a product can use)`);
    return { ...base, mulmat_type: e.type, mulmat_size: e.size, mulmat_gflops: s, warnings };
  });
}

/** Thread scaling of the encoder within each model/device/flash-attention group. */
export function deriveScaling(rows: BenchRow[]): void {
  const groups = new Map<string, BenchRow[]>();
  for (const r of rows) {
    if (r.what !== 'encoder' || r.error || !r.encode_ms) continue;
    const k = `${r.model}\0${r.device}\0${r.flash_attn}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  for (const g of groups.values()) {
    if (new Set(g.map((r) => r.threads)).size < 2 || g.length !== new Set(g.map((r) => r.threads)).size) continue;
    const sc = scaling(g.map((r) => ({ threads: r.threads, median: r.encode_ms!.median })));
    for (const p of sc.points) {
      const r = g.find((x) => x.threads === p.threads)!;
      r.speedup = round(p.speedup, 3);
      r.efficiency = round(p.efficiency, 3);
      r.knee_threads = sc.knee;
    }
  }
}

/** How close the encoder runs to the machine's measured mul_mat peak for its weight type. */
export function derivePeakFraction(rows: BenchRow[]): void {
  const peaks = new Map<string, number>();
  for (const r of rows) {
    if (r.what !== 'mulmat' || !r.mulmat_gflops || !r.mulmat_type) continue;
    const k = `${r.mulmat_type.toLowerCase()}\0${r.threads}`;
    peaks.set(k, Math.max(peaks.get(k) ?? 0, r.mulmat_gflops.median));
  }
  for (const r of rows) {
    if (r.what !== 'encoder' || !r.encoder_gflops) continue;
    const peak = peaks.get(`${r.ftype.toLowerCase()}\0${r.threads}`);
    if (peak) r.encoder_peak_fraction = round(r.encoder_gflops / peak, 3);
  }
}

const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;
