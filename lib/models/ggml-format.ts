/**
 * The legacy whisper.cpp `ggml` model file format: constants, tensor types and sizes, and the
 * tensors whisper.cpp expects for an architecture (what the validator in ggml.ts and the synthetic
 * writer in synth.ts both follow). The layout is described at the top of ggml.ts.
 */
import { WhisperPerfError } from '../errors.js';
import { HPARAM_FIELDS, ftypeToName, type ModelHParams } from './arch.js';

export const GGML_FILE_MAGIC = 0x67676d6c;
/** ftype values of quantized files carry GGML_QNT_VERSION * this factor. */
export const GGML_QNT_VERSION_FACTOR = 1000;
/** Whisper's STFT: 16 kHz audio, 400-sample window, so 201 frequency bins per mel filter. */
export const WHISPER_SAMPLE_RATE = 16000;
export const WHISPER_N_FFT = 400;
export const MEL_FILTER_BINS = WHISPER_N_FFT / 2 + 1;

/**
 * Synthetic-model marker: files written by writeSyntheticModel() hold this exact token at
 * vocabulary index SYNTHETIC_MARKER_INDEX (the first slot after the 256 single-byte tokens).
 * It is an ordinary vocabulary entry to whisper.cpp, so marked files load and run normally;
 * real GPT-2/Whisper vocabularies hold an ordinary BPE merge there.
 */
export const SYNTHETIC_MARKER_TOKEN = '<|whisper-perf-synthetic|>';
export const SYNTHETIC_MARKER_INDEX = 256;

/** ggml tensor types: id as stored in the file, elements per block, bytes per block (ggml.c type_traits). */
export const GGML_TYPES = {
  f32: { id: 0, blockSize: 1, typeSize: 4 },
  f16: { id: 1, blockSize: 1, typeSize: 2 },
  q4_0: { id: 2, blockSize: 32, typeSize: 18 },
  q4_1: { id: 3, blockSize: 32, typeSize: 20 },
  q5_0: { id: 6, blockSize: 32, typeSize: 22 },
  q5_1: { id: 7, blockSize: 32, typeSize: 24 },
  q8_0: { id: 8, blockSize: 32, typeSize: 34 },
  q8_1: { id: 9, blockSize: 32, typeSize: 36 },
  q2_k: { id: 10, blockSize: 256, typeSize: 84 },
  q3_k: { id: 11, blockSize: 256, typeSize: 110 },
  q4_k: { id: 12, blockSize: 256, typeSize: 144 },
  q5_k: { id: 13, blockSize: 256, typeSize: 176 },
  q6_k: { id: 14, blockSize: 256, typeSize: 210 },
  q8_k: { id: 15, blockSize: 256, typeSize: 292 },
  iq2_xxs: { id: 16, blockSize: 256, typeSize: 66 },
  iq2_xs: { id: 17, blockSize: 256, typeSize: 74 },
  iq3_xxs: { id: 18, blockSize: 256, typeSize: 98 },
  iq1_s: { id: 19, blockSize: 256, typeSize: 50 },
  iq4_nl: { id: 20, blockSize: 32, typeSize: 18 },
  iq3_s: { id: 21, blockSize: 256, typeSize: 110 },
  iq2_s: { id: 22, blockSize: 256, typeSize: 82 },
  iq4_xs: { id: 23, blockSize: 256, typeSize: 136 },
  i8: { id: 24, blockSize: 1, typeSize: 1 },
  i16: { id: 25, blockSize: 1, typeSize: 2 },
  i32: { id: 26, blockSize: 1, typeSize: 4 },
  i64: { id: 27, blockSize: 1, typeSize: 8 },
  f64: { id: 28, blockSize: 1, typeSize: 8 },
  iq1_m: { id: 29, blockSize: 256, typeSize: 56 },
  bf16: { id: 30, blockSize: 1, typeSize: 2 },
  tq1_0: { id: 34, blockSize: 256, typeSize: 54 },
  tq2_0: { id: 35, blockSize: 256, typeSize: 66 },
  mxfp4: { id: 39, blockSize: 32, typeSize: 17 },
  nvfp4: { id: 40, blockSize: 64, typeSize: 36 },
  q1_0: { id: 41, blockSize: 128, typeSize: 18 },
} as const;

export type GgmlTypeName = keyof typeof GGML_TYPES;

const TYPE_BY_ID = new Map<number, GgmlTypeName>(
  Object.entries(GGML_TYPES).map(([k, v]) => [v.id, k as GgmlTypeName]),
);

/** Name of a stored ggml type id, or undefined for ids ggml does not (or no longer) know. */
export function ggmlTypeName(id: number): GgmlTypeName | undefined {
  return TYPE_BY_ID.get(id);
}

/** The tensor type whisper.cpp uses for its weight matrices given a (version-stripped) ftype. */
export function weightType(ftype: number): GgmlTypeName {
  const name = ftypeToName(ftype);
  // every ftype name is also the name of the ggml type it selects
  if (name === undefined || !(name in GGML_TYPES)) {
    throw new WhisperPerfError(`unknown ggml ftype ${ftype}`, 'MODEL_INVALID');
  }
  return name as GgmlTypeName;
}

/** Bytes of a tensor of `type` with shape `ne`, or NaN when ne0 is not a whole number of blocks. */
export function tensorBytes(type: GgmlTypeName, ne: readonly number[]): number {
  const t = GGML_TYPES[type];
  const n = ne.reduce((a, b) => a * b, 1);
  if ((ne[0] ?? 1) % t.blockSize !== 0) return Number.NaN;
  return (n / t.blockSize) * t.typeSize;
}

export interface ExpectedTensor {
  name: string;
  /** dims as stored in the file, ne0 first (the reverse of the PyTorch shape) */
  shape: number[];
  type: GgmlTypeName;
  /** element count */
  elements: number;
  /** data bytes (NaN when the shape cannot hold whole quantization blocks) */
  bytes: number;
}

/**
 * The tensors whisper.cpp loads for an architecture, in the order convert-pt-to-ggml.py
 * writes them, with the stored shape and the type whisper.cpp expects for `arch.ftype`
 * (0 = f32, 1 = f16, quantized values; a GGML_QNT_VERSION multiple is ignored).
 */
export function expectedTensors(arch: ModelHParams): ExpectedTensor[] {
  const ftype = arch.ftype % GGML_QNT_VERSION_FACTOR;
  const wtype = weightType(ftype);
  const conv: GgmlTypeName = wtype === 'f32' ? 'f32' : 'f16';
  const out: ExpectedTensor[] = [];
  const add = (name: string, shape: number[], type: GgmlTypeName) => {
    out.push({ name, shape, type, elements: shape.reduce((a, b) => a * b, 1), bytes: tensorBytes(type, shape) });
  };
  const s = arch.n_audio_state;
  const t = arch.n_text_state;

  const attention = (prefix: string, n: number) => {
    add(`${prefix}.query.weight`, [n, n], wtype);
    add(`${prefix}.query.bias`, [n], 'f32');
    add(`${prefix}.key.weight`, [n, n], wtype);
    add(`${prefix}.value.weight`, [n, n], wtype);
    add(`${prefix}.value.bias`, [n], 'f32');
    add(`${prefix}.out.weight`, [n, n], wtype);
    add(`${prefix}.out.bias`, [n], 'f32');
  };
  const norm = (prefix: string, n: number) => {
    add(`${prefix}.weight`, [n], 'f32');
    add(`${prefix}.bias`, [n], 'f32');
  };
  const mlp = (prefix: string, n: number) => {
    add(`${prefix}.mlp.0.weight`, [n, 4 * n], wtype);
    add(`${prefix}.mlp.0.bias`, [4 * n], 'f32');
    add(`${prefix}.mlp.2.weight`, [4 * n, n], wtype);
    add(`${prefix}.mlp.2.bias`, [n], 'f32');
    norm(`${prefix}.mlp_ln`, n);
  };

  add('encoder.positional_embedding', [s, arch.n_audio_ctx], 'f32');
  add('encoder.conv1.weight', [3, arch.n_mels, s], conv);
  add('encoder.conv1.bias', [1, s], 'f32');
  add('encoder.conv2.weight', [3, s, s], conv);
  add('encoder.conv2.bias', [1, s], 'f32');
  for (let i = 0; i < arch.n_audio_layer; i++) {
    const p = `encoder.blocks.${i}`;
    attention(`${p}.attn`, s);
    norm(`${p}.attn_ln`, s);
    mlp(p, s);
  }
  norm('encoder.ln_post', s);

  add('decoder.positional_embedding', [t, arch.n_text_ctx], 'f32');
  add('decoder.token_embedding.weight', [t, arch.n_vocab], wtype);
  for (let i = 0; i < arch.n_text_layer; i++) {
    const p = `decoder.blocks.${i}`;
    attention(`${p}.attn`, t);
    norm(`${p}.attn_ln`, t);
    attention(`${p}.cross_attn`, t);
    norm(`${p}.cross_attn_ln`, t);
    mlp(p, t);
  }
  norm('decoder.ln', t);
  return out;
}

/** Bytes of one tensor record: the header (3 int32 + dims + name) plus its data. */
export function tensorRecordBytes(t: ExpectedTensor): number {
  return 12 + 4 * t.shape.length + Buffer.byteLength(t.name, 'utf8') + t.bytes;
}

/** Bytes before the vocabulary: magic, hparams and the mel filter bank. */
export function preambleBytes(nMels: number): number {
  return 4 + 4 * HPARAM_FIELDS.length + 8 + 4 * nMels * MEL_FILTER_BINS;
}

/**
 * Exact size of a ggml model file with the given architecture/ftype whose vocabulary
 * section (count + length-prefixed tokens) takes `vocabSectionBytes`.
 */
export function ggmlFileSize(arch: ModelHParams, vocabSectionBytes: number): number {
  let n = preambleBytes(arch.n_mels) + vocabSectionBytes;
  for (const t of expectedTensors(arch)) n += tensorRecordBytes(t);
  return n;
}
