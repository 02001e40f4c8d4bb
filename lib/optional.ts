/**
 * Optional peer dependencies (the store drivers, chart.js): a service that never opens a store
 * does not install them. Loading one that is missing, or was built for another Node.js, fails
 * with one line that says what to run.
 */
import { createRequire } from 'node:module';

import { WhisperPerfError, type ErrorCode } from './errors.js';

const require = createRequire(import.meta.url);

/** The reason a module did not load, as one line with the command that fixes it. */
export function optionalLoadProblem(name: string, what: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const text = String(err?.message ?? e);
  if (err?.code === 'MODULE_NOT_FOUND' && text.includes(`'${name}'`)) {
    return `${what} needs ${name}, which is not installed: npm install ${name}`;
  }
  const abi = /NODE_MODULE_VERSION (\d+)\. This version of Node\.js requires\s+NODE_MODULE_VERSION (\d+)/.exec(text);
  if (abi) {
    return `${name} was built for another Node.js (NODE_MODULE_VERSION ${abi[1]}; ${process.version} needs ${abi[2]}): npm rebuild ${name}`;
  }
  return `${what} unavailable: ${name} did not load (${text.split('\n')[0]})`;
}

/** require(name), or a WhisperPerfError with `code` and one line on what to do. */
export function requireOptional<T>(name: string, what: string, code: ErrorCode): T {
  try {
    return require(name) as T;
  } catch (e) {
    throw new WhisperPerfError(optionalLoadProblem(name, what, e), code, { cause: e });
  }
}
