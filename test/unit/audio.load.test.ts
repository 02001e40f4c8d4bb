// loadAudio: files, limits, bad paths, and the formats that go through ffmpeg.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WhisperPerfError } from '../../lib/errors.js';
import { loadAudio, sniffFormat } from '../../lib/audio/load.js';
import { decodeWav, encodeWav } from '../../lib/audio/wav-codec.js';
import { dB, sine, toneAmplitude } from '../fixtures/wav.js';

const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'wp-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
if (!hasFfmpeg) console.warn('audio.load: ffmpeg is not installed, so the MP3/FLAC/Ogg/M4A tests are skipped (.ci/run installs it)');

async function rejects(p: Promise<unknown>, message: RegExp, code = 'AUDIO_INVALID'): Promise<void> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, 'expected a rejection').toBeInstanceOf(WhisperPerfError);
  expect((e as WhisperPerfError).code).toBe(code);
  expect((e as WhisperPerfError).message).toMatch(message);
}

// 3 s of a 1 kHz tone at 44.1 kHz stereo: the source every format below is made from
const RATE = 44100;
const tone = sine(1000, RATE, 3 * RATE, 0.5);
const wavPath = join(tmp, 'tone.wav');
beforeAll(() => writeFileSync(wavPath, encodeWav([tone, tone], RATE, { bits: 16 })));

describe('loadAudio: files and limits', () => {
  it('loads a WAV file by path and by file: URL, to 16 kHz with the true duration', async () => {
    for (const input of [wavPath, pathToFileURL(wavPath)]) {
      const a = await loadAudio(input);
      expect(a.durationS).toBe(3);
      expect(a.pcm.length).toBe(48000);
      expect(a.source).toEqual({ format: 'wav', codec: 'pcm_s16le', sampleRate: 44100, channels: 2, bitsPerSample: 16, frames: 132300, bytes: 44 + 132300 * 4, path: wavPath, decoder: 'wav' });
      expect(Math.abs(dB(toneAmplitude(a.pcm, 16000, 1000) / 0.5))).toBeLessThan(0.1);
    }
  });

  it('decodes a file larger than one read block the same as the bytes in memory', async () => {
    const n = 48000 * 30; // 30 s of 48 kHz stereo 24-bit: 8.6 MB, three read blocks
    const x = sine(440, 48000, n, 0.3);
    const bytes = encodeWav([x, x], 48000, { bits: 24 });
    const p = join(tmp, 'big.wav');
    writeFileSync(p, bytes);
    const fromFile = await loadAudio(p);
    const fromBytes = await loadAudio(bytes);
    expect(fromFile.durationS).toBe(30);
    expect(fromFile.pcm.length).toBe(480000);
    expect(Buffer.from(fromFile.pcm.buffer).equals(Buffer.from(fromBytes.pcm.buffer))).toBe(true);
  });

  it('rejects a missing file, a directory, an empty file and an unrecognized file, naming them', async () => {
    await rejects(loadAudio(join(tmp, 'nope.wav')), /audio file not found: .*nope\.wav/);
    await rejects(loadAudio(join(tmp, 'nope', 'deeper.wav')), /audio file not found/);
    const dir = join(tmp, 'adir.wav');
    mkdirSync(dir);
    await rejects(loadAudio(dir), /adir\.wav is a directory, not an audio file/);
    const empty = join(tmp, 'empty.mp3');
    writeFileSync(empty, '');
    await rejects(loadAudio(empty), /empty audio file/);
    const text = join(tmp, 'notes.txt');
    writeFileSync(text, 'just some text, not audio\n');
    await rejects(loadAudio(text), /unrecognized audio format/);
    await rejects(loadAudio(''), /empty path/);
    await rejects(loadAudio(new Uint8Array(0)), /empty audio: 0 bytes/);
  });

  it('refuses input over maxBytes and audio over maxSeconds before decoding', async () => {
    await rejects(loadAudio(wavPath, { maxBytes: 1000 }), /is 529244 bytes, over the limit of 1000 bytes \(maxBytes\)/);
    await rejects(loadAudio(readFileSync(wavPath), { maxBytes: 1000 }), /over the limit of 1000 bytes \(maxBytes\)/);
    await rejects(loadAudio(wavPath, { maxSeconds: 2.5 }), /lasts 3\.0 s, over the limit of 2\.5 s of audio \(maxSeconds\)/);
    // a header claiming hours of audio in a streaming size is clamped to what is there, so it loads
    const a = await loadAudio(wavPath, { maxSeconds: 3 });
    expect(a.durationS).toBe(3);
    await rejects(loadAudio(wavPath, { maxBytes: -1 }), /invalid maxBytes/, 'INVALID_ARGUMENT');
  });

  it('names the missing tool when ffmpeg is not installed, or disabled', async () => {
    const mp3 = join(tmp, 'fake.mp3');
    writeFileSync(mp3, Buffer.concat([Buffer.from('ID3\x04\0\0\0\0\0\0'), Buffer.alloc(100)]));
    await rejects(loadAudio(mp3, { ffmpeg: join(tmp, 'no-such-ffmpeg') }), /cannot decode MP3 file .*fake\.mp3.*: ffmpeg is not installed \(looked for ".*no-such-ffmpeg"\)/);
    await rejects(loadAudio(readFileSync(mp3), { ffmpeg: join(tmp, 'no-such-ffmpeg') }), /cannot decode MP3: ffmpeg is not installed/);
    await rejects(loadAudio(mp3, { ffmpeg: false }), /cannot decode MP3 .*ffmpeg is disabled/);
    const old = process.env.WHISPER_PERF_FFMPEG;
    process.env.WHISPER_PERF_FFMPEG = join(tmp, 'also-missing');
    try {
      await rejects(loadAudio(mp3), /ffmpeg is not installed \(looked for ".*also-missing"\)/);
    } finally {
      if (old === undefined) delete process.env.WHISPER_PERF_FFMPEG;
      else process.env.WHISPER_PERF_FFMPEG = old;
    }
  });

  it('honours an aborted signal', async () => {
    await rejects(loadAudio(wavPath, { signal: AbortSignal.abort() }), /loading .*tone\.wav aborted/, 'ABORTED');
    await rejects(loadAudio(readFileSync(wavPath), { signal: AbortSignal.abort() }), /loading audio aborted/, 'ABORTED');
  });

  it('recognizes containers by their first bytes, then by extension', () => {
    const b = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    expect(sniffFormat(b('RIFF\0\0\0\0WAVE'))).toBe('wav');
    expect(sniffFormat(b('ID3\x04'))).toBe('mp3');
    expect(sniffFormat(Uint8Array.from([0xff, 0xfb, 0x90, 0x00]))).toBe('mp3');
    expect(sniffFormat(Uint8Array.from([0xff, 0xf1, 0x50, 0x80]))).toBe('aac');
    expect(sniffFormat(b('fLaC'))).toBe('flac');
    expect(sniffFormat(b('OggS'))).toBe('ogg');
    expect(sniffFormat(b('\0\0\0\x20ftypM4A '))).toBe('m4a');
    expect(sniffFormat(b('FORM\0\0\0\0AIFF'))).toBe('aiff');
    expect(sniffFormat(b('????'), 'x.opus')).toBe('ogg');
    expect(sniffFormat(b('????'), 'x.bin')).toBe('unknown');
  });
});

describe.skipIf(!hasFfmpeg)(`loadAudio: other formats through ffmpeg${hasFfmpeg ? '' : ' (skipped: ffmpeg is not installed)'}`, () => {
  const made: Record<string, string> = {};
  beforeAll(() => {
    const targets: [string, string[]][] = [
      ['mp3', ['-c:a', 'libmp3lame', '-b:a', '128k']],
      ['flac', ['-c:a', 'flac']],
      ['ogg', ['-c:a', 'libvorbis', '-q:a', '4']],
      ['m4a', ['-c:a', 'aac', '-b:a', '128k']],
    ];
    for (const [ext, args] of targets) {
      const out = join(tmp, `tone.${ext}`);
      const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', wavPath, ...args, out]);
      if (r.status === 0) made[ext] = out;
    }
  });

  for (const [ext, codec] of [['mp3', 'mp3'], ['flac', 'flac'], ['ogg', 'vorbis'], ['m4a', 'aac']] as const) {
    it(`${ext.toUpperCase()}: decoded to 16 kHz mono, duration within 1%, tone intact`, async () => {
      const p = made[ext];
      expect(p, `ffmpeg could not encode ${ext} here`).toBeDefined();
      const a = await loadAudio(p);
      expect(a.source.decoder).toBe('ffmpeg');
      expect(a.source.codec).toBe(codec);
      expect(a.source.sampleRate).toBe(44100);
      expect(a.source.channels).toBe(2);
      expect(Math.abs(a.durationS - 3) / 3).toBeLessThan(0.01);
      expect(Math.abs(dB(toneAmplitude(a.pcm.subarray(2000, 40000), 16000, 1000) / 0.5))).toBeLessThan(1);
    });
  }

  it('decodes bytes in memory through ffmpeg too', async () => {
    const a = await loadAudio(readFileSync(made.flac));
    expect(a.source).toMatchObject({ decoder: 'ffmpeg', codec: 'flac', path: null });
    expect(a.pcm.length).toBe(48000);
  });

  it('falls back to ffmpeg for a WAV codec it does not read (Microsoft ADPCM)', async () => {
    const p = join(tmp, 'adpcm.wav');
    expect(spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', wavPath, '-c:a', 'adpcm_ms', p]).status).toBe(0);
    expect(() => decodeWav(readFileSync(p))).toThrow(/unsupported codec: Microsoft ADPCM/);
    const a = await loadAudio(p);
    expect(a.source).toMatchObject({ decoder: 'ffmpeg', codec: 'adpcm_ms' });
    expect(a.warnings[0]).toMatch(/Microsoft ADPCM.*decoded by ffmpeg/);
    expect(Math.abs(a.durationS - 3)).toBeLessThan(0.05);
  });

  it('rejects a corrupt MP3 and a file without audio with AUDIO_INVALID', async () => {
    const bad = join(tmp, 'bad.mp3');
    writeFileSync(bad, Buffer.concat([Buffer.from('ID3\x04\0\0\0\0\0\0'), Buffer.alloc(3000, 0x5a)]));
    await rejects(loadAudio(bad), /ffmpeg could not decode MP3|no samples|no audio stream/);
    const video = join(tmp, 'video.mp4');
    const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=d=1:s=32x32:r=5', '-c:v', 'mpeg4', video], { encoding: 'utf8' });
    expect(r.status, `ffmpeg could not make the video-only file: ${r.stderr}`).toBe(0);
    await rejects(loadAudio(video), /has no audio stream/);
  });

  it('refuses audio over maxSeconds from ffprobe\'s duration, before decoding', async () => {
    await rejects(loadAudio(made.flac, { maxSeconds: 1 }), /lasts 3\.0 s, over the limit of 1 s/);
  });
});
