#!/usr/bin/env node
/**
 * whisper-perf command line: argument parsing and printing only; every command is a
 * thin call into the library. Data on stdout, progress and logs on stderr.
 * Exit codes: 0 ok, 1 a failed measurement, 2 a usage error.
 */
import { INPUT_ERROR_CODES, WhisperPerfError } from '../errors.js';
import { HELP, helpFor } from './help.js';
import { runBench } from './bench.js';
import { runModels } from './models.js';
import { runAudio } from './audio.js';
import { runSysinfo } from './sysinfo.js';
import { runWer } from './wer.js';
import { runReport } from './report.js';
import { runCompare } from './compare.js';
import { runAb } from './ab.js';
import { runDb } from './db.js';
import { runRtf } from './rtf.js';
import { runTranscribe } from './transcribe.js';
import { runPresets } from './presets.js';
import { runBuilds } from './builds.js';
import { runThreads } from './threads.js';
import { runRecommend } from './recommend.js';
import { runProfile } from './profile.js';
import { runCapacity, runStream } from './stream.js';
import { runQuality } from './quality.js';
import { packageVersion } from '../system.js';

// the shared parts live in context.ts (no import circle); re-exported for older imports
export { parse, writeData, type CliContext, type OptionSpec, type Values } from './context.js';
import type { CliContext } from './context.js';

export async function main(argv: string[], ctx: CliContext): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        if (rest[0]) ctx.stdout(helpFor(rest[0]));
        else ctx.stdout(HELP);
        return 0;
      case '--version':
      case '-v':
        ctx.stdout(packageVersion() + '\n');
        return 0;
      case 'bench':
        return await runBench(rest, ctx);
      case 'sysinfo':
        return await runSysinfo(rest, ctx);
      case 'models':
        return await runModels(rest, ctx);
      case 'audio':
        return await runAudio(rest, ctx);
      case 'builds':
        return await runBuilds(rest, ctx);
      case 'threads':
        return await runThreads(rest, ctx);
      case 'recommend':
        return await runRecommend(rest, ctx);
      case 'profile':
        return await runProfile(rest, ctx);
      case 'wer':
        return await runWer(rest, ctx);
      case 'report':
        return await runReport(rest, ctx);
      case 'compare':
        return await runCompare(rest, ctx);
      case 'ab':
        return await runAb(rest, ctx);
      case 'db':
        return await runDb(rest, ctx);
      case 'rtf':
        return await runRtf(rest, ctx);
      case 'transcribe':
        return await runTranscribe(rest, ctx);
      case 'presets':
        return await runPresets(rest, ctx);
      case 'stream':
        return await runStream(rest, ctx);
      case 'capacity':
        return await runCapacity(rest, ctx);
      case 'quality':
        return await runQuality(rest, ctx);
      default:
        throw new WhisperPerfError(`unknown command: ${command} (try: whisper-perf --help)`, 'USAGE');
    }
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
