#!/usr/bin/env node
/**
 * The addon's side of `npm run bench:parity`, as a process of its own: bench/parity.mjs starts a
 * fresh one of these per block, exactly as it starts a fresh native driver, so that whatever a
 * process brings with it (where its memory landed, the order it was started in) is drawn anew for
 * both sides in every block and averages out, instead of being fixed for a whole run.
 *
 * It speaks the native driver's line protocol (bench/native-bench.cc): one command per line on
 * stdin, one JSON line per command on stdout.
 *   run HEAT HEAT_DECODES N_ENCODE N_DECODE N_BATCH N_PROMPT  → the chunk's timings (model.benchWorkload)
 *   load                                                     → a fresh model: the current one disposed,
 *                                                              the file loaded again; its load time, ms
 *   serve                                                    → served mode's traffic (below); the OS
 *                                                              thread ids its compute ran on
 *   quit
 * It prints {"ready":true,"loadMs":…} once its model is loaded (and, in served mode, has served
 * a transcription and the traffic once).
 *
 * usage: node bench/parity-addon.mjs -m MODEL -t N [--served] [-nfa] [-ng]
 * With WHISPER_PERF_INJECT_SLOWDOWN=F in its environment every measured call is slowed by the
 * fraction F (the self-check's side); each `run` answer then carries `injected`.
 */
import { pbkdf2 } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { loadModel, testSignal } from 'whisper-perf';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pbkdf2Async = promisify(pbkdf2);
const reply = (o) => process.stdout.write(JSON.stringify(o) + '\n');

// the native driver's arguments (parity-lib.mjs nativeArgs), plus --served
const v = { model: '', threads: NaN, served: false, nfa: false, ng: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '-m' && i + 1 < argv.length) v.model = argv[++i];
  else if (a === '-t' && i + 1 < argv.length) v.threads = Number(argv[++i]);
  else if (a === '--served') v.served = true;
  else if (a === '-nfa') v.nfa = true;
  else if (a === '-ng') v.ng = true;
  else v.model = '';
}
const threads = v.threads;
if (!v.model || !Number.isInteger(threads) || threads < 1) {
  process.stderr.write('usage: node bench/parity-addon.mjs -m MODEL -t N [--served] [-nfa] [-ng]\n');
  process.exit(2);
}
const loadOpts = { flashAttn: !v.nfa, useGpu: !v.ng };
const inject = Number(process.env.WHISPER_PERF_INJECT_SLOWDOWN ?? 0);
const pcm = testSignal(5);

/**
 * Traffic a served model sees: mel, encode and decodes issued while every libuv pool thread is
 * busy with unrelated work (file reads, pbkdf2), as in a service. Returns the compute thread ids.
 */
async function serveTraffic(model) {
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
  return [...tids];
}

let model = await loadModel(v.model, loadOpts);
const ready = { ready: true, loadMs: model.loadMs, pid: process.pid };
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
    reply({ error: `${e?.code ? e.code + ': ' : ''}${e?.message ?? e}` });
  }
}
await model.dispose();
