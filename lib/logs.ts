/** Parsing of whisper.cpp / ggml log lines that carry figures no function returns. */
import type { NativeLogLine } from './native.js';

/** ggml log levels as numbers (enum ggml_log_level). */
export const LOG_LEVELS = { none: 0, debug: 1, info: 2, warn: 3, error: 4, cont: 5 } as const;

/** Joins the raw fragments of a native log into whole lines (ggml sends continuations apart). */
export function joinLogLines(logs: readonly NativeLogLine[]): { level: number; text: string }[] {
  const out: { level: number; text: string }[] = [];
  let pending = '';
  let level = LOG_LEVELS.info as number;
  for (const l of logs) {
    if (l.level !== LOG_LEVELS.cont) level = l.level;
    pending += l.text;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim() !== '') out.push({ level, text: line });
    }
  }
  if (pending.trim() !== '') out.push({ level, text: pending });
  return out;
}

/** Buffer sizes whisper.cpp reports while loading a model and creating its state, in bytes. */
export interface BufferSizes {
  /** weights, as "model size" */
  model?: number;
  kvSelf?: number;
  kvCross?: number;
  kvPad?: number;
  computeConv?: number;
  computeEncode?: number;
  computeCross?: number;
  computeDecode?: number;
  /** weights per backend buffer, e.g. { CPU: 77_000_000 } */
  byBuffer: Record<string, number>;
  /** the sum of everything above except the per-buffer breakdown */
  total: number;
}

const MB = 1e6; // whisper.cpp prints size / 1e6 as "MB"

export function parseBufferSizes(lines: readonly { text: string }[]): BufferSizes {
  const s: BufferSizes = { byBuffer: {}, total: 0 };
  const named: [RegExp, keyof Omit<BufferSizes, 'byBuffer' | 'total'>][] = [
    [/model size\s*=\s*([\d.]+) MB/, 'model'],
    [/kv self size\s*=\s*([\d.]+) MB/, 'kvSelf'],
    [/kv cross size\s*=\s*([\d.]+) MB/, 'kvCross'],
    [/kv pad\s+size\s*=\s*([\d.]+) MB/, 'kvPad'],
    [/compute buffer \(conv\)\s*=\s*([\d.]+) MB/, 'computeConv'],
    [/compute buffer \(encode\)\s*=\s*([\d.]+) MB/, 'computeEncode'],
    [/compute buffer \(cross\)\s*=\s*([\d.]+) MB/, 'computeCross'],
    [/compute buffer \(decode\)\s*=\s*([\d.]+) MB/, 'computeDecode'],
  ];
  for (const { text } of lines) {
    for (const [re, key] of named) {
      const m = re.exec(text);
      if (m) s[key] = Math.round(Number(m[1]) * MB);
    }
    const b = /:\s+(\S+)\s+total size\s*=\s*([\d.]+) MB/.exec(text);
    if (b) s.byBuffer[b[1]] = Math.round(Number(b[2]) * MB);
  }
  for (const [, key] of named) s.total += s[key] ?? 0;
  return s;
}

/** whisper.cpp's own timing counters, as whisper_print_timings reports them. */
export interface WhisperTimings {
  loadMs: number;
  melMs: number;
  fallbacksP: number;
  fallbacksH: number;
  sample: { totalMs: number; runs: number; perRunMs: number };
  encode: { totalMs: number; runs: number; perRunMs: number };
  decode: { totalMs: number; runs: number; perRunMs: number };
  batchd: { totalMs: number; runs: number; perRunMs: number };
  prompt: { totalMs: number; runs: number; perRunMs: number };
  totalMs: number;
}

/** Parses whisper_print_timings output. A stage whisper.cpp shows as "1 runs" with 0 ms ran 0 times. */
export function parseTimings(lines: readonly { text: string }[]): WhisperTimings {
  const num = (re: RegExp): number => {
    for (const { text } of lines) {
      const m = re.exec(text);
      if (m) return Number(m[1]);
    }
    return 0;
  };
  const stage = (name: string) => {
    for (const { text } of lines) {
      const m = new RegExp(`${name} time =\\s*([\\d.]+) ms /\\s*(\\d+) runs \\(\\s*([\\d.]+) ms per run\\)`).exec(text);
      if (m) {
        const totalMs = Number(m[1]);
        const runs = totalMs === 0 ? 0 : Number(m[2]);
        return { totalMs, runs, perRunMs: runs === 0 ? 0 : Number(m[3]) };
      }
    }
    return { totalMs: 0, runs: 0, perRunMs: 0 };
  };
  let fallbacksP = 0;
  let fallbacksH = 0;
  for (const { text } of lines) {
    const m = /fallbacks =\s*(\d+) p \/\s*(\d+) h/.exec(text);
    if (m) {
      fallbacksP = Number(m[1]);
      fallbacksH = Number(m[2]);
    }
  }
  return {
    loadMs: num(/load time =\s*([\d.]+) ms/),
    melMs: num(/mel time =\s*([\d.]+) ms/),
    fallbacksP,
    fallbacksH,
    sample: stage('sample'),
    encode: stage('encode'),
    decode: stage('decode'),
    batchd: stage('batchd'),
    prompt: stage('prompt'),
    totalMs: num(/total time =\s*([\d.]+) ms/),
  };
}
