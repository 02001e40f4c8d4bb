#!/usr/bin/env node
// The fleet's queue at scale: N cells over W worker processes on this machine, each cell a no-op,
// so what is measured is the queue itself: claim (pg-boss fetch), store (the cell's rows, its
// fleet_cells row and the job's completion in one transaction), throughput, and the PostgreSQL
// connections the fleet holds (sampled from pg_stat_activity while it runs).
//
//   node bench/fleet-scale.mjs --db postgres://... [--cells 1000] [--workers 20] [--json]
//
// Progress on stderr; the figures on stdout (markdown, or JSON with --json). Exit code 1 when a
// cell is missing or doubled.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { submitSweep } from '../dist/fleet/sweep.js';
import { FleetWorker } from '../dist/fleet/worker.js';
import { summarize } from '../dist/measure/stats.js';
import { openStore } from '../dist/store/open.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    cells: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '20' },
    child: { type: 'boolean' },
    json: { type: 'boolean' },
  },
});
const db = values.db ?? process.env.WHISPER_PERF_DB;
if (!db || !/^postgres(ql)?:\/\//.test(db)) {
  process.stderr.write('fleet-scale: --db postgres://... (or WHISPER_PERF_DB) is required\n');
  process.exit(2);
}
const KIND = 'scale';

if (values.child) {
  // one worker process: no-op cells, stops after 2 s without a job, prints its timings
  const store = await openStore(db);
  const worker = new FleetWorker(store, {
    kind: KIND,
    idleExitS: 2,
    pollS: 0.2,
    maintenanceSeconds: 30,
    runCell: async (job) => [{ what: 'memcpy', threads: job.params.threads, synthetic: true }],
  });
  const s = await worker.run();
  await store.close();
  process.stdout.write(JSON.stringify(s) + '\n');
  process.exit(0);
}

const nCells = Number(values.cells);
const nWorkers = Number(values.workers);
const log = (m) => process.stderr.write(`[fleet-scale] ${m}\n`);
const store = await openStore(db);
const tag = `scale-${Date.now()}`;
const spec = {
  what: ['memcpy'],
  models: [],
  threads: Array.from({ length: nCells }, (_, i) => i + 1),
  flashAttn: [true],
  devices: ['cpu'],
  builds: [],
  repetitions: 1,
  warmup: 0,
  quick: true,
  kinds: [KIND],
  tags: [tag],
  expireSeconds: 300,
  retryLimit: 2,
};
const t0 = performance.now();
const sub = await submitSweep(store, spec, ['fleet-scale']);
log(`submitted sweep ${sub.sweep}: ${sub.queued} jobs in ${((performance.now() - t0) / 1000).toFixed(1)} s; starting ${nWorkers} workers`);

// connections to this database while the workers run (the sampler's own included)
let maxConn = 0;
const sampler = setInterval(async () => {
  try {
    const r = await store.native('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()');
    maxConn = Math.max(maxConn, Number(r.rows[0].n));
  } catch {
    /* the next sample */
  }
}, 100);
let stored = 0;
const progress = setInterval(async () => {
  const r = await store.native('SELECT count(*) AS n FROM fleet_cells WHERE sweep_id = $1', [sub.sweep]).catch(() => null);
  if (r) stored = Number(r.rows[0].n);
  log(`${stored} / ${nCells} cells stored, ${maxConn} connections at most so far`);
}, 2000);

const script = fileURLToPath(import.meta.url);
const started = performance.now();
const summaries = await Promise.all(
  Array.from(
    { length: nWorkers },
    () =>
      new Promise((resolve, reject) => {
        const c = spawn(process.execPath, [script, '--child', '--db', db], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        c.stdout.on('data', (d) => (out += d));
        c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`a worker exited with ${code}`))));
      }),
  ),
);
const wallS = (performance.now() - started) / 1000;
clearInterval(sampler);
clearInterval(progress);

const cells = await store.native('SELECT count(*) AS n, count(DISTINCT cell_index) AS d, min(stored_at) AS first, max(stored_at) AS last FROM fleet_cells WHERE sweep_id = $1', [sub.sweep]);
const results = await store.native("SELECT count(*) AS n FROM results r JOIN run_tags t ON t.run_id = r.run_id WHERE t.tag = $1", [`fleet:${sub.sweep}`]);
await store.close();
const claim = summaries.flatMap((s) => s.claimMs);
const storeMs = summaries.flatMap((s) => s.storeMs);
const overhead = claim.map((c, i) => c + storeMs[i]);
const row = cells.rows[0];
const spanS = (Date.parse(row.last) - Date.parse(row.first)) / 1000;
const f = {
  cells: nCells,
  workers: nWorkers,
  stored: Number(row.n),
  distinct: Number(row.d),
  results: Number(results.rows[0].n),
  missing: nCells - Number(row.d),
  doubled: Number(row.n) - Number(row.d),
  wall_s: wallS,
  first_to_last_stored_s: spanS,
  cells_per_s: Number(row.n) / spanS,
  claim_ms: summarize(claim),
  store_ms: summarize(storeMs),
  overhead_ms: summarize(overhead),
  max_connections: maxConn,
};
if (values.json) process.stdout.write(JSON.stringify(f, null, 2) + '\n');
else {
  const m = (s) => `${s.median.toFixed(1)} (p95 ${quantile(s, 0.95)})`;
  process.stdout.write(
    [
      `| figure | value |`,
      `| --- | --- |`,
      `| cells / workers | ${nCells} / ${nWorkers} |`,
      `| stored, missing, doubled | ${f.stored}, ${f.missing}, ${f.doubled} (result rows ${f.results}) |`,
      `| first to last cell stored | ${spanS.toFixed(1)} s (${f.cells_per_s.toFixed(1)} cells/s) |`,
      `| claim ms, median | ${m(f.claim_ms)} |`,
      `| store + complete ms, median | ${m(f.store_ms)} |`,
      `| queue overhead per cell (claim + store + complete) ms, median | ${m(f.overhead_ms)} |`,
      `| PostgreSQL connections to the database, at most | ${maxConn} |`,
    ].join('\n') + '\n',
  );
}
process.exit(f.missing === 0 && f.doubled === 0 ? 0 : 1);

function quantile(s, q) {
  const xs = [...s.samples].sort((a, b) => a - b);
  return xs[Math.min(xs.length - 1, Math.floor(q * xs.length))].toFixed(1);
}
