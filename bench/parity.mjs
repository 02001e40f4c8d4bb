#!/usr/bin/env node
/**
 * bench:parity — does the addon add overhead to whisper.cpp?
 *
 * The native side is build/Release/whisper-perf-native-bench: a plain C++ process linked with the
 * same whisper.cpp build, running the addon's own bench loop (binding/bench_loop.h) in short
 * chunks on request. The addon side is dist/ab/side.js (lib/ab/side.ts, the side process of
 * `whisper-perf ab`): a Node process that runs the same chunks through the addon, speaking the same
 * line protocol. A round is a list of chunks
 * (parity-lib.mjs CHUNKS); the sides take turns chunk by chunk in rotating order.
 *
 * A block starts a fresh process for every side, in rotating start order, and runs its rounds: a
 * process's own speed (where its memory landed, its start position) differs by up to 10% on
 * decode between two native processes of the same binary on this kind of VM, so a whole run on
 * one pair of processes measures that pair, not the addon. Consecutive blocks that start every
 * side in every position once form a unit, the replicate the interval is computed over.
 *
 * Two addon modes: `fresh` (a model loaded for each round) and `served` (the block's model serves
 * a transcription, then mel, encode and decode calls while the libuv pool is kept busy, before
 * each round — the case that used to gather one OpenMP team per pool thread). The self-check side
 * is a third process: the addon with WHISPER_PERF_INJECT_SLOWDOWN set.
 *
 * For reference, whisper.cpp's own whisper-bench (build/Release/whisper-bench-native) runs once
 * per thread count and its figures are printed beside the blocks'.
 *
 * Data on stdout (markdown, or JSON with -o json); header and progress on stderr.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildInfo, ensureDefaultModel, systemInfo, version, whisperVersion } from 'whisper-perf';

import { SideProcess } from '../dist/ab/driver.js';

import {
  CHUNKS,
  HEAT,
  ROUND,
  accumulateChunks,
  compareBlocks,
  extendTo,
  fmtMs,
  fmtRatio,
  formatModeTable,
  nativeArgs,
  parseNativeBench,
  parseParityArgs,
  PARITY_HELP,
  runCommand,
  sideEnv,
  sideOrder,
  UsageError,
  VERDICT_RULE,
} from './parity-lib.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const err = (line) => process.stderr.write(line + '\n');
const INJECT_VAR = 'WHISPER_PERF_INJECT_SLOWDOWN';
const ADDON_DRIVER = join(root, 'dist', 'ab', 'side.js');

/** Starts one side's process for a block. */
function startSide(side, { threads, mode, opts, modelPath, nativeBin, env: baseEnv }) {
  const args = nativeArgs({ model: modelPath, threads, flashAttn: opts.flashAttn, useGpu: opts.useGpu, nativeThread: side === 'native' && opts.nativeThread });
  if (side === 'native') return SideProcess.start(side, nativeBin, args, baseEnv);
  const env = { ...baseEnv };
  delete env[INJECT_VAR];
  if (side === 'injected') env[INJECT_VAR] = String(opts.inject);
  return SideProcess.start(side, process.execPath, [ADDON_DRIVER, ...args, ...(mode === 'served' ? ['--served'] : [])], env);
}

/** One whole whisper-bench process, for the reference line. */
function runWhisperBench(bin, args, env) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`whisper-bench-native exited with ${code}`));
      try {
        resolvePromise(parseNativeBench(stderr));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/**
 * The blocks of one thread count and mode. Each block: fresh processes for every side started in
 * the order sideOrder(block) gives, a heat-up, then its rounds, the sides taking turns chunk by
 * chunk; in fresh mode every round after the first loads a fresh model on every side, in served
 * mode the addon sides serve traffic before every round after the first (their first traffic
 * comes with their start).
 */
async function runBlocks(mode, threads, opts, ctx, progress) {
  const sides = opts.selfCheck ? ['native', 'addon', 'injected'] : ['native', 'addon'];
  const blocks = [];
  const tids = [];
  const extensions = [];
  let target = opts.blocks;
  let cmp = null; // the comparison over every block so far, made after the last block of each target
  let turn = 0; // counts chunks over the whole run: the order of the sides rotates with it
  for (let b = 0; b < target; b++) {
    const order = sideOrder(b, sides);
    const drivers = {};
    try {
      for (const side of order) drivers[side] = await startSide(side, { threads, mode, opts, ...ctx });
      if (b === 0 && drivers.native.systemInfo() && ctx.addonSystemInfo && drivers.native.systemInfo() !== ctx.addonSystemInfo) {
        err(`warning: the native driver's system_info differs from the addon's:\n  native: ${drivers.native.systemInfo()}\n  addon:  ${ctx.addonSystemInfo}`);
      }
      const loadMs = Object.fromEntries(sides.map((s) => [s, [drivers[s].ready.loadMs]]));
      const addonSides = sides.filter((s) => s !== 'native');
      const blockTids = Object.fromEntries(addonSides.map((s) => [s, new Set(drivers[s].ready.tids ?? [])]));
      for (const side of order) await drivers[side].command(runCommand(HEAT));
      const parts = Object.fromEntries(sides.map((s) => [s, []]));
      for (let r = 0; r < opts.rounds; r++) {
        if (r > 0) {
          for (const side of order) {
            if (mode === 'fresh') {
              loadMs[side].push((await drivers[side].command('load')).loadMs);
              await drivers[side].command(runCommand(HEAT));
            } else if (side !== 'native') {
              for (const t of (await drivers[side].command('serve')).tids) blockTids[side].add(t);
            }
          }
        }
        for (const spec of CHUNKS) {
          for (const side of sideOrder(turn++, sides)) {
            const res = await drivers[side].command(runCommand(spec));
            if (side !== 'native') blockTids[side].add(res.tid);
            parts[side].push({ spec, r: res });
          }
        }
      }
      const res = {};
      for (const side of sides) {
        const ms = loadMs[side];
        res[side] = { ...accumulateChunks(parts[side]), loadMs: ms.reduce((x, y) => x + y, 0) / ms.length, pid: drivers[side].ready.pid ?? drivers[side].child.pid };
        if (side === 'injected') res[side].injected = parts[side][0].r.injected;
      }
      blocks.push({ block: b + 1, order, ...res });
      tids.push(...addonSides.map((s) => blockTids[s].size));
      progress(b, sides, res, target);
    } finally {
      for (const side of order) await drivers[side]?.stop();
    }
    if (b === target - 1) {
      // the self-check's power not shown yet: more blocks, by what its intervals say (see extendTo)
      cmp = compareBlocks(blocks, { selfCheck: opts.selfCheck });
      const ext = extendTo(cmp, { blocksRun: blocks.length, maxBlocks: opts.maxBlocks, extensions: extensions.length });
      if (ext) {
        const shown = ext.stages.map((st) => `${st} ${fmtRatio(cmp.selfCheck.stages.find((x) => x.stage === st).ratio)}`);
        err(`-t ${threads} ${mode}: after ${blocks.length} blocks the self-check has not flagged ${shown.join(', ')}; extending to ${ext.to} blocks (--max-blocks ${opts.maxBlocks})`);
        extensions.push({ from: blocks.length, to: ext.to, stages: ext.stages });
        target = ext.to;
      }
    }
  }
  // in served mode: the most OS threads one addon process's model computed on, over every block
  return { blocks, cmp, extensions, computeThreads: mode === 'served' ? Math.max(...tids) : null };
}

async function main(argv) {
  const opts = parseParityArgs(argv, { cores: availableParallelism() });
  if (opts.help) {
    process.stdout.write(PARITY_HELP.replace('${cores}', String(availableParallelism())));
    return 0;
  }
  const nativeBin = resolve(root, opts.native);
  try {
    accessSync(nativeBin, constants.X_OK);
  } catch {
    throw new UsageError(`the native driver is missing or not executable: ${nativeBin}; run npm run build:native`);
  }
  const whisperBench = join(dirname(nativeBin), 'whisper-bench-native');
  const modelPath = opts.model ? resolve(opts.model) : await ensureDefaultModel({ onProgress: err });
  try {
    accessSync(modelPath, constants.R_OK);
  } catch {
    throw new UsageError(`-m: cannot read ${modelPath}`);
  }
  const build = buildInfo();
  const sys = systemInfo();
  const started = performance.now();
  err(`whisper-perf ${version} bench:parity — addon vs native whisper.cpp, sides taking turns chunk by chunk`);
  err(`build: whisper.cpp ${build.whisperVersion}, ${build.buildType}, ${build.compiler}, variant ${build.variant}, backends ${build.backends.join(',')}`);
  err(`machine: ${sys.cpuModel}, ${sys.cores} cores, ${(sys.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${sys.os}, node ${sys.nodeVersion}`);
  err(`model: ${modelPath}; threads ${opts.threads.join(',')}; modes ${opts.modes.join(',')}; ${opts.blocks} blocks of fresh processes, ${opts.rounds} round${opts.rounds === 1 ? '' : 's'} each; self-check ${opts.selfCheck ? `+${opts.inject * 100}%, up to ${opts.maxBlocks} blocks until it flags every stage` : 'off'}`);
  // every process of the run (the sides and the reference whisper-bench) starts with this environment
  const env = sideEnv(process.env, opts);
  err(`malloc: ${opts.hugepages ? `transparent huge pages for large blocks on every side (GLIBC_TUNABLES=${env.GLIBC_TUNABLES}; --no-hugepages to leave it)` : "glibc's default (--no-hugepages)"}`);

  const results = [];
  for (const threads of opts.threads) {
    let reference = null;
    if (opts.reference) {
      try {
        accessSync(whisperBench, constants.X_OK);
        err(`-t ${threads}: reference run of whisper.cpp's whisper-bench ...`);
        reference = await runWhisperBench(whisperBench, nativeArgs({ model: modelPath, threads, flashAttn: opts.flashAttn, useGpu: opts.useGpu }), env);
      } catch (e) {
        err(`-t ${threads}: no whisper-bench reference (${e.message})`);
      }
    }
    const ctx = { modelPath, nativeBin, env, addonSystemInfo: sys.whisperSystemInfo.trim() };
    for (const mode of opts.modes) {
      const t0 = performance.now();
      const { blocks, cmp, extensions, computeThreads } = await runBlocks(mode, threads, opts, ctx, (i, order, res, target) => {
        const line = order.map((s) => `${s} dec ${fmtMs(res[s].wallPerRunMs.decode)} enc ${fmtMs(res[s].wallPerRunMs.encode)}`).join(' | ');
        const eta = ((performance.now() - t0) / (i + 1)) * (target - i - 1);
        err(`-t ${threads} ${mode} block ${i + 1}/${target}: ${line} (ETA ${(eta / 1000).toFixed(0)} s)`);
      });
      results.push({ threads, mode, reference, computeThreads, blocksRun: blocks.length, extensions, ...cmp, blocks });
      // each table as soon as it is known, so an interrupted run keeps what it measured
      err(`\n-t ${threads} ${mode}:\n${formatModeTable(cmp)}`);
    }
  }
  const elapsedMs = performance.now() - started;
  err(`done in ${(elapsedMs / 1000).toFixed(1)} s`);
  const pass = results.every((r) => r.pass);

  if (opts.output === 'json') {
    process.stdout.write(
      JSON.stringify(
        {
          tool: 'whisper-perf bench:parity',
          version,
          whisperVersion: whisperVersion(),
          date: new Date().toISOString(),
          config: { model: modelPath, ...opts, chunks: CHUNKS, heat: HEAT, native: nativeBin, addonDriver: ADDON_DRIVER },
          provenance: { build, system: sys },
          rule: VERDICT_RULE,
          pass,
          results,
          elapsedMs,
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    const out = [
      `## whisper-perf bench:parity — addon vs native whisper.cpp`,
      '',
      `whisper.cpp ${build.whisperVersion} ${build.buildType} (${build.compiler}, ${build.variant}); ${sys.cpuModel}, ${sys.cores} cores; model ${modelPath}; ` +
        `${opts.hugepages ? 'malloc with transparent huge pages (GLIBC_TUNABLES) on every side; ' : ''}${opts.nativeThread ? 'the native driver computing on a second thread, as the addon does; ' : 'the native driver computing on its main thread (--native-main-thread); '}${opts.blocks} blocks of fresh processes per table (units of ${opts.selfCheck ? 3 : 2}; up to ${opts.maxBlocks} while the self-check has not flagged every stage), ${opts.rounds} round${opts.rounds === 1 ? '' : 's'} per block; a round per side: ${ROUND.nEncode} encode${ROUND.nEncode === 1 ? '' : 's'}, ${ROUND.nDecode} decodes, ${ROUND.nBatch} batches of 5 and ${ROUND.nPrompt} prompts of 256 in ${CHUNKS.length} chunks, the sides taking turns chunk by chunk; ${(elapsedMs / 1000).toFixed(0)} s`,
      '',
    ];
    for (const r of results) {
      out.push(`### -t ${r.threads}, ${r.mode} model${r.computeThreads !== null ? ` (its calls ran on ${r.computeThreads} OS thread${r.computeThreads === 1 ? '' : 's'})` : ''}`, '');
      if (r.extensions.length > 0) {
        out.push(`${r.blocksRun} blocks: extended from ${r.extensions[0].from} because the self-check had not yet flagged ${[...new Set(r.extensions.flatMap((e) => e.stages))].join(', ')} (${r.extensions.map((e) => `${e.from} → ${e.to}`).join(', ')}).`, '');
      }
      if (r.reference) {
        const p = r.reference.perRunMs;
        out.push(`Reference, one whole whisper-bench run: load ${fmtMs(r.reference.loadMs)} ms, encode ${fmtMs(p.encode)}, decode ${fmtMs(p.decode)}, batchd ${fmtMs(p.batchd)}, prompt ${fmtMs(p.prompt)} ms per run.`, '');
      }
      out.push(formatModeTable(r));
    }
    out.push(VERDICT_RULE, '', `Result: ${pass ? 'PASS — every ratio meets its target and the self-check flagged the injected slowdown' : 'FAIL — see the tables'}.`, '');
    process.stdout.write(out.join('\n'));
  }
  return pass ? 0 : 1;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    err(`bench:parity: ${e.message}`);
    process.exitCode = 2;
  } else {
    err(`bench:parity: ${e?.stack ?? e}`);
    process.exitCode = 1;
  }
}
