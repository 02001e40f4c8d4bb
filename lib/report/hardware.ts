/**
 * Output of the hardware fields of a row (issue 9): the device that ran, peak RSS, CPU use,
 * whisper.cpp's buffer sizes, the GPU monitor's figures and the build-variant comparison.
 * formats.ts takes its flat columns (csv, sql) and its markdown columns from here.
 *
 * Flat columns: backend, peak_rss_source, model_buffer_mb, kv_buffer_mb, compute_buffer_mb,
 * gpu_buffer_mb; gpu.* becomes gpu_tool, gpu_index, gpu_samples and gpu_<quantity>_mean /
 * gpu_<quantity>_peak (util_pct, mem_used_mib, temp_c, power_w: null where the tool gave none);
 * build_name, build_path, build_baseline, encode_ratio, encode_ratio_low, encode_ratio_high,
 * decode_ratio.
 */
import type { BenchRow } from '../measure/types.js';

type SqlType = 'TEXT' | 'INTEGER' | 'REAL';
type FlatValue = string | number | boolean | null;

const GPU_QUANTITIES = ['util_pct', 'mem_used_mib', 'temp_c', 'power_w'] as const;

/** The flat columns of the hardware fields, in order, with their SQL types. */
export const HARDWARE_COLUMNS: readonly [string, SqlType][] = [
  ['backend', 'TEXT'],
  ['peak_rss_source', 'TEXT'],
  ['model_buffer_mb', 'REAL'],
  ['kv_buffer_mb', 'REAL'],
  ['compute_buffer_mb', 'REAL'],
  ['gpu_buffer_mb', 'REAL'],
  ['gpu_tool', 'TEXT'],
  ['gpu_index', 'INTEGER'],
  ['gpu_samples', 'INTEGER'],
  ...GPU_QUANTITIES.flatMap((q): [string, SqlType][] => [
    [`gpu_${q}_mean`, 'REAL'],
    [`gpu_${q}_peak`, 'REAL'],
  ]),
  ['build_name', 'TEXT'],
  ['build_path', 'TEXT'],
  ['build_baseline', 'TEXT'],
  ['encode_ratio', 'REAL'],
  ['encode_ratio_low', 'REAL'],
  ['encode_ratio_high', 'REAL'],
  ['decode_ratio', 'REAL'],
];

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const str = (x: unknown): string | null => (x === undefined || x === null ? null : String(x));

/** The hardware fields of a row as flat values (names of HARDWARE_COLUMNS). */
export function flattenHardware(row: BenchRow): Record<string, FlatValue> {
  const f: Record<string, FlatValue> = {
    backend: str(row.backend),
    peak_rss_source: str(row.peak_rss_source),
    model_buffer_mb: num(row.model_buffer_mb),
    kv_buffer_mb: num(row.kv_buffer_mb),
    compute_buffer_mb: num(row.compute_buffer_mb),
    gpu_buffer_mb: num(row.gpu_buffer_mb),
    gpu_tool: str(row.gpu?.tool),
    gpu_index: num(row.gpu?.index),
    gpu_samples: num(row.gpu?.samples),
  };
  for (const q of GPU_QUANTITIES) {
    f[`gpu_${q}_mean`] = num(row.gpu?.[q]?.mean);
    f[`gpu_${q}_peak`] = num(row.gpu?.[q]?.peak);
  }
  f.build_name = str(row.build_name);
  f.build_path = str(row.build_path);
  f.build_baseline = str(row.build_baseline);
  f.encode_ratio = num(row.encode_ratio);
  f.encode_ratio_low = num(row.encode_ratio_low);
  f.encode_ratio_high = num(row.encode_ratio_high);
  f.decode_ratio = num(row.decode_ratio);
  return f;
}

/** A markdown column, as formats.ts renders them. */
export interface HardwareMdColumn {
  title: string;
  right: boolean;
  cell: (r: BenchRow) => string;
}

const fix = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

/** The notable options of a build, for a table: `native`, or the instruction sets it was built for, its GPU backends and a non-Release type. */
export function buildOptionsSummary(build: BenchRow['build'] | undefined): string {
  if (!build) return '';
  const o = build.options ?? {};
  const parts: string[] = [];
  if (o.GGML_NATIVE === 'ON') parts.push('-march=native');
  else {
    const isa = ['SSE42', 'AVX', 'AVX2', 'FMA', 'F16C', 'BMI2', 'AVX512', 'AVX512_VBMI', 'AVX512_VNNI', 'AVX512_BF16', 'AVX_VNNI', 'AMX_TILE', 'AMX_INT8', 'AMX_BF16'].filter((k) => o[`GGML_${k}`] === 'ON');
    parts.push(isa.length ? isa.join(' ') : 'baseline x86-64');
  }
  if (o.GGML_OPENMP === 'OFF') parts.push('no OpenMP');
  for (const b of build.backends ?? []) if (b !== 'cpu') parts.push(b.toUpperCase());
  if (build.build_type && build.build_type !== 'Release') parts.push(build.build_type);
  return parts.join(', ');
}

const ratioCell = (r: number | undefined, low?: number, high?: number): string => {
  if (typeof r !== 'number') return '';
  const ci = typeof low === 'number' && typeof high === 'number' && high > low ? ` [${fix(low, 2)}–${fix(high, 2)}]` : '';
  return `${fix(r, 2)}×${ci}`;
};

/** Leading columns for rows of a build comparison (bench --build): build, variant, options. */
export function buildMdColumns(rows: readonly BenchRow[]): HardwareMdColumn[] {
  if (!rows.some((r) => r.build_name !== undefined)) return [];
  return [
    { title: 'build', right: false, cell: (r) => r.build_name ?? '' },
    { title: 'variant', right: false, cell: (r) => r.build?.variant ?? '' },
    { title: 'options', right: false, cell: (r) => buildOptionsSummary(r.build) },
  ];
}

/** Trailing columns: the ratio against the baseline build, memory, CPU, buffers and the GPU monitor, each only when some row has it. */
export function hardwareMdColumns(rows: readonly BenchRow[]): HardwareMdColumn[] {
  const has = (p: (r: BenchRow) => boolean) => rows.some(p);
  const cols: HardwareMdColumn[] = [];
  if (has((r) => typeof r.encode_ratio === 'number')) {
    const base = rows.find((r) => r.build_baseline)?.build_baseline ?? 'baseline';
    const isBase = (r: BenchRow) => r.build_name !== undefined && r.build_name === r.build_baseline;
    cols.push({ title: `encode vs ${base}`, right: true, cell: (r) => (isBase(r) && r.encode_ratio === 1 ? '1.00× (baseline)' : ratioCell(r.encode_ratio, r.encode_ratio_low, r.encode_ratio_high)) });
    if (has((r) => typeof r.decode_ratio === 'number')) cols.push({ title: `decode vs ${base}`, right: true, cell: (r) => ratioCell(r.decode_ratio) });
  }
  if (has((r) => typeof r.peak_rss_mb === 'number')) {
    cols.push({ title: 'peak RSS MB', right: true, cell: (r) => (typeof r.peak_rss_mb === 'number' ? fix(r.peak_rss_mb, 0) : '') });
  }
  if (has((r) => typeof r.cpu_pct === 'number')) {
    cols.push({ title: 'CPU %', right: true, cell: (r) => (typeof r.cpu_pct === 'number' ? fix(r.cpu_pct, 0) : '') });
  }
  if (has((r) => typeof r.model_buffer_mb === 'number' || typeof r.kv_buffer_mb === 'number')) {
    const m = (x: number | undefined) => (typeof x === 'number' ? fix(x, 1) : '–');
    cols.push({
      title: 'weights/KV/compute MB',
      right: true,
      cell: (r) => (r.model_buffer_mb === undefined && r.kv_buffer_mb === undefined && r.compute_buffer_mb === undefined ? '' : `${m(r.model_buffer_mb)}/${m(r.kv_buffer_mb)}/${m(r.compute_buffer_mb)}`),
    });
  }
  if (has((r) => typeof r.gpu_buffer_mb === 'number' && r.gpu_buffer_mb > 0)) {
    cols.push({ title: 'GPU buffers MB', right: true, cell: (r) => (typeof r.gpu_buffer_mb === 'number' ? fix(r.gpu_buffer_mb, 1) : '') });
  }
  const mp = (x: { mean: number; peak: number } | undefined, d: number) => (x ? `${fix(x.mean, d)}/${fix(x.peak, d)}` : '');
  if (has((r) => r.gpu?.util_pct !== undefined)) cols.push({ title: 'GPU util % mean/peak', right: true, cell: (r) => mp(r.gpu?.util_pct, 0) });
  if (has((r) => r.gpu?.mem_used_mib !== undefined)) cols.push({ title: 'GPU mem MiB peak', right: true, cell: (r) => (r.gpu?.mem_used_mib ? fix(r.gpu.mem_used_mib.peak, 0) : '') });
  if (has((r) => r.gpu?.temp_c !== undefined)) cols.push({ title: 'GPU °C peak', right: true, cell: (r) => (r.gpu?.temp_c ? fix(r.gpu.temp_c.peak, 0) : '') });
  if (has((r) => r.gpu?.power_w !== undefined)) cols.push({ title: 'GPU W mean/peak', right: true, cell: (r) => mp(r.gpu?.power_w, 0) });
  return cols;
}
