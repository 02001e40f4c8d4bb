/** `whisper-perf fleet`: one sweep's cells spread over many machines through pg-boss on the shared PostgreSQL store. */
import { WhisperPerfError } from '../errors.js';
import { checkKind, fileRef, machineKind, type SweepSpec } from '../fleet/plan.js';
import { isPresetName, PRESET_NAMES } from '../presets.js';
import { cancelSweep, listSweeps, submitSweep, sweepReport, sweepStatus, type SweepStatus } from '../fleet/sweep.js';
import { FleetWorker } from '../fleet/worker.js';
import { parseBoolList, parseDeviceList, parseIntList, parseOneInt, parseStringList, usageError } from '../measure/params.js';
import type { BenchWhat } from '../measure/types.js';
import { ensureDefaultModel } from '../models/default.js';
import { validateModelFile } from '../models/ggml.js';
import { mdTable } from '../report/table.js';
import { defaultStoreLocation, displayLocation, isPostgresUrl, openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import { systemInfo } from '../system.js';
import { MAX_THREADS, defaultThreads } from '../validate.js';
import { type CliContext, parse, writeData } from './context.js';
import { formatDuration } from './progress.js';
import { parseTags } from './store-options.js';

export const FLEET_HELP = `usage: whisper-perf fleet <command> [options]

One sweep's cells spread over many machines through pg-boss on the shared PostgreSQL store:
each cell of each machine kind is one job; a worker stores a cell's rows in the transaction
that completes its job, so a cell is stored exactly once even when a worker dies mid-cell
and its job is retried elsewhere.

  fleet submit [sweep options] --kind K[,K2] --db postgres://...
                               queue one job per (cell, kind); the same sweep submitted
                               again queues nothing (a different --tag makes it new);
                               with -f FILES it is an rtf sweep, else a bench sweep
  fleet work [--kind K] [--slots N] [--once] [--idle-exit S] [--files-dir DIR]
                               run jobs of one machine kind, one at a time (or N at once),
                               in-process as bench would; SIGTERM finishes the cell in
                               progress and stops, a second SIGTERM releases it at once
  fleet status [SWEEP]         the sweeps; or one sweep's cells queued, running, done and
                               failed per kind, which worker holds what, and an ETA
  fleet cancel SWEEP           cancel the cells that have not run
  fleet report SWEEP           the stored rows, one per cell and kind, and a check that no
                               cell is missing or doubled (exit 1 when one is doubled)
  fleet kind                   this machine's kind (what fleet work takes by default)

sweep options (as bench's and rtf's; every list takes a,b,c and ranges):
  -m, --model LIST       ggml model files; they travel by name and SHA-256 (default:
                         the synthetic tiny.en every worker generates)
  -f, --file LIST        audio files: an rtf sweep (model × file × preset × threads),
                         whole transcriptions; they travel by name and SHA-256 too
  -p, --preset LIST      rtf: ${PRESET_NAMES.join(', ')} (default balanced)
  -t, --threads LIST     thread counts (default: min(4, cores) of the submitting machine)
  -r, --repetitions N    measured repetitions per cell (default 3)
      --warmup N         heat-up loops after the cold run (default 1)
      --fa LIST          flash attention on/off (default on; rtf takes one)
      --device LIST      cpu or GPU indices (default cpu; rtf takes one)
  -w, --what LIST        bench: encoder (default), memcpy, mulmat
      --quick            bench: shortened workload
      --build LIST       addon builds by name (each worker must have them)
      --kind LIST        machine kinds that must each run every cell (required)
      --tag NAME         a tag (repeatable); part of the sweep's identity
      --files-from DIR|URL
                         where a worker lacking a model or audio file gets it (a shared
                         directory, or an http(s) base URL serving the files by name)
      --timeout S        seconds a cell may run before its worker is presumed dead and
                         the cell is retried elsewhere (default 900)
      --retries N        retries of a cell after its first attempt (default 2)

work options:
      --kind K           the machine kind served (default: fleet kind)
      --slots N          cells run at once in this process (default 1)
      --once             take one job (if any), run it and stop
      --idle-exit S      stop after S seconds without a job
      --files-dir DIR    where to look for models and audio first (repeatable)
      --poll S           seconds between polls of an empty queue (default 1)
      --maintenance S    how often this worker runs pg-boss's maintenance, which puts the
                         cells of workers gone silent back in the queue (default 5)

options:
      --db URL           the PostgreSQL store (default WHISPER_PERF_DB)
  -o, --output FMT       md (default) or json (status, report, submit)
  -h, --help             this help

A worker looks for a model or audio file by name in --files-dir, the model cache and
--files-from, and refuses a file whose SHA-256 is not the sweep's. Passwords never appear in output.
Exit codes: 0 ok, 1 a doubled cell (report), 2 usage or store errors.
`;

const SWEEP_OPTIONS = {
  model: { type: 'string', short: 'm', multiple: true },
  file: { type: 'string', short: 'f', multiple: true },
  preset: { type: 'string', short: 'p' },
  threads: { type: 'string', short: 't' },
  repetitions: { type: 'string', short: 'r' },
  warmup: { type: 'string' },
  fa: { type: 'string' },
  device: { type: 'string' },
  what: { type: 'string', short: 'w' },
  quick: { type: 'boolean' },
  build: { type: 'string' },
  kind: { type: 'string' },
  tag: { type: 'string', multiple: true },
  'files-from': { type: 'string' },
  timeout: { type: 'string' },
  retries: { type: 'string' },
  slots: { type: 'string' },
  once: { type: 'boolean' },
  'idle-exit': { type: 'string' },
  'files-dir': { type: 'string', multiple: true },
  poll: { type: 'string' },
  maintenance: { type: 'string' },
  db: { type: 'string' },
  output: { type: 'string', short: 'o' },
  out: { type: 'string' },
} as const;

async function openFleetStore(db: string | undefined): Promise<Store> {
  const location = db ?? defaultStoreLocation();
  if (!isPostgresUrl(location)) throw new WhisperPerfError(`fleet: the store must be PostgreSQL, shared by the machines (--db postgres://... or WHISPER_PERF_DB), not ${displayLocation(location)}`, 'USAGE');
  return openStore(location);
}

export async function runFleet(argv: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    ctx.stdout(FLEET_HELP);
    return 0;
  }
  const { values, positionals } = parse(`fleet ${sub}`, rest, SWEEP_OPTIONS);
  if (values.help) {
    ctx.stdout(FLEET_HELP);
    return 0;
  }
  const format = values.output ?? 'md';
  if (!['md', 'json'].includes(format)) throw usageError('-o', format, 'expected md or json');
  const allowed: Record<string, readonly string[]> = {
    submit: ['model', 'file', 'preset', 'threads', 'repetitions', 'warmup', 'fa', 'device', 'what', 'quick', 'build', 'kind', 'tag', 'files-from', 'timeout', 'retries', 'db', 'output', 'out'],
    work: ['kind', 'slots', 'once', 'idle-exit', 'files-dir', 'poll', 'maintenance', 'db'],
    status: ['db', 'output', 'out'],
    cancel: ['db', 'output'],
    report: ['db', 'output', 'out'],
    kind: [],
  };
  if (!(sub in allowed)) throw new WhisperPerfError(`fleet: unknown command ${JSON.stringify(sub)} (submit, work, status, cancel, report, kind)`, 'USAGE');
  for (const k of Object.keys(values)) if (k !== 'help' && !allowed[sub].includes(k)) throw new WhisperPerfError(`fleet ${sub}: --${k} does not apply here`, 'USAGE');
  const sweepArg = (): string => {
    if (positionals.length !== 1) throw new WhisperPerfError(`fleet ${sub}: takes one sweep id (fleet status lists them)`, 'USAGE');
    return positionals[0];
  };
  if (sub !== 'status' && sub !== 'cancel' && sub !== 'report' && positionals.length) throw new WhisperPerfError(`fleet ${sub}: unexpected argument ${JSON.stringify(positionals[0])}`, 'USAGE');

  if (sub === 'kind') {
    ctx.stdout(machineKind(systemInfo()) + '\n');
    return 0;
  }

  if (sub === 'submit') {
    const spec = await submitSpec(values, ctx);
    const store = await openFleetStore(values.db);
    try {
      const r = await submitSweep(store, spec, ['fleet', ...argv]);
      for (const k of r.unserved) ctx.stderr(`whisper-perf: warning: no worker of kind ${k} has been seen in the last 10 minutes: its cells wait until one runs (fleet work --kind ${k})\n`);
      if (format === 'json') writeData(ctx, JSON.stringify(r, null, 2), values.out);
      else writeData(ctx, `sweep ${r.sweep}: ${r.cells} cell(s) × ${r.kinds.length} kind(s) (${r.kinds.join(', ')}) = ${r.jobs} job(s); ${r.queued === 0 ? 'already submitted: nothing new queued' : `${r.queued} queued`}\n`, values.out);
      return 0;
    } finally {
      await store.close();
    }
  }

  if (sub === 'work') {
    const kind = checkKind(values.kind ?? machineKind(systemInfo()));
    const store = await openFleetStore(values.db);
    const worker = new FleetWorker(store, {
      kind,
      slots: parseOneInt('--slots', values.slots, 1, 64) ?? 1,
      once: values.once,
      idleExitS: parseOneInt('--idle-exit', values['idle-exit'], 0, 86_400 * 30),
      filesDirs: values['files-dir'],
      pollS: parseOneInt('--poll', values.poll, 1, 60) ?? 1,
      maintenanceSeconds: parseOneInt('--maintenance', values.maintenance, 1, 3600) ?? 5,
      argv: ['fleet', ...argv],
      log: (line) => ctx.stderr(`[fleet ${kind}] ${line}\n`),
    });
    let signals = 0;
    const onSignal = (sig: string) => {
      signals++;
      ctx.stderr(`[fleet ${kind}] ${sig}: ${signals === 1 ? 'finishing the cell in progress, then stopping (again to release it now)' : 'releasing the cell in progress and stopping'}\n`);
      if (signals === 1) worker.stop();
      else worker.abort();
    };
    const term = () => onSignal('SIGTERM');
    const int = () => onSignal('SIGINT');
    process.on('SIGTERM', term);
    process.on('SIGINT', int);
    ctx.stderr(`[fleet ${kind}] worker ${worker.id} serving kind ${kind} from ${store.location}\n`);
    try {
      const s = await worker.run();
      ctx.stderr(`[fleet ${kind}] stopped: ${s.stored} cell(s) stored, ${s.failed} failed back to the queue, ${s.discarded} late result(s) discarded\n`);
      return 0;
    } finally {
      process.off('SIGTERM', term);
      process.off('SIGINT', int);
      await store.close();
    }
  }

  const store = await openFleetStore(values.db);
  try {
    if (sub === 'status') {
      if (positionals.length === 0) {
        const list = await listSweeps(store);
        if (format === 'json') writeData(ctx, JSON.stringify(list, null, 2), values.out);
        else writeData(ctx, list.length ? mdTable(['sweep', 'created', 'status', 'cells', 'kinds', 'stored'], list.map((s) => [s.id, s.created_at, s.status, String(s.cells), s.kinds.join(', '), `${s.stored} / ${s.cells * s.kinds.length}`])) : 'no fleet sweeps in this store\n', values.out);
        return 0;
      }
      const s = await sweepStatus(store, sweepArg());
      writeData(ctx, format === 'json' ? JSON.stringify(s, null, 2) : statusMarkdown(s), values.out);
      return 0;
    }
    if (sub === 'cancel') {
      const id = sweepArg();
      const n = await cancelSweep(store, id);
      writeData(ctx, format === 'json' ? JSON.stringify({ sweep: id, cancelled: n }) : `sweep ${id}: ${n} job(s) cancelled\n`);
      return 0;
    }
    // report
    const r = await sweepReport(store, sweepArg());
    if (format === 'json') writeData(ctx, JSON.stringify({ ...r, cells: r.cells.map((c) => ({ ...c, results: c.results.map((x) => x.row) })) }, null, 2), values.out);
    else {
      const ms = (row: Record<string, unknown>, k: string) => {
        const v = row[k] as { median?: number } | undefined;
        return typeof v?.median === 'number' ? v.median.toFixed(2) : '';
      };
      const rows = r.cells.map((c) => {
        const row = (c.results[0]?.row ?? {}) as Record<string, unknown>;
        const err = row.error as { code?: string } | undefined;
        const host = c.results[0] ? String((row.fleet as { worker?: string } | undefined)?.worker ?? '').split(':')[0] : '';
        return [String(c.cell), c.kind, c.label, c.results.length ? (err ? `error ${err.code}` : 'stored') : 'missing', host, ms(row, 'encode_ms'), ms(row, 'decode_ms'), ms(row, 'batchd_ms'), ms(row, 'prompt_ms'), ms(row, 'rtf')];
      });
      const text =
        mdTable(['cell', 'kind', 'cell parameters', 'state', 'host', 'encode ms', 'decode ms', 'batchd ms', 'prompt ms', 'RTF'], rows) +
        `\n${r.cells.length} cell(s) × kind: ${r.cells.length - r.missing} stored, ${r.missing} missing, ${r.doubled} doubled; runs ${r.runs.join(', ') || 'none'} (whisper-perf report --tag fleet:${r.sweep} for the full report, --html for charts)\n`;
      writeData(ctx, text, values.out);
    }
    return r.doubled > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}

function statusMarkdown(s: SweepStatus): string {
  const eta = (x: number | null) => (x === null ? 'unknown' : x === 0 ? 'done' : formatDuration(x * 1000));
  let out = `sweep ${s.sweep} (${s.status}, submitted ${s.created_at})\n\n`;
  out += mdTable(
    ['kind', 'cells', 'queued', 'running', 'done', 'failed', 'cancelled', 'workers', 'ETA'],
    s.kinds.map((k) => [k.kind, String(k.cells), String(k.queued), String(k.running), String(k.done), String(k.failed), String(k.cancelled), String(k.workers), k.workers === 0 && k.queued + k.running > 0 ? 'no worker' : eta(k.etaS)]),
  );
  if (s.running.length) out += '\nrunning:\n\n' + mdTable(['kind', 'cell', 'parameters', 'attempt', 'since', 'worker'], s.running.map((r) => [r.kind, String(r.cell), r.label, String(r.attempt), r.since ?? '', r.worker ?? '(no live worker: expires, then retried)']));
  if (s.failures.length) out += '\nfailed for good:\n\n' + mdTable(['kind', 'cell', 'parameters', 'reason'], s.failures.map((f) => [f.kind, String(f.cell), f.label, f.reason]));
  if (s.workers.length) out += '\nworkers:\n\n' + mdTable(['worker', 'kind', 'status', 'seen', 'cells done', 'cell'], s.workers.map((w) => [w.id, w.kind, w.status, `${w.seen_s} s ago`, String(w.cells_done), w.cell ?? '']));
  return out;
}

async function submitSpec(values: Record<string, unknown>, ctx: CliContext): Promise<SweepSpec> {
  const v = values as Record<string, string | undefined> & { model?: string[]; file?: string[]; tag?: string[]; quick?: boolean };
  if (!v.kind) throw new WhisperPerfError('fleet submit: --kind is required (fleet kind prints a machine\'s kind)', 'USAGE');
  const kinds = parseStringList('--kind', v.kind).map(checkKind);
  const audio = (v.file ?? []).flatMap((f) => parseStringList('-f', f));
  const command = audio.length ? 'rtf' : 'bench';
  if (command === 'rtf' && (v.what !== undefined || v.quick)) throw new WhisperPerfError('fleet submit: -w and --quick are bench options; with -f the sweep is an rtf sweep', 'USAGE');
  if (command === 'bench' && v.preset !== undefined) throw new WhisperPerfError('fleet submit: -p takes effect with -f FILES (an rtf sweep)', 'USAGE');
  const what = parseStringList('-w', v.what ?? 'encoder') as BenchWhat[];
  for (const w of what) if (!['encoder', 'memcpy', 'mulmat'].includes(w)) throw usageError('-w', w, 'expected encoder, memcpy or mulmat');
  const presets = command === 'rtf' ? parseStringList('-p', v.preset ?? 'balanced') : [];
  for (const p of presets) if (!isPresetName(p)) throw usageError('-p', p, `expected ${PRESET_NAMES.join(', ')}`);
  const files = (v.model ?? []).flatMap((m) => parseStringList('-m', m));
  for (const m of files) {
    try {
      await validateModelFile(m);
    } catch (e) {
      throw usageError('-m', m, `not a usable ggml model (${e instanceof WhisperPerfError ? e.message : String(e)})`);
    }
  }
  if (files.length === 0 && (command === 'rtf' || what.includes('encoder'))) files.push(await ensureDefaultModel({ onProgress: (m) => ctx.stderr(m + '\n') }));
  const models = [];
  for (const f of files) models.push(await fileRef(f));
  const audioRefs = [];
  for (const f of audio) {
    try {
      audioRefs.push(await fileRef(f));
    } catch (e) {
      throw usageError('-f', f, `cannot read it (${(e as Error).message})`);
    }
  }
  if (new Set([...models, ...audioRefs].map((r) => r.name)).size !== models.length + audioRefs.length) throw new WhisperPerfError('fleet submit: two files of one name: files travel by name, so each must have its own', 'USAGE');
  const source = v['files-from'];
  if (source !== undefined && source.trim() === '') throw usageError('--files-from', source, 'a directory or an http(s) URL');
  const flashAttn = v.fa ? parseBoolList('--fa', v.fa) : [true];
  const devices = v.device ? parseDeviceList('--device', v.device) : ['cpu'];
  if (command === 'rtf' && (flashAttn.length > 1 || devices.length > 1)) throw new WhisperPerfError('fleet submit: an rtf sweep takes one --fa and one --device, as rtf does', 'USAGE');
  return {
    command,
    what,
    models,
    files: audioRefs,
    presets,
    threads: v.threads ? parseIntList('-t', v.threads, { min: 1, max: MAX_THREADS }) : [defaultThreads()],
    flashAttn,
    devices,
    builds: v.build ? parseStringList('--build', v.build) : [],
    repetitions: parseOneInt('-r', v.repetitions, 1, 10000) ?? 3,
    warmup: parseOneInt('--warmup', v.warmup, 0, 100) ?? 1,
    quick: !!v.quick,
    kinds,
    tags: parseTags(v.tag),
    fileSource: source,
    expireSeconds: parseOneInt('--timeout', v.timeout, 5, 86_400) ?? 900,
    retryLimit: parseOneInt('--retries', v.retries, 0, 20) ?? 2,
  };
}
