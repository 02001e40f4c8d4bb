/**
 * Quality against speed: every model × quantization × preset × threads over audio files that have
 * reference transcripts, one BenchRow (`what: 'quality'`) per configuration with its corpus RTF,
 * corpus WER, peak memory, model file size and a sample of its output, and the Pareto frontier
 * of RTF against WER marked (`pareto`).
 *
 * It is the real-time-factor sweep (lib/workloads/rtf.ts: presets, loadAudio, each model loaded once,
 * each file decoded once, warm-ups, repetitions, the cell monitors for memory and CPU) with the
 * text of each cell's last measured transcription kept, then:
 *
 * - **references**: each audio file's reference is the `.txt` beside it (`talk.wav` → `talk.txt`,
 *   else `talk.wav.txt`), as `whisper-perf audio gen` writes them; a missing or empty one
 *   (empty after the normalizer) is an INVALID_ARGUMENT error before anything runs.
 * - **quantization** (`quantize: ['q5_0', ...]`): each f16/f32 model gets a quantized copy per type,
 *   made with quantizeModel into a cache folder (default `<cache>/quantized`, named after the
 *   model, the type and a key of the input's path, size and modification time) and reused when
 *   it is there and valid; each copy is measured beside its original. A type quantizeModel does
 *   not write, or one whose blocks do not divide the model's rows, is its INVALID_ARGUMENT; an
 *   input that is already quantized is INVALID_ARGUMENT (copies are made of f16/f32 models).
 * - **AMX guard**: where whisper.cpp reports AMX_INT8 = 1, ggml's AMX backend takes q4_0, q4_1,
 *   q8_0 and q4_k/q5_k/q6_k weights, and on q8_0 whisper models it crashes the whole process (seen with
 *   whisper.cpp 1.9.1's own whisper-bench too; q4_k, q5_k and q6_k go through the same kernels).
 *   Those types — as --quantize types or as models given — are refused with INVALID_ARGUMENT
 *   unless `allowAmxQuant` is set.
 * - **a configuration** (model × preset × threads) runs over every file: its RTF per repetition
 *   is the sum of the files' process seconds over the sum of their audio seconds; its WER is
 *   corpusWer over the files (total errors / total reference words) on the text of each file's
 *   last measured transcription; peak RSS is the highest of its cells; stage timings pool the
 *   cells' samples; fallbacks and stage runs add up over the files.
 * - **the frontier**: among the configurations that succeeded, one is on it when no other is at
 *   least as fast (median RTF) and at least as accurate (WER) and strictly better in one.
 * - **failures**: a cell that fails (a file that does not decode, a model that does not load, a
 *   transcription that fails) makes its configuration a row with `error` (no WER from part of the
 *   corpus); the others still run.
 * - **synthetic weights**: their transcripts are random tokens, so their WER measures nothing:
 *   the rows say `synthetic: true` and carry a warning, and the markdown says so above the table.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { defaultRtfDeps, runRtf, type RtfAudio, type RtfDeps, type RtfModel, type RtfOptions } from '../workloads/rtf.js';
import type { BenchRow } from '../measure/types.js';
import { invalidArgument, WhisperPerfError } from '../errors.js';
import { defaultCacheDir } from '../models/download.js';
import { validateModelFile } from '../models/ggml.js';
import { quantizeModel, QUANT_TYPES, type QuantType } from '../models/quantize.js';
import { systemInfo } from '../system.js';
import { checkReference, configurationRow, transcriptText } from './rows.js';

/** Audio already in memory, with its reference transcript. */
export interface QualityAudio extends RtfAudio {
  reference: string;
}

/** The rtf sweep's options (models, presets, threads, repetitions, device ...), over referenced audio. */
export interface QualityOptions extends Omit<RtfOptions, 'files'> {
  /** quantized copies to make of each f16/f32 model and measure beside it (q5_0, q5_1, ...) */
  quantize?: QuantType | QuantType[];
  /** where the quantized copies are kept (default `<cache>/quantized`, cache = $WHISPER_PERF_CACHE or ~/.cache/whisper-perf) */
  quantizeDir?: string;
  /** run q4_0/q4_1/q8_0/q4_k/q5_k/q6_k weights on a CPU with AMX anyway (ggml's AMX kernel crashes on q8_0 whisper models) */
  allowAmxQuant?: boolean;
  /** audio files with a `.txt` reference beside each, or PCM with its reference */
  files: string | QualityAudio | (string | QualityAudio)[];
  /** characters of the first file's transcript kept as the row's `sample` (default 60) */
  sampleChars?: number;
  /** a quantized copy made or reused */
  onQuantize?: (q: QuantizeEvent) => void;
}

export interface QuantizeEvent {
  model: string;
  type: QuantType;
  output: string;
  /** true when a valid copy was already in the cache */
  reused: boolean;
  /** while being made: tensors written of total */
  done?: number;
  total?: number;
  ms?: number;
}

/**
 * The quantization types ggml's AMX backend takes that quantizeModel writes (qtype_has_amx_kernels
 * in the vendored ggml-cpu/amx/common.h: q4_0, q4_1, q8_0, q4_K, q5_K, q6_K, and iq4_xs, which is
 * not written here). The crash was seen on q8_0; the others go through the same kernels.
 */
export const AMX_QUANT_TYPES: readonly string[] = ['q4_0', 'q4_1', 'q8_0', 'q4_k', 'q5_k', 'q6_k'];

/** @internal what quality() calls out to; tests replace it. */
export interface QualityDeps {
  rtf: RtfDeps;
  /** the model file's header: ftype and size (validateModelFile) */
  modelInfo(path: string): Promise<{ ftype: string; fileSize: number; synthetic?: boolean }>;
  quantize: typeof quantizeModel;
  /** a file's text, or undefined when there is none */
  readText(path: string): string | undefined;
  /** identity of a file for the quantize cache key: size and modification time */
  fileKey(path: string): string;
  /** whisper.cpp reports AMX_INT8 = 1 on this CPU and build */
  amxInt8(): boolean;
  mkdir(dir: string): Promise<void>;
  cacheDir(): string;
}

const defaultDeps = (): QualityDeps => ({
  rtf: defaultRtfDeps,
  modelInfo: (p) => validateModelFile(p),
  quantize: quantizeModel,
  readText: (p) => {
    try {
      if (!existsSync(p) || !statSync(p).isFile()) return undefined;
      return readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  },
  fileKey: (p) => {
    const s = statSync(p);
    return `${resolve(p)}\0${s.size}\0${s.mtimeMs}`;
  },
  amxInt8: () => systemInfo().features.amx_int8 === true,
  mkdir: async (d) => {
    await mkdir(d, { recursive: true });
  },
  cacheDir: () => join(defaultCacheDir(), 'quantized'),
});

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Where a file's reference transcript is looked for, in order: `a.wav` → `a.txt`, `a.wav.txt`. */
export function referenceCandidates(file: string): string[] {
  const ext = extname(file);
  const stem = ext ? file.slice(0, -ext.length) : file;
  return [...new Set([`${stem}.txt`, `${file}.txt`])];
}

/** The path of the quantized copy of `model` for `type` in `dir`; `key` identifies the input's content (path, size, mtime). */
export function quantizedPath(model: string, type: string, dir: string, key: string): string {
  const stem = basename(model).replace(/\.bin$/i, '');
  const h = createHash('sha1').update(key).digest('hex').slice(0, 10);
  return join(dir, `${stem}-${type}-${h}.bin`);
}

/**
 * The Pareto frontier of (rtf, wer) points, lower is better in both: true where no other point is
 * at least as good in both and strictly better in one (equal points are all on it).
 */
export function paretoFrontier(points: readonly { rtf: number; wer: number }[]): boolean[] {
  return points.map((p, i) =>
    !points.some((q, j) => j !== i && q.rtf <= p.rtf && q.wer <= p.wer && (q.rtf < p.rtf || q.wer < p.wer)),
  );
}

/**
 * Quality against speed: every model (and its quantized copies) × preset × threads over audio
 * files with reference transcripts → one BenchRow per configuration (`what: 'quality'`) with RTF,
 * corpus WER, peak memory, model size, a sample of the output and `pareto`. A failed configuration
 * is a row with `error`; the others still run.
 */
export function quality(options: QualityOptions): Promise<BenchRow[]> {
  return runQuality(options, defaultDeps());
}

interface Input {
  name: string;
  source: string | RtfAudio;
  reference: string;
}

interface ModelEntry {
  path: string;
  bytes: number;
  base?: string;
  quantize?: QuantType;
}

/** @internal quality() with its dependencies given. */
export async function runQuality(options: QualityOptions, deps: QualityDeps): Promise<BenchRow[]> {
  if (typeof options !== 'object' || options === null) throw invalidArgument('options', options, 'an options object');
  const signal = options.signal;
  const sampleChars = options.sampleChars ?? 60;
  if (!Number.isInteger(sampleChars) || sampleChars < 0 || sampleChars > 10000) throw invalidArgument('sampleChars', sampleChars, 'an integer 0..10000');

  // 1. the files and their references: every one checked before anything loads
  const files = asList(options.files);
  if (files.length === 0) throw invalidArgument('files', options.files, 'at least one audio file with a reference transcript beside it');
  const inputs: Input[] = files.map((f, i) => {
    if (typeof f === 'string' && f !== '') {
      const cands = referenceCandidates(f);
      let ref: string | undefined;
      let refPath = cands[0];
      for (const c of cands) {
        ref = deps.readText(c);
        if (ref !== undefined) {
          refPath = c;
          break;
        }
      }
      if (ref === undefined) {
        throw new WhisperPerfError(
          `no reference transcript for ${f}: expected ${cands.join(' or ')} (the words spoken; whisper-perf audio gen writes one beside each file)`,
          'INVALID_ARGUMENT',
        );
      }
      checkReference(ref, `${refPath} (the reference of ${f})`);
      return { name: f, source: f, reference: ref };
    }
    if (f && typeof f === 'object' && typeof f.name === 'string' && f.pcm instanceof Float32Array) {
      if (typeof (f as QualityAudio).reference !== 'string') throw invalidArgument(`files[${i}].reference`, (f as QualityAudio).reference, 'the reference transcript as a string');
      checkReference(f.reference, `the reference of ${f.name}`);
      return { name: f.name, source: { name: f.name, pcm: f.pcm, durationS: f.durationS }, reference: f.reference };
    }
    throw invalidArgument(`files[${i}]`, f, 'an audio file path or { name, pcm: Float32Array, reference }');
  });
  if (new Set(inputs.map((x) => x.name)).size !== inputs.length) throw invalidArgument('files', inputs.map((x) => x.name).join(','), 'each file once');

  // 2. the quantization types
  const types = asList(options.quantize) as string[];
  for (const t of types) if (!(QUANT_TYPES as readonly string[]).includes(t)) throw invalidArgument('quantize', t, QUANT_TYPES.join(', '));
  if (new Set(types).size !== types.length) throw invalidArgument('quantize', types.join(','), 'each type once');
  const allowAmx = options.allowAmxQuant ?? false;
  if (typeof allowAmx !== 'boolean') throw invalidArgument('allowAmxQuant', allowAmx, 'true or false');

  // 3. the models: each checked, the AMX guard, then the quantized copies
  const given = asList(options.models);
  if (given.length === 0) given.push(await deps.rtf.defaultModel((m) => options.onProgress?.({ done: 0, total: 1, label: m })));
  for (const m of given) if (typeof m !== 'string' || m === '') throw invalidArgument('model', m, 'a model file path');
  if (new Set(given).size !== given.length) throw invalidArgument('models', given.join(','), 'each model once');
  const infos = new Map<string, { ftype: string; fileSize: number }>();
  for (const m of given) {
    const info = await deps.modelInfo(m);
    infos.set(m, info);
    if (types.length > 0 && info.ftype !== 'f16' && info.ftype !== 'f32') {
      throw new WhisperPerfError(
        `--quantize ${types.join(',')}: ${m} is already ${info.ftype}; quantized copies are made of f16 or f32 models only (give its f16 model, or leave --quantize out to measure it as it is)`,
        'INVALID_ARGUMENT',
      );
    }
  }
  const amxTypes = [...new Set([...types, ...given.map((m) => infos.get(m)!.ftype)])].filter((t) => AMX_QUANT_TYPES.includes(t));
  if (amxTypes.length > 0 && !allowAmx && deps.amxInt8()) {
    throw new WhisperPerfError(
      `${amxTypes.join(', ')} weights refused on this CPU: whisper.cpp reports AMX_INT8 = 1, and ggml's AMX backend, which takes q4_0, q4_1, q8_0 and the q4_k/q5_k/q6_k k-quants, ` +
        "crashes the process on q8_0 whisper models (an upstream ggml bug; whisper.cpp's own whisper-bench crashes the same way). " +
        'Use q5_0 or q5_1, or pass --allow-amx-quant (allowAmxQuant: true) to run them anyway',
      'INVALID_ARGUMENT',
    );
  }
  const models: ModelEntry[] = [];
  const dir = options.quantizeDir ?? deps.cacheDir();
  if (types.length > 0) await deps.mkdir(dir);
  for (const m of given) {
    models.push({ path: m, bytes: infos.get(m)!.fileSize });
    for (const type of types as QuantType[]) {
      if (signal?.aborted) throw new WhisperPerfError('quality aborted', 'ABORTED');
      const out = quantizedPath(m, type, dir, deps.fileKey(m));
      let bytes: number | undefined;
      try {
        const have = await deps.modelInfo(out);
        if (have.ftype === type) bytes = have.fileSize;
      } catch {
        // not there, or not valid: made again
      }
      if (bytes !== undefined) {
        options.onQuantize?.({ model: m, type, output: out, reused: true });
      } else {
        try {
          const r = await deps.quantize(m, out, type, {
            signal,
            onProgress: (p) => options.onQuantize?.({ model: m, type, output: out, reused: false, done: p.done, total: p.total }),
          });
          bytes = r.outputBytes;
          options.onQuantize?.({ model: m, type, output: out, reused: false, done: r.tensors, total: r.tensors, ms: r.ms });
        } catch (e) {
          const err = e instanceof WhisperPerfError ? e : new WhisperPerfError(String((e as Error)?.message ?? e), 'NATIVE_FAILURE');
          throw new WhisperPerfError(`--quantize ${type} of ${m}: ${err.message}`, err.code, { cause: e });
        }
      }
      models.push({ path: out, bytes, base: m, quantize: type });
    }
  }

  // 4. the sweep: rtf's, keeping the text of each cell's last measured transcription
  let cellText: { text: string } | undefined;
  const inner = deps.rtf;
  const rtfDeps: RtfDeps = {
    ...inner,
    loadModel: async (p, o) => {
      const m = await inner.loadModel(p, o);
      const wrapped: RtfModel = {
        get info() {
          return m.info;
        },
        transcribe: async (pcm, opts) => {
          const t = await m.transcribe(pcm, opts);
          if (cellText) cellText.text = transcriptText(t);
          return t;
        },
        timings: () => m.timings(),
        dispose: () => m.dispose(),
      };
      return wrapped;
    },
    monitor: (device, info) => {
      const rec = { text: '' };
      cellText = rec;
      const mon = inner.monitor(device, info);
      return {
        stop: async () => {
          if (cellText === rec) cellText = undefined;
          return { ...(await mon.stop()), text: rec.text };
        },
      };
    },
  };
  const rtfOptions: RtfOptions = {
    models: models.map((m) => m.path),
    files: inputs.map((x) => x.source),
    threads: options.threads,
    presets: options.presets,
    transcribe: options.transcribe,
    repetitions: options.repetitions,
    warmup: options.warmup,
    delayMs: options.delayMs,
    device: options.device,
    flashAttn: options.flashAttn,
    audio: options.audio,
    onProgress: options.onProgress,
    signal,
  };
  const cells = await runRtf(rtfOptions, rtfDeps);

  // 5. one row per configuration (model × preset × threads), in the order they ran
  const groups = new Map<string, BenchRow[]>();
  for (const c of cells) {
    const k = `${c.model}\0${c.preset ?? ''}\0${c.threads}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const byPath = new Map(models.map((m) => [m.path, m]));
  const rows = [...groups.values()].map((g) => configurationRow(g, inputs, byPath.get(g[0].model)!, sampleChars));

  // 6. the frontier among the configurations that succeeded
  const ok = rows.filter((r) => !r.error && r.rtf && typeof r.wer === 'number');
  const front = paretoFrontier(ok.map((r) => ({ rtf: r.rtf!.median, wer: r.wer! })));
  ok.forEach((r, i) => (r.pareto = front[i]));
  return rows;
}

