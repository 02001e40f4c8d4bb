/** System and build information: what machine and what build a measurement came from. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, freemem, platform, release, totalmem } from 'node:os';

import { loadBinding, addonPath, type BindingModule, NativeDevice, packageRoot } from './native.js';

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
  /** what ggml's backends logged while registering their devices (why a backend has none), one line each */
  backendLog: string[];
  /** GPU backends compiled in that registered no device, each with why (from backendLog) */
  absentBackends: AbsentBackend[];
}

/** A GPU backend compiled into the addon that registered no device. */
export interface AbsentBackend {
  /** as the build info names it: opencl, vulkan, cuda ... */
  backend: string;
  /** one line: what the backend said, and what it means */
  reason: string;
}

/** Backends that put weights on a device of their own; blas is a CPU-side helper with no device. */
const GPU_BACKENDS: Record<string, { reg: RegExp; log: string }> = {
  cuda: { reg: /^CUDA$/i, log: 'ggml_cuda' },
  hip: { reg: /^(ROCm|HIP)$/i, log: 'ggml_cuda' },
  vulkan: { reg: /^Vulkan$/i, log: 'ggml_vulkan' },
  opencl: { reg: /^OpenCL$/i, log: 'ggml_opencl' },
  sycl: { reg: /^SYCL$/i, log: 'ggml_sycl' },
  metal: { reg: /^(Metal|MTL)$/i, log: 'ggml_metal' },
};

/** ggml log levels (ggml_log_level) */
const LOG_WARN = 3;

/**
 * The GPU backends of `backends` (the build info's list) with no device among `devices`, each with
 * one line saying why: the backend's own warnings and errors from `registryLog` (else its other
 * lines), and what a known message means. A GPU build that has no device would otherwise run on
 * the CPU under the backend's name.
 */
export function absentGpuBackends(backends: readonly string[], devices: readonly Pick<NativeDevice, 'backend'>[], registryLog: readonly { level: number; text: string }[], env: NodeJS.ProcessEnv = process.env): AbsentBackend[] {
  const out: AbsentBackend[] = [];
  for (const backend of backends) {
    const g = GPU_BACKENDS[backend.toLowerCase()];
    if (!g || devices.some((d) => g.reg.test(d.backend))) continue;
    const mine = registryLog.map((l) => ({ level: l.level, text: l.text.trim() })).filter((l) => l.text.startsWith(g.log));
    const loud = mine.filter((l) => l.level >= LOG_WARN);
    const said = [...new Set((loud.length ? loud : mine).map((l) => l.text))].slice(0, 3);
    let reason = `ggml's ${backend} backend registered no device`;
    if (said.length) reason += `: ${said.join('; ')}`;
    else if (!registryLog.length) reason += ' (this addon does not report its backends\' registration log: rebuild it to see why)';
    const text = said.join(' ');
    if (backend === 'opencl' && /unsupported GPU/.test(text)) {
      reason += ' (the pinned ggml\'s OpenCL backend accepts only Adreno, Qualcomm and Intel GPUs with OpenCL C 2.0+, cl_khr_fp16 and subgroups)';
    } else if (backend === 'vulkan' && /No devices found/.test(text) && !env.GGML_VK_VISIBLE_DEVICES) {
      reason += ' (a CPU-type Vulkan device such as Mesa\'s llvmpipe is used only when GGML_VK_VISIBLE_DEVICES names it, e.g. GGML_VK_VISIBLE_DEVICES=0)';
    }
    out.push({ backend, reason });
  }
  return out;
}

let buildInfoCache: BuildInfo | undefined;

/** Facts about the compiled addon: whisper.cpp version and pin, compiler, build type, GGML options, backends. */
export function buildInfo(): BuildInfo {
  if (buildInfoCache) return buildInfoCache;
  buildInfoCache = buildInfoOf(loadBinding(), addonPath ?? '');
  return buildInfoCache;
}

/** buildInfo() of a given addon (loadBindingAt), loaded from `path`. */
export function buildInfoOf(b: BindingModule, path: string): BuildInfo {
  const raw = JSON.parse(b.buildInfo()) as Omit<BuildInfo, 'whisperVersion' | 'addonPath' | 'warnings' | 'sanitizer'> & { sanitizer: string };
  const warnings: string[] = [];
  if (raw.buildType !== 'Release') warnings.push(`the addon is a ${raw.buildType} build: timings are not representative`);
  const sanitizer = raw.sanitizer === 'ON';
  if (sanitizer) warnings.push('the addon is built with a sanitizer: timings are not representative');
  return { ...raw, sanitizer, whisperVersion: b.version(), addonPath: path, warnings };
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
export function gpuDevices(b: BindingModule = loadBinding()): NativeDevice[] {
  return b.systemInfo().devices.filter((d) => d.type === 'gpu' || d.type === 'igpu');
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
    backendLog: (s.registryLog ?? []).map((l) => l.text.trim()).filter(Boolean),
    absentBackends: absentGpuBackends(buildInfo().backends, s.devices, s.registryLog ?? []),
  };
}

let pkgVersion: string | undefined;
/** This package's version. */
export function packageVersion(): string {
  pkgVersion ??= (JSON.parse(readFileSync(`${packageRoot}/package.json`, 'utf8')) as { version: string }).version;
  return pkgVersion;
}

/** Whether a process of this host still runs: signal 0 reaches it (EPERM: alive, another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
