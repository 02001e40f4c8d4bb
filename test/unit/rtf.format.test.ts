// How rtf rows print: md table + warnings + summary; csv/sql columns; transcript formats.
import { describe, expect, it } from 'vitest';

import { summarize } from '../../lib/measure/stats.js';
import type { BenchRow } from '../../lib/measure/types.js';
import { COLUMNS, flattenRow, formatRows } from '../../lib/report/formats.js';
import { summarizeRtf } from '../../lib/report/rtf.js';
import { timestamp, toSrt, toTxt, toVtt } from '../../lib/report/transcript.js';
import { encoderRow, provenance } from '../fixtures/rows.js';

function rtfRowOf(model: string, file: string, threads: number, rtfs: number[], over: Partial<BenchRow> = {}): BenchRow {
  const audio = file.includes('30') ? 30 : 10;
  return {
    ...provenance(),
    what: 'rtf',
    model,
    model_type: 'tiny',
    ftype: 'f16',
    synthetic: true,
    threads,
    flash_attn: true,
    device: 'cpu',
    repetitions: rtfs.length,
    file,
    audio_s: audio,
    preset: 'balanced',
    process_s: summarize(rtfs.map((r) => r * audio)),
    rtf: summarize(rtfs),
    rtfx: summarize(rtfs.map((r) => 1 / r)),
    encode_ms: summarize([300, 310, 305]),
    decode_ms: summarize([2.5, 2.6, 2.4]),
    first_segment_ms: summarize([400, 410, 420]),
    fallbacks: 0,
    stage_runs: { encode: 1, decode: 40, batchd: 0, prompt: 1, sample: 40 },
    peak_rss_mb: 250,
    cpu_pct: 95,
    warnings: ['synthetic weights: timings are real, transcripts are meaningless'],
    ...over,
  };
}

const sweep = (): BenchRow[] => [
  rtfRowOf('/m/tiny.bin', '/a/s10.wav', 1, [0.5, 0.52, 0.48]),
  rtfRowOf('/m/tiny.bin', '/a/s30.wav', 1, [0.9, 0.95, 1.2]),
  rtfRowOf('/m/tiny.bin', '/a/s10.wav', 2, [0.3, 0.31, 0.29]),
  rtfRowOf('/m/tiny.bin', '/a/s30.wav', 2, [0.4, 0.41, 0.39]),
  rtfRowOf('/m/base.bin', '/a/s10.wav', 1, [1.5, 1.6, 1.4]),
  rtfRowOf('/m/base.bin', '/a/s30.wav', 1, [1.1, 1.2, 1.0]),
  rtfRowOf('/m/base.bin', '/a/s10.wav', 2, [0.8, 0.85, 0.75]),
  { ...rtfRowOf('/m/base.bin', '/a/s30.wav', 2, [1]), rtf: undefined, process_s: undefined, rtfx: undefined, encode_ms: undefined, decode_ms: undefined, first_segment_ms: undefined, warnings: [], error: { code: 'AUDIO_INVALID', message: 'truncated header' } },
];

describe('summarizeRtf', () => {
  it('gives mean/min/max per model × threads, the configurations faster than real time and the best per model', () => {
    const s = summarizeRtf(sweep());
    expect(s.failed).toBe(1);
    const g = (m: string, t: number) => s.byThreads.find((x) => x.model === m && x.threads === t)!;
    expect(g('/m/tiny.bin', 1)).toMatchObject({ cells: 2, min: 0.5, max: 0.95, faster: 2 });
    expect(g('/m/tiny.bin', 1).mean).toBeCloseTo(0.725, 10);
    expect(g('/m/base.bin', 1)).toMatchObject({ cells: 2, min: 1.1, max: 1.5, faster: 0 });
    expect(g('/m/base.bin', 2)).toMatchObject({ cells: 1, faster: 1 });
    const c = (m: string, t: number) => s.configurations.find((x) => x.model === m && x.threads === t)!;
    expect(c('/m/tiny.bin', 1).fasterThanRealTime).toBe(true); // medians 0.5 and 0.95
    expect(c('/m/base.bin', 1).fasterThanRealTime).toBe(false);
    // best: tiny at 2 threads; for base the configuration with every file (1 thread) wins over the one whose second file failed
    expect(s.best.map((b) => [b.model, b.threads])).toEqual([
      ['/m/tiny.bin', 2],
      ['/m/base.bin', 1],
    ]);
  });
});

describe('formatRows with rtf rows', () => {
  it('md: a table of the cells, each warning once, then the summary', () => {
    const md = formatRows(sweep(), 'md');
    const lines = md.split('\n');
    expect(lines[0]).toMatch(/Synthetic weights.*tiny\.bin, base\.bin.*meaningless/);
    const header = lines.find((l) => l.startsWith('| model'))!;
    for (const t of ['file', 'audio s', 'preset', 'threads', 'process s', 'RTF', 'RTFx', 'encode ms', 'decode ms/tok', 'first segment ms', 'fallbacks', 'peak RSS MB', 'CPU %', 'synthetic', 'error']) expect(header).toContain(t);
    expect(md).toContain('| tiny.bin | s10.wav |');
    expect(md).toContain('0.500 ± 0.020'); // median ± sd of the RTF
    expect(md).toContain('305.0 ± 5.0 ×1'); // per-run encode with its runs per transcription
    expect(md).toContain('AUDIO_INVALID: truncated header');
    // the synthetic warning is said once for the rows it concerns
    expect(md.match(/synthetic weights: timings are real/g)).toHaveLength(1);
    expect(md).toContain('- rows 1, 2, 3, 4, 5, 6, 7: synthetic weights');
    expect(md).toContain('**Summary**');
    expect(md).toMatch(/\| tiny\.bin \|\s+1 \|\s+2 \|\s+0\.725 \|\s+0\.500 \|\s+0\.950 \|\s+2 of 2 \|/);
    expect(md).toMatch(/Faster than real time on every file: 3 of 4 configurations \(tiny\.bin balanced -t 1; tiny\.bin balanced -t 2; base\.bin balanced -t 2\)/);
    expect(md).toContain('- tiny.bin: preset balanced, 2 threads — mean RTF 0.350 (2.9× real time) over 2 files [synthetic weights]');
    expect(md).toContain('1 failed cell is not in the summary.');
  });

  it('md: other rows keep their own table before the rtf table', () => {
    const md = formatRows([encoderRow(), sweep()[0]], 'md');
    expect(md.indexOf('enc GFLOPS')).toBeGreaterThan(-1);
    expect(md.indexOf('enc GFLOPS')).toBeLessThan(md.indexOf('RTFx'));
  });

  it('md: only failed cells still prints a table and says there is nothing to summarize', () => {
    const md = formatRows([sweep()[7]], 'md');
    expect(md).toContain('AUDIO_INVALID');
    expect(md).toContain('No cell succeeded');
  });

  it('csv/sql: the rtf fields have columns, the same for every row', () => {
    const names = COLUMNS.map((c) => c.name);
    for (const k of ['file', 'audio_s', 'preset', 'rtf_median', 'rtf_samples', 'rtfx_median', 'process_s_mean', 'first_segment_ms_median', 'sample_ms_median', 'fallbacks', 'stage_runs_decode', 'peak_rss_mb', 'cpu_pct']) expect(names).toContain(k);
    const f = flattenRow(sweep()[0]);
    expect(f).toMatchObject({ what: 'rtf', file: '/a/s10.wav', audio_s: 10, preset: 'balanced', rtf_median: 0.5, rtf_n: 3, stage_runs_decode: 40, peak_rss_mb: 250, cpu_pct: 95, synthetic: true });
    expect(f.process_s_median).toBeCloseTo(5, 10);
    expect(Object.keys(flattenRow(encoderRow()))).toEqual(names);
    expect(flattenRow(encoderRow()).rtf_median).toBeNull();
    const csv = formatRows(sweep(), 'csv').trim().split('\n');
    expect(csv).toHaveLength(9);
    expect(csv[0].split(',')).toEqual(names);
    const sql = formatRows(sweep(), 'sql');
    expect(sql).toContain('  rtf_median REAL');
    expect(sql).toContain('  file TEXT');
    const json = JSON.parse(formatRows(sweep(), 'json')) as BenchRow[];
    expect(json[0].rtf!.samples).toEqual([0.5, 0.52, 0.48]);
    expect(formatRows(sweep(), 'jsonl').trim().split('\n')).toHaveLength(8);
  });
});

describe('transcript formats', () => {
  const segs = [
    { start: 0, end: 2.5, text: ' Hello there.' },
    { start: 2.5, end: 3661.0016, text: ' One <b> & --> two' },
    { start: 4, end: 4, text: '   ' },
  ];

  it('timestamps: srt with a comma, vtt with a dot, hours past 99 minutes', () => {
    expect(timestamp(0)).toBe('00:00:00,000');
    expect(timestamp(3661.0016, '.')).toBe('01:01:01.002');
    expect(timestamp(-1)).toBe('00:00:00,000');
    expect(timestamp(NaN)).toBe('00:00:00,000');
  });

  it('txt, srt and vtt drop empty segments; vtt escapes markup', () => {
    expect(toTxt(segs)).toBe('Hello there.\nOne <b> & --> two\n');
    expect(toSrt(segs)).toBe('1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n2\n00:00:02,500 --> 01:01:01,002\nOne <b> & --> two\n\n');
    const vtt = toVtt(segs);
    expect(vtt.startsWith('WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello there.\n\n')).toBe(true);
    expect(vtt).toContain('One &lt;b&gt; &amp; --&gt; two');
    expect(vtt.split('-->')).toHaveLength(3);
  });
});
