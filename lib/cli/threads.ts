/** `whisper-perf threads`: the fastest, most efficient and knee thread counts, with the table behind them. */
import { parseBoolList, parseOneInt as one, usageError } from '../measure/params.js';
import { threads, type ThreadsResult } from '../workloads/threads.js';
import { WhisperPerfError } from '../errors.js';
import { validateModelFile } from '../models/ggml.js';
import { mdTable } from '../report/table.js';
import { CliContext, parse, writeData } from './context.js';
import { progressSink } from './progress.js';

export const THREADS_HELP = `usage: whisper-perf threads [-m MODEL] [-f FILE] [options]

Finds the best thread counts for a model on this machine: sweeps 1 ... the logical
cores, doubling (1, 2, 4, ... and the core count) until a doubling cuts the time by
less than --min-gain, then bisecting around the best count. Answers, each with its
reason and the table behind it:
  fastest         the lowest median time
  most efficient  the highest speed-up per thread (for many jobs at once: throughput)
  knee            the smallest count after which no larger count is 10% faster
One run is whisper-bench's shortened workload (1 encode, 32 decodes, 8 batches,
2 prompts), or with -f a transcription of FILE (greedy, no temperature fallback).

options:
  -m, --model PATH     ggml model (default: synthetic tiny.en)
  -f, --file PATH      audio to transcribe instead of the bench workload
  -r, --repetitions N  runs per thread count (default 3)
      --max N          largest thread count (default: the logical cores)
      --fa on|off      flash attention (default on)
      --min-gain F     a doubling must cut the time by this fraction to go on (default 0.05)
  -o, --output FMT     md (default) or json
      --out FILE       write the data to FILE instead of stdout
      --no-progress    no progress bar even on a terminal
  -h, --help           this help
`;

export async function runThreads(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('threads', argv, {
    model: { type: 'string', short: 'm' },
    file: { type: 'string', short: 'f' },
    repetitions: { type: 'string', short: 'r' },
    max: { type: 'string' },
    fa: { type: 'string' },
    'min-gain': { type: 'string' },
    output: { type: 'string', short: 'o' },
    out: { type: 'string' },
    'no-progress': { type: 'boolean' },
  });
  if (values.help) {
    ctx.stdout(THREADS_HELP);
    return 0;
  }
  if (positionals.length) throw new WhisperPerfError(`threads: unexpected argument ${JSON.stringify(positionals[0])}`, 'USAGE');
  const format = values.output ?? 'md';
  if (format !== 'md' && format !== 'json') throw usageError('-o', format, 'expected md or json');
  const repetitions = one('-r', values.repetitions, 1, 1000);
  const maxThreads = one('--max', values.max, 1, 1024);
  const fa = values.fa ? parseBoolList('--fa', values.fa) : undefined;
  if (fa && fa.length !== 1) throw usageError('--fa', values.fa!, 'takes one value (on or off)');
  let minGain: number | undefined;
  if (values['min-gain'] !== undefined) {
    minGain = Number(values['min-gain']);
    if (!(minGain >= 0 && minGain < 1)) throw usageError('--min-gain', values['min-gain'], 'a fraction from 0 to 1, e.g. 0.05');
  }
  if (values.model) {
    try {
      await validateModelFile(values.model);
    } catch (e) {
      throw usageError('-m', values.model, `not a usable ggml model (${e instanceof WhisperPerfError ? e.message : String(e)})`);
    }
  }
  const progress = progressSink(process.stderr, values['no-progress'] ? false : undefined);
  const result = await threads({
    model: values.model,
    file: values.file,
    repetitions,
    maxThreads,
    flashAttn: fa?.[0],
    minGain,
    onProgress: (p) => (p.total === 1 && p.done === 0 && p.label.startsWith('generating') ? progress.note(p.label) : progress.update(p.done, p.total, p.label)),
  });
  progress.done();
  writeData(ctx, format === 'json' ? JSON.stringify(result, null, 2) : threadsMarkdown(result), values.out);
  return 0;
}

/** The sweep's table and the three answers with their reasons. */
export function threadsMarkdown(r: ThreadsResult): string {
  const marks = (t: number) =>
    [r.fastest.threads === t ? 'fastest' : '', r.most_efficient.threads === t ? 'most efficient' : '', r.knee.threads === t ? 'knee' : ''].filter(Boolean).join(', ');
  const hasRtf = r.points.some((p) => p.rtf !== undefined);
  const hasEnc = r.points.some((p) => p.encode_ms !== undefined);
  const table = mdTable(
    ['threads', 'phase', 'time ms', '± sd', ...(hasEnc ? ['encode ms'] : []), ...(hasRtf ? ['RTF'] : []), 'speed-up', 'efficiency', 'CPU %', 'peak RSS MB', ''],
    r.points.map((p) => [
      String(p.threads),
      p.phase,
      p.time_ms.median.toFixed(1),
      p.time_ms.sd.toFixed(1),
      ...(hasEnc ? [p.encode_ms ? p.encode_ms.median.toFixed(1) : ''] : []),
      ...(hasRtf ? [p.rtf !== undefined ? p.rtf.toFixed(3) : ''] : []),
      `${p.speedup.toFixed(2)}×`,
      `${(p.efficiency * 100).toFixed(0)}%`,
      p.cpu_pct !== undefined ? p.cpu_pct.toFixed(0) : '',
      p.peak_rss_mb !== undefined ? p.peak_rss_mb.toFixed(0) : '',
      marks(p.threads),
    ]),
  );
  const answers = mdTable(
    ['answer', 'threads', 'why'],
    [
      ['fastest', String(r.fastest.threads), r.fastest.reason],
      ['most efficient', String(r.most_efficient.threads), r.most_efficient.reason],
      ['knee', String(r.knee.threads), r.knee.reason],
    ],
  );
  const head = `${r.model.split('/').pop()} (${r.model_type}${r.synthetic ? ', synthetic' : ''}) on ${r.cpu_model}, ${r.cores} logical cores; one run: ${r.scenario}; ${r.repetitions} run${r.repetitions === 1 ? '' : 's'} per count\n\n`;
  const notes = [...(r.stopped_early ? [`- stopped early: ${r.stopped_early}`] : []), ...r.warnings.map((w) => `- ${w}`)];
  return head + table + '\n' + answers + (notes.length ? `\nNotes:\n\n${notes.join('\n')}\n` : '');
}
