/**
 * Test audio of any duration: speech synthesized by espeak-ng (with the words actually
 * spoken as its reference transcript), silence, white noise, or two mixed sine tones.
 *
 * Speech is built sentence by sentence: each sentence is synthesized on its own, placed
 * after a short pause, and kept only when it ends before the requested duration; the last
 * one that does not fit is cut to its longest prefix of whole words that fits, and the rest
 * is silence. The text repeats when it runs out. So the transcript is exactly what is said.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { WhisperPerfError, invalidArgument } from '../errors.js';
import { which } from './ffmpeg.js';
import { resample } from './resample.js';
import { decodeWav, encodeWav } from './wav-codec.js';

/**
 * The built-in text: written for this package and dedicated to the public domain (CC0).
 * Plain words, no digits or abbreviations, so what espeak-ng says is what is written.
 */
export const SPEECH_TEXT = `The old ferry leaves the harbor early in the morning, while the water is still calm and grey.
A few passengers stand at the rail and watch the town grow small behind them.
Most of them make the same trip every day, and they hardly look at the view any more.
A child asks her father why the gulls follow the boat, and he tells her that they hope for bread.
On the far side of the bay, the market opens when the first boat arrives.
Farmers lay out baskets of apples, onions and green beans on long wooden tables.
A baker sells warm loaves from the back of a small blue van.
By the middle of the morning the square is loud with voices, and the smell of coffee drifts from the corner cafe.
In the afternoon the wind turns, and clouds gather over the hills to the west.
The fishermen pull their boats higher onto the beach and tie them to iron rings in the sea wall.
Nobody seems worried, because storms in this season pass quickly.
Rain falls hard for a while, then thins to a light mist, and the streets shine under the lamps.
When evening comes, the ferry makes its last crossing of the day.
The captain has worked on this route for many years, and he knows every rock and every current.
He says that the sea is never the same twice, even on the calmest night.
Back in town, the windows light up one by one, and the harbor grows quiet again.
Somewhere a radio plays an old song, and a dog barks once at the passing boat.
Tomorrow the ferry will leave again at first light, and the day will begin the same way.`;

/** Kinds of test audio. */
export type TestAudioKind = 'speech' | 'silence' | 'noise' | 'tones';
export const TEST_AUDIO_KINDS: readonly TestAudioKind[] = ['speech', 'silence', 'noise', 'tones'];

/** Synthesized sentences, reused across calls (one generate call per duration shares them). */
export type SpeechCache = Map<string, Float32Array>;

/** Options of {@link generateTestAudio}. */
export interface TestAudioOptions {
  /** Duration in seconds (exact: the output has round(durationS · sampleRate) samples). */
  durationS: number;
  /** Default 'speech'. */
  kind?: TestAudioKind;
  /** Output rate in Hz (default 16000). */
  sampleRate?: number;
  /** Text to speak (default {@link SPEECH_TEXT}). */
  text?: string;
  /** espeak-ng voice (default en-us). */
  voice?: string;
  /** Speaking rate in words per minute (default 160). */
  wpm?: number;
  /** Seed of the noise generator (default 1). */
  seed?: number;
  /** The two frequencies of `tones`, Hz (default 440 and 1250). */
  tones?: [number, number];
  /** The espeak-ng binary (default: espeak-ng on the PATH). */
  espeakPath?: string;
  /** Sentences already synthesized, to share between durations. */
  cache?: SpeechCache;
}

/** Generated test audio. */
export interface TestAudio {
  kind: TestAudioKind;
  /** Mono samples at `sampleRate`, in [-1, 1]. */
  pcm: Float32Array;
  sampleRate: number;
  durationS: number;
  /** The words spoken, in order (empty for silence, noise and tones). */
  transcript: string;
  words: number;
  /** Seconds from the start to the end of the last word. */
  speechEndS: number;
}

const LEAD_S = 0.25;
const GAP_S = 0.35;

/** The espeak-ng binary, or null when it is not installed. */
export function findEspeak(espeakPath?: string): string | null {
  return which(espeakPath ?? 'espeak-ng');
}

/** Splits text into sentences (keeping their punctuation), whitespace normalized. */
export function sentences(text: string): string[] {
  const flat = text.replace(/\s+/g, ' ').trim();
  const parts = flat.match(/[^.!?]+[.!?]+["')\]]*|[^.!?]+$/g) ?? [];
  return parts.map((s) => s.trim()).filter((s) => /[\p{L}\p{N}]/u.test(s));
}

function trimSilence(x: Float32Array, rate: number): Float32Array {
  const th = 1e-3;
  let a = 0;
  let b = x.length;
  while (a < b && Math.abs(x[a]) < th) a++;
  while (b > a && Math.abs(x[b - 1]) < th) b--;
  const margin = Math.round(0.01 * rate);
  return x.subarray(Math.max(0, a - margin), Math.min(x.length, b + margin));
}

/** Synthesizes one piece of text with espeak-ng → mono samples at `sampleRate`, silence trimmed. */
export async function synthesize(text: string, opts: { sampleRate?: number; voice?: string; wpm?: number; espeakPath?: string } = {}): Promise<Float32Array> {
  const bin = findEspeak(opts.espeakPath);
  if (!bin) {
    throw new WhisperPerfError(
      `cannot synthesize speech: espeak-ng is not installed (looked for ${JSON.stringify(opts.espeakPath ?? 'espeak-ng')}; apt-get install espeak-ng), or use kind silence, noise or tones`,
      'AUDIO_INVALID',
    );
  }
  const rate = opts.sampleRate ?? 16000;
  const args = ['-v', opts.voice ?? 'en-us', '-s', String(opts.wpm ?? 160), '-b', '1', '-z', '--stdin', '--stdout'];
  const { code, out, err } = await new Promise<{ code: number | null; out: Buffer; err: string }>((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.stdin.on('error', () => {});
    child.stdin.end(text.replace(/\s+/g, ' ').trim() + '\n');
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: Buffer.concat(chunks), err }));
  });
  if (code !== 0 || out.length === 0) {
    throw new WhisperPerfError(`espeak-ng failed (exit ${code}): ${err.trim().split('\n').pop() || 'no audio'}`, 'AUDIO_INVALID');
  }
  const { samples, info } = decodeWav(out); // espeak-ng leaves streaming sizes (0x7ffff...) in the header: clamped
  return trimSilence(resample(samples, info.sampleRate, rate), rate);
}

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

/**
 * Generates test audio of `durationS` seconds: speech (espeak-ng; needs it installed),
 * silence, white noise (uniform, peak 0.1) or two mixed sine tones (peak 0.5, 10 ms fades).
 */
export async function generateTestAudio(options: TestAudioOptions): Promise<TestAudio> {
  const kind = options.kind ?? 'speech';
  if (!TEST_AUDIO_KINDS.includes(kind)) throw invalidArgument('kind', kind, TEST_AUDIO_KINDS.join(', '));
  const rate = options.sampleRate ?? 16000;
  if (!Number.isSafeInteger(rate) || rate < 8000 || rate > 192000) throw invalidArgument('sampleRate', rate, 'an integer 8000..192000');
  const d = options.durationS;
  if (typeof d !== 'number' || !(d > 0) || d > 4 * 3600) throw invalidArgument('durationS', d, 'seconds, more than 0 and at most 14400');
  const total = Math.round(d * rate);
  const pcm = new Float32Array(total);
  const base = { kind, pcm, sampleRate: rate, durationS: total / rate, transcript: '', words: 0, speechEndS: 0 };
  if (kind === 'silence') return base;
  if (kind === 'noise') {
    const rnd = xorshift(options.seed ?? 1);
    for (let i = 0; i < total; i++) pcm[i] = (rnd() * 2 - 1) * 0.1;
    return base;
  }
  if (kind === 'tones') {
    const [f1, f2] = options.tones ?? [440, 1250];
    for (const f of [f1, f2]) if (!(f > 0 && f < rate / 2)) throw invalidArgument('tones', f, `frequencies between 0 and ${rate / 2} Hz`);
    const fade = Math.min(Math.round(0.01 * rate), Math.floor(total / 2));
    for (let i = 0; i < total; i++) {
      const t = i / rate;
      const g = fade > 0 ? Math.min(1, i / fade, (total - 1 - i) / fade) : 1;
      pcm[i] = g * 0.25 * (Math.sin(2 * Math.PI * f1 * t) + Math.sin(2 * Math.PI * f2 * t));
    }
    return base;
  }

  const units = sentences(options.text ?? SPEECH_TEXT);
  if (units.length === 0) throw invalidArgument('text', options.text, 'text with at least one word');
  const cache = options.cache ?? new Map<string, Float32Array>();
  const synthOpts = { sampleRate: rate, voice: options.voice, wpm: options.wpm, espeakPath: options.espeakPath };
  const say = async (text: string): Promise<Float32Array> => {
    const key = `${options.voice ?? 'en-us'}|${options.wpm ?? 160}|${rate}|${text}`;
    let a = cache.get(key);
    if (!a) {
      a = await synthesize(text, synthOpts);
      cache.set(key, a);
    }
    return a;
  };
  const spoken: string[] = [];
  let pos = Math.round(LEAD_S * rate);
  let end = 0;
  const gap = Math.round(GAP_S * rate);
  const place = (a: Float32Array, text: string) => {
    pcm.set(a, pos);
    spoken.push(text);
    end = pos + a.length;
    pos = end + gap;
  };
  for (let i = 0; i < units.length * 10_000; i++) {
    const unit = units[i % units.length];
    if (pos >= total) break;
    const a = await say(unit);
    if (pos + a.length <= total) {
      place(a, unit);
      continue;
    }
    // the longest prefix of whole words that still fits
    const words = unit.split(' ');
    let lo = 0;
    let hi = words.length - 1;
    let best: { a: Float32Array; text: string } | null = null;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const text = words.slice(0, mid).join(' ').replace(/[,;:]$/, '');
      const b = await say(text);
      if (pos + b.length <= total) {
        best = { a: b, text };
        lo = mid;
      } else hi = mid - 1;
    }
    if (best) place(best.a, best.text);
    break;
  }
  const transcript = spoken.join(' ');
  return { ...base, transcript, words: transcript.split(/\s+/).filter(Boolean).length, speechEndS: end / rate };
}

/** Where {@link writeTestAudio} wrote. */
export interface WrittenTestAudio extends TestAudio {
  wavPath: string;
  txtPath: string;
}

/**
 * Generates test audio and writes it as a 16-bit mono WAV at `path`, with its reference
 * transcript (the words spoken; empty for non-speech) beside it: the same name ending in `.txt`.
 */
export async function writeTestAudio(path: string, options: TestAudioOptions): Promise<WrittenTestAudio> {
  const a = await generateTestAudio(options);
  const txtPath = path.replace(/\.wav$/i, '') + '.txt';
  mkdirSync(dirname(path), { recursive: true });
  const write = (p: string, data: Uint8Array | string) => {
    const tmp = `${p}.${process.pid}.tmp`;
    writeFileSync(tmp, data);
    renameSync(tmp, p);
  };
  write(path, encodeWav(a.pcm, a.sampleRate, { bits: 16 }));
  write(txtPath, a.transcript ? a.transcript + '\n' : '');
  return { ...a, wavPath: path, txtPath };
}
