/** `whisper-perf recommend`: model, quantization, threads and preset for a use case, with the rows behind it. */
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';

import { parseIntList, parseStringList, usageError } from '../measure/params.js';
import { readRowFiles, recommendFromRows, USE_CASES, type Recommendation, type UseCase } from '../advise/recommend.js';
import { calibrate, calibrationSource } from '../advise/calibration.js';
import { WhisperPerfError } from '../errors.js';
import { mdTable } from '../report/table.js';
import { CliContext, parse, writeData } from './context.js';
import { progressSink } from './progress.js';

export const RECOMMEND_HELP = `usage: whisper-perf recommend --use-case CASE [options] [--from FILE ...]
       whisper-perf recommend --guide [options] [--from FILE ...]

Picks the model, quantization, thread count and preset that meet a use case's
real-time-factor target (RTF = processing time / audio time) with a margin, from
measured rows: bench or rtf output (-o json or jsonl) given with --from, or, without
them, a short calibration run on this machine (synthetic tiny.en and base.en at 1,
cores/2 and all cores, one run each; progress on stderr). Prints the answer, why, and
every row judged (the evidence). A bench row's RTF is estimated as (mel of 30 s +
1 encode + 100 decodes) / 30 s; an rtf row's is measured.

use cases (default RTF target):
  realtime   one live stream, per-stream RTF ≤ 0.5: the largest model that meets it,
             the fastest thread count, preset realtime
  batch      a queue of files, machine-wide RTF (rtf × threads / cores) ≤ 0.25: the
             largest model, the most efficient thread count, cores/threads jobs at once
  embedded   a small device, RTF ≤ 1 within --memory and --cores: the largest model
             that fits, the fewest threads that meet the target
  server     concurrent requests, per-request RTF ≤ 0.5: the largest model, the most
             efficient thread count, cores/threads requests at once

options:
  -u, --use-case CASE  realtime, batch, embedded or server
      --guide          one line per use case (the use-case table of this machine)
      --memory GB      memory available (GB, 10^9 bytes): peak RSS × (1 + margin) must fit
      --cores N        cores available (default: the logical cores)
      --rtf-target X   the RTF target (default per use case)
      --margin PCT     margin in percent (default 25): rtf × (1 + margin) ≤ target
      --from FILE      rows measured before (repeatable; files may also be positional)
  -m, --models LIST    models of the calibration run (names such as tiny.en, or paths)
      --rows-out FILE  keep the calibration run's rows (JSON) to answer again with --from
  -o, --output FMT     md (default) or json
      --out FILE       write the data to FILE instead of stdout
      --no-progress    no progress bar even on a terminal
  -h, --help           this help

When nothing fits (e.g. --memory below every model's need), the answer is empty and
says why; the exit code is still 0.
`;

const positiveNumber = (opt: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw usageError(opt, text, 'a number above 0');
  return v;
};

export async function runRecommend(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('recommend', argv, {
    'use-case': { type: 'string', short: 'u' },
    memory: { type: 'string' },
    cores: { type: 'string' },
    'rtf-target': { type: 'string' },
    margin: { type: 'string' },
    from: { type: 'string', multiple: true },
    models: { type: 'string', short: 'm' },
    guide: { type: 'boolean' },
    'rows-out': { type: 'string' },
    output: { type: 'string', short: 'o' },
    out: { type: 'string' },
    'no-progress': { type: 'boolean' },
  });
  if (values.help) {
    ctx.stdout(RECOMMEND_HELP);
    return 0;
  }
  // rows files may also come as positionals: recommend -u realtime a.json b.json
  const files = [...(values.from ?? []), ...positionals];
  const format = values.output ?? 'md';
  if (format !== 'md' && format !== 'json') throw usageError('-o', format, 'expected md or json');
  const useCase = values['use-case'];
  if (!values.guide && !useCase) throw new WhisperPerfError(`recommend: --use-case is required (${USE_CASES.join(', ')}), or --guide for all of them`, 'USAGE');
  if (useCase && !(USE_CASES as readonly string[]).includes(useCase)) throw usageError('--use-case', useCase, `expected ${USE_CASES.join(', ')}`);
  const memoryGB = positiveNumber('--memory', values.memory);
  const cores = values.cores !== undefined ? parseIntList('--cores', values.cores, { min: 1, max: 4096 }) : undefined;
  if (cores && cores.length !== 1) throw usageError('--cores', values.cores!, 'takes one value');
  const rtfTarget = positiveNumber('--rtf-target', values['rtf-target']);
  const marginPct = values.margin !== undefined ? Number(values.margin) : undefined;
  if (marginPct !== undefined && !(marginPct >= 0 && marginPct <= 1000)) throw usageError('--margin', values.margin!, 'a percentage from 0, e.g. 25');
  let rows;
  try {
    rows = files.length ? readRowFiles(files) : undefined;
  } catch (e) {
    if (e instanceof WhisperPerfError) throw new WhisperPerfError(e.message, 'USAGE');
    throw e;
  }
  if (rows && rows.length === 0) throw new WhisperPerfError(`recommend: no rows in ${files.join(', ')}`, 'USAGE');
  const progress = progressSink(process.stderr, values['no-progress'] ? false : undefined);
  if (!rows) ctx.stderr('recommend: no --from rows: a short calibration run measures this machine first\n');
  const calibration = {
    models: values.models ? parseStringList('-m', values.models) : undefined,
    onProgress: (p: { done: number; total: number; label: string; etaMs?: number }) =>
      p.total === 1 && p.done === 0 && p.label.startsWith('generating') ? progress.note(p.label) : progress.update(p.done, p.total, p.label, p.etaMs),
  };
  const common = { memoryGB, cores: cores?.[0], rtfTarget, margin: marginPct !== undefined ? marginPct / 100 : undefined };
  // the rows: given, or measured now (and kept with --rows-out, to answer again with --from)
  let source = `rows from ${files.join(', ')}`;
  if (!rows) {
    rows = await calibrate(cores?.[0] ?? availableParallelism(), calibration);
    source = calibrationSource(rows);
    if (values['rows-out']) writeData(ctx, JSON.stringify(rows, null, 2), values['rows-out']);
  }
  progress.done();
  if (values.guide) {
    const all = USE_CASES.map((u) => recommendFromRows(rows!, { ...common, useCase: u }, source));
    writeData(ctx, format === 'json' ? JSON.stringify(all, null, 2) : guideMarkdown(all), values.out);
    return 0;
  }
  const r = recommendFromRows(rows, { ...common, useCase: useCase as UseCase }, source);
  writeData(ctx, format === 'json' ? JSON.stringify(r, null, 2) : recommendationMarkdown(r), values.out);
  if (!r.recommendation) ctx.stderr(`recommend: no configuration fits: ${r.reason}\n`);
  return 0;
}

const mb = (x: number | undefined) => (x === undefined ? '' : x.toFixed(0));

/** The answer, its reason and the evidence table. */
export function recommendationMarkdown(r: Recommendation): string {
  const head = `Use case: ${r.use_case} — ${r.goal}. Target: RTF ≤ ${r.rtf_target} ${r.rtf_scope}, with a ${Math.round(r.margin * 100)}% margin; ${r.cores} cores${r.memory_gb !== undefined ? `, ${r.memory_gb} GB` : ''}. Evidence: ${r.source}.\n\n`;
  const a = r.recommendation;
  const answer = a
    ? mdTable(
        ['', 'recommended'],
        [
          ['model', basename(a.model)],
          ['model size', a.model_type],
          ['quantization', a.quantization],
          ['threads', String(a.threads)],
          ['preset', a.preset],
          ['flash attention', a.flash_attn ? 'on' : 'off'],
          ['device', a.device],
          ['RTF', `${a.rtf} (${a.rtf_source})`],
          ['peak RSS MB', mb(a.peak_rss_mb)],
          ...(a.streams !== undefined ? [[r.use_case === 'server' ? 'requests at once' : 'jobs at once', String(a.streams)]] : []),
        ],
        { right: [false, false] },
      )
    : 'No recommendation.\n';
  const ev = mdTable(
    ['model', 'size', 'ftype', 'threads', 'RTF', 'source', r.use_case === 'batch' ? 'machine RTF' : 'judged RTF', 'peak RSS MB', 'CPU %', 'meets', 'why'],
    r.evidence.map((c) => [basename(c.model), c.model_type, c.ftype, String(c.threads), String(c.rtf), c.rtf_source, String(c.rtf_effective), mb(c.peak_rss_mb), c.cpu_pct !== undefined ? c.cpu_pct.toFixed(0) : '', c.meets ? 'yes' : 'no', c.why]),
  );
  const notes = r.notes.length ? `\nNotes:\n\n${r.notes.map((n) => `- ${n}`).join('\n')}\n` : '';
  return `${head}${answer}\nWhy: ${r.reason}\n\nEvidence:\n\n${ev}${notes}`;
}

/** One line per use case: the seed-style guide table, measured on this machine. */
export function guideMarkdown(all: readonly Recommendation[]): string {
  const t = mdTable(
    ['use case', 'model', 'quant', 'threads', 'preset', 'peak RSS MB', 'RTF', 'target', 'why'],
    all.map((r) => {
      const a = r.recommendation;
      return [
        r.use_case,
        a ? `${a.model_type} (${basename(a.model)})` : '—',
        a?.quantization ?? '',
        a ? String(a.threads) + (a.streams !== undefined ? ` × ${a.streams}` : '') : '',
        a?.preset ?? '',
        mb(a?.peak_rss_mb),
        a ? `${a.rtf}${a.rtf_source === 'estimated' ? ' (est.)' : ''}` : '',
        `≤ ${r.rtf_target} ${r.use_case === 'batch' ? 'machine-wide' : ''}`.trim(),
        r.reason,
      ];
    }),
  );
  const notes = [...new Set(all.flatMap((r) => r.notes))];
  return `Measured on this machine (${all[0]?.cores ?? '?'} cores; evidence: ${all[0]?.source ?? ''}); margin ${Math.round((all[0]?.margin ?? 0) * 100)}%. "threads × N": N jobs or requests at once.\n\n${t}${notes.length ? `\nNotes:\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
}
