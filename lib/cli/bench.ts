/** `whisper-perf bench`: parse, validate everything up front, run, print. */
import { benchmark, BenchmarkOptions } from '../workloads/engine.js';
import { parseBoolList, parseDeviceList, parseIntList, parseOutputFormat, parseStringList, usageError } from '../measure/params.js';
import type { BenchWhat } from '../measure/types.js';
import { WhisperPerfError } from '../errors.js';
import { validateModelFile } from '../models/ggml.js';
import { formatRows } from '../report/formats.js';
import { MAX_THREADS } from '../validate.js';
import { CliContext, parse, writeData } from './context.js';
import { progressSink } from './progress.js';
import { benchmarkBuilds } from '../workloads/variants.js';
import { resolveBuilds } from '../workloads/builds.js';
import { benchWithStore, STORE_OPTIONS, wantsStore } from './store-options.js';
import { STORE_OPTIONS_HELP } from './store-options.js';

export const BENCH_HELP = `usage: whisper-perf bench [options]

Runs whisper.cpp's whisper-bench workload in-process: one encode, 256 single-token
decodes, 64 five-token batches and 16 prompts of 256 tokens per repetition, after a
cold run and warm-up. Every option that takes a value takes a list (a,b,c) and
integer ranges (1-8, 1-16*2 doubling, 2-12+2 stepping); the run is their product.

options:
  -m, --model LIST       ggml model files (default: synthetic tiny.en, generated once)
  -t, --threads LIST     thread counts (default: min(4, cores))
  -r, --repetitions N    measured repetitions per cell (default 3)
      --warmup N         heat-up loops after the cold run (default 1)
      --fa LIST          flash attention on/off (default on)
      --device LIST      cpu or GPU indices, e.g. cpu,0 (default cpu without a GPU build)
  -w, --what LIST        encoder (default), memcpy, mulmat; encoder,mulmat also gives the
                         encoder's share of the measured mul_mat peak
  -o, --output FMT       md (default), csv, json, jsonl, sql
      --out FILE         write the data to FILE instead of stdout (atomically)
      --delay SECONDS    pause between cells (default 0)
      --quick            shortened workload (32 decodes, 8 batches, 2 prompts)
      --build LIST       addon builds to compare (whisper-perf builds lists them: native,generic
                         ...): each runs the sweep in its own process; the table shows each
                         build's variant and options and its time ratio to the first build;
                         a build that is not there or cannot run here is a row with the reason
      --no-progress      no progress bar even on a terminal
${STORE_OPTIONS_HELP}  -h, --help             this help

Exit code 1 when any cell failed (its row carries the error), 2 on a usage error.
`;

export async function runBench(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('bench', argv, {
    model: { type: 'string', short: 'm', multiple: true },
    threads: { type: 'string', short: 't' },
    repetitions: { type: 'string', short: 'r' },
    warmup: { type: 'string' },
    fa: { type: 'string' },
    device: { type: 'string' },
    what: { type: 'string', short: 'w' },
    output: { type: 'string', short: 'o' },
    out: { type: 'string' },
    delay: { type: 'string' },
    quick: { type: 'boolean' },
    build: { type: 'string' },
    'no-progress': { type: 'boolean' },
    ...STORE_OPTIONS,
  });
  if (values.help) {
    ctx.stdout(BENCH_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new WhisperPerfError(`bench: unexpected argument ${JSON.stringify(positionals[0])}`, 'USAGE');

  const what = parseStringList('-w', values.what ?? 'encoder') as BenchWhat[];
  for (const w of what) if (!['encoder', 'memcpy', 'mulmat'].includes(w)) throw usageError('-w', w, 'expected encoder, memcpy or mulmat');
  const format = parseOutputFormat(values.output ?? 'md');
  const threads = values.threads ? parseIntList('-t', values.threads, { min: 1, max: MAX_THREADS }) : undefined;
  const repetitions = values.repetitions ? single('-r', parseIntList('-r', values.repetitions, { min: 1, max: 10000 })) : undefined;
  const warmup = values.warmup ? single('--warmup', parseIntList('--warmup', values.warmup, { min: 0, max: 100 })) : undefined;
  const delay = values.delay ? single('--delay', parseIntList('--delay', values.delay, { min: 0, max: 3600 })) : 0;
  const flashAttn = values.fa ? parseBoolList('--fa', values.fa) : undefined;
  const devices = values.device ? parseDeviceList('--device', values.device) : undefined;
  const models = (values.model ?? []).flatMap((m) => parseStringList('-m', m));
  // every model is checked before anything runs: a bad one is a usage error, not a failed cell
  for (const m of models) {
    try {
      await validateModelFile(m);
    } catch (e) {
      const why = e instanceof WhisperPerfError ? e.message : String(e);
      throw usageError('-m', m, `not a usable ggml model (${why})`);
    }
  }

  const progress = progressSink(process.stderr, values['no-progress'] ? false : undefined);
  const options: BenchmarkOptions = {
    what,
    models: models.length ? models : undefined,
    threads,
    repetitions,
    warmup,
    flashAttn,
    devices,
    delayMs: delay * 1000,
    workload: values.quick ? { nDecode: 32, nBatch: 8, nPrompt: 2 } : undefined,
    onProgress: (p) => {
      if (p.total === 1 && p.done === 0 && p.label.startsWith('generating')) progress.note(p.label);
      else progress.update(p.done, p.total, p.label, p.etaMs);
    },
  };
  // --build LIST: the same sweep once per addon build, each in its own child process
  const builds = values.build ? parseStringList('--build', values.build) : undefined;
  // the same build twice, or no build that can run, is a usage error before anything runs; a build
  // that is absent or cannot run here becomes a row with its reason
  if (builds) resolveBuilds(builds, undefined, { unusable: 'keep' });
  const measure = (o: BenchmarkOptions) => (builds ? benchmarkBuilds({ ...o, builds }) : benchmark(o));
  // --db / --save / --tag / --resume: every finished cell is committed to the store before the next begins
  const sweepGiven = ['model', 'threads', 'repetitions', 'warmup', 'fa', 'device', 'what', 'delay', 'quick', 'build'].some((k) => values[k as keyof typeof values] !== undefined);
  const rows = wantsStore(values) ? await benchWithStore(values, argv, options, ctx, measure, { sweepGiven, perCell: !builds }) : await measure(options);
  progress.done();
  writeData(ctx, formatRows(rows, format), values.out);
  const failed = rows.filter((r) => r.error);
  for (const r of failed) ctx.stderr(`whisper-perf: cell failed: ${r.build_name ? `[${r.build_name}] ` : ''}${r.model || r.what} -t ${r.threads}: ${r.error!.message} [${r.error!.code}]\n`);
  return failed.length > 0 ? 1 : 0;
}

function single(option: string, values: number[]): number {
  if (values.length !== 1) throw usageError(option, values.join(','), 'takes one value');
  return values[0];
}
