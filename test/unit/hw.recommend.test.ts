// Recommendations from rows: the rules of each use case, the margin, memory and cores, the empty
// answer with its reason, and reading rows from files.
import { describe, expect, it } from 'vitest';

import { parseRowsText, recommend, recommendFromRows, recommendGuide, rowRtf, TOKENS_PER_WINDOW } from '../../lib/advise/recommend.js';
import { summarize } from '../../lib/measure/stats.js';
import type { BenchRow } from '../../lib/measure/types.js';
import { provenance } from '../fixtures/rows.js';

/** A bench row whose estimated RTF is `rtf` (all of it in the encoder) and whose peak RSS is `rss`. */
function row(model_type: string, threads: number, rtf: number, rss: number, extra: Partial<BenchRow> = {}): BenchRow {
  return {
    ...provenance(),
    what: 'encoder',
    model: `/m/ggml-${model_type}.bin`,
    model_type,
    ftype: 'f16',
    synthetic: true,
    threads,
    flash_attn: true,
    device: 'cpu',
    repetitions: 1,
    encode_ms: summarize([rtf * 30000]),
    decode_ms: summarize([0]),
    mel_ms: summarize([0]),
    peak_rss_mb: rss,
    cpu_pct: 100 * threads,
    warnings: [],
    ...extra,
  };
}

// a 4-core machine: tiny is fast, base is fine with 4 threads, small is too slow
const ROWS: BenchRow[] = [
  row('tiny', 1, 0.2, 150),
  row('tiny', 2, 0.11, 152),
  row('tiny', 4, 0.07, 155),
  row('base', 1, 0.6, 260),
  row('base', 2, 0.32, 262),
  row('base', 4, 0.3, 265),
  row('small', 4, 0.9, 700),
];

describe('rowRtf', () => {
  it('estimates a bench row as (mel + encode + 100 decodes) / 30 s and takes an rtf row as measured', () => {
    const r = row('tiny', 1, 0.1, 100, { decode_ms: summarize([3]), mel_ms: summarize([60]) });
    expect(rowRtf(r)).toEqual({ rtf: (60 + 3000 + TOKENS_PER_WINDOW * 3) / 30000, source: 'estimated' });
    const m = { ...r, what: 'rtf' as const, rtf: summarize([0.42]) };
    expect(rowRtf(m)).toEqual({ rtf: 0.42, source: 'measured' });
    expect(rowRtf({ ...r, encode_ms: undefined })).toBeUndefined();
  });
});

describe('recommendFromRows', () => {
  it('realtime: the largest model meeting RTF × (1 + margin) ≤ target, at its fastest thread count', () => {
    const r = recommendFromRows(ROWS, { useCase: 'realtime', cores: 4 });
    // target 0.5 / 1.25 = 0.4: base at 2 (0.32) and 4 (0.30) meet it, small (0.9) does not
    expect(r.recommendation).toMatchObject({ model_type: 'base', threads: 4, preset: 'realtime', rtf: 0.3, rtf_source: 'estimated' });
    expect(r.reason).toMatch(/largest model measured that meets the target/);
    expect(r.reason).toMatch(/next larger.*small.*RTF 0\.9 > 0\.4/);
    expect(r.evidence[0].meets).toBe(true);
    expect(r.evidence.filter((c) => c.meets).map((c) => c.model_type)).toEqual(['base', 'base', 'tiny', 'tiny', 'tiny']);
    expect(r.notes.join(' ')).toMatch(/estimated RTF/);
    expect(r.notes.join(' ')).toMatch(/quantization: only f16/);
  });

  it('the margin decides: without it base at 1 thread would do for embedded', () => {
    // embedded: target 1, fewest threads that meet it
    expect(recommendFromRows(ROWS, { useCase: 'embedded', cores: 4 }).recommendation).toMatchObject({ model_type: 'base', threads: 1 });
    // a 70% margin: base at 1 thread (0.6 × 1.7 = 1.02) no longer meets 1
    expect(recommendFromRows(ROWS, { useCase: 'embedded', cores: 4, margin: 0.7 }).recommendation).toMatchObject({ model_type: 'base', threads: 2 });
  });

  it('cores: rows with more threads than the cores given do not count', () => {
    const r = recommendFromRows(ROWS, { useCase: 'realtime', cores: 2 });
    expect(r.recommendation).toMatchObject({ model_type: 'base', threads: 2 });
    expect(r.evidence.find((c) => c.threads === 4 && c.model_type === 'base')?.why).toMatch(/4 threads > 2 cores/);
  });

  it('memory: a model whose peak RSS (with margin) does not fit is out', () => {
    const r = recommendFromRows(ROWS, { useCase: 'realtime', cores: 4, memoryGB: 0.3 });
    // base needs 262 × 1.25 = 328 MB > 300 MB; tiny fits
    expect(r.recommendation).toMatchObject({ model_type: 'tiny', threads: 4 });
  });

  it('--memory below every model: an empty answer that names the smallest need', () => {
    const r = recommendFromRows(ROWS, { useCase: 'embedded', memoryGB: 0.1, cores: 4 });
    expect(r.recommendation).toBeNull();
    expect(r.reason).toMatch(/--memory 0\.10 GB is below every model's need: the smallest, ggml-tiny\.bin \(tiny f16\), needs 188 MB \(peak RSS 150 MB \+ 25% margin\)/);
    expect(r.evidence.length).toBe(ROWS.length);
  });

  it('a target nothing meets: an empty answer naming the fastest', () => {
    const r = recommendFromRows(ROWS, { useCase: 'realtime', cores: 4, rtfTarget: 0.05 });
    expect(r.recommendation).toBeNull();
    expect(r.reason).toMatch(/nothing meets RTF ≤ 0\.05 .*the fastest, ggml-tiny\.bin at 4 threads, has 0\.07/);
  });

  it('batch: machine-wide RTF and the most efficient thread count, with jobs at once', () => {
    const r = recommendFromRows(ROWS, { useCase: 'batch', cores: 4 });
    // machine-wide: base 1t 0.15, 2t 0.16, 4t 0.3; target 0.25/1.25 = 0.2 → base at 1 thread, 4 jobs
    expect(r.recommendation).toMatchObject({ model_type: 'base', threads: 1, streams: 4, preset: 'speed' });
    expect(r.rtf_scope).toMatch(/machine-wide/);
  });

  it('server: the most efficient count meeting the per-request target, streams = cores / threads', () => {
    const r = recommendFromRows(ROWS, { useCase: 'server', cores: 4 });
    // per request ≤ 0.4: base 2t (0.32 × 2 = 0.64) beats base 4t (1.2)
    expect(r.recommendation).toMatchObject({ model_type: 'base', threads: 2, streams: 2, preset: 'balanced' });
  });

  it('prefers a measured rtf row and its preset', () => {
    const rtfRow = { ...row('small', 4, 5, 700), what: 'rtf' as const, rtf: summarize([0.35]), preset: 'speed' };
    const r = recommendFromRows([...ROWS, rtfRow], { useCase: 'realtime', cores: 4 });
    expect(r.recommendation).toMatchObject({ model_type: 'small', rtf: 0.35, rtf_source: 'measured', preset: 'speed' });
  });

  it('ignores failed rows and rows of other measurements; none left is an empty answer', () => {
    const failed = { ...row('large', 4, 0.01, 10), error: { code: 'NATIVE_FAILURE', message: 'x' } };
    const mulmat = { ...row('tiny', 4, 0.01, 10), what: 'mulmat' as const };
    const r = recommendFromRows([failed, mulmat], { useCase: 'realtime' });
    expect(r.recommendation).toBeNull();
    expect(r.reason).toMatch(/no usable rows/);
  });

  it('rejects a bad use case or margin', () => {
    expect(() => recommendFromRows(ROWS, { useCase: 'gaming' as never })).toThrow(/useCase/);
    expect(() => recommendFromRows(ROWS, { useCase: 'batch', margin: -1 })).toThrow(/margin/);
  });
});

describe('parseRowsText', () => {
  it('reads a JSON array, an object with rows, and JSON lines', () => {
    const rows = ROWS.slice(0, 2);
    expect(parseRowsText(JSON.stringify(rows))).toHaveLength(2);
    expect(parseRowsText(JSON.stringify({ rows }))).toHaveLength(2);
    expect(parseRowsText(rows.map((r) => JSON.stringify(r)).join('\n') + '\n')).toHaveLength(2);
    expect(parseRowsText('')).toEqual([]);
    expect(() => parseRowsText('not json', 'x.json')).toThrow(/x\.json: not JSON rows/);
  });
});

describe('recommendGuide', () => {
  it('one recommendation per use case, in order, each what recommend answers for that use case from the same rows', async () => {
    const guide = await recommendGuide({ rows: ROWS, cores: 4 });
    expect(guide.map((g) => g.use_case)).toEqual(['realtime', 'batch', 'embedded', 'server']);
    for (const g of guide) expect(g).toEqual(await recommend({ rows: ROWS, cores: 4, useCase: g.use_case }));
    // and the use cases do not all get the same answer from these rows
    expect(new Set(guide.map((g) => JSON.stringify(g.recommendation))).size).toBeGreaterThan(1);
  });
});
