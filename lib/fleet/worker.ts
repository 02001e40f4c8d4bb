/**
 * `fleet work`: claims the jobs of one machine kind, runs each cell in-process exactly as `bench`
 * would, and stores its rows in the transaction that completes the job, so a cell is stored once
 * even when its job was retried after this worker was presumed dead (the late result is rolled
 * back: the claim's fence no longer holds, or `fleet_cells` already has the cell).
 *
 * A failed cell (a row with an error) is failed back to the queue while retries are left and stored
 * with its error on the last attempt. A cell that kills the process (the addon crashes) is retried
 * by pg-boss when its claim expires and failed for good after its retries: never a loop.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { WhisperPerfError } from '../errors.js';
import { ensureDefaultModel, syntheticModelPath } from '../models/default.js';
import { defaultCacheDir } from '../models/download.js';
import type { BenchRow } from '../measure/types.js';
import { benchmark, provenance, type BenchmarkOptions } from '../workloads/engine.js';
import { benchmarkBuilds, rtfBuilds } from '../workloads/variants.js';
import { rtf, type RtfOptions } from '../workloads/rtf.js';
import type { PresetName } from '../presets.js';
import { startRun, type RunRecorder } from '../store/recorder.js';
import type { Store } from '../store/types.js';
import { cellLabel, checkKind, payloadProblem, sha256File, type FileRef, type JobPayload } from './plan.js';
import { FleetQueue, type ClaimedJob } from './queue.js';

export interface WorkerOptions {
  kind: string;
  /** cells run at once in this process (default 1) */
  slots?: number;
  /** take one job, run it and stop */
  once?: boolean;
  /** stop after this many seconds without a job */
  idleExitS?: number;
  /** directories searched for a job's model or audio file by name (before the cache and the sweep's source) */
  filesDirs?: string[];
  /** seconds between polls of an empty queue (default 1) */
  pollS?: number;
  /** how often pg-boss maintenance runs from this worker, seconds (default 5) */
  maintenanceSeconds?: number;
  /** the command line, stored with the worker's runs */
  argv?: string[];
  /** one line per event (claims, stores, discards, failures) */
  log?: (line: string) => void;
  /** runs a cell (tests and the queue's scale simulation replace it); default: bench in-process */
  runCell?: (job: JobPayload, files: { model: string | null; audio: string | null }, signal: AbortSignal) => Promise<BenchRow[]>;
}

export interface WorkerSummary {
  worker: string;
  stored: number;
  failed: number;
  /** late results rolled back because the cell had been claimed again or stored */
  discarded: number;
  /** per stored cell: ms to claim it, ms to store it and complete its job */
  claimMs: number[];
  storeMs: number[];
}

/** Runs one cell in-process (or in a child for a named build), as `bench` or `rtf` would. */
export async function runCell(job: JobPayload, files: { model: string | null; audio: string | null }, signal: AbortSignal): Promise<BenchRow[]> {
  const p = job.params;
  const modelPath = files.model;
  if (job.command === 'rtf') {
    const o: RtfOptions = {
      models: modelPath ? [modelPath] : undefined,
      files: [files.audio!],
      threads: [p.threads],
      presets: [p.preset as PresetName],
      repetitions: job.settings.repetitions,
      warmup: job.settings.warmup,
      device: p.device,
      flashAttn: p.flash_attn,
      signal,
    };
    return p.build ? rtfBuilds({ ...o, builds: [p.build] }) : rtf(o);
  }
  const options: BenchmarkOptions = {
    what: p.what,
    models: modelPath ? [modelPath] : undefined,
    threads: [p.threads],
    flashAttn: [p.flash_attn],
    devices: [p.device],
    repetitions: job.settings.repetitions,
    warmup: job.settings.warmup,
    workload: job.settings.quick ? { nDecode: 32, nBatch: 8, nPrompt: 2 } : undefined,
    signal,
  };
  return p.build ? benchmarkBuilds({ ...options, builds: [p.build] }) : benchmark(options);
}

/** Finds (or fetches) a job's model or audio file on this machine and checks its hash. */
export class FileResolver {
  private readonly hashes = new Map<string, string>();

  constructor(private readonly dirs: readonly string[]) {}

  private async hashOf(path: string): Promise<string> {
    const st = statSync(path);
    const key = `${path}\0${st.size}\0${st.mtimeMs}`;
    let h = this.hashes.get(key);
    if (!h) this.hashes.set(key, (h = await sha256File(path)));
    return h;
  }

  async resolve(ref: FileRef, source: string | null, what: 'model' | 'audio file' = 'model'): Promise<string> {
    const cache = defaultCacheDir();
    const candidates = [...this.dirs.map((d) => join(d, ref.name)), join(cache, ref.name), join(cache, 'synthetic', ref.name), join(cache, 'fleet', ref.sha256.slice(0, 16), ref.name)];
    if (source && !/^https?:\/\//i.test(source)) candidates.push(join(source, ref.name));
    let mismatch: string | undefined;
    for (const c of candidates) {
      if (!existsSync(c)) continue;
      if ((await this.hashOf(c)) === ref.sha256) return c;
      mismatch ??= c;
    }
    // the embedded default model is generated, not fetched
    if (what === 'model' && ref.name === basename(syntheticModelPath())) {
      const p = await ensureDefaultModel();
      if ((await this.hashOf(p)) === ref.sha256) return p;
      mismatch ??= p;
    }
    if (source && /^https?:\/\//i.test(source)) return this.download(ref, source);
    if (mismatch) throw new WhisperPerfError(`${what} ${ref.name}: ${mismatch} does not match the sweep's SHA-256 ${ref.sha256.slice(0, 16)}… (another file of the same name)`, 'CHECKSUM_MISMATCH');
    throw new WhisperPerfError(`${what} ${ref.name} (SHA-256 ${ref.sha256.slice(0, 16)}…) is not on this machine: put it in ${cache} or a --files-dir, or submit with --files-from DIR|URL`, what === 'model' ? 'MODEL_NOT_FOUND' : 'AUDIO_INVALID');
  }

  private async download(ref: FileRef, base: string): Promise<string> {
    const dir = join(defaultCacheDir(), 'fleet', ref.sha256.slice(0, 16));
    mkdirSync(dir, { recursive: true });
    const target = join(dir, ref.name);
    const part = `${target}.${process.pid}.part`;
    const url = `${base.replace(/\/+$/, '')}/${encodeURIComponent(ref.name)}`;
    // a server that stops sending for 30 s fails the download, whatever the file's size
    const stall = new AbortController();
    let timer = setTimeout(() => stall.abort(), STALL_MS);
    const alive = new Transform({
      transform(chunk, _enc, done) {
        clearTimeout(timer);
        timer = setTimeout(() => stall.abort(), STALL_MS);
        done(null, chunk);
      },
    });
    try {
      const res = await fetch(url, { signal: stall.signal });
      if (!res.ok || !res.body) throw new WhisperPerfError(`${ref.name}: ${url} answered ${res.status}`, 'DOWNLOAD_FAILED');
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), alive, createWriteStream(part));
      const got = await sha256File(part);
      if (got !== ref.sha256) throw new WhisperPerfError(`${ref.name} from ${url}: SHA-256 ${got.slice(0, 16)}… is not the sweep's ${ref.sha256.slice(0, 16)}…`, 'CHECKSUM_MISMATCH');
      renameSync(part, target);
      return target;
    } catch (e) {
      rmSync(part, { force: true });
      if (e instanceof WhisperPerfError) throw e;
      const why = stall.signal.aborted ? `nothing received for ${STALL_MS / 1000} s` : (e as Error).message;
      throw new WhisperPerfError(`${ref.name}: could not download ${url}: ${why}`, 'DOWNLOAD_FAILED', { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A download that receives nothing for this long fails. */
const STALL_MS = 30_000;

const UNIQUE_VIOLATION = /duplicate key|unique constraint/i;

export class FleetWorker {
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly stopController = new AbortController();
  private readonly cellAbort = new AbortController();
  private readonly runs = new Map<string, RunRecorder>();
  private readonly resolver: FileResolver;
  private readonly summary: WorkerSummary;
  private queue!: FleetQueue;
  private running = 0;
  private lastJobAt = Date.now();
  private taken = 0;

  constructor(
    private readonly store: Store,
    private readonly options: WorkerOptions,
  ) {
    checkKind(options.kind);
    this.resolver = new FileResolver(options.filesDirs ?? []);
    this.summary = { worker: this.id, stored: 0, failed: 0, discarded: 0, claimMs: [], storeMs: [] };
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /** Stop after the cells in progress (the first SIGTERM). */
  stop(): void {
    this.stopController.abort();
  }

  /** Stop now: the cells in progress are aborted and released to the queue (a second SIGTERM). */
  abort(): void {
    this.stopController.abort();
    this.cellAbort.abort();
  }

  async run(): Promise<WorkerSummary> {
    // a worker frozen inside a transaction (SIGSTOP, a paused VM) must not hold its locks for ever
    await this.store.native("SET idle_in_transaction_session_timeout = '60s'");
    this.queue = await FleetQueue.open(this.store, { maintenanceSeconds: this.options.maintenanceSeconds });
    await this.heartbeat('idle', null, null, true);
    const beat = setInterval(() => void this.heartbeat(this.running > 0 ? 'running' : 'idle').catch(() => undefined), 5000);
    try {
      const slots = Math.max(1, this.options.slots ?? 1);
      await Promise.all(Array.from({ length: slots }, () => this.slot()));
    } finally {
      clearInterval(beat);
      for (const rec of this.runs.values()) await rec.finish('finished').catch(() => undefined);
      await this.heartbeat('stopped', null, null).catch(() => undefined);
      await this.queue.close();
    }
    return this.summary;
  }

  private get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  private async slot(): Promise<void> {
    while (!this.stopping) {
      if (this.options.once && this.taken > 0) return;
      const t0 = performance.now();
      const job = await this.queue.fetch<JobPayload>(this.options.kind);
      const claimMs = performance.now() - t0;
      const bg = this.queue.takeError();
      if (bg) this.log(`queue maintenance: ${bg.message}`);
      if (!job) {
        if (this.options.once) return;
        if (this.options.idleExitS !== undefined && this.running === 0 && Date.now() - this.lastJobAt > this.options.idleExitS * 1000) return;
        await sleep((this.options.pollS ?? 1) * 1000, undefined, { signal: this.stopController.signal }).catch(() => undefined);
        continue;
      }
      this.taken++;
      this.lastJobAt = Date.now();
      this.running++;
      try {
        await this.work(job, claimMs);
      } finally {
        this.running--;
        this.lastJobAt = Date.now();
      }
    }
  }

  private async work(job: ClaimedJob<JobPayload>, claimMs: number): Promise<void> {
    const problem = payloadProblem(job.data);
    if (problem) {
      this.log(`job ${job.id}: ${problem}`);
      await this.queue.fail(job, { message: problem, code: 'FLEET_JOB_INVALID' });
      this.summary.failed++;
      return;
    }
    const p = job.data;
    const label = `sweep ${p.sweep} cell ${p.cell} (${cellLabel(p.params)}) attempt ${job.attempt}`;
    await this.heartbeat('running', job.id, `${p.sweep}#${p.cell}`).catch(() => undefined);
    this.log(`claimed ${label}`);
    const t0 = performance.now();
    let rows: BenchRow[];
    try {
      const model = p.params.model ? await this.resolver.resolve(p.params.model, p.fileSource) : null;
      const audio = p.params.file ? await this.resolver.resolve(p.params.file, p.fileSource, 'audio file') : null;
      rows = await (this.options.runCell ?? runCell)(p, { model, audio }, this.cellAbort.signal);
    } catch (e) {
      const err = e as { message?: string; code?: string };
      if (this.cellAbort.signal.aborted) {
        this.log(`released ${label}: the worker is stopping`);
        await this.queue.fail(job, { message: `released: worker ${this.id} stopped mid-cell`, code: 'ABORTED' }).catch(() => undefined);
        return;
      }
      // the failed cell's row names the cell as its command's rows do (model, file and preset by name)
      const c = p.params;
      rows = [{ what: c.what, model: c.model?.name, threads: c.threads, device: c.device, flash_attn: c.flash_attn, file: c.file?.name, preset: c.preset, error: { message: err.message ?? String(e), code: err.code ?? 'NATIVE_FAILURE' } } as unknown as BenchRow];
    }
    const cellMs = performance.now() - t0;
    const failedRow = rows.find((r) => r.error);
    if (failedRow && job.attempt <= job.retryLimit) {
      this.log(`failed ${label}: ${failedRow.error!.message} [${failedRow.error!.code}] (will be retried)`);
      await this.queue.fail(job, { message: failedRow.error!.message, code: failedRow.error!.code });
      this.summary.failed++;
      return;
    }
    for (const r of rows) (r as unknown as Record<string, unknown>).fleet = { sweep: p.sweep, kind: p.kind, cell: p.cell, attempt: job.attempt, worker: this.id };
    await this.storeCell(job, rows, { claimMs, cellMs, failed: !!failedRow, label });
  }

  /** The run this worker stores a sweep's cells in (one per sweep and worker). */
  private async runFor(p: JobPayload): Promise<RunRecorder> {
    let rec = this.runs.get(p.sweep);
    if (!rec) {
      const prov = provenance();
      rec = await startRun(this.store, {
        kind: p.command,
        argv: this.options.argv ?? ['fleet', 'work', '--kind', this.options.kind],
        plan: { fleet: { sweep: p.sweep, kind: p.kind } },
        tags: ['fleet', `fleet:${p.sweep}`, `kind:${p.kind}`],
        system: { cpu_model: prov.cpu_model, cpu_features: prov.cpu_features, cpu_cores: prov.cpu_cores, memory_bytes: prov.memory_bytes, os: prov.os, kind: this.options.kind, worker: this.id },
        build: prov.build as unknown as Record<string, unknown>,
        whisper_version: prov.whisper_version,
        package_version: prov.package_version,
      });
      this.runs.set(p.sweep, rec);
    }
    return rec;
  }

  private async storeCell(job: ClaimedJob<JobPayload>, rows: BenchRow[], m: { claimMs: number; cellMs: number; failed: boolean; label: string }): Promise<void> {
    const p = job.data;
    const rec = await this.runFor(p);
    const t0 = performance.now();
    try {
      // one transaction: the job completed under this claim's fence, the rows, and the cell's
      // fleet_cells row (whose primary key refuses a second copy whatever happened to the fence)
      const stored = await this.store.transaction(async (tx) => {
        if (!(await this.queue.completeWithin(tx, job, { run: rec.run.id, worker: this.id }))) throw new LateResult('its claim expired and the cell was claimed again, finished or cancelled');
        const ids = await tx.addResults(rec.run.id, rows);
        // store_ms here: the transaction up to its commit
        await tx.run(
          'INSERT INTO fleet_cells (sweep_id, kind, cell_index, job_id, run_id, result_ids, worker, attempt, failed, cell_ms, claim_ms, store_ms, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [p.sweep, p.kind, p.cell, job.id, rec.run.id, JSON.stringify(ids), this.id, job.attempt, m.failed ? 1 : 0, m.cellMs, m.claimMs, performance.now() - t0, new Date().toISOString()],
        );
        return ids;
      });
      this.summary.stored++;
      this.summary.claimMs.push(m.claimMs);
      // with the commit
      this.summary.storeMs.push(performance.now() - t0);
      const err = rows.find((r) => r.error)?.error;
      this.log(`stored ${m.label}: ${stored.length} row(s)${err ? ` with its error, no retries left: ${err.message} [${err.code}]` : ''}`);
    } catch (e) {
      if (e instanceof LateResult || UNIQUE_VIOLATION.test((e as Error).message)) {
        this.summary.discarded++;
        const why = e instanceof LateResult ? e.message : 'the cell is stored already';
        this.log(`discarded the late result of ${m.label} after ${Math.round(m.cellMs)} ms: ${why}`);
        return;
      }
      throw e;
    }
  }

  private async heartbeat(status: string, jobId?: string | null, cell?: string | null, first = false): Promise<void> {
    const now = new Date().toISOString();
    if (first) {
      await this.store.transaction((tx) =>
        tx.run('INSERT INTO fleet_workers (id, kind, host, pid, started_at, seen_at, status, job_id, cell, cells_done) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0)', [this.id, this.options.kind, hostname(), process.pid, now, now, status]),
      );
      return;
    }
    const sets = jobId === undefined ? 'seen_at = ?, status = ?, cells_done = ?' : 'seen_at = ?, status = ?, cells_done = ?, job_id = ?, cell = ?';
    const params = jobId === undefined ? [now, status, this.summary.stored] : [now, status, this.summary.stored, jobId, cell ?? null];
    await this.store.transaction((tx) => tx.run(`UPDATE fleet_workers SET ${sets} WHERE id = ?`, [...params, this.id]));
  }
}

class LateResult extends Error {}
