/** `whisper-perf compare BASE CAND`: a statistical comparison, and a gate (exit 1 when slower). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';

import { parseStringList } from '../measure/params.js';
import { WhisperPerfError } from '../errors.js';
import { betweenRunSpread, compareRows, type CompareSide } from '../report/compare.js';
import { comparisonCsv, comparisonMarkdown } from '../report/compare-format.js';
import { parseImport } from '../store/native-import.js';
import { defaultStoreLocation, openStore } from '../store/open.js';
import type { ResultFilter, RunFilter, Store } from '../store/types.js';
import { type CliContext, parse, writeData } from './context.js';

export const COMPARE_HELP = `usage: whisper-perf compare BASE CAND [options]

Compares two sets of stored results metric by metric. The unit is the run: a run is
one process, and on a VM two processes of the same binary differ by up to 10%, so the
spread of one run's own samples says nothing about the next run. Each run's figure is
its median; a side's figure is the geometric mean of its runs; the 95% interval of
CAND / BASE is over runs, its width set by the spread between runs of one
configuration: the sides' own (a tag naming several runs), or the store's repeated
runs of any configuration on the same host (same build variant and parameters).
Verdicts against --threshold: slower (the whole interval beyond +threshold), faster,
no change (the whole interval within ±threshold), inconclusive (otherwise). With one
run per side and no repeated runs in the store nothing can be said: every metric is
inconclusive. For a gate that decides, run both builds interleaved: whisper-perf ab.

BASE and CAND are each:
  N, run:N           a stored run
  tag:NAME, NAME     the runs with that tag (each run one unit)
  commit:HEX, HEX    the runs at that git commit (a prefix of 4+ hex digits)
  FILE.json          rows printed by whisper-perf bench -o json (or jsonl): one run

Rows are matched on their parameters (what, model, device, flash attention, threads,
file, preset ...). A parameter with one value on each side that differs (threads 2
against 1, two builds) is the change under test: it is printed and left out of the
match.

options:
      --db FILE|URL      the store (default: WHISPER_PERF_DB, else ~/.local/share/whisper-perf/results.db)
      --threshold PCT    smallest change called a change (default 5%; 0.05 works too)
      --alpha P          significance level of the within-run test printed for reference (default 0.05)
      --metric LIST      only these metrics (default: every statistic both sides have)
  -m, --model LIST       only these models
  -w, --what LIST        only these kinds of rows (encoder, rtf ...)
      --latest           a tag or commit naming several runs: use only its newest run
  -o, --output FMT       md (default; a table to paste into a pull request), csv, json
      --out FILE         write it to FILE instead of stdout
  -h, --help             this help

Exit codes: 0 no metric is slower and none inconclusive, 1 a metric is slower (the
gate fails), 3 none slower but some inconclusive, 2 a usage error: a run, tag or
commit that does not exist, two sides that share no metric, a store that cannot be read.

A gate over stored runs needs repeated runs (each bench is one process):
  for i in 1 2 3; do whisper-perf bench --db "$DB" --tag "pr-$PR" -r 5; done
  whisper-perf compare tag:main "tag:pr-$PR" --db "$DB" -o md > compare.md
`;

/** "5%", "5", "0.05" → 0.05 (a bare number above 1 is a percentage). */
export function parseThreshold(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%?)\s*$/.exec(text);
  if (!m) throw new WhisperPerfError(`--threshold: invalid value ${JSON.stringify(text)}: a percentage such as 5% (or 0.05)`, 'USAGE');
  const v = Number(m[1]);
  const f = m[2] === '%' || v > 1 ? v / 100 : v;
  if (!(f >= 0 && f < 10)) throw new WhisperPerfError(`--threshold: invalid value ${JSON.stringify(text)}`, 'USAGE');
  return f;
}

const isFile = (spec: string) => /\.(json|jsonl)$/i.test(spec) || (spec.includes('/') && existsSync(spec) && statSync(spec).isFile());

/** Resolves BASE or CAND to rows: a JSON file, or runs of the store by id, tag or commit. */
export async function resolveSide(spec: string, getStore: () => Promise<Store>, extra: ResultFilter, latest: boolean): Promise<CompareSide & { hosts?: string[] }> {
  if (isFile(spec)) {
    if (!existsSync(spec)) throw new WhisperPerfError(`${spec}: no such file`, 'NOT_FOUND');
    const parsed = parseImport(readFileSync(spec, 'utf8'), { format: 'json', name: spec });
    const rows = parsed.rows.filter((r) => matches(r, extra));
    return { spec, label: `file ${basename(spec)}`, rows, runs: rows.map(() => spec) };
  }
  const store = await getStore();
  let filter: RunFilter;
  let label: string;
  const m = /^(run|tag|commit):(.+)$/.exec(spec);
  const kind = m ? m[1] : /^\d+$/.test(spec) ? 'run' : undefined;
  const value = m ? m[2] : spec;
  if (kind === 'run') {
    if (!/^\d+$/.test(value)) throw new WhisperPerfError(`${spec}: a run id is a number`, 'USAGE');
    filter = { ids: [Number(value)] };
    label = `run ${value}`;
  } else if (kind === 'tag') {
    filter = { tags: [value] };
    label = `tag ${value}`;
  } else if (kind === 'commit') {
    if (!/^[0-9a-f]{4,64}$/i.test(value)) throw new WhisperPerfError(`${spec}: a commit is 4 to 64 hex digits`, 'USAGE');
    filter = { commits: [value] };
    label = `commit ${value}`;
  } else {
    // a bare name: a tag when one exists, else a commit prefix
    if ((await store.findRuns({ tags: [value] })).length > 0) {
      filter = { tags: [value] };
      label = `tag ${value}`;
    } else if (/^[0-9a-f]{4,64}$/i.test(value)) {
      filter = { commits: [value] };
      label = `commit ${value}`;
    } else throw new WhisperPerfError(`${spec}: no run, tag or commit of that name in ${store.location}`, 'NOT_FOUND');
  }
  let runs = await store.findRuns(filter);
  if (runs.length === 0) throw new WhisperPerfError(`${spec}: no ${label} in ${store.location}`, 'NOT_FOUND');
  if (latest && runs.length > 1) runs = [runs[runs.length - 1]];
  const results = await store.results({ ...extra, ids: runs.map((r) => r.id) });
  if (runs.length > 1) label = `${label} (runs ${runs.map((r) => r.id).join(', ')})`;
  else if (kind !== 'run') label = `${label} (run ${runs[0].id})`;
  return { spec, label, rows: results.map((r) => r.row), runs: results.map((r) => r.run_id), hosts: [...new Set(runs.map((r) => r.host))] };
}

/** betweenRunSpread over every stored run of these hosts (the rows the filters keep). */
async function storedSpread(store: Store, hosts: string[], extra: ResultFilter) {
  const runs = await store.findRuns({ hosts });
  const hostOf = new Map(runs.map((r) => [r.id, r.host]));
  const results = await store.results({ ...extra, ids: runs.map((r) => r.id) });
  return betweenRunSpread(results.map((r) => ({ run: r.run_id, host: hostOf.get(r.run_id) ?? '', row: r.row })));
}

function matches(row: Record<string, unknown>, f: ResultFilter): boolean {
  if (f.what && !f.what.includes(String(row.what))) return false;
  if (f.models) {
    const m = typeof row.model === 'string' ? row.model.toLowerCase() : '';
    const name = basename(m);
    if (!f.models.some((x) => (x.includes('/') ? m.endsWith(x.toLowerCase()) : [x.toLowerCase(), `ggml-${x.toLowerCase()}.bin`].includes(name) || name.startsWith(`ggml-${x.toLowerCase()}-`)))) return false;
  }
  return true;
}

export async function runCompare(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('compare', argv, {
    db: { type: 'string' },
    threshold: { type: 'string' },
    alpha: { type: 'string' },
    metric: { type: 'string' },
    model: { type: 'string', short: 'm', multiple: true },
    what: { type: 'string', short: 'w' },
    latest: { type: 'boolean' },
    output: { type: 'string', short: 'o' },
    out: { type: 'string' },
  });
  if (values.help) {
    ctx.stdout(COMPARE_HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new WhisperPerfError(`compare: expected BASE and CAND, got ${positionals.length} argument(s) (try: whisper-perf compare --help)`, 'USAGE');
  const format = values.output ?? 'md';
  if (!['md', 'csv', 'json'].includes(format)) throw new WhisperPerfError(`-o: invalid value ${JSON.stringify(format)}: expected md, csv or json`, 'USAGE');
  const threshold = values.threshold !== undefined ? parseThreshold(values.threshold) : 0.05;
  let alpha = 0.05;
  if (values.alpha !== undefined) {
    alpha = Number(values.alpha);
    if (!(alpha > 0 && alpha < 1)) throw new WhisperPerfError(`--alpha: invalid value ${JSON.stringify(values.alpha)}: between 0 and 1, such as 0.05`, 'USAGE');
  }
  const extra: ResultFilter = {};
  if (values.what) extra.what = parseStringList('-w', values.what);
  const models = (values.model ?? []).flatMap((m) => parseStringList('-m', m));
  if (models.length) extra.models = models;
  const metrics = values.metric ? parseStringList('--metric', values.metric) : undefined;

  let store: Store | undefined;
  const getStore = async () => (store ??= await openStore(values.db ?? defaultStoreLocation(), { create: false }));
  try {
    const base = await resolveSide(positionals[0], getStore, extra, values.latest === true);
    const cand = await resolveSide(positionals[1], getStore, extra, values.latest === true);
    // the spread between runs of one configuration, from the store's repeated runs on the sides' hosts
    const hosts = [...new Set([...(base.hosts ?? []), ...(cand.hosts ?? [])])];
    const spread = store && hosts.length > 0 ? await storedSpread(store, hosts, extra) : undefined;
    const c = compareRows(base, cand, { threshold, alpha, metrics, spread });
    const text = format === 'json' ? JSON.stringify(c, null, 2) + '\n' : format === 'csv' ? comparisonCsv(c) : comparisonMarkdown(c);
    writeData(ctx, text, values.out);
    if (!c.pass) ctx.stderr(`whisper-perf: ${c.slower} metric(s) slower beyond the threshold: the gate fails\n`);
    else if (c.inconclusive > 0) ctx.stderr(`whisper-perf: ${c.inconclusive} metric(s) inconclusive: these runs cannot tell a change of ±${Math.round(threshold * 100)}% from the spread between runs (more runs per side, or whisper-perf ab)\n`);
    return !c.pass ? 1 : c.inconclusive > 0 ? 3 : 0;
  } finally {
    await store?.close();
  }
}
