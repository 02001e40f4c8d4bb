// `whisper-perf wer` through main() with a fake context: no child process, no addon.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { runMain } from '../fixtures/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wp-wer-'));


function file(rel: string, text: string | Buffer): string {
  const path = join(tmp, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const FOX = 'The quick brown fox jumps over the lazy dog.';
const FOX_HYP = 'the quick brown fox jumped over a lazy dog';

describe('whisper-perf wer', () => {
  it('compares two files: a table by default, 2/9 for the fox pair', async () => {
    const r = await runMain(['wer', file('one/ref.txt', FOX), file('one/hyp.txt', FOX_HYP)]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('| file | WER | S | D | I | ref words | hyp words |');
    expect(lines[2]).toBe('| ref.txt | 22.22% | 2 | 0 | 0 | 9 | 9 |');
    expect(lines).toHaveLength(3); // no total row for one pair
  });

  it('-o json gives the totals and per-file detail; the normalizer makes the acceptance pair 0', async () => {
    const r = await runMain(['wer', file('two/ref.txt', "It's 5 o'clock."), file('two/hyp.txt', "it is five o'clock"), '-o', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ wer: 0, substitutions: 0, deletions: 0, insertions: 0, ref_words: 4, hyp_words: 4, normalized: true });
    expect(j.files).toHaveLength(1);
    expect(j.files[0]).toMatchObject({ name: 'ref.txt', wer: 0, ref_words: 4 });
    expect(j.files[0].alignment).toBeUndefined();

    const raw = JSON.parse((await runMain(['wer', join(tmp, 'two/ref.txt'), join(tmp, 'two/hyp.txt'), '-o', 'json', '--no-normalize'])).stdout);
    expect(raw.normalized).toBe(false);
    expect(raw.wer).toBeGreaterThan(0);
  });

  it('directories pair files by base name and give corpus WER with a total row', async () => {
    file('dirs/ref/a.txt', FOX);
    file('dirs/ref/b.txt', 'hello world');
    file('dirs/ref/.hidden', 'ignored');
    file('dirs/hyp/a.txt', FOX_HYP);
    file('dirs/hyp/b.hyp', 'hello');
    const r = await runMain(['wer', join(tmp, 'dirs/ref'), join(tmp, 'dirs/hyp'), '-o', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    // 3 errors over 11 reference words, not the mean of 2/9 and 1/2
    expect(j).toMatchObject({ wer: 3 / 11, substitutions: 2, deletions: 1, insertions: 0, ref_words: 11, hyp_words: 10 });
    expect(j.files.map((f: { name: string; wer: number }) => [f.name, f.wer])).toEqual([
      ['a.txt', 2 / 9],
      ['b', 1 / 2],
    ]);
    const md = await runMain(['wer', join(tmp, 'dirs/ref'), join(tmp, 'dirs/hyp')]);
    expect(md.stdout).toContain('| total (2 files) | 27.27% | 2 | 1 | 0 | 11 | 10 |');
  });

  it('--align prints REF/HYP rows with markers, and the alignment in json', async () => {
    const ref = join(tmp, 'one/ref.txt');
    const hyp = join(tmp, 'one/hyp.txt');
    const r = await runMain(['wer', ref, hyp, '--align']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('### ref.txt');
    expect(r.stdout).toContain('REF: the quick brown fox jumps  over the lazy dog\nHYP: the quick brown fox jumped over a   lazy dog\n                         S           S\n');
    const j = JSON.parse((await runMain(['wer', ref, hyp, '--align', '-o', 'json'])).stdout);
    expect(j.files[0].alignment).toContainEqual({ op: 'S', ref: 'jumps', hyp: 'jumped' });
  });

  it('mismatched directories are a usage error naming the unmatched files', async () => {
    file('bad/ref/a.txt', 'a');
    file('bad/ref/b.txt', 'b');
    file('bad/hyp/a.txt', 'a');
    file('bad/hyp/c.txt', 'c');
    const r = await runMain(['wer', join(tmp, 'bad/ref'), join(tmp, 'bad/hyp')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unmatched files.*only in REF .*: b\.txt; only in HYP .*: c\.txt/);
  });

  it('bad input: usage errors with exit code 2', async () => {
    const ref = join(tmp, 'one/ref.txt');
    const cases: [string[], RegExp][] = [
      [['wer'], /expected REF and HYP, got 0/],
      [['wer', ref], /expected REF and HYP, got 1/],
      [['wer', ref, join(tmp, 'nope.txt')], /HYP: no such file or directory/],
      [['wer', ref, join(tmp, 'dirs/hyp')], /two files or two directories/],
      [['wer', ref, ref, '-o', 'csv'], /-o: invalid value "csv": expected md or json/],
      [['wer', ref, ref, '--bogus'], /--bogus/],
      [['wer', ref, file('bin.txt', Buffer.from([0x61, 0, 0x62]))], /not a text file/],
      [['wer', join(tmp, 'dirs/ref'), ref], /REF .* is a directory, HYP .* is a file/],
    ];
    for (const [args, message] of cases) {
      const r = await runMain(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    file('dup/ref/a.txt', 'x');
    file('dup/ref/a.lab', 'x');
    file('dup2/hyp/a.txt', 'x');
    const dup = await runMain(['wer', join(tmp, 'dup/ref'), join(tmp, 'dup2/hyp')]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/two files with base name "a": a\.lab and a\.txt/);
  });

  it('an empty reference: a warning in a corpus, an error alone', async () => {
    file('empty/ref/a.txt', 'hello world');
    file('empty/ref/b.txt', '  um  ');
    file('empty/hyp/a.txt', 'hello world');
    file('empty/hyp/b.txt', 'noise');
    const r = await runMain(['wer', join(tmp, 'empty/ref'), join(tmp, 'empty/hyp')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: b\.txt: empty reference and 1 hypothesis word/);
    expect(r.stdout).toContain('| b.txt | n/a | 0 | 0 | 1 | 0 | 1 |');
    expect(r.stdout).toContain('| total (2 files) | 50.00% |');
    const alone = await runMain(['wer', join(tmp, 'empty/ref/b.txt'), join(tmp, 'empty/hyp/b.txt')]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/reference is empty after normalization.*WER is undefined/);
  });

  it('--out writes the data to a file', async () => {
    const out = join(tmp, 'out.json');
    const r = await runMain(['wer', join(tmp, 'one/ref.txt'), join(tmp, 'one/hyp.txt'), '-o', 'json', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(JSON.parse(readFileSync(out, 'utf8')).wer).toBe(2 / 9);
  });

  it('has help, and is listed in the top-level help', async () => {
    const h = await runMain(['wer', '--help']);
    expect(h.code).toBe(0);
    for (const o of ['usage: whisper-perf wer REF HYP', '--output', '--align', '--no-normalize', '--out']) expect(h.stdout).toContain(o);
    expect((await runMain(['help', 'wer'])).stdout).toBe(h.stdout);
    expect((await runMain(['--help'])).stdout).toMatch(/^\s+wer\s/m);
  });
});
