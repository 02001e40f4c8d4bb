/**
 * `report --html FILE`: one self-contained page that opens offline. The charting library
 * (Chart.js, MIT, from node_modules at generation time) and the data are inlined into the page;
 * nothing is fetched. Charts:
 *
 * 1. thread scaling: encode median against threads, one line per model × device × fa;
 * 2. stage breakdown: one whisper-bench workload per configuration as stacked bars — mel of 30 s,
 *    1 encode, 256 single-token decodes, 64 five-token batches (320 tokens), 16 prompts of 256
 *    tokens (4096 tokens) — from the pooled per-call medians;
 * 3. RTF by model and threads (rtf rows);
 * 4. memory by model: peak RSS and whisper.cpp's buffers;
 * 5. history of a metric over runs (labelled by commit), one line per configuration;
 * 6. quality against speed: WER against RTF, when rows with a `wer` exist.
 * A chart without data is left out with a line that says so. The tables of `report` follow.
 *
 * The page sets `window.__whisperPerf = { charts, errors, done }` once drawn, for tests.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { WhisperPerfError } from '../errors.js';
import { isStat, valueOf } from '../store/metrics.js';
import type { Stat } from '../measure/types.js';
import { buildViews, modelName, pool, type ReportData, type ReportTable, type Cell } from './views.js';

/** whisper-bench's workload per run: tokens per stage (examples/bench/bench.cpp). */
const WORKLOAD = { encode: 1, decode: 256, batchd: 64 * 5, prompt: 16 * 256 } as const;

interface ChartSpec {
  id: string;
  title: string;
  note: string;
  /** a Chart.js configuration (type, data, options) */
  config: Record<string, unknown>;
}

/** The Chart.js UMD bundle and its version, from node_modules. */
export function chartLibrary(): { code: string; version: string } {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve('chart.js');
  } catch (e) {
    throw new WhisperPerfError('report --html needs chart.js, which is not installed: npm install chart.js', 'NOT_FOUND', { cause: e });
  }
  let dir = dirname(main);
  while (!dir.endsWith('chart.js') && dirname(dir) !== dir) dir = dirname(dir);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  for (const f of ['dist/chart.umd.min.js', 'dist/chart.umd.js']) {
    try {
      return { code: readFileSync(join(dir, f), 'utf8'), version: pkg.version };
    } catch {
      // next
    }
  }
  throw new WhisperPerfError(`chart.js ${pkg.version}: no UMD bundle in ${dir}/dist`, 'NOT_FOUND');
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const color = (i: number) => PALETTE[i % PALETTE.length];

type Row = ReportData['results'][number]['row'];
const stat = (r: Row, k: string): Stat | undefined => (isStat(r[k]) ? (r[k] as Stat) : undefined);
const str = (r: Row, k: string) => (typeof r[k] === 'string' ? (r[k] as string) : '');
const faOf = (r: Row) => (r.flash_attn === true ? 'fa on' : r.flash_attn === false ? 'fa off' : '');
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function axes(x: string, y: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { x: { title: { display: true, text: x }, ...((extra.x as object) ?? {}) }, y: { title: { display: true, text: y }, beginAtZero: true, ...((extra.y as object) ?? {}) } };
}

function baseOptions(scales: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { animation: false, responsive: false, plugins: { legend: { position: 'bottom' } }, scales, ...extra };
}

function scalingChart(d: ReportData): ChartSpec | undefined {
  const rows = d.results.filter((x) => !x.row.error && x.row.what === 'encoder' && stat(x.row, 'encode_ms'));
  const groups = groupBy(rows, (x) => [modelName(x.row), str(x.row, 'device'), faOf(x.row)].join(' · '));
  const datasets = [...groups].map(([label, xs], i) => {
    const byT = groupBy(xs, (x) => String(x.row.threads).padStart(4, '0'));
    return {
      label,
      data: [...byT].map(([t, ys]) => ({ x: Number(t), y: r3(pool(ys.map((y) => stat(y.row, 'encode_ms')))!.median) })).sort((a, b) => a.x - b.x),
      borderColor: color(i),
      backgroundColor: color(i),
      showLine: true,
    };
  });
  if (datasets.length === 0) return undefined;
  return {
    id: 'scaling',
    title: 'Thread scaling',
    note: 'encode median (ms, samples pooled over runs) against threads; lower is faster',
    config: { type: 'scatter', data: { datasets }, options: baseOptions(axes('threads', 'encode ms', { x: { ticks: { stepSize: 1 } } })) },
  };
}

function stagesChart(d: ReportData): ChartSpec | undefined {
  const rows = d.results.filter((x) => !x.row.error && x.row.what === 'encoder' && stat(x.row, 'encode_ms'));
  const groups = groupBy(rows, (x) => `${modelName(x.row)} ${faOf(x.row)} -t ${String(x.row.threads).padStart(3, ' ')}`);
  if (groups.size === 0) return undefined;
  const labels = [...groups.keys()].map((k) => k.replace(/ +/g, ' '));
  const stage = (key: string, mult: number, label: string, i: number) => ({
    label,
    data: [...groups.values()].map((xs) => {
      const p = pool(xs.map((x) => stat(x.row, key)));
      return p ? r3(p.median * mult) : 0;
    }),
    backgroundColor: color(i),
    stack: 'workload',
  });
  const datasets = [
    stage('mel_ms', 1, 'mel (30 s)', 0),
    stage('encode_ms', WORKLOAD.encode, 'encode ×1', 1),
    stage('decode_ms', WORKLOAD.decode, 'decode ×256 tokens', 2),
    stage('batchd_ms', WORKLOAD.batchd, 'batchd ×320 tokens', 3),
    stage('prompt_ms', WORKLOAD.prompt, 'prompt ×4096 tokens', 4),
  ].filter((ds) => ds.data.some((v) => v > 0));
  return {
    id: 'stages',
    title: 'Stage breakdown',
    note: "one whisper-bench workload per configuration, ms: each stage's pooled per-call median times its calls",
    config: { type: 'bar', data: { labels, datasets }, options: baseOptions({ x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'ms per workload' } } }) },
  };
}

function rtfChart(d: ReportData): ChartSpec | undefined {
  const rows = d.results.filter((x) => !x.row.error && x.row.what === 'rtf' && valueOf(x.row.rtf) !== undefined);
  if (rows.length === 0) return undefined;
  const threads = [...new Set(rows.map((x) => Number(x.row.threads)))].sort((a, b) => a - b);
  const groups = groupBy(rows, (x) => `${modelName(x.row)}${str(x.row, 'preset') ? ` · ${str(x.row, 'preset')}` : ''}${x.row.native === true ? ' · native' : ''}`);
  const datasets = [...groups].map(([label, xs], i) => ({
    label,
    data: threads.map((t) => {
      const samples = xs.filter((x) => Number(x.row.threads) === t).flatMap((x) => (isStat(x.row.rtf) ? (x.row.rtf as Stat).samples : [x.row.rtf as number]));
      return samples.length ? r3(samples.reduce((a, b) => a + b, 0) / samples.length) : null;
    }),
    backgroundColor: color(i),
  }));
  return {
    id: 'rtf',
    title: 'Real-time factor by model and threads',
    note: 'mean RTF = processing time / audio time; below 1 is faster than real time',
    config: { type: 'bar', data: { labels: threads.map((t) => `${t} threads`), datasets }, options: baseOptions(axes('threads', 'RTF')) },
  };
}

function memoryChart(d: ReportData): ChartSpec | undefined {
  const rows = d.results.filter((x) => !x.row.error && (typeof x.row.peak_rss_mb === 'number' || typeof x.row.model_buffer_mb === 'number'));
  const groups = groupBy(rows, (x) => modelName(x.row));
  if (groups.size === 0) return undefined;
  const med = (xs: typeof rows, k: string) => {
    const v = xs.map((x) => x.row[k]).filter((y): y is number => typeof y === 'number' && Number.isFinite(y));
    return v.length ? r3(v.sort((a, b) => a - b)[v.length >> 1]) : null;
  };
  const fields: [string, string][] = [
    ['peak_rss_mb', 'peak RSS'],
    ['model_buffer_mb', 'weights'],
    ['kv_buffer_mb', 'KV caches'],
    ['compute_buffer_mb', 'compute buffers'],
  ];
  const datasets = fields
    .map(([k, label], i) => ({ label, data: [...groups.values()].map((xs) => med(xs, k)), backgroundColor: color(i) }))
    .filter((ds) => ds.data.some((v) => v !== null));
  return {
    id: 'memory',
    title: 'Memory by model',
    note: 'MB (10^6 bytes): median over the cells of each model',
    config: { type: 'bar', data: { labels: [...groups.keys()], datasets }, options: baseOptions(axes('model', 'MB')) },
  };
}

function historyChart(d: ReportData, metric: string): ChartSpec | undefined {
  const runs = new Map(d.runs.map((r) => [r.id, r]));
  const rows = d.results.filter((x) => !x.row.error && valueOf(x.row[metric]) !== undefined);
  if (rows.length === 0) return undefined;
  const runIds = [...new Set(rows.map((x) => x.run_id))];
  runIds.sort((a, b) => {
    const ra = runs.get(a)?.started_at ?? '';
    const rb = runs.get(b)?.started_at ?? '';
    return ra < rb ? -1 : ra > rb ? 1 : a - b;
  });
  const labels = runIds.map((id) => {
    const r = runs.get(id);
    return `#${id} ${r?.git_commit ? r.git_commit.slice(0, 7) : ''} ${r?.started_at.slice(0, 10) ?? ''}`.replace(/ +/g, ' ').trim();
  });
  const groups = groupBy(rows, (x) => `${x.row.what} ${modelName(x.row)} -t ${x.row.threads ?? ''} ${faOf(x.row)}`.replace(/ +/g, ' ').trim());
  const datasets = [...groups].map(([label, xs], i) => ({
    label,
    data: runIds.map((id) => {
      const v = xs.filter((x) => x.run_id === id).map((x) => valueOf(x.row[metric])!);
      return v.length ? r3(v.reduce((a, b) => a + b, 0) / v.length) : null;
    }),
    borderColor: color(i),
    backgroundColor: color(i),
    spanGaps: true,
  }));
  return {
    id: 'history',
    title: `History of ${metric}`,
    note: 'per run, oldest first, labelled by run id, git commit and date',
    config: { type: 'line', data: { labels, datasets }, options: baseOptions(axes('run', metric)) },
  };
}

function qualityChart(d: ReportData): ChartSpec | undefined {
  const rows = d.results.filter((x) => !x.row.error && valueOf(x.row.wer) !== undefined && (valueOf(x.row.rtf) !== undefined || valueOf(x.row.encode_ms) !== undefined));
  if (rows.length === 0) return undefined;
  const useRtf = rows.every((x) => valueOf(x.row.rtf) !== undefined);
  const groups = groupBy(rows, (x) => modelName(x.row));
  const datasets = [...groups].map(([label, xs], i) => ({
    label,
    data: xs.map((x) => ({ x: r3(valueOf(useRtf ? x.row.rtf : x.row.encode_ms)!), y: r3(valueOf(x.row.wer)! * 100) })),
    backgroundColor: color(i),
    pointRadius: 5,
  }));
  return {
    id: 'quality',
    title: 'Quality against speed',
    note: `word error rate (%) against ${useRtf ? 'RTF' : 'encode ms'}; down and left is better`,
    config: { type: 'scatter', data: { datasets }, options: baseOptions(axes(useRtf ? 'RTF' : 'encode ms', 'WER %')) },
  };
}

/** Which charts the data allows, in page order. */
export function chartSpecs(d: ReportData, options: { metric?: string } = {}): { charts: ChartSpec[]; missing: string[] } {
  const all: [string, ChartSpec | undefined][] = [
    ['thread scaling (no encoder results)', scalingChart(d)],
    ['stage breakdown (no encoder results)', stagesChart(d)],
    ['RTF by model and threads (no rtf results)', rtfChart(d)],
    ['memory by model (no memory figures)', memoryChart(d)],
    [`history of ${options.metric ?? 'encode_ms'} (no such metric)`, historyChart(d, options.metric ?? 'encode_ms')],
    ['quality against speed (no WER results)', qualityChart(d)],
  ];
  return { charts: all.map(([, c]) => c).filter((c): c is ChartSpec => c !== undefined), missing: all.filter(([, c]) => !c).map(([m]) => m) };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** JSON that is safe inside a <script> element. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

function htmlTable(t: ReportTable): string {
  const cell = (c: Cell) => (c === null ? '' : typeof c === 'boolean' ? (c ? 'yes' : 'no') : esc(String(c)));
  const num = t.columns.map((_, i) => t.rows.some((r) => typeof r[i] === 'number'));
  return `<table><thead><tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${t.rows
    .map((r) => `<tr>${t.columns.map((_, i) => `<td${num[i] ? ' class="n"' : ''}>${cell(r[i] ?? null)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** The page (a string of HTML). `subtitle` says what was selected. */
export function reportHtml(d: ReportData, options: { metric?: string; subtitle?: string; generatedAt?: string } = {}): string {
  const lib = chartLibrary();
  const { charts, missing } = chartSpecs(d, options);
  const tables = buildViews(d, ['runs', 'fastest', 'threads', 'rtf', 'stages', 'memory'], options).filter((t) => t.rows.length > 0);
  const figures = charts
    .map((c) => `<figure id="fig-${c.id}"><figcaption><b>${esc(c.title)}</b> — ${esc(c.note)}</figcaption><canvas id="chart-${c.id}" width="880" height="380"></canvas></figure>`)
    .join('\n');
  const code = lib.code.replace(/<\/script/gi, '<\\/script');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>whisper-perf report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 940px; color: #222; background: #fff; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
.sub { color: #666; margin-top: 0; }
figure { margin: 18px 0; padding: 10px; border: 1px solid #ddd; border-radius: 6px; }
figcaption { margin-bottom: 6px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 12px; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; }
.missing { color: #777; }
</style>
</head>
<body>
<h1>whisper-perf report</h1>
<p class="sub">${esc(options.subtitle ?? `${d.runs.length} run(s), ${d.results.length} result(s)`)}${options.generatedAt ? ` · generated ${esc(options.generatedAt)}` : ''} · charts by Chart.js ${esc(lib.version)}</p>
${figures}
${missing.length ? `<p class="missing">Not drawn: ${missing.map(esc).join('; ')}.</p>` : ''}
${tables.map((t) => `<h2>${esc(t.title)}</h2>${t.note ? `<p class="sub">${esc(t.note)}.</p>` : ''}${htmlTable(t)}`).join('\n')}
<script>${code}</script>
<script id="whisper-perf-charts" type="application/json">${scriptJson(charts.map((c) => ({ id: c.id, config: c.config })))}</script>
<script>
(function () {
  var state = { charts: [], errors: [], done: false };
  window.__whisperPerf = state;
  try {
    var specs = JSON.parse(document.getElementById('whisper-perf-charts').textContent);
    specs.forEach(function (s) {
      try {
        new Chart(document.getElementById('chart-' + s.id), s.config);
        state.charts.push(s.id);
      } catch (e) {
        state.errors.push(s.id + ': ' + e.message);
        console.error('chart ' + s.id + ': ' + e.message);
      }
    });
  } catch (e) {
    state.errors.push(String(e && e.message));
    console.error(e);
  }
  state.done = true;
})();
</script>
</body>
</html>
`;
}
