// The real-time-factor matrix, transcribe and presets as a user runs them (a child process on the
// compiled package), and an abort of a long transcription through the API. Speech comes from
// espeak-ng, generated here; the model is the test cache's synthetic tiny.en.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { generateTestAudio, writeTestAudio, type SpeechCache } from '../../lib/audio/speech.js';
import type { BenchRow } from '../../lib/measure/types.js';
import { loadModel } from '../../lib/model/model.js';
import { cliRunner, expectUsageError } from '../fixtures/cli.js';

const tiny = inject('tinyModel');
const tmp = mkdtempSync(join(tmpdir(), 'wp-rtf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const has = (cmd: string, arg = '--version') => spawnSync(cmd, [arg]).status === 0;
const hasEspeak = has('espeak-ng');
const hasSox = has('sox');
const hasFfprobe = has('ffprobe', '-version');
if (!hasEspeak) console.warn('rtf e2e: espeak-ng is not installed, so the speech tests are skipped (.ci/run installs it: apt-get install espeak-ng sox ffmpeg)');

const run = cliRunner({ WHISPER_PERF_CACHE: join(tmp, 'cache') });

/** The file's duration as sox (or ffprobe) reports it. */
function externalDuration(path: string): number {
  if (hasSox) return Number(spawnSync('sox', ['--i', '-D', path], { encoding: 'utf8' }).stdout.trim());
  return Number(spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path], { encoding: 'utf8' }).stdout.trim());
}

const cache: SpeechCache = new Map();
const speech30 = join(tmp, 'speech-30s.wav');
const speech5 = join(tmp, 'speech-5s.wav');

describe('presets and bad input (no transcription)', () => {
  it('presets -o json: the four presets with every whisper_full parameter', async () => {
    const r = await run(['presets', '-o', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.map((p: { preset: string }) => p.preset)).toEqual(['speed', 'balanced', 'quality', 'realtime']);
    expect(j[2].whisper_full).toMatchObject({ beamSearch: true, beamSize: 5 });
    const md = await run(['presets']);
    expect(md.stdout).toContain('| preset');
  });

  it.each([
    [['rtf', '-m', tiny], 'no audio file'],
    [['rtf', '-m', tiny, '-f', 'x.wav', '-p', 'turbo'], 'turbo'],
    [['rtf', '-m', '/nonexistent/model.bin', '-f', 'x.wav'], '/nonexistent/model.bin'],
    [['rtf', '-f', 'x.wav', '-t', '0'], '0'],
    [['transcribe', '-m', tiny, '/nonexistent/a.wav'], '/nonexistent/a.wav'],
    [['transcribe', '-m', tiny, tmpdir()], 'is a directory'],
    [['transcribe', '-m', tiny, '-p', 'fast', 'x.wav'], 'fast'],
    [['transcribe', '-m', tiny, '-o', 'docx', 'x.wav'], 'docx'],
  ])('%j: one line naming the problem, exit 2', async (args, text) => {
    expectUsageError(await run(args), text);
  });

  it('rtf: files that do not decode are failed cells, the sweep goes on, exit 1', async () => {
    const truncated = join(tmp, 'truncated.wav');
    writeFileSync(truncated, Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1'));
    const dir = join(tmp, 'a-directory.wav');
    mkdirSync(dir, { recursive: true });
    const r = await run(['rtf', '-m', tiny, '-f', `${join(tmp, 'missing.wav')},${dir},${truncated}`, '-t', '1', '-r', '1', '-o', 'json']);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as BenchRow[];
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatchObject({ what: 'rtf', model: tiny, threads: 1, synthetic: true, error: { code: 'AUDIO_INVALID' } });
    expect(rows[0].error!.message).toContain('not found');
    expect(rows[1].error!.message).toContain('directory');
    expect(r.stderr.match(/cell failed/g)).toHaveLength(3);
    // the table still prints, with the errors
    const md = await run(['rtf', '-m', tiny, '-f', join(tmp, 'missing.wav'), '-t', '1', '-r', '1']);
    expect(md.code).toBe(1);
    expect(md.stdout).toContain('AUDIO_INVALID');
    expect(md.stdout).toContain('No cell succeeded');
  });
});

describe.skipIf(!hasEspeak)('speech (espeak-ng)', () => {
  beforeAll(async () => {
    await writeTestAudio(speech30, { kind: 'speech', durationS: 30, cache });
    await writeTestAudio(speech5, { kind: 'speech', durationS: 5, cache });
  });

  it.skipIf(!hasSox && !hasFfprobe)('rtf -o json: audio_s within 1% of sox/ffprobe, with RTF, RTFx and stage timings', async () => {
    const r = await run(['rtf', '-m', tiny, '-f', speech30, '-t', '1', '-r', '1', '--warmup', '0', '-p', 'speed', '-o', 'json']);
    expect(r.stderr).not.toMatch(/cell failed/);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as BenchRow[];
    expect(rows).toHaveLength(1);
    const row = rows[0];
    const d = externalDuration(speech30);
    expect(d).toBeGreaterThan(29);
    expect(Math.abs(row.audio_s! - d) / d).toBeLessThan(0.01);
    expect(row).toMatchObject({ what: 'rtf', model: tiny, file: speech30, threads: 1, preset: 'speed', repetitions: 1, synthetic: true, device: 'cpu' });
    expect(row.process_s!.median).toBeGreaterThan(0);
    expect(row.rtf!.median).toBeCloseTo(row.process_s!.median / row.audio_s!, 9);
    expect(row.rtfx!.median).toBeCloseTo(1 / row.rtf!.median, 6);
    expect(row.encode_ms!.median).toBeGreaterThan(0);
    expect(row.stage_runs!.encode).toBeGreaterThanOrEqual(1);
    expect(row.mel_ms!.median).toBeGreaterThan(0);
    expect(row.decode_ms!.median).toBeGreaterThan(0);
    expect(row.peak_rss_mb).toBeGreaterThan(50);
    expect(row.cpu_pct).toBeGreaterThan(0);
    expect(row.whisper_version).toBe('1.9.1');
    expect(row.warnings.some((w) => w.includes('synthetic weights'))).toBe(true);
  });

  it('transcribe -o json and -o srt: the transcript on stdout, timings on stderr', async () => {
    const r = await run(['transcribe', '-m', tiny, '-t', '1', '-p', 'speed', '-o', 'json', speech5]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ file: speech5, model: tiny, synthetic: true, preset: 'speed', language: 'en' });
    expect(typeof j.text).toBe('string');
    expect(Array.isArray(j.segments)).toBe(true);
    expect(Math.abs(j.audio_s - 5)).toBeLessThan(0.01);
    expect(j.process_ms).toBeGreaterThan(0);
    expect(j.rtf).toBeCloseTo(j.process_ms / 1000 / j.audio_s, 9);
    expect(j.timings.encode.runs).toBeGreaterThanOrEqual(1);
    expect(j.options).toMatchObject({ threads: 1, bestOf: 1, temperatureInc: 0 });
    expect(r.stderr).toMatch(/5\.00 s of audio in [\d.]+ s \(RTF [\d.]+/);
    expect(r.stderr).toContain('synthetic');
    const srt = await run(['transcribe', '-m', tiny, '-t', '1', '-p', 'speed', '-o', 'srt', speech5]);
    expect(srt.code).toBe(0);
    // one cue per segment with text (none when there is none), numbered from 1, with the
    // segment's times and text: the SRT written by the second run, read back against the JSON
    const spoken = (j.segments as { start: number; end: number; text: string }[]).filter((s) => s.text.trim() !== '');
    const cues = srt.stdout.split('\n\n').filter(Boolean);
    expect(cues).toHaveLength(spoken.length);
    const hms = (t: number) => new Date(Math.round(t * 1000)).toISOString().slice(11, 23).replace('.', ',');
    cues.forEach((cue, i) => {
      expect(cue).toBe(`${i + 1}\n${hms(spoken[i].start)} --> ${hms(Math.max(spoken[i].end, spoken[i].start))}\n${spoken[i].text.trim()}`);
    });
    expect(srt.stdout === '' || srt.stdout.endsWith('\n\n')).toBe(true);
  });

  it('an AbortSignal stops a 5-minute transcription in the window it was given in; the model still works', async () => {
    const a = await generateTestAudio({ kind: 'speech', durationS: 300, cache });
    expect(a.pcm.length).toBe(300 * 16000);
    const model = await loadModel(tiny, { useGpu: false });
    try {
      const ac = new AbortController();
      let progressEvents = 0;
      const t0 = performance.now();
      // whisper.cpp first computes the mel of the whole file (not abortable), then reports progress
      // as each 30 s window's encoder starts; it checks the abort flag inside every encoder and
      // decoder graph. Aborting from the first progress event must end the call within that first
      // window, or at worst as the second begins: no more than 2 of the file's 10 windows start.
      const err = await model
        .transcribe(a.pcm, {
          threads: 1,
          bestOf: 1,
          temperatureInc: 0,
          signal: ac.signal,
          onProgress: () => {
            progressEvents++;
            ac.abort();
          },
        })
        .then(() => null, (e: unknown) => e as { code?: string });
      expect(err).not.toBeNull();
      expect(err!.code).toBe('ABORTED');
      expect(progressEvents).toBeGreaterThanOrEqual(1);
      expect(progressEvents).toBeLessThanOrEqual(2);
      console.info(`abort: ${progressEvents} window(s) began; ${(performance.now() - t0).toFixed(0)} ms from the call to the rejection`);
      // the process and the model live on
      const again = await model.transcribe(a.pcm.subarray(0, 16000 * 2).slice(), { threads: 1, bestOf: 1, temperatureInc: 0 });
      expect(again.audioS).toBe(2);
    } finally {
      await model.dispose();
    }
  });
});
