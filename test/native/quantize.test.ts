// Quantization with ggml's own quantizer in the addon: the result validates, loads and runs.
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, inject, it } from 'vitest';

import { WhisperPerfError } from '../../lib/errors.js';
import { codeOf } from '../fixtures/codes.js';
import { loadModel } from '../../lib/model/model.js';
import { validateModelFile } from '../../lib/models/ggml.js';
import { quantizeModel } from '../../lib/models/quantize.js';
import { loadBinding } from '../../lib/native.js';

const tiny = inject('tinyModel');
const dir = mkdtempSync(join(tmpdir(), 'wp-quant-'));


describe('models quantize', () => {
  it('q5_0 of tiny.en: every 2-D weight quantized, the file validates, loads and decodes', async () => {
    const out = join(dir, 'tiny-q5_0.bin');
    const progress: number[] = [];
    const r = await quantizeModel(tiny, out, 'q5_0', { onProgress: (p) => progress.push(p.done) });
    expect(r.tensors).toBe(progress.length);
    // tiny.en: 4+4 layers; the conv biases and positional embeddings stay as they are
    expect(r.quantizedTensors).toBeGreaterThan(40);
    expect(r.outputBytes).toBe(statSync(out).size);
    // 5.5 bits per weight against 16, plus the unquantized tensors
    expect(r.ratio).toBeGreaterThan(0.3);
    expect(r.ratio).toBeLessThan(0.45);
    const info = await validateModelFile(out);
    expect(info.ftype).toBe('q5_0');
    expect(info.synthetic).toBe(true);
    const m = await loadModel(out, { useGpu: false });
    try {
      expect(m.info.ftype).toBe('q5_0');
      const d = await m.decode([1, 2], 0, { threads: 2 });
      expect(d.ms).toBeGreaterThan(0);
    } finally {
      await m.dispose();
    }
  });

  it('refuses an already-quantized input, an unknown type and a k-quant whose blocks do not divide the rows', async () => {
    const q = join(dir, 'tiny-q4_1.bin');
    await quantizeModel(tiny, q, 'q4_1');
    expect(await codeOf(quantizeModel(q, join(dir, 'x.bin'), 'q5_0'))).toBe('MODEL_INVALID');
    expect(await codeOf(quantizeModel(tiny, join(dir, 'x.bin'), 'q3_x' as 'q5_0'))).toBe('INVALID_ARGUMENT');
    // tiny's rows are 384 values: k-quants need multiples of 256
    expect(await codeOf(quantizeModel(tiny, join(dir, 'x.bin'), 'q4_k'))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(quantizeModel(join(dir, 'missing.bin'), join(dir, 'x.bin'), 'q8_0'))).toBe('MODEL_NOT_FOUND');
  });

  it('the native quantizer refuses what ggml would assert on, and quantizes what it accepts', async () => {
    const b = loadBinding();
    const src = new Float32Array(64).fill(0.5);
    const codeOfThrow = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as WhisperPerfError).code;
      }
      return 'no error';
    };
    expect(codeOfThrow(() => b.quantize(src, 0, 2, 32))).toBe('INVALID_ARGUMENT'); // f32 is not a quantized type
    expect(codeOfThrow(() => b.quantize(src, 999, 2, 32))).toBe('INVALID_ARGUMENT');
    expect(codeOfThrow(() => b.quantize(src, 8, 3, 32))).toBe('INVALID_ARGUMENT'); // rows × perRow ≠ values
    expect(codeOfThrow(() => b.quantize(new Float32Array(96), 8, 2, 48))).toBe('INVALID_ARGUMENT'); // q8_0 blocks of 32
    expect(codeOfThrow(() => b.quantize(src, 16, 2, 32))).toBe('INVALID_ARGUMENT'); // iq2_xxs needs an importance matrix
    const r = await b.quantize(src, 8, 2, 32); // q8_0: 34 bytes per block of 32
    expect(r.data.length).toBe(2 * 34);
    expect(b.typeInfo(8)).toMatchObject({ name: 'q8_0', blockSize: 32, typeSize: 34, quantized: true });
    expect(b.typeInfo(12345)).toBeNull();
  });
});
