/**
 * The profilers' side of `profile`: finding perf and whether the kernel lets it count, and reading
 * what perf, massif, memcheck and callgrind write (their text formats, parsed into metrics and top
 * functions).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface ProfileMetric {
  name: string;
  value: number | string;
  unit?: string;
  note?: string;
}

export interface ProfileFunction {
  /** share of the total, percent */
  percent: number;
  name: string;
  /** the binary or library it lives in, when the tool says */
  object?: string;
}

// ---------------------------------------------------------------- finding the tools

export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The perf program: WHISPER_PERF_PERF, else `perf` when it runs (Debian's /usr/bin/perf is a wrapper
 * that wants a perf built for the running kernel), else the newest /usr/bin/perf_X.Y.
 */
export function findPerf(): string | undefined {
  const candidates = [process.env.WHISPER_PERF_PERF, onPath('perf')].filter((p): p is string => !!p);
  try {
    const versioned = readdirSync('/usr/bin')
      .filter((f) => /^perf_\d+\.\d+$/.test(f))
      .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
    candidates.push(...versioned.map((f) => join('/usr/bin', f)));
  } catch {
    // no /usr/bin
  }
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0 && /perf version/.test(r.stdout)) return c;
  }
  return undefined;
}

export interface PerfAccess {
  /** software events (task-clock …) can be counted */
  software: boolean;
  /** hardware counters (cycles, instructions …) can be counted */
  hardware: boolean;
  /** why not, in plain words */
  why?: string;
  paranoid?: number;
}

function paranoid(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** What perf may count here: `perf stat -e instructions true` and `-e task-clock true`. */
export function perfAccess(perf: string): PerfAccess {
  const p = paranoid();
  const tryEvents = (events: string) => spawnSync(perf, ['stat', '-x', ',', '-e', events, 'true'], { encoding: 'utf8', timeout: 20_000 });
  const sw = tryEvents('task-clock');
  const swOk = sw.status === 0 && !/<not (supported|counted)>/.test(sw.stderr);
  const hw = tryEvents('instructions,cycles');
  const hwOk = hw.status === 0 && !/<not (supported|counted)>/.test(hw.stderr);
  const text = `${sw.stderr}\n${hw.stderr}`;
  let why: string | undefined;
  if (!swOk) {
    why = /paranoid|permission|not permitted|EACCES|EPERM/i.test(text)
      ? `the kernel forbids perf events to this user (kernel.perf_event_paranoid = ${p ?? '?'}; allow them with \`sysctl kernel.perf_event_paranoid=1\`, or run with CAP_PERFMON)`
      : `perf cannot count here: ${text.trim().split('\n').find((l) => l.trim()) ?? `exit ${sw.status}`}`;
  } else if (!hwOk) {
    why = /not supported/.test(hw.stderr)
      ? 'this CPU exposes no hardware performance counters to this system (typical of a virtual machine): cycles, instructions, IPC and cache misses cannot be measured here; software events and sampling still work'
      : /paranoid|permission|not permitted/i.test(hw.stderr)
        ? `hardware counters are forbidden to this user (kernel.perf_event_paranoid = ${p ?? '?'})`
        : `hardware counters are unavailable: ${hw.stderr.trim().split('\n').find((l) => l.trim()) ?? ''}`;
  }
  return { software: swOk, hardware: hwOk, ...(why ? { why } : {}), ...(p !== undefined ? { paranoid: p } : {}) };
}

// ---------------------------------------------------------------- parsers of the tools' reports

export interface PerfStatLine {
  event: string;
  /** undefined for <not supported> / <not counted> */
  value?: number;
  unit: string;
  status?: string;
}

/** Parses `perf stat -x ,` output (value,unit,event,run time,percent,…); comments and blank lines are skipped. */
export function parsePerfStatCsv(text: string): PerfStatLine[] {
  const out: PerfStatLine[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.split(',');
    if (f.length < 3) continue;
    const [v, unit, event] = f;
    if (!event) continue;
    const value = /^[\d.]+$/.test(v.trim()) ? Number(v) : undefined;
    out.push({ event: event.trim().replace(/:u$/, ''), unit: unit.trim(), ...(value !== undefined ? { value } : { status: v.trim().replace(/[<>]/g, '') }) });
  }
  return out;
}

/** The metrics of a perf stat run: counts, IPC and miss rates where the counters exist. */
export function perfStatMetrics(lines: readonly PerfStatLine[]): ProfileMetric[] {
  const get = (name: string) => lines.find((l) => l.event === name || l.event.startsWith(name + '/'))?.value;
  const m: ProfileMetric[] = [];
  const taskClock = get('task-clock');
  if (taskClock !== undefined) m.push({ name: 'task-clock', value: round(taskClock, 1), unit: 'ms', note: 'CPU time of all threads' });
  for (const e of ['context-switches', 'cpu-migrations', 'page-faults']) {
    const v = get(e);
    if (v !== undefined) m.push({ name: e, value: v });
  }
  const cycles = get('cycles');
  const instructions = get('instructions');
  for (const [name, v] of [['cycles', cycles], ['instructions', instructions]] as const) {
    if (v !== undefined) m.push({ name, value: v });
    else m.push({ name, value: lines.find((l) => l.event === name)?.status ?? 'not measured', note: 'no hardware counter' });
  }
  if (cycles && instructions) m.push({ name: 'IPC', value: round(instructions / cycles, 2), note: 'instructions per cycle' });
  const refs = get('cache-references');
  const misses = get('cache-misses');
  if (refs && misses !== undefined) m.push({ name: 'cache misses', value: round((100 * misses) / refs, 2), unit: '%', note: `${misses} of ${refs} references` });
  const br = get('branches');
  const brm = get('branch-misses');
  if (br && brm !== undefined) m.push({ name: 'branch misses', value: round((100 * brm) / br, 2), unit: '%' });
  return m;
}

/** Parses `perf report --stdio --sort dso,symbol` lines: "  45.12%  whisper_perf.node  [.] ggml_vec_dot_f16". */
export function parsePerfReport(text: string, limit = 10): ProfileFunction[] {
  const out: ProfileFunction[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([\d.]+)%\s+(\S+)\s+\[[.kgu]\]\s+(.+?)\s*$/.exec(line);
    // newer perf adds IPC columns after the symbol ("main  -      -" without hardware counters)
    if (m) out.push({ percent: Number(m[1]), object: m[2], name: m[3].replace(/\s{2,}(-|[\d.]+)\s+(-|\[[^\]]*\])$/, '').trim() });
  }
  return out.sort((a, b) => b.percent - a.percent).slice(0, limit);
}

export interface MassifSummary {
  /** peak heap (useful + allocator overhead) over the snapshots, bytes */
  peakBytes: number;
  peakUsefulBytes: number;
  snapshots: number;
  /** allocation sites at the peak snapshot (the detailed one), largest first */
  sites: { bytes: number; percent: number; name: string }[];
}

/** Parses a massif.out file. */
export function parseMassif(text: string, limit = 8): MassifSummary {
  const snaps = text.split(/^snapshot=\d+$/m).slice(1);
  let peak = 0;
  let peakUseful = 0;
  let peakTree = '';
  for (const s of snaps) {
    const heap = Number(/^mem_heap_B=(\d+)/m.exec(s)?.[1] ?? 0);
    const extra = Number(/^mem_heap_extra_B=(\d+)/m.exec(s)?.[1] ?? 0);
    if (heap + extra > peak) {
      peak = heap + extra;
      peakUseful = heap;
    }
    if (/^heap_tree=peak/m.test(s)) peakTree = s;
  }
  const sites: MassifSummary['sites'] = [];
  const total = Number(/^mem_heap_B=(\d+)/m.exec(peakTree)?.[1] ?? 0);
  for (const line of peakTree.split('\n')) {
    // first level below the root: one space of indent, "n<children>: <bytes> <address>: <function> (<where>)"
    const m = /^ n\d+: (\d+) (?:0x[0-9A-Fa-f]+: )?(.+)$/.exec(line);
    if (m) sites.push({ bytes: Number(m[1]), percent: total ? round((100 * Number(m[1])) / total, 1) : 0, name: m[2].trim() });
  }
  return { peakBytes: peak, peakUsefulBytes: peakUseful, snapshots: snaps.length, sites: sites.sort((a, b) => b.bytes - a.bytes).slice(0, limit) };
}

export interface MemcheckSummary {
  errors?: number;
  contexts?: number;
  definitelyLost?: number;
  indirectlyLost?: number;
  possiblyLost?: number;
  stillReachable?: number;
  /** error kinds with how often their first line appears */
  kinds: { kind: string; count: number }[];
  /** with an object named: the errors and lost bytes whose stack has a frame in it (the addon's own) */
  inObject?: {
    object: string;
    /** error records (contexts: memcheck prints each once, whatever the number of times it occurred) */
    errors: number;
    definitelyLost: number;
    indirectlyLost: number;
    possiblyLost: number;
  };
}

const bytesOf = (text: string, label: string) => {
  const m = new RegExp(`${label}:\\s+([\\d,]+) bytes`).exec(text);
  return m ? Number(m[1].replace(/,/g, '')) : undefined;
};

const ERROR_HEAD = /^(Invalid (?:read|write|free)[^\n]*?|Conditional jump[^\n]*|Use of uninitialised[^\n]*|Syscall param[^\n]*|Mismatched free[^\n]*|Source and destination overlap[^\n]*|Argument 'size'[^\n]*)$/;
const LEAK_HEAD = /^([\d,]+) (?:\(([\d,]+) direct, [\d,]+ indirect\) )?bytes in [\d,]+ blocks are (definitely|indirectly|possibly) lost/;

/**
 * The errors and leaks of a memcheck log whose stack has a frame in `object` (a file name such as
 * whisper_perf.node).
 */
function inObject(text: string, object: string): NonNullable<MemcheckSummary['inObject']> {
  const out = { object, errors: 0, definitelyLost: 0, indirectlyLost: 0, possiblyLost: 0 };
  const records: string[][] = [[]];
  for (const line of text.split(/\r?\n/)) {
    const m = /^==\d+== ?(.*)$/.exec(line);
    if (!m) continue;
    // a record ends at a line of the bare prefix; a head also starts one (memcheck prints a
    // "Warning: set address range perms" line straight above an error, no blank between)
    if (m[1].trim() === '') records.push([]);
    else if (ERROR_HEAD.test(m[1]) || LEAK_HEAD.test(m[1])) records.push([m[1]]);
    else records[records.length - 1].push(m[1]);
  }
  const mine = (rec: string[]) => rec.slice(1).some((l) => /^\s*(?:at|by) 0x/.test(l) && (l.includes(`/${object})`) || l.includes(`(in ${object})`)));
  for (const rec of records) {
    if (rec.length === 0 || !mine(rec)) continue;
    if (ERROR_HEAD.test(rec[0])) out.errors++;
    const leak = LEAK_HEAD.exec(rec[0]);
    if (leak) {
      const bytes = Number((leak[2] ?? leak[1]).replace(/,/g, ''));
      if (leak[3] === 'definitely') out.definitelyLost += bytes;
      else if (leak[3] === 'indirectly') out.indirectlyLost += bytes;
      else out.possiblyLost += bytes;
    }
  }
  return out;
}

/** Parses a memcheck log (--log-file); with `object`, also what of it has a frame in that file. */
export function parseMemcheck(text: string, object?: string): MemcheckSummary {
  const es = /ERROR SUMMARY: ([\d,]+) errors from ([\d,]+) contexts/.exec(text);
  const kinds = new Map<string, number>();
  for (const m of text.matchAll(new RegExp(`^==\\d+== ${ERROR_HEAD.source.slice(1)}`, 'gm'))) {
    const kind = m[1].replace(/ of size \d+/, '').replace(/\(\S+\)/, '').trim();
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return {
    ...(es ? { errors: Number(es[1].replace(/,/g, '')), contexts: Number(es[2].replace(/,/g, '')) } : {}),
    definitelyLost: bytesOf(text, 'definitely lost'),
    indirectlyLost: bytesOf(text, 'indirectly lost'),
    possiblyLost: bytesOf(text, 'possibly lost'),
    stillReachable: bytesOf(text, 'still reachable'),
    kinds: [...kinds].map(([kind, count]) => ({ kind, count })).sort((a, b) => b.count - a.count),
    ...(object ? { inObject: inObject(text, object) } : {}),
  };
}

/** Parses callgrind_annotate output: the total and the top functions by self cost (Ir). */
export function parseCallgrindAnnotate(text: string, limit = 10): { total?: number; functions: ProfileFunction[] } {
  const num = (s: string) => Number(s.replace(/,/g, ''));
  const total = /^\s*([\d,]+)(?: \([\d.]+%\))?\s+\(?PROGRAM TOTALS\)?/m.exec(text);
  const functions: ProfileFunction[] = [];
  // only the function table: from its "Ir  file:function" header to the next rule
  let inTable = false;
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*Ir\s+file:function/.test(line)) {
      inTable = true;
      continue;
    }
    if (!inTable) continue;
    if (/^-{10,}/.test(line)) {
      if (functions.length) break;
      continue;
    }
    // "  1,234,567 (45.67%)  file.c:function [/path/obj]" (3.18+) or "1,234,567  file.c:function [/path/obj]"
    const m = /^\s*([\d,]+)\s+(?:\(\s*([\d.]+)%\)\s+)?(\S.*?)(?:\s+\[(.+)\])?\s*$/.exec(line);
    if (!m) continue;
    const pct = m[2] !== undefined ? Number(m[2]) : total ? (100 * num(m[1])) / num(total[1]) : NaN;
    // drop the file part ("leak.c:", "???:"), keeping C++ scopes ("a::b")
    functions.push({ percent: round(pct, 2), name: m[3].replace(/^[^:]*:(?!:)/, ''), ...(m[4] ? { object: m[4].split('/').pop() } : {}) });
  }
  return { ...(total ? { total: num(total[1]) } : {}), functions: functions.sort((a, b) => b.percent - a.percent).slice(0, limit) };
}

export const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;
