// `whisper-perf ab` as a user runs it: usage errors, sides that cannot be measured, and one short
// real calibration (2 units per run) whose answer is known: a 50% slowdown injected into every call.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, inject, it } from 'vitest';

import type { AbResult } from '../../lib/ab/ab.js';
import type { Calibration } from '../../lib/ab/calibrate.js';
import { cliRunner } from '../fixtures/cli.js';

const tiny = inject('tinyModel');
const tmp = mkdtempSync(join(tmpdir(), 'wp-ab-'));
const run = cliRunner({ WHISPER_PERF_CACHE: join(tmp, 'cache') });

describe('ab', () => {
  it('usage errors exit 2 with one line', async () => {
    for (const args of [['ab'], ['ab', 'native'], ['ab', 't=1', 't=x'], ['ab', 't=1', 't=2', '--margin', 'wide'], ['ab', 't=1', 't=2', '--stages', 'decoder'], ['ab', 't=1', 't=2', '--runs', '3'], ['ab', 't=1', 't=2', '--race'], ['ab', 't=1', 't=2', '--segments', '0']]) {
      const r = await run([...args, '-m', tiny]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect((await run(['help', 'ab'])).stdout).toContain('--calibrate');
  });

  it('a build that does not exist, or a side that cannot load the model, is exit 2 before any block', async () => {
    const nosuch = await run(['ab', 'native', 'nosuch-build', '-m', tiny]);
    expect(nosuch.code).toBe(2);
    expect(nosuch.stderr).toMatch(/nosuch-build/);
    const small = await run(['ab', 't=1', 't=1,env.WHISPER_PERF_MEMORY_LIMIT=1M', '-m', tiny]);
    expect(small.code).toBe(2);
    expect(small.stderr).toMatch(/side t=1,WHISPER_PERF_MEMORY_LIMIT=1M does not start: .*MEMORY_LIMIT/);
  });

  it('--calibrate with a large injected slowdown: A/A reads about 1, A/A\' about 1.5, each run in two units of fresh processes', async () => {
    // a known answer that holds on a busy machine too: the injected busy-wait is a share of each call
    const r = await run(['ab', '--calibrate', '--runs', '1', '--inject', '50%', '-t', '1', '--min-blocks', '4', '--max-blocks', '4', '--segments', '2', '-m', tiny, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout) as Calibration;
    expect(c.inject).toBe(0.5);
    const [aa] = c.aa.results;
    const [aap] = c.aaPrime.results;
    for (const x of [aa, aap]) {
      expect(x.blocks).toBe(4);
      expect(x.units).toBe(2);
      expect(x.segments).toBe(2);
      // two segments per block: each side's block holds two encodes and eight decode chunks
      for (const rec of x.records) for (const side of Object.values(rec.sides)) expect([side.chunkWallMs.encode.length, side.chunkWallMs.decode.length]).toEqual([2, 8]);
      expect(x.exitCode).toBe({ slower: 1, inconclusive: 3, same: 0, faster: 0 }[x.verdict]);
      // where each stage's spread sits, from the same blocks: decode has 4 chunk pairs a segment, encode 1
      const parts = (st: string) => x.comparisons[0].stages.find((s) => s.stage === st)!.parts!;
      expect(parts('decode')).toMatchObject({ blocks: 4, segments: 2, chunks: 4 });
      expect(parts('decode').chunkPair).toBeGreaterThan(0);
      expect(parts('encode')).toMatchObject({ blocks: 4, segments: 2, chunks: 1, chunkPair: null });
    }
    expect(aa.sides.map((s) => s.inject)).toEqual([0, 0]);
    expect(aap.sides.map((s) => s.inject)).toEqual([0, 0.5]);
    const enc = (x: AbResult) => x.comparisons[0].stages.find((s) => s.stage === 'encode')!.ratio.ratio;
    expect(enc(aa)).toBeGreaterThan(0.8);
    expect(enc(aa)).toBeLessThan(1.25);
    expect(enc(aap)).toBeGreaterThan(1.3);
    expect(c.aaPrime.rate.of).toBe(1);
  }, 600_000);
});
