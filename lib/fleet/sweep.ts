/**
 * Submitting a fleet sweep and asking about it: `submit` records the sweep and queues one job per
 * (cell, kind); `status` counts them per kind with the workers and an ETA; `cancel` stops what has
 * not run; `report` reads the stored cells back and checks none is missing or doubled.
 */
import { WhisperPerfError } from '../errors.js';
import type { Store, StoredResult } from '../store/types.js';
import { cellLabel, sweepCells, sweepId, sweepJobs, type CellSpec, type SweepSpec } from './plan.js';
import { FleetQueue, jobId } from './queue.js';

export interface SubmitResult {
  sweep: string;
  cells: number;
  kinds: string[];
  /** jobs queued by this submit (0 when the same sweep was submitted before) */
  queued: number;
  /** jobs the sweep has in all */
  jobs: number;
  /** kinds no worker has been seen serving in the last 10 minutes */
  unserved: string[];
}

interface SweepDbRow {
  id: string;
  created_at: string;
  command: string;
  plan: string;
  kinds: string;
  cells: number;
  status: string;
}

export async function submitSweep(store: Store, spec: SweepSpec, argv: string[]): Promise<SubmitResult> {
  if (spec.kinds.length === 0) throw new WhisperPerfError('fleet submit: --kind is required (fleet kind prints this machine\'s)', 'USAGE');
  const id = sweepId(spec);
  const cells = sweepCells(spec);
  const jobs = sweepJobs(spec);
  const queue = await FleetQueue.open(store, { supervise: false });
  try {
    await store.transaction(async (tx) => {
      const have = await tx.all('SELECT id FROM fleet_sweeps WHERE id = ?', [id]);
      if (have.length === 0) {
        await tx.run('INSERT INTO fleet_sweeps (id, created_at, command, plan, kinds, cells, status) VALUES (?, ?, ?, ?, ?, ?, ?)', [
          id,
          new Date().toISOString(),
          JSON.stringify(argv),
          JSON.stringify(spec),
          JSON.stringify(spec.kinds),
          cells.length,
          'active',
        ]);
      }
    });
    let queued = 0;
    for (const kind of spec.kinds) {
      const opts = { expireSeconds: spec.expireSeconds, retryLimit: spec.retryLimit, retryDelay: 1 };
      await queue.ensureQueue(kind, opts);
      const mine = jobs.filter((j) => j.kind === kind).map((j) => ({ id: jobId(id, kind, j.cell), data: j, ...opts }));
      queued += await queue.submit(kind, mine);
    }
    const seen = await store.transaction((tx) => tx.all<{ kind: string }>('SELECT DISTINCT kind FROM fleet_workers WHERE seen_at > ?', [new Date(Date.now() - 600_000).toISOString()]));
    const served = new Set(seen.map((r) => r.kind));
    return { sweep: id, cells: cells.length, kinds: spec.kinds, queued, jobs: jobs.length, unserved: spec.kinds.filter((k) => !served.has(k)) };
  } finally {
    await queue.close();
  }
}

async function loadSweep(store: Store, id: string): Promise<{ row: SweepDbRow; spec: SweepSpec; cells: CellSpec[] }> {
  const rows = await store.transaction((tx) => tx.all<SweepDbRow>('SELECT * FROM fleet_sweeps WHERE id = ?', [id]));
  if (rows.length === 0) throw new WhisperPerfError(`no fleet sweep ${JSON.stringify(id)} in ${store.location} (fleet status lists them)`, 'NOT_FOUND');
  const spec = JSON.parse(rows[0].plan) as SweepSpec;
  return { row: rows[0], spec, cells: sweepCells(spec) };
}

export interface KindStatus {
  kind: string;
  cells: number;
  queued: number;
  running: number;
  /** stored (including cells stored with their error after their last attempt) */
  done: number;
  /** failed for good (no retries left, not stored: a cell that killed its worker) or cancelled */
  failed: number;
  cancelled: number;
  /** workers of this kind seen in the last 30 s */
  workers: number;
  /** seconds left at the pace of the cells done so far over the live workers, when known */
  etaS: number | null;
}

export interface SweepStatus {
  sweep: string;
  created_at: string;
  status: string;
  kinds: KindStatus[];
  /** cells running now: which worker holds which cell since when, and which attempt */
  running: { kind: string; cell: number; label: string; attempt: number; since: string | null; worker: string | null }[];
  /** cells that failed for good, with their reasons */
  failures: { kind: string; cell: number; label: string; reason: string }[];
  workers: { id: string; kind: string; status: string; seen_s: number; cells_done: number; cell: string | null }[];
}

export async function sweepStatus(store: Store, id: string): Promise<SweepStatus> {
  const { row, spec, cells } = await loadSweep(store, id);
  const queue = await FleetQueue.open(store, { supervise: false });
  try {
    const jobs = await queue.jobs(id);
    const stored = await store.transaction((tx) => tx.all<{ kind: string; cell_index: number; cell_ms: number | null }>('SELECT kind, cell_index, cell_ms FROM fleet_cells WHERE sweep_id = ?', [id]));
    const workers = await store.transaction((tx) => tx.all<{ id: string; kind: string; status: string; seen_at: string; cells_done: number; job_id: string | null; cell: string | null }>('SELECT * FROM fleet_workers ORDER BY started_at'));
    const now = Date.now();
    const live = workers.filter((w) => w.status !== 'stopped' && now - Date.parse(w.seen_at) < 30_000);
    const kinds: KindStatus[] = spec.kinds.map((kind) => {
      const mine = jobs.filter((j) => j.kind === kind);
      const done = stored.filter((s) => s.kind === kind);
      const state = (s: string) => mine.filter((j) => j.state === s).length;
      const storedCells = new Set(done.map((d) => d.cell_index));
      const failed = mine.filter((j) => j.state === 'failed' && !storedCells.has(j.cell)).length;
      const cancelled = state('cancelled');
      const queued = state('created') + state('retry');
      const running = state('active');
      const nWorkers = live.filter((w) => w.kind === kind).length;
      const times = done.map((d) => Number(d.cell_ms)).filter((x) => Number.isFinite(x));
      const left = queued + running;
      const etaS = left === 0 ? 0 : times.length > 0 && nWorkers > 0 ? ((times.reduce((a, b) => a + b, 0) / times.length) * left) / nWorkers / 1000 : null;
      return { kind, cells: cells.length, queued, running, done: done.length, failed, cancelled, workers: nWorkers, etaS };
    });
    const holder = new Map(workers.filter((w) => w.job_id).map((w) => [w.job_id!, w.id]));
    const running = jobs
      .filter((j) => j.state === 'active')
      .map((j) => ({ kind: j.kind, cell: j.cell, label: cellLabel(cells[j.cell]), attempt: j.attempt, since: j.startedOn, worker: holder.get(j.id) ?? null }));
    const failures = jobs
      .filter((j) => j.state === 'failed' && !stored.some((s) => s.kind === j.kind && s.cell_index === j.cell))
      .map((j) => ({ kind: j.kind, cell: j.cell, label: cellLabel(cells[j.cell]), reason: reasonOf(j.output) }));
    return {
      sweep: id,
      created_at: row.created_at,
      status: row.status,
      kinds,
      running,
      failures,
      workers: live.map((w) => ({ id: w.id, kind: w.kind, status: w.status, seen_s: Math.round((now - Date.parse(w.seen_at)) / 1000), cells_done: Number(w.cells_done), cell: w.cell })),
    };
  } finally {
    await queue.close();
  }
}

function reasonOf(output: unknown): string {
  const o = output as { message?: unknown; value?: { message?: unknown } } | null;
  const m = o?.message ?? o?.value?.message;
  return typeof m === 'string' ? m : JSON.stringify(output ?? null);
}

/** The sweeps in the store, newest first. */
export async function listSweeps(store: Store): Promise<{ id: string; created_at: string; status: string; cells: number; kinds: string[]; stored: number }[]> {
  const rows = await store.transaction((tx) =>
    tx.all<SweepDbRow & { stored: number }>('SELECT s.*, (SELECT COUNT(*) FROM fleet_cells c WHERE c.sweep_id = s.id) AS stored FROM fleet_sweeps s ORDER BY s.created_at DESC'),
  );
  return rows.map((r) => ({ id: r.id, created_at: r.created_at, status: r.status, cells: Number(r.cells), kinds: JSON.parse(r.kinds) as string[], stored: Number(r.stored) }));
}

/** Cancels what has not run; returns the jobs cancelled. */
export async function cancelSweep(store: Store, id: string): Promise<number> {
  await loadSweep(store, id);
  const queue = await FleetQueue.open(store, { supervise: false });
  try {
    const n = await queue.cancel(id);
    await store.transaction((tx) => tx.run("UPDATE fleet_sweeps SET status = 'cancelled' WHERE id = ?", [id]));
    return n;
  } finally {
    await queue.close();
  }
}

export interface SweepReport {
  sweep: string;
  /** one entry per (cell, kind): its stored rows (none when missing) */
  cells: { kind: string; cell: number; label: string; results: StoredResult[] }[];
  missing: number;
  /** cells whose rows were stored more than once (must be 0) */
  doubled: number;
  /** run ids holding the sweep's rows (for `report --run` and the HTML report) */
  runs: number[];
}

/** The sweep's stored rows, one entry per cell and kind, with the missing and doubled counts. */
export async function sweepReport(store: Store, id: string): Promise<SweepReport> {
  const { spec, cells } = await loadSweep(store, id);
  const results = await store.results({ tags: [`fleet:${id}`] });
  const by = new Map<string, StoredResult[]>();
  for (const r of results) {
    const f = (r.row as { fleet?: { kind?: string; cell?: number } }).fleet;
    if (!f) continue;
    const key = `${f.kind}\0${f.cell}`;
    by.set(key, [...(by.get(key) ?? []), r]);
  }
  const out: SweepReport['cells'] = [];
  let missing = 0;
  let doubled = 0;
  for (const kind of spec.kinds) {
    cells.forEach((c, i) => {
      const rs = by.get(`${kind}\0${i}`) ?? [];
      if (rs.length === 0) missing++;
      // one row per cell (mul_mat: one per size and type, all from one cell and one attempt)
      const attempts = new Set(rs.map((r) => `${r.run_id}\0${JSON.stringify((r.row as { fleet?: unknown }).fleet)}`));
      if (attempts.size > 1) doubled++;
      out.push({ kind, cell: i, label: cellLabel(c), results: rs });
    });
  }
  return { sweep: id, cells: out, missing, doubled, runs: [...new Set(results.map((r) => r.run_id))] };
}
