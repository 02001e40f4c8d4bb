/**
 * Recording a measuring command into a store, cell by cell: a run is created (status running)
 * before the first cell, each finished cell is committed before the next begins, and the run is
 * marked finished, failed or interrupted at the end. A crash or SIGKILL loses at most the cell in
 * progress; `resumeRun` reopens such a run and says which cells it already holds.
 *
 * Any command can use it: `startRun(store, { kind: 'rtf', argv, plan, tags })`, then
 * `recorder.record(rowsOfOneCell)` after each cell and `recorder.finish()`.
 */
import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';

import { WhisperPerfError } from '../errors.js';
import { processAlive } from '../system.js';
import type { AnyRow, RunRecord, RunStatus, Store, StoredResult } from './types.js';

export interface RunFacts {
  kind: string;
  /** the command line after `whisper-perf` */
  argv: string[];
  /** what --resume needs to rebuild the sweep */
  plan?: Record<string, unknown> | null;
  tags?: string[];
  /** 'whisper-perf' (default) or 'native' */
  source?: string;
  /** machine and build facts; default: this machine and this build (see machineFacts) */
  system?: Record<string, unknown> | null;
  build?: Record<string, unknown> | null;
  whisper_version?: string | null;
  package_version?: string | null;
  /** the directory whose git commit is recorded (default: the current directory) */
  cwd?: string;
  started_at?: string;
  host?: string;
  git_commit?: string | null;
  git_dirty?: boolean | null;
}

/** The git commit of `cwd` and whether its work tree has changes; nulls outside a work tree or without git. */
export function gitState(cwd = process.cwd()): { commit: string | null; dirty: boolean | null } {
  const git = (args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  try {
    const commit = git(['rev-parse', 'HEAD']);
    if (!/^[0-9a-f]{7,64}$/.test(commit)) return { commit: null, dirty: null };
    let dirty: boolean | null = null;
    try {
      dirty = git(['status', '--porcelain']).length > 0;
    } catch {
      dirty = null;
    }
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}

/** Starts a run in `store` with this machine's facts. */
export async function startRun(store: Store, facts: RunFacts): Promise<RunRecorder> {
  const git = facts.git_commit !== undefined ? { commit: facts.git_commit, dirty: facts.git_dirty ?? null } : gitState(facts.cwd);
  const run = await store.createRun({
    kind: facts.kind,
    source: facts.source ?? 'whisper-perf',
    host: facts.host ?? hostname(),
    pid: process.pid,
    command: facts.argv,
    plan: facts.plan ?? null,
    tags: facts.tags ?? [],
    git_commit: git.commit,
    git_dirty: git.dirty,
    package_version: facts.package_version ?? null,
    whisper_version: facts.whisper_version ?? null,
    node_version: process.version,
    system: facts.system ?? null,
    build: facts.build ?? null,
    started_at: facts.started_at,
  });
  return new RunRecorder(store, run, []);
}

/**
 * Reopens run `id` to finish it: refuses a run that does not exist, is of another kind, or whose
 * process is still alive on this host; marks it running under this process.
 */
export async function resumeRun(store: Store, id: number, kind: string): Promise<{ recorder: RunRecorder; run: RunRecord; done: Set<string>; previous: StoredResult[] }> {
  const run = await store.getRun(id);
  if (!run) throw new WhisperPerfError(`--resume: no run ${id} in ${store.location}`, 'NOT_FOUND');
  if (run.kind !== kind) throw new WhisperPerfError(`--resume: run ${id} is a ${run.kind} run, not ${kind}`, 'USAGE');
  if (!run.plan) throw new WhisperPerfError(`--resume: run ${id} has no stored plan to resume from`, 'USAGE');
  if (run.status === 'running' && run.pid !== null && run.pid !== process.pid && run.host === hostname() && processAlive(run.pid)) {
    throw new WhisperPerfError(`--resume: run ${id} is still running (process ${run.pid} on this host)`, 'USAGE');
  }
  const previous = await store.results({ ids: [id] });
  const done = new Set(previous.map((r) => r.cell));
  await store.setRunStatus(id, 'running', process.pid);
  return { recorder: new RunRecorder(store, { ...run, status: 'running', pid: process.pid }, previous), run, done, previous };
}

export class RunRecorder {
  /** result id and the object stored, for rewriting rows that change after the sweep */
  private readonly stored: { id: number; row: AnyRow; json: string }[];

  constructor(
    readonly store: Store,
    readonly run: RunRecord,
    previous: readonly StoredResult[],
  ) {
    this.stored = previous.map((p) => ({ id: p.id, row: p.row, json: JSON.stringify(p.row) }));
  }

  get id(): number {
    return this.run.id;
  }

  /** The rows stored so far, in order (objects: later changes to them are picked up by rewrite()). */
  get rows(): AnyRow[] {
    return this.stored.map((s) => s.row);
  }

  /** Commits the rows of one finished cell. */
  async record(rows: readonly AnyRow[]): Promise<void> {
    if (rows.length === 0) return;
    const ids = await this.store.addResults(this.run.id, rows);
    rows.forEach((row, i) => this.stored.push({ id: ids[i], row, json: JSON.stringify(row) }));
    this.recordedHere++;
    pauseForTest(this.recordedHere);
  }

  private recordedHere = 0;

  /** Stores again every row whose content changed since it was recorded (figures derived after the sweep). */
  async rewrite(): Promise<number> {
    let n = 0;
    for (const s of this.stored) {
      const now = JSON.stringify(s.row);
      if (now === s.json) continue;
      await this.store.updateResult(s.id, s.row);
      s.json = now;
      n++;
    }
    return n;
  }

  async finish(status: RunStatus = 'finished'): Promise<void> {
    await this.store.setRunStatus(this.run.id, status);
  }
}

/**
 * @internal A test hook: with WHISPER_PERF_TEST_PAUSE_AFTER_CELLS=N in its environment, a process
 * stops itself (SIGSTOP) right after committing its Nth cell, having said so on stderr, so that a
 * test can act at that known point (kill it with a committed cell and none in flight) instead of
 * polling the database and racing the next commit.
 */
function pauseForTest(recorded: number): void {
  const n = Number(process.env.WHISPER_PERF_TEST_PAUSE_AFTER_CELLS);
  if (!Number.isInteger(n) || n < 1 || recorded !== n) return;
  // stderr is a pipe or a file here: written synchronously on Linux, before the stop
  process.stderr.write(`[whisper-perf] test hook: paused after committing cell ${n} (pid ${process.pid})\n`);
  process.kill(process.pid, 'SIGSTOP');
}
