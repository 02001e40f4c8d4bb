/**
 * The legacy whisper.cpp `ggml` model file format, and a streaming validator for it.
 *
 * Layout (all integers little-endian int32, floats IEEE-754 binary32):
 *
 *   magic         0x67676d6c ("lmgg" on disk)
 *   hparams       11 x int32 (see HPARAM_FIELDS; ftype last)
 *   mel filters   n_mel, n_fft, then n_mel * n_fft float32 (row-major, one row per mel band)
 *   vocabulary    count, then per token: uint32 byte length + raw bytes
 *   tensors       until end of file, each:
 *                   n_dims, name_len, ttype, n_dims x ne (ne0 = fastest-varying first),
 *                   name bytes, then the data (ggml_nbytes of the tensor, no padding/alignment)
 *
 * What whisper.cpp (1.9.x, whisper_model_load) requires of the tensors:
 *   - every name must be one it creates for the architecture in the header; it stops at EOF
 *     and fails unless each expected tensor was read;
 *   - ne0..ne2 and the element count must equal the expected shape (missing dims count as 1,
 *     so a conv bias must be stored 2-D as [1, n_state]);
 *   - the byte size implied by the stored type must equal the expected tensor's size, where
 *     the expected type is: the weight type `wtype` (from ftype) for every 2-D matrix and the
 *     token embedding, f16 for the two conv kernels unless wtype is f32, and f32 for positional
 *     embeddings, biases and layer norms;
 *   - tensor data is read straight after the name: there is no alignment padding.
 * Tensors may come in any order; files made by convert-pt-to-ggml.py use the PyTorch
 * state-dict order, which expectedTensors() reproduces.
 *
 * An unknown ftype makes whisper.cpp abort the process (GGML_ASSERT in
 * ggml_ftype_to_ggml_type), and bad tensor types / dims index fixed-size tables, so a file
 * should pass validateModelFile() before it reaches the native loader.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { WhisperPerfError } from '../errors.js';
import { HPARAM_FIELDS, ftypeToName, isMultilingual, matchArchNames, modelTypeFromLayers, type FtypeName, type ModelHParams, type ModelName, type ModelType } from './arch.js';
import { GGML_FILE_MAGIC, GGML_QNT_VERSION_FACTOR, GGML_TYPES, MEL_FILTER_BINS, SYNTHETIC_MARKER_INDEX, SYNTHETIC_MARKER_TOKEN, expectedTensors, ggmlTypeName } from './ggml-format.js';

export interface ModelFileHeader {
  path: string;
  fileSize: number;
  /** header values as stored (ftype includes the quantization version, if any) */
  hparams: ModelHParams;
  /** weight format name ('f16', 'q5_0', ...) */
  ftype: FtypeName;
  /** ftype value with the quantization version removed */
  ftypeId: number;
  /** GGML_QNT_VERSION the file was quantized with (0 for f32/f16 files) */
  qntVersion: number;
  /** whisper.cpp's model class from n_audio_layer */
  modelType: ModelType;
  multilingual: boolean;
  /** languages whisper.cpp will assume (n_vocab - 51765, minus one for multilingual) */
  numLanguages: number;
  /** known architectures whose header values match (large-v1 and large-v2 are identical) */
  knownArchs: ModelName[];
  /** tokens stored in the file (whisper.cpp generates the special tokens up to n_vocab) */
  vocabSize: number;
  /** size of the mel filter bank as stored */
  filters: { nMel: number; nFft: number };
  /** true when the file carries the whisper-perf synthetic marker token */
  synthetic: boolean;
  /** file offset of the first tensor record */
  tensorsOffset: number;
}

export interface ModelFileInfo extends ModelFileHeader {
  tensorCount: number;
  /** elements over all tensors */
  parameterCount: number;
  /** bytes of tensor data (without tensor headers) */
  tensorDataBytes: number;
}

const READ_CHUNK = 1 << 20;
const MAX_TOKEN_BYTES = 1 << 16;
const MAX_NAME_BYTES = 1024;

function invalid(path: string, msg: string): WhisperPerfError {
  return new WhisperPerfError(`invalid model file ${path}: ${msg}`, 'MODEL_INVALID');
}

/** Buffered sequential reader over a FileHandle that never holds more than one chunk. */
class Reader {
  private buf: Buffer = Buffer.allocUnsafe(READ_CHUNK);
  private bufStart = 0; // file offset of buf[0]
  private bufLen = 0;
  pos = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly path: string,
  ) {}

  private truncated(n: number, what: string): WhisperPerfError {
    return invalid(
      this.path,
      `truncated: ${what} at offset ${this.pos} needs ${n} byte(s) but the file ends at ${this.size}` +
        ` (${this.size - this.pos} left)`,
    );
  }

  /** Makes `n` bytes at pos available in buf; returns their index in buf. */
  private async need(n: number, what: string): Promise<number> {
    if (this.pos + n > this.size) throw this.truncated(n, what);
    let off = this.pos - this.bufStart;
    if (off >= 0 && off + n <= this.bufLen) return off;
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
    const want = Math.min(this.buf.length, this.size - this.pos);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(this.buf, got, want - got, this.pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.bufStart = this.pos;
    this.bufLen = got;
    off = 0;
    if (got < n) throw this.truncated(n, what);
    return off;
  }

  async i32(what: string): Promise<number> {
    const off = await this.need(4, what);
    this.pos += 4;
    return this.buf.readInt32LE(off);
  }

  async u32(what: string): Promise<number> {
    const off = await this.need(4, what);
    this.pos += 4;
    return this.buf.readUInt32LE(off);
  }

  /** The next n bytes; the view is valid until the next read. */
  async bytes(n: number, what: string): Promise<Buffer> {
    const off = await this.need(n, what);
    this.pos += n;
    return this.buf.subarray(off, off + n);
  }

  skip(n: number, what: string): void {
    if (this.pos + n > this.size) throw this.truncated(n, what);
    this.pos += n;
  }
}

async function openModel(path: string): Promise<{ fh: FileHandle; size: number }> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new WhisperPerfError(`invalid model path: ${JSON.stringify(path)}`, 'INVALID_ARGUMENT');
  }
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new WhisperPerfError(`model file not found: ${path}`, 'MODEL_NOT_FOUND', { cause: e });
    }
    throw new WhisperPerfError(`cannot access model file ${path}: ${(e as Error).message}`, 'MODEL_NOT_FOUND', {
      cause: e,
    });
  }
  if (st.isDirectory()) throw invalid(path, 'is a directory, not a model file');
  if (!st.isFile()) throw invalid(path, 'not a regular file');
  if (st.size === 0) throw invalid(path, 'empty file');
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new WhisperPerfError(`cannot open model file ${path}: ${(e as Error).message}`, 'MODEL_NOT_FOUND', {
      cause: e,
    });
  }
  return { fh, size: st.size };
}

const HPARAM_LIMITS: Record<keyof ModelHParams, [number, number]> = {
  n_vocab: [1, 1 << 20],
  n_audio_ctx: [1, 1 << 16],
  n_audio_state: [1, 1 << 16],
  n_audio_head: [1, 1024],
  n_audio_layer: [1, 1024],
  n_text_ctx: [1, 1 << 16],
  n_text_state: [1, 1 << 16],
  n_text_head: [1, 1024],
  n_text_layer: [1, 1024],
  n_mels: [1, 1024],
  ftype: [0, Number.MAX_SAFE_INTEGER],
};

async function parseHeader(r: Reader, path: string): Promise<ModelFileHeader> {
  if (r.size < 4) throw invalid(path, `not a ggml model (only ${r.size} byte(s))`);
  const magicBytes = Buffer.from(await r.bytes(4, 'magic'));
  const magic = magicBytes.readUInt32LE(0);
  if (magic !== GGML_FILE_MAGIC) {
    if (magicBytes.toString('latin1') === 'GGUF') {
      throw invalid(path, 'not a ggml model: this is a GGUF file; whisper.cpp loads the legacy ggml format');
    }
    throw invalid(path, `not a ggml model (magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x67676d6c)`);
  }

  const hparams = {} as ModelHParams;
  for (const f of HPARAM_FIELDS) hparams[f] = await r.i32(`hparams.${f}`);
  for (const f of HPARAM_FIELDS) {
    const [lo, hi] = HPARAM_LIMITS[f];
    if (hparams[f] < lo || hparams[f] > hi) throw invalid(path, `implausible ${f} = ${hparams[f]}`);
  }
  const ftypeId = hparams.ftype % GGML_QNT_VERSION_FACTOR;
  const qntVersion = Math.floor(hparams.ftype / GGML_QNT_VERSION_FACTOR);
  const ftype = ftypeToName(ftypeId);
  if (ftype === undefined) {
    throw invalid(path, `unknown ftype ${hparams.ftype} (whisper.cpp would abort on it)`);
  }
  if (hparams.n_text_state !== hparams.n_audio_state) {
    throw invalid(path, `n_text_state ${hparams.n_text_state} != n_audio_state ${hparams.n_audio_state}`);
  }
  if (hparams.n_audio_state % hparams.n_audio_head !== 0) {
    throw invalid(path, `n_audio_state ${hparams.n_audio_state} not divisible by n_audio_head ${hparams.n_audio_head}`);
  }
  if (hparams.n_text_state % hparams.n_text_head !== 0) {
    throw invalid(path, `n_text_state ${hparams.n_text_state} not divisible by n_text_head ${hparams.n_text_head}`);
  }

  const nMel = await r.i32('filters.n_mel');
  const nFft = await r.i32('filters.n_fft');
  if (nMel !== hparams.n_mels) throw invalid(path, `mel filter bank has ${nMel} bands, hparams say n_mels = ${hparams.n_mels}`);
  if (nFft !== MEL_FILTER_BINS) throw invalid(path, `mel filter bank has ${nFft} bins, expected ${MEL_FILTER_BINS}`);
  r.skip(4 * nMel * nFft, `mel filter bank (${nMel} x ${nFft} float32)`);

  const vocabSize = await r.i32('vocabulary size');
  if (vocabSize < 1 || vocabSize > hparams.n_vocab) {
    throw invalid(path, `vocabulary holds ${vocabSize} tokens, expected 1..${hparams.n_vocab}`);
  }
  let synthetic = false;
  for (let i = 0; i < vocabSize; i++) {
    const len = await r.u32(`length of token ${i}`);
    if (len > MAX_TOKEN_BYTES) throw invalid(path, `token ${i} claims ${len} bytes`);
    if (len === 0) continue;
    const b = await r.bytes(len, `token ${i} (${len} bytes)`);
    if (i === SYNTHETIC_MARKER_INDEX && b.toString('latin1') === SYNTHETIC_MARKER_TOKEN) synthetic = true;
  }

  const multilingual = isMultilingual(hparams.n_vocab);
  return {
    path,
    fileSize: r.size,
    hparams,
    ftype,
    ftypeId,
    qntVersion,
    modelType: modelTypeFromLayers(hparams.n_audio_layer),
    multilingual,
    numLanguages: hparams.n_vocab - 51765 - (multilingual ? 1 : 0),
    knownArchs: matchArchNames(hparams),
    vocabSize,
    filters: { nMel, nFft },
    synthetic,
    tensorsOffset: r.pos,
  };
}

/**
 * Reads magic, hyper-parameters, mel filter bank and vocabulary of a whisper.cpp ggml
 * model (not the tensors).
 * @throws WhisperPerfError MODEL_NOT_FOUND (missing file), MODEL_INVALID (anything else wrong)
 */
export async function readModelHeader(path: string): Promise<ModelFileHeader> {
  const { fh, size } = await openModel(path);
  try {
    return await parseHeader(new Reader(fh, size, path), path);
  } finally {
    await fh.close();
  }
}

/**
 * Walks a whole whisper.cpp ggml model file the way whisper.cpp's loader does and checks it
 * would load: header, filter bank, vocabulary, then every tensor record (known name, no
 * duplicates, shape, type and size as whisper.cpp expects, data present) and that nothing is
 * missing or left over. Tensor data is skipped, not read, so this is quick even for 3 GB.
 * @throws WhisperPerfError MODEL_NOT_FOUND (missing file), MODEL_INVALID (with what and where)
 */
export async function validateModelFile(path: string): Promise<ModelFileInfo> {
  const { fh, size } = await openModel(path);
  try {
    const r = new Reader(fh, size, path);
    const header = await parseHeader(r, path);
    const expected = new Map(expectedTensors(header.hparams).map((t) => [t.name, t]));
    const seen = new Set<string>();
    let parameterCount = 0;
    let tensorDataBytes = 0;

    while (r.pos < r.size) {
      const at = r.pos;
      const left = r.size - r.pos;
      if (left < 12) throw invalid(path, `truncated: ${left} stray byte(s) at offset ${at} after tensor ${seen.size}`);
      const nDims = await r.i32('tensor n_dims');
      const nameLen = await r.i32('tensor name length');
      const ttype = await r.i32('tensor type');
      if (nDims < 1 || nDims > 4) throw invalid(path, `tensor record at offset ${at} has n_dims = ${nDims}`);
      if (nameLen < 1 || nameLen > MAX_NAME_BYTES) {
        throw invalid(path, `tensor record at offset ${at} has name length ${nameLen}`);
      }
      const ne = [1, 1, 1, 1];
      for (let i = 0; i < nDims; i++) {
        ne[i] = await r.i32(`dim ${i} of tensor at offset ${at}`);
        if (ne[i] < 1) throw invalid(path, `tensor at offset ${at} has dim ${i} = ${ne[i]}`);
      }
      const name = (await r.bytes(nameLen, `name of tensor at offset ${at}`)).toString('utf8');
      const exp = expected.get(name);
      if (!exp) throw invalid(path, `unknown tensor '${name}' at offset ${at}`);
      if (seen.has(name)) throw invalid(path, `duplicate tensor '${name}' at offset ${at}`);
      const want = [...exp.shape, 1, 1, 1, 1].slice(0, 4);
      if (want.some((v, i) => v !== ne[i])) {
        throw invalid(
          path,
          `tensor '${name}' has shape [${ne.slice(0, nDims).join(', ')}], expected [${exp.shape.join(', ')}]`,
        );
      }
      const stored = ggmlTypeName(ttype);
      if (stored === undefined) throw invalid(path, `tensor '${name}' has unknown ggml type ${ttype}`);
      if (stored !== exp.type) {
        throw invalid(path, `tensor '${name}' is ${stored}, whisper.cpp expects ${exp.type} for ftype ${header.ftype}`);
      }
      if (!Number.isFinite(exp.bytes)) {
        throw invalid(
          path,
          `tensor '${name}' row of ${exp.shape[0]} is not a multiple of the ${exp.type} block size ` +
            `${GGML_TYPES[exp.type].blockSize}`,
        );
      }
      r.skip(exp.bytes, `data of tensor '${name}' (${exp.bytes} bytes)`);
      seen.add(name);
      parameterCount += exp.elements;
      tensorDataBytes += exp.bytes;
    }

    if (seen.size === 0) throw invalid(path, `truncated: no tensors after the vocabulary (offset ${r.pos})`);
    if (seen.size !== expected.size) {
      const missing = [...expected.keys()].filter((n) => !seen.has(n));
      throw invalid(
        path,
        `truncated or incomplete: ${missing.length} of ${expected.size} tensors missing (first: '${missing[0]}')`,
      );
    }
    return { ...header, tensorCount: seen.size, parameterCount, tensorDataBytes };
  } finally {
    await fh.close();
  }
}
