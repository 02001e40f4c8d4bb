#!/usr/bin/env node
/**
 * bench:parity — does the addon add overhead to whisper.cpp?
 *
 * The native side is build/Release/whisper-perf-native-bench: a plain C++ process linked with the
 * same whisper.cpp build, running the addon's own bench loop (binding/bench_loop.h) in short
 * chunks on request. The addon runs the same chunks in this process. A round is a list of chunks
 * (parity-lib.mjs CHUNKS); the sides take turns chunk by chunk in rotating order, and each stage
 * is compared paired by round. Two addon modes: `fresh` (a model loaded for each round) and
 * `served` (one model that serves mel, transcribe, encode and decode calls between rounds while the libuv pool
 * is kept busy — the case that used to gather one OpenMP team per pool thread). The self-check
 * side is the addon with WHISPER_PERF_INJECT_SLOWDOWN set for its calls only.
 *
 * For reference, whisper.cpp's own whisper-bench (build/Release/whisper-bench-native) runs once
 * per thread count and its figures are printed beside the rounds'.
 *
 * Data on stdout (markdown, or JSON with -o json); header and progress on stderr.
 */
import { spawn } from 'node:child_process';
import { pbkdf2 } from 'node:crypto';
import { accessSync, constants, promises as fsp } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { buildInfo, ensureDefaultModel, loadModel, systemInfo, testSignal, version, whisperVersion } from 'whisper-perf';

import {
  CHUNKS,
  HEAT,
  ROUND,
  accumulateChunks,
  compareRounds,
  fmtMs,
  formatModeTable,
  nativeArgs,
  parseNativeBench,
  parseParityArgs,
  PARITY_HELP,
  runCommand,
  sideOrder,
  UsageError,
  VERDICT_RULE,
} from './parity-lib.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const err = (line) => process.stderr.write(line + '\n');
const pbkdf2Async = promisify(pbkdf2);
const INJECT_VAR = 'WHISPER_PERF_INJECT_SLOWDOWN';

/** The native driver: one process per thread count, one JSON line per command. */
class NativeDriver {
  static async start(bin, args) {
    const d = new NativeDriver();
    d.child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    d.stderr = '';
    d.child.stderr.setEncoding('utf8').on('data', (t) => (d.stderr += t));
    d.lines = createInterface({ input: d.child.stdout })[Symbol.asyncIterator]();
    d.exited = new Promise((r) => d.child.on('close', (code, signal) => r(signal ?? code)));
    const ready = await d.next();
    if (!ready.ready) throw new Error(`the native driver did not start: ${JSON.stringify(ready)}`);
    d.loadMs = ready.loadMs;
    d.systemInfo = /system_info: n_threads = \d+ \/ \d+ \| (.*)/.exec(d.stderr)?.[1]?.trim() ?? null;
    return d;
  }
  async next() {
    const r = await Promise.race([this.lines.next(), this.exited.then((c) => ({ exited: c }))]);
    if (r.exited !== undefined || r.done) throw new Error(`the native driver exited (${r.exited ?? 'eof'}): ${this.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    const o = JSON.parse(r.value);
    if (o.error) throw new Error(`native driver: ${o.error}`);
    return o;
  }
  async command(line) {
    this.child.stdin.write(line + '\n');
    return this.next();
  }
  async stop() {
    this.child.stdin.end('quit\n');
    await this.exited;
  }
}

/** One whole whisper-bench process, for the reference line. */
function runWhisperBench(bin, args) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
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

/** The addon runs one chunk (or the heat-up) on `model`, with the injected slowdown when asked. */
async function addonChunk(model, threads, spec, inject) {
  if (inject) process.env[INJECT_VAR] = String(inject);
  let r;
  try {
    r = await model.benchWorkload({ threads, ...spec });
  } finally {
    delete process.env[INJECT_VAR];
  }
  if (inject && !(r.injected > 0)) throw new Error('the addon did not apply the injected slowdown');
  return r;
}

/**
 * Traffic a served model sees between rounds: mel, encode and decodes issued while every libuv
 * pool thread is busy with unrelated work (file reads, pbkdf2), as in a service.
 */
async function serveTraffic(model, threads, pcm) {
  const busy = [
    ...Array.from({ length: 8 }, () => fsp.readFile(join(root, 'package.json'))),
    ...Array.from({ length: 4 }, () => pbkdf2Async('x', 'y', 20000, 32, 'sha256')),
  ];
  const tids = new Set();
  tids.add((await model.computeMel(pcm, { threads })).tid);
  tids.add((await model.encode({ threads })).tid);
  for (let i = 0; i < 4; i++) {
    busy.push(fsp.stat(root));
    tids.add((await model.decode([0], i, { threads })).tid);
  }
  await model.timings();
  await Promise.all(busy);
  return tids;
}

async function runMode(mode, threads, opts, driver, modelPath, progress) {
  const sides = opts.selfCheck ? ['native', 'addon', 'injected'] : ['native', 'addon'];
  const rounds = [];
  const pcm = testSignal(5);
  let served = null;
  const tids = new Set();
  if (mode === 'served') {
    served = await loadModel(modelPath, { flashAttn: opts.flashAttn, useGpu: opts.useGpu });
    // a transcription and traffic from a busy pool before the first round
    await served.transcribe(testSignal(3), { threads, maxTokens: 8, noFallback: true, singleSegment: true });
    for (const t of await serveTraffic(served, threads, pcm)) tids.add(t);
  }
  let turn = 0; // counts chunks over the whole run: the order of the sides rotates with it
  try {
    // round -1 warms every side up (first loads, page cache, thread creation) and is not kept
    for (let i = -1; i < opts.rounds; i++) {
      let model = served;
      const loadMs = {};
      if (mode === 'fresh') {
        // a model that has served nothing else: loaded for this round (the injected side runs on
        // it too), heated up like the native one
        loadMs.native = (await driver.command('load')).loadMs;
        model = await loadModel(modelPath, { flashAttn: opts.flashAttn, useGpu: opts.useGpu });
        loadMs.addon = loadMs.injected = model.loadMs;
        await driver.command(runCommand(HEAT));
        await addonChunk(model, threads, HEAT, 0);
      } else {
        for (const t of await serveTraffic(served, threads, pcm)) tids.add(t);
      }
      const parts = Object.fromEntries(sides.map((s) => [s, []]));
      try {
        for (const spec of CHUNKS) {
          for (const side of sideOrder(turn++, sides)) {
            const r = side === 'native' ? await driver.command(runCommand(spec)) : await addonChunk(model, threads, spec, side === 'injected' ? opts.inject : 0);
            if (side !== 'native') tids.add(r.tid);
            parts[side].push({ spec, r });
          }
        }
      } finally {
        if (mode === 'fresh') await model.dispose();
      }
      if (i < 0) continue;
      const res = {};
      for (const side of sides) {
        res[side] = { ...accumulateChunks(parts[side]), loadMs: loadMs[side] };
        if (side === 'injected') res[side].injected = parts[side][0].r.injected;
      }
      rounds.push({ round: i + 1, ...res });
      progress(i, sides, res);
    }
  } finally {
    await served?.dispose();
  }
  return { rounds, computeThreads: mode === 'served' ? tids.size : null };
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
  err(`model: ${modelPath}; threads ${opts.threads.join(',')}; modes ${opts.modes.join(',')}; ${opts.rounds} rounds; self-check ${opts.selfCheck ? `+${opts.inject * 100}%` : 'off'}`);

  const results = [];
  for (const threads of opts.threads) {
    let reference = null;
    if (opts.reference) {
      try {
        accessSync(whisperBench, constants.X_OK);
        err(`-t ${threads}: reference run of whisper.cpp's whisper-bench ...`);
        reference = await runWhisperBench(whisperBench, nativeArgs({ model: modelPath, threads, flashAttn: opts.flashAttn, useGpu: opts.useGpu }));
      } catch (e) {
        err(`-t ${threads}: no whisper-bench reference (${e.message})`);
      }
    }
    const driver = await NativeDriver.start(nativeBin, nativeArgs({ model: modelPath, threads, flashAttn: opts.flashAttn, useGpu: opts.useGpu, nativeThread: opts.nativeThread }));
    if (driver.systemInfo && driver.systemInfo !== sys.whisperSystemInfo.trim()) {
      err(`warning: the native driver's system_info differs from the addon's:\n  native: ${driver.systemInfo}\n  addon:  ${sys.whisperSystemInfo}`);
    }
    try {
      for (const mode of opts.modes) {
        const t0 = performance.now();
        const { rounds, computeThreads } = await runMode(mode, threads, opts, driver, modelPath, (i, order, res) => {
          const line = order.map((s) => `${s} dec ${fmtMs(res[s].wallPerRunMs.decode)} enc ${fmtMs(res[s].wallPerRunMs.encode)}`).join(' | ');
          const eta = ((performance.now() - t0) / (i + 1)) * (opts.rounds - i - 1);
          err(`-t ${threads} ${mode} round ${i + 1}/${opts.rounds}: ${line} (ETA ${(eta / 1000).toFixed(0)} s)`);
        });
        const cmp = compareRounds(rounds, { selfCheck: opts.selfCheck });
        results.push({ threads, mode, reference, computeThreads, ...cmp, rounds });
        // each table as soon as it is known, so an interrupted run keeps what it measured
        err(`\n-t ${threads} ${mode}:\n${formatModeTable(cmp)}`);
      }
    } finally {
      await driver.stop();
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
          config: { model: modelPath, ...opts, chunks: CHUNKS, heat: HEAT, native: nativeBin },
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
        `${opts.rounds} rounds per table; a round per side: ${ROUND.nEncode} encodes, ${ROUND.nDecode} decodes, ${ROUND.nBatch} batches of 5 and ${ROUND.nPrompt} prompts of 256 in ${CHUNKS.length} chunks, the sides taking turns chunk by chunk; ${(elapsedMs / 1000).toFixed(0)} s`,
      '',
    ];
    for (const r of results) {
      out.push(`### -t ${r.threads}, ${r.mode} model${r.computeThreads !== null ? ` (its calls ran on ${r.computeThreads} OS thread${r.computeThreads === 1 ? '' : 's'})` : ''}`, '');
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
