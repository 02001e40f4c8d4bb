/**
 * The markdown of real-time-factor rows (`what: 'rtf'`): one line per model × file × preset ×
 * threads cell, the warnings (each said once, with the rows it concerns), then a summary:
 * - per model × threads: mean, min and max RTF over its cells;
 * - per configuration (model × preset × threads): its RTF over the files, whether it is faster
 *   than real time on every file, and the best configuration of each model (lowest mean RTF).
 * A cell's RTF in the summary is its median over the repetitions. Failed cells are listed in the
 * table and left out of the summary.
 */
import * as path from 'node:path';

import type { BenchRow, Stat } from '../measure/types.js';
import { fixed, recordTable, warningLines, type RecordColumn } from './table.js';

/** One model × threads group of the summary: the cells' median RTFs. */
export interface RtfThreadsGroup {
  model: string;
  threads: number;
  cells: number;
  mean: number;
  min: number;
  max: number;
  /** cells whose median RTF is below 1 */
  faster: number;
}

/** One configuration (model × preset × threads) over the files it ran on. */
export interface RtfConfiguration {
  model: string;
  preset: string;
  threads: number;
  files: number;
  /** mean of the files' median RTFs */
  mean: number;
  max: number;
  /** every file's median RTF below 1 */
  fasterThanRealTime: boolean;
  /** files with a median RTF below 1 */
  fasterFiles: number;
  /** the lowest mean RTF of its model */
  best: boolean;
  synthetic: boolean;
}

export interface RtfSummary {
  byThreads: RtfThreadsGroup[];
  configurations: RtfConfiguration[];
  /** the best configuration of each model, in the order models first appear */
  best: RtfConfiguration[];
  failed: number;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The summary of rtf rows (other rows and failed cells are ignored; failed ones counted). */
export function summarizeRtf(rows: readonly BenchRow[]): RtfSummary {
  const ok = rows.filter((r) => r.what === 'rtf' && !r.error && r.rtf && Number.isFinite(r.rtf.median));
  const failed = rows.filter((r) => r.what === 'rtf' && r.error).length;
  const byThreads = new Map<string, BenchRow[]>();
  const byConfig = new Map<string, BenchRow[]>();
  for (const r of ok) {
    const k1 = `${r.model}\0${r.threads}`;
    byThreads.set(k1, [...(byThreads.get(k1) ?? []), r]);
    const k2 = `${r.model}\0${r.preset ?? ''}\0${r.threads}`;
    byConfig.set(k2, [...(byConfig.get(k2) ?? []), r]);
  }
  const groups: RtfThreadsGroup[] = [...byThreads.values()].map((g) => {
    const m = g.map((r) => r.rtf!.median);
    return { model: g[0].model, threads: g[0].threads, cells: g.length, mean: mean(m), min: Math.min(...m), max: Math.max(...m), faster: m.filter((x) => x < 1).length };
  });
  groups.sort((a, b) => (a.model === b.model ? a.threads - b.threads : 0));
  const configurations: RtfConfiguration[] = [...byConfig.values()].map((g) => {
    const m = g.map((r) => r.rtf!.median);
    return {
      model: g[0].model,
      preset: g[0].preset ?? '',
      threads: g[0].threads,
      files: g.length,
      mean: mean(m),
      max: Math.max(...m),
      fasterThanRealTime: m.every((x) => x < 1),
      fasterFiles: m.filter((x) => x < 1).length,
      best: false,
      synthetic: g.some((r) => r.synthetic),
    };
  });
  const best: RtfConfiguration[] = [];
  for (const model of new Set(configurations.map((c) => c.model))) {
    const cs = configurations.filter((c) => c.model === model);
    // the lowest mean RTF among the configurations that ran on the most files (a fair comparison)
    const most = Math.max(...cs.map((c) => c.files));
    let b: RtfConfiguration | undefined;
    for (const c of cs) if (c.files === most && (!b || c.mean < b.mean)) b = c;
    if (b) {
      b.best = true;
      best.push(b);
    }
  }
  return { byThreads: groups, configurations, best, failed };
}

const fix = fixed;

/** An RTF with enough digits to compare small values. */
export function fmtRtf(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return x >= 10 ? x.toFixed(1) : x >= 0.1 ? x.toFixed(3) : x.toPrecision(3);
}

function pm(s: Stat | undefined, d: number): string {
  if (!s) return '';
  return s.n > 1 ? `${s.median.toFixed(d)} ± ${s.sd.toFixed(d)}` : s.median.toFixed(d);
}

type Col = RecordColumn<BenchRow>;
const table = recordTable;

const base = (p: string | undefined) => (p ? path.basename(p) : '');
const runs = (r: BenchRow, k: keyof NonNullable<BenchRow['stage_runs']>) => {
  const n = r.stage_runs?.[k];
  return n === undefined ? '' : ` ×${Number.isInteger(n) ? n : n.toFixed(1)}`;
};

/** The markdown of rtf rows: table, warnings, summary. */
export function rtfMarkdown(rows: readonly BenchRow[]): string {
  const out: string[] = [];
  const synthetic = [...new Set(rows.filter((r) => r.synthetic).map((r) => base(r.model)))];
  if (synthetic.length > 0) {
    out.push(`> **Synthetic weights** (${synthetic.join(', ')}): timings are real, transcripts are meaningless.`, '');
  }
  const cols: Col[] = [
    { title: 'model', right: false, cell: (r) => base(r.model) },
    { title: 'file', right: false, cell: (r) => base(r.file) },
    { title: 'audio s', right: true, cell: (r) => fix(r.audio_s, 2) },
    { title: 'preset', right: false, cell: (r) => r.preset ?? '' },
    { title: 'threads', right: true, cell: (r) => String(r.threads) },
    { title: 'process s', right: true, cell: (r) => pm(r.process_s, 3) },
    { title: 'RTF', right: true, cell: (r) => (r.rtf ? (r.rtf.n > 1 ? `${fmtRtf(r.rtf.median)} ± ${r.rtf.sd.toPrecision(2)}` : fmtRtf(r.rtf.median)) : '') },
    { title: 'RTFx', right: true, cell: (r) => (r.rtfx ? `${fix(r.rtfx.median, 1)}×` : '') },
    { title: 'real time', right: false, cell: (r) => (r.rtf ? (r.rtf.median < 1 ? 'faster' : 'slower') : '') },
    { title: 'encode ms', right: true, cell: (r) => (r.encode_ms ? pm(r.encode_ms, 1) + runs(r, 'encode') : '') },
    { title: 'decode ms/tok', right: true, cell: (r) => (r.decode_ms ? pm(r.decode_ms, 2) + runs(r, 'decode') : '') },
    { title: 'batchd ms/tok', right: true, cell: (r) => (r.batchd_ms ? pm(r.batchd_ms, 2) + runs(r, 'batchd') : '') },
    { title: 'prompt ms/tok', right: true, cell: (r) => (r.prompt_ms ? pm(r.prompt_ms, 2) + runs(r, 'prompt') : '') },
    { title: 'first segment ms', right: true, cell: (r) => pm(r.first_segment_ms, 0) },
    { title: 'fallbacks', right: true, cell: (r) => (r.fallbacks === undefined ? '' : Number.isInteger(r.fallbacks) ? String(r.fallbacks) : r.fallbacks.toFixed(1)) },
    { title: 'peak RSS MB', right: true, cell: (r) => fix(r.peak_rss_mb, 0) },
    { title: 'CPU %', right: true, cell: (r) => fix(r.cpu_pct, 0) },
    { title: 'synthetic', right: false, cell: (r) => (r.error ? '' : r.synthetic ? 'yes' : 'no') },
    { title: 'error', right: false, cell: (r) => (r.error ? `${r.error.code}: ${r.error.message}` : '') },
  ];
  out.push(...table(rows, cols));

  // each warning once, with the rows it concerns
  out.push(...warningLines(rows));

  const s = summarizeRtf(rows);
  out.push('', '**Summary** — RTF = processing time / audio duration (below 1: faster than real time); a cell counts with its median RTF.', '');
  if (s.byThreads.length === 0) {
    out.push('No cell succeeded: nothing to summarize.');
    return out.join('\n') + '\n';
  }
  out.push(
    ...table(s.byThreads, [
      { title: 'model', right: false, cell: (g) => base(g.model) },
      { title: 'threads', right: true, cell: (g) => String(g.threads) },
      { title: 'cells', right: true, cell: (g) => String(g.cells) },
      { title: 'mean RTF', right: true, cell: (g) => fmtRtf(g.mean) },
      { title: 'min RTF', right: true, cell: (g) => fmtRtf(g.min) },
      { title: 'max RTF', right: true, cell: (g) => fmtRtf(g.max) },
      { title: 'faster than real time', right: true, cell: (g) => `${g.faster} of ${g.cells}` },
    ]),
  );
  out.push('', 'Configurations (model × preset × threads, over their files):', '');
  out.push(
    ...table(s.configurations, [
      { title: 'model', right: false, cell: (c) => base(c.model) },
      { title: 'preset', right: false, cell: (c) => c.preset },
      { title: 'threads', right: true, cell: (c) => String(c.threads) },
      { title: 'files', right: true, cell: (c) => String(c.files) },
      { title: 'mean RTF', right: true, cell: (c) => fmtRtf(c.mean) },
      { title: 'max RTF', right: true, cell: (c) => fmtRtf(c.max) },
      { title: 'faster than real time', right: false, cell: (c) => (c.fasterThanRealTime ? 'yes, every file' : c.fasterFiles > 0 ? `on ${c.fasterFiles} of ${c.files} files` : 'no') },
      { title: 'best', right: false, cell: (c) => (c.best ? '★' : ''), keep: true },
    ]),
  );
  const faster = s.configurations.filter((c) => c.fasterThanRealTime);
  out.push(
    '',
    faster.length > 0
      ? `Faster than real time on every file: ${faster.length} of ${s.configurations.length} configurations (${faster.map((c) => `${base(c.model)} ${c.preset || '(no preset)'} -t ${c.threads}`).join('; ')}).`
      : `No configuration is faster than real time on every file (${s.configurations.length} measured).`,
    '',
    'Best configuration per model (lowest mean RTF):',
    '',
  );
  for (const b of s.best) {
    out.push(`- ${base(b.model)}: preset ${b.preset || '(none)'}, ${b.threads} thread${b.threads === 1 ? '' : 's'} — mean RTF ${fmtRtf(b.mean)} (${fix(1 / b.mean, 1)}× real time) over ${b.files} file${b.files === 1 ? '' : 's'}${b.synthetic ? ' [synthetic weights]' : ''}`);
  }
  if (s.failed > 0) out.push('', `${s.failed} failed cell${s.failed === 1 ? ' is' : 's are'} not in the summary.`);
  return out.join('\n') + '\n';
}
