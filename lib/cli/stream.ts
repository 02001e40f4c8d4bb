/** `whisper-perf stream` and `whisper-perf capacity`: parse, validate up front, run, print. */
import { statSync } from 'node:fs';
import { basename } from 'node:path';

import { CAPACITY_MODES, capacity, MAX_STREAMS, type CapacityOptions } from '../workloads/capacity.js';
import { parseMemorySize } from '../memory.js';
import { parseIntList, parseOutputFormat, parseStringList, usageError } from '../measure/params.js';
import { isPresetName, PRESET_NAMES, type PresetName, type PresetParams } from '../presets.js';
import { streamBenchmark, type StreamOptions } from '../workloads/stream.js';
import { checkStreamParams, MAX_LENGTH_MS, STREAM_DEFAULTS } from '../workloads/stream-window.js';
import type { BenchRow } from '../measure/types.js';
import { WhisperPerfError } from '../errors.js';
import { validateModelFile } from '../models/ggml.js';
import { formatRows } from '../report/formats.js';
import { MAX_THREADS } from '../validate.js';
import { parse, writeData, type CliContext, type OptionSpec } from './context.js';
import { progressSink } from './progress.js';

export const STREAM_HELP = `usage: whisper-perf stream -f FILE [options]

Simulates whisper.cpp's stream example (examples/stream, sliding-window mode) on an
audio file instead of a microphone, on one loaded model: every --step ms of new audio
a window of up to --length ms (the new audio after what is kept of the previous
window) is transcribed with one segment and no timestamps; every max(1, length/step
- 1) steps the line is final and only --keep ms are carried over. When a step runs
late, the newest step of audio is taken and the older audio is dropped, as stream.cpp
does. Prints per-step latency (audio captured -> text out) p50/p95/max, the fraction
of steps that finished before the next was due, a verdict (keeps up when at least 95%
did) and the text produced.

options:
  -f, --file FILE        the audio (also as a positional argument)
  -m, --model FILE       ggml model (default: synthetic tiny.en — its text is meaningless)
      --step MS          new audio per window (default 3000; 100 to 30000)
      --length MS        window length (default 10000; at least --step, at most 30000)
      --keep MS          audio kept from the previous line (default 200; at most --step)
      --realtime         feed the audio at real-time pace on the wall clock (the run
                         lasts as long as the audio); default: as fast as possible, on a
                         virtual clock where each step costs its measured time
  -t, --threads N        threads per transcription (default min(4, cores), as stream.cpp)
  -p, --preset NAME      decoding parameters of a preset (see whisper-perf presets);
                         one segment and no timestamps stay on
  -l, --language LANG    language code (default en)
      --max-tokens N     cap the tokens of each window (default 0: none, as stream.cpp)
      --audio-ctx N      encoder context (0: all 1500 frames)
      --best-of N        greedy candidates (default 5)
      --beam-size N      beam search with N beams
      --no-fallback      no temperature fallback
      --warmup N         transcriptions of the first window before the stream (default 1)
  -o, --output FMT       md (default: table, verdict, text), csv, json, jsonl, sql
      --out FILE         write the data to FILE instead of stdout (atomically)
      --no-progress      no live progress on stderr even on a terminal
  -h, --help             this help

--step longer than --length, --keep longer than --step, a missing file or model are
usage errors (exit code 2); a stream that fails is a row with its error (exit code 1).
With synthetic weights the decoder rarely ends a window by itself: --max-tokens caps it.
`;

export const CAPACITY_HELP = `usage: whisper-perf capacity -f FILE -n LIST [options]

How many concurrent transcriptions this machine serves faster than real time. Each
cell runs N streams at once, each transcribing the whole file (-r times back to back):
N whisper states over ONE loaded model's weights (each its own KV caches, compute
buffers and thread). With --workers the same N again as N worker threads each loading
its own model, to compare memory. Prints aggregate throughput (audio seconds per wall
second), per-request latency p50/p95, peak RSS, and the largest N whose every request
finished faster than real time (with every smaller N measured real time too).

Before a cell allocates anything, N x (KV caches + compute buffers that whisper.cpp
reported at load, + the weights for a worker) must fit in the available memory
(free memory, or --memory-limit); else the cell fails with INVALID_ARGUMENT.

options:
  -f, --file FILE        the audio each stream transcribes (also as a positional argument)
  -n, --streams LIST     concurrent streams per cell, e.g. 1,2,4,8 or 1-16*2 (each >= 1)
  -m, --model FILE       ggml model (default: synthetic tiny.en)
  -t, --threads N        threads per transcription (default: the preset's, else min(4, cores))
      --workers          also measure N worker threads with a model each
      --memory-limit SIZE  memory the streams may use (bytes, or 512M, 4G ...; default:
                         free memory)
  -r, --rounds N         transcriptions of the file per stream (default 1)
      --warmup N         warm-up transcriptions of the first 5 s per stream (default 1)
  -p, --preset NAME      decoding parameters of a preset (see whisper-perf presets)
  -l, --language LANG    language code (default en)
      --max-tokens N     cap the tokens per segment (default 0: none)
      --audio-ctx N      encoder context (0: all 1500 frames)
      --best-of N, --beam-size N, --no-fallback   decoding, as transcribe
  -o, --output FMT       md (default: table and the answer), csv, json, jsonl, sql
      --out FILE         write the data to FILE instead of stdout (atomically)
      --no-progress      no progress bar even on a terminal
  -h, --help             this help

N of 0, a missing file or model are usage errors (exit code 2). A cell that fails
(too many states for the memory, a failed transcription) is a row with its error; the
sweep goes on and the exit code is 1.
`;

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
