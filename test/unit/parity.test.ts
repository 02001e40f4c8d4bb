// The pure parts of bench:parity (bench/parity-lib.mjs): native whisper-bench output parsing,
// the stage comparison and its verdict rule, argument parsing and the table.
import { describe, expect, it } from 'vitest';

import {
  BOOTSTRAP,
  compareRounds,
  compareStage,
  fmtMs,
  formatTable,
  nativeArgs,
  parseNativeBench,
  parseParityArgs,
  roundOrder,
  runMismatches,
  STAGES,
  TARGETS,
  UsageError,
  verdictFor,
} from '../../bench/parity-lib.mjs';

/** What whisper-bench prints to stderr (examples/bench/bench.cpp + whisper_print_timings). */
function nativeStderr(o: { load?: number; encode?: number; decode?: number; batchd?: number; prompt?: number; threads?: number } = {}): string {
  const { load = 41.27, encode = 901.5, decode = 2.48, batchd = 4.21, prompt = 22.57, threads = 2 } = o;
  // whisper.cpp counts batchd and prompt runs per token
  const line = (name: string, perRun: number, runs: number) =>
    `whisper_print_timings:   ${name} time = ${(perRun * runs).toFixed(2).padStart(8)} ms / ${String(runs).padStart(5)} runs ( ${perRun.toFixed(2).padStart(8)} ms per run)`;
  return [
    '',
    `system_info: n_threads = ${threads} / 2 | WHISPER : COREML = 0 | OPENVINO = 0 | CPU : SSE3 = 1 | AVX2 = 1 | FMA = 1 | OPENMP = 1 | `,
    'whisper_init_from_file_with_params_no_state: loading model from \'/tmp/ggml-tiny.en.bin\'',
    'whisper_model_load: model size    =   77.11 MB',
    '',
    `whisper_print_timings:     load time = ${load.toFixed(2).padStart(8)} ms`,
    'whisper_print_timings:     fallbacks =   0 p /   0 h',
    'whisper_print_timings:      mel time =     0.00 ms',
    'whisper_print_timings:   sample time =     0.00 ms /     1 runs (     0.00 ms per run)',
    line('encode', encode, 1),
    line('decode', decode, 256),
    line('batchd', batchd, 320),
    line('prompt', prompt, 4096),
    'whisper_print_timings:    total time =  2100.00 ms',
    '',
    'If you wish, you can submit these results here:',
    '',
    '  https://github.com/ggml-org/whisper.cpp/issues/89',
    '',
  ].join('\n');
}

describe('parseNativeBench', () => {
  it('reads load time, per-run timings, threads and system_info', () => {
    const r = parseNativeBench(nativeStderr({ load: 41.27, encode: 901.5, decode: 2.48, batchd: 4.21, prompt: 22.57 }));
    expect(r.loadMs).toBeCloseTo(41.27, 6);
    expect(r.perRunMs.encode).toBeCloseTo(901.5, 6);
    expect(r.perRunMs.decode).toBeCloseTo(2.48, 6);
    expect(r.perRunMs.batchd).toBeCloseTo(4.21, 6);
    expect(r.perRunMs.prompt).toBeCloseTo(22.57, 6);
    expect(r.runs).toEqual({ encode: 1, decode: 256, batchd: 320, prompt: 4096 });
    expect(runMismatches(r.runs)).toEqual([]);
    expect(r.threads).toBe(2);
    expect(r.systemInfo).toBe('WHISPER : COREML = 0 | OPENVINO = 0 | CPU : SSE3 = 1 | AVX2 = 1 | FMA = 1 | OPENMP = 1 |');
  });

  it('takes per-run figures from total / runs, keeping the precision "ms per run" rounds away', () => {
    const text = nativeStderr().replace(/decode time = .*$/m, 'decode time =   634.37 ms /   256 runs (     2.48 ms per run)');
    expect(parseNativeBench(text).perRunMs.decode).toBeCloseTo(634.37 / 256, 9);
  });

  it('accepts CRLF line ends', () => {
    expect(parseNativeBench(nativeStderr().replace(/\n/g, '\r\n')).perRunMs.encode).toBeCloseTo(901.5, 6);
  });

  it('tells when whisper.cpp counted another workload', () => {
    const text = nativeStderr().replace(/prompt time = .*$/m, 'prompt time =  1000.00 ms /  2048 runs (     0.49 ms per run)');
    expect(runMismatches(parseNativeBench(text).runs)).toEqual(['prompt: 2048 runs, expected 4096']);
    expect(runMismatches(undefined)).toHaveLength(4);
  });

  it('throws when the timings are missing', () => {
    expect(() => parseNativeBench('error: failed to initialize whisper context\n')).toThrow(/no whisper_print_timings/);
    const noEncode = nativeStderr().replace(/^.*encode time.*$/m, '');
    expect(() => parseNativeBench(noEncode)).toThrow(/no whisper_print_timings/);
  });
});

describe('verdictFor', () => {
  const r = (low: number, ratio: number, high: number) => ({ ratio, low, high, ci95: (high - low) / 2, significant: low > 1 || high < 1, method: 'bootstrap' as const });
  it('is PASS when the whole CI is at or below the target', () => {
    expect(verdictFor(r(0.98, 1.0, 1.02), 1.03, 5)).toBe('PASS');
    expect(verdictFor(r(0.98, 1.0, 1.03), 1.03, 5)).toBe('PASS');
  });
  it('is FAIL when the whole CI is above the target', () => {
    expect(verdictFor(r(1.031, 1.1, 1.2), 1.03, 5)).toBe('FAIL');
  });
  it('is inconclusive when the CI straddles the target, whichever side the ratio is on', () => {
    expect(verdictFor(r(0.99, 1.01, 1.05), 1.03, 5)).toBe('inconclusive');
    expect(verdictFor(r(1.0, 1.04, 1.08), 1.03, 5)).toBe('inconclusive');
  });
  it('is inconclusive without a CI (fewer than 2 samples a side)', () => {
    expect(verdictFor(r(1.0, 1.0, 1.0), 1.03, 1)).toBe('inconclusive');
  });
});

describe('compareStage', () => {
  it('PASS: the addon as fast as native, tight samples', () => {
    const native = [900, 902, 898, 901, 899];
    const addon = [901, 899, 900, 902, 898];
    const s = compareStage('encode', native, addon);
    expect(s.target).toBe(TARGETS.encode);
    expect(s.ratio.ratio).toBeCloseTo(1, 9);
    expect(s.ratio.method).toBe('bootstrap');
    expect(s.ratio.high).toBeLessThanOrEqual(1.03);
    expect(s.verdict).toBe('PASS');
    expect(s.medianMeetsTarget).toBe(true);
    expect(s.native.median).toBe(900);
    expect(s.addon.n).toBe(5);
  });

  it('FAIL: the addon 10% slower, tight samples', () => {
    const native = [100, 101, 99, 100, 100.5];
    const addon = [110, 111, 109, 110, 110.5];
    const s = compareStage('decode', native, addon);
    expect(s.ratio.ratio).toBeCloseTo(1.1, 9);
    expect(s.ratio.low).toBeGreaterThan(1.03);
    expect(s.verdict).toBe('FAIL');
    expect(s.medianMeetsTarget).toBe(false);
  });

  it('inconclusive: the median meets the target but the noise is wider than the margin', () => {
    const native = [100, 90, 110, 95, 105];
    const addon = [101, 91, 112, 96, 104];
    const s = compareStage('prompt', native, addon);
    expect(s.ratio.ratio).toBeCloseTo(1.01, 9);
    expect(s.ratio.low).toBeLessThan(1.03);
    expect(s.ratio.high).toBeGreaterThan(1.03);
    expect(s.verdict).toBe('inconclusive');
    expect(s.medianMeetsTarget).toBe(true);
  });

  it('inconclusive: the median misses the target, the CI reaches below it', () => {
    const native = [100, 90, 110, 95, 105];
    const addon = [104, 95, 115, 99, 110];
    const s = compareStage('batchd', native, addon);
    expect(s.ratio.ratio).toBeCloseTo(1.04, 9);
    expect(s.verdict).toBe('inconclusive');
    expect(s.medianMeetsTarget).toBe(false);
  });

  it('uses the looser load target', () => {
    const s = compareStage('load', [40, 40.1, 39.9], [41.6, 41.7, 41.5]);
    expect(s.target).toBe(1.05);
    expect(s.ratio.ratio).toBeCloseTo(1.04, 9);
    expect(s.verdict).toBe('PASS');
  });

  it('is reproducible: the bootstrap seed is fixed', () => {
    const a = compareStage('prompt', [100, 90, 110, 95, 105], [101, 91, 112, 96, 104]);
    const b = compareStage('prompt', [100, 90, 110, 95, 105], [101, 91, 112, 96, 104]);
    expect(a.ratio).toEqual(b.ratio);
    expect(BOOTSTRAP.seed).toBe(42);
  });

  it('rejects a stage without a target', () => {
    expect(() => compareStage('mel', [1, 2], [1, 2])).toThrow(/no target/);
  });
});

describe('compareRounds and formatTable', () => {
  const side = (scale: number, jitter: number) => ({
    loadMs: 40 * scale + jitter,
    perRunMs: { encode: 900 * scale + jitter, decode: 2.5 * scale + jitter / 100, batchd: 4.2 * scale + jitter / 100, prompt: 22.5 * scale + jitter / 10 },
  });
  const rounds = (addonScale: number) =>
    [0, 0.2, -0.2, 0.1, -0.1].map((j, i) => ({ round: i + 1, native: side(1, j), addon: side(addonScale, -j) }));

  it('passes when every median meets its target', () => {
    const r = compareRounds(rounds(1.0));
    expect(r.stages.map((s: { stage: string }) => s.stage)).toEqual([...STAGES]);
    expect(r.pass).toBe(true);
    expect(r.stages.every((s: { verdict: string }) => s.verdict === 'PASS')).toBe(true);
  });

  it('fails when one median misses its target', () => {
    const rs = rounds(1.0).map((r) => ({ ...r, addon: { ...r.addon, perRunMs: { ...r.addon.perRunMs, encode: r.addon.perRunMs.encode * 1.2 } } }));
    const r = compareRounds(rs);
    expect(r.pass).toBe(false);
    expect(r.stages.find((s: { stage: string }) => s.stage === 'encode').verdict).toBe('FAIL');
    expect(r.stages.find((s: { stage: string }) => s.stage === 'decode').verdict).toBe('PASS');
  });

  it('rejects no rounds', () => {
    expect(() => compareRounds([])).toThrow(/no rounds/);
  });

  it('prints one markdown row per stage, the rule and the result', () => {
    const rs = rounds(1.0).map((r) => ({ ...r, addon: { ...r.addon, perRunMs: { ...r.addon.perRunMs, encode: r.addon.perRunMs.encode * 1.2 } } }));
    const md = formatTable(compareRounds(rs));
    const lines = md.split('\n');
    expect(lines[0]).toBe('| stage | native median ± sd | addon median ± sd | ratio addon/native [95% CI] | target | verdict |');
    expect(lines[1]).toBe('| --- | ---: | ---: | ---: | ---: | --- |');
    expect(lines.filter((l) => l.startsWith('| ') && !l.startsWith('| stage') && !l.startsWith('| ---'))).toHaveLength(5);
    expect(md).toMatch(/\| encode \(ms\/run\) \| 900\.0 ± 0\.158 \| 1080\.0 ± 0\.190 \| 1\.200 \[1\.\d{3}, 1\.\d{3}\] \| ≤ 1\.03 \| FAIL \|/);
    expect(md).toMatch(/\| load \(ms\) \| 40\.00 ± 0\.158 \| 40\.00 ± 0\.158 \| 1\.000 \[0\.\d{3}, 1\.\d{3}\] \| ≤ 1\.05 \| PASS \|/);
    expect(md).toContain('5 rounds per side.');
    expect(md).toContain('inconclusive when the CI straddles the target');
    expect(md).toContain('Result: FAIL');
  });

  it('names the median side of an inconclusive verdict', () => {
    const noisy = [0, 1, 2].map((i) => ({
      native: { loadMs: [40, 36, 44][i], perRunMs: { encode: [900, 810, 990][i], decode: 2.5, batchd: 4.2, prompt: 22.5 } },
      addon: { loadMs: [40, 36, 44][i], perRunMs: { encode: [909, 819, 1000][i], decode: 2.5, batchd: 4.2, prompt: 22.5 } },
    }));
    const md = formatTable(compareRounds(noisy));
    expect(md).toMatch(/\| encode \(ms\/run\) \|.*\| inconclusive \(median meets target\) \|/);
  });
});

describe('parseParityArgs', () => {
  it('has whisper-bench-like defaults', () => {
    expect(parseParityArgs([], { cores: 2 })).toEqual({
      help: false,
      model: undefined,
      threads: 2,
      rounds: 6,
      flashAttn: true,
      useGpu: true,
      native: 'build/Release/whisper-bench-native',
      output: 'md',
      quick: false,
    });
    expect(parseParityArgs([], { cores: 16 }).threads).toBe(4);
  });

  it('reads every option', () => {
    const o = parseParityArgs(['-m', 'm.bin', '-t', '3', '-r', '7', '--fa', 'off', '--no-gpu', '-o', 'json', '--native', '/x/bench'], { cores: 2 });
    expect(o).toMatchObject({ model: 'm.bin', threads: 3, rounds: 7, flashAttn: false, useGpu: false, output: 'json', native: '/x/bench' });
  });

  it('--quick lowers the rounds to 2 unless -r is given', () => {
    expect(parseParityArgs(['--quick']).rounds).toBe(2);
    expect(parseParityArgs(['--quick', '-r', '1']).rounds).toBe(1);
  });

  it('returns help alone for -h', () => {
    expect(parseParityArgs(['-h'])).toEqual({ help: true });
  });

  it('rejects bad values as usage errors', () => {
    for (const argv of [['-t', '0'], ['-t', 'x'], ['-r', '0'], ['--fa', 'maybe'], ['-o', 'csv'], ['--bogus'], ['extra']]) {
      expect(() => parseParityArgs(argv), argv.join(' ')).toThrow(UsageError);
    }
  });
});

describe('nativeArgs and roundOrder', () => {
  it('passes -nfa and -ng only when asked', () => {
    expect(nativeArgs({ model: 'm.bin', threads: 2, flashAttn: true, useGpu: true })).toEqual(['-m', 'm.bin', '-t', '2']);
    expect(nativeArgs({ model: 'm.bin', threads: 4, flashAttn: false, useGpu: false })).toEqual(['-m', 'm.bin', '-t', '4', '-nfa', '-ng']);
  });

  it('alternates who goes first', () => {
    expect([0, 1, 2, 3].map(roundOrder)).toEqual([
      ['native', 'addon'],
      ['addon', 'native'],
      ['native', 'addon'],
      ['addon', 'native'],
    ]);
  });
});

describe('fmtMs', () => {
  it('formats by magnitude', () => {
    expect(fmtMs(901.456)).toBe('901.5');
    expect(fmtMs(2.4849)).toBe('2.48');
    expect(fmtMs(0.15811)).toBe('0.158');
    expect(fmtMs(0)).toBe('0');
  });
});
