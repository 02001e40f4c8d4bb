/** whisper-perf/audio: decoding and loading audio (WAV, ffmpeg for the rest), resampling, test signals and speech. */
export { loadAudio, decodeWav, encodeWav, resample, resampleTo16k, testSignal } from '../guarded.js';
export { sniffFormat, DEFAULT_MAX_BYTES, DEFAULT_MAX_SECONDS, type LoadAudioOptions, type LoadedAudio, type AudioSource } from '../audio/load.js';
export { parseWavHeader, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, MAX_CHANNELS, type WavInfo, type WavCodec, type DecodedWav } from '../audio/wav.js';
export { type EncodeWavOptions } from '../audio/wav-codec.js';
export type { ResampleOptions } from '../audio/resample.js';
export { decodeWithFfmpeg, findFfmpeg, type FfmpegDecodeOptions, type FfprobeInfo } from '../audio/ffmpeg.js';
export { generateTestAudio, writeTestAudio, synthesize, findEspeak, SPEECH_TEXT, type TestAudioKind, type TestAudioOptions, type TestAudio, type WrittenTestAudio } from '../audio/speech.js';
