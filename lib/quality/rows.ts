/**
 * The quality sweep's rows: one row per configuration (model, quantization, options) from its
 * per-file cells, with WER over all files, RTF, stage timings and a sample of each transcript.
 */
import { basename } from 'node:path';

import { WhisperPerfError } from '../errors.js';
import { summarize } from '../measure/stats.js';
import type { BenchRow, Stat } from '../measure/types.js';
import type { RtfTranscript } from '../workloads/rtf.js';
import { normalizeWords } from './normalize.js';
import { corpusWer } from './wer.js';

export function checkReference(text: string, what: string): void {
  if (normalizeWords(text).length === 0) {
    throw new WhisperPerfError(
      `${what} is empty${text.trim() ? ' after the normalizer' : ''}: WER needs reference words (give the words spoken; a file of silence has no WER)`,
      'INVALID_ARGUMENT',
    );
  }
}

export function transcriptText(t: RtfTranscript): string {
  const x = t as unknown as { text?: unknown; segments: readonly ({ text?: unknown } | null)[] };
  if (typeof x.text === 'string') return x.text;
  return x.segments.map((s) => (typeof s?.text === 'string' ? s.text : '')).join('');
}

const STAGE_STATS = ['encode_ms', 'decode_ms', 'batchd_ms', 'prompt_ms', 'sample_ms', 'mel_ms', 'first_segment_ms'] as const;
const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;

/** Drops the per-cell figures a configuration row recomputes (and the kept text). */
function bare(r: BenchRow): BenchRow {
  const out = { ...r } as BenchRow & Record<string, unknown>;
  for (const k of ['text', 'process_s', 'rtf', 'rtfx', ...STAGE_STATS, 'fallbacks', 'stage_runs', 'peak_rss_mb', 'cpu_pct']) delete out[k];
  return out;
}

/** A configuration's row from its cells (one per file, in file order). */
export function configurationRow(cells: readonly BenchRow[], inputs: readonly { name: string; reference: string }[], model: { path: string; bytes: number; base?: string; quantize?: string }, sampleChars = 60): BenchRow {
  const failed = cells.filter((c) => c.error);
  const head = failed[0] ?? cells[0];
  const row: BenchRow = {
    ...bare(head),
    what: 'quality',
    file: inputs.map((x) => x.name).join(','),
    model_bytes: model.bytes,
    warnings: [...new Set(cells.flatMap((c) => c.warnings ?? []))],
  };
  if (model.base !== undefined) {
    row.base_model = model.base;
    row.quantize = model.quantize;
  }
  const ran = cells.filter((c) => !c.error);
  if (ran.length > 0) Object.assign(row, { model_type: ran[0].model_type, ftype: ran[0].ftype, synthetic: ran[0].synthetic });
  if (failed.length > 0 || cells.length !== inputs.length) {
    const e = failed[0]?.error ?? { code: 'NATIVE_FAILURE', message: 'not every file ran' };
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more failed file${failed.length > 2 ? 's' : ''})` : '';
    row.error = { code: e.code, message: `${failed[0]?.file ? basename(failed[0].file) + ': ' : ''}${e.message}${more}` };
    delete row.audio_s;
    return row;
  }
  delete row.error;
  // RTF per repetition over the corpus: total process seconds / total audio seconds
  const audio = cells.reduce((a, c) => a + (c.audio_s ?? 0), 0);
  const n = Math.min(...cells.map((c) => c.process_s?.samples.length ?? 0));
  const totals: number[] = [];
  for (let r = 0; r < n; r++) totals.push(cells.reduce((a, c) => a + c.process_s!.samples[r], 0));
  row.audio_s = audio;
  if (n > 0 && audio > 0) {
    row.process_s = summarize(totals);
    row.rtf = summarize(totals.map((p) => p / audio));
    row.rtfx = summarize(totals.map((p) => (p > 0 ? audio / p : 0)));
  }
  for (const k of STAGE_STATS) {
    const xs = cells.flatMap((c) => (c[k] as Stat | undefined)?.samples ?? []);
    if (xs.length) row[k] = summarize(xs);
  }
  row.fallbacks = round(cells.reduce((a, c) => a + (c.fallbacks ?? 0), 0), 2);
  if (cells.every((c) => c.stage_runs)) {
    const sr = { encode: 0, decode: 0, batchd: 0, prompt: 0, sample: 0 };
    for (const c of cells) for (const k of Object.keys(sr) as (keyof typeof sr)[]) sr[k] = round(sr[k] + c.stage_runs![k], 2);
    row.stage_runs = sr;
  }
  const rss = cells.map((c) => c.peak_rss_mb).filter((x): x is number => typeof x === 'number');
  if (rss.length) row.peak_rss_mb = Math.max(...rss);
  const cpu = cells.map((c) => c.cpu_pct).filter((x): x is number => typeof x === 'number');
  if (cpu.length) row.cpu_pct = round(cpu.reduce((a, b) => a + b, 0) / cpu.length, 1);

  // WER over the corpus, on each file's last measured transcription
  const texts = cells.map((c) => String((c as BenchRow & { text?: unknown }).text ?? ''));
  const w = corpusWer(inputs.map((x, i) => ({ name: x.name, ref: x.reference, hyp: texts[i] })));
  row.wer = w.wer ?? undefined;
  row.wer_substitutions = w.substitutions;
  row.wer_deletions = w.deletions;
  row.wer_insertions = w.insertions;
  row.ref_words = w.ref_words;
  row.hyp_words = w.hyp_words;
  row.quality_files = cells.map((c, i) => ({
    file: inputs[i].name,
    audio_s: c.audio_s ?? 0,
    rtf: c.rtf?.median ?? NaN,
    wer: w.files[i].wer,
    errors: w.files[i].errors,
    ref_words: w.files[i].ref_words,
    text: texts[i].trim(),
  }));
  const first = texts[0].trim().replace(/\s+/g, ' ');
  row.sample = first.length > sampleChars ? first.slice(0, sampleChars).trimEnd() + '…' : first;
  if (row.synthetic) row.warnings.push('synthetic weights: the transcripts are random tokens, so this WER measures nothing (not an accuracy figure)');
  return row;
}
