// rtf() with its dependencies replaced: the plan, model reuse, decoding once, failed cells, statistics.
import { describe, expect, it } from 'vitest';

import { rtfRow, runRtf, WARMUP_AUDIO_S, type RtfDeps, type RtfModel, type RtfTranscript } from '../../lib/workloads/rtf.js';
import type { BenchRow } from '../../lib/measure/types.js';
import { WhisperPerfError } from '../../lib/errors.js';
import type { TranscribeOptions } from '../../lib/model/model.js';
import { provenance } from '../fixtures/rows.js';
import { fakeTimings, stage } from '../fixtures/timings.js';


const timings = fakeTimings;

function transcript(ms: number, over: Partial<RtfTranscript> = {}): RtfTranscript {
  return { ms, timings: timings(), firstSegmentMs: 120, fallbacks: 0, language: 'en', segments: [{}], ...over };
}

interface Log {
  loads: string[];
  decodes: string[];
  calls: { model: string; samples: number; options: TranscribeOptions }[];
  disposed: string[];
}

function fakeDeps(opts: { msPerAudioS?: Record<string, number>; badModels?: string[]; failTranscribe?: (model: string, threads: number) => boolean; durations?: Record<string, number> } = {}): { deps: RtfDeps; log: Log } {
  const log: Log = { loads: [], decodes: [], calls: [], disposed: [] };
  const deps: RtfDeps = {
    async loadModel(path) {
      log.loads.push(path);
      if (opts.badModels?.includes(path)) throw new WhisperPerfError(`cannot load ${path}`, 'MODEL_INVALID');
      let fallbacks = 0; // whisper.cpp's counters run on from the load
      const m: RtfModel = {
        info: { type: 'tiny', ftype: 'f16', synthetic: path.includes('synthetic'), backend: 'CPU' },
        async transcribe(pcm, options) {
          log.calls.push({ model: path, samples: pcm.length, options });
          if (opts.failTranscribe?.(path, options.threads!)) throw new WhisperPerfError('whisper_full failed', 'NATIVE_FAILURE');
          const perS = opts.msPerAudioS?.[path] ?? 50;
          fallbacks += 2;
          return transcript((pcm.length / 16000) * perS / (options.threads ?? 1), { fallbacks });
        },
        async timings() {
          return { fallbacksP: fallbacks, fallbacksH: 0 };
        },
        async dispose() {
          log.disposed.push(path);
        },
      };
      return m;
    },
    async loadAudio(input) {
      log.decodes.push(input);
      if (input.includes('missing')) throw new WhisperPerfError(`audio file not found: ${input}`, 'AUDIO_INVALID');
      const d = opts.durations?.[input] ?? 10;
      return { pcm: new Float32Array(Math.round(d * 16000)), durationS: d };
    },
    provenance,
    buildWarnings: () => [],
    gpuCount: () => 0,
    monitor: (_device, info) => ({ stop: async () => ({ peak_rss_mb: 321.5, cpu_pct: 180, peak_rss_source: 'sampled' as const, backend: info.backend }) }),
    defaultModel: async () => '/cache/ggml-tiny.en-synthetic.bin',
  };
  return { deps, log };
}

describe('rtf sweep', () => {
  it('runs models × files × presets × threads, loading each model once and decoding each file once', async () => {
    const { deps, log } = fakeDeps({ durations: { 'a.wav': 10, 'b.wav': 40 } });
    const progress: { done: number; total: number; etaMs?: number }[] = [];
    const rows = await runRtf(
      { models: ['m1.bin', 'm2.bin'], files: ['a.wav', 'b.wav'], threads: [1, 2], presets: ['speed', 'quality'], repetitions: 3, warmup: 1, onProgress: (p) => progress.push(p) },
      deps,
    );
    expect(rows).toHaveLength(16);
    expect(log.loads).toEqual(['m1.bin', 'm2.bin']);
    expect(log.decodes).toEqual(['a.wav', 'b.wav']);
    expect(log.disposed).toEqual(['m1.bin', 'm2.bin']);
    // model slowest, threads fastest
    expect(rows.slice(0, 4).map((r) => [r.model, r.file, r.preset, r.threads])).toEqual([
      ['m1.bin', 'a.wav', 'speed', 1],
      ['m1.bin', 'a.wav', 'speed', 2],
      ['m1.bin', 'a.wav', 'quality', 1],
      ['m1.bin', 'a.wav', 'quality', 2],
    ]);
    // 1 warm-up + 3 runs per cell; the warm-up of the 40-s file is its first 30 s
    expect(log.calls).toHaveLength(16 * 4);
    const bCalls = log.calls.filter((c) => c.samples !== 10 * 16000);
    expect(bCalls.filter((c) => c.samples === WARMUP_AUDIO_S * 16000)).toHaveLength(8);
    expect(bCalls.filter((c) => c.samples === 40 * 16000)).toHaveLength(24);
    // the preset's options reached transcribe, with the cell's threads over the preset's policy
    const q = log.calls.find((c) => c.options.beamSize === 5)!;
    expect(q.options).toMatchObject({ bestOf: 5, temperatureInc: 0.2 });
    expect(log.calls.filter((c) => c.options.threads === 2)).toHaveLength(32);
    for (const r of rows) {
      expect(r.what).toBe('rtf');
      expect(r.error).toBeUndefined();
      expect(r.audio_s).toBe(r.file === 'a.wav' ? 10 : 40);
      expect(r.process_s!.n).toBe(3);
      expect(r.rtf!.median).toBeCloseTo(0.05 / r.threads, 10);
      expect(r.rtfx!.median).toBeCloseTo(20 * r.threads, 6);
      expect(r.peak_rss_mb).toBe(321.5);
      expect(r.cpu_pct).toBe(180);
      expect(r.backend).toBe('CPU');
      // per transcription, not the counters' running total
      expect(r.fallbacks).toBe(2);
    }
    // progress: cells done in order, an ETA once a cell is done, and the end
    expect(progress[0]).toMatchObject({ done: 0, total: 16 });
    expect(progress.at(-1)).toMatchObject({ done: 16, total: 16 });
    expect(progress.some((p) => p.done > 0 && typeof p.etaMs === 'number')).toBe(true);
  });

  it('without -t each preset uses its own thread policy', async () => {
    const { deps } = fakeDeps();
    const rows = await runRtf({ models: 'm.bin', files: 'a.wav', presets: ['speed', 'realtime'], repetitions: 1, warmup: 0 }, deps);
    const { availableParallelism } = await import('node:os');
    const cores = availableParallelism();
    expect(rows.map((r) => r.threads)).toEqual([cores, Math.max(1, cores - 1)]);
  });

  it('a file that does not decode, a model that does not load and a failed transcription are failed cells; the rest runs', async () => {
    const { deps, log } = fakeDeps({ badModels: ['bad.bin'], failTranscribe: (m, t) => m === 'ok.bin' && t === 2 });
    const rows = await runRtf({ models: ['bad.bin', 'ok.bin'], files: ['missing.wav', 'a.wav'], threads: [1, 2], repetitions: 2, warmup: 0 }, deps);
    expect(rows).toHaveLength(8);
    // the bad model is tried once, and every cell of it carries the error
    expect(log.loads).toEqual(['bad.bin', 'ok.bin']);
    expect(rows.slice(0, 4).map((r) => r.error?.code)).toEqual(['MODEL_INVALID', 'MODEL_INVALID', 'MODEL_INVALID', 'MODEL_INVALID']);
    const ok = rows.slice(4);
    expect(ok.map((r) => [r.file, r.threads, r.error?.code ?? 'ok'])).toEqual([
      ['missing.wav', 1, 'AUDIO_INVALID'],
      ['missing.wav', 2, 'AUDIO_INVALID'],
      ['a.wav', 1, 'ok'],
      ['a.wav', 2, 'NATIVE_FAILURE'],
    ]);
    expect(ok[0].error!.message).toContain('missing.wav');
    expect(ok[2].rtf!.n).toBe(2);
    // the missing file was tried once, not once per cell
    expect(log.decodes.filter((d) => d === 'missing.wav')).toHaveLength(1);
    for (const r of rows.filter((x) => x.error)) expect(r.rtf).toBeUndefined();
  });

  it('an abort stops the sweep with ABORTED', async () => {
    const { deps } = fakeDeps();
    const ac = new AbortController();
    let n = 0;
    const p = runRtf({ models: 'm.bin', files: 'a.wav', threads: [1, 2, 3], repetitions: 1, warmup: 0, signal: ac.signal, onProgress: () => ++n === 2 && ac.abort() }, deps);
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('checks its options', async () => {
    const { deps } = fakeDeps();
    await expect(runRtf({ files: [] }, deps)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runRtf({ files: 'a.wav', presets: ['turbo' as never] }, deps)).rejects.toThrow(/speed, balanced/);
    await expect(runRtf({ files: 'a.wav', threads: 0 }, deps)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runRtf({ files: 'a.wav', repetitions: 0 }, deps)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runRtf({ files: ['a.wav', 'a.wav'] }, deps)).rejects.toThrow(/each file once/);
  });

  it('takes PCM already decoded, and the default model when none is given', async () => {
    const { deps, log } = fakeDeps();
    const rows = await runRtf({ files: { name: 'mem', pcm: new Float32Array(16000 * 5) }, repetitions: 1, warmup: 0, threads: 1 }, deps);
    expect(log.decodes).toEqual([]);
    expect(rows[0]).toMatchObject({ model: '/cache/ggml-tiny.en-synthetic.bin', file: 'mem', audio_s: 5, synthetic: true, preset: 'balanced' });
    expect(rows[0].warnings.some((w) => w.includes('synthetic weights'))).toBe(true);
  });
});

describe('rtfRow', () => {
  const base = (): BenchRow => ({ ...provenance(), what: 'rtf', model: 'm.bin', model_type: 'tiny', ftype: 'f16', synthetic: false, threads: 2, flash_attn: true, device: 'cpu', repetitions: 3, file: 'a.wav', preset: 'balanced', warnings: [] });

  it('turns transcriptions into process, RTF, RTFx and per-run stage statistics', () => {
    const runs = [1000, 1100, 900].map((ms, i) => transcript(ms, { firstSegmentMs: 100 + i, timings: timings({ encode: stage(2, 300 + i), fallbacksP: 1 }), fallbacks: i }));
    const r = rtfRow(base(), 10, runs, { peak_rss_mb: 200, cpu_pct: 190, peak_rss_source: 'hwm' });
    expect(r.process_s!.samples).toEqual([1, 1.1, 0.9]);
    expect(r.rtf!.samples.map((x) => +x.toFixed(6))).toEqual([0.1, 0.11, 0.09]);
    expect(r.rtfx!.median).toBeCloseTo(10, 10);
    expect(r.encode_ms!.samples).toEqual([300, 301, 302]);
    expect(r.decode_ms!.median).toBe(2.5);
    expect(r.prompt_ms!.median).toBe(0.8);
    expect(r.sample_ms!.median).toBe(0.05);
    expect(r.mel_ms!.median).toBe(12);
    expect(r.batchd_ms).toBeUndefined(); // no batch decode ran: no sample, no Stat
    expect(r.first_segment_ms!.samples).toEqual([100, 101, 102]);
    expect(r.fallbacks).toBe(1);
    expect(r.stage_runs).toEqual({ encode: 2, decode: 30, batchd: 0, prompt: 2, sample: 40 });
    expect(r.language).toBe('en');
    expect(r.peak_rss_mb).toBe(200);
    expect(r.peak_rss_source).toBe('hwm');
    expect(r.warnings.some((w) => w.includes('fallback'))).toBe(true);
    expect(r.warnings.some((w) => w.includes('competed'))).toBe(false);
    // 2 threads given 60% of a core: other work competed, and the row says so
    expect(rtfRow(base(), 10, runs, { cpu_pct: 60 }).warnings.some((w) => w.includes('competed for the cores'))).toBe(true);
  });

  it('warns about few repetitions, runs without segments and synthetic weights', () => {
    const r = rtfRow({ ...base(), synthetic: true }, 5, [transcript(500, { segments: [], firstSegmentMs: null })]);
    expect(r.first_segment_ms).toBeUndefined();
    expect(r.warnings.join('\n')).toMatch(/only 1 repetition/);
    expect(r.warnings.join('\n')).toMatch(/1 of 1 transcriptions produced no segment/);
    expect(r.warnings.join('\n')).toMatch(/synthetic weights/);
    expect(() => rtfRow(base(), 5, [])).toThrow(WhisperPerfError);
    expect(() => rtfRow(base(), 0, [transcript(1)])).toThrow(/audioS/);
  });
});
