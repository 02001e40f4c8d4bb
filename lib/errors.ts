import { types } from 'node:util';

/** Error codes every failure of whisper-perf carries. */
export type ErrorCode =
  | 'MODEL_NOT_FOUND'
  | 'MODEL_INVALID'
  | 'AUDIO_INVALID'
  | 'INVALID_ARGUMENT'
  | 'DISPOSED'
  | 'ABORTED'
  | 'NATIVE_FAILURE'
  /** the memory an operation needs (estimated before allocating) is above memoryLimit / WHISPER_PERF_MEMORY_LIMIT or the memory available */
  | 'MEMORY_LIMIT'
  | 'NATIVE_UNAVAILABLE'
  | 'DOWNLOAD_FAILED'
  | 'CHECKSUM_MISMATCH'
  /** a profiler or monitor (perf, valgrind) is missing or not permitted here */
  | 'TOOL_UNAVAILABLE'
  | 'USAGE'
  | 'STORE_INVALID'
  | 'STORE_VERSION'
  | 'STORE_LOCKED'
  | 'STORE_UNAVAILABLE'
  | 'STORE_FAILED'
  /** ab: a side does not start, or its blocks keep failing: no verdict can be made */
  | 'AB_FAILED'
  /** fleet: a job's payload cannot be run by this worker (malformed, or from a newer whisper-perf) */
  | 'FLEET_JOB_INVALID'
  | 'NOT_FOUND';

/**
 * Codes the command line answers with exit code 2: the input was wrong (usage, an argument, a
 * store that is not one, is newer than this code, is locked or does not answer, a run that does not
 * exist, an ab whose sides cannot be measured), as opposed to a measurement or a gate that failed
(exit code 1).
 */
export const INPUT_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['USAGE', 'INVALID_ARGUMENT', 'STORE_INVALID', 'STORE_VERSION', 'STORE_LOCKED', 'STORE_UNAVAILABLE', 'NOT_FOUND', 'AB_FAILED']);

/** The one error class of the package: `code` says what went wrong, `message` says it to a person. */
export class WhisperPerfError extends Error {
  readonly code: ErrorCode;
  /** Log lines whisper.cpp/ggml wrote during the failed operation, when there were any. */
  logs?: { level: number; text: string }[];

  constructor(message: string, code: ErrorCode = 'NATIVE_FAILURE', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WhisperPerfError';
    this.code = code;
  }
}

/**
 * A value as an error message shows it, without running any of its code (no toString, valueOf,
 * getters or proxy traps) and without walking it: a 4-billion-slot sparse array is "an array of
 * 4294967295 items", not a join that never ends.
 */
export function showValue(value: unknown): string {
  try {
    switch (typeof value) {
      case 'string':
        return JSON.stringify(value.length > 77 ? value.slice(0, 77) + '...' : value);
      case 'number':
      case 'boolean':
      case 'undefined':
        return String(value);
      case 'bigint':
        return `${value}n`;
      case 'symbol':
        return value.toString();
      case 'function':
        return 'a function';
    }
    if (value === null) return 'null';
    if (types.isProxy(value)) return 'a Proxy';
    if (Array.isArray(value)) return `an array of ${value.length} item(s)`;
    if (ArrayBuffer.isView(value)) return `${Object.prototype.toString.call(value).slice(8, -1)} of ${value.byteLength} bytes`;
    return Object.prototype.toString.call(value);
  } catch {
    return 'an unreadable value';
  }
}

/** Shorthand for an INVALID_ARGUMENT error naming the argument and what is allowed. */
export function invalidArgument(name: string, value: unknown, allowed: string): WhisperPerfError {
  return new WhisperPerfError(`invalid ${name}: ${showValue(value)} (allowed: ${allowed})`, 'INVALID_ARGUMENT');
}

/**
 * What an argument that could not even be read becomes: a getter or a proxy trap that threw, a
 * value of a shape no check foresaw (TypeError, RangeError) → INVALID_ARGUMENT, the original as
 * cause. A WhisperPerfError passes through unchanged.
 */
export function asArgumentError(e: unknown, what: string): WhisperPerfError {
  if (e instanceof WhisperPerfError) return e;
  let detail: string;
  try {
    detail = e instanceof Error ? `${e.name}: ${e.message}` : showValue(e);
  } catch {
    detail = 'an unreadable error';
  }
  return new WhisperPerfError(`invalid argument to ${what}: reading or checking it failed (${detail})`, 'INVALID_ARGUMENT', { cause: e });
}

/** A function whose every failure is a WhisperPerfError: anything else it throws is asArgumentError's. */
export function guarded<A extends unknown[], R>(what: string, fn: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => {
    try {
      return fn(...args);
    } catch (e) {
      throw asArgumentError(e, what);
    }
  };
}

/** guarded() for an async function: a synchronous throw or a rejection that is not a WhisperPerfError becomes INVALID_ARGUMENT. */
export function guardedAsync<A extends unknown[], R>(what: string, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A): Promise<R> => {
    try {
      return await fn(...args);
    } catch (e) {
      throw asArgumentError(e, what);
    }
  };
}

export function isWhisperPerfError(e: unknown): e is WhisperPerfError {
  return e instanceof WhisperPerfError;
}
