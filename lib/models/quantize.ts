/**
 * Quantization of a whisper ggml model (f16 or f32) into q8_0, q5_1, q5_0, q4_1, q4_0 or a
 * k-quant, with ggml's own quantizer compiled into the addon (ggml_quantize_chunk), tensor by
 * tensor off the JavaScript thread. The rule is whisper.cpp's quantizer's: every 2-D tensor is
 * quantized except the conv biases and the positional embeddings; everything else is copied as
 * it is; the header's ftype becomes GGML_QNT_VERSION × 1000 + the new ftype. The result is
 * validated like any model file before it is kept.
 */
import { open, rename, rm, stat } from 'node:fs/promises';

import { invalidArgument, WhisperPerfError } from '../errors.js';
import { loadBinding } from '../native.js';
import { FTYPES, type FtypeName } from './arch.js';
import { readModelHeader, validateModelFile } from './ggml.js';
import { GGML_QNT_VERSION_FACTOR, GGML_TYPES, ggmlTypeName, type GgmlTypeName } from './ggml-format.js';

/** ggml's quantization version (GGML_QNT_VERSION in ggml.h), stored in a quantized file's ftype. */
export const GGML_QNT_VERSION = 2;

/** The types `quantizeModel` writes: whisper.cpp's quantizer's list, those ggml quantizes without an importance matrix. */
export const QUANT_TYPES = ['q8_0', 'q5_1', 'q5_0', 'q4_1', 'q4_0', 'q6_k', 'q5_k', 'q4_k', 'q3_k', 'q2_k'] as const;
export type QuantType = (typeof QUANT_TYPES)[number];

/** whisper.cpp's quantizer leaves these 2-D tensors as they are. */
const SKIP = new Set(['encoder.conv1.bias', 'encoder.conv2.bias', 'encoder.positional_embedding', 'decoder.positional_embedding']);

export interface QuantizeProgress {
  /** tensors written */
  done: number;
  total: number;
  tensor: string;
}

export interface QuantizeResult {
  input: string;
  output: string;
  type: QuantType;
  inputBytes: number;
  outputBytes: number;
  /** outputBytes / inputBytes */
  ratio: number;
  tensors: number;
  quantizedTensors: number;
  ms: number;
}

interface TensorRecord {
  name: string;
  ne: number[];
  type: GgmlTypeName;
  headerOffset: number;
  dataOffset: number;
  dataBytes: number;
}

async function readTensorRecords(path: string, start: number, size: number): Promise<TensorRecord[]> {
  const fh = await open(path, 'r');
  try {
    const out: TensorRecord[] = [];
    let off = start;
    const head = Buffer.alloc(12 + 16 + 1024);
    while (off < size) {
      const { bytesRead } = await fh.read(head, 0, head.length, off);
      if (bytesRead < 12) throw new WhisperPerfError(`${path}: truncated tensor header at byte ${off}`, 'MODEL_INVALID');
      const nDims = head.readInt32LE(0);
      const nameLen = head.readInt32LE(4);
      const typeId = head.readInt32LE(8);
      const type = ggmlTypeName(typeId);
      if (nDims < 1 || nDims > 4 || nameLen < 1 || nameLen > 1000 || !type) {
        throw new WhisperPerfError(`${path}: bad tensor header at byte ${off}`, 'MODEL_INVALID');
      }
      const ne: number[] = [];
      for (let i = 0; i < nDims; i++) ne.push(head.readInt32LE(12 + 4 * i));
      const name = head.toString('utf8', 12 + 4 * nDims, 12 + 4 * nDims + nameLen);
      const t = GGML_TYPES[type];
      const elements = ne.reduce((a, b) => a * b, 1);
      const dataBytes = (elements / t.blockSize) * t.typeSize;
      const dataOffset = off + 12 + 4 * nDims + nameLen;
      out.push({ name, ne, type, headerOffset: off, dataOffset, dataBytes });
      off = dataOffset + dataBytes;
    }
    return out;
  } finally {
    await fh.close();
  }
}

function tensorHeader(name: string, ne: number[], typeId: number): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const b = Buffer.alloc(12 + 4 * ne.length + nameBytes.length);
  b.writeInt32LE(ne.length, 0);
  b.writeInt32LE(nameBytes.length, 4);
  b.writeInt32LE(typeId, 8);
  ne.forEach((n, i) => b.writeInt32LE(n, 12 + 4 * i));
  nameBytes.copy(b, 12 + 4 * ne.length);
  return b;
}

/**
 * Writes a quantized copy of a whisper ggml model (f16 or f32). Rejects with INVALID_ARGUMENT for
 * a type it does not write or one whose block size does not divide the model's rows (k-quants
 * need rows of a multiple of 256: not tiny's 384), MODEL_INVALID for an input that is not a valid
 * f16/f32 model (an already-quantized input included). The output is written under a temporary
 * name, validated, then renamed: nothing half-written is left behind.
 */
export async function quantizeModel(
  input: string,
  output: string,
  type: QuantType,
  options: { onProgress?: (p: QuantizeProgress) => void; signal?: AbortSignal } = {},
): Promise<QuantizeResult> {
  if (typeof input !== 'string' || input === '') throw invalidArgument('input', input, 'a model file path');
  if (typeof output !== 'string' || output === '') throw invalidArgument('output', output, 'a file path');
  if (!(QUANT_TYPES as readonly string[]).includes(type)) throw invalidArgument('type', type, QUANT_TYPES.join(', '));
  const t0 = performance.now();
  const info = await validateModelFile(input);
  if (info.ftypeId !== FTYPES.f16 && info.ftypeId !== FTYPES.f32) {
    throw new WhisperPerfError(`${input} is already ${info.ftype}: quantize an f16 or f32 model`, 'MODEL_INVALID');
  }
  const header = await readModelHeader(input);
  const records = await readTensorRecords(input, header.tensorsOffset, info.fileSize);
  const qt = GGML_TYPES[type as GgmlTypeName];
  const toQuantize = (r: TensorRecord) => r.ne.length === 2 && !SKIP.has(r.name) && (r.type === 'f16' || r.type === 'f32');
  for (const r of records) {
    if (toQuantize(r) && r.ne[0] % qt.blockSize !== 0) {
      throw invalidArgument('type', type, `a type whose block size (${qt.blockSize}) divides every row: ${r.name} has rows of ${r.ne[0]} values (q8_0, q5_1, q5_0, q4_1, q4_0 fit every whisper model)`);
    }
  }
  const binding = loadBinding();
  const tmp = `${output}.${process.pid}.tmp`;
  const inFh = await open(input, 'r');
  const outFh = await open(tmp, 'w');
  let quantized = 0;
  try {
    // preamble: magic, hparams (ftype last), mel filters, vocabulary — copied, with the new ftype
    const pre = Buffer.alloc(header.tensorsOffset);
    await inFh.read(pre, 0, pre.length, 0);
    const ftypeOffset = 4 + 10 * 4; // magic, then 11 int32 hparams with ftype last
    pre.writeInt32LE(GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR + FTYPES[type as FtypeName], ftypeOffset);
    await outFh.write(pre);
    for (let i = 0; i < records.length; i++) {
      if (options.signal?.aborted) throw new WhisperPerfError('quantization aborted', 'ABORTED');
      const r = records[i];
      const data = Buffer.alloc(r.dataBytes);
      await inFh.read(data, 0, r.dataBytes, r.dataOffset);
      if (toQuantize(r)) {
        const src = r.type === 'f16' ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2) : new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4);
        const q = await binding.quantize(src, qt.id, r.ne[1], r.ne[0]);
        await outFh.write(tensorHeader(r.name, r.ne, qt.id));
        await outFh.write(q.data);
        quantized++;
      } else {
        await outFh.write(tensorHeader(r.name, r.ne, GGML_TYPES[r.type].id));
        await outFh.write(data);
      }
      options.onProgress?.({ done: i + 1, total: records.length, tensor: r.name });
    }
  } catch (e) {
    await outFh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await inFh.close();
  }
  await outFh.close();
  try {
    await validateModelFile(tmp);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new WhisperPerfError(`the quantized file did not validate: ${(e as Error).message}`, 'NATIVE_FAILURE', { cause: e });
  }
  await rename(tmp, output);
  const outputBytes = (await stat(output)).size;
  return {
    input,
    output,
    type,
    inputBytes: info.fileSize,
    outputBytes,
    ratio: outputBytes / info.fileSize,
    tensors: records.length,
    quantizedTensors: quantized,
    ms: performance.now() - t0,
  };
}
