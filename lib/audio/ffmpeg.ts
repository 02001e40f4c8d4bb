/**
 * Formats other than WAV (MP3, FLAC, Ogg Vorbis/Opus, M4A/AAC, AIFF, WebM ...) decoded by the
 * `ffmpeg` program, when it is installed: `ffmpeg -i INPUT -map 0:a:0 -f f32le -ac 1 -ar 16000
 * pipe:1`, the samples read from its standard output. `ffprobe` (shipped with ffmpeg), when
 * present, names the source's codec, rate and channels; the channels are then averaged to mono
 * (a `pan` filter), as the WAV decoder does, rather than by ffmpeg's −3 dB stereo down-mix. Which binary is used: the `ffmpeg`
 * option, else the WHISPER_PERF_FFMPEG environment variable, else `ffmpeg` on the PATH.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

import { WhisperPerfError } from '../errors.js';

/** Options of {@link decodeWithFfmpeg}. */
export interface FfmpegDecodeOptions {
  /** The ffmpeg binary (default: WHISPER_PERF_FFMPEG, else `ffmpeg` on the PATH). */
  ffmpegPath?: string;
  /** Refuse (and stop ffmpeg) once the output exceeds this many 16 kHz samples. */
  maxSamples?: number;
  /** What the input is, for messages (e.g. "MP3"). */
  formatHint?: string;
  signal?: AbortSignal;
}

/** What ffprobe says about the first audio stream. Null where it does not know (or is absent). */
export interface FfprobeInfo {
  format: string | null;
  codec: string | null;
  sampleRate: number | null;
  channels: number | null;
  bitsPerSample: number | null;
  durationS: number | null;
}

/** ffmpeg's output: 16 kHz mono samples and what ffprobe said of the source. */
export interface FfmpegDecoded {
  pcm: Float32Array;
  probe: FfprobeInfo;
  ffmpegPath: string;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Resolves a program name (or path) against the PATH; null when it is not there. */
export function which(name: string): string | null {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return null;
}

/** The ffmpeg binary that would be used, or null when none is installed. */
export function findFfmpeg(ffmpegPath?: string): string | null {
  return which(ffmpegPath ?? process.env.WHISPER_PERF_FFMPEG ?? 'ffmpeg');
}

function missingFfmpeg(what: string, tried: string): WhisperPerfError {
  return new WhisperPerfError(
    `cannot decode ${what}: ffmpeg is not installed (looked for ${JSON.stringify(tried)}). ` +
      `Install ffmpeg (e.g. apt-get install ffmpeg, brew install ffmpeg), point WHISPER_PERF_FFMPEG at it, or convert the file to WAV`,
    'AUDIO_INVALID',
  );
}

interface RunResult {
  code: number | null;
  stdout: Buffer[];
  stdoutBytes: number;
  stderr: string;
  overLimit: boolean;
}

function run(bin: string, args: string[], input: Uint8Array | null, limitBytes: number, signal?: AbortSignal): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'], signal });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let overLimit = false;
    child.stdout!.on('data', (b: Buffer) => {
      if (overLimit) return;
      stdoutBytes += b.length;
      if (stdoutBytes > limitBytes) {
        overLimit = true;
        child.kill('SIGKILL');
        return;
      }
      stdout.push(b);
    });
    child.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (stderr.length > 16_384) stderr = stderr.slice(-8192);
    });
    if (input) {
      child.stdin!.on('error', () => {}); // EPIPE when the tool stops reading early
      child.stdin!.end(input);
    }
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stdoutBytes, stderr, overLimit }));
  });
}

function lastLines(text: string, n = 2): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(' / ');
}

const num = (v: unknown): number | null => {
  const x = typeof v === 'string' || typeof v === 'number' ? Number(v) : NaN;
  return Number.isFinite(x) && x > 0 ? x : null;
};

/** Asks ffprobe (next to `ffmpegPath`, or on the PATH) about the first audio stream; null without ffprobe. */
export async function ffprobe(input: string | Uint8Array, ffmpegPath?: string, signal?: AbortSignal): Promise<FfprobeInfo | null> {
  const ff = findFfmpeg(ffmpegPath);
  const bin = (ff && which(join(dirname(ff), 'ffprobe'))) ?? which('ffprobe');
  if (!bin) return null;
  const args = ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=codec_name,sample_rate,channels,bits_per_sample,bits_per_raw_sample,duration:format=format_name,duration', '-of', 'json'];
  args.push(typeof input === 'string' ? input : 'pipe:0');
  let r: RunResult;
  try {
    r = await run(bin, args, typeof input === 'string' ? null : input, 1 << 20, signal);
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    return null;
  }
  if (r.code !== 0) return null;
  try {
    const j = JSON.parse(Buffer.concat(r.stdout).toString()) as {
      streams?: Record<string, unknown>[];
      format?: Record<string, unknown>;
    };
    const s = j.streams?.[0];
    if (!s) return { format: (j.format?.format_name as string) ?? null, codec: null, sampleRate: null, channels: null, bitsPerSample: null, durationS: null };
    return {
      format: (j.format?.format_name as string) ?? null,
      codec: (s.codec_name as string) ?? null,
      sampleRate: num(s.sample_rate),
      channels: num(s.channels),
      bitsPerSample: num(s.bits_per_raw_sample) ?? num(s.bits_per_sample),
      durationS: num(s.duration) ?? num(j.format?.duration),
    };
  } catch {
    return null;
  }
}

/**
 * Decodes the first audio stream of a file (path) or of bytes in memory to 16 kHz mono
 * Float32 samples through ffmpeg. Rejects with AUDIO_INVALID when ffmpeg is missing (naming
 * it), fails (with its last message), finds no audio, or produces NaN/infinite samples.
 */
export async function decodeWithFfmpeg(input: string | Uint8Array, options: FfmpegDecodeOptions = {}): Promise<FfmpegDecoded> {
  const what = `${options.formatHint ?? 'audio'}${typeof input === 'string' ? ` file ${JSON.stringify(input)}` : ''}`;
  const tried = options.ffmpegPath ?? process.env.WHISPER_PERF_FFMPEG ?? 'ffmpeg';
  const bin = findFfmpeg(options.ffmpegPath);
  if (!bin) throw missingFfmpeg(what, tried);
  const probe = (await ffprobe(input, bin, options.signal)) ?? { format: null, codec: null, sampleRate: null, channels: null, bitsPerSample: null, durationS: null };
  const maxSamples = options.maxSamples ?? Number.MAX_SAFE_INTEGER;
  if (probe.durationS !== null && probe.durationS * 16000 > maxSamples * 1.01 + 16000) {
    throw new WhisperPerfError(`${what} lasts ${probe.durationS.toFixed(1)} s, over the limit of ${(maxSamples / 16000).toFixed(0)} s of audio (maxSeconds)`, 'AUDIO_INVALID');
  }
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', typeof input === 'string' ? input : 'pipe:0', '-map', '0:a:0', '-vn'];
  // ffmpeg's own down-mix (-ac 1) applies a −3 dB pan law to stereo; average the channels
  // instead, as the WAV decoder does, when ffprobe has said how many there are
  const nch = probe.channels;
  if (nch !== null && nch > 1 && nch <= 64 && Number.isInteger(nch)) {
    const g = (1 / nch).toPrecision(12);
    args.push('-af', `pan=mono|c0=${Array.from({ length: nch }, (_, i) => `${g}*c${i}`).join('+')}`);
  }
  args.push('-f', 'f32le', '-ac', '1', '-ar', '16000', 'pipe:1');
  let r: RunResult;
  try {
    r = await run(bin, args, typeof input === 'string' ? null : input, maxSamples * 4, options.signal);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.name === 'AbortError') throw new WhisperPerfError(`decoding ${what} aborted`, 'ABORTED', { cause: e });
    if (err.code === 'ENOENT' || err.code === 'EACCES') throw missingFfmpeg(what, tried);
    throw new WhisperPerfError(`cannot run ffmpeg (${bin}) for ${what}: ${err.message}`, 'AUDIO_INVALID', { cause: e });
  }
  if (r.overLimit) {
    throw new WhisperPerfError(`${what} decodes to more than ${(maxSamples / 16000).toFixed(0)} s of audio, over the limit (maxSeconds)`, 'AUDIO_INVALID');
  }
  if (r.code !== 0) {
    const msg = lastLines(r.stderr) || `exit code ${r.code}`;
    const noAudio = /matches no streams|does not contain any stream|Output file .* does not contain/i.test(r.stderr);
    throw new WhisperPerfError(noAudio ? `${what} has no audio stream` : `ffmpeg could not decode ${what}: ${msg}`, 'AUDIO_INVALID');
  }
  const bytes = Buffer.concat(r.stdout, r.stdoutBytes);
  const n = Math.floor(bytes.length / 4);
  if (n === 0) throw new WhisperPerfError(`no samples: ffmpeg decoded no audio from ${what}`, 'AUDIO_INVALID');
  const pcm = new Float32Array(n);
  new Uint8Array(pcm.buffer).set(bytes.subarray(0, n * 4));
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(pcm[i])) {
      throw new WhisperPerfError(`invalid sample: ${what} decodes to ${pcm[i]} at ${(i / 16000).toFixed(3)} s`, 'AUDIO_INVALID');
    }
  }
  return { pcm, probe, ffmpegPath: bin };
}
