/** `whisper-perf audio gen|info`: write test audio; show how a file decodes. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { WhisperPerfError } from '../errors.js';
import { loadAudio } from '../audio/load.js';
import { TEST_AUDIO_KINDS, writeTestAudio, type SpeechCache, type TestAudioKind } from '../audio/speech.js';
import { parseIntList, parseStringList, usageError } from '../measure/params.js';
import { CliContext, parse, writeData } from './context.js';

export const AUDIO_HELP = `usage: whisper-perf audio <gen|info> [options]

  audio gen --duration LIST [--kind LIST] [--out-dir DIR] [--text FILE] [--voice V]
            [--wpm N] [--rate HZ] [--seed N] [-o md|json|jsonl|csv] [--out FILE]
      write 16-bit mono WAVs of the given durations (seconds: 10,30,60), one per kind
      and duration, named KIND-Ds.wav, each with its reference transcript beside it
      (KIND-Ds.txt: the words actually spoken; empty for non-speech). Kinds:
        speech   espeak-ng (must be installed) reading a built-in public-domain text,
                 or --text FILE; whole sentences, the last cut to the words that fit,
                 then silence; the text repeats when it runs out
        silence  zeros
        noise    white noise, peak 0.1 (--seed N)
        tones    two mixed sine tones, 440 Hz and 1250 Hz
      --voice V (espeak-ng voice, default en-us), --wpm N (words per minute, default
      160), --rate HZ (default 16000). Prints a table of the files written.
  audio info FILE... [-o md|json|jsonl|csv] [--no-ffmpeg]
      decode each file as whisper-perf would (WAV in-process; MP3, FLAC, Ogg, M4A ...
      through ffmpeg) and print its format, codec, rate, channels, bits and duration.
      A file that fails gets a row with its error; the exit code is then 1.

Accepted WAV: PCM 8/16/24/32-bit, float 32/64-bit, A-law, mu-law; plain or
WAVE_FORMAT_EXTENSIBLE; 1..64 channels (averaged to mono); 1000..768000 Hz. Inputs over
2 GiB or 4 hours are refused before decoding.

options:
  -h, --help   this help
`;

type Cell = string | number | boolean | null;
type Table = Record<string, Cell>[];

const FORMATS = ['md', 'json', 'jsonl', 'csv'] as const;

function outputFormat(command: string, text: string | undefined): (typeof FORMATS)[number] {
  const f = text ?? 'md';
  if (!(FORMATS as readonly string[]).includes(f)) throw new WhisperPerfError(`${command}: -o: invalid value ${JSON.stringify(f)}: expected ${FORMATS.join(', ')}`, 'USAGE');
  return f as (typeof FORMATS)[number];
}

function render(rows: Table, format: (typeof FORMATS)[number]): string {
  if (format === 'json') return JSON.stringify(rows, null, 2);
  if (format === 'jsonl') return rows.map((r) => JSON.stringify(r)).join('\n');
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: Cell | undefined) => (v === null || v === undefined ? '' : String(v));
  if (format === 'csv') {
    const q = (v: Cell | undefined) => {
      const s = cell(v);
      return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    };
    return [cols.join(','), ...rows.map((r) => cols.map((c) => q(r[c])).join(','))].join('\n');
  }
  const md = (v: Cell | undefined) => cell(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [`| ${cols.join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${cols.map((c) => md(r[c])).join(' | ')} |`)].join('\n');
}

/** Durations in seconds: a comma list of positive numbers (decimals allowed). */
export function parseDurations(option: string, text: string): number[] {
  const out: number[] = [];
  for (const item of parseStringList(option, text)) {
    if (!/^\d+(\.\d+)?$/.test(item)) throw usageError(option, text, `${JSON.stringify(item)} is not a number of seconds`);
    const v = Number(item);
    if (!(v > 0) || v > 14400) throw usageError(option, text, `${item} s is outside 0 < seconds ≤ 14400`);
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

export async function runAudio(argv: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case undefined:
    case '-h':
    case '--help':
      ctx.stdout(AUDIO_HELP);
      return 0;
    case 'gen':
      return gen(rest, ctx);
    case 'info':
      return info(rest, ctx);
    default:
      throw new WhisperPerfError(`audio: unknown subcommand ${JSON.stringify(sub)} (gen, info)`, 'USAGE');
  }
}

async function gen(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('audio gen', argv, {
    duration: { type: 'string', short: 'd' },
    kind: { type: 'string', short: 'k' },
    'out-dir': { type: 'string' },
    text: { type: 'string' },
    voice: { type: 'string' },
    wpm: { type: 'string' },
    rate: { type: 'string' },
    seed: { type: 'string' },
    output: { type: 'string', short: 'o' },
    out: { type: 'string' },
  });
  if (values.help) return (ctx.stdout(AUDIO_HELP), 0);
  if (positionals.length) throw new WhisperPerfError(`audio gen: unexpected argument ${JSON.stringify(positionals[0])}`, 'USAGE');
  if (values.duration === undefined) throw new WhisperPerfError('audio gen: --duration is required (seconds, e.g. --duration 10,30,60)', 'USAGE');
  const durations = parseDurations('--duration', values.duration);
  const kinds = parseStringList('--kind', values.kind ?? 'speech') as TestAudioKind[];
  for (const k of kinds) if (!TEST_AUDIO_KINDS.includes(k)) throw usageError('--kind', values.kind ?? '', `${JSON.stringify(k)} is not one of ${TEST_AUDIO_KINDS.join(', ')}`);
  const format = outputFormat('audio gen', values.output);
  const sampleRate = values.rate === undefined ? 16000 : parseIntList('--rate', values.rate, { min: 8000, max: 192000 })[0];
  const wpm = values.wpm === undefined ? undefined : parseIntList('--wpm', values.wpm, { min: 80, max: 450 })[0];
  const seed = values.seed === undefined ? undefined : parseIntList('--seed', values.seed, { min: 0, max: 2 ** 32 - 1 })[0];
  let text: string | undefined;
  if (values.text !== undefined) {
    try {
      text = readFileSync(values.text, 'utf8');
    } catch (e) {
      throw new WhisperPerfError(`audio gen: --text: cannot read ${JSON.stringify(values.text)}: ${(e as Error).message}`, 'USAGE');
    }
    if (!/[\p{L}\p{N}]/u.test(text)) throw new WhisperPerfError(`audio gen: --text: ${JSON.stringify(values.text)} holds no words`, 'USAGE');
  }
  const dir = values['out-dir'] ?? '.';
  const cache: SpeechCache = new Map();
  const rows: Table = [];
  for (const kind of kinds) {
    for (const d of durations) {
      const path = join(dir, `${kind}-${d}s.wav`);
      const t0 = performance.now();
      const a = await writeTestAudio(path, { kind, durationS: d, sampleRate, text, voice: values.voice, wpm, seed, cache });
      ctx.stderr(`wrote ${a.wavPath} and ${a.txtPath}: ${a.durationS} s of ${kind}${kind === 'speech' ? `, ${a.words} words` : ''} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
      rows.push({ file: a.wavPath, kind, duration_s: a.durationS, sample_rate: a.sampleRate, words: a.words, speech_end_s: Number(a.speechEndS.toFixed(3)), transcript: a.txtPath });
    }
  }
  writeData(ctx, render(rows, format), values.out);
  return 0;
}

async function info(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('audio info', argv, {
    output: { type: 'string', short: 'o' },
    'no-ffmpeg': { type: 'boolean' },
  });
  if (values.help) return (ctx.stdout(AUDIO_HELP), 0);
  if (positionals.length === 0) throw new WhisperPerfError('audio info: expected one or more FILEs', 'USAGE');
  const format = outputFormat('audio info', values.output);
  const rows: Table = [];
  let failed = 0;
  for (const file of positionals) {
    try {
      const a = await loadAudio(file, { ffmpeg: values['no-ffmpeg'] ? false : undefined });
      const s = a.source;
      rows.push({
        file,
        format: s.format,
        codec: s.codec,
        sample_rate: s.sampleRate,
        channels: s.channels,
        bits: s.bitsPerSample,
        frames: s.frames,
        duration_s: Number(a.durationS.toFixed(6)),
        samples_16k: a.pcm.length,
        decoder: s.decoder,
        warnings: a.warnings.join('; '),
        error: null,
      });
    } catch (e) {
      if (!(e instanceof WhisperPerfError)) throw e;
      failed++;
      ctx.stderr(`whisper-perf: ${file}: ${e.message} [${e.code}]\n`);
      rows.push({ file, format: null, codec: null, sample_rate: null, channels: null, bits: null, frames: null, duration_s: null, samples_16k: null, decoder: null, warnings: '', error: `${e.code}: ${e.message}` });
    }
  }
  ctx.stdout(render(rows, format) + '\n');
  return failed ? 1 : 0;
}
