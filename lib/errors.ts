/** Error codes every failure of whisper-perf carries. */
export type ErrorCode =
  | 'MODEL_NOT_FOUND'
  | 'MODEL_INVALID'
  | 'AUDIO_INVALID'
  | 'INVALID_ARGUMENT'
  | 'DISPOSED'
  | 'ABORTED'
  | 'NATIVE_FAILURE'
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
  | 'NOT_FOUND';

/**
 * Codes the command line answers with exit code 2: the input was wrong (usage, an argument, a
 * store that is not one, is newer than this code, is locked or does not answer, a run that does not
 * exist), as opposed to a measurement or a gate that failed (exit code 1).
 */
export const INPUT_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['USAGE', 'INVALID_ARGUMENT', 'STORE_INVALID', 'STORE_VERSION', 'STORE_LOCKED', 'STORE_UNAVAILABLE', 'NOT_FOUND']);

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

/** Shorthand for an INVALID_ARGUMENT error naming the argument and what is allowed. */
export function invalidArgument(name: string, value: unknown, allowed: string): WhisperPerfError {
  let shown: string;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  if (shown.length > 80) shown = shown.slice(0, 77) + '...';
  return new WhisperPerfError(`invalid ${name}: ${shown} (allowed: ${allowed})`, 'INVALID_ARGUMENT');
}

export function isWhisperPerfError(e: unknown): e is WhisperPerfError {
  return e instanceof WhisperPerfError;
}
