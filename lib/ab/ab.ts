/**
 * `ab`: two (or more) builds or configurations compared the way bench:parity compares the addon
 * with native whisper.cpp. On these VMs a process's own speed differs by up to 10% from another
 * process of the same binary and the machine drifts over minutes, so:
 * - a block is two segments (abRound in lib/ab/chunks.ts, the gated stages' chunks), and every
 *   segment starts a fresh process per side, in a start order that rotates by block (`processes:
 *   'shared'`, a diagnostic, puts every side in one process: see AbOptions.processes), each side on
 *   a copy of its build written for it (lib/ab/copies.ts): a process, the copy of the code it runs
 *   and its loaded model each carry a speed of their own (`fresh: 'block'` keeps a block's
 *   processes and reloads the model for each segment after the first); inside a segment the sides
 *   take turns chunk by chunk, so chunk i of one side and chunk i of the other ran
 *   within a second of each other; a block's ln(side/base) for a stage is the 25% trimmed mean over
 *   its chunk pairs, and for encode its segments' heat-up encodes too (stagePairLogs in
 *   lib/ab/verdicts.ts);
 * - a unit is as many consecutive blocks as there are sides (every side started in every position
 *   once); only whole units count, and each of their blocks is a replicate: ratio = exp(mean over
 *   blocks) trimmed, with Yuen's 95% interval over blocks (yuenRatio: one block at each end set
 *   aside, a tenth from 20 blocks on);
 * - the verdict against a margin: slower when the whole interval is above 1 + margin, faster when
 *   below 1 − margin, same when inside ±margin, inconclusive otherwise; blocks go on while a gated
 *   stage is inconclusive, or same from an interval that could not have flagged a slowdown of
 *   `detect` (4%), up to the time budget.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { WhisperPerfError } from '../errors.js';
import { ensureDefaultModel } from '../models/default.js';
import { median } from '../measure/stats.js';
import { packageRoot } from '../native.js';
import { AB_SEGMENT_COUNT, abRound, accumulateChunks, LOOP_STAGES, runCommand, sideOrder, type ChunkResult, type ChunkSpec, type LoopStage } from './chunks.js';
import { addonSource, copiesFolder, copyAddon } from './copies.js';
import { SideProcess, type ReadyLine } from './driver.js';
import { sideTunables } from './malloc.js';
import { compareAb, overall, raceLosers, type AbComparison, type AbVerdict, type BlockRecord } from './verdicts.js';

/** One side as asked for. */
export interface AbSideSpec {
  /** label in tables (default: the build's name, plus what differs) */
  name?: string;
  /** a `whisper-perf builds` name, a build folder or a .node file (default: the loader's own choice) */
  build?: string;
  threads?: number;
  flashAttn?: boolean;
  /** 'cpu' or a GPU index */
  device?: string;
  /** environment variables of this side's processes */
  env?: Record<string, string>;
  /** a known slowdown injected into every measured call (a fraction; calibration) */
  inject?: number;
}

export interface AbOptions {
  /** the sides; the first is the baseline every other is compared with */
  sides: AbSideSpec[];
  /** ggml model (default: the synthetic tiny.en) */
  model?: string;
  /** defaults for every side */
  threads?: number;
  flashAttn?: boolean;
  /** half-width of "same", a fraction (default 0.03) */
  margin?: number;
  /** seconds the run may take (default 300) */
  budgetS?: number;
  /** blocks before any verdict may stop the run (default 4 units) */
  minBlocks?: number;
  /** blocks at most (default: no limit but the budget) */
  maxBlocks?: number;
  /**
   * segments per block, each on a freshly loaded model (default 2, AB_SEGMENT_COUNT): fewer make a
   * block shorter, for a large model whose round takes minutes
   */
  segments?: number;
  /**
   * the stages measured, whose verdicts decide (default encode, decode); a block runs only their
   * chunks (abRound), so each stage named makes it longer
   */
  stages?: LoopStage[];
  /**
   * the smallest slowdown a `same` verdict must be able to detect before it stops the run, a
   * fraction above the margin (default 0.04, or margin + 0.01 when that is more): blocks go on, within the budget, while a gated stage
   * reads `same` from an interval too wide to have flagged a slowdown this large
   */
  detect?: number;
  /**
   * 'per-side' (default): a fresh process per side in every segment. 'shared', a diagnostic: one
   * fresh process per segment holds every side, each its own model (and build), all computing from
   * the process's main thread so that they share one OpenMP team as a model alone has (and load
   * there, so that one malloc arena holds every model); the sides' environment variables must be
   * the same. Its blocks spread no less than per-side's, and its error rates are not measured: not
   * for verdicts
   */
  processes?: AbProcesses;
  /**
   * what starts fresh processes, each on a fresh copy of its build: every segment ('segment', the
   * default), or every block ('block': the segments after the first reload the model in the block's
   * processes). A process carries a speed of its own for its whole life, which a new copy of the
   * build draws anew as much as the process does (docs/store.md), so four processes a block average
   * it where one could not
   */
  fresh?: AbFresh;
  /** every side's malloc with transparent huge pages (default true; see bench:parity) */
  hugepages?: boolean;
  /**
   * every side's malloc maps each block over 128 KiB on its own, glibc's starting mmap threshold held
   * fixed (default true): otherwise a reloaded model's buffers land differently from load to load,
   * and a block spreads about twice as much (docs/store.md)
   */
  fixedMmap?: boolean;
  /**
   * three sides or more: after each unit (once minBlocks ran), a side whose interval shows it slower
   * than another on a gated stage by more than the margin stops running; the survivors get the
   * blocks (the baseline always runs)
   */
  race?: boolean;
  onProgress?: (p: AbProgress) => void;
  signal?: AbortSignal;
}

export type AbProcesses = 'shared' | 'per-side';
export type AbFresh = 'segment' | 'block';

export interface AbProgress {
  block: number;
  blocks: number;
  elapsedS: number;
  budgetS: number;
  /** median per-run ms per stage of each side in this block */
  figures: Record<string, Record<LoopStage, number>>;
}

export interface AbSideInfo {
  name: string;
  build: string;
  addonPath: string;
  variant: string;
  whisperVersion: string;
  pin: string;
  threads: number;
  flashAttn: boolean;
  device: string;
  env: Record<string, string>;
  inject: number;
}

export interface AbResult {
  model: string;
  margin: number;
  /** the slowdown a `same` had to be able to detect (AbOptions.detect) */
  detect: number;
  budgetS: number;
  elapsedS: number;
  sides: AbSideInfo[];
  blocks: number;
  /** sides per unit at the start (racing makes later units smaller) */
  unitSize: number;
  /** segments per block (each on a freshly loaded model) */
  segments: number;
  /** a process per side in each block, or one for all */
  processes: AbProcesses;
  /** what started fresh processes: every segment or every block */
  fresh: AbFresh;
  /** the most units any side shares with the baseline */
  units: number;
  /** blocks started again after a side failed in them */
  discardedBlocks: number;
  failures: string[];
  comparisons: AbComparison[];
  /** why the run stopped */
  stopped: 'decided' | 'budget' | 'max-blocks';
  /** slower when a gated stage of any side is slower, else inconclusive when one is, else same/faster */
  verdict: AbVerdict;
  /** 0 no gated stage slower (all decided), 1 a gated stage slower, 3 inconclusive at the end */
  exitCode: 0 | 1 | 3;
  /** notes a reader needs: other whisper.cpp versions, injected sides */
  notes: string[];
  /** every block's figures, chunk by chunk (the JSON output carries them, so a run can be analysed again) */
  records: BlockRecord[];
}

export const AB_DEFAULTS = Object.freeze({ margin: 0.03, detect: 0.04, budgetS: 300, minUnits: 4, stages: ['encode', 'decode'] as LoopStage[], processes: 'per-side' as AbProcesses, fresh: 'segment' as AbFresh });
/** consecutive failed tries of one block before the run gives up */
const MAX_BLOCK_TRIES = 3;

/** What a block speaks to for one side: its slot in the process that holds it. */
interface SideHandle {
  ready: ReadyLine;
  command(line: string): Promise<Record<string, unknown>>;
}

function slotOf(p: SideProcess, slot: string): SideHandle {
  const ready = (p.ready.slots as Record<string, ReadyLine> | undefined)?.[slot];
  if (!ready) throw new Error(`the shared process did not report slot ${slot}: ${JSON.stringify(p.ready)}`);
  return { ready: { ...ready, pid: p.ready.pid, glibcTunables: p.ready.glibcTunables }, command: (line) => p.command(`@${slot} ${line}`) };
}

const label = (s: AbSideSpec, i: number) => s.name ?? s.build ?? (i === 0 ? 'A' : String.fromCharCode(65 + i));

/** Runs the comparison; see the module comment. Rejects with USAGE for bad options, AB_FAILED when sides keep failing. */
export async function ab(options: AbOptions): Promise<AbResult> {
  const margin = options.margin ?? AB_DEFAULTS.margin;
  const budgetS = options.budgetS ?? AB_DEFAULTS.budgetS;
  const gated = options.stages ?? AB_DEFAULTS.stages;
  if (!Array.isArray(options.sides) || options.sides.length < 2) throw new WhisperPerfError('ab: at least two sides', 'USAGE');
  if (options.sides.length > 8) throw new WhisperPerfError('ab: at most 8 sides', 'USAGE');
  if (!(margin > 0 && margin < 0.5)) throw new WhisperPerfError(`ab: margin ${margin}: a fraction between 0 and 0.5 (0.03 is 3%)`, 'USAGE');
  const detect = options.detect ?? Math.max(AB_DEFAULTS.detect, margin + 0.01);
  if (!(detect > margin && detect <= 1)) throw new WhisperPerfError(`ab: detect ${detect}: a fraction above the margin (${margin}) and at most 1 (an interval can never be narrower than the margin)`, 'USAGE');
  if (!(budgetS >= 10 && budgetS <= 7 * 24 * 3600)) throw new WhisperPerfError(`ab: budget ${budgetS} s: from 10 s to a week`, 'USAGE');
  for (const s of gated) if (!LOOP_STAGES.includes(s)) throw new WhisperPerfError(`ab: unknown stage ${s}: ${LOOP_STAGES.join(', ')}`, 'USAGE');
  const k = options.sides.length;
  if (options.race && k < 3) throw new WhisperPerfError('ab: --race needs three sides or more', 'USAGE');
  const minBlocks = Math.ceil((options.minBlocks ?? AB_DEFAULTS.minUnits * k) / k) * k;
  const maxBlocks = options.maxBlocks === undefined ? Infinity : Math.ceil(options.maxBlocks / k) * k;
  if (maxBlocks < 2 * k) throw new WhisperPerfError(`ab: --max-blocks ${options.maxBlocks}: at least two units (${2 * k} blocks) are needed for an interval`, 'USAGE');
  const nSegments = options.segments ?? AB_SEGMENT_COUNT;
  if (!Number.isInteger(nSegments) || nSegments < 1 || nSegments > 64) throw new WhisperPerfError(`ab: --segments ${options.segments}: from 1 to 64`, 'USAGE');
  const round = abRound(gated, nSegments);
  const fresh = options.fresh ?? AB_DEFAULTS.fresh;
  if (fresh !== 'segment' && fresh !== 'block') throw new WhisperPerfError(`ab: --fresh ${String(fresh)}: segment or block`, 'USAGE');
  const asked = options.processes;
  if (asked !== undefined && asked !== 'shared' && asked !== 'per-side') throw new WhisperPerfError(`ab: --processes ${String(asked)}: shared or per-side`, 'USAGE');
  const model = options.model ? resolve(options.model) : await ensureDefaultModel();

  // the sides, resolved: a build name becomes its .node; names made unique
  const names: string[] = [];
  const specs = options.sides.map((s, i) => {
    let name = label(s, i);
    while (names.includes(name)) name = `${name}′`;
    names.push(name);
    // the file each block copies (lib/ab/copies.ts); resolveBuilds says why a build cannot be used
    const source = addonSource(s.build);
    const threads = s.threads ?? options.threads ?? 4;
    if (!Number.isInteger(threads) || threads < 1 || threads > 1024) throw new WhisperPerfError(`ab: side ${name}: threads ${threads}`, 'USAGE');
    const device = s.device ?? 'cpu';
    if (device !== 'cpu' && !/^\d+$/.test(device)) throw new WhisperPerfError(`ab: side ${name}: device ${device}: cpu or a GPU index`, 'USAGE');
    const inject = s.inject ?? 0;
    if (!(inject >= 0 && inject < 1)) throw new WhisperPerfError(`ab: side ${name}: inject ${inject}: a fraction below 1`, 'USAGE');
    return { name, spec: s, source, threads, flashAttn: s.flashAttn ?? options.flashAttn ?? true, device, env: s.env ?? {}, inject };
  });
  type Side = (typeof specs)[number];
  const envKey = (s: Side) => JSON.stringify(Object.entries(s.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const processes: AbProcesses = asked ?? AB_DEFAULTS.processes;
  if (processes === 'shared' && new Set(specs.map(envKey)).size > 1) {
    throw new WhisperPerfError("ab: the sides' environment variables differ, so they cannot share a process: --processes per-side", 'USAGE');
  }

  const sideScript = resolve(packageRoot, 'dist', 'ab', 'side.js');
  const slotName = (s: Side) => String(specs.indexOf(s));
  // each block's copies of the builds go in a folder of their own here, removed after the block
  const copies = copiesFolder();
  try {
    return await runBlocks();
  } finally {
    rmSync(copies, { recursive: true, force: true });
  }

  async function runBlocks(): Promise<AbResult> {
    /** A process holding the given sides, each in a slot named by slotName, loaded in this order, each from a copy of its build written into `dir`. */
    const startProcess = (group: Side[], dir: string) => {
      const env: NodeJS.ProcessEnv = { ...process.env, ...group[0].env };
      delete env.WHISPER_PERF_INJECT_SLOWDOWN;
      const tunables = sideTunables(env.GLIBC_TUNABLES, { hugepages: options.hugepages ?? true, fixedMmap: options.fixedMmap ?? true });
      if (tunables !== undefined) env.GLIBC_TUNABLES = tunables;
      const args = [sideScript];
      for (const s of group) {
        args.push('--slot', slotName(s), '-m', model, '-t', String(s.threads));
        args.push('--addon', copyAddon(s.source, join(dir, slotName(s))));
        if (s.inject > 0) args.push('--inject', String(s.inject));
        if (!s.flashAttn) args.push('-nfa');
        if (s.device === 'cpu') args.push('-ng');
        else args.push('--device', s.device);
      }
      // several models in one process compute from its main thread: one OpenMP team, as a process with one model has
      if (group.length > 1) args.push('--caller-thread');
      return SideProcess.start(group.map((s) => s.name).join('+'), process.execPath, args, env);
    };

    // preflight: each side starts once, so a build that does not load or a model one side cannot
    // load is a clear error before any block, and the report can say what each side ran
    const sides: AbSideInfo[] = [];
    for (const s of specs) {
      let p: SideProcess | undefined;
      const dir = join(copies, 'preflight');
      try {
        p = await startProcess([s], dir);
      } catch (e) {
        throw new WhisperPerfError(`ab: side ${s.name} does not start: ${(e as Error).message}`, 'AB_FAILED', { cause: e });
      } finally {
        await p?.stop();
        rmSync(dir, { recursive: true, force: true });
      }
      const r = p.ready;
      sides.push({
        name: s.name,
        build: s.spec.build ?? 'default',
        addonPath: s.source.path,
        variant: String(r.variant),
        whisperVersion: String(r.whisperVersion),
        pin: String(r.pin),
        threads: s.threads,
        flashAttn: s.flashAttn,
        device: s.device,
        env: s.env,
        inject: s.inject,
      });
    }
    const notes: string[] = [];
    if (processes === 'shared') {
      notes.push(
        'the sides shared a process in every segment (--processes shared, a diagnostic): every model loaded and computed on its main thread (one OpenMP team and one malloc arena, as alone), ' +
          'but its blocks spread no less than per-side ones, and the gate has no measured error rates in this mode: not figures for a verdict',
      );
    }
    const versions = new Set(sides.map((s) => `${s.whisperVersion} (${s.pin})`));
    if (versions.size > 1) notes.push(`the sides run different whisper.cpp versions: ${sides.map((s) => `${s.name} ${s.whisperVersion} (${s.pin})`).join(', ')}`);
    for (const s of sides) if (s.inject > 0) notes.push(`side ${s.name} has a known slowdown of ${(s.inject * 100).toFixed(1)}% injected into every measured call`);

    const t0 = performance.now();
    const elapsed = () => (performance.now() - t0) / 1000;
    const blocks: BlockRecord[] = [];
    const failures: string[] = [];
    const dropped = new Map<string, NonNullable<AbComparison['dropped']>>();
    let running = [...specs];
    let segmentStart = 0; // the block where the running set last changed
    let discarded = 0;
    let turn = 0;
    let comparisons: AbComparison[] = [];
    let stopped: AbResult['stopped'] = 'budget';
    let unitStart = 0;
    let unitSeconds = 0;

    while (blocks.length < maxBlocks) {
      options.signal?.throwIfAborted();
      const b = blocks.length;
      const n = running.length;
      if ((b - segmentStart) % n === 0) {
        // a unit ends here: decide, or go on while the budget has room for another unit
        if (b > 0) unitSeconds = Math.max(unitSeconds, elapsed() - unitStart);
        if (b >= 2 * k) {
          if (options.race && b >= minBlocks) {
            const losers = raceLosers(blocks, running.map((x) => x.name), names[0], margin, gated);
            if (losers.length > 0) {
              for (const l of losers) dropped.set(l.side, { afterBlock: b, slowerThan: l.slowerThan, stage: l.stage, ratio: l.ratio });
              running = running.filter((x) => !dropped.has(x.name));
              segmentStart = b;
            }
          }
          comparisons = compareAb(blocks, names, margin, gated);
          const decided = comparisons.every((c) => dropped.has(c.side) || c.stages.every((s) => !s.gated || stageDecided(s, detect)));
          if (decided && b >= minBlocks) {
            stopped = 'decided';
            break;
          }
          if (elapsed() + unitSeconds > budgetS) break;
        } else if (b === k && 2 * unitSeconds > budgetS * 1.5) {
          throw new WhisperPerfError(
            `ab: the budget of ${budgetS} s is too small: one unit of ${k} blocks took ${unitSeconds.toFixed(0)} s and an interval needs two; --budget ${Math.ceil(2.5 * unitSeconds)} or more`,
            'USAGE',
          );
        }
        unitStart = elapsed();
      }
      const order = sideOrder(b - segmentStart, running);
      let tries = 0;
      for (;;) {
        const started: SideProcess[] = [];
        const dir = join(copies, `block${b + 1}-try${tries + 1}`);
        let failed = true;
        try {
          const parts = new Map<string, { spec: ChunkSpec; r: ChunkResult }[]>(running.map((s) => [s.name, []]));
          const loads = new Map<string, number[]>(running.map((s) => [s.name, []]));
          const pids = new Map<string, number[]>(running.map((s) => [s.name, []]));
          const addons = new Map<string, string[]>(running.map((s) => [s.name, []]));
          const heats = new Map<string, ChunkResult[]>(running.map((s) => [s.name, []]));
          let procs = new Map<string, SideHandle>();
          const start = async (segment: number) => {
            procs = new Map();
            for (const group of processes === 'shared' ? [order] : order.map((s) => [s])) {
              const p = await startProcess(group, join(dir, `segment${segment + 1}`));
              started.push(p);
              for (const s of group) procs.set(s.name, slotOf(p, slotName(s)));
            }
            for (const s of order) {
              const h = procs.get(s.name)!;
              loads.get(s.name)!.push(h.ready.loadMs);
              pids.get(s.name)!.push(Number(h.ready.pid));
              addons.get(s.name)!.push(String(h.ready.addonPath));
            }
          };
          for (const [g, segment] of round.segments.entries()) {
            // each segment on freshly loaded models (see abRound): in fresh processes on fresh copies
            // of the builds (fresh: 'segment'), or after the first by a reload in the block's processes
            if (g === 0 || fresh === 'segment') {
              for (const p of started.splice(0)) await p.stop();
              await start(g);
            } else for (const s of order) loads.get(s.name)!.push(Number((await procs.get(s.name)!.command('load')).loadMs));
            // the heat-up's figures are kept apart (BlockRecord.heat): its encode is a pair of the encode ratio, not of the ms figures
            for (const s of order) heats.get(s.name)!.push((await procs.get(s.name)!.command(runCommand(round.heat))) as unknown as ChunkResult);
            for (const spec of segment) {
              for (const s of sideOrder(turn++, running)) {
                const r = (await procs.get(s.name)!.command(runCommand(spec))) as unknown as ChunkResult;
                parts.get(s.name)!.push({ spec, r });
              }
            }
          }
          const rec: BlockRecord = {
            order: order.map((s) => s.name),
            sides: {},
            pids: Object.fromEntries(order.map((s) => [s.name, pids.get(s.name)!])),
            glibcTunables: Object.fromEntries(order.map((s) => [s.name, String(procs.get(s.name)!.ready.glibcTunables ?? '')])),
            addons: Object.fromEntries(order.map((s) => [s.name, addons.get(s.name)!])),
            heat: Object.fromEntries(order.map((s) => [s.name, heats.get(s.name)!])),
            tids: Object.fromEntries(order.map((s) => [s.name, [...new Set(parts.get(s.name)!.flatMap((x) => (typeof x.r.tid === 'number' ? [x.r.tid] : [])))]])),
          };
          for (const s of running) rec.sides[s.name] = { ...accumulateChunks(parts.get(s.name)!), loadMs: median(loads.get(s.name)!) };
          blocks.push(rec);
          failed = false;
          break;
        } catch (e) {
          discarded++;
          failures.push(`block ${b + 1}: ${(e as Error).message}`);
          if (++tries >= MAX_BLOCK_TRIES) {
            throw new WhisperPerfError(`ab: block ${b + 1} failed ${tries} times, the last: ${(e as Error).message}`, 'AB_FAILED', { cause: e });
          }
        } finally {
          // a block that failed may have left a side busy: those are killed; the others quit
          for (const p of started) {
            if (failed) p.kill();
            await p.stop();
          }
          rmSync(dir, { recursive: true, force: true });
        }
      }
      const last = blocks[blocks.length - 1];
      options.onProgress?.({
        block: blocks.length,
        blocks: Number.isFinite(maxBlocks) ? maxBlocks : blocks.length,
        elapsedS: elapsed(),
        budgetS,
        figures: Object.fromEntries(running.map((x) => [x.name, last.sides[x.name].chunkMedianMs])),
      });
    }
    if (blocks.length >= maxBlocks && stopped !== 'decided') stopped = 'max-blocks';
    if (blocks.length < 2 * k) throw new WhisperPerfError(`ab: only ${blocks.length} blocks ran: an interval needs two units (${2 * k} blocks)`, 'AB_FAILED');
    comparisons = compareAb(blocks, names, margin, gated, nSegments).map((c) => (dropped.has(c.side) ? { ...c, dropped: dropped.get(c.side) } : c));
    // a side racing stopped was shown slower than another side, not necessarily than the baseline:
    // the verdict is the baseline comparisons' of the sides that ran to the end, and of the dropped ones
    const verdict = overall(comparisons.filter((c) => !c.dropped || c.verdict === 'slower').map((c) => c.verdict));
    // a `same` that could not have flagged a slowdown of the goal's size says so
    for (const c of comparisons) {
      if (c.dropped) continue;
      for (const s of c.stages) {
        if (s.gated && s.verdict === 'same' && !stageDecided(s, detect)) {
          notes.push(`${c.side} ${s.stage}: same, but the smallest slowdown it could have detected is ${(s.detectable * 100).toFixed(1)}%, above the goal of ${(detect * 100).toFixed(1)}%: a longer --budget narrows it`);
        }
      }
    }
    return {
      model,
      margin,
      detect,
      budgetS,
      elapsedS: elapsed(),
      sides,
      blocks: blocks.length,
      unitSize: k,
      segments: nSegments,
      processes,
      fresh,
      units: comparisons.length ? Math.max(...comparisons.map((c) => c.units)) : 0,
      discardedBlocks: discarded,
      failures,
      comparisons,
      stopped,
      verdict,
      exitCode: verdict === 'slower' ? 1 : verdict === 'inconclusive' ? 3 : 0,
      notes,
      records: blocks,
    };
  }
}

/**
 * A gated stage stops the run when its verdict is slower or faster, or same from an interval narrow
 * enough to have flagged a slowdown of `detect` (a `same` at the first units can be wide).
 */
export function stageDecided(s: { verdict: AbVerdict; detectable: number }, detect: number): boolean {
  return s.verdict === 'slower' || s.verdict === 'faster' || (s.verdict === 'same' && s.detectable <= detect);
}
