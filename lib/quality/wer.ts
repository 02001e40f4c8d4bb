/**
 * Word error rate: a word-level Levenshtein alignment of a hypothesis against a reference,
 * with substitution, deletion and insertion counts, for one pair or a corpus.
 *
 * WER = (S + D + I) / N, N the number of reference words. A corpus's WER is its total errors
 * over its total reference words, not the mean of per-file rates (a mean would let a
 * three-word file weigh as much as a three-thousand-word one).
 *
 * Edge cases, decided here once:
 *
 * | reference | hypothesis | result |
 * | --- | --- | --- |
 * | empty | empty | WER 0: nothing to recognise, nothing wrong |
 * | words | empty | WER 1: every word deleted |
 * | empty | words | one pair: an `INVALID_ARGUMENT` error (n insertions over 0 words has no rate); in a corpus the pair's own `wer` is null and its insertions count towards the corpus, which is an error only when the whole corpus has no reference words |
 * | no pairs | | `corpusWer([])` is an `INVALID_ARGUMENT` error |
 *
 * "Empty" means empty after normalization: a reference of only `um` and `[noise]` is empty.
 * Every cost is 1; among alignments of equal cost the one preferring substitutions, then
 * deletions, then insertions is reported, so counts are deterministic.
 */
import { WhisperPerfError, invalidArgument } from '../errors.js';
import { normalizeWords } from './normalize.js';

/** One column of an alignment: C correct, S substitution, D deletion (reference word missed), I insertion (extra hypothesis word). */
export interface AlignmentStep {
  op: 'C' | 'S' | 'D' | 'I';
  /** the reference word (absent for an insertion) */
  ref?: string;
  /** the hypothesis word (absent for a deletion) */
  hyp?: string;
}

export interface WerOptions {
  /** run both texts through {@link normalizeText} first (default true); off: lowercase nothing, split on whitespace only */
  normalize?: boolean;
  /** keep the word-by-word alignment in the result (default true) */
  align?: boolean;
}

/** The counts of one pair or of a corpus. */
export interface WerCounts {
  /** (S + D + I) / ref_words; null only for a pair with no reference words and some hypothesis words */
  wer: number | null;
  substitutions: number;
  deletions: number;
  insertions: number;
  /** words aligned correctly */
  hits: number;
  /** S + D + I */
  errors: number;
  ref_words: number;
  hyp_words: number;
}

export interface WerResult extends WerCounts {
  wer: number;
  /** the reference and hypothesis words compared (after normalization when it was on) */
  ref: string[];
  hyp: string[];
  alignment?: AlignmentStep[];
}

export interface PairInput {
  ref: string;
  hyp: string;
  /** a label for the pair (the CLI uses the file name) */
  name?: string;
}

export interface PairResult extends WerCounts {
  name: string;
  ref: string[];
  hyp: string[];
  alignment?: AlignmentStep[];
}

export interface CorpusWerResult extends WerCounts {
  wer: number;
  files: PairResult[];
}

/** The largest alignment matrix kept for the word-by-word alignment (cells, one byte each). */
export const MAX_ALIGNMENT_CELLS = 250_000_000;

function words(text: string, normalize: boolean, which: string): string[] {
  if (typeof text !== 'string') throw invalidArgument(which, text, 'a string');
  return normalize ? normalizeWords(text) : text.split(/\s+/).filter(Boolean);
}

const DIAG = 0;
const UP = 1; // deletion: a reference word with no hypothesis word
const LEFT = 2; // insertion: a hypothesis word with no reference word

/**
 * Aligns two word lists by edit distance. Counts come from rolling rows (memory linear in the
 * hypothesis); the alignment, when asked for, from one byte of back-pointer per cell.
 */
export function alignWords(ref: readonly string[], hyp: readonly string[], options: { align?: boolean } = {}): Omit<WerCounts, 'wer'> & { alignment?: AlignmentStep[] } {
  const n = ref.length;
  const m = hyp.length;
  const keep = options.align !== false;
  if (keep && (n + 1) * (m + 1) > MAX_ALIGNMENT_CELLS) {
    throw new WhisperPerfError(
      `texts too long to align word by word: ${n} × ${m} words (at most ${MAX_ALIGNMENT_CELLS} cells); split them into smaller files or leave out the alignment`,
      'INVALID_ARGUMENT',
    );
  }
  const back = keep ? new Uint8Array((n + 1) * (m + 1)) : undefined;
  // per cell: cost, substitutions, deletions, insertions of the preferred path to it
  let cost = new Uint32Array(m + 1);
  let sub = new Uint32Array(m + 1);
  let del = new Uint32Array(m + 1);
  let ins = new Uint32Array(m + 1);
  let pcost = new Uint32Array(m + 1);
  let psub = new Uint32Array(m + 1);
  let pdel = new Uint32Array(m + 1);
  let pins = new Uint32Array(m + 1);
  for (let j = 0; j <= m; j++) {
    cost[j] = j;
    ins[j] = j;
    if (back) back[j] = LEFT;
  }
  for (let i = 1; i <= n; i++) {
    [pcost, cost] = [cost, pcost];
    [psub, sub] = [sub, psub];
    [pdel, del] = [del, pdel];
    [pins, ins] = [ins, pins];
    cost[0] = i;
    sub[0] = 0;
    del[0] = i;
    ins[0] = 0;
    if (back) back[i * (m + 1)] = UP;
    const r = ref[i - 1];
    for (let j = 1; j <= m; j++) {
      const same = r === hyp[j - 1];
      const diag = pcost[j - 1] + (same ? 0 : 1);
      const up = pcost[j] + 1;
      const left = cost[j - 1] + 1;
      let dir = DIAG;
      let best = diag;
      if (up < best) {
        best = up;
        dir = UP;
      }
      if (left < best) {
        best = left;
        dir = LEFT;
      }
      cost[j] = best;
      if (dir === DIAG) {
        sub[j] = psub[j - 1] + (same ? 0 : 1);
        del[j] = pdel[j - 1];
        ins[j] = pins[j - 1];
      } else if (dir === UP) {
        sub[j] = psub[j];
        del[j] = pdel[j] + 1;
        ins[j] = pins[j];
      } else {
        sub[j] = sub[j - 1];
        del[j] = del[j - 1];
        ins[j] = ins[j - 1] + 1;
      }
      if (back) back[i * (m + 1) + j] = dir;
    }
  }
  const substitutions = sub[m];
  const deletions = del[m];
  const insertions = ins[m];
  const counts = {
    substitutions,
    deletions,
    insertions,
    hits: n - substitutions - deletions,
    errors: substitutions + deletions + insertions,
    ref_words: n,
    hyp_words: m,
  };
  if (!back) return counts;
  const alignment: AlignmentStep[] = [];
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    const dir = i === 0 ? LEFT : j === 0 ? UP : back[i * (m + 1) + j];
    if (dir === DIAG) {
      alignment.push({ op: ref[i - 1] === hyp[j - 1] ? 'C' : 'S', ref: ref[i - 1], hyp: hyp[j - 1] });
      i--;
      j--;
    } else if (dir === UP) {
      alignment.push({ op: 'D', ref: ref[i - 1] });
      i--;
    } else {
      alignment.push({ op: 'I', hyp: hyp[j - 1] });
      j--;
    }
  }
  alignment.reverse();
  return { ...counts, alignment };
}

function rate(errors: number, refWords: number): number | null {
  if (refWords === 0) return errors === 0 ? 0 : null;
  return errors / refWords;
}

/**
 * The word error rate of one hypothesis against its reference, normalized by default:
 * `wer('the quick brown fox jumps over the lazy dog', 'the quick brown fox jumped over a lazy dog').wer` is 2/9.
 */
export function wer(ref: string, hyp: string, options: WerOptions = {}): WerResult {
  const normalize = options.normalize !== false;
  const r = words(ref, normalize, 'reference');
  const h = words(hyp, normalize, 'hypothesis');
  const a = alignWords(r, h, { align: options.align });
  const w = rate(a.errors, a.ref_words);
  if (w === null) {
    throw new WhisperPerfError(
      `the reference is empty${normalize ? ' after normalization' : ''} and the hypothesis has ${h.length} word${h.length === 1 ? '' : 's'}: WER is undefined (${h.length} insertions over 0 reference words)`,
      'INVALID_ARGUMENT',
    );
  }
  return { wer: w, ...a, ref: r, hyp: h };
}

/**
 * Corpus-level WER over pairs: total errors over total reference words, with each pair's own
 * counts in `files` (a pair with an empty reference and a non-empty hypothesis has `wer: null`).
 */
export function corpusWer(pairs: readonly PairInput[] | readonly (readonly [string, string])[], options: WerOptions = {}): CorpusWerResult {
  if (!Array.isArray(pairs)) throw invalidArgument('pairs', pairs, 'an array of { ref, hyp } or [ref, hyp]');
  if (pairs.length === 0) throw new WhisperPerfError('corpusWer: no pairs to compare', 'INVALID_ARGUMENT');
  const normalize = options.normalize !== false;
  const files: PairResult[] = [];
  const total = { substitutions: 0, deletions: 0, insertions: 0, hits: 0, errors: 0, ref_words: 0, hyp_words: 0 };
  const list = pairs as readonly (PairInput | readonly [string, string])[];
  for (let k = 0; k < list.length; k++) {
    const p = list[k];
    if (p === null || typeof p !== 'object') throw invalidArgument(`pairs[${k}]`, p, '{ ref, hyp } or [ref, hyp]');
    const pair: PairInput = Array.isArray(p) ? { ref: (p as readonly [string, string])[0], hyp: (p as readonly [string, string])[1] } : (p as PairInput);
    const name = pair.name ?? String(k);
    const r = words(pair.ref, normalize, `pairs[${k}].ref`);
    const h = words(pair.hyp, normalize, `pairs[${k}].hyp`);
    const a = alignWords(r, h, { align: options.align });
    for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += a[key];
    files.push({ name, wer: rate(a.errors, a.ref_words), ...a, ref: r, hyp: h });
  }
  const w = rate(total.errors, total.ref_words);
  if (w === null) {
    throw new WhisperPerfError(
      `every reference is empty${normalize ? ' after normalization' : ''} and the hypotheses have ${total.hyp_words} words: WER is undefined`,
      'INVALID_ARGUMENT',
    );
  }
  return { wer: w, ...total, files };
}

/**
 * Prints an alignment as REF / HYP rows with an S/D/I marker row under them, each column as
 * wide as its longer word, `***` where a side has no word, wrapped at `width` characters (0: never).
 */
export function formatAlignment(alignment: readonly AlignmentStep[], options: { width?: number } = {}): string {
  const width = options.width ?? 100;
  const prefix = ['REF: ', 'HYP: ', '     '];
  const blocks: string[][] = [];
  let rows = ['', '', ''];
  const flush = () => {
    if (rows[0].length) blocks.push(rows.map((r, k) => (prefix[k] + r).trimEnd()));
    rows = ['', '', ''];
  };
  for (const step of alignment) {
    const r = step.ref ?? '***';
    const h = step.hyp ?? '***';
    const w = Math.max(r.length, h.length);
    const mark = step.op === 'C' ? '' : step.op;
    if (width > 0 && rows[0].length > 0 && prefix[0].length + rows[0].length + 1 + w > width) flush();
    const sep = rows[0].length ? ' ' : '';
    rows = [rows[0] + sep + r.padEnd(w), rows[1] + sep + h.padEnd(w), rows[2] + sep + mark.padEnd(w)];
  }
  flush();
  if (!blocks.length) return 'REF:\nHYP:\n';
  return blocks.map((b) => b.join('\n')).join('\n\n') + '\n';
}
