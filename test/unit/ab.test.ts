import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { AB_DESIGN, abVerdict, compareAb, detectableSlowdown, pairUnits, raceLosers, spreadParts, stageLogRatio, stagePairLogs, type AbComparison, type BlockRecord } from '../../lib/ab/verdicts.js';
import { calibrate, ownTimingRatio, readSaved, summarizeKind, wilson } from '../../lib/ab/calibrate.js';
import { AB_SEGMENT, AB_SEGMENT_COUNT, abRound, accumulateChunks, CHUNKS, LOOP_STAGES, sideOrder, stageRuns, type ChunkResult, type ChunkSpec, type LoopStage, type SideBlock } from '../../lib/ab/chunks.js';
import { unitsRatio, yuenRatio, type BlockRatio } from '../../lib/measure/ratios.js';
import { abMarkdown, calibrationMarkdown, parseSide, spreadText } from '../../lib/cli/ab.js';
import { stageDecided, type AbResult } from '../../lib/ab/ab.js';
import { sideTunables } from '../../lib/ab/malloc.js';
import { copiesFolder } from '../../lib/ab/copies.js';

const r = (ratio: number, low: number, high: number, n = 6): BlockRatio => ({ ratio, low, high, n, blocks: 2 * n, sdLog: 0, method: 'block-t' });

describe('ab: verdicts against the margin', () => {
  it('slower only when the whole interval is above 1 + margin; same only when it lies within ±margin', () => {
    expect(abVerdict(r(1.06, 1.031, 1.09), 0.03)).toBe('slower');
    expect(abVerdict(r(1.05, 1.029, 1.07), 0.03)).toBe('inconclusive');
    expect(abVerdict(r(1.0, 0.975, 1.025), 0.03)).toBe('same');
    expect(abVerdict(r(1.0, 0.965, 1.035), 0.03)).toBe('inconclusive');
    expect(abVerdict(r(0.9, 0.88, 0.969), 0.03)).toBe('faster');
    // one unit has no interval
    expect(abVerdict(r(2, 2, 2, 1), 0.03)).toBe('inconclusive');
  });

  it('the smallest detectable slowdown is the margin widened by the interval half-width', () => {
    expect(detectableSlowdown(r(1, 0.98, 1.02), 0.03)).toBeCloseTo(1.03 * Math.sqrt(1.02 / 0.98) - 1, 12);
    expect(Number.isNaN(detectableSlowdown(r(1, 1, 1, 1), 0.03))).toBe(true);
  });

  it("Wilson's interval: 0 of 20 is [0, 16.1%], 19 of 20 is [76.4%, 99.1%]", () => {
    const zero = wilson(0, 20);
    expect(zero.rate).toBe(0);
    expect(zero.low).toBe(0);
    expect(zero.high).toBeCloseTo(0.1611, 3);
    const nineteen = wilson(19, 20);
    expect(nineteen.low).toBeCloseTo(0.7639, 3);
    expect(nineteen.high).toBeCloseTo(0.9911, 3);
  });
});

describe('ab: the interleaved workload', () => {
  it('rotates start positions so that each unit of n blocks starts every side in every position once', () => {
    const sides = ['a', 'b', 'c'];
    for (let u = 0; u < 4; u++) {
      const firsts = [0, 1, 2].map((i) => sideOrder(u * 3 + i, sides)[0]);
      expect(new Set(firsts).size).toBe(3);
    }
    expect(sideOrder(0, ['a', 'b'])).toEqual(['a', 'b']);
    expect(sideOrder(1, ['a', 'b'])).toEqual(['b', 'a']);
  });

  it("a round holds whisper-bench's four stages, and a stage's figure is the median over its chunks", () => {
    const totals = CHUNKS.reduce((a, c) => {
      const n = stageRuns(c);
      for (const s of LOOP_STAGES) a[s] += n[s];
      return a;
    }, { encode: 0, decode: 0, batchd: 0, prompt: 0 });
    expect(totals).toEqual({ encode: 1, decode: 128, batchd: 80, prompt: 2048 });
    // one slow decode chunk out of four does not move the median
    const parts = CHUNKS.map((spec, i) => {
      const slow = spec.nDecode > 0 && i === 1 ? 10 : 1;
      return { spec, r: { wallPerRunMs: { encode: 500, decode: 3 * slow, batchd: 2, prompt: 1 }, perRunMs: { encode: 500, decode: 3, batchd: 2, prompt: 1 }, measuredCpuMs: 10 } };
    });
    const b = accumulateChunks(parts);
    expect(b.chunkMedianMs.decode).toBe(3);
    expect(b.wallPerRunMs.decode).toBeCloseTo((3 * 32 * 3 + 30 * 32) / 128, 9);
    expect(b.measuredCpuMs).toBe(10 * CHUNKS.length);
  });

  const totalsOf = (chunks: readonly ChunkSpec[]) =>
    chunks.reduce(
      (a, c) => {
        const n = stageRuns(c);
        for (const s of LOOP_STAGES) a[s] += n[s];
        return a;
      },
      { encode: 0, decode: 0, batchd: 0, prompt: 0 },
    );

  it('a block is two segments by default', () => {
    expect(AB_SEGMENT_COUNT).toBe(2);
  });

  it("ab's round of all four stages in 4 segments: together 4 encodes, 16 × 128 decodes, 4 prompts, 4 × 16 batches", () => {
    const round = abRound(LOOP_STAGES, 4);
    expect(round.segments).toHaveLength(4);
    const chunks = round.segments.flat();
    expect(totalsOf(chunks)).toEqual({ encode: 4, decode: 16 * 128, batchd: 4 * 16 * 5, prompt: 4 * 256 });
    expect(chunks).toHaveLength(28);
    // every segment measures every stage, so each loaded model counts towards each stage
    for (const seg of round.segments) for (const st of LOOP_STAGES) expect(seg.some((c) => stageRuns(c)[st] > 0)).toBe(true);
    // every chunk is one stage
    for (const c of chunks) expect(LOOP_STAGES.filter((st) => stageRuns(c)[st] > 0)).toHaveLength(1);
    // the heat-up warms each stage's buffers: an encode, a prompt and 16 decodes, measured and not kept
    expect(round.heat).toMatchObject({ heat: 0, heatDecodes: 0, nEncode: 1, nPrompt: 1, nDecode: 16, nBatch: 0 });
  });

  it("a round runs the gated stages' chunks only, in the segment's order, and heats only what they use", () => {
    const cases: [LoopStage[], Record<LoopStage, number>, Partial<ChunkSpec>][] = [
      [['encode', 'decode'], { encode: 1, decode: 512, batchd: 0, prompt: 0 }, { nEncode: 1, nPrompt: 0, nDecode: 16 }],
      [['decode'], { encode: 0, decode: 512, batchd: 0, prompt: 0 }, { nEncode: 0, nPrompt: 0, nDecode: 16 }],
      [['batchd'], { encode: 0, decode: 0, batchd: 80, prompt: 0 }, { nEncode: 0, nPrompt: 1, nDecode: 16 }],
      [['prompt', 'encode'], { encode: 1, decode: 0, batchd: 0, prompt: 256 }, { nEncode: 1, nPrompt: 1, nDecode: 16 }],
    ];
    for (const [stages, perSegment, heat] of cases) {
      const round = abRound(stages, 3);
      expect(round.segments, stages.join()).toHaveLength(3);
      for (const seg of round.segments) {
        expect(totalsOf(seg), stages.join()).toEqual(perSegment);
        // AB_SEGMENT's chunks, in its order, less the others
        expect(seg).toEqual(AB_SEGMENT.filter((c) => seg.includes(c)));
      }
      expect(round.heat, stages.join()).toMatchObject(heat);
    }
  });

  it("a block's stage ratio is the trimmed mean over chunk pairs: a constant ratio exactly, a burst in one pair ignored", () => {
    const block = (a: number[], b: number[]) => ({
      order: ['a', 'b'],
      sides: Object.fromEntries(
        (
          [
            ['a', a],
            ['b', b],
          ] as const
        ).map(([n, xs]) => [n, { chunkWallMs: { encode: xs, decode: [], batchd: [], prompt: [] } } as unknown as SideBlock & { loadMs: number }]),
      ),
    });
    const base = [500, 520, 480, 510, 530, 470, 505, 495, 515, 485, 500, 490];
    const f = stageLogRatio('encode');
    // the host drifts from pair to pair; the side is 5% slower in every pair
    expect(Math.exp(f(block(base.map((x) => x * 1.05), base), 'a', 'b'))).toBeCloseTo(1.05, 12);
    // one pair hit by a burst (3×) moves a plain mean by ~10%; the 20% trimmed mean not at all
    const burst = base.map((x, i) => x * (i === 4 ? 3 : 1));
    expect(Math.exp(f(block(burst, base), 'a', 'b'))).toBeCloseTo(1, 12);
    // a block's 4 encode pairs, one hit by a burst: the quarter trimmed sets it aside
    expect(Math.exp(f(block([485, 819, 490, 483], [481, 485, 488, 486]), 'a', 'b'))).toBeCloseTo(Math.exp((Math.log(485 / 481) + Math.log(490 / 488)) / 2), 12);
    // no chunks of the stage: no figure
    expect(Number.isNaN(stageLogRatio('decode')(block(base, base), 'a', 'b'))).toBe(true);
  });

  it("encode's pairs include each segment's heat-up encode, first in its segment; decode's do not; a record without heat-ups has its chunk pairs only", () => {
    const heat = (encode: number): ChunkResult => ({ wallPerRunMs: { encode, decode: 4, batchd: 0, prompt: 0 }, perRunMs: { encode, decode: 4, batchd: 0, prompt: 0 }, measuredCpuMs: 0 });
    const side = (encode: number[], decode: number[]) => ({ chunkWallMs: { encode, decode, batchd: [], prompt: [] } }) as unknown as SideBlock & { loadMs: number };
    const rec: BlockRecord = {
      order: ['a', 'b'],
      sides: { a: side([510, 520, 530, 540], [2, 2, 2, 2, 2, 2, 2, 2]), b: side([500, 500, 500, 500], [2, 2, 2, 2, 2, 2, 2, 1]) },
      heat: { a: [600, 700, 800, 900].map(heat), b: [600, 600, 600, 600].map(heat) },
    };
    const L = Math.log;
    expect(stagePairLogs(rec, 'a', 'b', 'encode')).toEqual([L(1), L(510 / 500), L(700 / 600), L(520 / 500), L(800 / 600), L(530 / 500), L(900 / 600), L(540 / 500)]);
    expect(stagePairLogs(rec, 'a', 'b', 'decode')).toEqual([0, 0, 0, 0, 0, 0, 0, L(2)]);
    // 8 encode pairs: the quarter's trim sets 2 aside at each end, so the two heat-ups hit hardest go
    const sorted = stagePairLogs(rec, 'a', 'b', 'encode').sort((x, y) => x - y);
    expect(stageLogRatio('encode')(rec, 'a', 'b')).toBeCloseTo((sorted[2] + sorted[3] + sorted[4] + sorted[5]) / 4, 12);
    const { heat: _h, ...cold } = rec;
    expect(stagePairLogs(cold, 'a', 'b', 'encode')).toEqual([L(510 / 500), L(520 / 500), L(530 / 500), L(540 / 500)]);
    // heat-ups without an encode (encode not gated), or not one a segment: not pairs
    expect(stagePairLogs({ ...rec, heat: { a: [0, 0, 0, 0].map(heat), b: [0, 0, 0, 0].map(heat) } }, 'a', 'b', 'encode')).toHaveLength(4);
    expect(stagePairLogs({ ...rec, heat: { a: [600, 700, 800].map(heat), b: [600, 600, 600].map(heat) } }, 'a', 'b', 'encode')).toHaveLength(4);
    // spreadParts reads the same pairs: 2 a segment, so chunk and model parts separate
    expect(spreadParts([rec, { ...rec, order: ['b', 'a'] }], 'a', 'b', 'encode', 4)?.chunks).toBe(2);
  });

  it('compareAb: every block of a whole unit is a replicate; a side 10% slower on encode in every block is slower, the rest same', () => {
    const side = (encode: number, decode: number): SideBlock & { loadMs: number } => ({
      runs: { encode: 1, decode: 128, batchd: 80, prompt: 2048 },
      wallPerRunMs: { encode, decode, batchd: 2, prompt: 1 },
      chunkMedianMs: { encode, decode, batchd: 2, prompt: 1 },
      chunkWallMs: { encode: [encode], decode: [decode], batchd: [2], prompt: [1] },
      perRunMs: { encode, decode, batchd: 2, prompt: 1 },
      wallTotalMs: { encode, decode: decode * 128, batchd: 160, prompt: 2048 },
      measuredCpuMs: 1000,
      wallMs: 1000,
      loadMs: 100,
    });
    // each block's processes draw a speed of their own (±4%), shared by a block's sides
    const drift = [1, 1.04, 0.97, 1.02, 0.99, 1.03, 0.96, 1.01, 1.0, 0.98, 1.05, 0.995, 1.0];
    const blocks = drift.map((d, i) => ({ order: i % 2 ? ['b', 'a'] : ['a', 'b'], sides: { a: side(500 * d, 3 * d), b: side(550 * d * (1 + (i % 2 ? 0.005 : -0.005)), 3 * d * (1 + (i % 2 ? 0.004 : -0.004))) } }));
    const [c] = compareAb(blocks, ['a', 'b'], 0.03, ['encode', 'decode']);
    expect(c.side).toBe('b');
    const enc = c.stages.find((s) => s.stage === 'encode')!;
    expect(enc.ratio.n).toBe(12); // 13 blocks: the trailing half unit is left out
    expect(enc.ratio.ratio).toBeCloseTo(1.1, 2);
    expect(enc.verdict).toBe('slower');
    const dec = c.stages.find((s) => s.stage === 'decode')!;
    expect(dec.verdict).toBe('same');
    expect(c.stages.find((s) => s.stage === 'prompt')!.gated).toBe(false);
    expect(c.verdict).toBe('slower');
    // a stage the blocks did not measure has no row (a round of the gated stages only)
    const only = blocks.map((b) => ({ ...b, sides: Object.fromEntries(Object.entries(b.sides).map(([n, x]) => [n, { ...x, chunkWallMs: { ...x.chunkWallMs, batchd: [], prompt: [] } }])) }));
    const [d] = compareAb(only, ['a', 'b'], 0.03, ['encode', 'decode']);
    expect(d.stages.map((s) => s.stage)).toEqual(['load', 'encode', 'decode']);
    expect(d.verdict).toBe('slower');
  });

  it('a gated stage stops the run when slower or faster, or same from an interval narrow enough to flag the detect goal', () => {
    const at = (ratio: BlockRatio) => ({ verdict: abVerdict(ratio, 0.03), detectable: detectableSlowdown(ratio, 0.03) });
    expect(stageDecided(at(r(1.06, 1.031, 1.09)), 0.04)).toBe(true);
    expect(stageDecided(at(r(0.9, 0.88, 0.969)), 0.04)).toBe(true);
    // same, ±1.8%: it could have flagged 5.1% only
    const wide = at(r(1, 0.982, 1.018));
    expect(wide.verdict).toBe('same');
    expect(wide.detectable).toBeCloseTo(0.0486, 3);
    expect(stageDecided(wide, 0.04)).toBe(false);
    expect(stageDecided(wide, 0.05)).toBe(true);
    // same, ±0.8%: 3.8%
    expect(stageDecided(at(r(1, 0.992, 1.008)), 0.04)).toBe(true);
    expect(stageDecided(at(r(1.02, 0.99, 1.05)), 1)).toBe(false);
  });
});

describe('ab: racing', () => {
  const side = (encode: number): SideBlock & { loadMs: number } => ({
    runs: { encode: 1, decode: 128, batchd: 80, prompt: 2048 },
    wallPerRunMs: { encode, decode: 3, batchd: 2, prompt: 1 },
    chunkMedianMs: { encode, decode: 3, batchd: 2, prompt: 1 },
    chunkWallMs: { encode: [encode], decode: [3], batchd: [2], prompt: [1] },
    perRunMs: { encode, decode: 3, batchd: 2, prompt: 1 },
    wallTotalMs: { encode, decode: 384, batchd: 160, prompt: 2048 },
    measuredCpuMs: 1000,
    wallMs: 1000,
    loadMs: 100,
  });
  const drift = (i: number) => 1 + 0.02 * Math.sin(i * 1.7);
  // 6 blocks of three sides (2 units), then c is stopped and 4 blocks of two sides (2 units)
  const blocks = [
    ...Array.from({ length: 6 }, (_, i) => ({ order: ['a', 'b', 'c'], sides: { a: side(500 * drift(i)), b: side(502 * drift(i)), c: side(600 * drift(i)) } })),
    ...Array.from({ length: 4 }, (_, i) => ({ order: ['a', 'b'], sides: { a: side(500 * drift(i + 6)), b: side(502 * drift(i + 6)) } })),
  ];

  it('units follow the segments: 3-side units while three ran, 2-side units after; only whole units count', () => {
    const fig = stageLogRatio('encode');
    expect(pairUnits(blocks, 'b', 'a', fig)).toMatchObject({ blocks: 10 });
    expect(pairUnits(blocks, 'b', 'a', fig).logs).toHaveLength(10);
    expect(pairUnits(blocks, 'c', 'a', fig).logs).toHaveLength(6);
    expect(pairUnits(blocks, 'c', 'a', fig).blocks).toBe(6);
    expect(pairUnits(blocks, 'b', 'a', fig).units).toBe(4);
    expect(pairUnits(blocks, 'c', 'a', fig).units).toBe(2);
    // a trailing block that does not complete its unit is left out
    const extra = { order: ['a', 'b'], sides: { a: side(500), b: side(900) } };
    expect(pairUnits([...blocks, extra], 'b', 'a', fig).logs).toHaveLength(10);
  });

  it('a side 20% slower than another is a loser; the baseline never is', () => {
    const losers = raceLosers(blocks.slice(0, 6), ['a', 'b', 'c'], 'a', 0.03, ['encode']);
    expect(losers.map((l) => [l.side, l.stage])).toEqual([['c', 'encode']]);
    expect(losers[0].ratio.ratio).toBeCloseTo(1.2, 2);
    // the baseline slower than the others is kept running
    expect(raceLosers(blocks.slice(0, 6), ['c', 'a', 'b'], 'c', 0.03, ['encode'])).toEqual([]);
  });

  it('compareAb over segments: b against a on all 10 blocks, c on its 6', () => {
    const [b, c] = compareAb(blocks, ['a', 'b', 'c'], 0.03, ['encode']);
    expect(b.stages.find((s) => s.stage === 'encode')!.ratio).toMatchObject({ n: 10, blocks: 10 });
    expect(c.stages.find((s) => s.stage === 'encode')!.ratio).toMatchObject({ n: 6, blocks: 6 });
    expect([b.units, c.units]).toEqual([4, 2]);
    expect(c.verdict).toBe('slower');
  });
});

describe('ab: where the spread sits', () => {
  // blocks drawn from a known nested model of ln(b/a): a process pair's part, each segment's model
  // pair, each chunk pair's own noise (normal, from a seeded generator of the test's own)
  function draw(B: number, S: number, K: number, sd: { p: number; m: number; c: number }, seed = 7): BlockRecord[] {
    let x = seed;
    const u = () => ((x = (x * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
    const normal = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
    const side = (decode: number[], encode: number[]) => ({ chunkWallMs: { encode, decode, batchd: [], prompt: [] } }) as unknown as SideBlock & { loadMs: number };
    return Array.from({ length: B }, (_, i) => {
      const p = sd.p * normal();
      const dec: number[] = [];
      const enc: number[] = [];
      for (let g = 0; g < S; g++) {
        const m = sd.m * normal();
        for (let k = 0; k < K; k++) dec.push(3 * Math.exp(p + m + sd.c * normal()));
        enc.push(500 * Math.exp(p + m + sd.c * normal()));
      }
      return { order: i % 2 ? ['b', 'a'] : ['a', 'b'], sides: { a: side(Array(S * K).fill(3), Array(S).fill(500)), b: side(dec, enc) } };
    });
  }

  it('recovers the parts a known nested spread was drawn with: chunk, model and process pair, and the block', () => {
    const sd = { p: 0.017, m: 0.014, c: 0.046 };
    const got = spreadParts(draw(600, 4, 4, sd), 'b', 'a', 'decode', 4)!;
    expect(got).toMatchObject({ blocks: 600, segments: 4, chunks: 4 });
    expect(got.chunkPair!).toBeGreaterThan(sd.c * 0.95);
    expect(got.chunkPair!).toBeLessThan(sd.c * 1.05);
    expect(got.modelPair!).toBeGreaterThan(sd.m * 0.8);
    expect(got.modelPair!).toBeLessThan(sd.m * 1.2);
    expect(got.processPair).toBeGreaterThan(sd.p * 0.85);
    expect(got.processPair).toBeLessThan(sd.p * 1.15);
    // a block's mean carries the process part whole, the model part over 4 and the chunks over 16
    const block = Math.sqrt(sd.p ** 2 + sd.m ** 2 / 4 + sd.c ** 2 / 16);
    expect(got.block).toBeGreaterThan(block * 0.9);
    expect(got.block).toBeLessThan(block * 1.1);
    // a spread that lives in the models only: no process part is invented
    const models = spreadParts(draw(600, 4, 4, { p: 0, m: 0.03, c: 0.01 }), 'b', 'a', 'decode', 4)!;
    expect(models.processPair).toBeLessThan(0.006);
    expect(models.modelPair!).toBeGreaterThan(0.027);
  });

  it('one chunk per segment joins chunk and model; one segment per block joins model and process; an unbalanced record has no parts', () => {
    const enc = spreadParts(draw(400, 4, 4, { p: 0.02, m: 0.03, c: 0.04 }), 'b', 'a', 'encode', 4)!;
    expect(enc.chunkPair).toBeNull();
    expect(enc.chunks).toBe(1);
    expect(enc.modelPair!).toBeGreaterThan(0.05 * 0.9); // √(0.03² + 0.04²)
    expect(enc.modelPair!).toBeLessThan(0.05 * 1.1);
    const one = spreadParts(draw(400, 1, 4, { p: 0.02, m: 0.03, c: 0.04 }), 'b', 'a', 'decode', 1)!;
    expect(one.modelPair).toBeNull();
    expect(one.processPair).toBeGreaterThan(0.036 * 0.85); // √(0.02² + 0.03²)
    expect(one.processPair).toBeLessThan(0.036 * 1.15);
    expect(spreadText(one)).toMatch(/^chunk pair 4\.\d%, process pair with its model 3\.\d%; a block \d\.\d%$/);
    expect(spreadText(enc)).toMatch(/^model pair with its chunk \d\.\d%, process pair \d\.\d%; a block \d\.\d%$/);
    // 16 decode chunks are not 3 equal segments; one block is no spread
    expect(spreadParts(draw(10, 4, 4, { p: 0.02, m: 0.03, c: 0.04 }), 'b', 'a', 'decode', 3)).toBeUndefined();
    expect(spreadParts(draw(1, 4, 4, { p: 0.02, m: 0.03, c: 0.04 }), 'b', 'a', 'decode', 4)).toBeUndefined();
  });

  it('compareAb attaches the parts to the loop stages when it knows the segments, and not to load', () => {
    const blocks = draw(8, 4, 4, { p: 0.02, m: 0.03, c: 0.04 }).map((b) => ({
      ...b,
      sides: Object.fromEntries(Object.entries(b.sides).map(([n, s]) => [n, { ...s, chunkWallMs: { ...s.chunkWallMs, batchd: [1, 1, 1, 1], prompt: [2, 2, 2, 2] }, chunkMedianMs: { encode: 500, decode: 3, batchd: 1, prompt: 2 }, loadMs: 100, measuredCpuMs: 1 }])),
    })) as BlockRecord[];
    const [withParts] = compareAb(blocks, ['a', 'b'], 0.03, ['encode', 'decode'], 4);
    expect(withParts.stages.find((s) => s.stage === 'decode')!.parts).toMatchObject({ blocks: 8, segments: 4, chunks: 4 });
    expect(withParts.stages.find((s) => s.stage === 'load')!.parts).toBeUndefined();
    const [without] = compareAb(blocks, ['a', 'b'], 0.03, ['encode', 'decode']);
    expect(without.stages.every((s) => s.parts === undefined)).toBe(true);
  });

  it("the markdown lists each gated stage's parts under its comparison, and nothing without parts", () => {
    const blocks = draw(8, 4, 4, { p: 0.02, m: 0.03, c: 0.04 }).map((b) => ({
      ...b,
      sides: Object.fromEntries(Object.entries(b.sides).map(([n, s]) => [n, { ...s, chunkWallMs: { ...s.chunkWallMs, batchd: [1, 1, 1, 1], prompt: [2, 2, 2, 2] }, chunkMedianMs: { encode: 500, decode: 3, batchd: 1, prompt: 2 }, loadMs: 100, measuredCpuMs: 1 }])),
    })) as BlockRecord[];
    const info = (name: string) => ({ name, build: 'native', addonPath: '/x.node', variant: 'native', whisperVersion: '1.9.1', pin: 'p', threads: 2, flashAttn: true, device: 'cpu', env: {}, inject: 0 });
    const result = (comparisons: AbComparison[]): AbResult => ({
      model: 'm', margin: 0.03, detect: 0.04, budgetS: 300, elapsedS: 100, sides: [info('a'), info('b')], blocks: 8, unitSize: 2, segments: 4, units: 4,
      discardedBlocks: 0, failures: [], comparisons, stopped: 'decided', verdict: 'same', exitCode: 0, notes: [], records: blocks,
    });
    const md = abMarkdown(result(compareAb(blocks, ['a', 'b'], 0.03, ['decode'], 4))).split('\n');
    const at = md.findIndex((l) => l.startsWith('Where the spread of ln(b/a) sits, SD over 8 blocks:'));
    expect(at).toBeGreaterThan(0);
    // only the gated stage (decode), with its three parts
    expect(md[at + 1]).toMatch(/^- decode: chunk pair \d+\.\d%, model pair \d+\.\d%, process pair \d+\.\d%; a block \d+\.\d%$/);
    expect(md[at + 2]).toBe('');
    expect(abMarkdown(result(compareAb(blocks, ['a', 'b'], 0.03, ['decode'])))).not.toContain('Where the spread');
  });

  it("a calibration reports each kind's median parts per gated stage, and prints them", () => {
    // three runs whose decode parts are known: medians 0.04 / 0.02 / 0.01 / 0.015
    const run = (c: number, m: number, p: number, b: number) =>
      ({
        elapsedS: 200, blocks: 8, verdict: 'same', margin: 0.03, budgetS: 300,
        comparisons: [{ stages: [{ stage: 'decode', gated: true, verdict: 'same', detectable: 0.045, parts: { chunkPair: c, modelPair: m, processPair: p, block: b, blocks: 8, segments: 4, chunks: 4 } }] }],
      }) as unknown as AbResult;
    const k = summarizeKind('A/A', [run(0.05, 0.02, 0.01, 0.02), run(0.04, 0.03, 0.005, 0.015), run(0.03, 0.01, 0.02, 0.01)], ['decode']);
    expect(k.spread.decode).toEqual({ chunkPair: 0.04, modelPair: 0.02, processPair: 0.01, block: 0.015 });
    expect(k.spread.encode).toBeUndefined();
    const md = calibrationMarkdown({ inject: 0.05, margin: 0.03, detect: 0.04, budgetS: 300, aa: k, aaPrime: { ...k, kind: "A/A'", spread: {} } });
    expect(md).toContain('Where the spread sits in the A/A runs (medians over the runs, SD of ln ratio):\n- decode: chunk pair 4.0%, model pair 2.0%, process pair 1.0%; a block 1.5%');
    expect(md).not.toContain("in the A/A' runs");
  });

  it("a calibration checks the injection against whisper.cpp's own timing of the calls, second side over first", () => {
    // whisper.cpp's own decode time per call: A' at 1.02 and 1.04 times A in two runs' blocks, encode equal
    const rec = (k: number) => ({
      order: ['A', "A'"],
      sides: { A: { perRunMs: { encode: 500, decode: 2, batchd: 1, prompt: 1 } }, "A'": { perRunMs: { encode: 500, decode: 2 * k, batchd: 1, prompt: 1 } } },
    });
    const run = (ks: number[]) =>
      ({
        elapsedS: 200, blocks: ks.length, verdict: 'slower', margin: 0.03, budgetS: 300, sides: [{ name: 'A' }, { name: "A'" }], records: ks.map(rec),
        comparisons: [{ stages: [{ stage: 'decode', gated: true, verdict: 'slower', detectable: 0.045 }] }],
      }) as unknown as AbResult;
    const runs = [run([1.02, 1.04]), run([1.04, 1.02])];
    const d = ownTimingRatio(runs, 'decode')!;
    expect(d.ratio).toBeCloseTo(Math.sqrt(1.02 * 1.04), 9);
    expect(d.blocks).toBe(4);
    expect(d.low).toBeLessThan(d.ratio);
    expect(d.high).toBeGreaterThan(d.ratio);
    expect(ownTimingRatio(runs, 'encode')).toMatchObject({ ratio: 1, low: 1, high: 1 });
    expect(ownTimingRatio([run([1.02])], 'decode')).toBeUndefined();
    const k = summarizeKind("A/A'", runs, ['encode', 'decode']);
    expect(k.ownTiming.decode?.ratio).toBeCloseTo(d.ratio, 12);
    const md = calibrationMarkdown({ inject: 0.05, margin: 0.03, detect: 0.04, budgetS: 300, aa: { ...k, kind: 'A/A' }, aaPrime: k });
    // by hand: ln 1.02 and ln 1.04 twice each, mean 0.02951, SD 0.01121, t(3) 3.182: [e^0.01167, e^0.04735]
    expect(md).toContain("A'/A over the 4 blocks of the A/A' runs: encode 1.000 [1.000, 1.000], decode 1.030 [1.012, 1.048].");
  });
});

describe('ab --calibrate --save', () => {
  const run = (verdict: 'same' | 'slower', decode: number) =>
    ({
      elapsedS: 200, blocks: 8, verdict, margin: 0.03, detect: 0.04, budgetS: 300, sides: [{ name: 'A' }, { name: 'A2' }], records: [],
      comparisons: [{ stages: [{ stage: 'decode', gated: true, verdict, detectable: decode }] }],
    }) as unknown as AbResult;
  const dir = mkdtempSync(join(tmpdir(), 'wp-cal-save-'));
  const settings = { side: null, inject: 0.05, margin: 0.03, budgetS: 300, cpu: 'X' };

  it('goes on with the runs a file of the same settings holds: a series already complete runs nothing more', async () => {
    const file = join(dir, 'done.jsonl');
    const head = { calibration: { design: AB_DESIGN, side: null, inject: 0.05, model: '/no/such/model.bin', threads: 2, flashAttn: null, margin: 0.03, detect: null, budgetS: 300, minBlocks: null, maxBlocks: null, segments: AB_SEGMENT_COUNT, stages: ['decode'], processes: 'per-side', fresh: 'segment', hugepages: true, fixedMmap: true, cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism() } };
    const lines = [head, { kind: 'A/A', result: run('same', 0.038) }, { kind: "A/A'", result: run('slower', 0.041) }, { kind: 'A/A', result: run('same', 0.036) }, { kind: "A/A'", result: run('slower', 0.043) }];
    // the last run was stopped while it was written: a line cut short
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n{"kind":"A/A","res');
    let resumed: number[] = [];
    // no addon or model is needed: every run it asks for is in the file (one more would fail at once)
    const c = await calibrate({ save: file, runs: 2, model: '/no/such/model.bin', threads: 2, stages: ['decode'], onResume: (a, p) => (resumed = [a, p]) });
    expect(resumed).toEqual([2, 2]);
    expect(c.aa.runs).toBe(2);
    expect(c.aa.verdicts.same).toBe(2);
    expect(c.aa.rate.count).toBe(0);
    expect(c.aaPrime.rate.count).toBe(2);
    expect(c.aa.detectable.decode).toBeCloseTo(0.037, 12);
    expect(c.aaPrime.detectable.decode).toBeCloseTo(0.042, 12);
  });

  it('refuses a file of other settings, naming what differs, and one it did not write', () => {
    const file = join(dir, 'other.jsonl');
    writeFileSync(file, JSON.stringify({ calibration: settings }) + '\n');
    expect(readSaved(file, settings)).toEqual([]);
    expect(() => readSaved(file, { ...settings, budgetS: 600, cpu: 'Y' })).toThrow(/other settings \(budgetS 300 there, 600 here; cpu "X" there, "Y" here\)/);
    // a series read before the heat-up encodes counted (no design mark) is not gone on with
    expect(() => readSaved(file, { ...settings, design: AB_DESIGN })).toThrow(/other settings \(design undefined there, 2 here\)/);
    // a file saved before the segments were recorded (null) ran 4 a block, the default then
    writeFileSync(file, JSON.stringify({ calibration: { ...settings, segments: null } }) + '\n');
    expect(readSaved(file, { ...settings, segments: 4 })).toEqual([]);
    expect(() => readSaved(file, { ...settings, segments: AB_SEGMENT_COUNT })).toThrow(/other settings \(segments 4 there, 2 here\)/);
    writeFileSync(file, '{"runs": 3}\n');
    expect(() => readSaved(file, settings)).toThrow(/no calibration settings/);
    writeFileSync(file, 'name,value\n1,2\n');
    expect(() => readSaved(file, settings)).toThrow(/line 1 is not JSON/);
    expect(readSaved(join(dir, 'none.jsonl'), settings)).toEqual([]);
  });
});

describe("ab: Yuen's interval over blocks", () => {
  it('matches the hand computation: 10 replicates, one set aside at each end, winsorized variance, t with 7 df', () => {
    // x = 1..9 and 100, in hundredths: trimmed mean of 2..9 = 5.5; winsorized 2,2,3,..,9,9: mean 5.5,
    // variance 66.5 / 9; SE = √(9 · 66.5/9 / (8 · 7)) = √(66.5/56) = 1.08972; t(7) = 2.36462 → ±2.57678
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 100, 9].map((v) => v / 100);
    const r = yuenRatio(x, 10);
    expect(r).toMatchObject({ method: 'block-yuen', trimmed: 1, n: 10, blocks: 10 });
    expect(Math.log(r.ratio)).toBeCloseTo(0.055, 12);
    expect(Math.log(r.high) - Math.log(r.ratio)).toBeCloseTo(0.0257678, 6);
    expect(Math.log(r.ratio) - Math.log(r.low)).toBeCloseTo(0.0257678, 6);
    expect(r.sdLog).toBeCloseTo(Math.sqrt(66.5 / 9) / 100, 12);
  });

  it('a block far off moves the mean and widens Student t; the trimmed interval hardly moves', () => {
    const clean = [0.004, -0.006, 0.011, -0.002, 0.007, -0.009, 0.001, 0.005, -0.004, 0.008, -0.001, 0.002];
    const hit = clean.map((v, i) => (i === 9 ? Math.log(1.3) : v));
    const t = unitsRatio(hit, 12);
    const y = yuenRatio(hit, 12);
    expect(t.low).toBeLessThan(0.99);
    expect(t.high).toBeGreaterThan(1.05);
    expect(y.low).toBeGreaterThan(0.99);
    expect(y.high).toBeLessThan(1.01);
    expect(Math.abs(Math.log(y.high / y.low) - Math.log(yuenRatio(clean, 12).high / yuenRatio(clean, 12).low))).toBeLessThan(0.006);
    // under 6 replicates nothing is set aside
    expect(yuenRatio(clean.slice(0, 5), 5)).toEqual(unitsRatio(clean.slice(0, 5), 5));
    // 20 replicates: two at each end
    expect(yuenRatio([...clean, ...clean.slice(0, 8)], 20).trimmed).toBe(2);
  });

  it('compareAb reads its intervals this way', () => {
    const side = (decode: number) => ({ chunkWallMs: { encode: [500], decode: [decode], batchd: [], prompt: [] }, chunkMedianMs: { encode: 500, decode }, loadMs: 100, measuredCpuMs: 1 }) as unknown as SideBlock & { loadMs: number };
    const blocks = [1, 1.01, 0.99, 1.02, 0.98, 1.0, 1.3, 1.01].map((k, i) => ({ order: i % 2 ? ['b', 'a'] : ['a', 'b'], sides: { a: side(3), b: side(3 * k) } }));
    const dec = compareAb(blocks, ['a', 'b'], 0.03, ['decode'])[0].stages.find((s) => s.stage === 'decode')!;
    expect(dec.ratio).toEqual(yuenRatio(blocks.map((b) => Math.log(b.sides.b.chunkWallMs.decode[0] / 3)), 8));
    expect(dec.verdict).toBe('same');
  });
});

describe("ab: each run's folder of build copies", () => {
  it("removes the folders of runs whose process is gone, keeps the live ones' and anything else, and names its own after its pid", () => {
    const root = mkdtempSync(join(tmpdir(), 'wp-copies-'));
    // above the largest pid Linux hands out (pid_max is at most 2^22): a process that is gone
    const gone = 2 ** 22 + 7;
    for (const name of [`whisper-perf-ab-${gone}-aaaaaa`, `whisper-perf-ab-${process.pid}-bbbbbb`, 'whisper-perf-ab-1-cccccc', 'whisper-perf-ab-xyz', 'other']) mkdirSync(join(root, name, 'block1-try1'), { recursive: true });
    const mine = copiesFolder(root);
    expect(mine).toMatch(new RegExp(`/whisper-perf-ab-${process.pid}-[^/]+$`));
    expect(readdirSync(root).sort()).toEqual(['other', 'whisper-perf-ab-1-cccccc', `whisper-perf-ab-${process.pid}-bbbbbb`, mine.split('/').pop(), 'whisper-perf-ab-xyz'].sort());
  });
});

describe('ab: sides on the command line', () => {
  it('a bare word is a build; key=value lists set build, threads, fa, device, env and name', () => {
    expect(parseSide('native')).toEqual({ build: 'native' });
    expect(parseSide('build=generic,t=2,fa=off,device=cpu,env.GGML_X=1')).toEqual({
      build: 'generic',
      threads: 2,
      flashAttn: false,
      device: 'cpu',
      env: { GGML_X: '1' },
      name: 'generic,t=2,fa=off,device=cpu,GGML_X=1',
    });
    expect(parseSide('t=1,name=one')).toEqual({ threads: 1, name: 'one' });
  });

  it('bad sides are usage errors that name the problem', () => {
    expect(() => parseSide('t=0')).toThrow(/threads "0"/);
    expect(() => parseSide('fa=maybe')).toThrow(/fa=on or fa=off/);
    expect(() => parseSide('color=red')).toThrow(/unknown key "color"/);
    expect(() => parseSide('env.WHISPER_PERF_INJECT_SLOWDOWN=0.1')).toThrow(/--calibrate/);
    expect(() => parseSide('t=1,oops')).toThrow(/not key=value/);
  });
});

describe("a side's malloc settings (GLIBC_TUNABLES)", () => {
  it("appends the fixed mmap threshold and huge pages to the caller's tunables, each only when asked and not set by the caller", () => {
    const both = { hugepages: true, fixedMmap: true };
    expect(sideTunables(undefined, both)).toBe('glibc.malloc.mmap_threshold=131072:glibc.malloc.hugetlb=1');
    expect(sideTunables('glibc.malloc.arena_max=2', both)).toBe('glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072:glibc.malloc.hugetlb=1');
    expect(sideTunables('', { hugepages: true, fixedMmap: false })).toBe('glibc.malloc.hugetlb=1');
    expect(sideTunables(undefined, { hugepages: false, fixedMmap: true })).toBe('glibc.malloc.mmap_threshold=131072');
    expect(sideTunables('glibc.malloc.arena_max=2', { hugepages: false, fixedMmap: false })).toBe('glibc.malloc.arena_max=2');
    expect(sideTunables(undefined, { hugepages: false, fixedMmap: false })).toBeUndefined();
    // a tunable the caller set stands (glibc takes the last of a name)
    expect(sideTunables('glibc.malloc.mmap_threshold=1048576', both)).toBe('glibc.malloc.mmap_threshold=1048576:glibc.malloc.hugetlb=1');
    expect(sideTunables('glibc.malloc.hugetlb=0:glibc.malloc.arena_max=2', both)).toBe('glibc.malloc.hugetlb=0:glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072');
  });
});
