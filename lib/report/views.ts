/**
 * `whisper-perf report`: views over stored results, each one table.
 *
 * - runs      one line per run: id, start, status, kind, source, host, tags, commit, results
 * - fastest   per model: the configuration with the lowest encode median (encoder rows)
 * - threads   per model × device × flash attention: encode median per thread count (samples
 *             pooled over runs), the best thread count, its speed-up over the fewest threads,
 *             parallel efficiency and the scaling knee (scaling() in stats.ts)
 * - rtf       per model × preset × threads (rtf rows): mean and best real-time factor, RTFx
 * - stages    per model × device × fa × threads (encoder rows): pooled medians of every stage
 * - memory    per model: peak RSS and CPU use of its cells, whisper.cpp's buffer sizes
 * - history   one metric (--metric, default encode_ms) per run and configuration, oldest first
 * - results   every stored row flat: run facts, parameters and each metric's median (csv's default)
 *
 * Everything is computed here from the rows the store returns, so SQLite and PostgreSQL give the
 * same report byte for byte.
 */
import { basename } from 'node:path';

import { scaling, summarize } from '../measure/stats.js';
import type { Stat } from '../measure/types.js';
import { WhisperPerfError } from '../errors.js';
import { isStat, metricsOf, valueOf } from '../store/metrics.js';
import type { RunRecord, StoredResult } from '../store/types.js';
import { csvField } from './formats.js';

export const VIEWS = ['runs', 'fastest', 'threads', 'rtf', 'stages', 'memory', 'history', 'results'] as const;
export type ViewName = (typeof VIEWS)[number];
/** The views a plain `report` shows (results is for csv and programs). */
export const DEFAULT_VIEWS: readonly ViewName[] = ['runs', 'fastest', 'threads', 'rtf', 'stages', 'memory', 'history'];

export type Cell = string | number | boolean | null;

export interface ReportTable {
  view: ViewName;
  title: string;
  /** one line under the title (md) */
  note?: string;
  columns: string[];
  rows: Cell[][];
}

export interface ReportData {
  runs: RunRecord[];
  results: StoredResult[];
}

type Row = StoredResult['row'];

const s = (r: Row, k: string): string => (typeof r[k] === 'string' ? (r[k] as string) : '');
const n = (r: Row, k: string): number | undefined => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : undefined);
const stat = (r: Row, k: string): Stat | undefined => (isStat(r[k]) ? (r[k] as Stat) : undefined);
export const modelName = (r: Row): string => (s(r, 'model') ? basename(s(r, 'model')) : '');
const fa = (r: Row): string => (typeof r.flash_attn === 'boolean' ? (r.flash_attn ? 'on' : 'off') : '');
const ok = (x: StoredResult) => !x.row.error;

function round(x: number | undefined, d: number): number | null {
  if (x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** Pooled statistic of several rows' Stats (all their samples). */
export function pool(stats: readonly (Stat | undefined)[]): Stat | undefined {
  const samples = stats.flatMap((x) => x?.samples ?? []);
  return samples.length ? summarize(samples) : undefined;
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function runsView(d: ReportData): ReportTable {
  return {
    view: 'runs',
    title: 'Runs',
    columns: ['run', 'started', 'status', 'kind', 'source', 'host', 'tags', 'commit', 'results'],
    rows: d.runs.map((r) => [
      r.id,
      r.started_at,
      r.status,
      r.kind,
      r.source,
      r.host,
      r.tags.join(' '),
      r.git_commit ? `${r.git_commit.slice(0, 10)}${r.git_dirty ? '+dirty' : ''}` : '',
      r.results,
    ]),
  };
}

function encoderRows(d: ReportData): StoredResult[] {
  return d.results.filter((x) => ok(x) && x.row.what === 'encoder' && stat(x.row, 'encode_ms'));
}

function fastestView(d: ReportData): ReportTable {
  const rows: Cell[][] = [];
  for (const [model, xs] of [...groupBy(encoderRows(d), (x) => modelName(x.row))].sort(([a], [b]) => byText(a, b))) {
    let best = xs[0];
    for (const x of xs) if (stat(x.row, 'encode_ms')!.median < stat(best.row, 'encode_ms')!.median) best = x;
    const r = best.row;
    rows.push([model, s(r, 'device'), fa(r), n(r, 'threads') ?? null, round(stat(r, 'encode_ms')?.median, 2), round(stat(r, 'decode_ms')?.median, 3), round(n(r, 'encoder_gflops'), 1), best.run_id, xs.length]);
  }
  return {
    view: 'fastest',
    title: 'Fastest configuration per model',
    note: 'the stored cell with the lowest encode median (ms); decode is ms per token',
    columns: ['model', 'device', 'fa', 'threads', 'encode_ms', 'decode_ms', 'enc_gflops', 'run', 'cells'],
    rows,
  };
}

function threadsView(d: ReportData): ReportTable {
  const rows: Cell[][] = [];
  const groups = groupBy(encoderRows(d), (x) => JSON.stringify([modelName(x.row), s(x.row, 'device'), fa(x.row)]));
  for (const [key, xs] of [...groups].sort(([a], [b]) => byText(a, b))) {
    const [model, device, f] = JSON.parse(key) as string[];
    const byThreads = groupBy(xs, (x) => String(n(x.row, 'threads') ?? 0));
    const points = [...byThreads]
      .map(([t, ys]) => ({ threads: Number(t), stat: pool(ys.map((y) => stat(y.row, 'encode_ms')))! }))
      .filter((p) => p.threads >= 1 && p.stat && p.stat.median > 0)
      .sort((a, b) => a.threads - b.threads);
    if (points.length === 0) continue;
    const sc = scaling(points.map((p) => ({ threads: p.threads, median: p.stat.median })));
    const best = sc.points.find((p) => p.threads === sc.best)!;
    rows.push([model, device, f, points.map((p) => p.threads).join(','), sc.best, round(best.median, 2), round(best.speedup, 2), round(best.efficiency, 2), points.length > 1 ? sc.knee : null]);
  }
  return {
    view: 'threads',
    title: 'Best thread count per model',
    note: 'encode median per thread count, samples pooled over runs; speed-up and efficiency against the fewest threads measured',
    columns: ['model', 'device', 'fa', 'threads_measured', 'best_threads', 'encode_ms', 'speedup', 'efficiency', 'knee'],
    rows,
  };
}

function rtfRows(d: ReportData): StoredResult[] {
  return d.results.filter((x) => ok(x) && x.row.what === 'rtf' && valueOf(x.row.rtf) !== undefined);
}

function rtfView(d: ReportData): ReportTable {
  const rows: Cell[][] = [];
  const groups = groupBy(rtfRows(d), (x) => JSON.stringify([modelName(x.row), s(x.row, 'preset'), n(x.row, 'threads') ?? 0]));
  const sorted = [...groups].sort(([a], [b]) => {
    const [ma, pa, ta] = JSON.parse(a) as [string, string, number];
    const [mb, pb, tb] = JSON.parse(b) as [string, string, number];
    return byText(ma, mb) || byText(pa, pb) || ta - tb;
  });
  for (const [key, xs] of sorted) {
    const [model, preset, threads] = JSON.parse(key) as [string, string, number];
    const samples = xs.flatMap((x) => (isStat(x.row.rtf) ? (x.row.rtf as Stat).samples : [x.row.rtf as number]));
    const rtfx = pool(xs.map((x) => stat(x.row, 'rtfx')));
    const native = xs.some((x) => x.row.native === true);
    rows.push([model, preset, threads, xs.length, round(samples.reduce((a, b) => a + b, 0) / samples.length, 4), round(Math.min(...samples), 4), rtfx ? round(rtfx.mean, 2) : null, native ? 'yes' : 'no']);
  }
  return {
    view: 'rtf',
    title: 'Real-time factor per model and threads',
    note: 'RTF = processing time / audio time (below 1: faster than real time); mean and best over every stored run; RTFx = audio time / processing time',
    columns: ['model', 'preset', 'threads', 'cells', 'rtf_mean', 'rtf_best', 'rtfx_mean', 'native'],
    rows,
  };
}

const STAGES = ['load_ms', 'mel_ms', 'encode_ms', 'decode_ms', 'batchd_ms', 'prompt_ms'] as const;

function stagesView(d: ReportData): ReportTable {
  const rows: Cell[][] = [];
  const groups = groupBy(encoderRows(d), (x) => JSON.stringify([modelName(x.row), s(x.row, 'device'), fa(x.row), n(x.row, 'threads') ?? 0]));
  const sorted = [...groups].sort(([a], [b]) => {
    const pa = JSON.parse(a) as [string, string, string, number];
    const pb = JSON.parse(b) as [string, string, string, number];
    return byText(pa[0], pb[0]) || byText(pa[1], pb[1]) || byText(pa[2], pb[2]) || pa[3] - pb[3];
  });
  for (const [key, xs] of sorted) {
    const [model, device, f, threads] = JSON.parse(key) as [string, string, string, number];
    rows.push([model, device, f, threads, ...STAGES.map((k) => round(pool(xs.map((x) => stat(x.row, k)))?.median, k === 'decode_ms' || k === 'batchd_ms' || k === 'prompt_ms' ? 3 : 2)), xs.length]);
  }
  return {
    view: 'stages',
    title: 'Stage breakdown',
    note: 'pooled medians, ms: load, mel of 30 s, one encode, and per token for decode, batchd (5-token batches) and prompt (256-token prompts)',
    columns: ['model', 'device', 'fa', 'threads', ...STAGES, 'cells'],
    rows,
  };
}

function memoryView(d: ReportData): ReportTable {
  const rows: Cell[][] = [];
  const xs = d.results.filter((x) => ok(x) && (n(x.row, 'peak_rss_mb') !== undefined || n(x.row, 'model_buffer_mb') !== undefined));
  for (const [model, ys] of [...groupBy(xs, (x) => modelName(x.row))].sort(([a], [b]) => byText(a, b))) {
    const vals = (k: string) => ys.map((y) => n(y.row, k)).filter((v): v is number => v !== undefined);
    const med = (k: string, dgt: number) => {
      const v = vals(k);
      return v.length ? round(summarize(v).median, dgt) : null;
    };
    const max = (k: string) => {
      const v = vals(k);
      return v.length ? round(Math.max(...v), 1) : null;
    };
    rows.push([model, ys.length, max('peak_rss_mb'), med('peak_rss_mb', 1), med('cpu_pct', 0), med('model_buffer_mb', 1), med('kv_buffer_mb', 1), med('compute_buffer_mb', 1)]);
  }
  return {
    view: 'memory',
    title: 'Memory per model',
    note: 'MB (10^6 bytes): peak resident set size of the cells (max and median), CPU use in % of one core, whisper.cpp buffers',
    columns: ['model', 'cells', 'peak_rss_max', 'peak_rss_median', 'cpu_pct', 'model_buffer', 'kv_buffer', 'compute_buffer'],
    rows,
  };
}

function historyView(d: ReportData, metric: string): ReportTable {
  const runs = new Map(d.runs.map((r) => [r.id, r]));
  const rows: Cell[][] = [];
  for (const x of d.results) {
    if (!ok(x)) continue;
    const v = x.row[metric];
    const value = valueOf(v);
    if (value === undefined) continue;
    const run = runs.get(x.run_id);
    const st = isStat(v) ? (v as Stat) : undefined;
    rows.push([
      x.run_id,
      run?.started_at ?? '',
      run?.git_commit ? `${run.git_commit.slice(0, 10)}${run.git_dirty ? '+dirty' : ''}` : '',
      run?.host ?? '',
      x.row.what,
      modelName(x.row),
      n(x.row, 'threads') ?? null,
      round(value, 4),
      st ? round(st.ci95, 4) : null,
      st ? st.n : null,
    ]);
  }
  return {
    view: 'history',
    title: `History of ${metric}`,
    note: 'per run, oldest first: the median (or the figure) with the half-width of its 95% interval',
    columns: ['run', 'started', 'commit', 'host', 'what', 'model', 'threads', metric, 'ci95', 'n'],
    rows,
  };
}

function resultsView(d: ReportData): ReportTable {
  const runs = new Map(d.runs.map((r) => [r.id, r]));
  const names: string[] = [];
  const seen = new Set<string>();
  for (const x of d.results) for (const m of metricsOf(x.row)) if (!seen.has(m.name)) seen.add(m.name), names.push(m.name);
  const rows = d.results.map((x) => {
    const run = runs.get(x.run_id);
    const ms = new Map(metricsOf(x.row).map((m) => [m.name, m.value]));
    const err = x.row.error as { code?: string } | undefined;
    return [
      x.run_id,
      x.seq,
      run?.started_at ?? '',
      run?.host ?? '',
      run?.tags.join(' ') ?? '',
      run?.git_commit ?? '',
      x.row.what,
      s(x.row, 'model'),
      n(x.row, 'threads') ?? null,
      s(x.row, 'device'),
      fa(x.row),
      s(x.row, 'file'),
      s(x.row, 'preset'),
      x.row.native === true,
      ...names.map((k) => ms.get(k) ?? null),
      err?.code ?? '',
    ] as Cell[];
  });
  return {
    view: 'results',
    title: 'Results',
    note: 'every stored row; each metric is its median (statistics) or its value (figures)',
    columns: ['run', 'seq', 'started', 'host', 'tags', 'commit', 'what', 'model', 'threads', 'device', 'fa', 'file', 'preset', 'native', ...names, 'error'],
    rows,
  };
}

/** Builds the views asked for. */
export function buildViews(d: ReportData, views: readonly ViewName[], options: { metric?: string } = {}): ReportTable[] {
  return views.map((v) => {
    switch (v) {
      case 'runs':
        return runsView(d);
      case 'fastest':
        return fastestView(d);
      case 'threads':
        return threadsView(d);
      case 'rtf':
        return rtfView(d);
      case 'stages':
        return stagesView(d);
      case 'memory':
        return memoryView(d);
      case 'history':
        return historyView(d, options.metric ?? 'encode_ms');
      case 'results':
        return resultsView(d);
      default:
        throw new WhisperPerfError(`unknown view ${String(v)}`, 'USAGE');
    }
  });
}

// ---------------------------------------------------------------- rendering

function text(c: Cell): string {
  if (c === null) return '';
  if (typeof c === 'boolean') return c ? 'yes' : 'no';
  return String(c);
}

/** An aligned markdown table; numeric columns right-aligned. */
export function mdGrid(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const esc = (x: string) => x.replace(/\r?\n|\r/g, ' ').replace(/\|/g, '\\|');
  const body = rows.map((r) => columns.map((_, i) => esc(text(r[i] ?? null))));
  const right = columns.map((_, i) => rows.some((r) => typeof r[i] === 'number') && rows.every((r) => r[i] === null || typeof r[i] === 'number'));
  const widths = columns.map((c, i) => Math.max(3, esc(c).length, ...body.map((b) => b[i].length)));
  const pad = (x: string, i: number) => (right[i] ? x.padStart(widths[i]) : x.padEnd(widths[i]));
  const line = (cells: string[]) => `| ${cells.map(pad).join(' | ')} |`;
  const sep = `| ${widths.map((w, i) => (right[i] ? '-'.repeat(w - 1) + ':' : '-'.repeat(w))).join(' | ')} |`;
  return [line(columns.map(esc)), sep, ...body.map(line)].join('\n') + '\n';
}

/** Renders views: md (sections), json (an object of arrays of row objects), csv (one view). */
export function renderViews(tables: readonly ReportTable[], format: 'md' | 'csv' | 'json'): string {
  if (format === 'json') {
    const out: Record<string, Record<string, Cell>[]> = {};
    for (const t of tables) out[t.view] = t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, r[i] ?? null])));
    return JSON.stringify(out, null, 2) + '\n';
  }
  if (format === 'csv') {
    if (tables.length !== 1) throw new WhisperPerfError(`-o csv holds one table: choose one view with --view (${VIEWS.join(', ')})`, 'USAGE');
    const t = tables[0];
    return [t.columns.join(','), ...t.rows.map((r) => t.columns.map((_, i) => csvField(r[i] ?? null)).join(','))].join('\n') + '\n';
  }
  const parts: string[] = [];
  for (const t of tables) {
    parts.push(`## ${t.title}`, '');
    if (t.rows.length === 0) {
      parts.push(`(no ${t.view === 'runs' ? 'runs' : `results for this view`})`, '');
      continue;
    }
    if (t.note) parts.push(`${t.note}.`, '');
    parts.push(mdGrid(t.columns, t.rows));
  }
  return parts.join('\n').trimEnd() + '\n';
}
