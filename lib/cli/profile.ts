/** `whisper-perf profile`: one scenario under perf or valgrind; reports in a folder and a short summary. */
import { basename } from 'node:path';

import { parseOneInt as one, usageError } from '../measure/params.js';
import { profile, PROFILE_TOOLS, PROFILE_WHATS, type ProfileResult, type ProfileTool, type ProfileWhat } from '../workloads/profile.js';
import { WhisperPerfError } from '../errors.js';
import { validateModelFile } from '../models/ggml.js';
import { mdTable } from '../report/table.js';
import { CliContext, parse, writeData } from './context.js';

export const PROFILE_HELP = `usage: whisper-perf profile --tool perf|massif|memcheck|callgrind [options]

Runs one scenario of a model in a child process under a profiler, writes the tool's
reports into a folder and prints a short summary:
  perf       perf stat (task clock, context switches, page faults; cycles,
             instructions, IPC, cache and branch misses where the CPU exposes its
             counters) and perf record → top functions. Counts cover the scenario only
             (perf's control FIFO switches counting on around it).
  massif     valgrind: peak heap and the allocation sites at the peak
  memcheck   valgrind: errors and leaks
  callgrind  valgrind: instructions per function → top functions
Valgrind runs the whole process 20-100× slower, one thread at a time (default -t 1).
Where the kernel forbids perf events, or the CPU exposes no hardware counters (most
virtual machines), the command says so; valgrind needs no permission.

options:
  -m, --model PATH    ggml model (default: synthetic tiny.en)
  -w, --what W        encode (default: one encode of 30 s), decode (256 single-token
                      decodes after an encode), transcribe (whisper_full of 30 s) or load
                      (the model loaded and freed: no compute, the shortest under valgrind)
      --tool TOOL     perf, massif, memcheck or callgrind (required)
  -t, --threads N     threads (default min(4, cores) under perf, 1 under valgrind)
  -r, --repeat N      scenario runs (default 1)
  -f, --file PATH     audio for --what transcribe (default: 30 s of test signal)
      --build NAME    the addon build to profile (whisper-perf builds; default: the loaded
                      one). Valgrind does not emulate AVX-512: under valgrind an AVX-512 build
                      gives way to one without it (e.g. generic) when there is one
      --out-dir DIR   where the reports go (default whisper-perf-profile/TOOL-WHAT-TIME)
      --timeout S     stop a tool run after S seconds (default 600)
  -o, --output FMT    md (default) or json
      --out FILE      write the summary to FILE instead of stdout
  -h, --help          this help

Exit code 1 when the tool is missing or not permitted, or the run failed.
`;

export async function runProfile(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('profile', argv, {
    model: { type: 'string', short: 'm' },
    what: { type: 'string', short: 'w' },
    tool: { type: 'string' },
    threads: { type: 'string', short: 't' },
    repeat: { type: 'string', short: 'r' },
    file: { type: 'string', short: 'f' },
    'out-dir': { type: 'string' },
    output: { type: 'string', short: 'o' },
    out: { type: 'string' },
    timeout: { type: 'string' },
    build: { type: 'string' },
  });
  if (values.help) {
    ctx.stdout(PROFILE_HELP);
    return 0;
  }
  if (positionals.length) throw new WhisperPerfError(`profile: unexpected argument ${JSON.stringify(positionals[0])}`, 'USAGE');
  const tool = values.tool;
  if (!tool) throw new WhisperPerfError(`profile: --tool is required (${PROFILE_TOOLS.join(', ')})`, 'USAGE');
  if (!(PROFILE_TOOLS as readonly string[]).includes(tool)) throw usageError('--tool', tool, `expected ${PROFILE_TOOLS.join(', ')}`);
  const what = values.what ?? 'encode';
  if (!(PROFILE_WHATS as readonly string[]).includes(what)) throw usageError('--what', what, `expected ${PROFILE_WHATS.join(', ')}`);
  const format = values.output ?? 'md';
  if (format !== 'md' && format !== 'json') throw usageError('-o', format, 'expected md or json');
  const threads = one('-t', values.threads, 1, 1024);
  const repeat = one('-r', values.repeat, 1, 1000);
  const timeout = one('--timeout', values.timeout, 1, 86400);
  if (values.model) {
    try {
      await validateModelFile(values.model);
    } catch (e) {
      throw usageError('-m', values.model, `not a usable ggml model (${e instanceof WhisperPerfError ? e.message : String(e)})`);
    }
  }
  const r = await profile({
    tool: tool as ProfileTool,
    what: what as ProfileWhat,
    model: values.model,
    file: values.file,
    threads,
    repeat,
    outDir: values['out-dir'],
    build: values.build,
    timeoutMs: timeout !== undefined ? timeout * 1000 : undefined,
    onProgress: (m) => ctx.stderr(`profile: ${m}\n`),
  });
  writeData(ctx, format === 'json' ? JSON.stringify(r, null, 2) : profileMarkdown(r), values.out);
  return 0;
}

const fmt = (v: number | string) => (typeof v === 'number' ? (Number.isInteger(v) && Math.abs(v) >= 10000 ? v.toLocaleString('en-US') : String(v)) : v);

/** The summary: metrics, top functions (or allocation sites, or error kinds), files and notes. */
export function profileMarkdown(r: ProfileResult): string {
  const head = `${r.tool} — ${r.what} of ${basename(r.model)} on ${r.threads} thread${r.threads === 1 ? '' : 's'} × ${r.repeat}; ${r.scenario_only ? 'counts cover the scenario only' : 'counts cover the whole process'}; build ${r.build.variant} ${r.build.build_type}\n\n`;
  const metrics = r.metrics.length ? mdTable(['metric', 'value', 'unit', 'note'], r.metrics.map((m) => [m.name, fmt(m.value), m.unit ?? '', m.note ?? ''])) : '';
  const title = r.tool === 'massif' ? 'allocation sites at the peak' : r.tool === 'memcheck' ? 'error kinds' : 'top functions (self)';
  const top = r.top_functions.length
    ? `\n${title}:\n\n` +
      mdTable(
        r.tool === 'memcheck' ? ['kind'] : ['%', 'function', ...(r.top_functions.some((f) => f.object) ? ['object'] : [])],
        r.top_functions.map((f) => (r.tool === 'memcheck' ? [f.name] : [f.percent.toFixed(2), f.name, ...(r.top_functions.some((x) => x.object) ? [f.object ?? ''] : [])])),
      )
    : '';
  const files = `\nReports in ${r.out_dir}: ${r.files.join(', ')}\n`;
  const notes = r.notes.length ? `\nNotes:\n\n${r.notes.map((n) => `- ${n}`).join('\n')}\n` : '';
  return head + metrics + top + files + notes;
}
