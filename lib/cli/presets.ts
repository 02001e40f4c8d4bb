/** `whisper-perf presets`: the transcription presets and their exact parameters. */
import { parseOutputFormat } from '../measure/params.js';
import { presetFullParams, presetRows, type PresetRow } from '../presets.js';
import type { OutputFormat } from '../measure/types.js';
import { WhisperPerfError } from '../errors.js';
import { csvField, sqlLiteral } from '../report/formats.js';
import { parse, writeData, type CliContext } from './context.js';

export const PRESETS_HELP = `usage: whisper-perf presets [-o md|csv|json|jsonl|sql]

Prints the transcription presets with the exact whisper_full parameters they set on
this machine (threads from each preset's policy). With -o json each preset also has
every whisper_full parameter it sends ("whisper_full").

  speed     greedy, one candidate, no temperature fallback, every core
  balanced  whisper_full's defaults (transcribe() without a preset): greedy, best-of 5
            on fallback, temperature +0.2 per fallback, min(4, cores) threads
  quality   whisper-cli's defaults: beam search of 5, best-of 5, fallback +0.2, every core
  realtime  as whisper-stream: greedy, one candidate, no fallback, one segment per
            window, every core but one

options:
  -o, --output FMT   md (default), csv, json, jsonl, sql
  -h, --help         this help
`;

type Flat = string | number | boolean | null;

/** The presets in an output format: md/csv/sql one flat row each; json/jsonl add every whisper_full parameter. */
export function formatPresets(rows: readonly PresetRow[], format: OutputFormat, cores?: number): string {
  const cols = Object.keys(rows[0] ?? {}) as (keyof PresetRow)[];
  const val = (r: PresetRow, c: keyof PresetRow): Flat => r[c] as Flat;
  switch (format) {
    case 'json':
      return JSON.stringify(rows.map((r) => ({ ...r, whisper_full: presetFullParams(r.preset, cores) })), null, 2) + '\n';
    case 'jsonl':
      return rows.map((r) => JSON.stringify({ ...r, whisper_full: presetFullParams(r.preset, cores) }) + '\n').join('');
    case 'csv':
      return [cols.join(','), ...rows.map((r) => cols.map((c) => csvField(val(r, c))).join(','))].join('\n') + '\n';
    case 'sql': {
      const type = (c: keyof PresetRow) => (rows.every((r) => typeof r[c] === 'number' || r[c] === null) ? 'REAL' : typeof rows[0][c] === 'boolean' ? 'INTEGER' : 'TEXT');
      const out = [`CREATE TABLE IF NOT EXISTS presets (\n${cols.map((c) => `  ${c} ${type(c)}`).join(',\n')}\n);`];
      for (const r of rows) out.push(`INSERT INTO presets (${cols.join(', ')}) VALUES (${cols.map((c) => sqlLiteral(val(r, c))).join(', ')});`);
      return out.join('\n') + '\n';
    }
    case 'md': {
      const show = (v: Flat) => (v === null ? '—' : typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v));
      const tableCols = cols.filter((c) => c !== 'summary');
      const body = rows.map((r) => tableCols.map((c) => show(val(r, c)).replace(/\|/g, '\\|')));
      const widths = tableCols.map((c, i) => Math.max(3, c.length, ...body.map((b) => b[i].length)));
      const line = (cells: string[]) => `| ${cells.map((s, i) => s.padEnd(widths[i])).join(' | ')} |`;
      return [line(tableCols as string[]), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...body.map(line), '', ...rows.map((r) => `- **${r.preset}**: ${r.summary}`)].join('\n') + '\n';
    }
    default:
      throw new WhisperPerfError(`presets: unknown format ${String(format)}`, 'USAGE');
  }
}

export async function runPresets(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('presets', argv, {
    output: { type: 'string', short: 'o' },
    out: { type: 'string' },
  });
  if (values.help) {
    ctx.stdout(PRESETS_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new WhisperPerfError(`presets: unexpected argument ${JSON.stringify(positionals[0])}`, 'USAGE');
  const format = parseOutputFormat(values.output ?? 'md');
  writeData(ctx, formatPresets(presetRows(), format), values.out);
  return 0;
}
