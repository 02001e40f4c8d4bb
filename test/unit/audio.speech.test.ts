// Test audio: silence, noise, tones, and espeak-ng speech whose decoded duration agrees with
// sox and ffprobe; and the `whisper-perf audio` command.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadAudio } from '../../lib/audio/load.js';
import { SPEECH_TEXT, generateTestAudio, sentences, writeTestAudio } from '../../lib/audio/speech.js';
import { decodeWav } from '../../lib/audio/wav-codec.js';
import { main } from '../../lib/cli/main.js';
import { dB, toneAmplitude } from '../fixtures/wav.js';

const has = (cmd: string, arg = '--version') => spawnSync(cmd, [arg]).status === 0;
const hasEspeak = has('espeak-ng');
const hasSox = has('sox');
const hasFfprobe = has('ffprobe', '-version');
const tmp = mkdtempSync(join(tmpdir(), 'wp-speech-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
if (!hasEspeak) console.warn('audio.speech: espeak-ng is not installed, so the speech tests are skipped (.ci/run installs it: apt-get install espeak-ng sox ffmpeg)');
else if (!hasSox && !hasFfprobe) console.warn('audio.speech: neither sox nor ffprobe is installed, so the 30-second duration check is skipped (apt-get install sox ffmpeg)');

function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  return main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) }).then((code) => ({ code, stdout, stderr }));
}

const soxDuration = (p: string) => Number(spawnSync('sox', ['--i', '-D', p]).stdout.toString().trim());
const ffprobeDuration = (p: string) =>
  Number(spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=duration', '-of', 'default=nw=1:nk=1', p]).stdout.toString().trim());

describe('generateTestAudio: silence, noise, tones', () => {
  it('has the exact length, and the content of its kind', async () => {
    const s = await generateTestAudio({ kind: 'silence', durationS: 2.5 });
    expect(s.pcm.length).toBe(40000);
    expect(s.pcm.every((v) => v === 0)).toBe(true);
    expect(s.transcript).toBe('');

    const n1 = await generateTestAudio({ kind: 'noise', durationS: 1, seed: 7 });
    const n2 = await generateTestAudio({ kind: 'noise', durationS: 1, seed: 7 });
    const n3 = await generateTestAudio({ kind: 'noise', durationS: 1, seed: 8 });
    expect(n1.pcm).toEqual(n2.pcm);
    expect(n1.pcm).not.toEqual(n3.pcm);
    const rms = Math.sqrt(n1.pcm.reduce((a, v) => a + v * v, 0) / n1.pcm.length);
    expect(rms).toBeGreaterThan(0.05);
    expect(rms).toBeLessThan(0.065); // uniform in ±0.1: 0.1/√3

    const t = await generateTestAudio({ kind: 'tones', durationS: 1, sampleRate: 22050 });
    expect(t.pcm.length).toBe(22050);
    expect(Math.abs(dB(toneAmplitude(t.pcm, 22050, 440) / 0.25))).toBeLessThan(0.5);
    expect(Math.abs(dB(toneAmplitude(t.pcm, 22050, 1250) / 0.25))).toBeLessThan(0.5);
    expect(dB(toneAmplitude(t.pcm, 22050, 3000) / 0.25)).toBeLessThan(-60);
  });

  it('names espeak-ng when it is missing', async () => {
    await expect(generateTestAudio({ durationS: 1, espeakPath: join(tmp, 'no-espeak') })).rejects.toThrow(/cannot synthesize speech: espeak-ng is not installed/);
  });

  it('refuses bad durations and kinds', async () => {
    await expect(generateTestAudio({ durationS: 0, kind: 'silence' })).rejects.toThrow(/invalid durationS/);
    await expect(generateTestAudio({ durationS: 1, kind: 'chirp' as 'noise' })).rejects.toThrow(/invalid kind/);
  });

  it('splits text into sentences', () => {
    expect(sentences('One. Two, three!  Four?\nFive')).toEqual(['One.', 'Two, three!', 'Four?', 'Five']);
    expect(sentences(SPEECH_TEXT).length).toBeGreaterThan(10);
    expect(/\d/.test(SPEECH_TEXT)).toBe(false);
  });
});

describe.skipIf(!hasEspeak)(`espeak-ng speech${hasEspeak ? '' : ' (skipped: espeak-ng is not installed)'}`, () => {
  it.skipIf(!hasSox && !hasFfprobe)('a 30-second file: decoded duration within 1% of sox and ffprobe, transcript = the words spoken', async () => {
    const p = join(tmp, 'speech-30s.wav');
    const w = await writeTestAudio(p, { durationS: 30 });
    const a = await loadAudio(p);
    expect(a.durationS).toBe(30);
    expect(a.source).toMatchObject({ codec: 'pcm_s16le', sampleRate: 16000, channels: 1 });
    if (hasSox) expect(Math.abs(a.durationS - soxDuration(p)) / a.durationS).toBeLessThan(0.01);
    if (hasFfprobe) expect(Math.abs(a.durationS - ffprobeDuration(p)) / a.durationS).toBeLessThan(0.01);

    const txt = readFileSync(w.txtPath, 'utf8').trim();
    expect(txt).toBe(w.transcript);
    expect(w.words).toBeGreaterThan(50);
    expect(SPEECH_TEXT.replace(/\s+/g, ' ').startsWith(w.transcript.split(' ').slice(0, 20).join(' '))).toBe(true);
    // speech fills the file up to its end (within a sentence's length) and is not silent
    expect(w.speechEndS).toBeGreaterThan(20);
    expect(w.speechEndS).toBeLessThanOrEqual(30);
    const loud = a.pcm.subarray(0, Math.floor(w.speechEndS * 16000));
    expect(Math.sqrt(loud.reduce((s, v) => s + v * v, 0) / loud.length)).toBeGreaterThan(0.02);
    expect(a.pcm.subarray(Math.ceil(w.speechEndS * 16000) + 1).every((v) => v === 0)).toBe(true);
  });

  it.skipIf(!hasFfprobe)('espeak-ng\'s own streaming WAV (sizes left at 0x7ffff...): decoded duration within 1% of ffprobe', () => {
    const p = join(tmp, 'raw.wav');
    const r = spawnSync('espeak-ng', ['-v', 'en-us', '-w', p, 'The ferry leaves the harbor early in the morning.']);
    expect(r.status).toBe(0);
    const raw = spawnSync('espeak-ng', ['-v', 'en-us', '--stdout', 'The ferry leaves the harbor early in the morning.']).stdout;
    for (const bytes of [readFileSync(p), raw]) {
      const d = decodeWav(bytes);
      writeFileSync(join(tmp, 'probe.wav'), bytes);
      const ref = ffprobeDuration(join(tmp, 'probe.wav'));
      expect(Math.abs(d.info.durationS - ref) / ref).toBeLessThan(0.01);
    }
  });

  it('a short duration keeps only the words that fit, and a given text is used', async () => {
    const a = await generateTestAudio({ durationS: 1.5, text: 'Alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima.' });
    expect(a.pcm.length).toBe(24000);
    expect(a.words).toBeGreaterThan(0);
    expect(a.words).toBeLessThan(12);
    expect('alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima'.startsWith(a.transcript.toLowerCase())).toBe(true);
    expect(a.speechEndS).toBeLessThanOrEqual(1.5);
  });
});

describe('whisper-perf audio', () => {
  it('gen writes one WAV and one transcript per kind and duration, and prints them', async () => {
    const dir = join(tmp, 'gen');
    const r = await cli(['audio', 'gen', '--duration', '2,3', '--kind', 'tones,silence', '--out-dir', dir, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { file: string; kind: string; duration_s: number; transcript: string }[];
    expect(rows.map((x) => [x.kind, x.duration_s])).toEqual([['tones', 2], ['tones', 3], ['silence', 2], ['silence', 3]]);
    for (const row of rows) {
      expect(existsSync(row.transcript)).toBe(true);
      const a = decodeWav(readFileSync(row.file));
      expect(a.info).toMatchObject({ codec: 'pcm_s16le', channels: 1, sampleRate: 16000, durationS: row.duration_s });
    }
    expect(r.stderr).toMatch(/wrote .*tones-2s\.wav/);
  });

  it.skipIf(!hasEspeak)('gen speech with --text and --rate', async () => {
    const dir = join(tmp, 'gen2');
    const text = join(tmp, 'text.txt');
    writeFileSync(text, 'The cat sat on the mat. The dog sat on the log.');
    const r = await cli(['audio', 'gen', '-d', '5', '--text', text, '--rate', '22050', '--out-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| file \| kind \|/);
    expect(readFileSync(join(dir, 'speech-5s.txt'), 'utf8')).toMatch(/^The cat sat on the mat\./);
    expect(decodeWav(readFileSync(join(dir, 'speech-5s.wav'))).info).toMatchObject({ sampleRate: 22050, durationS: 5 });
  });

  it('info prints each file, and a row with the error for a bad one (exit 1)', async () => {
    const good = join(tmp, 'gen', 'tones-2s.wav');
    const r = await cli(['audio', 'info', good, join(tmp, 'missing.wav'), '-o', 'json']);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as { duration_s: number | null; error: string | null }[];
    expect(rows[0]).toMatchObject({ duration_s: 2, samples_16k: 32000, error: null });
    expect(rows[1].error).toMatch(/AUDIO_INVALID: audio file not found/);
    expect(r.stderr).toMatch(/missing\.wav: audio file not found/);
  });

  it('usage errors exit 2; help lists the command', async () => {
    expect((await cli(['audio', 'gen'])).code).toBe(2);
    expect((await cli(['audio', 'gen', '-d', '0'])).code).toBe(2);
    expect((await cli(['audio', 'gen', '-d', '1', '--kind', 'chirp'])).code).toBe(2);
    expect((await cli(['audio', 'gen', '-d', '1', '--text', join(tmp, 'none.txt')])).code).toBe(2);
    expect((await cli(['audio', 'frobnicate'])).code).toBe(2);
    expect((await cli(['audio', 'info'])).code).toBe(2);
    expect((await cli(['help', 'audio'])).stdout).toMatch(/audio gen --duration LIST/);
    expect((await cli(['--help'])).stdout).toMatch(/\n {2}audio {6}gen \| info/);
  });
});
