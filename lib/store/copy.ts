/**
 * Copying runs between stores (SQLite → PostgreSQL, a laptop's file into the fleet's server):
 * every run with its tags and results, in id order, keeping everything a run says about itself
 * (uid, times, status, host, commit, command, plan, facts). A run whose uid the destination
 * already holds is skipped, so copying twice never duplicates.
 */
import type { ResultFilter, Store } from './types.js';

export interface CopyResult {
  /** runs copied: source id → destination id */
  copied: { from: number; to: number; results: number }[];
  /** source ids skipped because the destination holds their uid */
  skipped: number[];
}

export async function copyStore(from: Store, to: Store, filter: ResultFilter = {}): Promise<CopyResult> {
  const out: CopyResult = { copied: [], skipped: [] };
  // in id order: copied into an empty store, every run keeps its id
  for (const run of (await from.findRuns(filter)).sort((a, b) => a.id - b.id)) {
    if (await to.hasUid(run.uid)) {
      out.skipped.push(run.id);
      continue;
    }
    const results = await from.results({ ids: [run.id] });
    // the run arrives as 'running' and gets its own status once every row is in: an interrupted
    // copy leaves a visibly unfinished run, never a "finished" run with rows missing
    const { id: _id, results: _n, status, finished_at: _f, ...rest } = run;
    const created = await to.createRun({ ...rest, status: 'running' });
    // cell by cell in the source's order, as the command committed them
    let cell: string | undefined;
    let batch: (typeof results)[number]['row'][] = [];
    for (const r of results) {
      if (r.cell !== cell && batch.length) {
        await to.addResults(created.id, batch);
        batch = [];
      }
      cell = r.cell;
      batch.push(r.row);
    }
    if (batch.length) await to.addResults(created.id, batch);
    await to.setRunStatus(created.id, status, run.pid);
    out.copied.push({ from: run.id, to: created.id, results: results.length });
  }
  return out;
}
