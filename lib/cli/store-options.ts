/**
 * `--db`, `--tag`, `--save` and `--resume` for measuring commands: the run is created in the store
 * before the first cell, each finished cell is committed before the next one begins, figures
 * derived over the whole sweep (speed-up, efficiency, knee, share of peak) are written back at the
 * end, and the run is marked finished. Ctrl-C stops after the cell in progress is abandoned, marks
 * the run interrupted and says how to resume it; a SIGKILL leaves it 'running' with every finished
 * cell kept, and `--resume RUN` runs only the cells it lacks.
 */
import { buildInfo, packageVersion, systemInfo } from '../system.js';
import { INPUT_ERROR_CODES, WhisperPerfError } from '../errors.js';
import type { BenchmarkOptions } from '../workloads/engine.js';
import { deriveScaling, derivePeakFraction } from '../workloads/engine.js';
import type { BenchRow } from '../measure/types.js';
import { parseIntList } from '../measure/params.js';
import { defaultStoreLocation, displayLocation, openStore } from '../store/open.js';
import { resumeRun, startRun, type RunRecorder } from '../store/recorder.js';
import type { AnyRow, Store } from '../store/types.js';
import { cellKeyOfRow } from '../measure/cells.js';
import type { CliContext } from './context.js';

/** The options to spread into a command's parse() spec. */
export const STORE_OPTIONS = {
  db: { type: 'string' },
  tag: { type: 'string', multiple: true },
  save: { type: 'boolean' },
  resume: { type: 'string' },
} as const;

/** The help lines for them. */
export const STORE_OPTIONS_HELP = `      --db FILE|URL      store the run: a SQLite file or postgres://user:pass@host/db
                         (default store: WHISPER_PERF_DB, else ~/.local/share/whisper-perf/results.db)
      --save             store the run in the default store
      --tag NAME         label the stored run (repeatable; implies --save)
      --resume RUN       finish stored run RUN (killed or interrupted): only the cells it lacks
                         are measured; the sweep comes from the run, so no sweep options
`;

export interface StoreValues {
  db?: string;
  tag?: string[];
  save?: boolean;
  resume?: string;
}

/** True when the command should store its run. */
export function wantsStore(v: StoreValues): boolean {
  return v.db !== undefined || v.save === true || (v.tag?.length ?? 0) > 0 || v.resume !== undefined;
}

/** Tags: non-empty, at most 100 characters, no commas (so tag lists stay unambiguous). */
export function parseTags(tags: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const t of tags ?? []) {
    const s = t.trim();
    if (s === '' || s.length > 100 || s.includes(',')) throw new WhisperPerfError(`--tag: invalid value ${JSON.stringify(t)}: a name of 1 to 100 characters without commas`, 'USAGE');
    out.push(s);
  }
  return [...new Set(out)];
}

/** Options of BenchmarkOptions that define the sweep: what --resume rebuilds. */
const PLAN_KEYS = ['what', 'models', 'threads', 'repetitions', 'warmup', 'flashAttn', 'devices', 'delayMs', 'workload'] as const;

export function planOf(options: BenchmarkOptions): Record<string, unknown> {
  const plan: Record<string, unknown> = {};
  for (const k of PLAN_KEYS) if (options[k] !== undefined) plan[k] = options[k];
  return plan;
}

function machineFacts(): { system: Record<string, unknown>; build: Record<string, unknown>; whisper_version: string } {
  const s = systemInfo();
  const b = buildInfo();
  return {
    system: { cpu_model: s.cpuModel, cores: s.cores, physical_cores: s.physicalCores, memory_bytes: s.memoryBytes, os: s.os, features: s.features, devices: s.devices },
    build: { variant: b.variant, build_type: b.buildType, backends: b.backends, compiler: b.compiler, sanitizer: b.sanitizer, options: b.options, pin: b.pin },
    whisper_version: b.whisperVersion,
  };
}

/**
 * For commands that hand over their rows at the end (rtf, threads, quality, capacity until their
 * engines call back per cell): stores `rows` as one finished run of `kind`, one commit per cell
 * (rows sharing a cell key). Returns the run id, or undefined when the options ask for no store.
 * Usage in a command: spread STORE_OPTIONS into its parse() spec, then after measuring:
 *   await storeFinishedRows(values, argv, 'rtf', rows, ctx);
 */
export async function storeFinishedRows(v: StoreValues, argv: string[], kind: string, rows: readonly AnyRow[], ctx: CliContext, plan?: Record<string, unknown>): Promise<number | undefined> {
  if (!wantsStore(v)) return undefined;
  if (v.resume !== undefined) throw new WhisperPerfError(`--resume: ${kind} cannot resume a run yet`, 'USAGE');
  const location = v.db ?? defaultStoreLocation();
  const store = await openStore(location);
  try {
    const f = machineFacts();
    const rec = await startRun(store, { kind, argv, plan: plan ?? null, tags: parseTags(v.tag), ...f, package_version: packageVersion() });
    const byCell = new Map<string, AnyRow[]>();
    for (const r of rows) {
      const k = cellKeyOfRow(r as AnyRow & Record<string, unknown>);
      byCell.set(k, [...(byCell.get(k) ?? []), r]);
    }
    for (const cellRows of byCell.values()) await rec.record(cellRows);
    await rec.finish();
    ctx.stderr(`whisper-perf: stored run ${rec.id} (${rows.length} rows) in ${displayLocation(location)}\n`);
    return rec.id;
  } finally {
    await store.close();
  }
}

/**
 * Runs a bench sweep with storing: `run(options)` measures; with `resume` the sweep options come
 * from the stored run and `sweepGiven` must be false. Returns every row of the run (stored before
 * plus measured now) in the order they were measured.
 */
export async function benchWithStore(
  v: StoreValues,
  argv: string[],
  options: BenchmarkOptions,
  ctx: CliContext,
  run: (options: BenchmarkOptions) => Promise<BenchRow[]>,
  opts: { sweepGiven: boolean; perCell: boolean },
): Promise<BenchRow[]> {
  const tags = parseTags(v.tag);
  const location = v.db ?? defaultStoreLocation();
  let resumeId: number | undefined;
  if (v.resume !== undefined) {
    resumeId = parseIntList('--resume', v.resume, { min: 1 })[0];
    if (v.resume.includes(',') || v.resume.includes('-')) throw new WhisperPerfError(`--resume: invalid value ${JSON.stringify(v.resume)}: one run id`, 'USAGE');
    if (opts.sweepGiven) throw new WhisperPerfError('--resume takes the sweep from the stored run: leave out -m, -t, -r, -w, --fa, --device, --warmup, --quick, --delay and --build', 'USAGE');
    if (tags.length) throw new WhisperPerfError('--resume: the run keeps its own tags; leave out --tag', 'USAGE');
  }
  const store: Store = await openStore(location, { create: resumeId === undefined });
  try {
    let recorder: RunRecorder;
    let sweep = options;
    let done = new Set<string>();
    if (resumeId !== undefined) {
      const r = await resumeRun(store, resumeId, 'bench');
      recorder = r.recorder;
      done = r.done;
      sweep = { ...options, ...(r.run.plan as Partial<BenchmarkOptions>) };
      ctx.stderr(`whisper-perf: resuming run ${resumeId} in ${displayLocation(location)}: ${r.previous.length} row(s) of ${done.size} finished cell(s) kept\n`);
    } else {
      const f = machineFacts();
      recorder = await startRun(store, { kind: 'bench', argv, plan: planOf(options), tags, ...f, package_version: packageVersion() });
      ctx.stderr(`whisper-perf: storing run ${recorder.id} in ${displayLocation(location)}\n`);
    }

    // Ctrl-C: abandon the cell in progress, keep the finished ones, say how to resume
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    let rows: BenchRow[];
    try {
      rows = await run({
        ...sweep,
        signal: abort.signal,
        skipCell: done.size ? (key) => done.has(key) : undefined,
        onCell: opts.perCell ? (cellRows) => recorder.record(cellRows) : undefined,
      });
      if (!opts.perCell) {
        // a sweep that runs in child processes hands its rows over at the end: store them per cell
        const byCell = new Map<string, BenchRow[]>();
        for (const r of rows) {
          const k = JSON.stringify([r.build_name ?? null, r.what, r.model, r.device, r.flash_attn, r.threads]);
          byCell.set(k, [...(byCell.get(k) ?? []), r]);
        }
        for (const cellRows of byCell.values()) await recorder.record(cellRows);
      }
    } catch (e) {
      // bad input found before any cell ran: leave no trace of the run in the store
      if (e instanceof WhisperPerfError && INPUT_ERROR_CODES.has(e.code) && resumeId === undefined && recorder.rows.length === 0) {
        await store.deleteRun(recorder.id).catch(() => undefined);
        throw e;
      }
      const aborted = e instanceof WhisperPerfError && e.code === 'ABORTED';
      await recorder.finish(aborted ? 'interrupted' : 'failed').catch(() => undefined);
      ctx.stderr(
        `whisper-perf: run ${recorder.id} ${aborted ? 'interrupted' : 'failed'} with ${recorder.rows.length} row(s) stored; finish it with: whisper-perf bench${v.db ? ` --db ${JSON.stringify(v.db)}` : ''} --resume ${recorder.id}\n`,
      );
      throw e;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    // figures over the whole sweep, the stored part included
    const all = recorder.rows as BenchRow[];
    deriveScaling(all);
    derivePeakFraction(all);
    await recorder.rewrite();
    await recorder.finish('finished');
    return all;
  } finally {
    await store.close();
  }
}
