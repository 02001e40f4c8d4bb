// The stream simulation's pure parts: stream.cpp's window scheduling, the verdict, the text left on
// screen, percentiles, and the runner on a fake clock and a fake model (no addon).
import { describe, expect, it } from 'vitest';

import { latencySummary, percentile } from '../../lib/measure/latency.js';
import { createStream, streamRow, type StreamDeps, type StreamModel } from '../../lib/workloads/stream.js';
import { checkStreamParams, StreamScheduler, streamLines, streamVerdict, tailPieces, windowPcm, type StreamStep } from '../../lib/workloads/stream-window.js';
import type { BenchRow } from '../../lib/measure/types.js';
import { WhisperPerfError } from '../../lib/errors.js';
import { formatRows } from '../../lib/report/formats.js';

const ms = (x: number) => x * 16; // samples

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as WhisperPerfError).code;
  }
  return undefined;
}

describe('checkStreamParams', () => {
  it('accepts stream.cpp defaults and refuses step > length, keep > step, steps under 100 ms', () => {
    expect(checkStreamParams(3000, 10000, 200)).toEqual({ stepMs: 3000, lengthMs: 10000, keepMs: 200 });
    expect(checkStreamParams(3000, 3000, 3000)).toEqual({ stepMs: 3000, lengthMs: 3000, keepMs: 3000 });
    expect(() => checkStreamParams(5000, 3000, 200)).toThrow(/step: 5000 ms is longer than the window length 3000 ms/);
    expect(codeOf(() => checkStreamParams(5000, 3000, 200))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => checkStreamParams(1000, 3000, 1500))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => checkStreamParams(50, 3000, 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => checkStreamParams(3000, 31000, 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => checkStreamParams(1.5, 3000, 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => checkStreamParams(1000, 3000, -1))).toBe('INVALID_ARGUMENT');
  });
});

describe('StreamScheduler (stream.cpp sliding window)', () => {
  it('defaults 3000/10000/200 on 12 s: windows grow within a line, keep 200 ms across lines', () => {
    const s = new StreamScheduler({ stepMs: 3000, lengthMs: 10000, keepMs: 200, totalSamples: ms(12000) });
    expect(s.nNewLine).toBe(2); // max(1, 10000/3000 - 1)
    const w: ReturnType<StreamScheduler['take']>[] = [];
    for (let r = s.nextReadyMs(); r !== null; r = s.nextReadyMs()) w.push(s.take(r));
    expect(w.map((x) => [x.newStart / 16, x.newEnd / 16])).toEqual([
      [0, 3000],
      [3000, 6000],
      [6000, 9000],
      [9000, 12000],
    ]);
    expect(w.map((x) => x.keptSamples / 16)).toEqual([0, 3000, 200, 3200]);
    expect(w.map((x) => x.samples / 16)).toEqual([3000, 6000, 3200, 6200]);
    expect(w.map((x) => x.commit)).toEqual([false, true, false, true]);
    expect(w[3].pieces).toEqual([{ start: ms(5800), end: ms(12000) }]);
    expect(w.map((x) => x.droppedSamples)).toEqual([0, 0, 0, 0]);
    expect(w.map((x) => x.final)).toEqual([false, false, false, true]);
  });

  it('takes at most keep + length − new from the previous window', () => {
    // step 1000, length 2000: n_new_line = 1, so every step commits and carries only `keep`
    const s = new StreamScheduler({ stepMs: 1000, lengthMs: 2000, keepMs: 500, totalSamples: ms(3000) });
    expect(s.nNewLine).toBe(1);
    const a = s.take(1000);
    const b = s.take(2000);
    expect([a.commit, b.commit]).toEqual([true, true]);
    expect(b.pieces).toEqual([{ start: ms(500), end: ms(2000) }]);
    // length 5000, step 1000: n_new_line 4, the window grows to keep + length
    const g = new StreamScheduler({ stepMs: 1000, lengthMs: 5000, keepMs: 0, totalSamples: ms(10000) });
    const sizes: number[] = [];
    for (let r = g.nextReadyMs(); r !== null; r = g.nextReadyMs()) sizes.push(g.take(r).samples / 16);
    expect(sizes).toEqual([1000, 2000, 3000, 4000, 1000, 2000, 3000, 4000, 1000, 2000]);
  });

  it('a late step takes the newest step of audio and drops what came before it', () => {
    const s = new StreamScheduler({ stepMs: 1000, lengthMs: 3000, keepMs: 200, totalSamples: ms(10000) });
    s.take(1000);
    expect(s.nextReadyMs()).toBe(2000);
    const late = s.take(2500); // the model was busy until 2.5 s
    expect([late.newStart / 16, late.newEnd / 16]).toEqual([1500, 2500]);
    expect(late.droppedSamples / 16).toBe(500);
    // the kept audio and the new audio are apart: two pieces
    expect(late.pieces).toEqual([
      { start: 0, end: ms(1000) },
      { start: ms(1500), end: ms(2500) },
    ]);
    expect(() => s.take(3000)).toThrow(/≥ 3500/);
  });

  it('the last partial step is transcribed and ends the stream', () => {
    const s = new StreamScheduler({ stepMs: 1000, lengthMs: 3000, keepMs: 0, totalSamples: ms(2500) });
    s.take(1000);
    s.take(2000);
    expect(s.nextReadyMs()).toBe(2500);
    const last = s.take(2500);
    expect([last.newStart / 16, last.newEnd / 16, last.final]).toEqual([2000, 2500, true]);
    expect(s.nextReadyMs()).toBeNull();
    expect(() => s.take(9999)).toThrow(WhisperPerfError);
  });

  it('tailPieces and windowPcm assemble the window across pieces', () => {
    const pieces = [
      { start: 0, end: 4 },
      { start: 10, end: 13 },
    ];
    expect(tailPieces(pieces, 5)).toEqual([
      { start: 2, end: 4 },
      { start: 10, end: 13 },
    ]);
    expect(tailPieces(pieces, 0)).toEqual([]);
    expect(tailPieces(pieces, 100)).toEqual(pieces);
    const pcm = Float32Array.from({ length: 20 }, (_, i) => i);
    expect([...windowPcm(pcm, tailPieces(pieces, 5))]).toEqual([2, 3, 10, 11, 12]);
  });
});

describe('verdict, lines, percentiles', () => {
  const step = (onTime: boolean, latencyMs: number, droppedMs = 0) => ({ onTime, latencyMs, droppedMs });
  it('keeps up at ≥ 95% on time; falls behind below, naming dropped audio', () => {
    const all = Array.from({ length: 20 }, () => step(true, 400));
    expect(streamVerdict(all, 1000)).toMatchObject({ keepsUp: true, onTimeFraction: 1 });
    expect(streamVerdict(all, 1000).verdict).toMatch(/^keeps up: 100% of 20 steps/);
    const one = [...all.slice(1), step(false, 1500, 500)];
    expect(streamVerdict(one, 1000)).toMatchObject({ keepsUp: true, onTimeFraction: 0.95 });
    const two = [...all.slice(2), step(false, 1500, 500), step(false, 1600, 600)];
    const v = streamVerdict(two, 1000);
    expect(v.keepsUp).toBe(false);
    expect(v.droppedMs).toBe(1100);
    expect(v.verdict).toMatch(/^falls behind: only 90\.0% of 20 steps.*1\.1 s of audio dropped/);
    expect(streamVerdict([], 1000).keepsUp).toBe(false);
  });

  it('the text left on screen: committed lines, then the last partial line', () => {
    expect(streamLines([
      { text: ' a', commit: false },
      { text: ' a b ', commit: true },
      { text: ' c', commit: false },
    ])).toEqual(['a b', 'c']);
    expect(streamLines([])).toEqual([]);
  });

  it('percentile: linear interpolation between closest ranks', () => {
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3);
    expect(percentile([10, 20], 95)).toBeCloseTo(19.5, 9);
    expect(percentile([5, 1, 3], 100)).toBe(5);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(WhisperPerfError);
    const s = latencySummary(Array.from({ length: 101 }, (_, i) => i));
    expect(s).toMatchObject({ n: 101, p50: 50, p95: 95, max: 100, mean: 50 });
  });
});

/** A fake clock and a model whose every transcription costs `cost(pcm)` ms of that clock. */
function fakes(cost: (pcm: Float32Array) => number, text = (pcm: Float32Array) => `w${pcm.length / 16}`) {
  let t = 0;
  const calls: number[] = [];
  const deps: StreamDeps = {
    now: () => t,
    sleep: async (d) => {
      t += d;
    },
  };
  const model: StreamModel = {
    async transcribe(pcm) {
      calls.push(pcm.length);
      t += cost(pcm);
      return { text: text(pcm), synthetic: true };
    },
  };
  return { deps, model, calls, now: () => t };
}

describe('createStream on a fake clock', () => {
  const pcm = new Float32Array(ms(10000));

  it.each([false, true])('a model faster than the step keeps up (realtime %s): latency = its cost', async (realtime) => {
    const f = fakes(() => 500);
    const run = createStream(f.model, pcm, { stepMs: 1000, lengthMs: 3000, keepMs: 200, realtime, warmup: 0 }, f.deps);
    const seen: StreamStep[] = [];
    for await (const s of run) seen.push(s);
    const r = await run.result();
    expect(seen).toHaveLength(10);
    expect(r.steps).toEqual(seen);
    expect(r.steps.map((s) => s.latencyMs)).toEqual(Array(10).fill(500));
    expect(r.steps.map((s) => s.capturedAtMs)).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]);
    expect(r).toMatchObject({ keepsUp: true, onTimeFraction: 1, droppedMs: 0, clock: realtime ? 'wall' : 'virtual', synthetic: true, stopped: false });
    expect(r.latency).toMatchObject({ p50: 500, p95: 500, max: 500 });
    // lines: every second step commits (n_new_line 2); the text is each committed window's
    expect(r.lines).toEqual(['w2000', 'w2200', 'w2200', 'w2200', 'w2200']);
    // every transcription got one window, no more than keep + length
    expect(f.calls.every((n) => n <= ms(3200))).toBe(true);
    // as fast as possible takes only the compute time; real time lasts as long as the audio
    expect(f.now()).toBe(realtime ? 10500 : 5000);
  });

  it('a model slower than the step falls behind and drops audio, as stream.cpp does', async () => {
    const f = fakes(() => 1500);
    const r = await createStream(f.model, pcm, { stepMs: 1000, lengthMs: 3000, keepMs: 200, warmup: 0 }, f.deps).result();
    expect(r.keepsUp).toBe(false);
    expect(r.onTimeFraction).toBe(0);
    expect(r.steps[0]).toMatchObject({ capturedAtMs: 1000, startedAtMs: 1000, doneAtMs: 2500, latencyMs: 1500, droppedMs: 0, onTime: false });
    expect(r.steps[1]).toMatchObject({ audioStartMs: 1500, audioEndMs: 2500, droppedMs: 500, latencyMs: 1500 });
    expect(r.droppedMs).toBeGreaterThan(2000);
    expect(r.verdict).toMatch(/falls behind.*of audio dropped/);
    // dropped + transcribed new audio = the whole file
    const newMs = r.steps.reduce((a, s) => a + s.audioEndMs - s.audioStartMs, 0);
    expect(newMs + r.droppedMs).toBe(10000);
  });

  it('warm-up runs before the clock starts and is not a step', async () => {
    const f = fakes(() => 100);
    const r = await createStream(f.model, pcm, { stepMs: 5000, lengthMs: 5000, keepMs: 0, warmup: 2 }, f.deps).result();
    expect(f.calls).toHaveLength(4);
    expect(f.calls.slice(0, 2)).toEqual([ms(5000), ms(5000)]);
    expect(r.steps).toHaveLength(2);
  });

  it('leaving the loop stops the stream after the step in progress', async () => {
    const f = fakes(() => 10);
    const run = createStream(f.model, pcm, { stepMs: 1000, lengthMs: 3000, keepMs: 0, warmup: 0 }, f.deps);
    for await (const s of run) if (s.index === 2) break;
    const r = await run.result();
    expect(r.stopped).toBe(true);
    expect(r.steps.length).toBeLessThan(10);
  });

  it('bad options are refused before anything runs; an aborted signal rejects with ABORTED', async () => {
    const f = fakes(() => 10);
    expect(codeOf(() => createStream(f.model, pcm, { stepMs: 4000, lengthMs: 3000 }, f.deps))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => createStream(f.model, new Float32Array(0), {}, f.deps))).toBe('AUDIO_INVALID');
    expect(codeOf(() => createStream(f.model, pcm, { singleSegment: false } as never, f.deps))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => createStream({} as StreamModel, pcm, {}, f.deps))).toBe('INVALID_ARGUMENT');
    expect(f.calls).toHaveLength(0);
    const ac = new AbortController();
    ac.abort();
    await expect(createStream(f.model, pcm, { signal: ac.signal, warmup: 0 }, f.deps).result()).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('a failing model rejects the iterator and result() with its error', async () => {
    const model: StreamModel = {
      transcribe: async () => {
        throw new WhisperPerfError('boom', 'NATIVE_FAILURE');
      },
    };
    const run = createStream(model, pcm, { warmup: 0 }, fakes(() => 0).deps);
    await expect((async () => {
      for await (const _ of run) void _;
    })()).rejects.toMatchObject({ code: 'NATIVE_FAILURE' });
    await expect(run.result()).rejects.toThrow('boom');
  });
});

describe('stream rows', () => {
  it('streamRow carries the figures; md prints the verdict and text, csv the columns', async () => {
    const f = fakes(() => 500);
    const r = await createStream(f.model, new Float32Array(ms(4000)), { stepMs: 1000, lengthMs: 3000, keepMs: 200, warmup: 0 }, f.deps).result();
    const base = { what: 'stream', model: '/m/ggml-tiny.en.bin', model_type: 'tiny', ftype: 'f16', synthetic: true, threads: 2, flash_attn: true, device: 'cpu', repetitions: 1, file: '/a/speech.wav', warnings: [] } as unknown as BenchRow;
    const row = streamRow(base, r, { peak_rss_mb: 200, cpu_pct: 150, wall_ms: 1, cpu_ms: 1, peak_source: 'sampled' });
    expect(row).toMatchObject({ steps: 4, step_ms: 1000, length_ms: 3000, keep_ms: 200, keeps_up: true, on_time_fraction: 1, latency_p95_ms: 500, dropped_audio_s: 0, stream_clock: 'virtual', peak_rss_mb: 200 });
    expect(row.latency_ms!.samples).toHaveLength(4);
    expect(row.warnings.some((w) => w.includes('synthetic'))).toBe(true);
    const md = formatRows([row], 'md');
    expect(md).toContain('latency p50 ms');
    expect(md).toContain('**Verdict:** keeps up');
    expect(md).toContain('    w2000');
    const csv = formatRows([row], 'csv').split('\n');
    const header = csv[0].split(',');
    for (const c of ['latency_p95_ms', 'on_time_fraction', 'keeps_up', 'verdict', 'step_ms']) expect(header).toContain(c);
    expect(formatRows([row], 'sql')).toContain('latency_p95_ms REAL');
  });
});
