/** Argument validation shared by the API: every value is checked before it reaches C++. */
import { availableParallelism } from 'node:os';

import { types } from 'node:util';

import { asArgumentError, invalidArgument, WhisperPerfError } from './errors.js';

/** The largest thread count accepted: far above any sensible value, far below a runaway one. */
export const MAX_THREADS = Math.max(64, 4 * availableParallelism());

/** Default thread count: whisper-bench's min(4, hardware threads). */
export function defaultThreads(): number {
  return Math.min(4, availableParallelism());
}

export function checkThreads(value: unknown, name = 'threads'): number {
  if (value === undefined) return defaultThreads();
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_THREADS) {
    throw invalidArgument(name, value, `an integer from 1 to ${MAX_THREADS}`);
  }
  return value;
}

export function checkInt(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(name, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

export function checkBool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(name, value, 'true or false');
  return value;
}

export function checkPcm(pcm: unknown, name = 'pcm'): Float32Array {
  // types.isFloat32Array looks at the object itself: a Proxy of a Float32Array is not one
  if (!types.isFloat32Array(pcm)) {
    throw new WhisperPerfError(`invalid ${name}: expected a Float32Array of 16 kHz mono samples, got ${describe(pcm)}`, 'AUDIO_INVALID');
  }
  if (pcm.length === 0) throw new WhisperPerfError(`invalid ${name}: the Float32Array is empty`, 'AUDIO_INVALID');
  // 2^31 samples is far past anything whisper.cpp can index
  if (pcm.length > 0x7fffffff / 4) throw new WhisperPerfError(`invalid ${name}: ${pcm.length} samples is too long`, 'AUDIO_INVALID');
  return pcm;
}

/**
 * An options object, copied: each enumerable property (own or inherited) is read once, so a
 * getter cannot answer one value to the check and another to the use, and a getter or proxy trap
 * that throws is INVALID_ARGUMENT here rather than a TypeError later.
 */
export function checkObject<T extends object>(value: unknown, name: string): Partial<T> {
  if (value === undefined || value === null) return {};
  try {
    if (typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) throw invalidArgument(name, value, 'an options object');
    const copy: Record<string, unknown> = {};
    for (const k in value) copy[k] = (value as Record<string, unknown>)[k];
    return copy as Partial<T>;
  } catch (e) {
    throw asArgumentError(e, name);
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (Array.isArray(v)) return 'Array';
  return typeof v;
}
