/**
 * Profiling one scenario (encode, decode or transcribe) of a model under a tool, in a child process:
 *
 * - `perf`: `perf stat` (task clock, context switches, page faults, and where the CPU's counters
 *   are exposed cycles, instructions, cache and branch misses → IPC, miss rates) and `perf record`
 *   (sampled at 999 Hz) → the top functions by self time. Both count only the scenario: the child
 *   switches perf on and off through perf's control FIFO (`--delay=-1 --control fifo:…`).
 * - `massif` (valgrind): peak heap (malloc'd bytes, with allocator overhead) and the allocation
 *   sites at the peak.
 * - `memcheck` (valgrind): errors and leaks (definitely, indirectly, possibly lost).
 * - `callgrind` (valgrind): instructions per function → the top functions by self cost.
 *
 * Valgrind runs the whole process (Node's start and the model load included) about 20–100× slower,
 * one thread at a time: its default is 1 thread and OMP_WAIT_POLICY=passive, so that idle OpenMP
 * threads do not spin. Reports go into the output folder; the summary names each file.
 * Where the kernel forbids perf events (perf_event_paranoid, a container without CAP_PERFMON) or
 * the CPU exposes no hardware counters (most virtual machines), the result says so in plain words.
 */
import { spawn, spawnSync } from 'node:child_process';
import { constants, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

import { invalidArgument, WhisperPerfError } from '../errors.js';
import { packageRoot } from '../native.js';
import { ensureDefaultModel } from '../models/default.js';
import { defaultThreads } from '../validate.js';
import { buildInfo } from '../system.js';
import { listBuilds, resolveBuilds } from './builds.js';
import type { ProfileChildConfig } from './profile-child.js';
import {
  findPerf, onPath, parseCallgrindAnnotate, parseMassif, parseMemcheck, parsePerfReport, parsePerfStatCsv, perfAccess, perfStatMetrics,
  round,
  type PerfAccess,
  type ProfileFunction,
  type ProfileMetric,
} from './profile-tools.js';

export const PROFILE_TOOLS = ['perf', 'massif', 'memcheck', 'callgrind'] as const;
export type ProfileTool = (typeof PROFILE_TOOLS)[number];
export const PROFILE_WHATS = ['encode', 'decode', 'transcribe', 'load'] as const;
export type ProfileWhat = (typeof PROFILE_WHATS)[number];

export interface ProfileOptions {
  tool: ProfileTool;
  /** default 'encode' */
  what?: ProfileWhat;
  /** default: the synthetic tiny.en */
  model?: string;
  /** audio for 'transcribe' (default: 30 s of test signal) */
  file?: string;
  /** default: min(4, cores) under perf, 1 under valgrind */
  threads?: number;
  /** scenario repetitions (default 1) */
  repeat?: number;
  /** where the reports go (default ./whisper-perf-profile/<tool>-<what>-<time>) */
  outDir?: string;
  /** per tool run, ms (default 10 minutes) */
  timeoutMs?: number;
  /** the addon build to profile, by name (whisper-perf builds); default: the loaded one */
  build?: string;
  onProgress?: (message: string) => void;
}

export interface ProfileResult {
  tool: ProfileTool;
  what: ProfileWhat;
  model: string;
  threads: number;
  repeat: number;
  out_dir: string;
  /** the commands run, as typed in a shell */
  commands: string[];
  /** report files written (relative to out_dir) */
  files: string[];
  /** the scenario's own timing, from the child */
  scenario?: { scenario_wall_ms: number; runs_ms: number[] };
  /** true when the counts cover the scenario only (perf with its control FIFO) */
  scenario_only: boolean;
  metrics: ProfileMetric[];
  top_functions: ProfileFunction[];
  build: { variant: string; build_type: string; addon: string };
  notes: string[];
}

function cpuHasAvx512(): boolean {
  try {
    return /^flags\s*:.*\bavx512f\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/** True when a build runs AVX-512 code: built with GGML_AVX512, or tuned natively (-march=native) on a CPU that has it. */
export function usesAvx512(variant: string, options: Record<string, string> | undefined, cpuAvx512: boolean = cpuHasAvx512()): boolean {
  if (options && Object.entries(options).some(([k, v]) => /^GGML_AVX512/.test(k) && v === 'ON')) return true;
  return variant === 'native' && cpuAvx512;
}

// ---------------------------------------------------------------- running

const quote = (a: string) => (/^[\w./:=,+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

export function run(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; timeoutMs: number; stdoutFile?: string }): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-200_000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (o.stdoutFile) writeFileSync(o.stdoutFile, stdout);
      resolvePromise({ code, stdout, stderr, timedOut });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolvePromise({ code: -1, stdout, stderr: stderr + e.message, timedOut });
    });
  });
}

function scenarioOf(stdout: string): ProfileResult['scenario'] {
  for (const line of stdout.split('\n').reverse()) {
    try {
      const v = JSON.parse(line) as { scenario_wall_ms?: number; runs_ms?: number[] };
      if (typeof v.scenario_wall_ms === 'number') return { scenario_wall_ms: round(v.scenario_wall_ms, 1), runs_ms: (v.runs_ms ?? []).map((x) => round(x, 1)) };
    } catch {
      // not the line
    }
  }
  return undefined;
}

const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');

/** Runs one scenario under a profiler and summarizes its reports (see the module comment). */
export async function profile(options: ProfileOptions): Promise<ProfileResult> {
  if (!options || !PROFILE_TOOLS.includes(options.tool)) throw invalidArgument('tool', options?.tool, PROFILE_TOOLS.join(', '));
  const tool = options.tool;
  const what = options.what ?? 'encode';
  if (!PROFILE_WHATS.includes(what)) throw invalidArgument('what', what, PROFILE_WHATS.join(', '));
  const valgrind = tool !== 'perf';
  const threads = options.threads ?? (valgrind ? 1 : defaultThreads());
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024) throw invalidArgument('threads', threads, 'an integer from 1');
  const repeat = options.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 1000) throw invalidArgument('repeat', repeat, 'an integer from 1 to 1000');
  const timeoutMs = options.timeoutMs ?? 600_000;
  const say = options.onProgress ?? (() => {});
  const notes: string[] = [];

  // the tool first: a missing or forbidden tool is reported before anything else is done
  let perf: string | undefined;
  let access: PerfAccess | undefined;
  let vg: string | undefined;
  if (tool === 'perf') {
    perf = findPerf();
    if (!perf) throw new WhisperPerfError('perf is not installed (Debian: `apt-get install linux-perf`); or use --tool memcheck|massif|callgrind', 'TOOL_UNAVAILABLE');
    access = perfAccess(perf);
    if (!access.software) throw new WhisperPerfError(`perf cannot profile here: ${access.why}; --tool memcheck, massif or callgrind need no permission`, 'TOOL_UNAVAILABLE');
    if (!access.hardware) notes.push(access.why!);
  } else {
    vg = onPath('valgrind');
    if (!vg) throw new WhisperPerfError('valgrind is not installed (Debian: `apt-get install valgrind`); or use --tool perf', 'TOOL_UNAVAILABLE');
  }
  const child = join(packageRoot, 'dist', 'workloads', 'profile-child.js');
  if (!existsSync(child)) throw new WhisperPerfError(`${child} is missing: run \`npm run build\` first`, 'NATIVE_UNAVAILABLE');
  const model = options.model ?? (await ensureDefaultModel({ onProgress: say }));
  if (!existsSync(model)) throw new WhisperPerfError(`model not found: ${model}`, 'MODEL_NOT_FOUND');
  const outDir = resolve(options.outDir ?? join('whisper-perf-profile', `${tool}-${what}-${stamp()}`));
  mkdirSync(outDir, { recursive: true });
  // the addon: --build, else the loaded one; valgrind cannot run AVX-512 code, so under valgrind an
  // AVX-512 build gives way to a build without it (generic, x86-64-v3 …) when there is one
  const loaded = buildInfo();
  let addon: { path: string; variant: string; buildType: string; name: string } = { path: loaded.addonPath, variant: loaded.variant, buildType: loaded.buildType, name: 'loaded' };
  if (options.build) {
    const [chosen] = resolveBuilds([options.build]);
    addon = { path: chosen.path, variant: chosen.variant, buildType: chosen.buildType, name: chosen.name };
  }
  if (valgrind && usesAvx512(addon.variant, options.build ? resolveBuilds([options.build])[0].info?.options : loaded.options)) {
    // a source build first (its own symbols), else the highest prebuild level without AVX-512
    // (x86-64-v3's AVX2 kernels are nearer the native build's than v2's)
    const fit = options.build ? [] : listBuilds().filter((x) => x.fits && x.info && !usesAvx512(x.variant, x.info.options));
    const alt = fit.find((x) => x.kind === 'source') ?? fit.filter((x) => x.kind === 'prebuild').at(-1) ?? fit[0];
    if (!alt) {
      throw new WhisperPerfError(
        `valgrind cannot run this build: it uses AVX-512 (${addon.variant} on a CPU with AVX-512), which valgrind does not emulate; build a variant without it (\`npm run build:native -- --out build-generic --no-native\`) and it is used automatically, or choose one with --build`,
        'TOOL_UNAVAILABLE',
      );
    }
    notes.push(`valgrind does not emulate AVX-512: profiled the ${alt.name} build (${alt.variant}) instead of ${addon.variant}; its kernels differ from the native build's`);
    addon = { path: alt.path, variant: alt.variant, buildType: alt.buildType, name: alt.name };
  }
  if (addon.buildType === 'Release') {
    notes.push('the addon is a Release build without debug info: functions are named from the symbol table (inlined ones fold into their callers; no source lines). For source lines: npm run build:native -- --out build-relwithdebinfo --relwithdebinfo, then --build relwithdebinfo');
  }
  const cfg: ProfileChildConfig = { model: resolve(model), what, threads, repeat, ...(options.file ? { file: resolve(options.file) } : {}) };
  const childArgs = [process.execPath, child, JSON.stringify(cfg)];
  const env: NodeJS.ProcessEnv = { ...process.env, ...(addon.path ? { WHISPER_PERF_ADDON: addon.path } : {}) };
  const commands: string[] = [];
  const files: string[] = [];
  const metrics: ProfileMetric[] = [];
  let top: ProfileFunction[] = [];
  let scenario: ProfileResult['scenario'];
  let scenarioOnly = false;
  const checkRun = (r: Awaited<ReturnType<typeof run>>, label: string) => {
    if (r.timedOut) throw new WhisperPerfError(`${label} ran past ${Math.round(timeoutMs / 1000)} s and was stopped (a shorter --what or fewer --repeat)`, 'NATIVE_FAILURE');
    if (r.code !== 0) throw new WhisperPerfError(`${label} failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`, 'NATIVE_FAILURE');
  };

  if (tool === 'perf') {
    // the control FIFOs: held open here (read-write) so that neither perf nor the child blocks opening them
    const ctl = join(outDir, '.perf-ctl.fifo');
    const ack = join(outDir, '.perf-ack.fifo');
    rmSync(ctl, { force: true });
    rmSync(ack, { force: true });
    const fifo = spawnSync('mkfifo', [ctl, ack]);
    const fds: number[] = [];
    let control: string[] = [];
    if (fifo.status === 0) {
      fds.push(openSync(ctl, constants.O_RDWR | constants.O_NONBLOCK), openSync(ack, constants.O_RDWR | constants.O_NONBLOCK));
      control = ['--delay=-1', `--control=fifo:${ctl},${ack}`];
    }
    const childEnv = control.length ? { ...env, WHISPER_PERF_PROFILE_CTL: ctl, WHISPER_PERF_PROFILE_ACK: ack } : env;
    const events = ['task-clock', 'context-switches', 'cpu-migrations', 'page-faults', ...(access!.hardware ? ['cycles', 'instructions', 'cache-references', 'cache-misses', 'branches', 'branch-misses'] : [])];
    try {
      const statFile = join(outDir, 'perf-stat.csv');
      const statArgs = ['stat', '-x', ',', '-o', statFile, '-e', events.join(','), ...control, '--', ...childArgs];
      say(`perf stat: ${what} on ${threads} thread(s)`);
      commands.push(`${perf} ${statArgs.map(quote).join(' ')}`);
      let r = await run(perf!, statArgs, { env: childEnv, timeoutMs });
      if (r.code !== 0 && control.length && /control|delay|unknown option/i.test(r.stderr)) {
        notes.push('this perf has no control FIFO: the counts include Node\'s start and the model load');
        control = [];
        const plain = ['stat', '-x', ',', '-o', statFile, '-e', events.join(','), '--', ...childArgs];
        commands[commands.length - 1] = `${perf} ${plain.map(quote).join(' ')}`;
        r = await run(perf!, plain, { env, timeoutMs });
      }
      checkRun(r, 'perf stat');
      scenarioOnly = control.length > 0;
      scenario = scenarioOf(r.stdout);
      files.push('perf-stat.csv');
      metrics.push(...perfStatMetrics(parsePerfStatCsv(readFileSync(statFile, 'utf8'))));
      if (scenario) metrics.push({ name: 'scenario wall time', value: scenario.scenario_wall_ms, unit: 'ms', note: `${repeat} run(s) of ${what}` });
      const tc = metrics.find((m) => m.name === 'task-clock')?.value;
      if (scenario && typeof tc === 'number' && scenarioOnly) metrics.push({ name: 'CPUs utilized', value: round(tc / scenario.scenario_wall_ms, 2), note: 'task-clock / scenario wall time' });

      const dataFile = join(outDir, 'perf.data');
      const recArgs = ['record', '-F', '999', '-o', dataFile, ...control, '--', ...childArgs];
      say(`perf record: ${what}`);
      commands.push(`${perf} ${recArgs.map(quote).join(' ')}`);
      const rr = await run(perf!, recArgs, { env: control.length ? childEnv : env, timeoutMs });
      checkRun(rr, 'perf record');
      files.push('perf.data');
      const repArgs = ['report', '-i', dataFile, '--stdio', '--no-children', '--sort', 'dso,symbol', '--percent-limit', '0.5'];
      commands.push(`${perf} ${repArgs.map(quote).join(' ')} > perf-report.txt`);
      const rep = await run(perf!, repArgs, { timeoutMs, stdoutFile: join(outDir, 'perf-report.txt') });
      if (rep.code === 0) {
        files.push('perf-report.txt');
        top = parsePerfReport(rep.stdout);
        const samples = /^# Samples: (\S+)/m.exec(rep.stdout)?.[1];
        if (samples) metrics.push({ name: 'samples', value: samples, note: 'perf record at 999 Hz' });
      } else notes.push(`perf report failed: ${rep.stderr.trim().split('\n').pop()}`);
    } finally {
      for (const fd of fds) closeSync(fd);
      rmSync(ctl, { force: true });
      rmSync(ack, { force: true });
    }
  } else {
    const vEnv = { ...env, OMP_WAIT_POLICY: 'passive' };
    notes.push('valgrind runs the whole process (Node\'s start and the model load included), one thread at a time, 20–100× slower than native');
    let args: string[];
    if (tool === 'massif') args = ['--tool=massif', `--massif-out-file=${join(outDir, 'massif.out')}`, '--threshold=0.5'];
    else if (tool === 'memcheck') args = ['--tool=memcheck', '--leak-check=full', '--show-leak-kinds=definite,indirect,possible', '--num-callers=20', `--log-file=${join(outDir, 'memcheck.txt')}`];
    else args = ['--tool=callgrind', `--callgrind-out-file=${join(outDir, 'callgrind.out')}`];
    const full = [...args, ...childArgs];
    say(`valgrind --tool=${tool}: ${what} on ${threads} thread(s) (slow)`);
    commands.push(`OMP_WAIT_POLICY=passive ${vg} ${full.map(quote).join(' ')}`);
    const r = await run(vg!, full, { env: vEnv, timeoutMs });
    if (tool === 'memcheck' && existsSync(join(outDir, 'memcheck.txt'))) files.push('memcheck.txt');
    checkRun(r, `valgrind --tool=${tool}`);
    scenario = scenarioOf(r.stdout);
    if (scenario) metrics.push({ name: 'scenario wall time (under valgrind)', value: scenario.scenario_wall_ms, unit: 'ms' });
    if (tool === 'massif') {
      files.push('massif.out');
      const ms = parseMassif(readFileSync(join(outDir, 'massif.out'), 'utf8'));
      metrics.push(
        { name: 'peak heap', value: round(ms.peakBytes / 1e6, 1), unit: 'MB', note: 'malloc/new bytes + allocator overhead, at the peak snapshot' },
        { name: 'peak heap (useful)', value: round(ms.peakUsefulBytes / 1e6, 1), unit: 'MB' },
        { name: 'snapshots', value: ms.snapshots },
      );
      top = ms.sites.map((s) => ({ percent: s.percent, name: `${s.name} (${round(s.bytes / 1e6, 1)} MB)` }));
      const msPrint = onPath('ms_print');
      if (msPrint) {
        commands.push(`ms_print massif.out > massif.txt`);
        const p = await run(msPrint, [join(outDir, 'massif.out')], { timeoutMs, stdoutFile: join(outDir, 'massif.txt') });
        if (p.code === 0) files.push('massif.txt');
      }
      notes.push("massif counts the bytes malloc'd (whisper.cpp's and ggml's buffers, Node's malloc), touched or not, so it can exceed the peak RSS; V8's own heap pages and mmap'd files are not in it");
    } else if (tool === 'memcheck') {
      const object = addon.path ? basename(addon.path) : 'whisper_perf.node';
      const mc = parseMemcheck(readFileSync(join(outDir, 'memcheck.txt'), 'utf8'), object);
      if (mc.errors !== undefined) metrics.push({ name: 'errors', value: mc.errors, note: `from ${mc.contexts} contexts` });
      for (const [name, v] of [['definitely lost', mc.definitelyLost], ['indirectly lost', mc.indirectlyLost], ['possibly lost', mc.possiblyLost], ['still reachable', mc.stillReachable]] as const) {
        if (v !== undefined) metrics.push({ name, value: v, unit: 'bytes' });
      }
      // the addon's own share: records with a frame in its .node (whisper.cpp, ggml and the binding)
      const own = mc.inObject!;
      const where = `records with a frame in ${object}`;
      metrics.push(
        { name: 'error contexts in the addon', value: own.errors, note: where },
        { name: 'definitely lost in the addon', value: own.definitelyLost, unit: 'bytes', note: where },
        { name: 'indirectly lost in the addon', value: own.indirectlyLost, unit: 'bytes', note: where },
        { name: 'possibly lost in the addon', value: own.possiblyLost, unit: 'bytes', note: where },
      );
      top = mc.kinds.slice(0, 10).map((k) => ({ percent: NaN, name: `${k.kind} × ${k.count}` }));
      notes.push(`V8 and Node report some errors and "possibly lost" blocks of their own under memcheck: the "in the addon" figures count only the records with a frame in ${object} (memcheck.txt has them all)`);
    } else {
      files.push('callgrind.out');
      const ann = onPath('callgrind_annotate');
      if (ann) {
        commands.push(`callgrind_annotate callgrind.out > callgrind.txt`);
        const a = await run(ann, [join(outDir, 'callgrind.out')], { timeoutMs, stdoutFile: join(outDir, 'callgrind.txt') });
        if (a.code === 0) {
          files.push('callgrind.txt');
          const parsed = parseCallgrindAnnotate(a.stdout);
          if (parsed.total !== undefined) metrics.push({ name: 'instructions (Ir)', value: parsed.total, note: 'whole process' });
          top = parsed.functions;
        } else notes.push(`callgrind_annotate failed: ${a.stderr.trim().split('\n').pop()}`);
      } else notes.push('callgrind_annotate is not installed: open callgrind.out with kcachegrind');
    }
  }
  const result: ProfileResult = {
    tool,
    what,
    model,
    threads,
    repeat,
    out_dir: outDir,
    commands,
    files,
    ...(scenario ? { scenario } : {}),
    scenario_only: scenarioOnly,
    metrics,
    top_functions: top,
    build: { variant: addon.variant, build_type: addon.buildType, addon: addon.path },
    notes,
  };
  result.files.push('summary.json');
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
