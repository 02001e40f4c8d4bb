import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  FTYPES,
  MODEL_NAMES,
  PUBLISHED_MODEL_SIZES,
  matchArchNames,
  parameterCount,
  resolveArch,
  type ModelHParams,
} from '../../lib/models/arch.js';
import { readModelHeader, validateModelFile } from '../../lib/models/ggml.js';
import { GGML_TYPES, expectedTensors, ggmlFileSize, tensorBytes, type ExpectedTensor } from '../../lib/models/ggml-format.js';
import { writeSyntheticModel } from '../../lib/models/synth.js';
import { syntheticVocabBytes } from '../../lib/models/synth-content.js';
import { FITTED, PUBLISHED_SIZES } from '../fixtures/published-models.js';

let dir: string;
let tinyPath: string;
let tinySize: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wp-ggml-'));
  tinyPath = join(dir, 'tiny.en.bin');
  tinySize = (await writeSyntheticModel(tinyPath, { arch: 'tiny.en', seed: 3 })).bytes;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// A small hand-built model: real format, toy dimensions, zero data. Not synthetic-marked.
const MINI: ModelHParams = {
  n_vocab: 1000,
  n_audio_ctx: 12,
  n_audio_state: 64,
  n_audio_head: 2,
  n_audio_layer: 1,
  n_text_ctx: 8,
  n_text_state: 64,
  n_text_head: 2,
  n_text_layer: 2,
  n_mels: 80,
  ftype: 1,
};

interface BuildOptions {
  nFft?: number;
  vocab?: string[];
  /** edit the tensor list (order, names, shapes, types) before writing */
  tensors?: (t: ExpectedTensor[]) => Array<ExpectedTensor & { dataBytes?: number }>;
  trailing?: number;
}

let fileNo = 0;
async function buildModel(h: ModelHParams, o: BuildOptions = {}): Promise<string> {
  const parts: Buffer[] = [];
  const i32 = (...v: number[]) => {
    const b = Buffer.alloc(4 * v.length);
    v.forEach((x, i) => b.writeInt32LE(x, 4 * i));
    parts.push(b);
  };
  i32(0x67676d6c, h.n_vocab, h.n_audio_ctx, h.n_audio_state, h.n_audio_head, h.n_audio_layer);
  i32(h.n_text_ctx, h.n_text_state, h.n_text_head, h.n_text_layer, h.n_mels, h.ftype);
  const nFft = o.nFft ?? 201;
  i32(h.n_mels, nFft);
  parts.push(Buffer.alloc(4 * h.n_mels * nFft));
  const vocab = o.vocab ?? ['a', 'b', ' the', 'ing'];
  i32(vocab.length);
  for (const t of vocab) {
    i32(Buffer.byteLength(t));
    parts.push(Buffer.from(t));
  }
  let base: ExpectedTensor[] = [];
  try {
    base = expectedTensors(h);
  } catch {
    // header values the validator must reject: write no tensors
  }
  const tensors = o.tensors ? o.tensors(base) : base;
  for (const t of tensors) {
    const name = Buffer.from(t.name);
    i32(t.shape.length, name.length, GGML_TYPES[t.type].id, ...t.shape);
    parts.push(name);
    parts.push(Buffer.alloc((t as { dataBytes?: number }).dataBytes ?? t.bytes));
  }
  if (o.trailing) parts.push(Buffer.alloc(o.trailing));
  const p = join(dir, `mini-${fileNo++}.bin`);
  await writeFile(p, Buffer.concat(parts));
  return p;
}

async function expectInvalid(path: string, message: RegExp): Promise<void> {
  await expect(validateModelFile(path)).rejects.toMatchObject({ code: 'MODEL_INVALID', message: expect.stringMatching(message) });
}

describe('architectures', () => {
  it('resolves every model name with the published hyper-parameters', () => {
    const tiny = resolveArch('tiny.en');
    expect(tiny).toMatchObject({
      n_vocab: 51864,
      n_audio_ctx: 1500,
      n_audio_state: 384,
      n_audio_head: 6,
      n_audio_layer: 4,
      n_text_ctx: 448,
      n_text_state: 384,
      n_text_head: 6,
      n_text_layer: 4,
      n_mels: 80,
      ftype: 1,
      modelType: 'tiny',
      multilingual: false,
    });
    expect(resolveArch('large-v3')).toMatchObject({ n_vocab: 51866, n_mels: 128, n_audio_state: 1280, n_text_layer: 32 });
    expect(resolveArch('large-v3-turbo')).toMatchObject({ n_vocab: 51866, n_mels: 128, n_audio_layer: 32, n_text_layer: 4 });
    expect(resolveArch('medium')).toMatchObject({ n_vocab: 51865, n_audio_state: 1024, n_audio_head: 16, n_audio_layer: 24 });
    for (const n of MODEL_NAMES) expect(resolveArch(n).name).toBe(n);
  });

  it('accepts file names and quantization suffixes, rejects unknown names', () => {
    expect(resolveArch('ggml-base.en-q5_1.bin')).toMatchObject({ name: 'base.en-q5_1', ftype: FTYPES.q5_1, n_audio_state: 512 });
    expect(resolveArch('small.en-tdrz').name).toBe('small.en');
    expect(() => resolveArch('huge')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => resolveArch('tiny-q3_k')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('matches header values back to names (large-v1 and v2 are the same)', () => {
    expect(matchArchNames(resolveArch('large-v2'))).toEqual(['large-v1', 'large-v2']);
    expect(matchArchNames({ ...resolveArch('small'), ftype: 8 })).toEqual(['small']);
  });

  it('counts parameters as the sum of the tensors whisper.cpp loads', () => {
    expect(parameterCount(resolveArch('tiny.en'))).toBe(37_760_256);
    for (const n of MODEL_NAMES) {
      const a = resolveArch(n);
      expect(parameterCount(a), n).toBe(expectedTensors(a).reduce((s, t) => s + t.elements, 0));
    }
    // OpenAI's rounded table: tiny 39M, base 74M, small 244M, medium 769M, large 1550M, turbo 809M
    const table: Array<[string, number]> = [
      ['tiny', 39e6],
      ['base', 74e6],
      ['small', 244e6],
      ['medium', 769e6],
      ['large-v3', 1550e6],
      ['large-v3-turbo', 809e6],
    ];
    for (const [n, v] of table) expect(Math.abs(parameterCount(resolveArch(n)) / v - 1), n).toBeLessThan(0.05);
  });
});

describe('expectedTensors', () => {
  it('lists tiny.en tensors in converter order with whisper.cpp shapes and types', () => {
    const t = expectedTensors(resolveArch('tiny.en'));
    expect(t.length).toBe(5 + 15 * 4 + 2 + 2 + 24 * 4 + 2);
    expect(t.slice(0, 6).map((x) => x.name)).toEqual([
      'encoder.positional_embedding',
      'encoder.conv1.weight',
      'encoder.conv1.bias',
      'encoder.conv2.weight',
      'encoder.conv2.bias',
      'encoder.blocks.0.attn.query.weight',
    ]);
    const by = new Map(t.map((x) => [x.name, x]));
    expect(by.get('encoder.positional_embedding')).toMatchObject({ shape: [384, 1500], type: 'f32' });
    expect(by.get('encoder.conv1.weight')).toMatchObject({ shape: [3, 80, 384], type: 'f16' });
    expect(by.get('encoder.conv1.bias')).toMatchObject({ shape: [1, 384], type: 'f32' });
    expect(by.get('encoder.conv2.weight')).toMatchObject({ shape: [3, 384, 384], type: 'f16' });
    expect(by.get('encoder.blocks.0.mlp.0.weight')).toMatchObject({ shape: [384, 1536], type: 'f16' });
    expect(by.get('encoder.blocks.0.mlp.2.weight')).toMatchObject({ shape: [1536, 384], type: 'f16' });
    expect(by.get('encoder.blocks.3.mlp_ln.bias')).toMatchObject({ shape: [384], type: 'f32' });
    expect(by.has('encoder.blocks.0.attn.key.bias')).toBe(false);
    expect(by.get('decoder.positional_embedding')).toMatchObject({ shape: [384, 448], type: 'f32' });
    expect(by.get('decoder.token_embedding.weight')).toMatchObject({ shape: [384, 51864], type: 'f16', bytes: 384 * 51864 * 2 });
    expect(by.get('decoder.blocks.3.cross_attn.out.weight')).toMatchObject({ shape: [384, 384], type: 'f16' });
    expect(by.get('decoder.blocks.3.cross_attn_ln.weight')).toMatchObject({ shape: [384], type: 'f32' });
    expect(t.at(-1)?.name).toBe('decoder.ln.bias');
    expect(new Set(t.map((x) => x.name)).size).toBe(t.length);
  });

  it('uses f32 everywhere for ftype 0 and keeps convs f16 when quantized', () => {
    expect(new Set(expectedTensors({ ...resolveArch('base'), ftype: 0 }).map((t) => t.type))).toEqual(new Set(['f32']));
    const q = expectedTensors({ ...resolveArch('base'), ftype: 2008 }); // q5_0, GGML_QNT_VERSION 2
    const by = new Map(q.map((x) => [x.name, x]));
    expect(by.get('encoder.conv1.weight')?.type).toBe('f16');
    expect(by.get('encoder.blocks.0.attn.query.weight')).toMatchObject({ type: 'q5_0', bytes: (512 * 512 / 32) * 22 });
    expect(by.get('decoder.token_embedding.weight')?.type).toBe('q5_0');
    expect(by.get('encoder.positional_embedding')?.type).toBe('f32');
    expect(by.get('decoder.blocks.0.mlp.0.bias')?.type).toBe('f32');
  });

  it('knows ggml block sizes', () => {
    expect(tensorBytes('q4_0', [64, 2])).toBe(4 * 18);
    expect(tensorBytes('q4_1', [64])).toBe(2 * 20);
    expect(tensorBytes('q5_1', [32])).toBe(24);
    expect(tensorBytes('q8_0', [32, 3])).toBe(3 * 34);
    expect(tensorBytes('f16', [3, 5])).toBe(30);
    expect(tensorBytes('q4_k', [384, 2])).toBeNaN(); // 384 is not a multiple of 256
  });

  it('reproduces the published file sizes to the byte (f16 and q5_0)', () => {
    // the sizes come from the test data; the vocabulary constant was fitted on FITTED, so 13 of the
    // 15 are an independent check of the arithmetic (preamble + vocabulary + tensor records)
    expect(Object.keys(PUBLISHED_SIZES).filter((n) => !FITTED.includes(n))).toHaveLength(13);
    for (const [name, size] of Object.entries(PUBLISHED_SIZES)) {
      const a = resolveArch(name);
      expect(ggmlFileSize(a, syntheticVocabBytes(a.multilingual)), name).toBe(size);
    }
  });

  it('carries the published sizes the test data holds, which agree with whisper.cpp\'s own model table', () => {
    expect(PUBLISHED_MODEL_SIZES).toEqual(PUBLISHED_SIZES);
    // vendor/whisper.cpp/models/README.md lists each model rounded ("75 MiB", "1.5 GiB"),
    // not always to the nearest unit: within one MiB, or 0.1 GiB
    const readme = readFileSync(join(process.cwd(), 'vendor', 'whisper.cpp', 'models', 'README.md'), 'utf8');
    let seen = 0;
    for (const m of readme.matchAll(/^\| ([\w.-]+) +\| ([\d.]+) (MiB|GiB) +\|/gm)) {
      const size = PUBLISHED_SIZES[m[1]];
      if (size === undefined) continue;
      seen++;
      const unit = m[3] === 'MiB' ? 2 ** 20 : 2 ** 30;
      expect(Math.abs(size / unit - Number(m[2])), m[1]).toBeLessThan(m[3] === 'MiB' ? 1 : 0.1);
    }
    expect(seen).toBe(Object.keys(PUBLISHED_SIZES).length);
  });
});

describe('validateModelFile', () => {
  it('accepts the synthetic tiny.en and reports what it is', async () => {
    const info = await validateModelFile(tinyPath);
    expect(info).toMatchObject({
      fileSize: tinySize,
      modelType: 'tiny',
      multilingual: false,
      numLanguages: 99,
      ftype: 'f16',
      ftypeId: 1,
      qntVersion: 0,
      tensorCount: 167,
      parameterCount: 37_760_256,
      synthetic: true,
      vocabSize: 50256,
      knownArchs: ['tiny.en'],
      filters: { nMel: 80, nFft: 201 },
    });
    const { name: _n, modelType: _m, multilingual: _ml, ...hparams } = resolveArch('tiny.en');
    expect(info.hparams).toEqual(hparams);
  });

  it('readModelHeader stops after the vocabulary', async () => {
    const h = await readModelHeader(tinyPath);
    expect(h.synthetic).toBe(true);
    expect(h.tensorsOffset).toBe(48 + 8 + 80 * 201 * 4 + syntheticVocabBytes(false));
    expect('tensorCount' in h).toBe(false);
  });

  it('accepts quantized files (q5_0 with quantization version) in any tensor order', async () => {
    const p = await buildModel({ ...MINI, ftype: 2008 }, { tensors: (t) => [...t].reverse() });
    const info = await validateModelFile(p);
    expect(info).toMatchObject({ ftype: 'q5_0', ftypeId: 8, qntVersion: 2, synthetic: false, vocabSize: 4, knownArchs: [] });
    expect(info.parameterCount).toBe(parameterCount(MINI));
    expect(info.fileSize).toBe((await stat(p)).size);
    for (const ftype of [0, 1, 2, 3, 7, 9]) {
      const q = await validateModelFile(await buildModel({ ...MINI, ftype }));
      expect(q.ftypeId).toBe(ftype);
    }
  });

  it('rejects truncated copies, saying where', async () => {
    const header = await readModelHeader(tinyPath);
    const tensors = expectedTensors(resolveArch('tiny.en'));
    const firstData = header.tensorsOffset + 12 + 4 * 2 + tensors[0].name.length;
    const cuts: Array<[number, RegExp]> = [
      [2, /not a ggml model/],
      [20, /truncated: hparams/],
      [1000, /truncated: mel filter bank/],
      [header.tensorsOffset - 3, /truncated: token 50255/],
      [header.tensorsOffset, /truncated: no tensors/],
      [header.tensorsOffset + 7, /truncated: 7 stray byte/],
      [header.tensorsOffset + 14, /truncated: dim 0 of tensor/],
      [firstData + 100, /truncated: data of tensor 'encoder.positional_embedding'/],
      [firstData + tensors[0].bytes, /1 of 167 tensors missing \(first: 'encoder.conv1.weight'\)|166 of 167 tensors missing/],
      [tinySize - 1, /truncated: data of tensor 'decoder.ln.bias'.*needs 1536 byte/],
    ];
    const cut = join(dir, 'cut.bin');
    for (const [n, re] of cuts) {
      await copyFile(tinyPath, cut);
      await truncate(cut, n);
      await expectInvalid(cut, re);
    }
    await rm(cut);
  });

  it('rejects trailing bytes', async () => {
    await expectInvalid(await buildModel(MINI, { trailing: 5 }), /stray byte/);
    await expectInvalid(await buildModel(MINI, { trailing: 64 }), /tensor record at offset \d+ has n_dims = 0/);
  });

  it('rejects files that are not ggml models', async () => {
    const rnd = join(dir, 'random.bin');
    await writeFile(rnd, randomBytes(1 << 16));
    await expectInvalid(rnd, /not a ggml model/);
    const gguf = join(dir, 'model.gguf');
    await writeFile(gguf, Buffer.concat([Buffer.from('GGUF'), randomBytes(100)]));
    await expectInvalid(gguf, /GGUF/);
    // the magic alone is not enough
    const magicOnly = join(dir, 'magic.bin');
    await writeFile(magicOnly, Buffer.concat([Buffer.from('lmgg', 'latin1'), randomBytes(4096)]));
    await expect(validateModelFile(magicOnly)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('distinguishes missing, empty and directory paths', async () => {
    await expect(validateModelFile(join(dir, 'nope.bin'))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(readModelHeader(join(dir, 'nope', 'x.bin'))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    const empty = join(dir, 'empty.bin');
    await writeFile(empty, '');
    await expectInvalid(empty, /empty file/);
    const sub = join(dir, 'adir');
    await mkdir(sub);
    await expectInvalid(sub, /directory/);
  });

  it('rejects tensors whisper.cpp would refuse', async () => {
    const rename = (from: string, to: string) => (t: ExpectedTensor[]) => t.map((x) => (x.name === from ? { ...x, name: to } : x));
    await expectInvalid(await buildModel(MINI, { tensors: rename('decoder.ln.bias', 'decoder.ln.b') }), /unknown tensor 'decoder.ln.b'/);
    await expectInvalid(
      await buildModel(MINI, { tensors: (t) => [...t, t[3]] }),
      /duplicate tensor 'encoder.conv2.weight'/,
    );
    await expectInvalid(
      await buildModel(MINI, { tensors: (t) => t.filter((x) => x.name !== 'decoder.blocks.1.cross_attn.key.weight') }),
      /1 of \d+ tensors missing \(first: 'decoder.blocks.1.cross_attn.key.weight'\)/,
    );
    // conv bias stored 1-D, as a naive converter would
    await expectInvalid(
      await buildModel(MINI, { tensors: (t) => t.map((x) => (x.name === 'encoder.conv1.bias' ? { ...x, shape: [64] } : x)) }),
      /'encoder.conv1.bias' has shape \[64\], expected \[1, 64\]/,
    );
    // f32 weight in an f16 model
    await expectInvalid(
      await buildModel(MINI, {
        tensors: (t) => t.map((x) => (x.name === 'encoder.blocks.0.attn.key.weight' ? { ...x, type: 'f32', bytes: x.bytes * 2 } : x)),
      }),
      /'encoder.blocks.0.attn.key.weight' is f32, whisper.cpp expects f16/,
    );
    // an unquantized tensor in a q8_0 model
    await expectInvalid(
      await buildModel({ ...MINI, ftype: 7 }, {
        tensors: (t) => t.map((x) => (x.name === 'decoder.token_embedding.weight' ? { ...x, type: 'f16', bytes: x.elements * 2 } : x)),
      }),
      /is f16, whisper.cpp expects q8_0/,
    );
  });

  it('rejects bad header values', async () => {
    await expectInvalid(await buildModel({ ...MINI, ftype: 5 }, { tensors: () => [] }), /unknown ftype 5/);
    await expectInvalid(await buildModel({ ...MINI, ftype: 1004 }, { tensors: () => [] }), /unknown ftype 1004/);
    await expectInvalid(await buildModel({ ...MINI, n_text_state: 32, n_text_head: 2 }), /n_text_state 32 != n_audio_state 64/);
    await expectInvalid(await buildModel({ ...MINI, n_audio_head: 3 }), /not divisible/);
    await expectInvalid(await buildModel({ ...MINI, n_audio_layer: -1 }), /implausible n_audio_layer/);
    await expectInvalid(await buildModel(MINI, { nFft: 200 }), /200 bins, expected 201/);
    await expectInvalid(await buildModel(MINI, { vocab: [] }), /vocabulary holds 0 tokens/);
    // k-quants need rows that are multiples of 256
    await expectInvalid(await buildModel({ ...MINI, ftype: 12 }, { tensors: (t) => t.map((x) => ({ ...x, dataBytes: Number.isNaN(x.bytes) ? 0 : x.bytes })) }), /not a multiple of the q4_k block size 256/);
  });

  // needs sparse files (NTFS would write 3 GB of zeros)
  it.skipIf(process.platform === 'win32')('validates a 3 GB-class file by its headers only (large-v3 layout, sparse file)', async () => {
    // every tensor header at its real offset, data left as holes: checks that nothing is read into memory
    const h = { ...resolveArch('large-v3') };
    const p = join(dir, 'large-v3-sparse.bin');
    const size = ggmlFileSize(h, syntheticVocabBytes(true));
    const fh = await open(p, 'w');
    try {
      // magic, hparams, filters and a 4-token vocabulary, then the real tensor records
      const preamble = await readFile(await buildModel(h, { tensors: () => [] }));
      await fh.write(preamble, 0, preamble.length, 0);
      let off = preamble.length;
      for (const t of expectedTensors(h)) {
        const name = Buffer.from(t.name);
        const b = Buffer.alloc(12 + 4 * t.shape.length + name.length);
        b.writeInt32LE(t.shape.length, 0);
        b.writeInt32LE(name.length, 4);
        b.writeInt32LE(GGML_TYPES[t.type].id, 8);
        t.shape.forEach((d, i) => b.writeInt32LE(d, 12 + 4 * i));
        name.copy(b, 12 + 4 * t.shape.length);
        await fh.write(b, 0, b.length, off);
        off += b.length + t.bytes;
      }
      await fh.truncate(off);
      expect(off).toBeGreaterThan(3e9);
      expect(Math.abs(off - size)).toBeLessThan(600_000); // differs only by the vocabulary
    } finally {
      await fh.close();
    }
    const t0 = performance.now();
    const info = await validateModelFile(p);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(info).toMatchObject({ modelType: 'large', multilingual: true, numLanguages: 100, knownArchs: ['large-v3'], tensorCount: expectedTensors(h).length });
    await rm(p);
  });
});
