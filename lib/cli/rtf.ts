/** `whisper-perf rtf`: the real-time-factor matrix. Parse, validate up front, run, print. */
import { parseBoolList, parseDeviceList, parseIntList, parseOutputFormat, parseStringList, usageError } from '../measure/params.js';
import { isPresetName, PRESET_NAMES, type PresetName } from '../presets.js';
import { rtf, type RtfOptions } from '../workloads/rtf.js';
import { WhisperPerfError } from '../errors.js';
import { validateModelFile } from '../models/ggml.js';
import { formatRows } from '../report/formats.js';
import { MAX_THREADS } from '../validate.js';
import { parse, writeData, type CliContext } from './context.js';
import { progressSink } from './progress.js';

export const RTF_HELP = `usage: whisper-perf rtf -f FILES [options]

The real-time-factor matrix: every combination of models × audio files × presets ×
threads, each cell transcribed whole (whisper_full, in-process) --warmup times on its
first 30 s, then -r times measured. RTF = processing time / audio duration (below 1 is
faster than real time); RTFx is its inverse. Each model is loaded once, each file
decoded once (WAV in-process, other formats through ffmpeg). Lists take commas and
ranges (-t 1,2,4 or 1-8*2).

options:
  -f, --file LIST        audio files (also as positional arguments)
  -m, --model LIST       ggml model files (default: synthetic tiny.en, generated once)
  -t, --threads LIST     thread counts (default: each preset's thread policy)
  -p, --preset LIST      speed, balanced, quality, realtime (default balanced; see
                         whisper-perf presets)
  -r, --repetitions N    measured transcriptions per cell (default 3)
      --warmup N         warm-up transcriptions of the first 30 s per cell (default 1)
  -l, --language LANG    language code, or auto (default en)
      --device D         cpu or a GPU index (default cpu without a GPU build)
      --fa on|off        flash attention (default on)
  -o, --output FMT       md (default: table, warnings and summary), csv, json, jsonl, sql
      --out FILE         write the data to FILE instead of stdout (atomically)
      --delay SECONDS    pause between cells (default 0)
      --no-progress      no progress bar even on a terminal
  -h, --help             this help

A file that does not decode, a model that does not load or a failed transcription
makes a row with its error; the sweep goes on and the exit code is 1. A bad option or
an unusable model file is a usage error (exit code 2) before anything runs.
`;

/** `-p a,b`: preset names, each checked (USAGE naming the presets otherwise). */
export function parsePresetList(option: string, text: string): PresetName[] {
  return parseStringList(option, text).map((p) => {
    if (!isPresetName(p)) throw usageError(option, p, `not a preset (${PRESET_NAMES.join(', ')}; see whisper-perf presets)`);
    return p;
  });
}

/** `-l xx`: a language code as transcribe takes it, or auto. */
export function parseLanguage(option: string, text: string): string {
  if (!/^(auto|[a-z]{2,3})$/.test(text)) throw usageError(option, text, "expected an ISO 639-1 code such as 'en', or 'auto'");
  return text;
}

export function single(option: string, values: number[]): number {
  if (values.length !== 1) throw usageError(option, values.join(','), 'takes one value');
  return values[0];
}

/** Checks every model before anything runs: a bad one is a usage error, not a failed cell. */
export async function checkModels(option: string, models: string[]): Promise<void> {
  for (const m of models) {
    try {
      await validateModelFile(m);
    } catch (e) {
      const why = e instanceof WhisperPerfError ? e.message : String(e);
      throw usageError(option, m, `not a usable ggml model (${why})`);
    }
  }
}

/** Options `rtf` and `quality` share: models, files, the configuration axes, output. */
export const SWEEP_OPTIONS = {
  model: { type: 'string', short: 'm', multiple: true },
  file: { type: 'string', short: 'f', multiple: true },
  threads: { type: 'string', short: 't' },
  preset: { type: 'string', short: 'p' },
  repetitions: { type: 'string', short: 'r' },
  warmup: { type: 'string' },
  language: { type: 'string', short: 'l' },
  device: { type: 'string' },
  fa: { type: 'string' },
  output: { type: 'string', short: 'o' },
  out: { type: 'string' },
  'no-progress': { type: 'boolean' },
} as const;

type SweepValues = { [K in keyof typeof SWEEP_OPTIONS]?: (typeof SWEEP_OPTIONS)[K] extends { multiple: true } ? string[] : (typeof SWEEP_OPTIONS)[K] extends { type: 'boolean' } ? boolean : string };

/**
 * The shared options parsed and checked up front (every model validated): a mistake is a usage
 * error before anything runs. `noFiles` is the message when no audio file was given.
 */
export async function parseSweepOptions(command: string, values: SweepValues, positionals: string[], noFiles: string) {
  // audio files: -f lists and positionals alike
  const files = [...(values.file ?? []).flatMap((f) => parseStringList('-f', f)), ...positionals];
  if (files.length === 0) throw new WhisperPerfError(`${command}: no audio file: ${noFiles}`, 'USAGE');
  const format = parseOutputFormat(values.output ?? 'md');
  const threads = values.threads ? parseIntList('-t', values.threads, { min: 1, max: MAX_THREADS }) : undefined;
  const presets = values.preset ? parsePresetList('-p', values.preset) : undefined;
  const repetitions = values.repetitions ? single('-r', parseIntList('-r', values.repetitions, { min: 1, max: 10000 })) : undefined;
  const warmup = values.warmup ? single('--warmup', parseIntList('--warmup', values.warmup, { min: 0, max: 100 })) : undefined;
  const language = values.language === undefined ? undefined : parseLanguage('-l', values.language);
  const devices = values.device ? parseDeviceList('--device', values.device) : undefined;
  if (devices && devices.length > 1) throw usageError('--device', values.device!, `${command} takes one device`);
  const fa = values.fa ? parseBoolList('--fa', values.fa) : undefined;
  if (fa && fa.length > 1) throw usageError('--fa', values.fa!, `${command} takes on or off, not both`);
  const models = (values.model ?? []).flatMap((m) => parseStringList('-m', m));
  await checkModels('-m', models);
  const progress = progressSink(process.stderr, values['no-progress'] ? false : undefined);
  return {
    format,
    progress,
    common: {
      models: models.length ? models : undefined,
      files,
      threads,
      presets,
      repetitions,
      warmup,
      device: devices?.[0],
      flashAttn: fa?.[0],
      transcribe: language ? { language } : undefined,
      onProgress: (p: { done: number; total: number; label: string; etaMs?: number }) => {
        if (p.total === 1 && p.done === 0 && p.label.startsWith('generating')) progress.note(p.label);
        else progress.update(p.done, p.total, p.label, p.etaMs);
      },
    },
  };
}

/**
 * Runs a sweep with Ctrl-C aborting it (the rows measured so far are kept), writes its rows and
 * names each failed one on stderr: exit 1 when any failed.
 */
export async function runSweep<R extends { error?: { message: string; code: string } | null }>(
  ctx: CliContext,
  sweep: (signal: AbortSignal) => Promise<R[]>,
  out: { format: ReturnType<typeof parseOutputFormat>; file?: string; progress: { done(): void }; failed: (r: R) => string },
): Promise<number> {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let rows: R[];
  try {
    rows = await sweep(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
    out.progress.done();
  }
  writeData(ctx, formatRows(rows as never, out.format), out.file);
  const failed = rows.filter((r) => r.error);
  for (const r of failed) ctx.stderr(`whisper-perf: ${out.failed(r)}: ${r.error!.message} [${r.error!.code}]\n`);
  return failed.length > 0 ? 1 : 0;
}

export async function runRtf(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('rtf', argv, { ...SWEEP_OPTIONS, delay: { type: 'string' } });
  if (values.help) {
    ctx.stdout(RTF_HELP);
    return 0;
  }
  const { format, progress, common } = await parseSweepOptions('rtf', values, positionals, 'give -f FILE[,FILE...] (whisper-perf audio gen writes test speech)');
  const delay = values.delay ? single('--delay', parseIntList('--delay', values.delay, { min: 0, max: 3600 })) : 0;
  const options: RtfOptions = { ...common, delayMs: delay * 1000 };
  return runSweep(ctx, (signal) => rtf({ ...options, signal }), {
    format,
    file: values.out,
    progress,
    failed: (r) => `cell failed: ${r.model} ${r.file} ${r.preset} -t ${r.threads}`,
  });
}
