// Surface that had no test: `models quantize` from the command line, and rtfBuilds (an rtf sweep
// run in a child process per addon build) through the package as a user imports it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, inject, it } from 'vitest';

import { cliRunner } from '../fixtures/cli.js';

const tiny = inject('tinyModel');
const tmp = mkdtempSync(join(tmpdir(), 'wp-surface-'));
const run = cliRunner({ WHISPER_PERF_CACHE: join(tmp, 'cache') });

describe('models quantize (CLI)', () => {
  it('quantizes tiny to q8_0 and the output validates as q8_0; an unknown type is exit 2, a missing input says MODEL_NOT_FOUND, nothing written', async () => {
    const out = join(tmp, 'tiny-q8_0.bin');
    const q = await run(['models', 'quantize', tiny, out, 'q8_0', '-o', 'json']);
    expect(q.code, q.stderr).toBe(0);
    const info = await run(['models', 'info', out, '-o', 'json']);
    expect(info.code, info.stderr).toBe(0);
    const i = JSON.parse(info.stdout) as { ftype: string };
    expect(i.ftype).toBe('q8_0');
    const src = JSON.parse((await run(['models', 'info', tiny, '-o', 'json'])).stdout) as { ftype: string };
    expect(src.ftype).toBe('f16');
    const bad = await run(['models', 'quantize', tiny, join(tmp, 'x.bin'), 'q9_9']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/q9_9/);
    const missing = await run(['models', 'quantize', join(tmp, 'nope.bin'), join(tmp, 'y.bin'), 'q8_0']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/model file not found: .*nope\.bin \[MODEL_NOT_FOUND\]/);
    expect((await run(['models', 'info', join(tmp, 'y.bin')])).code).not.toBe(0);
  });
});

describe('rtfBuilds', () => {
  it('runs the rtf sweep in a child process of each build: rows carry the build and an RTF', async () => {
    const gen = await run(['audio', 'gen', '--duration', '2', '--kind', 'tones', '--out-dir', join(tmp, 'audio')]);
    expect(gen.code, gen.stderr).toBe(0);
    const { rtfBuilds, listBuilds } = await import(join(process.cwd(), 'dist', 'public', 'bench.js'));
    const first = (listBuilds() as { name: string }[])[0].name;
    const rows = (await rtfBuilds({ builds: [first], models: [tiny], files: [join(tmp, 'audio', 'tones-2s.wav')], presets: ['speed'], threads: [1], repetitions: 1, warmup: 0 })) as {
      what: string;
      build_name?: string;
      preset: string;
      rtf?: { median: number };
      error?: unknown;
    }[];
    expect(rows.length).toBe(1);
    expect(rows[0]).toMatchObject({ what: 'rtf', build_name: first, preset: 'speed' });
    expect(rows[0].error).toBeUndefined();
    expect(rows[0].rtf!.median).toBeGreaterThan(0);
    // a build that does not exist is refused before any child starts
    await expect(rtfBuilds({ builds: ['no-such-build'], models: [tiny], files: [join(tmp, 'audio', 'tones-2s.wav')] })).rejects.toThrow(/no-such-build/);
  });
});
