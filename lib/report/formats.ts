/**
 * Output formats of BenchRows: a markdown table for people, and csv / json / jsonl / sql for
 * programs. csv and sql share one flat column list (flattenRow / COLUMNS), the same for every
 * row whatever it measured, so files from several runs can be concatenated or appended.
 *
 * Flattening rules:
 * - each Stat `x` becomes x_median, x_mean, x_sd, x_min, x_max, x_ci95, x_cv, x_n,
 *   x_outliers (count) and x_samples (the raw samples joined with ';');
 * - cold.* becomes cold_load_ms, cold_encode_ms, ...;
 * - provenance: build.* becomes build_variant, build_type, build_backends (joined with ' '),
 *   build_compiler, build_sanitizer, build_options ('k=v' joined with ' '); cpu_features is
 *   joined with ' ';
 * - warnings are joined with ' | '; error becomes error_code and error_message;
 * - missing values and non-finite numbers are null: empty in csv, NULL in sql.
 * csv: RFC 4180 quoting (fields with a comma, quote, CR or LF are quoted, quotes doubled);
 * booleans are written true/false; lines end with '\n' (not CRLF) for Unix tools.
 * sql: booleans are 0/1.
 * Every format's text ends with a newline (json is JSON.stringify(rows, null, 2) plus '\n').
 */
import * as path from 'node:path';
import type { BenchRow, OutputFormat, Stat } from '../measure/types.js';
import { invalidArgument } from '../errors.js';
import { buildMdColumns, flattenHardware, hardwareMdColumns, HARDWARE_COLUMNS } from './hardware.js';
import { rtfMarkdown } from './rtf.js';
import { capacityMarkdown, flattenStream, streamMarkdown, STREAM_COLUMNS } from './stream.js';
import { flattenQuality, qualityMarkdown, QUALITY_COLUMNS } from './quality.js';

export type SqlType = 'TEXT' | 'INTEGER' | 'REAL';
export type FlatValue = string | number | boolean | null;

const STAT_KEYS = ['load_ms', 'mel_ms', 'encode_ms', 'decode_ms', 'batchd_ms', 'prompt_ms', 'memcpy_gbps', 'mulmat_gflops', 'process_s', 'rtf', 'rtfx', 'sample_ms', 'first_segment_ms'] as const;
type StatKey = (typeof STAT_KEYS)[number];
const STAGE_RUN_KEYS = ['encode', 'decode', 'batchd', 'prompt', 'sample'] as const;
const COLD_KEYS = ['load_ms', 'mel_ms', 'encode_ms', 'decode_ms', 'batchd_ms', 'prompt_ms'] as const;

const STAT_PARTS: readonly [string, SqlType][] = [
  ['median', 'REAL'],
  ['mean', 'REAL'],
  ['sd', 'REAL'],
  ['min', 'REAL'],
  ['max', 'REAL'],
  ['ci95', 'REAL'],
  ['cv', 'REAL'],
  ['n', 'INTEGER'],
  ['outliers', 'INTEGER'],
  ['samples', 'TEXT'],
];

/** The flat columns of csv and sql, in order, with their SQL types. */
export const COLUMNS: readonly { name: string; type: SqlType }[] = [
  ['what', 'TEXT'],
  ['model', 'TEXT'],
  ['model_type', 'TEXT'],
  ['ftype', 'TEXT'],
  ['synthetic', 'INTEGER'],
  ['threads', 'INTEGER'],
  ['flash_attn', 'INTEGER'],
  ['device', 'TEXT'],
  ['repetitions', 'INTEGER'],
  ['file', 'TEXT'],
  ['audio_s', 'REAL'],
  ['preset', 'TEXT'],
  ['language', 'TEXT'],
  ...STAT_KEYS.flatMap((k) => STAT_PARTS.map(([p, t]): [string, SqlType] => [`${k}_${p}`, t])),
  ...COLD_KEYS.map((k): [string, SqlType] => [`cold_${k}`, 'REAL']),
  ['mulmat_type', 'TEXT'],
  ['mulmat_size', 'INTEGER'],
  ['encoder_gflop', 'REAL'],
  ['encoder_gflops', 'REAL'],
  ['encoder_peak_fraction', 'REAL'],
  ['speedup', 'REAL'],
  ['efficiency', 'REAL'],
  ['knee_threads', 'INTEGER'],
  ['fallbacks', 'REAL'],
  ...STAGE_RUN_KEYS.map((k): [string, SqlType] => [`stage_runs_${k}`, 'REAL']),
  ['peak_rss_mb', 'REAL'],
  ['cpu_pct', 'REAL'],
  ...HARDWARE_COLUMNS,
  ...STREAM_COLUMNS,
  ...QUALITY_COLUMNS,
  ['warnings', 'TEXT'],
  ['error_code', 'TEXT'],
  ['error_message', 'TEXT'],
  ['timestamp', 'TEXT'],
  ['package_version', 'TEXT'],
  ['node_version', 'TEXT'],
  ['whisper_version', 'TEXT'],
  ['build_variant', 'TEXT'],
  ['build_type', 'TEXT'],
  ['build_backends', 'TEXT'],
  ['build_compiler', 'TEXT'],
  ['build_sanitizer', 'INTEGER'],
  ['build_options', 'TEXT'],
  ['cpu_model', 'TEXT'],
  ['cpu_features', 'TEXT'],
  ['cpu_cores', 'INTEGER'],
  ['memory_bytes', 'INTEGER'],
  ['os', 'TEXT'],
].map(([name, type]) => ({ name: name as string, type: type as SqlType }));

function num(x: number | undefined | null): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

function str(x: unknown): string | null {
  return x === undefined || x === null ? null : String(x);
}

/** A row as ordered flat columns (the order of COLUMNS). */
export function flattenRow(row: BenchRow): Record<string, FlatValue> {
  const f: Record<string, FlatValue> = {
    what: row.what,
    model: row.model ?? null,
    model_type: str(row.model_type),
    ftype: str(row.ftype),
    synthetic: typeof row.synthetic === 'boolean' ? row.synthetic : null,
    threads: num(row.threads),
    flash_attn: typeof row.flash_attn === 'boolean' ? row.flash_attn : null,
    device: str(row.device),
    repetitions: num(row.repetitions),
    file: str(row.file),
    audio_s: num(row.audio_s),
    preset: str(row.preset),
    language: str(row.language),
  };
  for (const k of STAT_KEYS) {
    const s: Stat | undefined = row[k as StatKey];
    f[`${k}_median`] = num(s?.median);
    f[`${k}_mean`] = num(s?.mean);
    f[`${k}_sd`] = num(s?.sd);
    f[`${k}_min`] = num(s?.min);
    f[`${k}_max`] = num(s?.max);
    f[`${k}_ci95`] = num(s?.ci95);
    f[`${k}_cv`] = num(s?.cv);
    f[`${k}_n`] = num(s?.n);
    f[`${k}_outliers`] = s ? (s.outliers?.length ?? 0) : null;
    f[`${k}_samples`] = s?.samples ? s.samples.join(';') : null;
  }
  for (const k of COLD_KEYS) f[`cold_${k}`] = num(row.cold?.[k]);
  f.mulmat_type = str(row.mulmat_type);
  f.mulmat_size = num(row.mulmat_size);
  f.encoder_gflop = num(row.encoder_gflop);
  f.encoder_gflops = num(row.encoder_gflops);
  f.encoder_peak_fraction = num(row.encoder_peak_fraction);
  f.speedup = num(row.speedup);
  f.efficiency = num(row.efficiency);
  f.knee_threads = num(row.knee_threads);
  f.fallbacks = num(row.fallbacks);
  for (const k of STAGE_RUN_KEYS) f[`stage_runs_${k}`] = num(row.stage_runs?.[k]);
  f.peak_rss_mb = num(row.peak_rss_mb);
  f.cpu_pct = num(row.cpu_pct);
  Object.assign(f, flattenHardware(row));
  Object.assign(f, flattenStream(row));
  Object.assign(f, flattenQuality(row));
  f.warnings = row.warnings && row.warnings.length > 0 ? row.warnings.join(' | ') : null;
  f.error_code = str(row.error?.code);
  f.error_message = str(row.error?.message);
  f.timestamp = str(row.timestamp);
  f.package_version = str(row.package_version);
  f.node_version = str(row.node_version);
  f.whisper_version = str(row.whisper_version);
  const b = row.build;
  f.build_variant = str(b?.variant);
  f.build_type = str(b?.build_type);
  f.build_backends = b?.backends ? b.backends.join(' ') : null;
  f.build_compiler = str(b?.compiler);
  f.build_sanitizer = typeof b?.sanitizer === 'boolean' ? b.sanitizer : null;
  f.build_options = b?.options
    ? Object.entries(b.options)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')
    : null;
  f.cpu_model = str(row.cpu_model);
  f.cpu_features = row.cpu_features ? row.cpu_features.join(' ') : null;
  f.cpu_cores = num(row.cpu_cores);
  f.memory_bytes = num(row.memory_bytes);
  f.os = str(row.os);
  // emit in COLUMNS order
  const ordered: Record<string, FlatValue> = {};
  for (const c of COLUMNS) ordered[c.name] = f[c.name] ?? null;
  return ordered;
}

/** Quote a csv field when RFC 4180 requires it. */
export function csvField(v: FlatValue): string {
  if (v === null) return '';
  const s = typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function toCsv(rows: readonly BenchRow[]): string {
  const lines = [COLUMNS.map((c) => c.name).join(',')];
  for (const r of rows) {
    const f = flattenRow(r);
    lines.push(COLUMNS.map((c) => csvField(f[c.name])).join(','));
  }
  return lines.join('\n') + '\n';
}

/** A SQL literal: NULL, 0/1 for booleans, numbers as written, strings quoted with '' escaping. */
export function sqlLiteral(v: FlatValue): string {
  if (v === null) return 'NULL';
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'NULL';
  return `'${v.replace(/'/g, "''")}'`;
}

/** The SQL table name used by the sql format. */
export const SQL_TABLE = 'bench';

function toSql(rows: readonly BenchRow[]): string {
  const names = COLUMNS.map((c) => c.name).join(', ');
  const out = [`CREATE TABLE IF NOT EXISTS ${SQL_TABLE} (\n${COLUMNS.map((c) => `  ${c.name} ${c.type}`).join(',\n')}\n);`];
  for (const r of rows) {
    const f = flattenRow(r);
    out.push(`INSERT INTO ${SQL_TABLE} (${names}) VALUES (${COLUMNS.map((c) => sqlLiteral(f[c.name])).join(', ')});`);
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------- markdown

function fix(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

function pm(s: Stat | undefined, digits: number): string {
  if (!s) return '';
  return `${fix(s.median, digits)} ± ${fix(s.sd, digits)}`;
}

function mdCell(s: string): string {
  return s.replace(/\r?\n|\r/g, ' ').replace(/\|/g, '\\|');
}

function backendDevice(row: BenchRow): string {
  // the device that really ran (where the weights live), when the row knows it
  if (row.backend) return row.backend;
  // a failed row ran on nothing: the device it asked for is in its error, not claimed here
  if (row.error) return row.device ? `none (asked ${asked(row)})` : 'none';
  return asked(row);
}

/** The device a row asked for: CPU, or the build's GPU backend and index (CUDA/0). */
function asked(row: BenchRow): string {
  if (!row.device || row.device === 'cpu') return 'CPU';
  const gpu = (row.build?.backends ?? []).find((b) => !['cpu', 'blas'].includes(b.toLowerCase()));
  return `${gpu ? gpu.toUpperCase() : 'GPU'}/${row.device}`;
}

interface MdColumn {
  title: string;
  right: boolean;
  cell: (r: BenchRow) => string;
}

function rowName(r: BenchRow): string {
  if (r.what === 'encoder') return `${r.model ? path.basename(r.model) : '(model)'}, ${r.threads} threads`;
  if (r.what === 'mulmat') return `mulmat ${r.mulmat_type ?? ''} ${r.mulmat_size ?? ''}, ${r.threads} threads`;
  return `memcpy, ${r.threads} threads`;
}

function toMarkdown(rows: readonly BenchRow[]): string {
  // stream and capacity rows get their own tables and verdicts: lib/report/stream.ts
  for (const [what, md] of [['stream', streamMarkdown], ['capacity', capacityMarkdown], ['quality', qualityMarkdown]] as const) {
    if (rows.some((r) => r.what === what)) {
      const others = rows.filter((r) => r.what !== what);
      return (others.length ? toMarkdown(others) + '\n' : '') + md(rows.filter((r) => r.what === what));
    }
  }
  // rtf rows (whole transcriptions) get their own table and summary: lib/report/rtf.ts
  if (rows.some((r) => r.what === 'rtf')) {
    const others = rows.filter((r) => r.what !== 'rtf');
    return (others.length ? toMarkdown(others) + '\n' : '') + rtfMarkdown(rows.filter((r) => r.what === 'rtf'));
  }
  const has = (p: (r: BenchRow) => boolean): boolean => rows.some(p);
  const anyEncoder = has((r) => r.what === 'encoder');
  const cols: MdColumn[] = [...buildMdColumns(rows)];
  if (anyEncoder || rows.length === 0) {
    cols.push(
      { title: 'model', right: false, cell: (r) => (r.model ? path.basename(r.model) : '') },
      { title: 'model_type', right: false, cell: (r) => r.model_type ?? '' },
      { title: 'ftype', right: false, cell: (r) => r.ftype ?? '' },
      // a cell whose model never loaded (no model_type) does not know whether its weights are synthetic
      { title: 'synthetic', right: false, cell: (r) => (r.what === 'encoder' && r.model_type ? (r.synthetic ? 'yes' : 'no') : '') },
    );
  }
  cols.push(
    { title: 'backend/device', right: false, cell: backendDevice },
    { title: 'threads', right: true, cell: (r) => String(r.threads) },
  );
  if (anyEncoder) cols.push({ title: 'fa', right: false, cell: (r) => (r.what === 'encoder' ? (r.flash_attn ? 'on' : 'off') : '') });
  const timing = (key: StatKey, title: string, digits: number): void => {
    if (has((r) => r[key] !== undefined)) cols.push({ title, right: true, cell: (r) => pm(r[key], digits) });
  };
  timing('encode_ms', 'encode ms', 2);
  timing('decode_ms', 'decode ms/tok', 2);
  timing('batchd_ms', 'batchd ms/tok', 2);
  timing('prompt_ms', 'prompt ms/tok', 2);
  timing('load_ms', 'load ms', 2);
  timing('mel_ms', 'mel 30s ms', 2);
  if (has((r) => typeof r.encoder_gflops === 'number')) {
    cols.push({ title: 'enc GFLOPS', right: true, cell: (r) => (typeof r.encoder_gflops === 'number' ? fix(r.encoder_gflops, 1) : '') });
  }
  if (has((r) => typeof r.encoder_peak_fraction === 'number')) {
    cols.push({ title: 'of peak', right: true, cell: (r) => (typeof r.encoder_peak_fraction === 'number' ? `${fix(r.encoder_peak_fraction * 100, 0)}%` : '') });
  }
  if (has((r) => typeof r.speedup === 'number')) {
    cols.push({ title: 'speed-up', right: true, cell: (r) => (typeof r.speedup === 'number' ? `${fix(r.speedup, 2)}×` : '') });
    cols.push({ title: 'efficiency', right: true, cell: (r) => (typeof r.efficiency === 'number' ? `${fix(r.efficiency * 100, 0)}%` : '') });
  }
  timing('memcpy_gbps', 'memcpy GB/s', 2);
  if (has((r) => r.what === 'mulmat' || r.mulmat_gflops !== undefined)) {
    cols.push(
      { title: 'type', right: false, cell: (r) => r.mulmat_type ?? '' },
      { title: 'size', right: true, cell: (r) => (r.mulmat_size !== undefined ? String(r.mulmat_size) : '') },
      { title: 'GFLOPS', right: true, cell: (r) => pm(r.mulmat_gflops, 1) },
    );
  }
  cols.push(...hardwareMdColumns(rows));
  if (has((r) => r.error !== undefined)) {
    cols.push({ title: 'error', right: false, cell: (r) => (r.error ? `${r.error.code}: ${r.error.message}` : '') });
  }

  const body = rows.map((r) => cols.map((c) => mdCell(c.cell(r))));
  const titles = cols.map((c) => mdCell(c.title));
  const widths = cols.map((c, i) => Math.max(3, titles[i].length, ...body.map((b) => b[i].length)));
  const pad = (s: string, i: number): string => (cols[i].right ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const line = (cells: string[]): string => `| ${cells.map(pad).join(' | ')} |`;
  const sep = `| ${cols.map((c, i) => (c.right ? '-'.repeat(widths[i] - 1) + ':' : '-'.repeat(widths[i]))).join(' | ')} |`;
  const out = [line(titles), sep, ...body.map(line)];

  const warnings: string[] = [];
  rows.forEach((r, i) => {
    for (const w of r.warnings ?? []) warnings.push(`- row ${i + 1} (${rowName(r)}): ${w.replace(/\r?\n|\r/g, ' ')}`);
  });
  if (warnings.length > 0) out.push('', 'Warnings:', '', ...warnings);
  return out.join('\n') + '\n';
}

/** Render rows in an output format. */
export function formatRows(rows: readonly BenchRow[], format: OutputFormat): string {
  // a 4-billion-slot sparse array would be walked slot by slot: refused before any walking
  if (!Array.isArray(rows) || rows.length > 1_000_000) throw invalidArgument('rows', rows, 'an array of at most 1000000 BenchRows');
  if (!['md', 'csv', 'json', 'jsonl', 'sql'].includes(format as string)) throw invalidArgument('output format', format, 'md, csv, json, jsonl, sql');
  switch (format) {
    case 'md':
      return toMarkdown(rows);
    case 'csv':
      return toCsv(rows);
    case 'json':
      return JSON.stringify(rows, null, 2) + '\n';
    case 'jsonl':
      return rows.map((r) => JSON.stringify(r) + '\n').join('');
    case 'sql':
      return toSql(rows);
    default: {
      const never: never = format;
      throw invalidArgument('output format', never, 'md, csv, json, jsonl, sql');
    }
  }
}
