import { copyFileSync, mkdtempSync, openSync, readFileSync, closeSync, writeFileSync, readSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { testSignal } from '../../lib/audio/generate.js';
import { WhisperPerfError } from '../../lib/errors.js';
import { codeOf } from '../fixtures/codes.js';
import { loadModel, Model } from '../../lib/model/model.js';
import { loadBinding } from '../../lib/native.js';
import { buildInfo, systemInfo } from '../../lib/system.js';

const tiny = inject('tinyModel');
const tmp = mkdtempSync(join(tmpdir(), 'wp-native-'));


describe('a loaded synthetic tiny.en', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(tiny, { useGpu: false });
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it('reports the real tiny.en architecture and says it is synthetic', () => {
    expect(model.loadMs).toBeGreaterThan(0);
    expect(model.info.type).toBe('tiny');
    expect(model.info.multilingual).toBe(false);
    expect(model.info.ftype).toBe('f16');
    expect(model.info.synthetic).toBe(true);
    expect(model.info.backend).toBe('CPU');
    expect(model.info.hparams).toMatchObject({ nVocab: 51864, nAudioState: 384, nAudioLayer: 4, nTextLayer: 4, nMels: 80 });
    // published tiny.en: 77.7 MB
    expect(Math.abs(model.info.fileSize - 77_704_715) / 77_704_715).toBeLessThan(0.01);
    expect(model.info.parameterCount).toBeGreaterThan(37e6);
    // buffer sizes parsed from whisper.cpp's log lines
    expect(model.info.buffers.model).toBeGreaterThan(70e6);
    expect(model.info.buffers.kvSelf).toBeGreaterThan(0);
    expect(model.info.buffers.computeEncode).toBeGreaterThan(0);
  });

  it('computes a mel, encodes and decodes, each with its own timing', async () => {
    const mel = await model.computeMel(testSignal(2), { threads: 2 });
    expect(mel.ms).toBeGreaterThan(0);
    expect(mel.nLen).toBeGreaterThanOrEqual(198);
    expect(mel.nLen).toBeLessThanOrEqual(201);
    const t0 = performance.now();
    const enc = await model.encode({ threads: 2 });
    const wall = performance.now() - t0;
    expect(enc.ms).toBeGreaterThan(10);
    // queue time and run time are both inside the wall time of the awaited call (one monotonic clock)
    expect(enc.queueMs + enc.ms).toBeLessThanOrEqual(wall);
    const dec = await model.decode([50257, 220], 0, { threads: 2 });
    expect(dec.ms).toBeGreaterThan(0);
    const t = await model.timings();
    expect(t.encode.runs).toBe(1);
    // whisper.cpp times the encoder inside the call the addon times: nested, never longer
    // (0.01 ms: whisper.cpp counts whole microseconds)
    expect(t.encode.totalMs).toBeGreaterThan(0);
    expect(t.encode.totalMs).toBeLessThanOrEqual(enc.ms + 0.01);
    expect(t.batchd.runs).toBe(2);
    expect(t.melMs).toBeGreaterThan(0);
    await model.resetTimings();
    const z = await model.timings();
    expect(z.encode.runs).toBe(0);
    expect(z.decode.runs).toBe(0);
  });

  it('sets a mel directly and encodes from an offset', async () => {
    const nMel = model.info.hparams.nMels;
    const mel = new Float32Array(nMel * 400).fill(-0.5);
    const r = await model.setMel(mel);
    expect(r.nLen).toBe(400);
    await expect(model.encode({ threads: 2, offset: 100 })).resolves.toMatchObject({ ms: expect.any(Number) });
    expect(await codeOf(model.encode({ offset: 400 }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(model.setMel(new Float32Array(nMel * 3 + 1)))).toBe('INVALID_ARGUMENT');
  });

  it('serializes work on one model and reports the wait as queue time', async () => {
    const [a, b] = await Promise.all([model.decode([1], 0, { threads: 1 }), model.decode([1, 2, 3, 4, 5, 6, 7, 8], 0, { threads: 1 })]);
    expect(b.queueMs).toBeGreaterThanOrEqual(a.ms * 0.9);
  });

  it('rejects bad PCM with AUDIO_INVALID', async () => {
    expect(await codeOf(model.computeMel(new Float32Array(0)))).toBe('AUDIO_INVALID');
    expect(await codeOf(model.computeMel(new Float64Array(100) as unknown as Float32Array))).toBe('AUDIO_INVALID');
    expect(await codeOf(model.computeMel([0.1, 0.2] as unknown as Float32Array))).toBe('AUDIO_INVALID');
    expect(await codeOf(model.computeMel(null as unknown as Float32Array))).toBe('AUDIO_INVALID');
  });

  it('takes PCM shorter than whisper.cpp\'s 200-sample reflection pad as that much silence (the mel read past it before)', async () => {
    const padded = await model.computeMel(new Float32Array(201), { threads: 1 });
    for (const n of [1, 5, 200]) expect((await model.computeMel(new Float32Array(n), { threads: 1 })).nLen).toBe(padded.nLen);
    const t = await model.transcribe(new Float32Array(7), { threads: 1, maxTokens: 2, noFallback: true, singleSegment: true });
    expect(typeof t.text).toBe('string');
  });

  it('rejects thread counts that are not 1..MAX with INVALID_ARGUMENT naming the argument', async () => {
    for (const threads of [0, -1, 1.5, 1e6, NaN, '2' as unknown as number]) {
      const p = model.encode({ threads });
      await expect(p).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('threads') });
    }
  });

  it('rejects tokens outside the vocabulary and nPast beyond the text context', async () => {
    expect(await codeOf(model.decode([51864], 0))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(model.decode([-1], 0))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(model.decode([], 0))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(model.decode([1.5], 0))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(model.decode([1], 448))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(model.decode([1, 2], 447))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(model.decode([1], -1))).toBe('INVALID_ARGUMENT');
    // the last valid position still works
    await expect(model.decode([1], 447, { threads: 1 })).resolves.toBeTruthy();
  });

  it('the native layer refuses what the TypeScript layer would, as a last line of defence', async () => {
    const b = loadBinding();
    expect(() => new (b as unknown as { NativeModel: new () => unknown }).NativeModel()).toThrow(/loadModel/);
  });

  it('runs whisper-bench\'s workload and returns per-run timings', async () => {
    const r = await model.benchWorkload({ threads: 2, heat: 0, nDecode: 4, nBatch: 2, nPrompt: 1 });
    expect(r.counts).toEqual({ encode: 1, decode: 4, batchd: 2, prompt: 1 });
    expect(r.perRunMs!.encode).toBeGreaterThan(0);
    expect(r.perRunMs!.decode).toBeGreaterThan(0);
    // whisper.cpp's own timer runs inside the addon's wall clock around each call, and both
    // count runs the same way (batchd and prompt per token): per stage, whisper.cpp's per-run
    // figure never exceeds the wall clock's (0.01 ms: whisper.cpp counts whole microseconds)
    for (const stage of ['encode', 'decode', 'batchd', 'prompt'] as const) {
      expect(r.perRunMs![stage], stage).toBeGreaterThan(0);
      expect(r.perRunMs![stage], stage).toBeLessThanOrEqual(r.wallPerRunMs[stage] + 0.01);
    }
  });

  it('computes off the JavaScript thread, which answers callbacks while whisper.cpp runs', async () => {
    // the job reports the OS thread that ran it; the main thread's id is the process id
    const enc = await model.encode({ threads: 1 });
    expect(enc.tid).toBeGreaterThan(0);
    expect(enc.tid).not.toBe(process.pid);
    // a transcription of 60 s (two windows or more) that only the JavaScript thread can stop early:
    // it aborts from the first progress event, which whisper.cpp reports as the first window's
    // encoder starts. A blocked loop could deliver that event only after whisper_full returned.
    const ac = new AbortController();
    let progressEvents = 0;
    const p = model.transcribe(testSignal(60), {
      threads: 1,
      signal: ac.signal,
      onProgress: () => {
        progressEvents++;
        ac.abort();
      },
    });
    expect(await codeOf(p)).toBe('ABORTED');
    expect(progressEvents).toBeGreaterThanOrEqual(1);
  });

  it('transcribes PCM and marks the transcript synthetic', async () => {
    const r = await model.transcribe(testSignal(3), { threads: 2, maxTokens: 4, noFallback: true, singleSegment: true });
    expect(r.ms).toBeGreaterThan(0);
    expect(r.synthetic).toBe(true);
    expect(Array.isArray(r.segments)).toBe(true);
    expect(r.timings.encode.runs).toBeGreaterThanOrEqual(1);
    expect(await codeOf(model.transcribe(testSignal(1), { language: 'xx-not' }))).toBe('INVALID_ARGUMENT');
    // bad options reject (never throw synchronously from a promise-returning call)
    expect(await codeOf(model.transcribe(testSignal(1), 'fast' as unknown as object))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(model.benchWorkload(7 as unknown as object))).toBe('INVALID_ARGUMENT');
  });

  it('delivers progress and each new segment while whisper_full runs, on the JavaScript thread', async () => {
    const progress: number[] = [];
    const seen: { index: number; text: string; tokens: number }[] = [];
    const r = await model.transcribe(testSignal(4), {
      threads: 2,
      maxTokens: 6,
      noFallback: true,
      tokenTimestamps: true,
      onProgress: (p) => progress.push(p),
      onSegment: (s) => seen.push({ index: s.index, text: s.text, tokens: s.tokens.length }),
    });
    expect(r.segments.length).toBeGreaterThan(0);
    // every segment of the result was announced, in order, before the promise resolved
    expect(seen.map((s) => s.index)).toEqual(r.segments.map((s) => s.index));
    expect(seen.map((s) => s.text)).toEqual(r.segments.map((s) => s.text));
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p, i) => p >= 0 && p <= 100 && (i === 0 || p >= progress[i - 1]))).toBe(true);
    // tokens with ids, text and probabilities; the figures the rtf matrix reads
    const tok = r.segments[0].tokens[0];
    expect(tok).toMatchObject({ id: expect.any(Number), text: expect.any(String), p: expect.any(Number) });
    expect(r.audioS).toBeCloseTo(4, 5);
    expect(r.rtf).toBeCloseTo(r.ms / 1000 / 4, 6);
    expect(r.firstSegmentMs).toBeGreaterThan(0);
    expect(r.firstSegmentMs!).toBeLessThanOrEqual(r.ms);
    expect(r.fallbacks).toBe(0);
    expect(r.timings.encode.runs).toBeGreaterThanOrEqual(1);
  });

  it('a throwing callback rejects the transcription with its error and the model lives on', async () => {
    const boom = new Error('callback failed');
    await expect(
      model.transcribe(testSignal(2), { threads: 2, maxTokens: 2, noFallback: true, onSegment: () => { throw boom; } }),
    ).rejects.toBe(boom);
    await expect(model.decode([1], 0, { threads: 1 })).resolves.toBeTruthy();
  });

  it('validates every transcription option before whisper.cpp sees it', async () => {
    const bad: Record<string, unknown>[] = [
      { processors: 0 },
      { temperature: 2 },
      { temperatureInc: -1 },
      { entropyThold: NaN },
      { logprobThold: 1 },
      { noSpeechThold: 'x' },
      { maxLen: -1 },
      { audioCtx: 99999 },
      { offsetMs: -5 },
      { durationMs: 1.5 },
      { initialPrompt: 42 },
      { onProgress: 'no' },
      { onSegment: {} },
      { tokenTimestamps: 'yes' },
    ];
    for (const o of bad) expect(await codeOf(model.transcribe(testSignal(1), o as object)), JSON.stringify(o)).toBe('INVALID_ARGUMENT');
  });

  it('detects the language with language "auto" and honours offset and duration', async () => {
    const r = await model.transcribe(testSignal(3), { threads: 2, language: 'auto', maxTokens: 2, noFallback: true, offsetMs: 1000, durationMs: 1000 });
    // the detected language is reported (random weights detect something arbitrary)
    expect(r.language).toMatch(/^[a-z]{2,3}$/);
    expect(r.segments.length).toBeGreaterThan(0);
    // (only the start: random weights may emit any timestamp token for a segment's end)
    for (const s of r.segments) expect(s.start).toBeGreaterThanOrEqual(0.99);
  });

  it('aborts a transcription through its AbortSignal', async () => {
    const ac = new AbortController();
    const p = model.transcribe(testSignal(5), { threads: 2, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    expect(await codeOf(p)).toBe('ABORTED');
    // the model still works afterwards
    await expect(model.decode([1], 0, { threads: 1 })).resolves.toBeTruthy();
  });
});

describe('loading bad model files', () => {
  it('a missing file rejects with MODEL_NOT_FOUND', async () => {
    expect(await codeOf(loadModel(join(tmp, 'nope.bin')))).toBe('MODEL_NOT_FOUND');
  });

  it('an empty file rejects with MODEL_INVALID', async () => {
    const p = join(tmp, 'empty.bin');
    writeFileSync(p, '');
    expect(await codeOf(loadModel(p))).toBe('MODEL_INVALID');
  });

  it('random bytes reject with MODEL_INVALID', async () => {
    const p = join(tmp, 'random.bin');
    const buf = Buffer.alloc(1 << 16);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 7919) & 0xff;
    writeFileSync(p, buf);
    expect(await codeOf(loadModel(p))).toBe('MODEL_INVALID');
  });

  it('a truncated model rejects with MODEL_INVALID', async () => {
    const p = join(tmp, 'truncated.bin');
    const src = openSync(tiny, 'r');
    const dst = openSync(p, 'w');
    const buf = Buffer.alloc(1 << 20);
    for (let off = 0; off < 20 << 20; off += buf.length) {
      readSync(src, buf, 0, buf.length, off);
      writeSync(dst, buf);
    }
    closeSync(src);
    closeSync(dst);
    expect(await codeOf(loadModel(p))).toBe('MODEL_INVALID');
  });

  it('corrupt weights still load; a corrupt tensor header rejects with MODEL_INVALID', async () => {
    // where the tensors lie, read here with a walker of the ggml layout independent of lib/models
    const tensors = tensorRecords(readFileSync(tiny));
    const big = tensors.reduce((a, b) => (b.dataBytes > a.dataBytes ? b : a));
    // 64 bytes of 0xff in the middle of the largest tensor's data: NaN weights, a valid file
    const weights = join(tmp, 'corrupt-weights.bin');
    copyFileSync(tiny, weights);
    let fd = openSync(weights, 'r+');
    writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, big.dataAt + Math.floor(big.dataBytes / 2));
    closeSync(fd);
    const m = await loadModel(weights, { useGpu: false });
    expect(m.info.hparams.nAudioLayer).toBe(4);
    await m.dispose();
    // the same 64 bytes over the header of a tensor in the middle of the file: n_dims = -1
    const header = join(tmp, 'corrupt-header.bin');
    copyFileSync(tiny, header);
    fd = openSync(header, 'r+');
    writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, tensors[Math.floor(tensors.length / 2)].headerAt);
    closeSync(fd);
    expect(await codeOf(loadModel(header, { useGpu: false }))).toBe('MODEL_INVALID');
  });

  it('a directory or a non-string path is rejected with a code', async () => {
    expect(['MODEL_INVALID', 'MODEL_NOT_FOUND']).toContain(await codeOf(loadModel(tmp)));
    expect(await codeOf(loadModel(42 as unknown as string))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(loadModel(''))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(loadModel(tiny, { gpuDevice: -1 }))).toBe('INVALID_ARGUMENT');
    // a GPU index the build does not have is refused, not quietly run on the CPU
    const gpus = systemInfo().devices.filter((d) => d.type === 'gpu' || d.type === 'igpu').length;
    await expect(loadModel(tiny, { gpuDevice: gpus })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('gpuDevice') });
    expect(await codeOf(loadModel(tiny, 'x' as unknown as object))).toBe('INVALID_ARGUMENT');
  });

  it('an already aborted signal rejects with ABORTED before any work', async () => {
    expect(await codeOf(loadModel(tiny, { signal: AbortSignal.abort() }))).toBe('ABORTED');
  });

  it('the error carries the caller\'s stack', async () => {
    const e = await loadModel(join(tmp, 'nope.bin')).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(WhisperPerfError);
    expect((e as Error).stack).toContain('async call site');
    expect((e as Error).stack).toContain('model.test.ts');
  });
});

describe('dispose', () => {
  it('rejects calls after dispose with DISPOSED, tolerates a second dispose, and waits for queued work', async () => {
    const m = await loadModel(tiny, { useGpu: false });
    const pending = m.decode([1], 0, { threads: 1 });
    const disposed = m.dispose();
    await expect(pending).resolves.toBeTruthy();
    await disposed;
    expect(m.disposed).toBe(true);
    expect(await codeOf(m.encode())).toBe('DISPOSED');
    expect(await codeOf(m.decode([1], 0))).toBe('DISPOSED');
    expect(await codeOf(m.timings())).toBe('DISPOSED');
    await m.dispose();
  });

  it('supports Symbol.asyncDispose', async () => {
    const m = await loadModel(tiny, { useGpu: false });
    await m[Symbol.asyncDispose]();
    expect(m.disposed).toBe(true);
  });

  it('passes log lines to onLog', async () => {
    const lines: string[] = [];
    const m = await loadModel(tiny, { onLog: (_l, t) => lines.push(t) });
    await m.dispose();
    expect(lines.some((l) => l.includes('model size'))).toBe(true);
  });
});

describe('build and system information', () => {
  it('reports the pinned whisper.cpp and the build options', () => {
    const pin = JSON.parse(readFileSync('vendor/pin.json', 'utf8'));
    const b = buildInfo();
    expect(b.whisperVersion).toBe(pin.whisperVersion);
    expect(b.pin).toEqual(pin);
    expect(b.backends).toContain('cpu');
    expect(b.options).toHaveProperty('GGML_NATIVE');
    expect(b.options).toHaveProperty('GGML_OPENMP');
    expect(['Release', 'Debug', 'RelWithDebInfo']).toContain(b.buildType);
    expect(b.variant).toMatch(/^(native|generic)/);
    expect(b.addonPath).toMatch(/\.node$/);
  });

  it('reports the machine: CPU, cores, memory, features and devices', () => {
    const s = systemInfo();
    expect(s.cores).toBeGreaterThan(0);
    expect(s.memoryBytes).toBeGreaterThan(0);
    expect(typeof s.features.avx2).toBe('boolean');
    expect(s.devices.some((d) => d.type === 'cpu')).toBe(true);
  });
});

/**
 * The tensor records of a whisper.cpp ggml file with f32/f16 tensors: where each header and
 * each tensor's data begin. Written from the format (magic, 11 hparams, mel filters, vocabulary,
 * then n_dims, name length, type, dims, name, data per tensor), not from lib/models.
 */
function tensorRecords(buf: Buffer): { name: string; headerAt: number; dataAt: number; dataBytes: number }[] {
  let at = 0;
  const i32 = () => {
    const v = buf.readInt32LE(at);
    at += 4;
    return v;
  };
  expect(i32()).toBe(0x67676d6c);
  const hp = Array.from({ length: 11 }, i32);
  const nMel = i32();
  const nFft = i32();
  at += nMel * nFft * 4;
  const nVocab = i32();
  expect(nVocab).toBeLessThanOrEqual(hp[0]);
  for (let i = 0; i < nVocab; i++) at += 4 + buf.readUInt32LE(at);
  const out: { name: string; headerAt: number; dataAt: number; dataBytes: number }[] = [];
  while (at < buf.length) {
    const headerAt = at;
    const nDims = i32();
    const nameLen = i32();
    const type = i32();
    expect([0, 1]).toContain(type);
    let n = 1;
    for (let d = 0; d < nDims; d++) n *= i32();
    const name = buf.toString('utf8', at, at + nameLen);
    at += nameLen;
    const dataBytes = n * (type === 0 ? 4 : 2);
    out.push({ name, headerAt, dataAt: at, dataBytes });
    at += dataBytes;
  }
  expect(at).toBe(buf.length);
  return out;
}
