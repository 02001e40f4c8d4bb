/**
 * The pure parts of bench/parity.mjs: argument parsing, parsing of the native whisper-bench's
 * stderr, the per-stage comparison (ratio of medians with a bootstrap 95% CI), the verdict
 * rule and the markdown table. Nothing here loads the addon or spawns a process, so it is
 * unit-tested (test/unit/parity.test.ts).
 *
 * It imports the compiled library modules directly (dist/, built by `npm run build`):
 * parseTimings is not part of the package's public API.
 */
import { parseArgs } from 'node:util';

import { parseTimings } from '../dist/logs.js';
import { ratio, summarize } from '../dist/bench/stats.js';

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

/**
 * The "runs" whisper-bench's measured part makes whisper.cpp count: 1 encode, 256 single-token
 * decodes, 64 five-token batches (320 tokens), 16 prompts of 256 tokens (4096 tokens).
 */
export const WHISPER_BENCH_RUNS = Object.freeze({ encode: 1, decode: 256, batchd: 64 * 5, prompt: 16 * 256 });

/** Differences between the runs whisper.cpp counted and WHISPER_BENCH_RUNS, as messages (none: the same workload). */
export function runMismatches(runs) {
  return Object.entries(WHISPER_BENCH_RUNS)
    .filter(([k, n]) => runs?.[k] !== n)
    .map(([k, n]) => `${k}: ${runs?.[k]} runs, expected ${n}`);
}

/** Bootstrap settings for the ratio CI (fixed seed: the same samples give the same interval). */
export const BOOTSTRAP = Object.freeze({ method: 'bootstrap', resamples: 2000, seed: 42 });

export const VERDICT_RULE =
  'ratio = median(addon) / median(native); 95% CI: percentile bootstrap of the ratio of medians ' +
  `(${BOOTSTRAP.resamples} resamples, seed ${BOOTSTRAP.seed}). ` +
  'Verdict: PASS when the whole CI is at or below the target, FAIL when the whole CI is above it, ' +
  'inconclusive when the CI straddles the target (or when a side has fewer than 2 rounds, so there is no CI). ' +
  'Exit status: 0 when every stage\'s median ratio is at or below its target, 1 otherwise.';

export const DEFAULT_ROUNDS = 6; // even: each side goes first equally often
export const QUICK_ROUNDS = 2;

export const PARITY_HELP = `usage: npm run bench:parity -- [options]

Runs whisper.cpp's own whisper-bench (build/Release/whisper-bench-native) and the addon's
equivalent (load, benchWorkload({heat: 2}), dispose) alternately, and compares whisper.cpp's
own timings: load, encode, decode, batchd and prompt per run.

options:
  -m, --model PATH    ggml model (default: the synthetic tiny.en)
  -t, --threads N     threads on both sides (default min(4, cores))
  -r, --rounds N      rounds; each runs both sides once, who goes first alternates (default ${DEFAULT_ROUNDS})
      --fa on|off     flash attention on both sides (default on, as whisper-bench)
      --no-gpu        no GPU on either side (whisper-bench -ng)
      --native PATH   the native whisper-bench (default build/Release/whisper-bench-native)
  -o, --output FMT    md (default) or json, on stdout
      --quick         smoke test: ${QUICK_ROUNDS} rounds unless -r says otherwise
  -h, --help          this help

Exit status: 0 when every median ratio meets its target (load <= ${TARGETS.load}, others <= ${TARGETS.encode}),
1 when one does not or a run fails, 2 for a usage or setup error.
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

/**
 * Parses parity.mjs's arguments. `cores` gives the default thread count, min(4, cores).
 * Returns { help } alone for -h.
 */
export function parseParityArgs(argv, { cores = 4, defaultNative = 'build/Release/whisper-bench-native' } = {}) {
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
  return {
    help: false,
    model: v.model,
    threads: v.threads === undefined ? Math.min(4, Math.max(1, cores)) : positiveInt('-t', v.threads, 1024),
    rounds: v.rounds === undefined ? (v.quick ? QUICK_ROUNDS : DEFAULT_ROUNDS) : positiveInt('-r', v.rounds, 1000),
    flashAttn: fa === 'on',
    useGpu: !v['no-gpu'],
    native: v.native ?? defaultNative,
    output,
    quick: Boolean(v.quick),
  };
}

/** The native whisper-bench's arguments for these options. */
export function nativeArgs({ model, threads, flashAttn, useGpu }) {
  const args = ['-m', model, '-t', String(threads)];
  if (!flashAttn) args.push('-nfa');
  if (!useGpu) args.push('-ng');
  return args;
}

/** Who runs first in round `i` (0-based): native first in even rounds, the addon in odd ones. */
export function roundOrder(i) {
  return i % 2 === 0 ? ['native', 'addon'] : ['addon', 'native'];
}

/**
 * Parses the native whisper-bench's stderr: whisper.cpp's load time and the per-run timings of
 * encode, decode, batchd and prompt, plus its system_info line. Per-run figures are
 * total / runs, which keeps the precision the printed "ms per run" (2 decimals) loses; for
 * batchd and prompt whisper.cpp counts a run per token, so those are ms per token.
 * Throws when the timings are missing (the run failed or printed something else).
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
  let systemInfo = null;
  let threads = null;
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

/** The verdict of one ratio against its target; see VERDICT_RULE. */
export function verdictFor(r, target, minSamples = 2) {
  if (minSamples < 2) return 'inconclusive';
  if (r.high <= target) return 'PASS';
  if (r.low > target) return 'FAIL';
  return 'inconclusive';
}

/** Compares one stage's samples (ms): summaries of each side, the ratio with its CI, the verdict. */
export function compareStage(stage, nativeSamples, addonSamples, target = TARGETS[stage]) {
  if (typeof target !== 'number') throw new Error(`no target for stage ${stage}`);
  const native = summarize(nativeSamples);
  const addon = summarize(addonSamples);
  const r = ratio(addon, native, BOOTSTRAP);
  return {
    stage,
    target,
    native,
    addon,
    ratio: r,
    verdict: verdictFor(r, target, Math.min(native.n, addon.n)),
    medianMeetsTarget: r.ratio <= target,
  };
}

/**
 * Compares the rounds, each { native: { loadMs, perRunMs }, addon: { loadMs, perRunMs } }.
 * `pass` is the exit-status rule: every median ratio at or below its target.
 */
export function compareRounds(rounds) {
  if (!Array.isArray(rounds) || rounds.length === 0) throw new Error('no rounds to compare');
  const pick = (side, stage) => rounds.map((r) => (stage === 'load' ? r[side].loadMs : r[side].perRunMs[stage]));
  const stages = STAGES.map((s) => compareStage(s, pick('native', s), pick('addon', s)));
  return { stages, pass: stages.every((s) => s.medianMeetsTarget), rule: VERDICT_RULE };
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

function cellVerdict(s) {
  if (s.verdict !== 'inconclusive') return s.verdict;
  return `inconclusive (median ${s.medianMeetsTarget ? 'meets' : 'misses'} target)`;
}

/** The markdown table of compareRounds' result, the rule below it. */
export function formatTable(result) {
  const head = ['stage', 'native median ± sd', 'addon median ± sd', 'ratio addon/native [95% CI]', 'target', 'verdict'];
  const rows = result.stages.map((s) => [
    STAGE_LABELS[s.stage] ?? s.stage,
    `${fmtMs(s.native.median)} ± ${fmtMs(s.native.sd)}`,
    `${fmtMs(s.addon.median)} ± ${fmtMs(s.addon.sd)}`,
    `${s.ratio.ratio.toFixed(3)} [${s.ratio.low.toFixed(3)}, ${s.ratio.high.toFixed(3)}]`,
    `≤ ${s.target.toFixed(2)}`,
    cellVerdict(s),
  ]);
  const n = result.stages[0]?.native.n ?? 0;
  const lines = [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i >= 1 && i <= 4 ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    `${n} round${n === 1 ? '' : 's'} per side. ${result.rule}`,
    '',
    `Result: ${result.pass ? 'PASS — every median ratio meets its target' : 'FAIL — a median ratio misses its target'}` +
      ` (${result.stages.filter((s) => s.verdict === 'PASS').length} PASS, ${result.stages.filter((s) => s.verdict === 'FAIL').length} FAIL, ` +
      `${result.stages.filter((s) => s.verdict === 'inconclusive').length} inconclusive).`,
  ];
  return lines.join('\n') + '\n';
}
