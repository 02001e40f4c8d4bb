/**
 * Output of quality rows (`what: 'quality'`, one per model × preset × threads over the files):
 * the markdown table with the Pareto frontier marked (★), the warnings, the frontier in words,
 * and — when any row has synthetic weights — a warning above everything that its WER measures
 * nothing. QUALITY_COLUMNS / flattenQuality give their flat columns for csv and sql, which
 * formats.ts appends to every row's columns (empty for other rows). Per-file detail
 * (`quality_files`) is in json and jsonl only.
 */
import * as path from 'node:path';

import type { BenchRow } from '../measure/types.js';
import { fmtRtf } from './rtf.js';
import { fixed, recordTable, warningLines, type RecordColumn } from './table.js';

type SqlType = 'TEXT' | 'INTEGER' | 'REAL';
type FlatValue = string | number | boolean | null;

/** The flat columns of quality rows (empty for other rows). */
export const QUALITY_COLUMNS: readonly [string, SqlType][] = [
  ['wer', 'REAL'],
  ['wer_substitutions', 'INTEGER'],
  ['wer_deletions', 'INTEGER'],
  ['wer_insertions', 'INTEGER'],
  ['ref_words', 'INTEGER'],
  ['hyp_words', 'INTEGER'],
  ['model_bytes', 'INTEGER'],
  ['base_model', 'TEXT'],
  ['quantize', 'TEXT'],
  ['pareto', 'INTEGER'],
  ['sample', 'TEXT'],
];

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const str = (x: unknown): string | null => (x === undefined || x === null ? null : String(x));

/** A row's quality columns. */
export function flattenQuality(row: BenchRow): Record<string, FlatValue> {
  return {
    wer: num(row.wer),
    wer_substitutions: num(row.wer_substitutions),
    wer_deletions: num(row.wer_deletions),
    wer_insertions: num(row.wer_insertions),
    ref_words: num(row.ref_words),
    hyp_words: num(row.hyp_words),
    model_bytes: num(row.model_bytes),
    base_model: str(row.base_model),
    quantize: str(row.quantize),
    pareto: typeof row.pareto === 'boolean' ? row.pareto : null,
    sample: str(row.sample),
  };
}

const base = (p: string | undefined) => (p ? path.basename(p) : '');
const fix = fixed;

type Col = RecordColumn<BenchRow>;
const table = recordTable;

/** A configuration's name in prose. */
export function qualityName(r: BenchRow): string {
  return `${base(r.model)}${r.ftype ? ` (${r.ftype})` : ''} ${r.preset || '(no preset)'} -t ${r.threads}`;
}

/** The markdown of quality rows: synthetic warning, table with the frontier, warnings, frontier in words. */
export function qualityMarkdown(rows: readonly BenchRow[]): string {
  const out: string[] = [];
  const synthetic = [...new Set(rows.filter((r) => r.synthetic).map((r) => base(r.model)))];
  if (synthetic.length > 0) {
    out.push(
      `> **Synthetic weights — the WER here measures nothing.** ${synthetic.join(', ')} ${synthetic.length === 1 ? 'has' : 'have'} random weights: ` +
        'the transcripts are random tokens, so these WER figures say nothing about accuracy, and the frontier below ranks them by speed and noise only. ' +
        'Timings, memory and model sizes are real. Measure a real model (whisper-perf models download) for accuracy.',
      '',
    );
  }
  const anySynthetic = synthetic.length > 0;
  const cols: Col[] = [
    { title: 'frontier', right: false, cell: (r) => (r.error ? '' : r.pareto ? '★' : '·') },
    { title: 'model', right: false, cell: (r) => base(r.model) },
    { title: 'from', right: false, cell: (r) => (r.base_model ? `${base(r.base_model)} → ${r.quantize}` : '') },
    { title: 'ftype', right: false, cell: (r) => r.ftype ?? '' },
    { title: 'size MB', right: true, cell: (r) => (typeof r.model_bytes === 'number' ? fix(r.model_bytes / 1e6, 1) : '') },
    { title: 'preset', right: false, cell: (r) => r.preset ?? '' },
    { title: 'threads', right: true, cell: (r) => String(r.threads) },
    { title: 'audio s', right: true, cell: (r) => fix(r.audio_s, 1) },
    { title: 'RTF', right: true, cell: (r) => (r.rtf ? (r.rtf.n > 1 ? `${fmtRtf(r.rtf.median)} ± ${r.rtf.sd.toPrecision(2)}` : fmtRtf(r.rtf.median)) : '') },
    { title: 'RTFx', right: true, cell: (r) => (r.rtfx ? `${fix(r.rtfx.median, 1)}×` : '') },
    {
      title: anySynthetic ? 'WER (synthetic†)' : 'WER',
      right: true,
      cell: (r) => (typeof r.wer === 'number' ? `${(r.wer * 100).toFixed(1)}%${r.synthetic ? '†' : ''}` : ''),
    },
    { title: 'S/D/I', right: true, cell: (r) => (typeof r.wer === 'number' ? `${r.wer_substitutions}/${r.wer_deletions}/${r.wer_insertions}` : '') },
    { title: 'ref words', right: true, cell: (r) => (typeof r.ref_words === 'number' ? String(r.ref_words) : '') },
    { title: 'peak RSS MB', right: true, cell: (r) => fix(r.peak_rss_mb, 0) },
    { title: 'CPU %', right: true, cell: (r) => fix(r.cpu_pct, 0) },
    { title: 'sample of the output', right: false, cell: (r) => (r.error ? '' : r.sample !== undefined ? `“${r.sample}”` : '') },
    { title: 'error', right: false, cell: (r) => (r.error ? `${r.error.code}: ${r.error.message}` : '') },
  ];
  out.push(...table(rows, cols));

  out.push(
    '',
    '★ on the Pareto frontier: no other configuration is at least as fast (median RTF over the files) and at least as accurate (corpus WER) and better in one; · dominated. ' +
      'RTF = total processing time / total audio duration per repetition; WER = total errors / total reference words after the normalizer, on each file\'s last measured transcription.' +
      (anySynthetic ? ' † synthetic weights: not an accuracy figure.' : ''),
  );

  // each warning once, with the rows it concerns
  out.push(...warningLines(rows));

  const front = rows.filter((r) => !r.error && r.pareto).sort((a, b) => a.rtf!.median - b.rtf!.median);
  const ok = rows.filter((r) => !r.error && r.rtf && typeof r.wer === 'number');
  out.push('');
  if (ok.length === 0) {
    out.push('No configuration succeeded: no frontier.');
  } else {
    out.push(
      `Frontier (${front.length} of ${ok.length} configurations, fastest first)${anySynthetic ? ' — on synthetic weights, so by speed and noise, not accuracy' : ''}:`,
      '',
    );
    for (const r of front) {
      out.push(
        `- ${qualityName(r)}: RTF ${fmtRtf(r.rtf!.median)}, WER ${(r.wer! * 100).toFixed(1)}%${r.synthetic ? ' (synthetic: meaningless)' : ''}` +
          `${typeof r.model_bytes === 'number' ? `, ${fix(r.model_bytes / 1e6, 1)} MB` : ''}${typeof r.peak_rss_mb === 'number' ? `, peak RSS ${fix(r.peak_rss_mb, 0)} MB` : ''}`,
      );
    }
  }
  const failed = rows.filter((r) => r.error).length;
  if (failed > 0) out.push('', `${failed} failed configuration${failed === 1 ? ' is' : 's are'} not on the frontier.`);
  return out.join('\n') + '\n';
}
