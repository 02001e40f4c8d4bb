/**
 * Output of stream and capacity rows (`what: 'stream'` / `'capacity'`): their markdown (a table,
 * the warnings once each, then the verdict — the stream's text, or the largest real-time N) and
 * their flat columns for csv / sql (STREAM_COLUMNS, flattenStream), which formats.ts appends to
 * every row's columns so files of mixed rows still concatenate.
 */
import * as path from 'node:path';

import type { BenchRow, Stat } from '../measure/types.js';
import { fixed, recordTable, warningLines, type RecordColumn } from './table.js';

type SqlType = 'TEXT' | 'INTEGER' | 'REAL';
type FlatValue = string | number | boolean | null;

const STREAM_STATS = ['latency_ms', 'step_compute_ms'] as const;
const STAT_PARTS: readonly [string, SqlType][] = [
  ['median', 'REAL'],
  ['mean', 'REAL'],
  ['sd', 'REAL'],
  ['min', 'REAL'],
  ['max', 'REAL'],
  ['n', 'INTEGER'],
  ['samples', 'TEXT'],
];

/** The flat columns of stream and capacity rows (empty for other rows). */
export const STREAM_COLUMNS: readonly [string, SqlType][] = [
  ['step_ms', 'INTEGER'],
  ['length_ms', 'INTEGER'],
  ['keep_ms', 'INTEGER'],
  ['realtime_pace', 'INTEGER'],
  ['stream_clock', 'TEXT'],
  ['steps', 'INTEGER'],
  ...STREAM_STATS.flatMap((k) => STAT_PARTS.map(([p, t]): [string, SqlType] => [`${k}_${p}`, t])),
  ['latency_p50_ms', 'REAL'],
  ['latency_p95_ms', 'REAL'],
  ['latency_max_ms', 'REAL'],
  ['on_time_fraction', 'REAL'],
  ['dropped_audio_s', 'REAL'],
  ['keeps_up', 'INTEGER'],
  ['verdict', 'TEXT'],
  ['text', 'TEXT'],
  ['wall_s', 'REAL'],
  ['streams', 'INTEGER'],
  ['capacity_mode', 'TEXT'],
  ['throughput_x', 'REAL'],
  ['realtime_ok', 'INTEGER'],
  ['max_realtime_streams', 'INTEGER'],
  ['stream_memory_mb', 'REAL'],
  ['memory_needed_mb', 'REAL'],
  ['memory_available_mb', 'REAL'],
];

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const str = (x: unknown): string | null => (x === undefined || x === null ? null : String(x));
const bool = (x: unknown): boolean | null => (typeof x === 'boolean' ? x : null);

/** The stream and capacity fields of a row as flat values (names of STREAM_COLUMNS). */
export function flattenStream(row: BenchRow): Record<string, FlatValue> {
  const f: Record<string, FlatValue> = {
    step_ms: num(row.step_ms),
    length_ms: num(row.length_ms),
    keep_ms: num(row.keep_ms),
    realtime_pace: bool(row.realtime_pace),
    stream_clock: str(row.stream_clock),
    steps: num(row.steps),
  };
  for (const k of STREAM_STATS) {
    const s: Stat | undefined = row[k];
    f[`${k}_median`] = num(s?.median);
    f[`${k}_mean`] = num(s?.mean);
    f[`${k}_sd`] = num(s?.sd);
    f[`${k}_min`] = num(s?.min);
    f[`${k}_max`] = num(s?.max);
    f[`${k}_n`] = num(s?.n);
    f[`${k}_samples`] = s?.samples ? s.samples.join(';') : null;
  }
  Object.assign(f, {
    latency_p50_ms: num(row.latency_p50_ms),
    latency_p95_ms: num(row.latency_p95_ms),
    latency_max_ms: num(row.latency_max_ms),
    on_time_fraction: num(row.on_time_fraction),
    dropped_audio_s: num(row.dropped_audio_s),
    keeps_up: bool(row.keeps_up),
    verdict: str(row.verdict),
    text: str(row.text),
    wall_s: num(row.wall_s),
    streams: num(row.streams),
    capacity_mode: str(row.capacity_mode),
    throughput_x: num(row.throughput_x),
    realtime_ok: bool(row.realtime_ok),
    max_realtime_streams: num(row.max_realtime_streams),
    stream_memory_mb: num(row.stream_memory_mb),
    memory_needed_mb: num(row.memory_needed_mb),
    memory_available_mb: num(row.memory_available_mb),
  });
  return f;
}

// ---------------------------------------------------------------- markdown

const fix = fixed;
const base = (p: string | undefined) => (p ? path.basename(p) : '');

type Col = RecordColumn<BenchRow>;
const table = recordTable;

function syntheticNote(rows: readonly BenchRow[]): string[] {
  const synthetic = [...new Set(rows.filter((r) => r.synthetic).map((r) => base(r.model)))];
  return synthetic.length ? [`> **Synthetic weights** (${synthetic.join(', ')}): timings are real, transcripts are meaningless.`, ''] : [];
}

/** The columns both tables open with: which model, which file, how long. */
const leadCols: Col[] = [
  { title: 'model', right: false, cell: (r) => base(r.model) },
  { title: 'file', right: false, cell: (r) => base(r.file) },
  { title: 'audio s', right: true, cell: (r) => fix(r.audio_s, 1) },
];

const errorCol: Col = { title: 'error', right: false, cell: (r) => (r.error ? `${r.error.code}: ${r.error.message}` : '') };

/** The markdown of stream rows: the latency table, warnings, then each stream's verdict and text. */
export function streamMarkdown(rows: readonly BenchRow[]): string {
  const out = syntheticNote(rows);
  out.push(
    ...table(rows, [
      ...leadCols,
      { title: 'threads', right: true, cell: (r) => String(r.threads) },
      { title: 'preset', right: false, cell: (r) => r.preset ?? '' },
      { title: 'step/length/keep ms', right: true, cell: (r) => (r.step_ms !== undefined ? `${r.step_ms}/${r.length_ms}/${r.keep_ms}` : '') },
      { title: 'pace', right: false, cell: (r) => (r.realtime_pace === undefined ? '' : r.realtime_pace ? 'real time' : 'fast (virtual clock)') },
      { title: 'steps', right: true, cell: (r) => (r.steps === undefined ? '' : String(r.steps)) },
      { title: 'latency p50 ms', right: true, cell: (r) => fix(r.latency_p50_ms, 0) },
      { title: 'p95 ms', right: true, cell: (r) => fix(r.latency_p95_ms, 0) },
      { title: 'max ms', right: true, cell: (r) => fix(r.latency_max_ms, 0) },
      { title: 'compute p50 ms', right: true, cell: (r) => fix(r.step_compute_ms?.median, 0) },
      { title: 'on time', right: true, cell: (r) => (typeof r.on_time_fraction === 'number' && Number.isFinite(r.on_time_fraction) ? `${(r.on_time_fraction * 100).toFixed(0)}%` : '') },
      { title: 'dropped s', right: true, cell: (r) => fix(r.dropped_audio_s, 1) },
      { title: 'keeps up', right: false, cell: (r) => (r.keeps_up === undefined ? '' : r.keeps_up ? 'yes' : 'no') },
      { title: 'peak RSS MB', right: true, cell: (r) => fix(r.peak_rss_mb, 0) },
      { title: 'CPU %', right: true, cell: (r) => fix(r.cpu_pct, 0) },
      { title: 'synthetic', right: false, cell: (r) => (r.error ? '' : r.synthetic ? 'yes' : 'no') },
      errorCol,
    ]),
  );
  out.push(...warningLines(rows));
  for (const [i, r] of rows.entries()) {
    if (r.error) continue;
    const who = rows.length > 1 ? ` (row ${i + 1})` : '';
    out.push('', `**Verdict${who}:** ${r.verdict ?? ''}`);
    const lines = (r.text ?? '').split('\n').filter((l) => l.trim() !== '');
    out.push('', `Text produced${r.synthetic ? ' (synthetic weights: meaningless)' : ''}:`, '');
    if (lines.length === 0) out.push('    (nothing)');
    else for (const l of lines) out.push(`    ${l}`);
  }
  return out.join('\n') + '\n';
}

/** The markdown of capacity rows: one line per N and mode, warnings, then the largest real-time N per mode. */
export function capacityMarkdown(rows: readonly BenchRow[]): string {
  const out = syntheticNote(rows);
  out.push(
    ...table(rows, [
      ...leadCols,
      { title: 'mode', right: false, cell: (r) => r.capacity_mode ?? '' },
      { title: 'N', right: true, cell: (r) => (r.streams === undefined ? '' : String(r.streams)) },
      { title: 'threads', right: true, cell: (r) => String(r.threads) },
      { title: 'preset', right: false, cell: (r) => r.preset ?? '' },
      { title: 'wall s', right: true, cell: (r) => fix(r.wall_s, 2) },
      { title: 'throughput (audio s / s)', right: true, cell: (r) => (r.throughput_x === undefined ? '' : `${fix(r.throughput_x, 2)}×`) },
      { title: 'latency p50 s', right: true, cell: (r) => fix(r.latency_p50_ms === undefined ? undefined : r.latency_p50_ms / 1000, 2) },
      { title: 'p95 s', right: true, cell: (r) => fix(r.latency_p95_ms === undefined ? undefined : r.latency_p95_ms / 1000, 2) },
      { title: 'max RTF', right: true, cell: (r) => fix(r.rtf?.max, 3) },
      { title: 'real time', right: false, cell: (r) => (r.realtime_ok === undefined ? '' : r.realtime_ok ? 'yes' : 'no') },
      { title: 'peak RSS MB', right: true, cell: (r) => fix(r.peak_rss_mb, 0) },
      { title: 'MB/stream (alloc)', right: true, cell: (r) => fix(r.stream_memory_mb, 1) },
      { title: 'CPU %', right: true, cell: (r) => fix(r.cpu_pct, 0) },
      errorCol,
    ]),
  );
  out.push(...warningLines(rows));
  out.push('', '**Capacity** — a cell is real time when every request finished in less time than its audio lasts; the answer is the largest N that is real time with every smaller N measured.', '');
  const modes = [...new Set(rows.map((r) => r.capacity_mode).filter((m): m is 'states' | 'workers' => m !== undefined))];
  for (const mode of modes) {
    const mine = rows.filter((r) => r.capacity_mode === mode);
    const r0 = mine[0];
    const best = r0.max_realtime_streams ?? 0;
    const how = mode === 'states' ? 'whisper states sharing one model' : 'worker threads with a model each';
    const failed = mine.filter((r) => r.error).length;
    const peak = mine.filter((r) => !r.error && r.streams === best)[0]?.peak_rss_mb;
    const largest = Math.max(...mine.map((r) => r.streams ?? 0));
    out.push(
      `- ${mode}: **${best}** concurrent stream${best === 1 ? '' : 's'} of ${base(r0.file)} (${fix(r0.audio_s, 1)} s) faster than real time (${how}, ${r0.threads} thread${r0.threads === 1 ? '' : 's'} each)` +
        (peak !== undefined ? `, peak RSS ${fix(peak, 0)} MB` : '') +
        (best > 0 && best === largest ? ` — the largest N measured: more may fit (try a larger -n)` : '') +
        (failed ? `; ${failed} cell${failed === 1 ? '' : 's'} failed` : ''),
    );
  }
  return out.join('\n') + '\n';
}
