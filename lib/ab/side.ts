#!/usr/bin/env node
/**
 * The addon's side of `ab` and bench:parity, as a process of its own: a fresh one per block, so
 * that whatever a process brings with it (where its memory landed, the order it was started in) is
 * drawn anew in every block and averages out, instead of being fixed for a whole run.
 *
 * It speaks the native driver's line protocol (bench/native-bench.cc): one command per line on
 * stdin, one JSON line per command on stdout.
 *   run HEAT HEAT_DECODES N_ENCODE N_DECODE N_BATCH N_PROMPT  → the chunk's timings (model.benchWorkload)
 *   load                                                     → a fresh model: its load time, ms
 *   serve                                                    → served mode's traffic; the OS thread ids
 *   quit
 * It prints {"ready":true,"loadMs":…,"addonPath":…} once its model is loaded (and, with --served,
 * has served a transcription and the traffic once).
 *
 * usage: node dist/ab/side.js -m MODEL -t N [--served] [-nfa] [-ng] [--device N]
 * WHISPER_PERF_ADDON picks the build; the side refuses to run on any other (the loader would
 * otherwise fall back to another build without a word). With WHISPER_PERF_INJECT_SLOWDOWN=F every
 * measured call is slowed by the fraction F (the calibration's side).
 */
import { pbkdf2 } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

import { testSignal } from '../audio/generate.js';
import { loadModel } from '../model/model.js';
import { packageRoot } from '../native.js';
import { buildInfo } from '../system.js';

const pbkdf2Async = promisify(pbkdf2);
const reply = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

const v = { model: '', threads: NaN, served: false, nfa: false, ng: false, device: undefined as number | undefined };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '-m' && i + 1 < argv.length) v.model = argv[++i];
  else if (a === '-t' && i + 1 < argv.length) v.threads = Number(argv[++i]);
  else if (a === '--device' && i + 1 < argv.length) v.device = Number(argv[++i]);
  else if (a === '--served') v.served = true;
  else if (a === '-nfa') v.nfa = true;
  else if (a === '-ng') v.ng = true;
  else v.model = '';
}
const threads = v.threads;
if (!v.model || !Number.isInteger(threads) || threads < 1 || (v.device !== undefined && !(Number.isInteger(v.device) && v.device >= 0))) {
  process.stderr.write('usage: node dist/ab/side.js -m MODEL -t N [--served] [-nfa] [-ng] [--device N]\n');
  process.exit(2);
}
// a GPU index only when one was named: with none, the loader's own default (and no GPU build is fine)
const loadOpts = { flashAttn: !v.nfa, useGpu: !v.ng, ...(v.device !== undefined ? { gpuDevice: v.device } : {}) };
const inject = Number(process.env.WHISPER_PERF_INJECT_SLOWDOWN ?? 0);
const pcm = testSignal(5);

/**
 * Traffic a served model sees: mel, encode and decodes issued while every libuv pool thread is
 * busy with unrelated work (file reads, pbkdf2), as in a service. Returns the compute thread ids.
 */
async function serveTraffic(model: Awaited<ReturnType<typeof loadModel>>): Promise<number[]> {
  const busy: Promise<unknown>[] = [
    ...Array.from({ length: 8 }, () => fsp.readFile(resolve(packageRoot, 'package.json'))),
    ...Array.from({ length: 4 }, () => pbkdf2Async('x', 'y', 20000, 32, 'sha256')),
  ];
  const tids = new Set<number>();
  tids.add((await model.computeMel(pcm, { threads })).tid);
  tids.add((await model.encode({ threads })).tid);
  for (let i = 0; i < 4; i++) {
    busy.push(fsp.stat(packageRoot));
    tids.add((await model.decode([0], i, { threads })).tid);
  }
  await model.timings();
  await Promise.all(busy);
  return [...tids];
}

async function main(): Promise<void> {
  let model = await loadModel(v.model, loadOpts);
  const b = buildInfo();
  const wanted = process.env.WHISPER_PERF_ADDON;
  if (wanted && resolve(wanted) !== b.addonPath) {
    throw new Error(`asked for the addon ${resolve(wanted)} but ${b.addonPath} loaded`);
  }
  const ready: Record<string, unknown> = {
    ready: true,
    loadMs: model.loadMs,
    pid: process.pid,
    addonPath: b.addonPath,
    variant: b.variant,
    whisperVersion: b.whisperVersion,
    pin: `${b.pin.package}@${b.pin.version}`,
    backends: b.backends,
  };
  if (v.served) {
    const t = await model.transcribe(testSignal(3), { threads, maxTokens: 8, noFallback: true, singleSegment: true });
    ready.tids = [...new Set([t.tid, ...(await serveTraffic(model))].filter((x) => typeof x === 'number'))];
  }
  reply(ready);

  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, ...args] = line.trim().split(/\s+/);
    try {
      if (cmd === 'quit') break;
      if (cmd === 'run') {
        const n = args.map(Number);
        if (n.length !== 6 || !n.every((x) => Number.isInteger(x) && x >= 0)) throw new Error('usage: run HEAT HEAT_DECODES N_ENCODE N_DECODE N_BATCH N_PROMPT');
        const [heat, heatDecodes, nEncode, nDecode, nBatch, nPrompt] = n;
        const r = await model.benchWorkload({ threads, heat, heatDecodes, nEncode, nDecode, nBatch, nPrompt });
        if (inject > 0 && !(r.injected > 0)) throw new Error('the addon did not apply the injected slowdown');
        reply(r);
      } else if (cmd === 'load') {
        await model.dispose();
        model = await loadModel(v.model, loadOpts);
        reply({ loadMs: model.loadMs });
      } else if (cmd === 'serve') {
        reply({ tids: await serveTraffic(model) });
      } else if (cmd) {
        throw new Error(`unknown command ${JSON.stringify(cmd)}`);
      }
    } catch (e) {
      const err = e as { code?: string; message?: string };
      reply({ error: `${err?.code ? err.code + ': ' : ''}${err?.message ?? e}` });
    }
  }
  await model.dispose();
}

main().catch((e) => {
  const err = e as { code?: string; message?: string };
  reply({ error: `${err?.code ? err.code + ': ' : ''}${err?.message ?? e}` });
  process.exitCode = 1;
});
