/** System and build information: what machine and what build a measurement came from. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, freemem, platform, release, totalmem } from 'node:os';

import { loadBinding, addonPath, NativeDevice, packageRoot } from './native.js';

export interface BuildInfo {
  /** whisper.cpp version compiled in (from whisper_version()) */
  whisperVersion: string;
  /** the vendored pin: npm package, exact version, integrity, sub-path */
  pin: { package: string; version: string; integrity: string; subpath: string; whisperVersion: string };
  buildType: string;
  compiler: string;
  cmakeVersion: string;
  system: string;
  /** 'native' (tuned for the build machine's CPU) or 'generic+avx2+fma...' */
  variant: string;
  /** ggml backends compiled in */
  backends: string[];
  sanitizer: boolean;
  /** every GGML_* / WHISPER_* CMake option */
  options: Record<string, string>;
  /** the addon file that is loaded */
  addonPath: string;
  /** warnings a benchmark should carry: debug build, sanitizer */
  warnings: string[];
}

export interface SystemInfo {
  cpuModel: string;
  /** logical processors Node can use */
  cores: number;
  /** physical cores where /proc/cpuinfo tells, else logical */
  physicalCores: number;
  memoryBytes: number;
  freeMemoryBytes: number;
  os: string;
  nodeVersion: string;
  /** features whisper.cpp reports for this build, e.g. { avx2: true, fma: true, openmp: true } */
  features: Record<string, boolean>;
  /** the raw whisper_print_system_info() text */
  whisperSystemInfo: string;
  /** ggml devices in load order; `gpuDevice` N is the N-th device of type 'gpu' or 'igpu' here, not `index` */
  devices: NativeDevice[];
}

let buildInfoCache: BuildInfo | undefined;

/** Facts about the compiled addon: whisper.cpp version and pin, compiler, build type, GGML options, backends. */
export function buildInfo(): BuildInfo {
  if (buildInfoCache) return buildInfoCache;
  const b = loadBinding();
  const raw = JSON.parse(b.buildInfo()) as Omit<BuildInfo, 'whisperVersion' | 'addonPath' | 'warnings' | 'sanitizer'> & { sanitizer: string };
  const warnings: string[] = [];
  if (raw.buildType !== 'Release') warnings.push(`the addon is a ${raw.buildType} build: timings are not representative`);
  const sanitizer = raw.sanitizer === 'ON';
  if (sanitizer) warnings.push('the addon is built with a sanitizer: timings are not representative');
  buildInfoCache = { ...raw, sanitizer, whisperVersion: b.version(), addonPath: addonPath ?? '', warnings };
  return buildInfoCache;
}

/** Parses whisper_print_system_info() ("CPU : AVX2 = 1 | FMA = 1 | ...") into booleans. */
export function parseFeatures(text: string): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const m of text.matchAll(/([A-Za-z0-9_]+)\s*=\s*(\d+)/g)) out[m[1].toLowerCase()] = m[2] !== '0';
  return out;
}

function physicalCoreCount(): number {
  try {
    const txt = readFileSync('/proc/cpuinfo', 'utf8');
    const ids = new Set<string>();
    for (const block of txt.split('\n\n')) {
      const phys = /physical id\s*:\s*(\d+)/.exec(block)?.[1];
      const core = /core id\s*:\s*(\d+)/.exec(block)?.[1];
      if (phys !== undefined && core !== undefined) ids.add(`${phys}:${core}`);
    }
    if (ids.size > 0) return ids.size;
  } catch {
    // not Linux
  }
  return availableParallelism();
}

/**
 * ggml's GPU devices (discrete and integrated) in load order: `gpuDevice` N means the N-th of
 * these, as whisper.cpp counts them.
 */
export function gpuDevices(): NativeDevice[] {
  return loadBinding().systemInfo().devices.filter((d) => d.type === 'gpu' || d.type === 'igpu');
}

/** The machine: CPU model, cores, memory, whisper.cpp's CPU features, ggml backends and devices with their memory. */
export function systemInfo(): SystemInfo {
  const b = loadBinding();
  const s = b.systemInfo();
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    physicalCores: physicalCoreCount(),
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    os: `${platform()} ${release()}`,
    nodeVersion: process.version,
    features: parseFeatures(s.whisper),
    whisperSystemInfo: s.whisper.trim(),
    devices: s.devices,
  };
}

let pkgVersion: string | undefined;
/** This package's version. */
export function packageVersion(): string {
  pkgVersion ??= (JSON.parse(readFileSync(`${packageRoot}/package.json`, 'utf8')) as { version: string }).version;
  return pkgVersion;
}
