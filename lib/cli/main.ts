#!/usr/bin/env node
/**
 * whisper-perf command line: argument parsing and printing only; every command is a
 * thin call into the library. Data on stdout, progress and logs on stderr.
 * Exit codes: 0 ok, 1 a failed measurement, 2 a usage error.
 */
import { INPUT_ERROR_CODES, WhisperPerfError } from '../errors.js';
import { BENCH_HELP, runBench } from './bench.js';
import { SYSINFO_HELP, runSysinfo } from './sysinfo.js';
import { MODELS_HELP, runModels } from './models.js';
import { AUDIO_HELP, runAudio } from './audio.js';
import { WER_HELP, runWer } from './wer.js';
import { RTF_HELP, runRtf } from './rtf.js';
import { TRANSCRIBE_HELP, runTranscribe } from './transcribe.js';
import { PRESETS_HELP, runPresets } from './presets.js';
import { CAPACITY_HELP, STREAM_HELP, runCapacity, runStream } from './stream.js';
import { QUALITY_HELP, runQuality } from './quality.js';
import { BUILDS_HELP, runBuilds } from './builds.js';
import { THREADS_HELP, runThreads } from './threads.js';
import { RECOMMEND_HELP, runRecommend } from './recommend.js';
import { PROFILE_HELP, runProfile } from './profile.js';
import { REPORT_HELP, runReport } from './report.js';
import { COMPARE_HELP, runCompare } from './compare.js';
import { AB_HELP, runAb } from './ab.js';
import { DB_HELP, runDb } from './db.js';
import { FLEET_HELP, runFleet } from './fleet.js';
import { packageVersion } from '../system.js';

// the shared parts live in context.ts (no import circle); re-exported for older imports
export { parse, writeData, type CliContext, type OptionSpec, type Values } from './context.js';
import type { CliContext } from './context.js';

/** One command: its name, its line in the top-level help, its --help text and its handler (each in its own module). */
export interface Command {
  name: string;
  summary: string;
  help: string;
  run: (argv: string[], ctx: CliContext) => Promise<number>;
}

/** Every command, in the order the top-level help lists them. */
export const COMMANDS: readonly Command[] = [
  { name: 'bench', summary: "whisper-bench's workload (or memcpy / mul_mat) over models × threads × options,\nwith repetitions and statistics; the default model is a synthetic tiny.en", help: BENCH_HELP, run: runBench },
  { name: 'sysinfo', summary: "CPU, memory, whisper.cpp CPU features, ggml devices and the addon's build", help: SYSINFO_HELP, run: runSysinfo },
  { name: 'models', summary: "synth | download | list | info | quantize — make, fetch, list, check and quantize ggml models", help: MODELS_HELP, run: runModels },
  { name: 'audio', summary: "gen | info — write test audio (espeak-ng speech, silence, noise, tones); decode a file", help: AUDIO_HELP, run: runAudio },
  { name: 'wer', summary: "word error rate of transcripts against references, after an English normalizer", help: WER_HELP, run: runWer },
  { name: 'rtf', summary: "real-time factor: models × audio files × presets × threads, whole transcriptions", help: RTF_HELP, run: runRtf },
  { name: 'transcribe', summary: "transcribe audio files in-process: text, srt, vtt or json; timings on stderr", help: TRANSCRIBE_HELP, run: runTranscribe },
  { name: 'presets', summary: "the transcription presets (speed, balanced, quality, realtime) and their parameters", help: PRESETS_HELP, run: runPresets },
  { name: 'stream', summary: "whisper.cpp's stream example simulated on a file: per-step latency, keeps up or not", help: STREAM_HELP, run: runStream },
  { name: 'capacity', summary: "N concurrent transcriptions over one model's weights: throughput, largest real-time N", help: CAPACITY_HELP, run: runCapacity },
  { name: 'quality', summary: "models × quantizations × presets over files with references: RTF, WER, memory, size, frontier", help: QUALITY_HELP, run: runQuality },
  { name: 'builds', summary: "the addon builds side by side (build* folders, prebuilds) with their build info", help: BUILDS_HELP, run: runBuilds },
  { name: 'threads', summary: "the fastest, most efficient and knee thread counts for a model, with the table", help: THREADS_HELP, run: runThreads },
  { name: 'recommend', summary: "model, quantization, threads and preset for realtime|batch|embedded|server, with evidence", help: RECOMMEND_HELP, run: runRecommend },
  { name: 'profile', summary: "one scenario under perf or valgrind (massif, memcheck, callgrind): reports and a summary", help: PROFILE_HELP, run: runProfile },
  { name: 'report', summary: "reports over the results store (md, csv, json) or an HTML page with charts", help: REPORT_HELP, run: runReport },
  { name: 'compare', summary: "BASE CAND: each metric's ratio over runs and a verdict; exit 1 slower, 3 inconclusive", help: COMPARE_HELP, run: runCompare },
  { name: 'ab', summary: "SIDE SIDE: builds or configurations interleaved in fresh processes, a gate (--calibrate: its error rates)", help: AB_HELP, run: runAb },
  { name: 'fleet', summary: "submit | work | status | cancel | report — one sweep over many machines (pg-boss on PostgreSQL)", help: FLEET_HELP, run: runFleet },
  { name: 'db', summary: "info | runs | import | copy | delete | migrate — the results store (SQLite, PostgreSQL)", help: DB_HELP, run: runDb },
];

const HEAD = "whisper-perf — run whisper.cpp in-process and measure it\n\nusage: whisper-perf <command> [options]\n\n";
const TAIL = "\noptions:\n  -h, --help     show help (also after any command)\n  -v, --version  print the package version\n\nData goes to stdout, progress and logs to stderr. Exit codes: 0 ok, 1 a measurement\nfailed, 2 a usage error.\n";

/** The top-level help, made from the table. */
export const HELP = `${HEAD}commands:\n${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary.split('\n').join('\n' + ' '.repeat(13))}`).join('\n')}\n  help CMD   help for one command\n${TAIL}`;

/** The --help text of one command; the top-level help for an unknown one. */
export function helpFor(command: string): string {
  return COMMANDS.find((c) => c.name === command)?.help ?? HELP;
}

export async function main(argv: string[], ctx: CliContext): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      ctx.stdout(rest[0] && command === 'help' ? helpFor(rest[0]) : HELP);
      return 0;
    }
    if (command === '--version' || command === '-v') {
      ctx.stdout(packageVersion() + '\n');
      return 0;
    }
    const c = COMMANDS.find((x) => x.name === command);
    if (!c) throw new WhisperPerfError(`unknown command: ${command} (try: whisper-perf --help)`, 'USAGE');
    return await c.run(rest, ctx);
  } catch (e) {
    if (e instanceof WhisperPerfError) {
      ctx.stderr(`whisper-perf: ${e.message}${e.code === 'USAGE' || e.code === 'INVALID_ARGUMENT' ? '' : ` [${e.code}]`}\n`);
      return INPUT_ERROR_CODES.has(e.code) ? 2 : 1;
    }
    ctx.stderr(`whisper-perf: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}

const isMain = process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL((await import('node:fs')).realpathSync(process.argv[1])).href;
if (isMain) {
  const code = await main(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  });
  process.exitCode = code;
}
