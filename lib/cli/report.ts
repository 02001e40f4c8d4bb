/** `whisper-perf report`: views over the store as md/csv/json, or an HTML page with charts. */
import { renameSync, writeFileSync } from 'node:fs';

import { parseStringList } from '../measure/params.js';
import { WhisperPerfError } from '../errors.js';
import { reportHtml } from '../report/html.js';
import { buildViews, DEFAULT_VIEWS, renderViews, VIEWS, type ViewName } from '../report/views.js';
import { defaultStoreLocation, displayLocation, openStore } from '../store/open.js';
import type { ResultFilter, Store } from '../store/types.js';
import { type CliContext, parse, writeData } from './context.js';
import { FILTER_OPTIONS, parseFilter } from './store-filters.js';
import { FILTER_HELP } from './store-filters.js';

export const REPORT_HELP = `usage: whisper-perf report [options]

Reports on the stored results: runs, the fastest configuration per model, the best
thread count per model, mean and best RTF per model × threads, the stage breakdown,
memory per model, and the history of a metric over runs.

options:
${FILTER_HELP}      --view LIST        runs, fastest, threads, rtf, stages, memory, history, results
                         (default: all but results; -o csv takes one view, default results)
      --metric NAME      the metric of the history view and chart (default encode_ms)
  -o, --output FMT       md (default), csv, json
      --out FILE         write the report to FILE instead of stdout (atomically)
      --html FILE        write a self-contained HTML page with charts to FILE (opens offline)
  -h, --help             this help

Exit code 2 when the store is missing, not a store, newer than this code, locked, or
does not answer.
`;

/** The runs and results a filter selects: results of matching runs, and the runs that have them. */
export async function selectData(store: Store, filter: ResultFilter) {
  const results = await store.results(filter);
  const resultFilterGiven = filter.models || filter.what || filter.threads;
  let runs = await store.findRuns(filter);
  if (resultFilterGiven) {
    const have = new Set(results.map((r) => r.run_id));
    runs = runs.filter((r) => have.has(r.id));
  }
  return { runs, results };
}

export async function runReport(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('report', argv, {
    ...FILTER_OPTIONS,
    view: { type: 'string' },
    metric: { type: 'string' },
    output: { type: 'string', short: 'o' },
    out: { type: 'string' },
    html: { type: 'string' },
  });
  if (values.help) {
    ctx.stdout(REPORT_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new WhisperPerfError(`report: unexpected argument ${JSON.stringify(positionals[0])}`, 'USAGE');
  const format = values.output ?? 'md';
  if (!['md', 'csv', 'json'].includes(format)) throw new WhisperPerfError(`-o: invalid value ${JSON.stringify(format)}: expected md, csv or json`, 'USAGE');
  let views: ViewName[];
  if (values.view) {
    views = parseStringList('--view', values.view) as ViewName[];
    for (const v of views) if (!VIEWS.includes(v)) throw new WhisperPerfError(`--view: invalid value ${JSON.stringify(v)}: expected ${VIEWS.join(', ')}`, 'USAGE');
  } else views = format === 'csv' ? ['results'] : [...DEFAULT_VIEWS];
  if (format === 'csv' && views.length !== 1) throw new WhisperPerfError(`-o csv holds one table: give one --view (${VIEWS.join(', ')})`, 'USAGE');
  if (values.metric !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(values.metric)) throw new WhisperPerfError(`--metric: invalid value ${JSON.stringify(values.metric)}: a field name such as encode_ms`, 'USAGE');
  const filter = parseFilter(values);
  const location = values.db ?? defaultStoreLocation();

  const store = await openStore(location, { create: false });
  try {
    const data = await selectData(store, filter);
    if (values.html) {
      const page = reportHtml(data, { metric: values.metric, subtitle: `${displayLocation(location)} · ${data.runs.length} run(s), ${data.results.length} result(s)`, generatedAt: new Date().toISOString() });
      const tmp = `${values.html}.${process.pid}.tmp`;
      writeFileSync(tmp, page);
      renameSync(tmp, values.html);
      ctx.stderr(`whisper-perf: wrote ${values.html} (${(page.length / 1024).toFixed(0)} KiB)\n`);
      // the tables too, unless only the page was asked for
      if (!values.view && !values.output && !values.out) return 0;
    }
    writeData(ctx, renderViews(buildViews(data, views, { metric: values.metric }), format as 'md' | 'csv' | 'json'), values.out);
    return 0;
  } finally {
    await store.close();
  }
}
