/**
 * A fleet sweep: bench's or rtf's sweep options expanded into cells (the same cartesian products
 * those commands run), one job per (cell, machine kind). Models and audio travel by name and
 * content hash, never by path; a sweep's id is a hash of everything that defines it, so submitting
 * it twice queues nothing new.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';

import { WhisperPerfError } from '../errors.js';
import { cartesian } from '../measure/params.js';
import type { BenchWhat } from '../measure/types.js';
import { isPresetName } from '../presets.js';
import type { SystemInfo } from '../system.js';

/** The payload version this code writes and understands; a worker refuses a newer one. */
export const PAYLOAD_VERSION = 1;

/** A model or audio file as a job carries it: its file name, SHA-256 and size. */
export interface FileRef {
  name: string;
  sha256: string;
  bytes: number;
}

export interface SweepSpec {
  /** bench (whisper-bench's stages, memcpy, mul_mat) or rtf (whole transcriptions of audio files) */
  command: 'bench' | 'rtf';
  what: BenchWhat[];
  models: FileRef[];
  /** rtf: the audio files */
  files: FileRef[];
  /** rtf: the presets */
  presets: string[];
  threads: number[];
  flashAttn: boolean[];
  devices: string[];
  /** addon builds by name (`builds` lists them); none: each worker's own default build */
  builds: string[];
  repetitions: number;
  warmup: number;
  quick: boolean;
  /** machine kinds that must each run every cell */
  kinds: string[];
  tags: string[];
  /** where a worker that lacks a model or audio file gets it: a directory (shared) or an http(s) base URL */
  fileSource?: string;
  /** seconds a cell may run before its worker is presumed dead (the visibility timeout) */
  expireSeconds: number;
  /** retries of a cell after its first attempt */
  retryLimit: number;
}

/** One cell's parameters. */
export interface CellSpec {
  /** bench's what, or 'rtf' */
  what: BenchWhat | 'rtf';
  model: FileRef | null;
  /** rtf: the audio file and the preset */
  file?: FileRef;
  preset?: string;
  threads: number;
  flash_attn: boolean;
  device: string;
  build: string | null;
}

/** What a job carries. */
export interface JobPayload {
  v: number;
  sweep: string;
  kind: string;
  cell: number;
  command: 'bench' | 'rtf';
  params: CellSpec;
  settings: { repetitions: number; warmup: number; quick: boolean };
  fileSource: string | null;
}

const KIND = /^[a-z0-9][a-z0-9-]{0,47}$/;

/** Checks a machine kind name: lower-case letters, digits and '-', at most 48. */
export function checkKind(kind: string): string {
  if (typeof kind !== 'string' || !KIND.test(kind)) {
    throw new WhisperPerfError(`machine kind ${JSON.stringify(kind)}: expected lower-case letters, digits and '-' (at most 48, starting with a letter or digit)`, 'USAGE');
  }
  return kind;
}

/**
 * This machine's kind, derived from what `sysinfo` reports: CPU model, core count, the widest SIMD
 * and the first GPU, e.g. `amd-epyc-9r14-2c-avx512` or `intel-xeon-8480-16c-avx512-nvidia-h100`.
 */
export function machineKind(s: Pick<SystemInfo, 'cpuModel' | 'cores' | 'features' | 'devices'>): string {
  const slug = (t: string) =>
    t
      .toLowerCase()
      .replace(/\((r|tm)\)|\b(cpu|processor|core|with|radeon graphics|\d+-core)\b|@.*$/g, ' ')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '');
  const simd = s.features.avx512 || s.features.avx512f ? 'avx512' : s.features.avx2 ? 'avx2' : s.features.avx ? 'avx' : s.features.neon ? 'neon' : 'base';
  const gpu = s.devices.find((d) => d.type === 'gpu' || d.type === 'igpu');
  const parts = [slug(s.cpuModel).slice(0, 24), `${s.cores}c`, simd, gpu ? slug(gpu.description ?? gpu.name).slice(0, 16) : ''];
  return parts
    .filter(Boolean)
    .join('-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
}

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A file as a job carries it. */
export async function fileRef(path: string): Promise<FileRef> {
  return { name: basename(path), sha256: await sha256File(path), bytes: statSync(path).size };
}

/**
 * The cells of a sweep: bench's order (what × model × device × flash attention × threads × build),
 * or rtf's (model × file × preset × threads, on the sweep's one device and flash attention setting).
 */
export function sweepCells(spec: SweepSpec): CellSpec[] {
  const models: (FileRef | null)[] = spec.models.length ? spec.models : [null];
  const builds: (string | null)[] = spec.builds.length ? spec.builds : [null];
  const cells: CellSpec[] = [];
  if (spec.command === 'rtf') {
    for (const c of cartesian({ model: models, file: spec.files, preset: spec.presets, threads: spec.threads, build: builds })) {
      cells.push({ what: 'rtf', model: c.model, file: c.file, preset: c.preset, threads: c.threads, flash_attn: spec.flashAttn[0], device: spec.devices[0], build: c.build });
    }
    return cells;
  }
  for (const what of spec.what) {
    // memcpy and mul_mat take no model, no device and no flash attention: one cell per thread count
    const axes =
      what === 'encoder'
        ? cartesian({ model: models, device: spec.devices, fa: spec.flashAttn, threads: spec.threads, build: builds })
        : cartesian({ model: [null] as (FileRef | null)[], device: ['cpu'], fa: [true], threads: spec.threads, build: builds });
    for (const c of axes) cells.push({ what, model: c.model, threads: c.threads, flash_attn: c.fa, device: c.device, build: c.build });
  }
  return cells;
}

/** The sweep's id: a hash of everything that defines it (the cells, their settings, the kinds, the tags). */
export function sweepId(spec: SweepSpec): string {
  const canonical = JSON.stringify({
    command: spec.command,
    cells: sweepCells(spec),
    repetitions: spec.repetitions,
    warmup: spec.warmup,
    quick: spec.quick,
    kinds: [...spec.kinds].sort(),
    tags: [...spec.tags].sort(),
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12);
}

/** The jobs of a sweep: one per (cell, kind). */
export function sweepJobs(spec: SweepSpec): JobPayload[] {
  const id = sweepId(spec);
  const cells = sweepCells(spec);
  return spec.kinds.flatMap((kind) =>
    cells.map((params, cell) => ({
      v: PAYLOAD_VERSION,
      sweep: id,
      kind,
      cell,
      command: spec.command,
      params,
      settings: { repetitions: spec.repetitions, warmup: spec.warmup, quick: spec.quick },
      fileSource: spec.fileSource ?? null,
    })),
  );
}

/** Checks a claimed job's payload; the reason it cannot be run, or undefined. */
export function payloadProblem(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return 'the job carries no payload';
  const p = data as Partial<JobPayload>;
  if (typeof p.v !== 'number') return 'the job payload has no version';
  if (p.v > PAYLOAD_VERSION) return `the job was submitted by a newer whisper-perf (payload version ${p.v}; this worker reads ${PAYLOAD_VERSION}): upgrade this worker`;
  if (p.command !== 'bench' && p.command !== 'rtf') return `unknown fleet command ${JSON.stringify(p.command)}`;
  const c = p.params;
  const whats = p.command === 'rtf' ? ['rtf'] : ['encoder', 'memcpy', 'mulmat'];
  if (!c || typeof c !== 'object' || !whats.includes(c.what) || !Number.isInteger(c.threads) || typeof c.flash_attn !== 'boolean' || typeof c.device !== 'string') {
    return 'the job payload is malformed (params)';
  }
  const badRef = (f: FileRef | null | undefined) => typeof f?.name !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256 ?? '') || /[/\\]/.test(f.name) || f.name.startsWith('.');
  if (c.model !== null && badRef(c.model)) return 'the job payload is malformed (model)';
  if (p.command === 'rtf' && (badRef(c.file) || !isPresetName(c.preset))) return 'the job payload is malformed (audio file or preset)';
  if (typeof p.sweep !== 'string' || typeof p.kind !== 'string' || !Number.isInteger(p.cell)) return 'the job payload is malformed (sweep, kind or cell)';
  return undefined;
}

/** A cell in one line, for progress and status. */
export function cellLabel(c: CellSpec): string {
  if (c.what === 'rtf') return [c.model?.name ?? 'default model', c.file?.name ?? '', c.preset ?? '', `-t ${c.threads}`, c.build ? `[${c.build}]` : ''].filter(Boolean).join(' ');
  const parts = [c.what === 'encoder' ? (c.model?.name ?? 'default model') : c.what, `-t ${c.threads}`];
  if (c.what === 'encoder') parts.push(`fa ${c.flash_attn ? 'on' : 'off'}`, c.device);
  if (c.build) parts.push(`[${c.build}]`);
  return parts.join(' ');
}
