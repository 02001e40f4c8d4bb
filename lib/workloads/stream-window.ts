/**
 * The stream's window arithmetic, as whisper.cpp's examples/stream does it (the rules are at the top
 * of stream.ts): parameters and their limits, the scheduler that decides each step's window and
 * what it drops, the window's audio, a step's and a run's result types, and the verdict.
 */
import { invalidArgument, WhisperPerfError } from '../errors.js';
import { checkInt } from '../validate.js';
import { latencySummary, type LatencySummary } from '../measure/latency.js';

/** whisper.cpp's sample rate: samples per millisecond. */
export const SAMPLES_PER_MS = 16;
/** The shortest step: whisper.cpp refuses input under 100 ms. */
export const MIN_STEP_MS = 100;
/** The longest window: one whisper window of 30 s. */
export const MAX_LENGTH_MS = 30_000;
/** A stream keeps up when at least this fraction of its steps finished before the next was due. */
export const KEEPS_UP_FRACTION = 0.95;
/** stream.cpp's defaults. */
export const STREAM_DEFAULTS = { stepMs: 3000, lengthMs: 10000, keepMs: 200 } as const;

// ---------------------------------------------------------------- window scheduling (pure)

/** A run of samples of the file, [start, end). */
export interface AudioPiece {
  start: number;
  end: number;
}

export interface StreamWindowParams {
  stepMs: number;
  lengthMs: number;
  keepMs: number;
  /** samples in the file */
  totalSamples: number;
}

/** One step's window, in samples of the file. */
export interface StreamWindow {
  /** 0-based step number */
  index: number;
  /** the new audio of this step, [newStart, newEnd) */
  newStart: number;
  newEnd: number;
  /** samples taken from the previous window, before the new audio */
  keptSamples: number;
  /** samples skipped before newStart because the stream fell behind (never transcribed) */
  droppedSamples: number;
  /** the window: kept audio, then the new audio (pieces may be apart when audio was dropped) */
  pieces: AudioPiece[];
  /** samples in the window */
  samples: number;
  /** the line ends with this step (stream.cpp prints a new line): its text is final */
  commit: boolean;
  /** the file's last audio */
  final: boolean;
}

/** Checks step, length and keep: INVALID_ARGUMENT naming the value and its range. */
export function checkStreamParams(stepMs: unknown, lengthMs: unknown, keepMs: unknown): { stepMs: number; lengthMs: number; keepMs: number } {
  const step = checkInt(stepMs, 'step (ms)', MIN_STEP_MS, MAX_LENGTH_MS);
  const length = checkInt(lengthMs, 'length (ms)', MIN_STEP_MS, MAX_LENGTH_MS);
  if (step > length) {
    throw new WhisperPerfError(`invalid step: ${step} ms is longer than the window length ${length} ms (allowed: step ≤ length; stream.cpp would silently raise length to ${step})`, 'INVALID_ARGUMENT');
  }
  const keep = checkInt(keepMs, 'keep (ms)', 0, MAX_LENGTH_MS);
  if (keep > step) {
    throw new WhisperPerfError(`invalid keep: ${keep} ms is longer than the step ${step} ms (allowed: 0 to step; stream.cpp would silently lower it to ${step})`, 'INVALID_ARGUMENT');
  }
  return { stepMs: step, lengthMs: length, keepMs: keep };
}

/** The last `n` samples of a list of pieces. */
export function tailPieces(pieces: readonly AudioPiece[], n: number): AudioPiece[] {
  const out: AudioPiece[] = [];
  let left = n;
  for (let i = pieces.length - 1; i >= 0 && left > 0; i--) {
    const p = pieces[i];
    const len = p.end - p.start;
    if (len <= left) {
      out.unshift({ ...p });
      left -= len;
    } else {
      out.unshift({ start: p.end - left, end: p.end });
      left = 0;
    }
  }
  return out;
}

function appendPiece(pieces: AudioPiece[], p: AudioPiece): AudioPiece[] {
  if (p.end <= p.start) return pieces;
  const last = pieces[pieces.length - 1];
  if (last && last.end === p.start) return [...pieces.slice(0, -1), { start: last.start, end: p.end }];
  return [...pieces, p];
}

const piecesLength = (pieces: readonly AudioPiece[]) => pieces.reduce((a, p) => a + p.end - p.start, 0);

/**
 * stream.cpp's sliding window over a file, step by step. Pure: the caller says when each step
 * starts (the capture time, ms since the stream began, at which the audio present is
 * min(total, capture × 16) samples); the scheduler says which audio the step transcribes.
 */
export class StreamScheduler {
  readonly stepSamples: number;
  readonly lengthSamples: number;
  readonly keepSamples: number;
  readonly totalSamples: number;
  /** steps per line: max(1, ⌊length/step⌋ − 1) */
  readonly nNewLine: number;
  #cleared = 0;
  #old: AudioPiece[] = [];
  #iter = 0;

  constructor(params: StreamWindowParams) {
    const { stepMs, lengthMs, keepMs } = checkStreamParams(params.stepMs, params.lengthMs, params.keepMs);
    const total = params.totalSamples;
    if (!Number.isInteger(total) || total < 1) throw invalidArgument('totalSamples', total, 'an integer ≥ 1');
    this.stepSamples = stepMs * SAMPLES_PER_MS;
    this.lengthSamples = lengthMs * SAMPLES_PER_MS;
    this.keepSamples = keepMs * SAMPLES_PER_MS;
    this.totalSamples = total;
    this.nNewLine = Math.max(1, Math.floor(lengthMs / stepMs) - 1);
  }

  /** Steps planned so far. */
  get steps(): number {
    return this.#iter;
  }

  /** When the next step's audio is complete (ms since the start), or null when the file is done. */
  nextReadyMs(): number | null {
    if (this.#cleared >= this.totalSamples) return null;
    return Math.min(this.#cleared + this.stepSamples, this.totalSamples) / SAMPLES_PER_MS;
  }

  /**
   * Plans the step captured at `captureMs` (≥ nextReadyMs()): its new audio is the newest step of
   * what has arrived by then; anything older that no step took is dropped.
   */
  take(captureMs: number): StreamWindow {
    const ready = this.nextReadyMs();
    if (ready === null) throw new WhisperPerfError('stream: no audio left to take', 'INVALID_ARGUMENT');
    if (!(captureMs >= ready)) throw invalidArgument('captureMs', captureMs, `a time ≥ ${ready} ms (when the step's audio is complete)`);
    const need = Math.min(this.#cleared + this.stepSamples, this.totalSamples);
    const avail = Math.min(this.totalSamples, Math.max(need, Math.floor(captureMs * SAMPLES_PER_MS + 1e-9)));
    const newEnd = avail;
    const newStart = Math.max(this.#cleared, newEnd - this.stepSamples);
    const dropped = newStart - this.#cleared;
    this.#cleared = newEnd;
    const newLen = newEnd - newStart;
    const oldLen = piecesLength(this.#old);
    const take = Math.min(oldLen, Math.max(0, this.keepSamples + this.lengthSamples - newLen));
    const pieces = appendPiece(tailPieces(this.#old, take), { start: newStart, end: newEnd });
    this.#old = pieces;
    const index = this.#iter++;
    const commit = this.#iter % this.nNewLine === 0;
    if (commit) this.#old = tailPieces(pieces, this.keepSamples);
    return {
      index,
      newStart,
      newEnd,
      keptSamples: take,
      droppedSamples: dropped,
      pieces,
      samples: take + newLen,
      commit,
      final: newEnd >= this.totalSamples,
    };
  }
}

/** The window's samples as one buffer. */
export function windowPcm(pcm: Float32Array, pieces: readonly AudioPiece[]): Float32Array {
  const out = new Float32Array(piecesLength(pieces));
  let at = 0;
  for (const p of pieces) {
    out.set(pcm.subarray(p.start, p.end), at);
    at += p.end - p.start;
  }
  return out;
}

// ---------------------------------------------------------------- results and verdict (pure)

/** One step of a stream: what it transcribed, when, and what came out. */
export interface StreamStep {
  index: number;
  /** the new audio of this step in the file, ms */
  audioStartMs: number;
  audioEndMs: number;
  /** window length (kept + new audio), ms */
  windowMs: number;
  /** audio carried over from the previous window, ms */
  keptMs: number;
  /** audio skipped before this step because the stream fell behind, ms */
  droppedMs: number;
  /** stream time (ms since it started) when the last sample of the new audio was captured */
  capturedAtMs: number;
  /** stream time when the transcription started (later than capturedAtMs when the model was busy) */
  startedAtMs: number;
  /** stream time when the text came out */
  doneAtMs: number;
  /** doneAtMs − capturedAtMs */
  latencyMs: number;
  /** when the next step's audio is complete: capturedAtMs + step */
  nextDueMs: number;
  /** finished before the next step was due */
  onTime: boolean;
  /** wall time of the transcription call, ms (what the model took, queue included) */
  computeMs: number;
  /** the window's text (stream.cpp prints it over the current line) */
  text: string;
  /** the line is final after this step (stream.cpp prints a new line) */
  commit: boolean;
  /** the file's last step */
  final: boolean;
}

/** What a stream did as a whole. */
export interface StreamResult {
  stepMs: number;
  lengthMs: number;
  keepMs: number;
  /** fed at real-time pace (wall clock) or as fast as possible (virtual clock) */
  realtime: boolean;
  clock: 'wall' | 'virtual';
  threads: number;
  /** seconds of audio in the file */
  audioS: number;
  steps: StreamStep[];
  /** per-step latency (capture → text), ms */
  latency: LatencySummary;
  /** per-step transcription time, ms */
  compute: LatencySummary;
  /** steps that finished before the next was due, as a fraction of all steps */
  onTimeFraction: number;
  /** audio never transcribed because the stream fell behind, ms */
  droppedMs: number;
  keepsUp: boolean;
  /** one sentence: keeps up or falls behind, and why */
  verdict: string;
  /** the text produced: each final line (and the last partial one), as stream.cpp leaves it on screen */
  lines: string[];
  text: string;
  /** wall time of the whole stream, ms (warm-up excluded) */
  wallMs: number;
  /** true when the model's weights are synthetic (the text is meaningless) */
  synthetic: boolean;
  /** stopped early (the iterator was left or the signal fired) */
  stopped: boolean;
}

/** The verdict of a stream from its steps: keeps up when ≥ KEEPS_UP_FRACTION of steps were on time. */
export function streamVerdict(steps: readonly Pick<StreamStep, 'onTime' | 'latencyMs' | 'droppedMs'>[], stepMs: number, threshold = KEEPS_UP_FRACTION): { onTimeFraction: number; keepsUp: boolean; droppedMs: number; verdict: string } {
  if (steps.length === 0) return { onTimeFraction: NaN, keepsUp: false, droppedMs: 0, verdict: 'no steps: nothing was transcribed' };
  const onTime = steps.filter((s) => s.onTime).length;
  const onTimeFraction = onTime / steps.length;
  const droppedMs = steps.reduce((a, s) => a + s.droppedMs, 0);
  const lat = latencySummary(steps.map((s) => s.latencyMs));
  const pct = (x: number) => `${(x * 100).toFixed(x === 1 || x === 0 ? 0 : 1)}%`;
  const keepsUp = onTimeFraction >= threshold;
  const verdict = keepsUp
    ? `keeps up: ${pct(onTimeFraction)} of ${steps.length} steps finished before the next was due (p95 latency ${lat.p95.toFixed(0)} ms, step ${stepMs} ms)`
    : `falls behind: only ${pct(onTimeFraction)} of ${steps.length} steps finished before the next was due (p95 latency ${lat.p95.toFixed(0)} ms, step ${stepMs} ms)` +
      (droppedMs > 0 ? `; ${(droppedMs / 1000).toFixed(1)} s of audio dropped` : '');
  return { onTimeFraction, keepsUp, droppedMs, verdict };
}

/** The text left on screen: every committed line, then the last step's text when its line was not committed. */
export function streamLines(steps: readonly Pick<StreamStep, 'text' | 'commit'>[]): string[] {
  const lines: string[] = [];
  steps.forEach((s, i) => {
    if (s.commit || i === steps.length - 1) lines.push(s.text.trim());
  });
  return lines;
}
