// stream and capacity as a user runs them (a child process on the compiled package), and stream()
// through the API at real-time pace. Speech comes from espeak-ng, generated here (20 s); the model
// is the test cache's synthetic tiny.en. Decoding is capped (--max-tokens, --audio-ctx) because
// synthetic weights never end a window by themselves; no timing is asserted beyond sanity bounds.
// One thread per transcription: on a shared, oversubscribed machine two OpenMP threads spin against
// each other and a 5 s window took 7.8 s instead of 0.5 s (measured here).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { loadAudio } from '../../lib/audio/load.js';
import { writeTestAudio } from '../../lib/audio/speech.js';
import { stream } from '../../lib/workloads/stream.js';
import { type StreamStep } from '../../lib/workloads/stream-window.js';
import type { BenchRow } from '../../lib/measure/types.js';
import { loadModel } from '../../lib/model/model.js';
import { cliRunner, expectUsageError } from '../fixtures/cli.js';

const tiny = inject('tinyModel');
const tmp = mkdtempSync(join(tmpdir(), 'wp-stream-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const hasEspeak = spawnSync('espeak-ng', ['--version']).status === 0;
if (!hasEspeak) console.warn('stream/capacity e2e: espeak-ng is not installed, so the speech tests are skipped (apt-get install espeak-ng)');

const speech = join(tmp, 'speech-20s.wav');
/** Fast decoding for synthetic weights: one segment per window, 4 tokens, a 5.12 s encoder context. */
const FAST = ['-p', 'realtime', '--max-tokens', '4', '--audio-ctx', '256', '--warmup', '0'];

const run = cliRunner({ WHISPER_PERF_CACHE: join(tmp, 'cache') });

describe('stream and capacity: bad input (nothing transcribed)', () => {
  it.each([
    [['stream', '-m', tiny, '-f', 'x.wav', '--step', '5000', '--length', '3000'], 'longer than the window length'],
    [['stream', '-m', tiny, '-f', 'x.wav', '--step', '1000', '--keep', '2000'], 'longer than the step'],
    [['stream', '-m', tiny, '-f', join(tmp, 'missing.wav')], 'no such file'],
    [['stream', '-m', join(tmp, 'missing.bin'), '-f', tmpdir()], 'is a directory'],
    [['capacity', '-m', tiny, '-f', 'x.wav', '-n', '0'], '0 is below the minimum 1'],
    [['capacity', '-m', tiny, '-f', join(tmp, 'missing.wav'), '-n', '1'], 'no such file'],
    [['capacity', '-m', tiny, '-f', 'x.wav', '-n', '1', '--memory-limit', 'lots'], '--memory-limit'],
  ])('%j: one line naming the problem, exit 2', async (args, text) => {
    expectUsageError(await run(args), text);
  });

  it('a file that does not decode is a failed cell (stream) or failed cells (capacity), exit 1', async () => {
    const bad = join(tmp, 'truncated.wav');
    writeFileSync(bad, Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1'));
    const s = await run(['stream', '-m', tiny, '-f', bad, '-o', 'json']);
    expect(s.code).toBe(1);
    expect(JSON.parse(s.stdout)).toMatchObject([{ what: 'stream', file: bad, error: { code: 'AUDIO_INVALID' } }]);
    expect(s.stderr).toMatch(/cell failed: stream truncated\.wav/);
    const c = await run(['capacity', '-m', tiny, '-f', bad, '-n', '1,2']);
    expect(c.code).toBe(1);
    expect(c.stdout.match(/AUDIO_INVALID/g)).toHaveLength(2);
    expect(c.stdout).toContain('**0** concurrent streams');
  });

  it('--help names the options', async () => {
    const s = await run(['stream', '--help']);
    expect(s.code).toBe(0);
    for (const o of ['--step', '--length', '--keep', '--realtime', '--threads', '--output']) expect(s.stdout).toContain(o);
    const c = await run(['help', 'capacity']);
    for (const o of ['--streams', '--workers', '--memory-limit', '--threads']) expect(c.stdout).toContain(o);
  });
});

describe.skipIf(!hasEspeak)('on 20 s of espeak-ng speech', () => {
  beforeAll(async () => {
    await writeTestAudio(speech, { kind: 'speech', durationS: 20 });
  });

  it('capacity: more states than the memory allows is a failed cell with INVALID_ARGUMENT; exit 1', async () => {
    const r = await run(['capacity', '-m', tiny, '-f', speech, '-n', '64', '--memory-limit', '1G', '-o', 'json']);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as BenchRow[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ what: 'capacity', streams: 64, capacity_mode: 'states', max_realtime_streams: 0, error: { code: 'INVALID_ARGUMENT' } });
    expect(rows[0].error!.message).toMatch(/64 whisper states need [\d.]+ MB \([\d.]+ MB each\) but only 1073\.7 MB is available \(--memory-limit\); at most \d+ fit/);
    expect(rows[0].memory_needed_mb).toBeGreaterThan(1073.7);
    expect(r.stderr).toMatch(/cell failed: capacity states N=64/);
  });

  it('stream -o json: one row with per-step latency, on-time fraction, verdict and text', async () => {
    const r = await run(['stream', '-m', tiny, '-f', speech, '--step', '5000', '--length', '5000', '--keep', '100', '-t', '1', ...FAST, '-o', 'json']);
    expect(r.stderr).not.toMatch(/cell failed/);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as BenchRow[];
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row).toMatchObject({ what: 'stream', model: tiny, file: speech, synthetic: true, threads: 1, step_ms: 5000, length_ms: 5000, keep_ms: 100, realtime_pace: false, stream_clock: 'virtual', preset: 'realtime' });
    expect(Math.abs(row.audio_s! - 20)).toBeLessThan(0.01);
    // 4 steps of 5 s when every step is on time; a late step makes the next take the newest 5 s and drop the rest
    expect(row.steps).toBeGreaterThanOrEqual(2);
    expect(row.steps).toBeLessThanOrEqual(4);
    if (row.steps! < 4) expect(row.dropped_audio_s!).toBeGreaterThan(0);
    expect(row.latency_ms!.samples).toHaveLength(row.steps!);
    expect(row.latency_p50_ms!).toBeGreaterThan(0);
    expect(row.latency_p50_ms!).toBeLessThanOrEqual(row.latency_p95_ms!);
    expect(row.latency_p95_ms!).toBeLessThanOrEqual(row.latency_max_ms!);
    // the summary figures recomputed here from the per-step latencies: a step is on time when its
    // text came out before the next step's audio was complete (latency ≤ step)
    // (the row rounds the max to 2 decimals and the fraction to 4)
    const lat = row.latency_ms!.samples!;
    expect(Math.abs(row.latency_max_ms! - Math.max(...lat))).toBeLessThanOrEqual(0.005 + 1e-9);
    expect(Math.abs(row.on_time_fraction! - lat.filter((l) => l <= 5000).length / lat.length)).toBeLessThanOrEqual(0.00005 + 1e-12);
    expect(row.keeps_up).toBe(row.on_time_fraction! >= 0.95);
    expect(row.verdict).toMatch(new RegExp(`^(keeps up|falls behind): .* of ${row.steps} steps`));
    expect(typeof row.text).toBe('string');
    expect(row.peak_rss_mb).toBeGreaterThan(50);
    expect(row.warnings.some((w) => w.includes('synthetic weights'))).toBe(true);
  });

  it('capacity -n 1,2 --workers: throughput, latency, RSS and the largest real-time N per mode', async () => {
    const r = await run(['capacity', '-m', tiny, '-f', speech, '-n', '1,2', '-t', '1', '--workers', ...FAST, '-o', 'json']);
    expect(r.stderr).not.toMatch(/cell failed/);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as BenchRow[];
    expect(rows.map((x) => [x.capacity_mode, x.streams])).toEqual([
      ['states', 1],
      ['states', 2],
      ['workers', 1],
      ['workers', 2],
    ]);
    for (const row of rows) {
      expect(row).toMatchObject({ what: 'capacity', model: tiny, threads: 1, synthetic: true, repetitions: 1 });
      expect(row.error).toBeUndefined();
      expect(row.latency_ms!.samples).toHaveLength(row.streams!);
      expect(row.throughput_x!).toBeGreaterThan(0);
      // throughput = N × audio / wall
      // (wall_s is rounded to ms: compare relatively)
      expect(Math.abs(row.throughput_x! - (row.streams! * row.audio_s!) / row.wall_s!) / row.throughput_x!).toBeLessThan(0.01);
      expect(row.realtime_ok).toBe(row.latency_max_ms! < row.audio_s! * 1000);
      expect(row.peak_rss_mb).toBeGreaterThan(50);
      expect(row.stream_memory_mb).toBeGreaterThan(row.capacity_mode === 'workers' ? 70 : 10);
      const mine = rows.filter((x) => x.capacity_mode === row.capacity_mode);
      expect(row.max_realtime_streams).toBe(mine[0].realtime_ok ? (mine[1].realtime_ok ? 2 : 1) : 0);
    }
    // the table names the answer
    const md = await run(['capacity', '-m', tiny, '-f', speech, '-n', '1', '-t', '1', ...FAST]);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/- states: \*\*[01]\*\* concurrent stream/);
  });

  it('stream() at real-time pace through the API: steps come as the audio arrives', async () => {
    const audio = await loadAudio(speech);
    const pcm = audio.pcm.slice(0, 4 * 16000);
    await using model = await loadModel(tiny);
    const run = stream(model, pcm, { stepMs: 2000, lengthMs: 4000, keepMs: 200, realtime: true, threads: 1, preset: 'realtime', maxTokens: 4, audioCtx: 256, warmup: 1 });
    const seen: StreamStep[] = [];
    const t0 = performance.now();
    for await (const s of run) seen.push(s);
    const wall = performance.now() - t0;
    const r = await run.result();
    // 2 s steps of 4 s: captured at 2 s and 4 s, or later steps merged when the first ran late
    expect(seen[0].capturedAtMs).toBe(2000);
    expect(seen[seen.length - 1].capturedAtMs).toBe(4000);
    for (const s of seen) {
      expect(s.startedAtMs).toBeGreaterThanOrEqual(s.capturedAtMs - 1);
      expect(s.latencyMs).toBeCloseTo(s.doneAtMs - s.capturedAtMs, 6);
      expect(s.computeMs).toBeGreaterThan(0);
    }
    // real time: the stream cannot end before its audio has arrived
    expect(wall).toBeGreaterThanOrEqual(3900);
    expect(r).toMatchObject({ realtime: true, clock: 'wall', synthetic: true, stepMs: 2000 });
    expect(r.steps).toEqual(seen);
  });
});
