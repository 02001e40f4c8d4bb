/**
 * transcribeFile: an audio file (or bytes, or PCM) through a loaded model with a preset, in one
 * call — what `whisper-perf transcribe` runs. The audio is decoded by loadAudio; the preset is
 * merged under the explicit options (resolvePreset); the result is the model's Transcript plus
 * the file, its true duration, a real-time factor on that duration, and the options used.
 */
import { loadAudio, type LoadAudioOptions, type AudioSource } from './audio/load.js';
import { invalidArgument } from './errors.js';
import type { Model, Transcript, TranscribeOptions } from './model/model.js';
import { resolvePreset, type PresetName, type PresetOptions } from './presets.js';

export interface TranscribeFileOptions extends PresetOptions {
  /** options of loadAudio (maxBytes, maxSeconds, ffmpeg) */
  audio?: Omit<LoadAudioOptions, 'signal'>;
}

export interface FileTranscript extends Transcript {
  /** the path given, or null for bytes / PCM */
  file: string | null;
  /** the source's true duration, seconds (rtf below is on it) */
  durationS: number;
  source: AudioSource | null;
  /** decoder warnings (clamped sizes ...) */
  audioWarnings: string[];
  /** ms spent decoding and resampling the audio */
  decodeMs: number;
  preset: PresetName | null;
  /** the options after the preset was merged (callbacks and signal left out) */
  options: Omit<TranscribeOptions, 'onProgress' | 'onSegment' | 'signal'>;
}

/**
 * Transcribes an audio file (path, file: URL or bytes, any format loadAudio reads) or 16 kHz mono
 * PCM with `model`. `preset` fills the options not given. AUDIO_INVALID for audio that does not
 * decode, ABORTED when `signal` fires (during the decode or the transcription).
 */
export async function transcribeFile(model: Model, input: string | URL | Uint8Array | Float32Array, options: TranscribeFileOptions = {}): Promise<FileTranscript> {
  if (typeof options !== 'object' || options === null) throw invalidArgument('options', options, 'an options object');
  const { audio: audioOptions, ...rest } = options;
  const resolved = resolvePreset(rest);
  const t0 = performance.now();
  let pcm: Float32Array;
  let durationS: number;
  let source: AudioSource | null = null;
  let audioWarnings: string[] = [];
  if (input instanceof Float32Array) {
    pcm = input;
    durationS = input.length / 16000;
  } else {
    const a = await loadAudio(input, { ...audioOptions, signal: options.signal });
    pcm = a.pcm;
    durationS = a.durationS;
    source = a.source;
    audioWarnings = a.warnings;
  }
  const decodeMs = performance.now() - t0;
  const t = await model.transcribe(pcm, resolved);
  const { onProgress: _p, onSegment: _s, signal: _g, ...used } = resolved;
  return {
    ...t,
    rtf: t.ms / 1000 / durationS,
    file: typeof input === 'string' ? input : input instanceof URL ? input.href : null,
    durationS,
    source,
    audioWarnings,
    decodeMs,
    preset: options.preset ?? null,
    options: used,
  };
}
