/** `whisper-perf wer REF HYP`: word error rate of transcript files or directories of them. */
import { readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { basename, join, parse as parsePath } from 'node:path';

import { WhisperPerfError } from '../errors.js';
import { corpusWer, formatAlignment, type CorpusWerResult } from '../quality/wer.js';
import { CliContext, parse, writeData } from './context.js';

export const WER_HELP = `usage: whisper-perf wer REF HYP [options]

Word error rate of the hypothesis transcript HYP against the reference REF:
(substitutions + deletions + insertions) / reference words, from a word-level
alignment. REF and HYP are two text files, or two directories of them paired by
base name (ref/a.txt with hyp/a.txt or hyp/a.hyp); a file without its pair is a
usage error. Over several pairs the WER is the corpus's total errors over its total
reference words, not a mean of per-file rates.

Both texts first go through the English normalizer (lowercase, punctuation,
contractions, spelled numbers to digits, British to American spelling, filler words
removed: see normalizeText in the API docs), unless --no-normalize.
An empty reference with a non-empty hypothesis has no WER of its own (a warning);
its insertions count in the total.

options:
  -o, --output FMT   md (default) or json: { wer, substitutions, deletions,
                     insertions, ref_words, hyp_words, files: [...] }
      --out FILE     write the data to FILE instead of stdout (atomically)
      --align        print the word alignment (REF/HYP rows, S/D/I markers)
      --no-normalize compare the texts as they are, split on whitespace
  -h, --help         this help
`;

/** A reference/hypothesis pair of files with its label. */
export interface FilePair {
  name: string;
  refFile: string;
  hypFile: string;
}

function statOf(path: string, which: string): Stats {
  try {
    return statSync(path);
  } catch {
    throw new WhisperPerfError(`wer: ${which}: no such file or directory: ${path}`, 'USAGE');
  }
}

/** The files of a directory keyed by base name (the name without its last extension). */
function filesByBase(dir: string, which: string): Map<string, string> {
  const byBase = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (!entry.isFile() && !(entry.isSymbolicLink() && statSync(full, { throwIfNoEntry: false })?.isFile())) continue;
    const base = parsePath(entry.name).name;
    const seen = byBase.get(base);
    if (seen) throw new WhisperPerfError(`wer: ${which} directory ${dir} has two files with base name ${JSON.stringify(base)}: ${basename(seen)} and ${entry.name}`, 'USAGE');
    byBase.set(base, full);
  }
  return byBase;
}

/**
 * Pairs REF and HYP: two files, or two directories whose files match by base name
 * (`ref/a.txt` with `hyp/a.txt` or `hyp/a.hyp`). Unmatched files are a USAGE error naming them.
 */
export function pairFiles(ref: string, hyp: string): FilePair[] {
  const rs = statOf(ref, 'REF');
  const hs = statOf(hyp, 'HYP');
  if (rs.isFile() && hs.isFile()) return [{ name: basename(ref), refFile: ref, hypFile: hyp }];
  if (!(rs.isDirectory() && hs.isDirectory())) {
    const kind = (s: Stats) => (s.isDirectory() ? 'a directory' : s.isFile() ? 'a file' : 'neither a file nor a directory');
    throw new WhisperPerfError(`wer: REF and HYP must be two files or two directories; REF ${ref} is ${kind(rs)}, HYP ${hyp} is ${kind(hs)}`, 'USAGE');
  }
  const r = filesByBase(ref, 'REF');
  const h = filesByBase(hyp, 'HYP');
  const onlyRef = [...r.keys()].filter((k) => !h.has(k)).map((k) => basename(r.get(k)!));
  const onlyHyp = [...h.keys()].filter((k) => !r.has(k)).map((k) => basename(h.get(k)!));
  if (onlyRef.length || onlyHyp.length) {
    const parts = [];
    if (onlyRef.length) parts.push(`only in REF ${ref}: ${onlyRef.join(', ')}`);
    if (onlyHyp.length) parts.push(`only in HYP ${hyp}: ${onlyHyp.join(', ')}`);
    throw new WhisperPerfError(`wer: unmatched files (pairs match by base name): ${parts.join('; ')}`, 'USAGE');
  }
  if (r.size === 0) throw new WhisperPerfError(`wer: no files in ${ref} and ${hyp}`, 'USAGE');
  return [...r.entries()].map(([base, refFile]) => ({ name: basename(refFile) === basename(h.get(base)!) ? basename(refFile) : base, refFile, hypFile: h.get(base)! }));
}

/** Reads a transcript as UTF-8 text; a binary file is a USAGE error. */
function readText(path: string): string {
  const buf = readFileSync(path);
  if (buf.includes(0)) throw new WhisperPerfError(`wer: ${path} is not a text file`, 'USAGE');
  return buf.toString('utf8').replace(/^\uFEFF/, '');
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);

/** The readable table: one row per pair, and a corpus total when there are several. */
export function werTable(result: CorpusWerResult): string {
  const row = (name: string, c: Omit<CorpusWerResult, 'files' | 'wer'> & { wer: number | null }) =>
    `| ${name.replace(/\|/g, '\\|')} | ${pct(c.wer)} | ${c.substitutions} | ${c.deletions} | ${c.insertions} | ${c.ref_words} | ${c.hyp_words} |`;
  const lines = ['| file | WER | S | D | I | ref words | hyp words |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const f of result.files) lines.push(row(f.name, f));
  if (result.files.length > 1) lines.push(row(`total (${result.files.length} files)`, result));
  return lines.join('\n') + '\n';
}

export async function runWer(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('wer', argv, {
    output: { type: 'string', short: 'o' },
    out: { type: 'string' },
    align: { type: 'boolean' },
    'no-normalize': { type: 'boolean' },
  });
  if (values.help) {
    ctx.stdout(WER_HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new WhisperPerfError(`wer: expected REF and HYP, got ${positionals.length} argument${positionals.length === 1 ? '' : 's'} (try: whisper-perf wer --help)`, 'USAGE');
  const format = values.output ?? 'md';
  if (format !== 'md' && format !== 'json') throw new WhisperPerfError(`wer: -o: invalid value ${JSON.stringify(format)}: expected md or json`, 'USAGE');
  const normalize = !values['no-normalize'];
  const align = values.align === true;

  const pairs = pairFiles(positionals[0], positionals[1]);
  const result = corpusWer(
    pairs.map((p) => ({ name: p.name, ref: readText(p.refFile), hyp: readText(p.hypFile) })),
    { normalize, align },
  );
  for (const f of result.files) {
    if (f.wer === null) ctx.stderr(`warning: ${f.name}: empty reference and ${f.hyp_words} hypothesis word${f.hyp_words === 1 ? '' : 's'}: no WER of its own; its insertions count in the total\n`);
  }

  if (format === 'json') {
    const json = {
      wer: result.wer,
      substitutions: result.substitutions,
      deletions: result.deletions,
      insertions: result.insertions,
      hits: result.hits,
      errors: result.errors,
      ref_words: result.ref_words,
      hyp_words: result.hyp_words,
      normalized: normalize,
      files: result.files.map((f, k) => ({
        name: f.name,
        ref_file: pairs[k].refFile,
        hyp_file: pairs[k].hypFile,
        wer: f.wer,
        substitutions: f.substitutions,
        deletions: f.deletions,
        insertions: f.insertions,
        hits: f.hits,
        errors: f.errors,
        ref_words: f.ref_words,
        hyp_words: f.hyp_words,
        ...(align ? { alignment: f.alignment } : {}),
      })),
    };
    writeData(ctx, JSON.stringify(json, null, 2), values.out);
    return 0;
  }
  let text = werTable(result);
  if (align) {
    for (const f of result.files) text += `\n### ${f.name}\n\n\`\`\`\n${formatAlignment(f.alignment ?? [])}\`\`\`\n`;
  }
  writeData(ctx, text, values.out);
  return 0;
}
