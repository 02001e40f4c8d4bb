/**
 * Hyper-parameters of the Whisper model family, in the form whisper.cpp's legacy ggml
 * file header stores them (eleven little-endian int32 values, `ftype` last).
 *
 * The numbers are the architecture dimensions OpenAI published with the checkpoints
 * (`ModelDimensions` of openai/whisper); whisper.cpp copies them verbatim into the
 * header of every converted `ggml-*.bin` file.
 */
import { invalidArgument } from '../errors.js';

/** The eleven int32 header fields of a whisper.cpp ggml model file, in file order. */
export interface ModelHParams {
  n_vocab: number;
  n_audio_ctx: number;
  n_audio_state: number;
  n_audio_head: number;
  n_audio_layer: number;
  n_text_ctx: number;
  n_text_state: number;
  n_text_head: number;
  n_text_layer: number;
  n_mels: number;
  /**
   * Weight storage type as whisper.cpp reads it: 0 = all f32, 1 = f16 (ggml_ftype);
   * quantized files hold `GGML_QNT_VERSION * 1000 + ftype`.
   */
  ftype: number;
}

/** Names of the header fields in the order they are stored. */
export const HPARAM_FIELDS = [
  'n_vocab',
  'n_audio_ctx',
  'n_audio_state',
  'n_audio_head',
  'n_audio_layer',
  'n_text_ctx',
  'n_text_state',
  'n_text_head',
  'n_text_layer',
  'n_mels',
  'ftype',
] as const satisfies readonly (keyof ModelHParams)[];

/** A named architecture: the header values plus where the name came from. */
export interface ModelArch extends ModelHParams {
  /** canonical model name, e.g. 'tiny.en' or 'large-v3-turbo' */
  name: string;
  /** whisper.cpp's model class, derived from n_audio_layer */
  modelType: ModelType;
  /** true when n_vocab >= 51865 (whisper.cpp's `is_multilingual`) */
  multilingual: boolean;
}

export type ModelType = 'tiny' | 'base' | 'small' | 'medium' | 'large' | 'unknown';

/** Canonical (unquantized) model names known to whisper-perf. */
export const MODEL_NAMES = [
  'tiny',
  'tiny.en',
  'base',
  'base.en',
  'small',
  'small.en',
  'medium',
  'medium.en',
  'large-v1',
  'large-v2',
  'large-v3',
  'large-v3-turbo',
] as const;

export type ModelName = (typeof MODEL_NAMES)[number];

/** Vocabulary sizes stored in n_vocab. */
export const N_VOCAB_EN = 51864;
export const N_VOCAB_MULTILINGUAL = 51865;
export const N_VOCAB_V3 = 51866;

/** Whisper's audio context (30 s of 10 ms frames after the stride-2 conv) and text context. */
export const N_AUDIO_CTX = 1500;
export const N_TEXT_CTX = 448;

interface Dims {
  state: number;
  head: number;
  audioLayers: number;
  textLayers: number;
}

const SIZES: Record<'tiny' | 'base' | 'small' | 'medium' | 'large' | 'turbo', Dims> = {
  tiny: { state: 384, head: 6, audioLayers: 4, textLayers: 4 },
  base: { state: 512, head: 8, audioLayers: 6, textLayers: 6 },
  small: { state: 768, head: 12, audioLayers: 12, textLayers: 12 },
  medium: { state: 1024, head: 16, audioLayers: 24, textLayers: 24 },
  large: { state: 1280, head: 20, audioLayers: 32, textLayers: 32 },
  // large-v3-turbo: the large-v3 encoder with a 4-layer decoder
  turbo: { state: 1280, head: 20, audioLayers: 32, textLayers: 4 },
};

function hp(d: Dims, nVocab: number, nMels: number): ModelHParams {
  return {
    n_vocab: nVocab,
    n_audio_ctx: N_AUDIO_CTX,
    n_audio_state: d.state,
    n_audio_head: d.head,
    n_audio_layer: d.audioLayers,
    n_text_ctx: N_TEXT_CTX,
    n_text_state: d.state,
    n_text_head: d.head,
    n_text_layer: d.textLayers,
    n_mels: nMels,
    ftype: 1,
  };
}

const ARCH_TABLE: Record<ModelName, ModelHParams> = {
  tiny: hp(SIZES.tiny, N_VOCAB_MULTILINGUAL, 80),
  'tiny.en': hp(SIZES.tiny, N_VOCAB_EN, 80),
  base: hp(SIZES.base, N_VOCAB_MULTILINGUAL, 80),
  'base.en': hp(SIZES.base, N_VOCAB_EN, 80),
  small: hp(SIZES.small, N_VOCAB_MULTILINGUAL, 80),
  'small.en': hp(SIZES.small, N_VOCAB_EN, 80),
  medium: hp(SIZES.medium, N_VOCAB_MULTILINGUAL, 80),
  'medium.en': hp(SIZES.medium, N_VOCAB_EN, 80),
  'large-v1': hp(SIZES.large, N_VOCAB_MULTILINGUAL, 80),
  'large-v2': hp(SIZES.large, N_VOCAB_MULTILINGUAL, 80),
  'large-v3': hp(SIZES.large, N_VOCAB_V3, 128),
  'large-v3-turbo': hp(SIZES.turbo, N_VOCAB_V3, 128),
};

/** Weight formats a model file can be stored in, with whisper.cpp's ggml_ftype value. */
export const FTYPES = {
  f32: 0,
  f16: 1,
  q4_0: 2,
  q4_1: 3,
  q8_0: 7,
  q5_0: 8,
  q5_1: 9,
  q2_k: 10,
  q3_k: 11,
  q4_k: 12,
  q5_k: 13,
  q6_k: 14,
  iq2_xxs: 15,
  iq2_xs: 16,
  iq3_xxs: 17,
  iq1_s: 18,
  iq4_nl: 19,
  iq3_s: 20,
  iq2_s: 21,
  iq4_xs: 22,
  iq1_m: 23,
  bf16: 24,
  mxfp4: 25,
  nvfp4: 26,
  q1_0: 27,
} as const;

export type FtypeName = keyof typeof FTYPES;

/** The ftype name for a (version-stripped) ftype value, or undefined when whisper.cpp does not know it. */
export function ftypeToName(ftype: number): FtypeName | undefined {
  for (const [k, v] of Object.entries(FTYPES)) if (v === ftype) return k as FtypeName;
  return undefined;
}

/** Quantization suffixes accepted in model names such as 'base.en-q5_1'. */
const QUANT_SUFFIXES = ['q4_0', 'q4_1', 'q5_0', 'q5_1', 'q8_0'] as const;

/** whisper.cpp's model class for a given encoder depth (same rule as whisper_model_load). */
export function modelTypeFromLayers(nAudioLayer: number): ModelType {
  switch (nAudioLayer) {
    case 4:
      return 'tiny';
    case 6:
      return 'base';
    case 12:
      return 'small';
    case 24:
      return 'medium';
    case 32:
      return 'large';
    default:
      return 'unknown';
  }
}

export function isMultilingual(nVocab: number): boolean {
  return nVocab >= N_VOCAB_MULTILINGUAL;
}

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/**
 * Resolves a model name to its architecture. Accepts the canonical names of
 * MODEL_NAMES, optionally with a `ggml-` prefix / `.bin` suffix, a quantization suffix
 * (`-q5_0`, `-q8_0`, ...; sets ftype to the quantized value) and the tinydiarize variant
 * `small.en-tdrz` (same tensors as small.en).
 * @throws WhisperPerfError INVALID_ARGUMENT for an unknown name
 */
export function resolveArch(name: string): ModelArch {
  if (typeof name !== 'string') throw invalidArgument('model name', name, MODEL_NAMES.join(', '));
  let base = name.trim();
  if (base.startsWith('ggml-')) base = base.slice(5);
  if (base.endsWith('.bin')) base = base.slice(0, -4);
  let ftype: number = FTYPES.f16;
  const quant = QUANT_SUFFIXES.find((q) => base.endsWith('-' + q));
  if (quant) {
    base = base.slice(0, -(quant.length + 1));
    ftype = FTYPES[quant];
  }
  if (base === 'small.en-tdrz') base = 'small.en';
  if (!isModelName(base)) {
    throw invalidArgument('model name', name, `${MODEL_NAMES.join(', ')} (optionally with -q4_0/-q4_1/-q5_0/-q5_1/-q8_0)`);
  }
  const h = ARCH_TABLE[base];
  return {
    ...h,
    ftype,
    name: quant ? `${base}-${quant}` : base,
    modelType: modelTypeFromLayers(h.n_audio_layer),
    multilingual: isMultilingual(h.n_vocab),
  };
}

/** The architecture names whose header values equal `h` (ftype ignored). Large-v1 and -v2 share one. */
export function matchArchNames(h: ModelHParams): ModelName[] {
  return MODEL_NAMES.filter((n) => {
    const a = ARCH_TABLE[n];
    return HPARAM_FIELDS.every((f) => f === 'ftype' || a[f] === h[f]);
  });
}

/**
 * Number of weights (scalar parameters) whisper.cpp loads for an architecture: every
 * tensor of the encoder and decoder, positional embeddings included.
 */
export function parameterCount(arch: ModelHParams): number {
  const s = arch.n_audio_state;
  const t = arch.n_text_state;
  // encoder: positional embedding, two convolutions (3-wide kernels + bias), final layer norm
  const encoderFixed = arch.n_audio_ctx * s + 3 * arch.n_mels * s + s + 3 * s * s + s + 2 * s;
  // per encoder block: q,k,v,out (4 s^2, biases on q,v,out), MLP s->4s->s, two layer norms
  const encoderBlock = 4 * s * s + 3 * s + 8 * s * s + 5 * s + 4 * s;
  // decoder: positional embedding, token embedding, final layer norm
  const decoderFixed = arch.n_text_ctx * t + arch.n_vocab * t + 2 * t;
  // per decoder block: self attention, cross attention, MLP, three layer norms
  const decoderBlock = 2 * (4 * t * t + 3 * t) + 8 * t * t + 5 * t + 6 * t;
  return encoderFixed + arch.n_audio_layer * encoderBlock + decoderFixed + arch.n_text_layer * decoderBlock;
}

/**
 * Byte sizes of the published whisper.cpp model files on
 * https://huggingface.co/ggerganov/whisper.cpp (the Hugging Face file listing, exact
 * bytes). vendor/whisper.cpp/models/README.md only lists rounded MiB/GiB figures
 * (e.g. tiny.en "75 MiB"), so the exact values here are taken from that listing. They
 * are consistent with the arithmetic file size (preamble + vocabulary + tensor records,
 * ggmlFileSize): with one vocabulary byte count per tokenizer family (English-only /
 * multilingual, see VOCAB_TOKEN_BYTES_* in synth.ts, fitted on tiny.en and tiny) the
 * arithmetic reproduces every figure below to the byte; test/unit/models.ggml.test.ts
 * checks that.
 */
export const PUBLISHED_MODEL_SIZES: Readonly<Record<string, number>> = {
  tiny: 77_691_713,
  'tiny.en': 77_704_715,
  base: 147_951_465,
  'base.en': 147_964_211,
  small: 487_601_967,
  'small.en': 487_614_201,
  medium: 1_533_763_059,
  'medium.en': 1_533_774_781,
  'large-v1': 3_094_623_691,
  'large-v2': 3_094_623_691,
  'large-v3': 3_095_033_483,
  'large-v3-turbo': 1_624_555_275,
  'large-v2-q5_0': 1_080_732_091,
  'large-v3-q5_0': 1_081_140_203,
  'large-v3-turbo-q5_0': 574_041_195,
};

/**
 * SHA-1 of the published files, as listed in vendor/whisper.cpp/models/README.md
 * ("Available models" table).
 */
export const PUBLISHED_MODEL_SHA1: Readonly<Record<string, string>> = {
  tiny: 'bd577a113a864445d4c299885e0cb97d4ba92b5f',
  'tiny.en': 'c78c86eb1a8faa21b369bcd33207cc90d64ae9df',
  base: '465707469ff3a37a2b9b8d8f89f2f99de7299dac',
  'base.en': '137c40403d78fd54d454da0f9bd998f78703390c',
  small: '55356645c2b361a969dfd0ef2c5a50d530afd8d5',
  'small.en': 'db8a495a91d927739e50b3fc1cc4c6b8f6c2d022',
  'small.en-tdrz': 'b6c6e7e89af1a35c08e6de56b66ca6a02a2fdfa1',
  medium: 'fd9727b6e1217c2f614f9b698455c4ffd82463b4',
  'medium.en': '8c30f0e44ce9560643ebd10bbe50cd20eafd3723',
  'large-v1': 'b1caaf735c4cc1429223d5a74f0f4d0b9b59a299',
  'large-v2': '0f4c8e34f21cf1a914c59d8b3ce882345ad349d6',
  'large-v2-q5_0': '00e39f2196344e901b3a2bd5814807a769bd1630',
  'large-v3': 'ad82bf6a9043ceed055076d0fd39f5f186ff8062',
  'large-v3-q5_0': 'e6e2ed78495d403bef4b7cff42ef4aaadcfea8de',
  'large-v3-turbo': '4af2b29d7ec73d781377bfd1758ca957a807e941',
  'large-v3-turbo-q5_0': 'e050f7970618a659205450ad97eb95a18d69c9ee',
};
