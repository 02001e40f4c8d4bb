/**
 * Import of whisper.cpp's own output, so plain whisper.cpp runs sit in the store beside
 * in-process ones. Every imported row says `native: true` and which program made it (`source`).
 *
 * Formats (recognized from the text; or named):
 * - **whisper-bench** (`examples/bench`): `system_info: n_threads = T / C | ...`, the model path
 *   (`loading model from '...'`), `flash attn = 0|1`, then `whisper_print_timings:` lines. One
 *   run gives one `encoder` row with load_ms, encode_ms, decode_ms, batchd_ms and prompt_ms
 *   (per-run milliseconds, as whisper-bench prints them), one sample each. Several runs in one
 *   file (a loop over thread counts, or repetitions) are split at each `system_info:` line, and
 *   runs of the same configuration become one row whose statistics hold every run as a sample.
 *   `-w 1` (memcpy) and `-w 2` (mul_mat) output becomes memcpy / mulmat rows.
 * - **whisper-cli** (`examples/cli`): the same timing lines after `main: processing 'FILE'
 *   (N samples, S sec), T threads, P processors, B beams + best of K, lang = L ...`. One run gives
 *   one `rtf` row: file, audio_s, threads, processors, beam_size, language, process_s (total time
 *   less load time, the time whisper.cpp spent on the audio), rtf = process_s / audio_s, rtfx,
 *   and the stage totals (mel_ms, sample_ms, encode_ms, decode_ms, batchd_ms, prompt_ms).
 * - **bench.py** CSV (`scripts/bench.py`): columns Commit, Model, Hardware, Recording Length
 *   (seconds), Thread, Processor Count, Load/Sample/Encode/Decode Time (ms), the per-run times
 *   and Total Time (ms). Each line gives one `rtf` row as above (model `ggml-MODEL.bin`, the
 *   recording's file name is not in the CSV).
 * - **json**: rows printed by `whisper-perf bench -o json` (or jsonl), kept as they are.
 */

import { parseMemcpy, parseMulmat } from '../measure/parse-micro.js';
import { summarize } from '../measure/stats.js';
import type { Stat } from '../measure/types.js';
import { WhisperPerfError } from '../errors.js';
import type { AnyRow } from './types.js';

export type ImportFormat = 'whisper-bench' | 'whisper-cli' | 'bench-py' | 'json';
export const IMPORT_FORMATS: readonly ImportFormat[] = ['whisper-bench', 'whisper-cli', 'bench-py', 'json'];

export interface ImportedFile {
  format: ImportFormat;
  rows: (AnyRow & Record<string, unknown>)[];
  /** facts about the run the file came from, where the file tells */
  facts: {
    git_commit?: string;
    system?: Record<string, unknown>;
    whisper_version?: string;
  };
  /** what the parser had to skip or guess */
  warnings: string[];
}

const BENCH_PY_HEADER = ['Commit', 'Model', 'Hardware', 'Recording Length (seconds)', 'Thread', 'Processor Count'];

/** The format of a file's text, or undefined. */
export function detectFormat(text: string): ImportFormat | undefined {
  const t = text.replace(/^\uFEFF/, '');
  const first = t.trimStart()[0];
  if (first === '[' || first === '{') return 'json';
  const head = t.split(/\r?\n/, 1)[0];
  if (BENCH_PY_HEADER.every((h) => head.includes(h))) return 'bench-py';
  if (/^\S*: processing '.*' \(\d+ samples, [\d.]+ sec\)/m.test(t)) return 'whisper-cli';
  if (/whisper_print_timings:\s+encode time|^\s*memcpy:\s+[\d.]+ GB\/s|^\s*\d+ x\s+\d+: Q4_0/m.test(t)) return 'whisper-bench';
  return undefined;
}

interface Timings {
  load_ms?: number;
  mel_ms?: number;
  sample?: { total: number; runs: number };
  encode?: { total: number; runs: number };
  decode?: { total: number; runs: number };
  batchd?: { total: number; runs: number };
  prompt?: { total: number; runs: number };
  total_ms?: number;
}

/** The `whisper_print_timings:` lines of one run. */
function parseTimings(text: string): Timings | undefined {
  const t: Timings = {};
  let any = false;
  for (const line of text.split(/\r?\n/)) {
    const m = /whisper_print_timings:\s+(\w+) time\s*=\s*([\d.]+) ms(?:\s*\/\s*(\d+) runs)?/.exec(line);
    if (!m) continue;
    any = true;
    const [, what, ms, runs] = m;
    const v = Number(ms);
    if (what === 'load') t.load_ms = v;
    else if (what === 'mel') t.mel_ms = v;
    else if (what === 'total') t.total_ms = v;
    else if (['sample', 'encode', 'decode', 'batchd', 'prompt'].includes(what)) t[what as 'encode'] = { total: v, runs: Number(runs ?? 1) };
  }
  return any ? t : undefined;
}

/** system_info: n_threads = T / C | CPU : AVX2 = 1 | ... */
function parseSystemInfo(text: string): { threads?: number; cores?: number; features: string[] } {
  const m = /system_info: n_threads = (\d+) \/ (\d+) \|(.*)$/m.exec(text);
  if (!m) return { features: [] };
  const features = [...m[3].matchAll(/([A-Za-z0-9_]+)\s*=\s*1\b/g)].map((x) => x[1].toLowerCase());
  return { threads: Number(m[1]), cores: Number(m[2]), features };
}

const stat1 = (v: number): Stat => summarize([v]);
const round = (v: number, d = 6) => Math.round(v * 10 ** d) / 10 ** d;

function nativeBase(source: string, text: string, timestamp: string): Record<string, unknown> {
  const sys = parseSystemInfo(text);
  const model = /loading model from '([^']*)'/.exec(text)?.[1] ?? '';
  const type = /whisper_model_load: type\s*=\s*\d+ \((\w+)\)/.exec(text)?.[1] ?? '';
  const ftype = /whisper_model_load: ftype\s*=\s*(\d+)/.exec(text)?.[1];
  const gpu = /whisper_backend_init_gpu: using (\S+) backend/.exec(text)?.[1];
  return {
    what: 'encoder',
    model,
    model_type: type,
    ftype: ftype === undefined ? '' : ({ '0': 'f32', '1': 'f16', '2': 'q4_0', '3': 'q4_1', '6': 'q5_0', '7': 'q5_1', '8': 'q8_0' } as Record<string, string>)[ftype] ?? `ftype${ftype}`,
    // the file is not at hand (another machine): whisper-perf's cache puts synthetic models under synthetic/
    synthetic: /synthetic/i.test(model),
    threads: sys.threads ?? 0,
    flash_attn: /flash attn = 1/.test(text),
    device: gpu ? '0' : 'cpu',
    repetitions: 1,
    native: true,
    source,
    timestamp,
    cpu_features: sys.features,
    cpu_cores: sys.cores ?? 0,
    warnings: [] as string[],
  };
}

/** Splits a log holding several runs at each `system_info:` line (each run prints one). */
function splitRuns(text: string): string[] {
  const lines = text.split(/\r?\n/);
  const starts: number[] = [];
  lines.forEach((l, i) => {
    if (l.startsWith('system_info:')) starts.push(i);
  });
  if (starts.length <= 1) return [text];
  // a run's header lines (model loading) may come before its system_info line (whisper-cli):
  // cut after the previous run's last timing line instead
  const cuts = [0];
  for (let k = 1; k < starts.length; k++) {
    let cut = starts[k];
    for (let i = starts[k] - 1; i > cuts[cuts.length - 1]; i--) {
      if (/whisper_print_timings:\s+total time/.test(lines[i])) {
        cut = i + 1;
        break;
      }
    }
    cuts.push(cut);
  }
  cuts.push(lines.length);
  return cuts.slice(0, -1).map((c, k) => lines.slice(c, cuts[k + 1]).join('\n'));
}

/** Runs of the same configuration merged: each statistic holds every run's value as a sample. */
function mergeRuns(rows: Record<string, unknown>[], statKeys: readonly string[], key: (r: Record<string, unknown>) => string): Record<string, unknown>[] {
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const r of rows) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  return [...groups.values()].map((g) => {
    if (g.length === 1) return g[0];
    const out: Record<string, unknown> = { ...g[0], repetitions: g.length };
    for (const k of statKeys) {
      const samples = g.flatMap((r) => ((r[k] as Stat | undefined)?.samples ?? []));
      if (samples.length === g.length) out[k] = summarize(samples);
      else delete out[k];
    }
    return out;
  });
}

const BENCH_STATS = ['load_ms', 'encode_ms', 'decode_ms', 'batchd_ms', 'prompt_ms'] as const;

function importWhisperBench(text: string, timestamp: string, warnings: string[]): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const run of splitRuns(text)) {
    const base = nativeBase('whisper-bench', run, timestamp);
    if (/^\s*memcpy:\s+[\d.]+ GB\/s/m.test(run)) {
      const m = parseMemcpy(run);
      rows.push({ ...base, what: 'memcpy', model: '', model_type: '', ftype: '', threads: m.threads, flash_attn: false, device: 'cpu', memcpy_gbps: summarize(m.gbps), repetitions: m.gbps.length });
      continue;
    }
    if (/^\s*\d+ x\s+\d+: Q4_0/m.test(run)) {
      for (const r of parseMulmat(run).rows) rows.push({ ...base, what: 'mulmat', model: '', model_type: '', ftype: '', flash_attn: false, device: 'cpu', mulmat_type: r.type, mulmat_size: r.size, mulmat_gflops: stat1(r.gflops) });
      continue;
    }
    const t = parseTimings(run);
    if (!t) continue;
    if (!t.encode) {
      warnings.push('a whisper-bench run without an encode time was skipped');
      continue;
    }
    const per = (x?: { total: number; runs: number }) => (x && x.runs > 0 ? x.total / x.runs : undefined);
    const row: Record<string, unknown> = { ...base };
    if (t.load_ms !== undefined) row.load_ms = stat1(t.load_ms);
    for (const k of ['encode', 'decode', 'batchd', 'prompt'] as const) {
      const v = per(t[k]);
      // whisper-bench prints 1 run for a stage it did not run (n = max(1, n)): 0 ms means absent
      if (v !== undefined && !(v === 0 && t[k]!.runs <= 1)) row[`${k}_ms`] = stat1(round(v));
    }
    if (!row.model) warnings.push('a whisper-bench run does not name its model (no "loading model from" line)');
    rows.push(row);
  }
  return mergeRuns(rows, [...BENCH_STATS, 'memcpy_gbps', 'mulmat_gflops'], (r) => JSON.stringify([r.what, r.model, r.threads, r.flash_attn, r.device, r.mulmat_type, r.mulmat_size]));
}

const CLI_STATS = ['load_ms', 'process_s', 'rtf', 'rtfx', 'mel_ms', 'sample_ms', 'encode_ms', 'decode_ms', 'batchd_ms', 'prompt_ms'] as const;

/** The rtf-row figures of one run's timings over `audioS` seconds of audio. */
function rtfFigures(t: Timings, audioS: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (t.load_ms !== undefined) out.load_ms = stat1(t.load_ms);
  if (t.total_ms !== undefined && audioS > 0) {
    const process = (t.total_ms - (t.load_ms ?? 0)) / 1000;
    out.process_s = stat1(round(process));
    out.rtf = stat1(round(process / audioS));
    if (process > 0) out.rtfx = stat1(round(audioS / process));
  }
  if (t.mel_ms !== undefined) out.mel_ms = stat1(t.mel_ms);
  for (const k of ['sample', 'encode', 'decode', 'batchd', 'prompt'] as const) if (t[k]) out[`${k}_ms`] = stat1(t[k]!.total);
  return out;
}

function importWhisperCli(text: string, timestamp: string, warnings: string[]): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const run of splitRuns(text)) {
    const t = parseTimings(run);
    const files = [...run.matchAll(/^\S*: processing '(.*)' \((\d+) samples, ([\d.]+) sec\), (\d+) threads, (\d+) processors, (\d+) beams \+ best of (\d+), lang = (\S+), task = (\w+)/gm)];
    if (!t || files.length === 0) continue;
    const f = files[0];
    // several files in one run: whisper-cli prints the timings once, for all of them
    const audioS = files.reduce((a, m) => a + Number(m[2]) / 16000, 0);
    const base = nativeBase('whisper-cli', run, timestamp);
    rows.push({
      ...base,
      what: 'rtf',
      file: files.length === 1 ? f[1] : files.map((m) => m[1]).join(' + '),
      audio_s: round(audioS, 3),
      threads: Number(f[4]),
      processors: Number(f[5]),
      beam_size: Number(f[6]),
      best_of: Number(f[7]),
      language: f[8],
      task: f[9],
      ...rtfFigures(t, audioS),
    });
    if (t.total_ms === undefined) warnings.push(`whisper-cli run on ${f[1]}: no total time line, so no RTF`);
  }
  return mergeRuns(rows, CLI_STATS, (r) => JSON.stringify([r.model, r.file, r.threads, r.processors, r.beam_size, r.best_of, r.flash_attn, r.device, r.language, r.task]));
}

/** RFC 4180 CSV (quoted fields may hold commas, doubled quotes and line breaks). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const s = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

function importBenchPy(text: string, timestamp: string, warnings: string[], facts: ImportedFile['facts']): Record<string, unknown>[] {
  const [header, ...lines] = parseCsv(text);
  const col = (name: string) => header.indexOf(name);
  for (const h of BENCH_PY_HEADER) if (col(h) < 0) throw new WhisperPerfError(`bench.py CSV: no "${h}" column`, 'USAGE');
  const num = (cells: string[], name: string): number | undefined => {
    const i = col(name);
    if (i < 0 || cells[i] === undefined || cells[i].trim() === '' || cells[i] === 'None') return undefined;
    const v = Number(cells[i]);
    return Number.isFinite(v) ? v : undefined;
  };
  const rows: Record<string, unknown>[] = [];
  const commits = new Set<string>();
  lines.forEach((cells, li) => {
    const model = cells[col('Model')];
    const threads = num(cells, 'Thread');
    const audioS = num(cells, 'Recording Length (seconds)') ?? 0;
    if (!model || threads === undefined) {
      warnings.push(`bench.py CSV line ${li + 2}: no model or thread count, skipped`);
      return;
    }
    const commit = cells[col('Commit')];
    if (commit) commits.add(commit);
    const runs = (total?: number, per?: number) => (total !== undefined && per ? Math.round(total / per) : 1);
    const t: Timings = {
      load_ms: num(cells, 'Load Time (ms)'),
      total_ms: num(cells, 'Total Time (ms)'),
      sample: num(cells, 'Sample Time (ms)') !== undefined ? { total: num(cells, 'Sample Time (ms)')!, runs: runs(num(cells, 'Sample Time (ms)'), num(cells, 'Sample Time per Run (ms)')) } : undefined,
      encode: num(cells, 'Encode Time (ms)') !== undefined ? { total: num(cells, 'Encode Time (ms)')!, runs: runs(num(cells, 'Encode Time (ms)'), num(cells, 'Encode Time per Run (ms)')) } : undefined,
      decode: num(cells, 'Decode Time (ms)') !== undefined ? { total: num(cells, 'Decode Time (ms)')!, runs: runs(num(cells, 'Decode Time (ms)'), num(cells, 'Decode Time per Run (ms)')) } : undefined,
    };
    rows.push({
      what: 'rtf',
      model: `ggml-${model}.bin`,
      model_type: model.replace(/\.en$/, '').replace(/-.*$/, ''),
      ftype: '',
      synthetic: false,
      threads,
      processors: num(cells, 'Processor Count') ?? 1,
      flash_attn: false,
      device: 'cpu',
      file: '(bench.py recording)',
      audio_s: audioS,
      repetitions: 1,
      native: true,
      source: 'bench.py',
      commit: commit || undefined,
      hardware: cells[col('Hardware')] || undefined,
      timestamp,
      warnings: [],
      ...rtfFigures(t, audioS),
    });
  });
  if (commits.size === 1) facts.git_commit = [...commits][0];
  const hw = new Set(rows.map((r) => r.hardware).filter(Boolean));
  if (hw.size === 1) facts.system = { hardware: [...hw][0] };
  return mergeRuns(rows, CLI_STATS, (r) => JSON.stringify([r.model, r.threads, r.processors, r.audio_s, r.commit]));
}

function importJson(text: string): Record<string, unknown>[] {
  const t = text.trim();
  let rows: unknown;
  try {
    rows = t.startsWith('[') ? JSON.parse(t) : t.split(/\r?\n/).filter((l) => l.trim()).map((l) => JSON.parse(l));
  } catch (e) {
    throw new WhisperPerfError(`not JSON or JSON lines: ${(e as Error).message}`, 'USAGE');
  }
  if (!Array.isArray(rows)) rows = [rows];
  const out = rows as Record<string, unknown>[];
  out.forEach((r, i) => {
    if (typeof r !== 'object' || r === null || typeof r.what !== 'string') throw new WhisperPerfError(`row ${i + 1} is not a whisper-perf row (no "what")`, 'USAGE');
  });
  return out;
}

/**
 * Parses one file's text. `timestamp` is what the native rows say they were measured at (the
 * file's modification time is a good choice; default now).
 */
export function parseImport(text: string, options: { format?: ImportFormat; timestamp?: string; name?: string } = {}): ImportedFile {
  const format = options.format ?? detectFormat(text);
  const name = options.name ?? 'input';
  if (!format) {
    throw new WhisperPerfError(`${name}: not a format whisper-perf imports (whisper-bench or whisper-cli output, bench.py CSV, bench -o json)`, 'USAGE');
  }
  const timestamp = options.timestamp ?? new Date().toISOString();
  const warnings: string[] = [];
  const facts: ImportedFile['facts'] = {};
  let rows: Record<string, unknown>[];
  switch (format) {
    case 'whisper-bench':
      rows = importWhisperBench(text, timestamp, warnings);
      break;
    case 'whisper-cli':
      rows = importWhisperCli(text, timestamp, warnings);
      break;
    case 'bench-py':
      rows = importBenchPy(text, timestamp, warnings, facts);
      break;
    case 'json':
      rows = importJson(text);
      break;
  }
  if (rows.length === 0) throw new WhisperPerfError(`${name}: no results found in it as ${format} output`, 'USAGE');
  const cpu = parseSystemInfo(text);
  if (format !== 'json' && format !== 'bench-py' && cpu.features.length) facts.system = { cores: cpu.cores, features: cpu.features };
  return { format, rows: rows as ImportedFile['rows'], facts, warnings };
}
