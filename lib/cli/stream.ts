/** `whisper-perf stream` and `whisper-perf capacity`: parse, validate up front, run, print. */
import { statSync } from 'node:fs';
import { basename } from 'node:path';

import { CAPACITY_MODES, capacity, MAX_STREAMS, type CapacityOptions } from '../bench/capacity.js';
import { parseMemorySize } from '../memory.js';
import { parseIntList, parseOutputFormat, parseStringList, usageError } from '../bench/params.js';
import { isPresetName, PRESET_NAMES, type PresetName, type PresetParams } from '../bench/presets.js';
import { checkStreamParams, MAX_LENGTH_MS, STREAM_DEFAULTS, streamBenchmark, type StreamOptions } from '../bench/stream.js';
import type { BenchRow } from '../bench/types.js';
import { WhisperPerfError } from '../errors.js';
import { validateModelFile } from '../models/ggml.js';
import { formatRows } from '../report/formats.js';
import { MAX_THREADS } from '../validate.js';
import { parse, writeData, type CliContext, type OptionSpec } from './context.js';
import { CAPACITY_HELP, STREAM_HELP } from './help-stream.js';
import { progressSink } from './progress.js';

/** Options both commands take: the model, the file, decoding and output. */
const COMMON = {
  model: { type: 'string', short: 'm' },
  file: { type: 'string', short: 'f' },
  threads: { type: 'string', short: 't' },
  preset: { type: 'string', short: 'p' },
  language: { type: 'string', short: 'l' },
  'max-tokens': { type: 'string' },
  'audio-ctx': { type: 'string' },
  'best-of': { type: 'string' },
  'beam-size': { type: 'string' },
  'no-fallback': { type: 'boolean' },
  warmup: { type: 'string' },
  output: { type: 'string', short: 'o' },
  out: { type: 'string' },
  'no-progress': { type: 'boolean' },
} as const satisfies Record<string, OptionSpec>;

type CommonValues = { [K in keyof typeof COMMON]?: (typeof COMMON)[K]['type'] extends 'boolean' ? boolean : string };

/** One integer option: a single value in [min, max]. */
function intOption(option: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const v = parseIntList(option, text, { min, max });
  if (v.length !== 1) throw usageError(option, text, 'takes one value');
  return v[0];
}

/** The file: -f or one positional, which must exist and not be a directory. */
function audioFile(command: string, values: CommonValues, positionals: string[]): string {
  const files = [...(values.file !== undefined ? [values.file] : []), ...positionals];
  if (files.length === 0) throw new WhisperPerfError(`${command}: no audio file: give -f FILE (whisper-perf audio gen writes test speech)`, 'USAGE');
  if (files.length > 1) throw usageError('-f', files.join(' '), `${command} takes one audio file`);
  const f = files[0];
  let st;
  try {
    st = statSync(f);
  } catch {
    throw usageError('-f', f, 'no such file');
  }
  if (st.isDirectory()) throw usageError('-f', f, 'is a directory, not an audio file');
  return f;
}

async function modelFile(text: string | undefined): Promise<string | undefined> {
  if (text === undefined) return undefined;
  try {
    await validateModelFile(text);
  } catch (e) {
    throw usageError('-m', text, `not a usable ggml model (${e instanceof WhisperPerfError ? e.message : String(e)})`);
  }
  return text;
}

/** Decoding options from the command line (a preset under explicit options). */
function decoding(values: CommonValues): { preset?: PresetName; threads?: number; warmup?: number; params: PresetParams } {
  let preset: PresetName | undefined;
  if (values.preset !== undefined) {
    const p = parseStringList('-p', values.preset);
    if (p.length !== 1) throw usageError('-p', values.preset, 'takes one preset');
    if (!isPresetName(p[0])) throw usageError('-p', p[0], `not a preset (${PRESET_NAMES.join(', ')}; see whisper-perf presets)`);
    preset = p[0];
  }
  const language = values.language;
  if (language !== undefined && !/^[a-z]{2,3}$/.test(language)) throw usageError('-l', language, "expected an ISO 639-1 code such as 'en'");
  const params: PresetParams = {};
  if (language !== undefined) params.language = language;
  const maxTokens = intOption('--max-tokens', values['max-tokens'], 0, 448);
  if (maxTokens !== undefined) params.maxTokens = maxTokens;
  const audioCtx = intOption('--audio-ctx', values['audio-ctx'], 0, 1500);
  if (audioCtx !== undefined) params.audioCtx = audioCtx;
  const bestOf = intOption('--best-of', values['best-of'], 1, 16);
  if (bestOf !== undefined) params.bestOf = bestOf;
  const beamSize = intOption('--beam-size', values['beam-size'], 0, 16);
  if (beamSize !== undefined) params.beamSize = beamSize;
  if (values['no-fallback']) params.temperatureInc = 0;
  return {
    preset,
    threads: intOption('-t', values.threads, 1, MAX_THREADS),
    warmup: intOption('--warmup', values.warmup, 0, 100),
    params,
  };
}

function reportFailures(ctx: CliContext, rows: readonly BenchRow[], what: (r: BenchRow) => string): number {
  const failed = rows.filter((r) => r.error);
  for (const r of failed) ctx.stderr(`whisper-perf: cell failed: ${what(r)}: ${r.error!.message} [${r.error!.code}]\n`);
  return failed.length > 0 ? 1 : 0;
}

async function withSigint<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    return await run(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export async function runStream(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('stream', argv, {
    ...COMMON,
    step: { type: 'string' },
    length: { type: 'string' },
    keep: { type: 'string' },
    realtime: { type: 'boolean' },
  });
  if (values.help) {
    ctx.stdout(STREAM_HELP);
    return 0;
  }
  const format = parseOutputFormat(values.output ?? 'md');
  const stepMs = intOption('--step', values.step, 1, MAX_LENGTH_MS * 10) ?? STREAM_DEFAULTS.stepMs;
  const lengthMs = intOption('--length', values.length, 1, MAX_LENGTH_MS * 10) ?? STREAM_DEFAULTS.lengthMs;
  const keepMs = intOption('--keep', values.keep, 0, MAX_LENGTH_MS * 10) ?? STREAM_DEFAULTS.keepMs;
  checkStreamParams(stepMs, lengthMs, keepMs); // --step longer than --length, --keep longer than --step: INVALID_ARGUMENT (exit 2)
  const d = decoding(values);
  const file = audioFile('stream', values, positionals);
  const model = await modelFile(values.model);

  const progress = progressSink(process.stderr, values['no-progress'] ? false : undefined);
  const options: StreamOptions = { ...d.params, preset: d.preset, threads: d.threads, warmup: d.warmup, stepMs, lengthMs, keepMs, realtime: values.realtime ?? false };
  let rows: BenchRow[];
  try {
    rows = await withSigint((signal) =>
      streamBenchmark({
        ...options,
        model,
        file,
        signal,
        onNote: (m) => progress.note(m),
        onStep: (s, audioS) => {
          const text = s.text.trim().replace(/\s+/g, ' ');
          progress.update(Math.round(s.audioEndMs / 1000), Math.round(audioS), `step ${s.index + 1}: ${s.latencyMs.toFixed(0)} ms${s.onTime ? '' : ' (late)'}  ${text}`);
        },
      }),
    );
  } finally {
    progress.done();
  }
  writeData(ctx, formatRows(rows, format), values.out);
  return reportFailures(ctx, rows, (r) => `stream ${basename(r.file ?? '')}`);
}

export async function runCapacity(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('capacity', argv, {
    ...COMMON,
    streams: { type: 'string', short: 'n' },
    workers: { type: 'boolean' },
    'memory-limit': { type: 'string' },
    rounds: { type: 'string', short: 'r' },
  });
  if (values.help) {
    ctx.stdout(CAPACITY_HELP);
    return 0;
  }
  const format = parseOutputFormat(values.output ?? 'md');
  if (values.streams === undefined) throw new WhisperPerfError('capacity: give -n LIST, the concurrent streams per cell (e.g. -n 1,2,4,8)', 'USAGE');
  const streams = parseIntList('-n', values.streams, { min: 1, max: MAX_STREAMS });
  let memoryLimit: number | undefined;
  if (values['memory-limit'] !== undefined) {
    try {
      memoryLimit = parseMemorySize(values['memory-limit']);
    } catch {
      throw usageError('--memory-limit', values['memory-limit'], 'expected bytes, or a number with K, M, G or T (binary), e.g. 512M, 4G');
    }
  }
  const rounds = intOption('-r', values.rounds, 1, 1000);
  const d = decoding(values);
  const file = audioFile('capacity', values, positionals);
  const model = await modelFile(values.model);

  const progress = progressSink(process.stderr, values['no-progress'] ? false : undefined);
  const options: CapacityOptions = {
    model,
    file,
    streams,
    threads: d.threads,
    warmup: d.warmup,
    rounds,
    memoryLimit,
    preset: d.preset,
    transcribe: d.params,
    modes: values.workers ? [...CAPACITY_MODES] : ['states'],
    onProgress: (p) => {
      if (p.total === 1 && p.done === 0 && p.label.startsWith('generating')) progress.note(p.label);
      else progress.update(p.done, p.total, p.label, p.etaMs);
    },
  };
  let rows: BenchRow[];
  try {
    rows = await withSigint((signal) => capacity({ ...options, signal }));
  } finally {
    progress.done();
  }
  writeData(ctx, formatRows(rows, format), values.out);
  return reportFailures(ctx, rows, (r) => `capacity ${r.capacity_mode} N=${r.streams}`);
}
