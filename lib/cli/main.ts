#!/usr/bin/env node
/**
 * whisper-perf command line: argument parsing and printing only; every command is a
 * thin call into the library. Data on stdout, progress and logs on stderr.
 * Exit codes: 0 ok, 1 a failed measurement, 2 a usage error.
 */
import { writeFileSync, renameSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { WhisperPerfError } from '../errors.js';
import { HELP, helpFor } from './help.js';
import { runBench } from './bench.js';
import { runModels } from './models.js';
import { runAudio } from './audio.js';
import { runSysinfo } from './sysinfo.js';
import { runWer } from './wer.js';
import { packageVersion } from '../system.js';

export interface CliContext {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Parses argv for one subcommand with node's parseArgs; unknown options are usage errors. */
interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}
type Values<T extends Record<string, OptionSpec>> = {
  [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : T[K]['multiple'] extends true ? string[] : string;
} & { help?: boolean };

/** Parses argv for one subcommand with node's parseArgs; unknown options are usage errors. */
export function parse<T extends Record<string, OptionSpec>>(command: string, argv: string[], options: T): { values: Values<T>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: r.values as Values<T>, positionals: r.positionals };
  } catch (e) {
    throw new WhisperPerfError(`${command}: ${(e as Error).message.split('\n')[0]}`, 'USAGE');
  }
}

/** Writes data to --out atomically (nothing half-written) or to stdout. */
export function writeData(ctx: CliContext, text: string, out?: string): void {
  if (!out) return ctx.stdout(text.endsWith('\n') ? text : text + '\n');
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, text.endsWith('\n') ? text : text + '\n');
  renameSync(tmp, out);
}

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
      case 'wer':
        return await runWer(rest, ctx);
      default:
        throw new WhisperPerfError(`unknown command: ${command} (try: whisper-perf --help)`, 'USAGE');
    }
  } catch (e) {
    if (e instanceof WhisperPerfError) {
      ctx.stderr(`whisper-perf: ${e.message}${e.code === 'USAGE' || e.code === 'INVALID_ARGUMENT' ? '' : ` [${e.code}]`}\n`);
      return e.code === 'USAGE' || e.code === 'INVALID_ARGUMENT' ? 2 : 1;
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
