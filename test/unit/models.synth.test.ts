import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MODEL_NAMES, resolveArch, type ModelHParams } from '../../lib/models/arch.js';
import { PUBLISHED_SIZES } from '../fixtures/published-models.js';
import { readModelHeader, validateModelFile } from '../../lib/models/ggml.js';
import { SYNTHETIC_MARKER_INDEX, SYNTHETIC_MARKER_TOKEN, expectedTensors, preambleBytes } from '../../lib/models/ggml-format.js';
import { syntheticModelSize, writeSyntheticModel } from '../../lib/models/synth.js';
import { VOCAB_TOKENS_EN, VOCAB_TOKENS_MULTILINGUAL, fromHalfBits, melFilterBank, syntheticVocabBytes, syntheticVocabulary, toHalfBits } from '../../lib/models/synth-content.js';

let dir: string;
let tinyPath: string;
let tinyResult: { path: string; bytes: number; sha256: string };
let tinyMs: number;

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(length);
    await fh.read(b, 0, length, offset);
    return b;
  } finally {
    await fh.close();
  }
}

/** File offset of a tensor's data in a synthetic file (tensors are written in expectedTensors order). */
async function tensorDataOffset(path: string, h: ModelHParams, name: string): Promise<number> {
  const header = await readModelHeader(path);
  let off = header.tensorsOffset;
  for (const t of expectedTensors(h)) {
    off += 12 + 4 * t.shape.length + Buffer.byteLength(t.name);
    if (t.name === name) return off;
    off += t.bytes;
  }
  throw new Error(`no tensor ${name}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wp-synth-'));
  tinyPath = join(dir, 'ggml-tiny.en-synthetic.bin');
  const t0 = performance.now();
  tinyResult = await writeSyntheticModel(tinyPath, { arch: 'tiny.en', ftype: 'f16', seed: 0 });
  tinyMs = performance.now() - t0;
  console.log(`synthetic tiny.en f16: ${tinyResult.bytes} bytes in ${tinyMs.toFixed(0)} ms`);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('writeSyntheticModel', () => {
  it('writes tiny.en f16 within 1% of the published file size (in fact exactly)', async () => {
    const st = await stat(tinyPath);
    const published = PUBLISHED_SIZES['tiny.en'];
    expect(published).toBe(77_704_715);
    expect(Math.abs(st.size - published) / published).toBeLessThan(0.01);
    expect(st.size).toBe(published);
    expect(tinyResult.bytes).toBe(st.size);
    expect(syntheticModelSize('tiny.en', 'f16')).toBe(st.size);
  });

  it('reports the SHA-256 of what is on disk', async () => {
    expect(await sha256File(tinyPath)).toBe(tinyResult.sha256);
  });

  it('is byte-identical for the same arch, ftype and seed', async () => {
    const again = join(dir, 'again.bin');
    const r = await writeSyntheticModel(again, { arch: 'tiny.en', seed: 0, chunkBytes: 1 << 16 });
    expect(r.sha256).toBe(tinyResult.sha256);
    expect(await sha256File(again)).toBe(await sha256File(tinyPath));
    await rm(again);
  });

  it('gives different weights for a different seed but the same header and vocabulary', async () => {
    const other = join(dir, 'seed1.bin');
    const r = await writeSyntheticModel(other, { arch: 'tiny.en', seed: 1 });
    expect(r.bytes).toBe(tinyResult.bytes);
    expect(r.sha256).not.toBe(tinyResult.sha256);
    const { tensorsOffset } = await readModelHeader(tinyPath);
    expect((await readAt(other, 0, tensorsOffset)).equals(await readAt(tinyPath, 0, tensorsOffset))).toBe(true);
    // a weight matrix deep in the file differs almost everywhere
    const h = resolveArch('tiny.en');
    const off = await tensorDataOffset(tinyPath, h, 'decoder.blocks.3.mlp.0.weight');
    const a = await readAt(tinyPath, off, 4096);
    const b = await readAt(other, off, 4096);
    let same = 0;
    for (let i = 0; i < a.length; i += 2) if (a.readUInt16LE(i) === b.readUInt16LE(i)) same++;
    expect(same).toBeLessThan(200);
    await rm(other);
  });

  it('produces a file the validator accepts, with every tensor and the synthetic marker', async () => {
    const info = await validateModelFile(tinyPath);
    expect(info.synthetic).toBe(true);
    expect(info.tensorCount).toBe(expectedTensors(resolveArch('tiny.en')).length);
    expect(info.ftype).toBe('f16');
    expect(info.vocabSize).toBe(VOCAB_TOKENS_EN);
    expect(info.knownArchs).toEqual(['tiny.en']);
  });

  it('writes layer norms as 1/0 and other weights as small N(0, 0.02^2)-like values', async () => {
    const h = resolveArch('tiny.en');
    const lnW = await readAt(tinyPath, await tensorDataOffset(tinyPath, h, 'encoder.blocks.1.attn_ln.weight'), 384 * 4);
    const lnB = await readAt(tinyPath, await tensorDataOffset(tinyPath, h, 'decoder.ln.bias'), 384 * 4);
    const w = Array.from({ length: 384 }, (_, i) => lnW.readFloatLE(4 * i));
    const b = Array.from({ length: 384 }, (_, i) => lnB.readFloatLE(4 * i));
    expect(new Set(w)).toEqual(new Set([1]));
    expect(new Set(b)).toEqual(new Set([0]));
    const n = 384 * 384;
    const q = await readAt(tinyPath, await tensorDataOffset(tinyPath, h, 'encoder.blocks.0.attn.query.weight'), n * 2);
    let sum = 0;
    let sq = 0;
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const v = fromHalfBits(q.readUInt16LE(2 * i));
      if (!Number.isFinite(v) || Math.abs(v) > 0.2) bad++;
      sum += v;
      sq += v * v;
    }
    expect(bad).toBe(0);
    const mean = sum / n;
    const sd = Math.sqrt(sq / n - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(sd).toBeGreaterThan(0.018);
    expect(sd).toBeLessThan(0.022);
    // f32 biases of linear layers are random too
    const qb = await readAt(tinyPath, await tensorDataOffset(tinyPath, h, 'encoder.blocks.0.attn.query.bias'), 384 * 4);
    const distinct = new Set<number>();
    for (let i = 0; i < 384; i++) distinct.add(qb.readFloatLE(4 * i));
    expect(distinct.size).toBeGreaterThan(300);
  });

  it('stores the real mel filter bank after the header', async () => {
    const b = await readAt(tinyPath, 48, 8 + 80 * 201 * 4);
    expect(b.readInt32LE(0)).toBe(80);
    expect(b.readInt32LE(4)).toBe(201);
    const ref = melFilterBank(80);
    for (const i of [1, 203, 5000, 16079]) expect(b.readFloatLE(8 + 4 * i)).toBe(ref[i]);
  });

  it('reports progress up to the total', async () => {
    const seen: Array<[number, number]> = [];
    const p = join(dir, 'progress.bin');
    const arch = { ...resolveArch('tiny.en'), n_audio_layer: 1, n_text_layer: 1 };
    const r = await writeSyntheticModel(p, { arch, onProgress: (w, t) => seen.push([w, t]), chunkBytes: 1 << 20 });
    expect(seen.length).toBeGreaterThan(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBeGreaterThan(seen[i - 1][0]);
    expect(seen.at(-1)).toEqual([r.bytes, r.bytes]);
    expect(r.bytes).toBe(syntheticModelSize(arch));
    const info = await validateModelFile(p);
    expect(info.hparams.n_audio_layer).toBe(1);
    expect(info.knownArchs).toEqual([]);
    await rm(p);
  });

  it('writes valid f32 models', async () => {
    const p = join(dir, 'f32.bin');
    const arch = { ...resolveArch('base'), n_audio_layer: 1, n_text_layer: 1 };
    const r = await writeSyntheticModel(p, { arch, ftype: 'f32', seed: 7 });
    expect((await stat(p)).size).toBe(r.bytes);
    const info = await validateModelFile(p);
    expect(info.ftype).toBe('f32');
    expect(info.hparams.ftype).toBe(0);
    expect(info.multilingual).toBe(true);
    expect(info.vocabSize).toBe(VOCAB_TOKENS_MULTILINGUAL);
    expect(info.synthetic).toBe(true);
    await rm(p);
  });

  it('stops on abort and leaves nothing behind', async () => {
    const sub = await mkdtemp(join(dir, 'abort-'));
    const p = join(sub, 'aborted.bin');
    const ac = new AbortController();
    await expect(
      writeSyntheticModel(p, { arch: 'tiny.en', signal: ac.signal, chunkBytes: 1 << 20, onProgress: () => ac.abort() }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await readdir(sub)).toEqual([]);
  });

  it('rejects bad arguments', async () => {
    const p = join(dir, 'bad.bin');
    await expect(writeSyntheticModel(p, { arch: 'huge' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(writeSyntheticModel(p, { arch: 'tiny.en-q5_0' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(writeSyntheticModel(p, { arch: 'tiny.en', seed: -1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(writeSyntheticModel(p, { arch: 'tiny.en', seed: 1.5 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      writeSyntheticModel(p, { arch: 'tiny.en', ftype: 'q5_0' as unknown as 'f16' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(
      writeSyntheticModel(p, { arch: { ...resolveArch('tiny'), n_vocab: 1000 } }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => syntheticModelSize('nope')).toThrow(/invalid model name/);
  });
});

describe('syntheticModelSize', () => {
  it('matches every published f16 model within 1% (in fact to the byte), without writing', () => {
    for (const name of MODEL_NAMES) {
      const published = PUBLISHED_SIZES[name];
      expect(published, name).toBeGreaterThan(0);
      const size = syntheticModelSize(name, 'f16');
      expect(Math.abs(size - published) / published, name).toBeLessThan(0.01);
      expect(size, name).toBe(published);
    }
  });

  it('f32 adds two bytes per f16 element', () => {
    for (const name of ['tiny.en', 'large-v3'] as const) {
      const f16Elements = expectedTensors(resolveArch(name))
        .filter((t) => t.type === 'f16')
        .reduce((a, t) => a + t.elements, 0);
      expect(syntheticModelSize(name, 'f32') - syntheticModelSize(name, 'f16')).toBe(2 * f16Elements);
    }
  });

  it('counts preamble, vocabulary and tensors', () => {
    const h = resolveArch('tiny.en');
    const tensors = expectedTensors(h).reduce((a, t) => a + 12 + 4 * t.shape.length + t.name.length + t.bytes, 0);
    expect(syntheticModelSize('tiny.en')).toBe(preambleBytes(80) + syntheticVocabBytes(false) + tensors);
  });
});

describe('synthetic vocabulary', () => {
  function tokens(buf: Buffer): Buffer[] {
    const n = buf.readInt32LE(0);
    const out: Buffer[] = [];
    let p = 4;
    for (let i = 0; i < n; i++) {
      const len = buf.readUInt32LE(p);
      out.push(buf.subarray(p + 4, p + 4 + len));
      p += 4 + len;
    }
    expect(p).toBe(buf.length);
    return out;
  }

  it.each([false, true])('has the real token count, byte tokens, the marker and unique tokens (multilingual %s)', (ml) => {
    const buf = syntheticVocabulary(ml);
    expect(buf.length).toBe(syntheticVocabBytes(ml));
    const t = tokens(buf);
    expect(t.length).toBe(ml ? 50257 : 50256);
    for (let b = 0; b < 256; b++) expect([...t[b]]).toEqual([b]);
    expect(t[SYNTHETIC_MARKER_INDEX].toString('latin1')).toBe(SYNTHETIC_MARKER_TOKEN);
    expect(new Set(t.map((x) => x.toString('latin1'))).size).toBe(t.length);
    const odd = t.slice(257).filter((x) => !/^ ?[a-z]+$/.test(x.toString('latin1')));
    expect(odd).toEqual([]);
  });

  it('does not depend on the seed and is cached', () => {
    expect(syntheticVocabulary(false)).toBe(syntheticVocabulary(false));
  });
});

describe('melFilterBank', () => {
  // reference values of librosa.filters.mel(sr=16000, n_fft=400, n_mels=80) (Whisper's mel_80)
  const REF: Array<[number, number, number]> = [
    [0, 1, 0.02486259490251541],
    [1, 1, 0.001990821911022067],
    [1, 2, 0.022871771827340126],
    [9, 10, 0.006945197004824877],
    [39, 41, 0.011486922390758991],
    [69, 131, 0.00487553421407938],
    [79, 192, 0.0031647116411477327],
    [79, 190, 0.0022320549469441175],
    [79, 199, 0.0004487590049393475],
  ];

  it('matches librosa slaney filters for 80 bands', () => {
    const f = melFilterBank(80);
    expect(f.length).toBe(80 * 201);
    for (const [m, k, v] of REF) expect(f[m * 201 + k]).toBeCloseTo(v, 7);
    expect(f.reduce((a, b) => a + b, 0)).toBeCloseTo(1.999024, 4);
    expect(f[0]).toBe(0);
    expect(f[200]).toBe(0);
  });

  it('is non-negative with peaks rising in frequency for 128 bands', () => {
    const f = melFilterBank(128);
    expect(f.length).toBe(128 * 201);
    expect(f.every((v) => v >= 0 && Number.isFinite(v))).toBe(true);
    const peaks: number[] = [];
    for (let m = 0; m < 128; m++) {
      let best = 0;
      let at = -1;
      for (let k = 0; k < 201; k++) {
        const v = f[m * 201 + k];
        if (v > best) [best, at] = [v, k];
      }
      if (at >= 0) peaks.push(at);
    }
    expect(peaks.length).toBeGreaterThan(120);
    expect(peaks.every((p, i) => i === 0 || p >= peaks[i - 1])).toBe(true);
    // wide high-frequency triangles integrate to ~1 over Hz (slaney area normalisation)
    let area = 0;
    for (let k = 0; k < 201; k++) area += f[120 * 201 + k] * 40;
    expect(area).toBeCloseTo(1, 1);
  });
});

describe('half floats', () => {
  it('converts exactly representable and edge values', () => {
    expect(toHalfBits(0)).toBe(0);
    expect(toHalfBits(-0)).toBe(0x8000);
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(toHalfBits(0.5)).toBe(0x3800);
    expect(toHalfBits(65504)).toBe(0x7bff);
    expect(toHalfBits(65520)).toBe(0x7c00);
    expect(toHalfBits(Infinity)).toBe(0x7c00);
    expect(toHalfBits(2 ** -14)).toBe(0x0400);
    expect(toHalfBits(2 ** -24)).toBe(0x0001);
    expect(toHalfBits(2 ** -26)).toBe(0);
    expect(toHalfBits(NaN) & 0x7c00).toBe(0x7c00);
    expect(toHalfBits(NaN) & 0x3ff).not.toBe(0);
    // ties go to even
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('round-trips within half precision', () => {
    for (let i = 0; i < 2000; i++) {
      const x = (Math.sin(i * 12.9898) * 43758.5453) % 3;
      const y = fromHalfBits(toHalfBits(x));
      if (Math.abs(y - x) > Math.max(Math.abs(x) * 2 ** -11, 2 ** -25)) throw new Error(`${x} -> ${y}`);
    }
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue; // inf / nan
      if (toHalfBits(fromHalfBits(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });
});
