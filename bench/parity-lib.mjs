/**
 * The pure parts of bench/parity.mjs: argument parsing, the order of sides in a round, the
 * paired per-stage comparison with its verdict, the self-check and the markdown report.
 * Nothing here loads the addon or spawns a process, so it is unit-tested
 * (test/unit/parity.test.ts).
 *
 * It imports the compiled library modules directly (dist/, built by `npm run build`):
 * parseTimings is not part of the package's public API.
 */
import { parseArgs } from 'node:util';

import { parseTimings } from '../dist/logs.js';
import { pairedRatio, summarize } from '../dist/bench/stats.js';

/** The compared stages, in table order. */
export const STAGES = Object.freeze(['load', 'encode', 'decode', 'batchd', 'prompt']);
/** Stages the bench loop measures (and the self-check slows down). */
export const LOOP_STAGES = Object.freeze(['encode', 'decode', 'batchd', 'prompt']);

/** Highest acceptable ratio addon/native per stage. */
export const TARGETS = Object.freeze({ load: 1.05, encode: 1.03, decode: 1.03, batchd: 1.03, prompt: 1.03 });

/** Stage labels with their unit: whisper.cpp counts batchd and prompt "runs" per token. */
export const STAGE_LABELS = Object.freeze({
  load: 'load (ms)',
  encode: 'encode (ms/run)',
  decode: 'decode (ms/token)',
  batchd: 'batchd (ms/token)',
  prompt: 'prompt (ms/token)',
});

/**
 * One round: whisper-bench's calls (binding/bench_loop.h) in small numbers, cut into short
 * chunks, and the sides take turns chunk by chunk (native, addon, injected, in rotating order), so
 * each side's chunk runs within a second of the others' same chunk: 2 encodes, 4 × 32
 * single-token decodes (n_past 0…31), 4 × 4 batches of 5 tokens and 4 prompts of 256 tokens.
 * A round is about 5 s of compute per side at 1 thread for tiny on 2 cores (2.5 s at 2).
 */
const chunk = (o) => Object.freeze({ heat: 0, heatDecodes: 0, nEncode: 0, nDecode: 0, nBatch: 0, nPrompt: 0, ...o });
export const CHUNKS = Object.freeze(
  [0, 1, 2, 3].flatMap((g) => [
    ...(g % 2 === 0 ? [chunk({ nEncode: 1 })] : []),
    chunk({ nDecode: 32 }),
    chunk({ nBatch: 4 }),
    chunk({ nPrompt: 1 }),
  ]),
);
/** A light heat-up of a model that has not computed yet (fresh mode), before its round's chunks. */
export const HEAT = chunk({ heat: 1, heatDecodes: 16 });

/** whisper.cpp's run counts of a chunk per stage: batchd and prompt count tokens. */
export const stageRuns = (spec) => ({ encode: spec.nEncode, decode: spec.nDecode, batchd: spec.nBatch * 5, prompt: spec.nPrompt * 256 });

/** The round's totals: calls per stage over all chunks. */
export const ROUND = Object.freeze(
  CHUNKS.reduce((a, c) => ({ nEncode: a.nEncode + c.nEncode, nDecode: a.nDecode + c.nDecode, nBatch: a.nBatch + c.nBatch, nPrompt: a.nPrompt + c.nPrompt }), { nEncode: 0, nDecode: 0, nBatch: 0, nPrompt: 0 }),
);

/**
 * One side's figures for a round from its chunks' results ({ spec, r }, r as the driver or the
 * addon report a chunk: per-run wall and whisper.cpp times per stage, measured CPU time): per-run
 * figures weighted by each chunk's runs, CPU and wall summed.
 */
export function accumulateChunks(parts) {
  const runs = { encode: 0, decode: 0, batchd: 0, prompt: 0 };
  const wall = { encode: 0, decode: 0, batchd: 0, prompt: 0 };
  const own = { encode: 0, decode: 0, batchd: 0, prompt: 0 };
  let measuredCpuMs = 0;
  for (const { spec, r } of parts) {
    const n = stageRuns(spec);
    for (const s of LOOP_STAGES) {
      if (n[s] === 0) continue;
      runs[s] += n[s];
      wall[s] += r.wallPerRunMs[s] * n[s];
      own[s] += r.perRunMs[s] * n[s];
    }
    measuredCpuMs += r.measuredCpuMs;
  }
  const per = (t) => Object.fromEntries(LOOP_STAGES.map((s) => [s, runs[s] > 0 ? t[s] / runs[s] : 0]));
  return { runs, wallPerRunMs: per(wall), perRunMs: per(own), wallTotalMs: wall, measuredCpuMs, wallMs: LOOP_STAGES.reduce((a, s) => a + wall[s], 0) };
}

export const MODES = Object.freeze(['fresh', 'served']);
export const DEFAULT_ROUNDS = 15; // a multiple of 3: every side runs in every position equally often
export const QUICK_ROUNDS = 3;
export const DEFAULT_INJECT = 0.05;

/** Bootstrap settings (fixed seed: the same samples give the same interval). */
export const BOOTSTRAP = Object.freeze({ resamples: 4000, seed: 42 });

export const VERDICT_RULE =
  'Each round runs the same short chunks of calls on every side, the sides taking turns chunk by chunk (native, addon, ' +
  'and for the self-check the addon with a known injected slowdown) in rotating order. ratio = exp(20% trimmed mean of ln(addon/native) over rounds), paired ' +
  `by round, so drift between rounds cancels; 95% CI: percentile bootstrap over rounds (${BOOTSTRAP.resamples} resamples, ` +
  `seed ${BOOTSTRAP.seed}). Verdict: PASS when the whole CI is at or below the target, FAIL when the whole CI is above ` +
  'it, inconclusive when it straddles the target. Self-check: the same test, on the same rounds, between the addon with ' +
  'the injected slowdown and the addon without it (a known ratio of 1 + the injection); it is passed when every stage ' +
  'is FAIL, i.e. a slowdown of that size above the target is seen at this number of rounds.';

export const PARITY_HELP = `usage: npm run bench:parity -- [options]

Does the addon add overhead to whisper.cpp? Alternates short chunks of whisper-bench's workload
(one encode, 32 decodes, 4 batches or one prompt) between a native process
(build/Release/whisper-perf-native-bench: the same whisper.cpp build and the same loop, no Node)
and the addon, a fraction of a second each, and compares each stage paired by round. A
self-check runs a third side, the addon with a known injected slowdown (--inject), which the
detector must flag as FAIL: the proof that "within target" is not just noise.

options:
  -m, --model PATH    ggml model (default: the synthetic tiny.en)
  -t, --threads LIST  thread counts, each measured separately (default 1 and the core count: 1,${'${cores}'})
  -r, --rounds N      rounds per thread count and mode (default ${DEFAULT_ROUNDS})
      --mode LIST     fresh (a model loaded for each round: serves nothing else) and/or served (one
                      model that serves mel, transcribe, encode and decode calls between rounds with
                      the thread pool kept busy) (default fresh,served)
      --inject F      the self-check's injected slowdown, a fraction (default ${DEFAULT_INJECT})
      --no-self-check skip the injected side (faster, but says nothing about the detector's power)
      --no-reference  skip the one whole whisper-bench run per thread count shown for reference
      --native-thread the native driver computes on a second thread, as the addon does (its
                      allocations then come from a non-main malloc arena, as the addon's)
      --fa on|off     flash attention on both sides (default on, as whisper-bench)
      --no-gpu        no GPU on either side
      --native PATH   the native driver (default build/Release/whisper-perf-native-bench)
  -o, --output FMT    md (default) or json, on stdout
      --quick         smoke test: ${QUICK_ROUNDS} rounds, the core count only, fresh mode only
  -h, --help          this help

Exit status: 0 when every stage's ratio meets its target and the self-check flagged the injected
slowdown; 1 otherwise or when a run fails; 2 for a usage or setup error.
`;

/** A usage or setup error: parity.mjs prints its message and exits with 2. */
export class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

function positiveInt(option, text, max) {
  if (!/^\d+$/.test(text ?? '') || Number(text) < 1 || Number(text) > max) {
    throw new UsageError(`${option}: expected an integer from 1 to ${max}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** Parses parity.mjs's arguments. `cores` gives the default thread counts 1 and cores. Returns { help } alone for -h. */
export function parseParityArgs(argv, { cores = 4, defaultNative = 'build/Release/whisper-perf-native-bench' } = {}) {
  let r;
  try {
    r = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        model: { type: 'string', short: 'm' },
        threads: { type: 'string', short: 't' },
        rounds: { type: 'string', short: 'r' },
        mode: { type: 'string' },
        inject: { type: 'string' },
        'no-self-check': { type: 'boolean' },
        'no-reference': { type: 'boolean' },
        'native-thread': { type: 'boolean' },
        fa: { type: 'string' },
        'no-gpu': { type: 'boolean' },
        native: { type: 'string' },
        output: { type: 'string', short: 'o' },
        quick: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError(String(e.message).split('\n')[0]);
  }
  const v = r.values;
  if (v.help) return { help: true };
  const fa = v.fa ?? 'on';
  if (fa !== 'on' && fa !== 'off') throw new UsageError(`--fa: expected on or off, got ${JSON.stringify(fa)}`);
  const output = v.output ?? 'md';
  if (output !== 'md' && output !== 'json') throw new UsageError(`-o: expected md or json, got ${JSON.stringify(output)}`);
  if (v.model === '') throw new UsageError('-m: expected a path');
  const c = Math.max(1, cores);
  const threads =
    v.threads === undefined
      ? v.quick ? [c] : [...new Set([1, c])]
      : [...new Set(v.threads.split(',').map((t) => positiveInt('-t', t.trim(), 1024)))];
  const modes = v.mode === undefined ? (v.quick ? ['fresh'] : [...MODES]) : [...new Set(v.mode.split(',').map((m) => m.trim()))];
  for (const m of modes) if (!MODES.includes(m)) throw new UsageError(`--mode: expected fresh and/or served, got ${JSON.stringify(m)}`);
  let inject = DEFAULT_INJECT;
  if (v.inject !== undefined) {
    inject = Number(v.inject);
    if (!/^\d*\.?\d+$/.test(v.inject) || !(inject > 0 && inject < 1)) throw new UsageError(`--inject: expected a fraction between 0 and 1, got ${JSON.stringify(v.inject)}`);
  }
  return {
    help: false,
    model: v.model,
    threads,
    rounds: v.rounds === undefined ? (v.quick ? QUICK_ROUNDS : DEFAULT_ROUNDS) : positiveInt('-r', v.rounds, 1000),
    modes,
    selfCheck: !v['no-self-check'],
    inject,
    reference: !v['no-reference'],
    nativeThread: Boolean(v['native-thread']),
    flashAttn: fa === 'on',
    useGpu: !v['no-gpu'],
    native: v.native ?? defaultNative,
    output,
    quick: Boolean(v.quick),
  };
}

/** The native driver's arguments for these options. */
export function nativeArgs({ model, threads, flashAttn, useGpu, nativeThread = false }) {
  const args = ['-m', model, '-t', String(threads)];
  if (!flashAttn) args.push('-nfa');
  if (!useGpu) args.push('-ng');
  if (nativeThread) args.push('--on-thread');
  return args;
}

/** The driver's `run` command for a chunk (or any bench spec). */
export function runCommand(block) {
  return `run ${block.heat} ${block.heatDecodes} ${block.nEncode} ${block.nDecode} ${block.nBatch} ${block.nPrompt}`;
}

/**
 * Who runs when in round `i` (0-based): the sides rotate by one place each round and the
 * rotation reverses every `sides.length` rounds, so over 2·n rounds every side runs in every
 * position and after every other side equally often.
 */
export function sideOrder(i, sides) {
  const n = sides.length;
  const k = i % n;
  const rotated = [...sides.slice(k), ...sides.slice(0, k)];
  return Math.floor(i / n) % 2 === 1 ? rotated.reverse() : rotated;
}

/** The verdict of a ratio's interval against a target; see VERDICT_RULE. */
export function verdictFor(r, target) {
  if (r.n < 2) return 'inconclusive';
  if (r.high <= target) return 'PASS';
  if (r.low > target) return 'FAIL';
  return 'inconclusive';
}

/**
 * Rounds that would make the interval fit on one side of the target, from this run's width
 * (the half-width shrinks as 1/√n): null when the estimate sits on the target.
 */
export function roundsToResolve(r, target) {
  const margin = Math.abs(Math.log(r.ratio) - Math.log(target));
  if (margin === 0 || r.n < 2) return null;
  const half = r.ratio > target ? Math.log(r.ratio) - Math.log(r.low) : Math.log(r.high) - Math.log(r.ratio);
  return Math.ceil(r.n * (half / margin) ** 2);
}

/** One stage: each side's summary, the paired ratio against native, its verdict. */
export function compareStage(stage, nativeSamples, otherSamples, target = TARGETS[stage]) {
  if (typeof target !== 'number') throw new Error(`no target for stage ${stage}`);
  const r = pairedRatio(otherSamples, nativeSamples, BOOTSTRAP);
  const verdict = verdictFor(r, target);
  return {
    stage,
    target,
    native: summarize(nativeSamples),
    other: summarize(otherSamples),
    ratio: r,
    verdict,
    meetsTarget: r.ratio <= target,
    roundsToResolve: verdict === 'inconclusive' ? roundsToResolve(r, target) : null,
  };
}

/**
 * Compares the rounds of one thread count and mode. Each round: { native, addon, injected? },
 * each side { loadMs?, perRunMs: {encode, decode, batchd, prompt}, wallPerRunMs, measuredCpuMs, wallMs }.
 * Each side's figure per stage is the wall time per run around each whisper.cpp call, timed by
 * the same loop on both sides (it includes an injected slowdown; whisper.cpp's own timing of the
 * same calls, perRunMs, differs from it by microseconds and is kept in the JSON).
 */
export function compareRounds(rounds, { selfCheck = true } = {}) {
  if (!Array.isArray(rounds) || rounds.length === 0) throw new Error('no rounds to compare');
  const fig = (side, stage) => rounds.map((r) => (stage === 'load' ? r[side].loadMs : r[side].wallPerRunMs[stage]));
  const hasLoad = rounds.every((r) => typeof r.native.loadMs === 'number' && typeof r.addon.loadMs === 'number');
  const stages = (hasLoad ? STAGES : LOOP_STAGES).map((s) => compareStage(s, fig('native', s), fig('addon', s)));
  const cpuOf = (side) => rounds.map((r) => r[side].measuredCpuMs);
  const busyOf = (side) => rounds.map((r) => r[side].measuredCpuMs / r[side].wallMs);
  const cpu = {
    nativeMs: summarize(cpuOf('native')),
    addonMs: summarize(cpuOf('addon')),
    ratio: pairedRatio(cpuOf('addon'), cpuOf('native'), BOOTSTRAP),
    nativeBusy: summarize(busyOf('native')),
    addonBusy: summarize(busyOf('addon')),
  };
  let check = null;
  if (selfCheck && rounds.every((r) => r.injected)) {
    // the known effect: injected against the same addon, so the true ratio is exactly 1 + inject
    const injectedStages = LOOP_STAGES.map((s) => compareStage(s, fig('addon', s), fig('injected', s)));
    check = { stages: injectedStages, flagged: injectedStages.every((s) => s.verdict === 'FAIL'), injected: rounds[0].injected.injected };
  }
  return {
    stages,
    cpu,
    selfCheck: check,
    pass: stages.every((s) => s.meetsTarget) && (check === null || check.flagged),
  };
}

/** Milliseconds for a table: 1 decimal from 100, 2 from 1, else 3 significant digits. */
export function fmtMs(x) {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

const fmtRatio = (r) => `${r.ratio.toFixed(3)} [${r.low.toFixed(3)}, ${r.high.toFixed(3)}]`;

function cellVerdict(s) {
  if (s.verdict !== 'inconclusive') return s.verdict;
  const more = s.roundsToResolve ? `; ~${s.roundsToResolve} rounds would resolve it` : '';
  return `inconclusive (estimate ${s.meetsTarget ? 'meets' : 'misses'} target${more})`;
}

/** The markdown table of one thread count × mode. */
export function formatModeTable(result) {
  const check = result.selfCheck;
  const head = ['stage', 'native median', 'addon median', 'addon/native [95% CI]', 'target', 'verdict'];
  if (check) head.push(`self-check: +${Math.round(check.injected * 100)}% injected / addon [95% CI]`, 'flagged');
  const rows = result.stages.map((s) => {
    const row = [STAGE_LABELS[s.stage] ?? s.stage, fmtMs(s.native.median), fmtMs(s.other.median), fmtRatio(s.ratio), `≤ ${s.target.toFixed(2)}`, cellVerdict(s)];
    if (check) {
      const c = check.stages.find((x) => x.stage === s.stage);
      row.push(c ? fmtRatio(c.ratio) : '—', c ? (c.verdict === 'FAIL' ? 'yes (FAIL)' : `NO (${c.verdict})`) : '—');
    }
    return row;
  });
  const c = result.cpu;
  const lines = [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i >= 1 && i <= 4 ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    `CPU per round (process CPU time, all threads): native ${fmtMs(c.nativeMs.median)} ms, addon ${fmtMs(c.addonMs.median)} ms, ` +
      `addon/native ${fmtRatio(c.ratio)}; cores busy during the measured calls: native ${c.nativeBusy.median.toFixed(2)}, addon ${c.addonBusy.median.toFixed(2)}.`,
  ];
  if (check) {
    lines.push(
      `Self-check: ${check.flagged ? 'passed — every stage with the injected slowdown is FAIL' : 'NOT passed — the detector missed the injected slowdown on ' + check.stages.filter((s) => s.verdict !== 'FAIL').map((s) => s.stage).join(', ') + ': run more rounds'}.`,
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * Parses whole whisper-bench output (stderr) for the reference line: per-run timings of
 * encode, decode, batchd and prompt, load time and threads.
 */
export function parseNativeBench(stderr) {
  const lines = String(stderr)
    .split(/\r?\n/)
    .map((text) => ({ text }));
  const hasLoad = lines.some(({ text }) => /load time =\s*[\d.]+ ms/.test(text));
  const t = parseTimings(lines);
  if (!hasLoad || t.encode.runs === 0) {
    const tail = lines.slice(-5).map((l) => l.text).join(' | ');
    throw new Error(`no whisper_print_timings in the native whisper-bench's output (last lines: ${tail})`);
  }
  const perRun = (s) => (s.runs > 0 ? s.totalMs / s.runs : 0);
  let threads = null;
  let systemInfo = null;
  for (const { text } of lines) {
    const m = /^system_info: n_threads = (\d+) \/ \d+ \| (.*)$/.exec(text);
    if (m) {
      threads = Number(m[1]);
      systemInfo = m[2].trim();
    }
  }
  return {
    loadMs: t.loadMs,
    perRunMs: { encode: perRun(t.encode), decode: perRun(t.decode), batchd: perRun(t.batchd), prompt: perRun(t.prompt) },
    runs: { encode: t.encode.runs, decode: t.decode.runs, batchd: t.batchd.runs, prompt: t.prompt.runs },
    threads,
    systemInfo,
  };
}
