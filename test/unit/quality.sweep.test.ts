// quality() with its dependencies replaced (no addon, no model load): references, quantized
// copies and their cache, the AMX guard, configuration rows with corpus RTF and WER, the Pareto
// frontier, failed cells, synthetic weights, and the output formats.
import { describe, expect, it } from 'vitest';

import type { RtfDeps, RtfModel, RtfTranscript } from '../../lib/workloads/rtf.js';
import type { BenchRow } from '../../lib/measure/types.js';
import { WhisperPerfError } from '../../lib/errors.js';
import type { QuantizeResult } from '../../lib/models/quantize.js';
import { paretoFrontier, quantizedPath, referenceCandidates, runQuality, type QualityDeps } from '../../lib/quality/sweep.js';
import { COLUMNS, flattenRow, formatRows } from '../../lib/report/formats.js';
import { provenance } from '../fixtures/rows.js';
import { expectUsageError, runMain } from '../fixtures/cli.js';
import { fakeTimings } from '../fixtures/timings.js';

const timings = fakeTimings;

const REF: Record<string, string> = {
  'a.txt': 'the quick brown fox jumps over the lazy dog',
  'b.txt': 'It is five o\'clock and the ferry leaves the harbor',
};

interface Opts {
  /** ms of processing per audio second, by model path (default 50) */
  speed?: Record<string, number>;
  /** the hypothesis for a model and a file */
  hyp?: (model: string, file: string) => string;
  refs?: Record<string, string>;
  ftypes?: Record<string, string>;
  cached?: Record<string, string>;
  amx?: boolean;
  badModels?: string[];
  quantizeError?: WhisperPerfError;
  synthetic?: boolean;
}

interface Log {
  loads: string[];
  quantized: [string, string, string][];
  decodes: string[];
  calls: number;
}

function fakeDeps(o: Opts = {}): { deps: QualityDeps; log: Log } {
  const log: Log = { loads: [], quantized: [], decodes: [], calls: 0 };
  const refs = o.refs ?? REF;
  // which file a pcm came from: its length (a = 10 s, b = 20 s)
  const fileOf = (n: number) => (n === 10 * 16000 ? 'a.wav' : 'b.wav');
  const ftypeOf = (p: string) => o.ftypes?.[p] ?? (/-(q\d_\d|q\d_k)-/.exec(p)?.[1] ?? 'f16');
  const rtf: RtfDeps = {
    async loadModel(path) {
      log.loads.push(path);
      if (o.badModels?.includes(path)) throw new WhisperPerfError(`cannot load ${path}`, 'MODEL_INVALID');
      const m: RtfModel & { transcribe(pcm: Float32Array): Promise<RtfTranscript & { text: string }> } = {
        info: { type: 'tiny', ftype: ftypeOf(path), synthetic: o.synthetic ?? false, backend: 'CPU' },
        async transcribe(pcm) {
          log.calls++;
          const file = fileOf(pcm.length);
          const text = o.hyp ? o.hyp(path, file) : refs[file.replace('.wav', '.txt')];
          const perS = o.speed?.[path] ?? 50;
          return { ms: (pcm.length / 16000) * perS, timings: timings(), firstSegmentMs: 100, fallbacks: 0, language: 'en', segments: [{}], text };
        },
        async timings() {
          return { fallbacksP: 0, fallbacksH: 0 };
        },
        async dispose() {},
      };
      return m;
    },
    async loadAudio(input) {
      log.decodes.push(input);
      if (input.includes('broken')) throw new WhisperPerfError(`${input}: not a WAV file`, 'AUDIO_INVALID');
      const d = input.startsWith('a') ? 10 : 20;
      return { pcm: new Float32Array(d * 16000), durationS: d };
    },
    provenance,
    buildWarnings: () => [],
    gpuCount: () => 0,
    monitor: (_d, info) => ({ stop: async () => ({ peak_rss_mb: info.ftype === 'f16' ? 300 : 200, cpu_pct: 190, peak_rss_source: 'sampled' as const, backend: 'CPU' }) }),
    defaultModel: async () => '/cache/synthetic/ggml-tiny.en-f16-seed0.bin',
  };
  const deps: QualityDeps = {
    rtf,
    async modelInfo(p) {
      if (p.startsWith('/q/')) {
        const t = o.cached?.[p];
        if (!t) throw new WhisperPerfError(`model file not found: ${p}`, 'MODEL_NOT_FOUND');
        return { ftype: t, fileSize: 30e6 };
      }
      return { ftype: ftypeOf(p), fileSize: 78e6 };
    },
    async quantize(input, output, type) {
      if (o.quantizeError) throw o.quantizeError;
      log.quantized.push([input, output, type]);
      return { input, output, type, inputBytes: 78e6, outputBytes: type === 'q5_0' ? 27e6 : 30e6, ratio: 0.35, tensors: 10, quantizedTensors: 8, ms: 5 } satisfies QuantizeResult;
    },
    readText: (p) => refs[p],
    fileKey: (p) => `${p}\0size\0mtime`,
    amxInt8: () => o.amx ?? false,
    mkdir: async () => {},
    cacheDir: () => '/q',
  };
  return { deps, log };
}

describe('quality sweep', () => {
  it('models × quantizations × presets over the files: one row per configuration with corpus RTF, WER, memory, size and the frontier', async () => {
    const q50 = quantizedPath('m.bin', 'q5_0', '/q', 'm.bin\0size\0mtime');
    const q51 = quantizedPath('m.bin', 'q5_1', '/q', 'm.bin\0size\0mtime');
    const { deps, log } = fakeDeps({
      // the original is slow and exact, q5_0 fast with one error, q5_1 in between with two errors: dominated by q5_0
      speed: { 'm.bin': 100, [q50]: 40, [q51]: 60 },
      hyp: (m, f) => {
        const ref = f === 'a.wav' ? REF['a.txt'] : REF['b.txt'];
        if (m === q50 && f === 'a.wav') return ref.replace('jumps', 'jumped');
        if (m === q51 && f === 'b.wav') return ref.replace('ferry', 'fairy').replace('harbor', 'harbour arbor');
        return ref;
      },
    });
    const events: string[] = [];
    const rows = await runQuality(
      { models: 'm.bin', quantize: ['q5_0', 'q5_1'], files: ['a.wav', 'b.wav'], presets: ['speed'], threads: 2, repetitions: 3, warmup: 1, onQuantize: (e) => e.ms !== undefined && events.push(`${e.type} ${e.reused}`) },
      deps,
    );
    expect(log.quantized).toEqual([
      ['m.bin', q50, 'q5_0'],
      ['m.bin', q51, 'q5_1'],
    ]);
    expect(events).toEqual(['q5_0 false', 'q5_1 false']);
    expect(q50).toMatch(/^\/q\/m-q5_0-[0-9a-f]{10}\.bin$/);
    // each model loaded once, each file decoded once; 2 files × (1 warm-up + 3 runs) per model
    expect(log.loads).toEqual(['m.bin', q50, q51]);
    expect(log.decodes).toEqual(['a.wav', 'b.wav']);
    expect(log.calls).toBe(3 * 2 * 4);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => [r.model, r.ftype, r.base_model, r.quantize, r.model_bytes])).toEqual([
      ['m.bin', 'f16', undefined, undefined, 78e6],
      [q50, 'q5_0', 'm.bin', 'q5_0', 27e6],
      [q51, 'q5_1', 'm.bin', 'q5_1', 30e6],
    ]);
    for (const r of rows) {
      expect(r).toMatchObject({ what: 'quality', file: 'a.wav,b.wav', audio_s: 30, preset: 'speed', threads: 2, synthetic: false });
      expect(r.error).toBeUndefined();
      expect(r.rtf!.n).toBe(3);
      expect(r.quality_files).toHaveLength(2);
      expect((r as { text?: string }).text).toBeUndefined();
    }
    // RTF = total process seconds / total audio seconds
    expect(rows[0].rtf!.median).toBeCloseTo(0.1, 10);
    expect(rows[0].process_s!.median).toBeCloseTo(3, 10);
    expect(rows[1].rtf!.median).toBeCloseTo(0.04, 10);
    expect(rows[0].rtfx!.median).toBeCloseTo(10, 6);
    // corpus WER: total errors / total reference words (9 + 10 words after the normalizer)
    expect(rows[0]).toMatchObject({ wer: 0, wer_substitutions: 0, ref_words: 19 });
    expect(rows[1].wer).toBeCloseTo(1 / 19, 10);
    expect(rows[1].quality_files![0]).toMatchObject({ file: 'a.wav', audio_s: 10, errors: 1, ref_words: 9 });
    expect(rows[1].quality_files![0].wer).toBeCloseTo(1 / 9, 10);
    // harbour → harbor by the normalizer: one substitution (ferry/fairy) and one insertion (arbor)
    expect(rows[2]).toMatchObject({ wer_substitutions: 1, wer_deletions: 0, wer_insertions: 1 });
    expect(rows[2].wer).toBeCloseTo(2 / 19, 10);
    // peak RSS from the cell monitors, stage timings pooled, stage runs summed
    expect(rows[0].peak_rss_mb).toBe(300);
    expect(rows[1].peak_rss_mb).toBe(200);
    expect(rows[0].encode_ms!.n).toBe(6);
    expect(rows[0].stage_runs).toEqual({ encode: 2, decode: 60, batchd: 0, prompt: 4, sample: 80 });
    // the frontier: the exact original and the fastest q5_0; q5_1 is slower and worse than q5_0
    expect(rows.map((r) => r.pareto)).toEqual([true, true, false]);
    expect(rows[1].sample).toBe('the quick brown fox jumped over the lazy dog');
    // every output format takes the rows
    const md = formatRows(rows, 'md');
    expect(md).toContain('| frontier');
    expect(md).toContain('★');
    expect(md).toContain('m.bin → q5_0');
    expect(md).toContain('Frontier (2 of 3 configurations');
    expect(md).not.toContain('Synthetic');
    const csv = formatRows(rows, 'csv').trim().split('\n');
    expect(csv).toHaveLength(4);
    expect(csv[0].split(',')).toContain('pareto');
    const f = flattenRow(rows[1]);
    expect(Object.keys(f)).toEqual(COLUMNS.map((c) => c.name));
    expect(f).toMatchObject({ what: 'quality', pareto: true, quantize: 'q5_0', base_model: 'm.bin', model_bytes: 27e6, ref_words: 19, wer_substitutions: 1 });
    expect(formatRows(rows, 'sql')).toContain('pareto INTEGER');
    const json = JSON.parse(formatRows(rows, 'json')) as BenchRow[];
    expect(json[2].quality_files![1].text).toContain('fairy');
    expect(formatRows(rows, 'jsonl').trim().split('\n')).toHaveLength(3);
  });

  it('reuses a valid quantized copy from the cache, and remakes one of the wrong type', async () => {
    const q50 = quantizedPath('m.bin', 'q5_0', '/q', 'm.bin\0size\0mtime');
    const q51 = quantizedPath('m.bin', 'q5_1', '/q', 'm.bin\0size\0mtime');
    const { deps, log } = fakeDeps({ cached: { [q50]: 'q5_0', [q51]: 'q4_0' } });
    const reused: string[] = [];
    const rows = await runQuality({ models: 'm.bin', quantize: ['q5_0', 'q5_1'], files: 'a.wav', repetitions: 1, warmup: 0, threads: 1, onQuantize: (e) => e.reused && reused.push(e.type) }, deps);
    expect(reused).toEqual(['q5_0']);
    expect(log.quantized.map((q) => q[2])).toEqual(['q5_1']);
    expect(rows.map((r) => r.model)).toEqual(['m.bin', q50, q51]);
    expect(rows[1].model_bytes).toBe(30e6);
  });

  it('the copy name follows the input: another size or time is another copy', () => {
    expect(quantizedPath('/m/ggml-tiny.en.bin', 'q5_0', '/q', 'k1')).not.toBe(quantizedPath('/m/ggml-tiny.en.bin', 'q5_0', '/q', 'k2'));
    expect(quantizedPath('/m/ggml-tiny.en.bin', 'q5_0', '/q', 'k1')).toMatch(/^\/q\/ggml-tiny\.en-q5_0-/);
  });

  it('references: a.wav → a.txt, else a.wav.txt; missing or empty is INVALID_ARGUMENT before anything loads', async () => {
    expect(referenceCandidates('/d/talk.wav')).toEqual(['/d/talk.txt', '/d/talk.wav.txt']);
    expect(referenceCandidates('noext')).toEqual(['noext.txt']);
    const { deps, log } = fakeDeps({ refs: { 'a.txt': REF['a.txt'], 'b.wav.txt': REF['b.txt'], 'c.txt': '', 'd.txt': '  um, uh [noise]\n' } });
    const rows = await runQuality({ models: 'm.bin', files: ['a.wav', 'b.wav'], repetitions: 1, warmup: 0, threads: 1 }, deps);
    expect(rows[0].ref_words).toBe(19);
    await expect(runQuality({ models: 'm.bin', files: ['a.wav', 'x.wav'] }, deps)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('no reference transcript for x.wav: expected x.txt or x.wav.txt') });
    await expect(runQuality({ models: 'm.bin', files: ['c.wav'] }, deps)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/c\.txt .* is empty: WER needs reference words/) });
    await expect(runQuality({ models: 'm.bin', files: ['d.wav'] }, deps)).rejects.toThrow(/empty after the normalizer/);
    await expect(runQuality({ models: 'm.bin', files: [{ name: 'mem', pcm: new Float32Array(16000), reference: ' ' }] }, deps)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runQuality({ models: 'm.bin', files: [{ name: 'mem', pcm: new Float32Array(16000) } as never] }, deps)).rejects.toThrow(/reference/);
    await expect(runQuality({ models: 'm.bin', files: [] }, deps)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(log.loads).toEqual(['m.bin']); // only the good run loaded anything
  });

  it('takes PCM with its reference, and the default model when none is given', async () => {
    const { deps } = fakeDeps({ synthetic: true, hyp: () => 'the quick red' });
    const rows = await runQuality({ files: [{ name: 'mem', pcm: new Float32Array(10 * 16000), reference: 'the quick brown fox' }], repetitions: 1, warmup: 0, threads: 1 }, deps);
    expect(rows[0]).toMatchObject({ model: '/cache/synthetic/ggml-tiny.en-f16-seed0.bin', file: 'mem', synthetic: true, wer: 0.5, pareto: true });
  });

  it('bad quantization input: an unknown type, an already-quantized model, a type quantizeModel rejects', async () => {
    const { deps, log } = fakeDeps({ ftypes: { 'q.bin': 'q5_0' } });
    await expect(runQuality({ models: 'm.bin', quantize: 'q9_9' as never, files: 'a.wav' }, deps)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('q8_0, q5_1') });
    await expect(runQuality({ models: 'm.bin', quantize: ['q5_0', 'q5_0'], files: 'a.wav' }, deps)).rejects.toThrow(/each type once/);
    await expect(runQuality({ models: ['m.bin', 'q.bin'], quantize: 'q5_1', files: 'a.wav' }, deps)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('q.bin is already q5_0; quantized copies are made of f16 or f32 models only'),
    });
    expect(log.quantized).toEqual([]);
    // an already-quantized model without --quantize is measured as it is
    const rows = await runQuality({ models: ['q.bin'], files: 'a.wav', repetitions: 1, warmup: 0, threads: 1 }, deps);
    expect(rows[0]).toMatchObject({ ftype: 'q5_0', model_bytes: 78e6 });
    const { deps: d2 } = fakeDeps({ quantizeError: new WhisperPerfError('invalid type: "q4_k" (allowed: a type whose block size (256) divides every row)', 'INVALID_ARGUMENT') });
    await expect(runQuality({ models: 'm.bin', quantize: 'q4_k', files: 'a.wav' }, d2)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^--quantize q4_k of m\.bin: invalid type/) });
    expect(log.loads).toEqual(['q.bin']);
  });

  it('the AMX guard: q8_0, q4_0, q4_1 refused where whisper.cpp reports AMX_INT8, unless allowed', async () => {
    const { deps, log } = fakeDeps({ amx: true, ftypes: { 'q4.bin': 'q4_0' } });
    await expect(runQuality({ models: 'm.bin', quantize: ['q5_0', 'q8_0'], files: 'a.wav' }, deps)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/^q8_0 weights refused on this CPU: whisper.cpp reports AMX_INT8 = 1.*crashes the process on q8_0.*--allow-amx-quant/),
    });
    await expect(runQuality({ models: 'q4.bin', files: 'a.wav' }, deps)).rejects.toThrow(/q4_0 weights refused/);
    expect(log.quantized).toEqual([]);
    const rows = await runQuality({ models: 'm.bin', quantize: ['q5_0', 'q8_0'], files: 'a.wav', allowAmxQuant: true, repetitions: 1, warmup: 0, threads: 1 }, deps);
    expect(rows.map((r) => r.ftype)).toEqual(['f16', 'q5_0', 'q8_0']);
    // q5_0 / q5_1 pass the guard
    const ok = await runQuality({ models: 'm.bin', quantize: ['q5_0', 'q5_1'], files: 'a.wav', repetitions: 1, warmup: 0, threads: 1 }, deps);
    expect(ok).toHaveLength(3);
    // no AMX: q8_0 runs
    const { deps: noAmx } = fakeDeps({ amx: false });
    expect(await runQuality({ models: 'm.bin', quantize: 'q8_0', files: 'a.wav', repetitions: 1, warmup: 0, threads: 1 }, noAmx)).toHaveLength(2);
  });

  it('failed cells make their configuration a row with the error and no WER; the others run and make the frontier', async () => {
    const { deps } = fakeDeps({ badModels: ['bad.bin'], refs: { ...REF, 'broken.txt': 'some words' } });
    const rows = await runQuality({ models: ['bad.bin', 'm.bin'], files: ['a.wav', 'b.wav'], repetitions: 1, warmup: 0, threads: 1 }, deps);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ model: 'bad.bin', error: { code: 'MODEL_INVALID' } });
    expect(rows[0].error!.message).toContain('cannot load bad.bin (and 1 more failed file)');
    expect(rows[0].wer).toBeUndefined();
    expect(rows[0].pareto).toBeUndefined();
    expect(rows[1]).toMatchObject({ model: 'm.bin', wer: 0, pareto: true });
    const broken = await runQuality({ models: ['m.bin'], files: ['a.wav', 'broken.wav'], repetitions: 1, warmup: 0, threads: 1 }, deps);
    expect(broken[0]).toMatchObject({ what: 'quality', file: 'a.wav,broken.wav', error: { code: 'AUDIO_INVALID' } });
    expect(broken[0].error!.message).toMatch(/^broken\.wav: /);
    expect(broken[0].rtf).toBeUndefined();
    const md = formatRows([...rows, ...broken], 'md');
    expect(md).toContain('MODEL_INVALID');
    expect(md).toContain('2 failed configurations are not on the frontier');
  });

  it('synthetic weights: rows say so, carry a warning, and the markdown says the WER measures nothing', async () => {
    const { deps } = fakeDeps({ synthetic: true, hyp: () => ' (random) tokens' });
    const rows = await runQuality({ models: 'm.bin', quantize: 'q5_0', files: 'a.wav', presets: ['speed', 'balanced'], repetitions: 1, warmup: 0, threads: 1 }, deps);
    expect(rows).toHaveLength(4);
    for (const r of rows) {
      expect(r.synthetic).toBe(true);
      expect(r.warnings).toContain('synthetic weights: the transcripts are random tokens, so this WER measures nothing (not an accuracy figure)');
    }
    const md = formatRows(rows, 'md');
    expect(md.startsWith('> **Synthetic weights — the WER here measures nothing.**')).toBe(true);
    expect(md).toContain('WER (synthetic†)');
    expect(md).toMatch(/\d+\.\d%†/);
    expect(md).toContain('on synthetic weights, so by speed and noise, not accuracy');
    expect(md).toContain('(synthetic: meaningless)');
  });
});

describe('paretoFrontier', () => {
  it('keeps the points no other is at least as good as in both and better in one', () => {
    expect(paretoFrontier([])).toEqual([]);
    expect(paretoFrontier([{ rtf: 1, wer: 1 }])).toEqual([true]);
    expect(
      paretoFrontier([
        { rtf: 0.1, wer: 0.3 }, // fastest
        { rtf: 0.2, wer: 0.1 }, // most accurate
        { rtf: 0.2, wer: 0.2 }, // as fast as the one above, less accurate
        { rtf: 0.3, wer: 0.3 }, // dominated by the fastest
        { rtf: 0.15, wer: 0.2 }, // a trade between them
      ]),
    ).toEqual([true, true, false, false, true]);
    // equal points are both on it
    expect(paretoFrontier([{ rtf: 0.1, wer: 0.1 }, { rtf: 0.1, wer: 0.1 }])).toEqual([true, true]);
  });
});

describe('whisper-perf quality (command line, no model load)', () => {

  it.each([
    [['quality'], 'no audio file'],
    [['quality', '-f', 'x.wav', '--quantize', 'q9_9'], 'q9_9'],
    [['quality', '-f', 'x.wav', '-p', 'turbo'], 'turbo'],
    [['quality', '-f', 'x.wav', '-m', '/nonexistent/model.bin'], '/nonexistent/model.bin'],
    [['quality', '-f', '/nonexistent/dir/x.wav'], 'no reference transcript for /nonexistent/dir/x.wav'],
  ])('%j: one line naming the problem, exit 2', async (args, text) => {
    expectUsageError(await runMain(args), text);
  });

  it('--help and help quality', async () => {
    const r = await runMain(['quality', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: whisper-perf quality');
    expect(r.stdout).toContain('--allow-amx-quant');
    expect((await runMain(['help', 'quality'])).stdout).toBe(r.stdout);
    expect((await runMain(['--help'])).stdout).toMatch(/\n  quality /);
  });
});
