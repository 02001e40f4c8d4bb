/**
 * The pure parts of bench/parity.mjs: argument parsing, the paired per-stage comparison with its
 * verdict against a target, the self-check and the markdown report. The interleaved workload
 * (chunks, rotation, per-block figures) and the addon's side process are the product's own, in
 * lib/ab/ (dist/ab/), shared with `whisper-perf ab`.
 * Nothing here loads the addon or spawns a process, so it is unit-tested
 * (test/unit/parity.test.ts).
 *
 * It imports the compiled library modules directly (dist/, built by `npm run build`):
 * parseTimings is not part of the package's public API.
 */
import { parseArgs } from 'node:util';

import { parseTimings } from '../dist/logs.js';
import { summarize } from '../dist/measure/stats.js';
import { blockRatio } from '../dist/measure/ratios.js';
import { LOOP_STAGES } from '../dist/ab/chunks.js';
import { sideTunables } from '../dist/ab/malloc.js';

// the interleaved workload is the product's own (lib/ab/chunks.ts, shared with `whisper-perf ab`)
export { accumulateChunks, CHUNKS, HEAT, LOOP_STAGES, ROUND, runCommand, sideOrder, stageRuns } from '../dist/ab/chunks.js';

/** The compared stages, in table order. */
export const STAGES = Object.freeze(['load', 'encode', 'decode', 'batchd', 'prompt']);

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

export const MODES = Object.freeze(['fresh', 'served']);
/** Blocks per thread count and mode: each block starts fresh processes for every side. */
export const DEFAULT_BLOCKS = 45;
/** Rounds per block. */
export const DEFAULT_ROUNDS = 1;
export const QUICK_BLOCKS = 6;
/** A table whose self-check has not flagged every stage is extended at most this many times. */
export const MAX_EXTENSIONS = 2;
export const DEFAULT_INJECT = 0.05;
/**
 * The environment of a side's process: GLIBC_TUNABLES gains the huge-page tunable when asked. The
 * mmap threshold stays glibc's: `ab` holds it fixed, and this table's figures were measured without.
 */
export function sideEnv(base, { hugepages }) {
  const env = { ...base };
  const tunables = sideTunables(env.GLIBC_TUNABLES, { hugepages, fixedMmap: false });
  if (tunables !== undefined) env.GLIBC_TUNABLES = tunables;
  return env;
}

export const VERDICT_RULE =
  'A block starts a fresh process for every side (native whisper.cpp, the addon, and for the self-check the addon with a ' +
  'known injected slowdown), one after another, and runs the same short chunks of calls on each, the sides taking turns ' +
  'chunk by chunk in rotating order, so drift over time cancels within the block. A process brings a speed of its own ' +
  '(where its memory landed, the order it was started in: two native processes of the same binary differ by up to 10% ' +
  'on decode here), so the unit of replication is a set of blocks in which every side was started in every position ' +
  'once. ratio = exp(mean over units of the mean ln(addon/native) of their blocks); 95% CI: Student t over units. ' +
  'Verdict: PASS when the whole CI is at or below the target, FAIL when the whole CI is above it, inconclusive when it ' +
  'straddles the target. Self-check: the same test on the same blocks between the addon with the injected slowdown and ' +
  'the addon without it, two processes of their own as addon and native are (a ratio of 1 + the injection times the ' +
  'ratio of the two processes\' own call times, which whisper.cpp\'s timing shows and the table prints); it ' +
  'is passed when every stage is FAIL, i.e. a slowdown of that size above the target is seen at this number of blocks. ' +
  'A table whose self-check has not flagged every stage after the blocks asked for runs more blocks (at most twice, up to ' +
  '--max-blocks), as many as the unflagged self-check intervals say would flag them; that decision looks only at the ' +
  'self-check, never at the addon\'s own ratios, and every figure of the table is taken over all its blocks.';

export const PARITY_HELP = `usage: npm run bench:parity -- [options]

Does the addon add overhead to whisper.cpp? Alternates short chunks of whisper-bench's workload
(one encode, 32 decodes, 4 batches or one prompt) between a native process
(build/Release/whisper-perf-native-bench: the same whisper.cpp build and the same loop, no Node)
and a Node process running the addon (dist/ab/side.js, as whisper-perf ab), a fraction of a second each. Every
block starts fresh processes, in rotating start order, because a process's own speed varies. A
self-check runs a third side, the addon with a known injected slowdown (--inject), which the
detector must flag as FAIL: the proof that "within target" is not just noise.

options:
  -m, --model PATH    ggml model (default: the synthetic tiny.en)
  -t, --threads LIST  thread counts, each measured separately (default 1 and the core count: 1,${'${cores}'})
  -b, --blocks N      blocks per thread count and mode, each with fresh processes; rounded up to
                      whole units (3 blocks with the self-check, 2 without) (default ${DEFAULT_BLOCKS})
      --max-blocks N  when the self-check has not flagged every stage after -b blocks, the table
                      is extended (at most ${MAX_EXTENSIONS} times) to the blocks its interval says
                      would flag it, up to N (default twice -b; equal to -b: never extend)
  -r, --rounds N      rounds per block (default ${DEFAULT_ROUNDS})
      --mode LIST     fresh (a model loaded for each round: serves nothing else) and/or served (the
                      block's model first serves a transcription, then mel, encode and decode calls
                      before each round with the thread pool kept busy) (default fresh,served)
      --inject F      the self-check's injected slowdown, a fraction (default ${DEFAULT_INJECT})
      --no-self-check skip the injected side (faster, but says nothing about the detector's power)
      --no-reference  skip the one whole whisper-bench run per thread count shown for reference
      --no-hugepages  leave glibc's malloc as it is; by default every side (and the reference run) runs
                      with GLIBC_TUNABLES=glibc.malloc.hugetlb=1, so ggml's large buffers get
                      transparent huge pages: 4 KiB pages place a process's buffers differently in
                      the caches every time, which spreads one process's speed from the next
      --native-main-thread  the native driver computes on its main thread, as whisper-bench does;
                      by default it computes on a second thread, as the addon must (its calls run
                      off the event loop): a thread's allocations come from a non-main malloc arena,
                      which here got few huge pages, so a load on a thread faulted 3.4x the pages
                      and took ~45% longer (native 109 -> 156 ms, tiny.en) for native and addon alike
      --fa on|off     flash attention on both sides (default on, as whisper-bench)
      --no-gpu        no GPU on either side
      --native PATH   the native driver (default build/Release/whisper-perf-native-bench)
  -o, --output FMT    md (default) or json, on stdout
      --quick         smoke test: ${QUICK_BLOCKS} blocks, the core count only, fresh mode only
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
        blocks: { type: 'string', short: 'b' },
        'max-blocks': { type: 'string' },
        rounds: { type: 'string', short: 'r' },
        mode: { type: 'string' },
        inject: { type: 'string' },
        'no-self-check': { type: 'boolean' },
        'no-reference': { type: 'boolean' },
        'native-thread': { type: 'boolean' },
        'native-main-thread': { type: 'boolean' },
        'no-hugepages': { type: 'boolean' },
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
  const selfCheck = !v['no-self-check'];
  let inject = DEFAULT_INJECT;
  if (v.inject !== undefined) {
    inject = Number(v.inject);
    if (!/^\d*\.?\d+$/.test(v.inject) || !(inject > 0 && inject < 1)) throw new UsageError(`--inject: expected a fraction between 0 and 1, got ${JSON.stringify(v.inject)}`);
  }
  const unit = selfCheck ? 3 : 2;
  const blocks = roundUp(v.blocks === undefined ? (v.quick ? QUICK_BLOCKS : DEFAULT_BLOCKS) : positiveInt('-b', v.blocks, 10000), unit);
  const maxBlocks = v['max-blocks'] === undefined ? (v.quick ? blocks : 2 * blocks) : roundUp(positiveInt('--max-blocks', v['max-blocks'], 20000), unit);
  if (maxBlocks < blocks) throw new UsageError(`--max-blocks: ${maxBlocks} is fewer than the ${blocks} blocks of -b`);
  return {
    help: false,
    model: v.model,
    threads,
    blocks,
    maxBlocks,
    rounds: v.rounds === undefined ? DEFAULT_ROUNDS : positiveInt('-r', v.rounds, 1000),
    modes,
    selfCheck,
    inject,
    reference: !v['no-reference'],
    // --native-thread (the default) is still accepted
    nativeThread: !v['native-main-thread'],
    hugepages: !v['no-hugepages'],
    flashAttn: fa === 'on',
    useGpu: !v['no-gpu'],
    native: v.native ?? defaultNative,
    output,
    quick: Boolean(v.quick),
  };
}

const roundUp = (n, k) => Math.ceil(n / k) * k;

/** The native driver's arguments for these options (the addon driver takes the same). */
export function nativeArgs({ model, threads, flashAttn, useGpu, nativeThread = false }) {
  const args = ['-m', model, '-t', String(threads)];
  if (!flashAttn) args.push('-nfa');
  if (!useGpu) args.push('-ng');
  if (nativeThread) args.push('--on-thread');
  return args;
}

/** The verdict of a ratio's interval against a target; see VERDICT_RULE. */
export function verdictFor(r, target) {
  if (r.n < 2) return 'inconclusive';
  if (r.high <= target) return 'PASS';
  if (r.low > target) return 'FAIL';
  return 'inconclusive';
}

/**
 * Blocks that would make the interval fit on one side of the target, from this run's width (the
 * half-width shrinks as 1/√units): null when the estimate sits on the target.
 */
export function blocksToResolve(r, target, unitSize) {
  const margin = Math.abs(Math.log(r.ratio) - Math.log(target));
  if (margin === 0 || r.n < 2) return null;
  const half = r.ratio > target ? Math.log(r.ratio) - Math.log(r.low) : Math.log(r.high) - Math.log(r.ratio);
  return Math.ceil(r.n * (half / margin) ** 2) * unitSize;
}

/**
 * Whether a table should run more blocks, and to how many: only when the self-check has not yet
 * flagged every stage (its power is not shown at this number of blocks), never on the addon's own
 * verdict (that would be stopping when the answer looks right). The new total is what the
 * unflagged self-check intervals say would flag them (blocksToResolve), at least one more unit,
 * at most maxBlocks, and it happens at most MAX_EXTENSIONS times. A self-check stage whose estimate
 * is at or below the target saw less than the target: more blocks would not flag it, so none.
 * Returns { to, stages } or null.
 */
export function extendTo(cmp, { blocksRun, maxBlocks, extensions }) {
  const check = cmp.selfCheck;
  if (!check || check.flagged || extensions >= MAX_EXTENSIONS || blocksRun >= maxBlocks) return null;
  const missed = check.stages.filter((s) => s.verdict !== 'FAIL');
  // an estimate at or below the target: more blocks would more likely confirm that than flag it
  if (missed.some((s) => s.ratio.n >= 2 && !(s.ratio.ratio > s.target))) return null;
  // one unit has no interval yet: at least one more
  const want = Math.max(...missed.map((s) => (s.ratio.n >= 2 ? s.blocksToResolve : 0)), blocksRun + cmp.unitSize);
  return { to: Math.min(maxBlocks, roundUp(want, cmp.unitSize)), stages: missed.map((s) => s.stage) };
}

/** One stage: each side's summary, the ratio against native over units of blocks, its verdict. */
export function compareStage(stage, nativeSamples, otherSamples, unitSize, target = TARGETS[stage]) {
  if (typeof target !== 'number') throw new Error(`no target for stage ${stage}`);
  const r = blockRatio(otherSamples, nativeSamples, unitSize);
  const verdict = verdictFor(r, target);
  return {
    stage,
    target,
    native: summarize(nativeSamples),
    other: summarize(otherSamples),
    ratio: r,
    verdict,
    meetsTarget: r.ratio <= target,
    blocksToResolve: verdict === 'inconclusive' ? blocksToResolve(r, target, unitSize) : null,
  };
}

/**
 * Compares the blocks of one thread count and mode, in the order they ran (consecutive
 * `unitSize` blocks form a unit: every side started in every position once; by default the
 * number of sides). Each block: { native, addon, injected? }, each side { loadMs?, perRunMs:
 * {encode, decode, batchd, prompt}, wallPerRunMs, measuredCpuMs, wallMs } over the block's rounds.
 * Each side's figure per stage is the wall time per run around each whisper.cpp call, timed by
 * the same loop on both sides (it includes an injected slowdown; whisper.cpp's own timing of the
 * same calls, perRunMs, differs from it by microseconds and is kept in the JSON): the median over
 * the block's chunks of that stage (chunkMedianMs) when given, else the block's mean.
 */
export function compareBlocks(blocks, { selfCheck = true, unitSize } = {}) {
  if (!Array.isArray(blocks) || blocks.length === 0) throw new Error('no blocks to compare');
  const withCheck = selfCheck && blocks.every((r) => r.injected);
  const k = unitSize ?? (withCheck ? 3 : 2);
  const fig = (side, stage) => blocks.map((r) => (stage === 'load' ? r[side].loadMs : (r[side].chunkMedianMs ?? r[side].wallPerRunMs)[stage]));
  const hasLoad = blocks.every((r) => typeof r.native.loadMs === 'number' && typeof r.addon.loadMs === 'number');
  const stages = (hasLoad ? STAGES : LOOP_STAGES).map((s) => compareStage(s, fig('native', s), fig('addon', s), k));
  const cpuOf = (side) => blocks.map((r) => r[side].measuredCpuMs);
  const busyOf = (side) => blocks.map((r) => r[side].measuredCpuMs / r[side].wallMs);
  const cpu = {
    nativeMs: summarize(cpuOf('native')),
    addonMs: summarize(cpuOf('addon')),
    ratio: blockRatio(cpuOf('addon'), cpuOf('native'), k),
    nativeBusy: summarize(busyOf('native')),
    addonBusy: summarize(busyOf('addon')),
  };
  let check = null;
  if (withCheck) {
    // the known effect: injected against the addon, each in processes of its own as addon and
    // native are, so the true ratio is exactly 1 + inject
    const injectedStages = LOOP_STAGES.map((s) => compareStage(s, fig('addon', s), fig('injected', s), k));
    // whisper.cpp's own timing of the same calls leaves the busy-wait out: injected/addon on it is
    // how much faster or slower the injected process's calls themselves ran, so the slowdown the
    // check really saw is about (1 + inject) × that
    const own = (side, stage) => blocks.map((r) => r[side].perRunMs[stage]);
    const ownRatio = Object.fromEntries(LOOP_STAGES.map((s) => [s, blockRatio(own('injected', s), own('addon', s), k)]));
    check = { stages: injectedStages, flagged: injectedStages.every((s) => s.verdict === 'FAIL'), injected: blocks[0].injected.injected, ownRatio };
  }
  return {
    unitSize: k,
    units: stages[0].ratio.n,
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

/** A ratio with its interval: 1.012 [1.004, 1.020]. */
export const fmtRatio = (r) => `${r.ratio.toFixed(3)} [${r.low.toFixed(3)}, ${r.high.toFixed(3)}]`;

function cellVerdict(s) {
  if (s.verdict !== 'inconclusive') return s.verdict;
  const more = s.blocksToResolve ? `; ~${s.blocksToResolve} blocks would resolve it` : '';
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
      `Self-check: ${check.flagged ? 'passed — every stage with the injected slowdown is FAIL' : 'NOT passed — the detector missed the injected slowdown on ' + check.stages.filter((s) => s.verdict !== 'FAIL').map((s) => s.stage).join(', ') + ': run more blocks'}.`,
      `The injected calls' own time (whisper.cpp's timing, without the busy-wait) / the addon's: ` +
        LOOP_STAGES.map((st) => `${st} ${fmtRatio(check.ownRatio[st])}`).join(', ') +
        `; the slowdown the check really saw is ${(1 + check.injected).toFixed(2)} × each.`,
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
