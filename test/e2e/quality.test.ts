// Quality against speed as a user runs it (a child process on the compiled package): the test
// cache's synthetic tiny.en and a q5_0 copy made by --quantize, over a 10-second espeak-ng file
// with its reference; bad input. q5_0 and not q8_0: on a CPU with AMX, ggml's AMX kernel crashes
// on q8_0 whisper models (the guard refuses it; see the AMX test below).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { writeTestAudio } from '../../lib/audio/speech.js';
import type { BenchRow } from '../../lib/measure/types.js';
import { cliRunner } from '../fixtures/cli.js';

const tiny = inject('tinyModel');
const tmp = mkdtempSync(join(tmpdir(), 'wp-quality-'));
const cache = join(tmp, 'cache');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const hasEspeak = spawnSync('espeak-ng', ['--version']).status === 0;
if (!hasEspeak) console.warn('quality e2e: espeak-ng is not installed, so the speech test is skipped (apt-get install espeak-ng)');
const amx = (() => {
  try {
    return /\bamx_int8\b/.test(spawnSync('cat', ['/proc/cpuinfo'], { encoding: 'utf8' }).stdout);
  } catch {
    return false;
  }
})();

const run = cliRunner({ WHISPER_PERF_CACHE: cache });

const speech10 = join(tmp, 'speech-10s.wav');

describe('quality: bad input (nothing transcribed)', () => {
  it('a file without a reference, and an empty reference: exit 2, one line naming it', async () => {
    const noRef = join(tmp, 'noref.wav');
    writeFileSync(noRef, Buffer.alloc(0));
    const r = await run(['quality', '-m', tiny, '-f', noRef]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`no reference transcript for ${noRef}`);
    const empty = join(tmp, 'empty.wav');
    writeFileSync(empty, Buffer.alloc(0));
    writeFileSync(join(tmp, 'empty.txt'), '\n');
    const e = await run(['quality', '-m', tiny, '-f', empty]);
    expect(e.code).toBe(2);
    expect(e.stderr).toContain('is empty: WER needs reference words');
  });

  it('--quantize of an unknown type: exit 2', async () => {
    const r = await run(['quality', '-m', tiny, '-f', 'x.wav', '--quantize', 'q3_0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('q3_0');
  });

  it.skipIf(!amx)('on a CPU with AMX, --quantize q8_0 is refused before anything runs, naming the reason and --allow-amx-quant', async () => {
    const wav = join(tmp, 'amx.wav');
    writeFileSync(wav, Buffer.alloc(0));
    writeFileSync(join(tmp, 'amx.txt'), 'some words\n');
    const r = await run(['quality', '-m', tiny, '-f', wav, '--quantize', 'q5_0,q8_0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/q8_0 weights refused on this CPU: whisper.cpp reports AMX_INT8 = 1.*--allow-amx-quant/);
    expect(existsSync(join(cache, 'quantized')) ? readdirSync(join(cache, 'quantized')) : []).toEqual([]);
  });
});

describe.skipIf(!hasEspeak)('quality on espeak-ng speech', () => {
  beforeAll(async () => {
    await writeTestAudio(speech10, { kind: 'speech', durationS: 10 });
  });

  it('tiny.en and its q5_0 copy side by side: RTF, WER, memory, size, the frontier; the copy is reused', async () => {
    const args = ['quality', '-m', tiny, '--quantize', 'q5_0', '-f', speech10, '-p', 'speed', '-t', '2', '-r', '1', '--warmup', '0'];
    const r = await run([...args, '-o', 'json']);
    expect(r.stderr).not.toMatch(/configuration failed/);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as BenchRow[];
    expect(rows).toHaveLength(2);
    expect(rows.map((x) => [x.ftype, x.quantize])).toEqual([
      ['f16', undefined],
      ['q5_0', 'q5_0'],
    ]);
    expect(rows[1].base_model).toBe(tiny);
    expect(rows[1].model.startsWith(join(cache, 'quantized'))).toBe(true);
    expect(rows[1].model_bytes!).toBeLessThan(rows[0].model_bytes! * 0.5);
    for (const row of rows) {
      expect(row).toMatchObject({ what: 'quality', file: speech10, preset: 'speed', threads: 2, repetitions: 1, synthetic: true });
      expect(Math.abs(row.audio_s! - 10)).toBeLessThan(0.01);
      expect(row.rtf!.median).toBeGreaterThan(0);
      // synthetic weights: a WER is computed (and expected to be high), but marked as meaningless
      expect(row.wer).toBeGreaterThan(0.5);
      expect(row.ref_words).toBeGreaterThan(15);
      expect(typeof row.pareto).toBe('boolean');
      expect(row.peak_rss_mb).toBeGreaterThan(50);
      expect(row.warnings.some((w) => w.includes('this WER measures nothing'))).toBe(true);
      expect(row.quality_files![0].file).toBe(speech10);
    }
    expect(rows.some((x) => x.pareto)).toBe(true);
    // the second run finds the copy in the cache
    const md = await run(args);
    expect(md.code).toBe(0);
    expect(md.stderr).toContain('quantize q5_0: reusing');
    expect(md.stdout).toContain('Synthetic weights — the WER here measures nothing');
    expect(md.stdout).toContain('★');
    expect(readdirSync(join(cache, 'quantized')).filter((f) => f.endsWith('.bin'))).toHaveLength(1);
    // --quantize of the copy, already quantized: exit 2 before anything runs
    const again = await run(['quality', '-m', rows[1].model, '--quantize', 'q5_1', '-f', speech10]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('is already q5_0; quantized copies are made of f16 or f32 models only');
  });
});
