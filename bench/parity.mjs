#!/usr/bin/env node
/**
 * bench:parity — does the addon add overhead to whisper.cpp? Runs whisper.cpp's own
 * whisper-bench (build/Release/whisper-bench-native, built from the same vendored tree with the
 * same flags) and the addon's equivalent of one whisper-bench process alternately, and compares
 * whisper.cpp's own timings of both.
 *
 * The addon's equivalent of one whisper-bench process: loadModel (load time = whisper.cpp's
 * t_load, model.timings().loadMs, what whisper-bench prints), benchWorkload({ threads, heat: 2 })
 * (whisper-bench's two heat-up loops, a timing reset, then the measured encode, 256 decodes,
 * 64 batch decodes and 16 prompt decodes), dispose.
 *
 * Data on stdout (markdown table, or JSON with -o json); header and progress on stderr.
 * Exit: 0 when every median ratio meets its target, 1 otherwise (or when a run fails), 2 for
 * usage/setup errors.
 * See bench/parity-lib.mjs for the verdict rule.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildInfo, ensureDefaultModel, loadModel, systemInfo, version, whisperVersion } from 'whisper-perf';

import {
  compareRounds,
  fmtMs,
  formatTable,
  nativeArgs,
  parseNativeBench,
  parseParityArgs,
  PARITY_HELP,
  roundOrder,
  runMismatches,
  UsageError,
} from './parity-lib.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const err = (line) => process.stderr.write(line + '\n');

/** One whisper-bench process: its whisper.cpp timings and wall time. */
function runNative(bin, args) {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - t0;
      if (code !== 0) {
        const tail = (stderr + stdout).trim().split('\n').slice(-8).join('\n');
        reject(new Error(`native whisper-bench exited with ${signal ?? code}:\n${tail}`));
        return;
      }
      try {
        resolvePromise({ ...parseNativeBench(stderr), wallMs });
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** The addon's equivalent of one whisper-bench process. */
async function runAddon(modelPath, { threads, flashAttn, useGpu }) {
  const t0 = performance.now();
  const model = await loadModel(modelPath, { flashAttn, useGpu });
  let out;
  try {
    const { loadMs } = await model.timings();
    const r = await model.benchWorkload({ threads, heat: 2 });
    if (!r.perRunMs) throw new Error('benchWorkload returned no whisper.cpp timings (whisper_get_timings gave none)');
    const { encode, decode, batchd, prompt } = r.perRunMs;
    out = { loadMs, perRunMs: { encode, decode, batchd, prompt }, counts: r.counts };
  } finally {
    await model.dispose();
  }
  return { ...out, wallMs: performance.now() - t0 };
}

function header(opts, modelPath, build, sys, nativeBin) {
  const st = statSync(nativeBin);
  return [
    `whisper-perf ${version} bench:parity — addon vs native whisper-bench`,
    `build: whisper.cpp ${build.whisperVersion} (pin ${build.pin.package}@${build.pin.version}), ${build.buildType}, ${build.compiler}, ` +
      `variant ${build.variant}, backends ${build.backends.join(',')}${build.warnings.length ? ' — ' + build.warnings.join('; ') : ''}`,
    `addon: ${build.addonPath}`,
    `native: ${nativeBin} (${st.size} bytes, ${st.mtime.toISOString()})`,
    `machine: ${sys.cpuModel}, ${sys.cores} logical / ${sys.physicalCores} physical cores, ${(sys.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${sys.os}, node ${sys.nodeVersion}`,
    `whisper system_info: ${sys.whisperSystemInfo}`,
    `model: ${modelPath}`,
    `threads ${opts.threads}, flash attention ${opts.flashAttn ? 'on' : 'off'}, gpu ${opts.useGpu ? 'allowed' : 'off'}, ${opts.rounds} round${opts.rounds === 1 ? '' : 's'}`,
  ];
}

function roundLine(i, total, order, res) {
  const side = (s) =>
    `${s} load ${fmtMs(res[s].loadMs)} enc ${fmtMs(res[s].perRunMs.encode)} dec ${fmtMs(res[s].perRunMs.decode)} ` +
    `bat ${fmtMs(res[s].perRunMs.batchd)} pp ${fmtMs(res[s].perRunMs.prompt)} ms (${(res[s].wallMs / 1000).toFixed(1)} s)`;
  return `round ${i + 1}/${total} [${order.join(' then ')}]: ${side('native')} | ${side('addon')}`;
}

async function main(argv) {
  const opts = parseParityArgs(argv, { cores: availableParallelism() });
  if (opts.help) {
    process.stdout.write(PARITY_HELP);
    return 0;
  }
  const nativeBin = resolve(root, opts.native);
  try {
    accessSync(nativeBin, constants.X_OK);
  } catch {
    throw new UsageError(`the native whisper-bench is missing or not executable: ${nativeBin}; run npm run build:native`);
  }
  const modelPath = opts.model ? resolve(opts.model) : await ensureDefaultModel({ onProgress: err });
  try {
    accessSync(modelPath, constants.R_OK);
  } catch {
    throw new UsageError(`-m: cannot read ${modelPath}`);
  }

  const build = buildInfo();
  const sys = systemInfo();
  const started = performance.now();
  for (const line of header(opts, modelPath, build, sys, nativeBin)) err(line);
  if (opts.rounds > 1 && opts.rounds % 2 === 1) {
    err(`note: ${opts.rounds} rounds is odd: the native side goes first once more than the addon; an even count balances the order`);
  }

  const args = nativeArgs({ model: modelPath, threads: opts.threads, flashAttn: opts.flashAttn, useGpu: opts.useGpu });
  const rounds = [];
  let nativeSystemInfo = null;
  for (let i = 0; i < opts.rounds; i++) {
    const order = roundOrder(i);
    const res = {};
    for (const who of order) {
      if (who === 'native') {
        res.native = await runNative(nativeBin, args);
        if (res.native.threads !== null && res.native.threads !== opts.threads) {
          throw new Error(`the native whisper-bench ran ${res.native.threads} threads, not ${opts.threads}`);
        }
        const off = runMismatches(res.native.runs);
        if (off.length) throw new Error(`the native whisper-bench ran another workload than the addon's: ${off.join('; ')}`);
        nativeSystemInfo ??= res.native.systemInfo;
      } else {
        res.addon = await runAddon(modelPath, opts);
      }
    }
    rounds.push({ round: i + 1, order, native: res.native, addon: res.addon });
    err(roundLine(i, opts.rounds, order, res));
  }

  const result = compareRounds(rounds);
  const elapsedMs = performance.now() - started;
  const systemInfoMatch = nativeSystemInfo === null ? null : nativeSystemInfo.trim() === sys.whisperSystemInfo.trim();
  if (systemInfoMatch === false) {
    err(`warning: the native binary's system_info differs from the addon's:\n  native: ${nativeSystemInfo}\n  addon:  ${sys.whisperSystemInfo}`);
  }
  err(`done in ${(elapsedMs / 1000).toFixed(1)} s`);

  if (opts.output === 'json') {
    const out = {
      tool: 'whisper-perf bench:parity',
      version,
      whisperVersion: whisperVersion(),
      date: new Date().toISOString(),
      config: {
        model: modelPath,
        threads: opts.threads,
        flashAttn: opts.flashAttn,
        useGpu: opts.useGpu,
        rounds: opts.rounds,
        native: nativeBin,
        nativeArgs: args,
      },
      provenance: { build, system: sys, nativeSystemInfo, systemInfoMatch },
      rule: result.rule,
      pass: result.pass,
      stages: result.stages,
      rounds,
      elapsedMs,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    const md = [
      `## whisper-perf bench:parity — addon vs native whisper-bench`,
      '',
      `whisper.cpp ${build.whisperVersion} ${build.buildType} (${build.compiler}, ${build.variant}); ${sys.cpuModel}, ${sys.cores} cores; ` +
        `model ${modelPath}; -t ${opts.threads}; flash attention ${opts.flashAttn ? 'on' : 'off'}; ${opts.rounds} rounds; ` +
        `native system_info ${systemInfoMatch === null ? 'not seen' : systemInfoMatch ? 'matches the addon' : 'DIFFERS from the addon'}; ${(elapsedMs / 1000).toFixed(1)} s`,
      '',
    ].join('\n');
    process.stdout.write(md + formatTable(result));
  }
  return result.pass ? 0 : 1;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    err(`bench:parity: ${e.message}`);
    process.exitCode = 2;
  } else {
    // a failed measurement: no verdict
    err(`bench:parity: ${e?.stack ?? e}`);
    process.exitCode = 1;
  }
}
