/**
 * Addon builds side by side: every `build[-NAME]/<type>/whisper_perf.node` of the package (each folder
 * made by `npm run build:native -- --out DIR ...`) and every x86-64-level prebuild, each with the
 * build info written beside it (`whisper-perf-build.json`; `whisper-perf.<level>.json` for a
 * prebuild). A sweep names them as one more axis (`bench --build native,generic`).
 *
 * Names: `build-X/` is X (build-generic → generic, build-cuda → cuda); the default folder `build/`
 * goes by its variant (`native`, or `generic` for a build made without native tuning) when no
 * other build has that name, else by `default` (`default` always selects it); a prebuild is its level (`x86-64-v3`, also
 * `v3`). Builds of other types in the same folder add the type (`generic-debug`). A folder name
 * (`build-generic`) or the path of a `.node` file or of a build folder works too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';

import { WhisperPerfError } from '../errors.js';
import { addonCandidates, packageRoot, type NativeDevice } from '../native.js';
import { absentGpuBackends, type AbsentBackend } from '../system.js';

/** whisper-perf-build.json as cmake/build-info.cmake writes it. */
export interface BuildFileInfo {
  pin?: { package: string; version: string; whisperVersion?: string };
  buildType?: string;
  compiler?: string;
  cmakeVersion?: string;
  system?: string;
  variant?: string;
  backends?: string[];
  sanitizer?: string;
  options?: Record<string, string>;
}

export interface AddonBuild {
  /** what --build takes */
  name: string;
  /** other names that select it */
  aliases: string[];
  /** 'missing': a name that --build was given and no build answers (only from resolveBuilds with unusable: 'keep') */
  kind: 'source' | 'prebuild' | 'path' | 'missing';
  /** the addon file */
  path: string;
  /** the folder, relative to the package when inside it */
  dir: string;
  /** the build info beside the binary; undefined when there is none */
  info?: BuildFileInfo;
  /** 'native', 'generic+avx+avx2…', or 'unknown' without build info */
  variant: string;
  buildType: string;
  backends: string[];
  /** false for a prebuild this CPU cannot run */
  fits: boolean;
  /** true for the build the loader picks when WHISPER_PERF_ADDON is not set */
  isDefault: boolean;
  /** why it cannot be used, when it cannot */
  problem?: string;
  /** false for an entry resolveBuilds kept although it cannot be run (unusable: 'keep') */
  usable?: boolean;
}

const TYPES = ['Release', 'RelWithDebInfo', 'Debug'] as const;

function readInfo(file: string): BuildFileInfo | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as BuildFileInfo;
  } catch {
    return undefined;
  }
}

function cpuFlags(): Set<string> {
  try {
    return new Set(/^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim().split(/\s+/) ?? []);
  } catch {
    return new Set();
  }
}

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

function fromInfo(info: BuildFileInfo | undefined): Pick<AddonBuild, 'variant' | 'buildType' | 'backends'> {
  return { variant: info?.variant ?? 'unknown', buildType: info?.buildType ?? 'unknown', backends: info?.backends ?? [] };
}

/** The addon builds found in the package (`build*` folders, then prebuilds), named and with their build info. */
export function listBuilds(root: string = packageRoot): AddonBuild[] {
  const out: AddonBuild[] = [];
  const folders = (() => {
    try {
      return readdirSync(root).filter((d) => /^build(-[A-Za-z0-9._-]+)?$/.test(d) && isDir(join(root, d)));
    } catch {
      return [];
    }
  })();
  // build/ first, then the others by name
  folders.sort((a, b) => (a === 'build' ? -1 : b === 'build' ? 1 : a.localeCompare(b)));
  for (const folder of folders) {
    let first = true;
    for (const type of TYPES) {
      const path = join(root, folder, type, 'whisper_perf.node');
      if (!existsSync(path)) continue;
      const info = readInfo(join(root, folder, type, 'whisper-perf-build.json'));
      const base = folder === 'build' ? 'default' : folder.slice('build-'.length);
      const name = first ? base : `${base}-${type.toLowerCase()}`;
      const aliases = first ? [folder] : [`${folder}/${type}`];
      out.push({
        name,
        aliases,
        kind: 'source',
        path,
        dir: relative(root, join(root, folder, type)),
        info,
        ...fromInfo(info),
        fits: true,
        isDefault: false,
        ...(info ? {} : { problem: 'no whisper-perf-build.json beside the binary: an incomplete or foreign build' }),
      });
      first = false;
    }
  }
  // the default folder goes by its variant (native, generic) when that name is free, else by 'default'
  for (const b of out) {
    if (b.kind !== 'source' || b.name !== 'default') continue;
    const word = b.variant.split('+')[0];
    if (word && word !== 'unknown' && !out.some((o) => o.name === word || o.aliases.includes(word))) {
      b.name = word;
      b.aliases.unshift('default');
    }
  }
  const pre = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const table = join(root, 'scripts', 'variants.json');
  if (isDir(pre)) {
    const levels = existsSync(table) ? (JSON.parse(readFileSync(table, 'utf8')) as { name: string; flags: string[] }[]) : [];
    const flags = cpuFlags();
    for (const file of readdirSync(pre).filter((f) => /^whisper-perf\.(.+)\.node$/.test(f)).sort()) {
      const level = /^whisper-perf\.(.+)\.node$/.exec(file)![1];
      const info = readInfo(join(pre, `whisper-perf.${level}.json`));
      const need = levels.find((l) => l.name === level)?.flags ?? [];
      const missing = need.filter((f) => !flags.has(f));
      out.push({
        name: level,
        aliases: [level.replace(/^x86-64-/, ''), `prebuild-${level}`],
        kind: 'prebuild',
        path: join(pre, file),
        dir: relative(root, pre),
        info,
        ...fromInfo(info),
        fits: missing.length === 0,
        isDefault: false,
        ...(missing.length ? { problem: `this CPU lacks ${missing.join(', ')}` } : {}),
      });
    }
  }
  // the one the loader would pick (WHISPER_PERF_ADDON aside)
  const saved = process.env.WHISPER_PERF_ADDON;
  delete process.env.WHISPER_PERF_ADDON;
  try {
    const first = addonCandidates(root)[0];
    for (const b of out) b.isDefault = first !== undefined && resolve(b.path) === resolve(first);
  } finally {
    if (saved !== undefined) process.env.WHISPER_PERF_ADDON = saved;
  }
  return out;
}

/** The command that builds a variant of that name into its own folder. */
export function buildCommandFor(name: string): string {
  const known: Record<string, string> = {
    generic: '--no-native',
    native: '',
    cuda: '--cuda',
    vulkan: '--vulkan',
    opencl: '--opencl',
    blas: '--blas',
    debug: '--debug',
    relwithdebinfo: '--relwithdebinfo',
  };
  const extra = known[name] ?? '[options]';
  return `npm run build:native -- --out build-${name}${extra ? ' ' + extra : ''}`;
}

/**
 * Resolves --build names to builds, in the order given. An unknown name, a build that does not fit
 * this CPU or one without build info is a USAGE error that lists the builds found and says how to
 * build the one asked for; with `{ unusable: 'keep' }` (bench --build) it is kept instead, as an
 * entry with `usable: false` and the same message in `problem`, so that the table can carry it as
 * a row, and only a list with no usable build at all is an error. The same build named twice is
 * always an error.
 */
export function resolveBuilds(names: readonly string[], root: string = packageRoot, options: { unusable?: 'throw' | 'keep' } = {}): AddonBuild[] {
  const all = listBuilds(root);
  const found = () => (all.length ? all.map((b) => `${b.name} (${b.dir})`).join(', ') : 'none');
  const out: AddonBuild[] = [];
  const unusable: string[] = [];
  for (const name of names) {
    let b = all.find((x) => x.name === name) ?? all.find((x) => x.aliases.includes(name));
    if (!b && (name.includes('/') || name.endsWith('.node'))) {
      const p = resolve(name);
      const file = p.endsWith('.node') ? p : TYPES.map((t) => join(p, t, 'whisper_perf.node')).find((f) => existsSync(f));
      if (file && existsSync(file)) {
        b = all.find((x) => resolve(x.path) === file);
        if (!b) {
          const info = readInfo(join(file, '..', 'whisper-perf-build.json'));
          b = { name: basename(join(file, '..', '..')), aliases: [], kind: 'path', path: file, dir: relative(root, join(file, '..')), info, ...fromInfo(info), fits: true, isDefault: false };
        }
      }
    }
    let problem: string | undefined;
    if (!b) problem = `--build: no build named ${JSON.stringify(name)} (found: ${found()}); make it with \`${buildCommandFor(name)}\``;
    else if (!b.fits) problem = `--build ${name}: ${b.path} cannot run here: ${b.problem}`;
    else if (!b.info) problem = `--build ${name}: ${b.path}: ${b.problem ?? 'no build info'}`;
    if (problem !== undefined) {
      if (options.unusable !== 'keep') throw new WhisperPerfError(problem, 'USAGE');
      unusable.push(problem);
      out.push(b ? { ...b, usable: false, problem } : { name, aliases: [], kind: 'missing', path: '', dir: '', variant: 'unknown', buildType: 'unknown', backends: [], fits: false, isDefault: false, usable: false, problem });
      continue;
    }
    if (out.some((o) => o.path === b!.path)) throw new WhisperPerfError(`--build: ${name} names ${b!.path} twice`, 'USAGE');
    out.push(b!);
  }
  if (out.length > 0 && unusable.length === out.length) throw new WhisperPerfError(unusable.length === 1 ? unusable[0] : `--build: none of the builds can run: ${unusable.join('; ')}`, 'USAGE');
  return out;
}

/** What a test load found: the addon's whisper.cpp version, its ggml devices, and the GPU backends compiled in that found none. */
export interface LoadCheck {
  ok: true;
  version: string;
  /** ggml's devices other than the CPU, as `Backend type: description` (OpenCL gpu: ..., Vulkan gpu: llvmpipe ...) */
  devices: string[];
  /** GPU backends compiled in with no device, each with why */
  absent: AbsentBackend[];
}

/** Loads an addon in a child process (a bad binary cannot take this one down): its version and devices, or why it failed. */
export function checkLoads(path: string): LoadCheck | { ok: false; error: string } {
  const script = `const m=require(${JSON.stringify(path)});const s=m.systemInfo();let backends=[];try{backends=JSON.parse(m.buildInfo()).backends||[]}catch{}` +
    `process.stdout.write(JSON.stringify({version:m.version(),backends,devices:s.devices,registryLog:s.registryLog||[]}))`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) {
    try {
      const o = JSON.parse(r.stdout) as { version: string; backends: string[]; devices: NativeDevice[]; registryLog: { level: number; text: string }[] };
      if (/^\d+\.\d+\.\d+/.test(o.version)) {
        const devices = o.devices.filter((d) => d.type !== 'cpu' && d.type !== 'accel').map((d) => `${d.backend} ${d.type}: ${d.description}`);
        return { ok: true, version: o.version.trim(), devices, absent: absentGpuBackends(o.backends, o.devices, o.registryLog) };
      }
    } catch {
      // not JSON: reported below
    }
  }
  const why = (r.stderr || '').split('\n').find((l) => /Error|error/.test(l)) ?? r.error?.message ?? `exit ${r.status ?? r.signal}`;
  return { ok: false, error: why.trim() };
}
