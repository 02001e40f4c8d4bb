// Word error rate: alignment counts, corpus totals, edge cases and the alignment printer.
import { describe, expect, it } from 'vitest';

import { WhisperPerfError } from '../../lib/errors.js';
import { alignWords, corpusWer, formatAlignment, wer, MAX_ALIGNMENT_CELLS } from '../../lib/quality/wer.js';

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WhisperPerfError);
    return (e as WhisperPerfError).code;
  }
  return undefined;
}

/** Plain edit distance, to check the alignment's total against. */
function distance(a: string[], b: string[]): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

describe('wer', () => {
  it('gives 2/9 for the fox pair, as two substitutions', () => {
    const r = wer('the quick brown fox jumps over the lazy dog', 'the quick brown fox jumped over a lazy dog');
    expect(r.wer).toBe(2 / 9);
    expect(r).toMatchObject({ substitutions: 2, deletions: 0, insertions: 0, hits: 7, errors: 2, ref_words: 9, hyp_words: 9 });
    expect(r.alignment!.filter((s) => s.op === 'S')).toEqual([
      { op: 'S', ref: 'jumps', hyp: 'jumped' },
      { op: 'S', ref: 'the', hyp: 'a' },
    ]);
  });

  it("gives 0 for \"It's 5 o'clock.\" against \"it is five o'clock\" under the normalizer, and not without it", () => {
    expect(wer("It's 5 o'clock.", "it is five o'clock").wer).toBe(0);
    const raw = wer("It's 5 o'clock.", "it is five o'clock", { normalize: false });
    expect(raw.wer).toBeGreaterThan(0);
    expect(raw.ref).toEqual(["It's", '5', "o'clock."]);
  });

  it('counts deletions and insertions apart', () => {
    const d = wer('a b c d', 'a c d');
    expect(d).toMatchObject({ wer: 1 / 4, substitutions: 0, deletions: 1, insertions: 0 });
    expect(d.alignment).toContainEqual({ op: 'D', ref: 'b' });
    const i = wer('a b c', 'a x b c y');
    expect(i).toMatchObject({ wer: 2 / 3, substitutions: 0, deletions: 0, insertions: 2, hyp_words: 5 });
    expect(i.alignment!.filter((s) => s.op === 'I').map((s) => s.hyp)).toEqual(['x', 'y']);
  });

  it('can exceed 1 when the hypothesis is much longer', () => {
    expect(wer('hello', 'well hello there you').wer).toBe(3);
  });

  it('prefers substitutions over a deletion plus an insertion', () => {
    const r = wer('a b c', 'a x c');
    expect(r).toMatchObject({ substitutions: 1, deletions: 0, insertions: 0 });
  });

  it('agrees with a plain edit distance on random word lists, with a consistent alignment', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const vocab = ['a', 'b', 'c', 'd', 'e'];
    for (let t = 0; t < 200; t++) {
      const ref = Array.from({ length: Math.floor(rnd() * 12) }, () => vocab[Math.floor(rnd() * vocab.length)]);
      const hyp = Array.from({ length: Math.floor(rnd() * 12) }, () => vocab[Math.floor(rnd() * vocab.length)]);
      const a = alignWords(ref, hyp);
      expect(a.errors).toBe(distance(ref, hyp));
      expect(a.alignment!.filter((s) => s.ref !== undefined).map((s) => s.ref)).toEqual(ref);
      expect(a.alignment!.filter((s) => s.hyp !== undefined).map((s) => s.hyp)).toEqual(hyp);
      expect(a.alignment!.filter((s) => s.op === 'S').length).toBe(a.substitutions);
      expect(a.alignment!.filter((s) => s.op === 'D').length).toBe(a.deletions);
      expect(a.alignment!.filter((s) => s.op === 'I').length).toBe(a.insertions);
      // counts without the alignment are the same
      const b = alignWords(ref, hyp, { align: false });
      expect(b.alignment).toBeUndefined();
      expect([b.substitutions, b.deletions, b.insertions]).toEqual([a.substitutions, a.deletions, a.insertions]);
    }
  });

  it('edge cases: both empty is 0, empty hypothesis is 1, empty reference is an error', () => {
    expect(wer('', '')).toMatchObject({ wer: 0, errors: 0, ref_words: 0, hyp_words: 0, alignment: [] });
    expect(wer('um', '[noise]').wer).toBe(0); // empty after normalization on both sides
    expect(wer('a b', '')).toMatchObject({ wer: 1, deletions: 2 });
    expect(code(() => wer('', 'hello'))).toBe('INVALID_ARGUMENT');
    expect(() => wer('uh', 'hello there')).toThrow(/reference is empty after normalization.*2 words/);
    expect(code(() => wer(undefined as unknown as string, 'x'))).toBe('INVALID_ARGUMENT');
  });

  it('refuses an alignment matrix over its limit but still counts without it', () => {
    const many = Array.from({ length: Math.ceil(Math.sqrt(MAX_ALIGNMENT_CELLS)) + 1 }, () => 'w');
    expect(code(() => alignWords(many, many))).toBe('INVALID_ARGUMENT');
    expect(alignWords(many.slice(0, 2000), many.slice(0, 1999), { align: false })).toMatchObject({ deletions: 1, errors: 1 });
  });
});

describe('corpusWer', () => {
  it('is total errors over total reference words, not a mean of per-file rates', () => {
    const r = corpusWer([
      { name: 'long', ref: 'a bird in the hand is worth two in the bush', hyp: 'a bird in the hand is worth two in the bush' },
      { name: 'short', ref: 'yes', hyp: 'no' },
    ]);
    // per-file rates 0 and 1 would average 0.5; the corpus has 1 error in 12 words
    expect(r.wer).toBe(1 / 12);
    expect(r).toMatchObject({ substitutions: 1, deletions: 0, insertions: 0, errors: 1, ref_words: 12, hyp_words: 12 });
    expect(r.files.map((f) => [f.name, f.wer])).toEqual([
      ['long', 0],
      ['short', 1],
    ]);
  });

  it('takes [ref, hyp] tuples and names them by index', () => {
    const r = corpusWer([
      ['a b', 'a'],
      ['c', 'c d'],
    ]);
    expect(r.files.map((f) => f.name)).toEqual(['0', '1']);
    expect(r).toMatchObject({ wer: 2 / 3, deletions: 1, insertions: 1 });
  });

  it('an empty reference in a corpus has no rate of its own but its insertions count', () => {
    const r = corpusWer([
      { name: 'a', ref: 'hello world', hyp: 'hello world' },
      { name: 'b', ref: '', hyp: 'noise' },
    ]);
    expect(r.files[1].wer).toBeNull();
    expect(r.wer).toBe(1 / 2);
  });

  it('errors where no rate can be defined', () => {
    expect(code(() => corpusWer([]))).toBe('INVALID_ARGUMENT');
    expect(code(() => corpusWer([['', 'x']]))).toBe('INVALID_ARGUMENT');
    expect(corpusWer([['', '']]).wer).toBe(0);
    expect(code(() => corpusWer('nope' as unknown as []))).toBe('INVALID_ARGUMENT');
    expect(code(() => corpusWer([null as unknown as [string, string]]))).toBe('INVALID_ARGUMENT');
  });

  it('normalizes unless told not to', () => {
    expect(corpusWer([['Colour', 'color']]).wer).toBe(0);
    expect(corpusWer([['Colour', 'color']], { normalize: false }).wer).toBe(1);
  });
});

describe('formatAlignment', () => {
  it('prints REF and HYP rows with S/D/I markers under aligned columns', () => {
    const r = wer('the quick brown fox jumps over the lazy dog', 'the quick brown fox jumped over a lazy dog');
    expect(formatAlignment(r.alignment!)).toBe(
      ['REF: the quick brown fox jumps  over the lazy dog', 'HYP: the quick brown fox jumped over a   lazy dog', '                         S           S'].join('\n') + '\n',
    );
  });

  it('shows *** for the missing side of deletions and insertions', () => {
    const r = wer('a b c d', 'a c d e');
    const lines = formatAlignment(r.alignment!).split('\n');
    expect(lines[0]).toBe('REF: a b   c d ***');
    expect(lines[1]).toBe('HYP: a *** c d e');
    expect(lines[2]).toBe('       D       I');
  });

  it('wraps long alignments into blocks no wider than the width', () => {
    const text = Array.from({ length: 60 }, (_, k) => `word${k}`).join(' ');
    const out = formatAlignment(wer(text, text).alignment!, { width: 40 });
    const lines = out.split('\n');
    const refs = lines.filter((l) => l.startsWith('REF: '));
    expect(refs.length).toBeGreaterThan(5);
    expect(lines.filter((l) => l.startsWith('HYP: '))).toHaveLength(refs.length);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(40);
    expect(refs.join(' ').replace(/REF: /g, '').split(/\s+/)).toEqual(text.split(' '));
    expect(formatAlignment(wer(text, text).alignment!, { width: 0 }).split('\n')).toHaveLength(4);
  });

  it('prints an empty alignment as empty rows', () => {
    expect(formatAlignment([])).toBe('REF:\nHYP:\n');
  });
});
