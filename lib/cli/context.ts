/**
 * What every subcommand shares: the output context, argument parsing and the data writer.
 * Subcommands import this module, never main.ts, so the command modules form no import circle
 * (main.ts imports the subcommands and re-exports these for older imports).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { WhisperPerfError } from '../errors.js';

/** Where a command writes: data to stdout, progress and logs to stderr. */
export interface CliContext {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** One option of a subcommand, as node's parseArgs takes it. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

/** The parsed values of a subcommand's options (plus --help). */
export type Values<T extends Record<string, OptionSpec>> = {
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
