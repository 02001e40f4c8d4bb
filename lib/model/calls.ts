/**
 * The plumbing every model and state call shares: the call queue (one call at a time, validation
 * when it starts, abort, queue time, the caller's stack), abort signals and whisper.cpp's log lines.
 */
import { types } from 'node:util';

import { asArgumentError, invalidArgument, WhisperPerfError } from '../errors.js';
import { joinLogLines } from '../logs.js';
import type { NativeLogLine, NativeResult, NativeTimed } from '../native.js';
import { checkBool } from '../validate.js';
import type { LogHandler, Timed } from './types.js';

export const timed = (r: NativeTimed): Timed => ({ ms: r.ms, queueMs: r.queueMs, cpuMs: r.cpuMs, tid: r.tid });

/**
 * The calls of one model or state, one at a time in order: each waits for the previous one,
 * validates when it starts, forwards its abort signal to the native abort, emits its log lines,
 * adds its wait to queueMs and carries the caller's stack into its errors.
 */
export class CallQueue {
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly what: 'model' | 'state',
    private readonly native: { isDisposed(): boolean; abort(): void },
    private readonly isDisposed: () => boolean,
    private readonly onLog?: LogHandler,
  ) {}

  run<R extends object, T>(name: string, start: () => Promise<R>, map: (r: R) => T, signal?: AbortSignal): Promise<T> {
    const callSite = new Error();
    if (this.isDisposed()) return Promise.reject(withCallSite(new WhisperPerfError(`${name}: ${this.what} is disposed`, 'DISPOSED'), callSite));
    try {
      checkSignal(signal);
    } catch (e) {
      return Promise.reject(withCallSite(e, callSite));
    }
    const enqueuedAt = performance.now();
    const task = this.#queue.catch(() => undefined).then(async () => {
      if (this.native.isDisposed()) throw new WhisperPerfError(`${name}: ${this.what} is disposed`, 'DISPOSED');
      throwIfAborted(signal);
      const waited = performance.now() - enqueuedAt;
      const onAbort = () => this.native.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        let pending: Promise<R>;
        try {
          // what start() throws before the native call is under way is about its arguments
          pending = start();
        } catch (e) {
          throw asArgumentError(e, name);
        }
        const r = await pending;
        if ('logs' in r) emit((r as unknown as NativeResult).logs, this.onLog);
        const out = map(r);
        if (out && typeof out === 'object' && 'queueMs' in out) (out as { queueMs: number }).queueMs += waited;
        return out;
      } catch (e) {
        throw forwardLogs(e, this.onLog);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    });
    this.#queue = task;
    return task.catch((e: unknown) => {
      throw withCallSite(e, callSite);
    });
  }

  /** Runs `last` after every call queued so far (dispose). */
  finally(last: () => Promise<unknown>): Promise<unknown> {
    this.#queue = this.#queue.catch(() => undefined).then(last);
    return this.#queue;
  }
}

export function signalOf(options: unknown): AbortSignal | undefined {
  try {
    return options && typeof options === 'object' ? (options as { signal?: AbortSignal }).signal : undefined;
  } catch (e) {
    // a getter that throws: checkSignal refuses this with INVALID_ARGUMENT
    return asArgumentError(e, 'signal') as unknown as AbortSignal;
  }
}

/** undefined or a real AbortSignal (not a look-alike or a Proxy of one), else INVALID_ARGUMENT. */
export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  let ok = false;
  try {
    ok = !types.isProxy(signal) && signal instanceof AbortSignal;
  } catch {
    ok = false;
  }
  if (!ok) throw invalidArgument('signal', signal, 'an AbortSignal');
  return signal as AbortSignal;
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new WhisperPerfError('operation aborted', 'ABORTED');
}

export function makeLogHandler(verbose: unknown, onLog: unknown): LogHandler | undefined {
  if (onLog !== undefined && typeof onLog !== 'function') throw invalidArgument('onLog', onLog, 'a function (level, text) => void');
  const v = checkBool(verbose, 'verbose', false);
  if (!v && !onLog) return undefined;
  return (level, text) => {
    if (v) process.stderr.write(text + '\n');
    (onLog as LogHandler | undefined)?.(level, text);
  };
}

export function emit(logs: readonly NativeLogLine[], onLog?: LogHandler): { level: number; text: string }[] {
  const lines = joinLogLines(logs);
  if (onLog) for (const l of lines) onLog(l.level, l.text);
  return lines;
}

export function forwardLogs(e: unknown, onLog?: LogHandler): unknown {
  if (e instanceof WhisperPerfError && e.logs) {
    const lines = emit(e.logs, onLog);
    e.logs = lines;
    const detail = lines.filter((l) => l.level >= 3).map((l) => l.text.trim());
    if (detail.length > 0 && !e.message.includes(detail[detail.length - 1])) e.message += ` (${detail[detail.length - 1]})`;
  }
  return e;
}

/** Appends the caller's stack to an asynchronous error, so it says where the call came from. */
export function withCallSite(e: unknown, callSite: Error): unknown {
  if (e instanceof Error && callSite.stack && !e.stack?.includes('--- async call site ---')) {
    const frames = callSite.stack.split('\n').slice(1).join('\n');
    e.stack = `${e.stack ?? e.message}\n    --- async call site ---\n${frames}`;
  }
  return e;
}
