/**
 * `loadAudio`: any audio file (or bytes) → 16 kHz mono Float32 PCM for whisper, with the
 * source's true duration and format. WAV is decoded here ({@link decodeWav}) and resampled with
 * the band-limited resampler ({@link resample}); MP3, FLAC, Ogg, M4A and the rest go through
 * ffmpeg when it is installed ({@link decodeWithFfmpeg}).
 *
 * Limits, checked before decoding: the input may hold at most `maxBytes` bytes (default
 * {@link DEFAULT_MAX_BYTES}, 2 GiB) and last at most `maxSeconds` (default
 * {@link DEFAULT_MAX_SECONDS}, 4 hours, i.e. 230.4 M samples or 922 MB of 16 kHz Float32).
 * Every failure is a WhisperPerfError with code AUDIO_INVALID (ABORTED when `signal` fires).
 */
import { open, stat } from 'node:fs/promises';
import { readSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { checkMemory, memoryLimitOf } from '../memory.js';
import { WhisperPerfError, invalidArgument } from '../errors.js';
import { decodeWithFfmpeg } from './ffmpeg.js';
import { resample } from './resample.js';
import { parseWavHeader, type WavInfo } from './wav.js';
import { decodeFrames, decodeWav } from './wav-codec.js';

/** Largest input accepted by default: 2 GiB. */
export const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;
/** Longest audio accepted by default: 4 hours. */
export const DEFAULT_MAX_SECONDS = 4 * 3600;
/** The rate whisper wants. */
export const WHISPER_SAMPLE_RATE = 16000;

/** Options of {@link loadAudio}. */
export interface LoadAudioOptions {
  /** Refuse inputs larger than this many bytes (default 2 GiB), before reading them. */
  maxBytes?: number;
  /** Refuse audio longer than this many seconds (default 4 h), before decoding where the header says. */
  maxSeconds?: number;
  /** false: never run ffmpeg (non-WAV input is refused); a string: the ffmpeg binary to use. */
  ffmpeg?: boolean | string;
  signal?: AbortSignal;
}

/** What the input was. Null where it is not known (ffmpeg without ffprobe). */
export interface AudioSource {
  /** Container: wav, mp3, flac, ogg, m4a, ... (ffprobe's name where ffmpeg decoded it). */
  format: string;
  /** Sample codec: pcm_s16le, pcm_f32le, mp3, flac, vorbis, aac ... */
  codec: string | null;
  sampleRate: number | null;
  channels: number | null;
  /** Bits per sample of the source, where the codec has them. */
  bitsPerSample: number | null;
  /** Frames (samples per channel) of the source, where known exactly (WAV). */
  frames: number | null;
  /** Size of the input in bytes. */
  bytes: number;
  /** The file it came from, or null for bytes in memory. */
  path: string | null;
  /** Who decoded it. */
  decoder: 'wav' | 'ffmpeg';
}

/** Audio ready for whisper. */
export interface LoadedAudio {
  /** 16 kHz mono samples. */
  pcm: Float32Array;
  sampleRate: 16000;
  /** True duration of the source in seconds: frames / source rate (WAV), decoded samples / 16000 (ffmpeg). */
  durationS: number;
  source: AudioSource;
  /** What the decoder had to be lenient about (clamped sizes, missing pad bytes ...). */
  warnings: string[];
}

const fail = (msg: string): WhisperPerfError => new WhisperPerfError(msg, 'AUDIO_INVALID');

function checkAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new WhisperPerfError(`loading ${what} aborted`, 'ABORTED', { cause: signal.reason });
}

/** Container formats recognized by their first bytes (and, failing that, the file extension). */
export type SniffedFormat = 'wav' | 'mp3' | 'flac' | 'ogg' | 'm4a' | 'aiff' | 'webm' | 'caf' | 'au' | 'amr' | 'aac' | 'wma' | 'unknown';

const EXTENSIONS: Record<string, SniffedFormat> = {
  '.wav': 'wav', '.wave': 'wav', '.mp3': 'mp3', '.flac': 'flac', '.ogg': 'ogg', '.oga': 'ogg', '.opus': 'ogg',
  '.m4a': 'm4a', '.mp4': 'm4a', '.m4b': 'm4a', '.mov': 'm4a', '.aiff': 'aiff', '.aif': 'aiff', '.aifc': 'aiff',
  '.webm': 'webm', '.mka': 'webm', '.mkv': 'webm', '.caf': 'caf', '.au': 'au', '.snd': 'au', '.amr': 'amr',
  '.aac': 'aac', '.wma': 'wma', '.asf': 'wma',
};

/** Recognizes the container from the first bytes of a file, else from its extension. */
export function sniffFormat(head: Uint8Array, path?: string): SniffedFormat {
  const s = (o: number, n: number) => String.fromCharCode(...head.subarray(o, o + n));
  if (head.length >= 4) {
    const id = s(0, 4);
    if (id === 'RIFF' || id === 'RF64' || id === 'BW64' || id === 'RIFX') return 'wav';
    if (id === 'fLaC') return 'flac';
    if (id === 'OggS') return 'ogg';
    if (id === 'FORM' && head.length >= 12 && (s(8, 4) === 'AIFF' || s(8, 4) === 'AIFC')) return 'aiff';
    if (id === 'caff') return 'caf';
    if (id === '.snd') return 'au';
    if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return 'webm';
    if (head[0] === 0x30 && head[1] === 0x26 && head[2] === 0xb2 && head[3] === 0x75) return 'wma';
    if (s(0, 5) === '#!AMR') return 'amr';
  }
  if (head.length >= 8 && s(4, 4) === 'ftyp') return 'm4a';
  if (head.length >= 3 && s(0, 3) === 'ID3') return 'mp3';
  if (head.length >= 2 && head[0] === 0xff && (head[1] & 0xf6) === 0xf0) return 'aac'; // ADTS
  if (head.length >= 2 && head[0] === 0xff && (head[1] & 0xe0) === 0xe0) return 'mp3'; // MPEG audio frame sync
  if (path) return EXTENSIONS[extname(path).toLowerCase()] ?? 'unknown';
  return 'unknown';
}

function checkLimit(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v > 0)) throw invalidArgument(name, v, 'a positive number');
  return v;
}

function human(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${bytes} bytes`;
}

function checkDuration(info: WavInfo, maxSeconds: number, what: string): void {
  if (info.durationS > maxSeconds) {
    throw fail(`${what} lasts ${info.durationS.toFixed(1)} s, over the limit of ${maxSeconds} s of audio (maxSeconds)`);
  }  // the decoded samples (float32, at the file's rate, then at 16 kHz) against the memory guard
  const decodedBytes = info.frames * 4 + Math.ceil(info.durationS * WHISPER_SAMPLE_RATE) * 4;
  checkMemory(`decoding ${what}`, decodedBytes, memoryLimitOf(undefined));
}

function finish(samples: Float32Array, info: WavInfo, bytes: number, path: string | null): LoadedAudio {
  const pcm = resample(samples, info.sampleRate, WHISPER_SAMPLE_RATE);
  return {
    pcm,
    sampleRate: WHISPER_SAMPLE_RATE,
    durationS: info.durationS,
    source: {
      format: 'wav',
      codec: info.codec,
      sampleRate: info.sampleRate,
      channels: info.channels,
      bitsPerSample: info.bitsPerSample,
      frames: info.frames,
      bytes,
      path,
      decoder: 'wav',
    },
    warnings: info.warnings,
  };
}

async function viaFfmpeg(input: string | Uint8Array, format: SniffedFormat, bytes: number, path: string | null, maxSeconds: number, opts: LoadAudioOptions, reason?: string): Promise<LoadedAudio> {
  const label = format === 'unknown' ? 'audio' : format.toUpperCase();
  if (opts.ffmpeg === false) {
    throw fail(`cannot decode ${label}${path ? ` file ${JSON.stringify(path)}` : ''}: ${reason ?? 'only WAV is decoded without ffmpeg'} (ffmpeg is disabled)`);
  }
  const r = await decodeWithFfmpeg(input, {
    ffmpegPath: typeof opts.ffmpeg === 'string' ? opts.ffmpeg : undefined,
    maxSamples: Math.ceil(maxSeconds * WHISPER_SAMPLE_RATE),
    formatHint: label,
    signal: opts.signal,
  });
  return {
    pcm: r.pcm,
    sampleRate: WHISPER_SAMPLE_RATE,
    durationS: r.pcm.length / WHISPER_SAMPLE_RATE,
    source: {
      format: r.probe.format ?? format,
      codec: r.probe.codec,
      sampleRate: r.probe.sampleRate,
      channels: r.probe.channels,
      bitsPerSample: r.probe.bitsPerSample,
      frames: null,
      bytes,
      path,
      decoder: 'ffmpeg',
    },
    warnings: reason ? [reason + '; decoded by ffmpeg'] : [],
  };
}

/** True for the WAV errors that ffmpeg may still decode (a codec this decoder does not read). */
const ffmpegMayDecode = (e: unknown): e is WhisperPerfError => e instanceof WhisperPerfError && /^unsupported codec|^unsupported WAV: big-endian/.test(e.message);

/**
 * Loads audio for whisper: a file path (or file: URL) or the bytes of a file →
 * `{ pcm (16 kHz mono Float32Array), sampleRate: 16000, durationS, source, warnings }`.
 * WAV is decoded in-process; other formats need ffmpeg. Rejects with AUDIO_INVALID naming
 * the problem: missing file, directory, empty or too large input, malformed or unsupported audio.
 */
export async function loadAudio(input: string | URL | Uint8Array, options: LoadAudioOptions = {}): Promise<LoadedAudio> {
  const maxBytes = checkLimit('maxBytes', options.maxBytes, DEFAULT_MAX_BYTES);
  const maxSeconds = checkLimit('maxSeconds', options.maxSeconds, DEFAULT_MAX_SECONDS);
  checkAborted(options.signal, input instanceof Uint8Array ? 'audio' : String(input));

  if (input instanceof Uint8Array) {
    if (input.length === 0) throw fail('empty audio: 0 bytes');
    if (input.length > maxBytes) throw fail(`audio of ${human(input.length)} is over the limit of ${human(maxBytes)} (maxBytes)`);
    const format = sniffFormat(input.subarray(0, 16));
    if (format === 'wav') {
      try {
        const info = parseWavHeader((o, n) => input.subarray(o, Math.min(input.length, o + n)), input.length);
        checkDuration(info, maxSeconds, 'the audio');
        const d = decodeWav(input);
        return finish(d.samples, d.info, input.length, null);
      } catch (e) {
        if (ffmpegMayDecode(e)) return viaFfmpeg(input, format, input.length, null, maxSeconds, options, e.message);
        throw e;
      }
    }
    if (format === 'unknown') throw fail('unrecognized audio format: not RIFF/WAVE, MP3, FLAC, Ogg, M4A, AIFF, WebM, CAF, AU, AMR, AAC or WMA');
    return viaFfmpeg(input, format, input.length, null, maxSeconds, options);
  }

  if (typeof input !== 'string' && !(input instanceof URL)) throw invalidArgument('input', input, 'a file path, a file: URL or a Uint8Array');
  const path = input instanceof URL ? fileURLToPath(input) : input;
  if (path === '') throw fail('no audio file given (empty path)');
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw fail(`audio file not found: ${path}`);
    if (code === 'EACCES' || code === 'EPERM') throw fail(`cannot read audio file ${path}: permission denied`);
    throw fail(`cannot read audio file ${path}: ${(e as Error).message}`);
  }
  if (st.isDirectory()) throw fail(`${path} is a directory, not an audio file`);
  if (!st.isFile()) throw fail(`${path} is not a regular file`);
  if (st.size === 0) throw fail(`empty audio file: ${path} (0 bytes)`);
  if (st.size > maxBytes) throw fail(`audio file ${path} is ${human(st.size)}, over the limit of ${human(maxBytes)} (maxBytes)`);

  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw fail(`cannot read audio file ${path}: ${(e as Error).message}`);
  }
  try {
    const fd = fh.fd;
    const size = st.size;
    const readAt = (offset: number, length: number): Uint8Array => {
      const n = Math.max(0, Math.min(length, size - offset));
      const b = Buffer.alloc(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, b, got, n - got, offset + got);
        if (r === 0) break;
        got += r;
      }
      return b.subarray(0, got);
    };
    const format = sniffFormat(readAt(0, 16), path);
    if (format !== 'wav') {
      if (format === 'unknown') throw fail(`unrecognized audio format: ${path} is not RIFF/WAVE, MP3, FLAC, Ogg, M4A, AIFF, WebM, CAF, AU, AMR, AAC or WMA`);
      await fh.close();
      fh = undefined;
      return await viaFfmpeg(path, format, size, path, maxSeconds, options);
    }
    let info: WavInfo;
    try {
      info = parseWavHeader(readAt, size);
    } catch (e) {
      if (ffmpegMayDecode(e)) {
        await fh.close();
        fh = undefined;
        return await viaFfmpeg(path, format, size, path, maxSeconds, options, e.message);
      }
      throw e;
    }
    checkDuration(info, maxSeconds, `audio file ${path}`);
    // data in blocks of whole frames, decoded as they come
    const samples = new Float32Array(info.frames);
    const framesPerBlock = Math.max(1, Math.floor((4 << 20) / info.blockAlign));
    const buf = Buffer.alloc(framesPerBlock * info.blockAlign);
    for (let f = 0; f < info.frames; ) {
      checkAborted(options.signal, path);
      const n = Math.min(framesPerBlock, info.frames - f);
      const want = n * info.blockAlign;
      let got = 0;
      while (got < want) {
        const r = await fh.read(buf, got, want - got, info.dataOffset + f * info.blockAlign + got);
        if (r.bytesRead === 0) throw fail(`audio file ${path} was cut short while reading (it changed on disk?)`);
        got += r.bytesRead;
      }
      decodeFrames(buf.subarray(0, want), info, samples, f, n, f);
      f += n;
    }
    return finish(samples, info, size, path);
  } finally {
    await fh?.close();
  }
}
