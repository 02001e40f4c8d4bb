#!/usr/bin/env node
// A short walk through every part of the addon, for valgrind memcheck (scripts/sanitize.sh):
// the whole vitest suite under valgrind would take hours, this takes minutes. Each case is small
// (tiny.en, audioCtx 64 and a few tokens, one thread) but reaches the same native code paths as the
// native tests: load, mel, encode, decode, transcribe (with callbacks and an abort), whisper states,
// timings, a worker thread with its own addon instance, dispose, and files that are not models.
//
//   node test/sanitize/exercise.mjs [--model PATH]      (WHISPER_PERF_ADDON selects the addon)
//
// Prints `cases: N passed, M failed` on stdout; progress on stderr. Exits 1 when a case failed.
import { mkdtempSync, openSync, closeSync, readSync, writeFileSync, writeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const wp = await import(join(root, 'dist', 'index.js'));
const native = await import(join(root, 'dist', 'native.js'));

const argModel = process.argv.indexOf('--model');
const model = argModel > 0 ? process.argv[argModel + 1] : await wp.ensureDefaultModel({ dir: join(root, '.cache', 'test') });
const opts = { threads: 1, maxTokens: 3, noFallback: true, singleSegment: true, audioCtx: 64 };
const BAD_MODEL = ['MODEL_INVALID', 'MODEL_NOT_FOUND'];
const tmp = mkdtempSync(join(tmpdir(), 'wp-exercise-'));

let passed = 0;
let failed = 0;
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    process.stderr.write(`[exercise] ok   ${name} (${Date.now() - t0} ms)\n`);
  } catch (e) {
    failed++;
    process.stderr.write(`[exercise] FAIL ${name}: ${e?.stack ?? e}\n`);
  }
}
function check(cond, what) {
  if (!cond) throw new Error(`expected ${what}`);
}
async function rejectsWith(p, code) {
  try {
    await p;
  } catch (e) {
    const codes = [code].flat();
    check(codes.includes(e?.code), `code ${codes.join('|')}, got ${e?.code}: ${e?.message}`);
    return;
  }
  throw new Error(`expected a rejection with ${code}`);
}

process.stderr.write(`[exercise] addon ${native.addonPath ?? '(loaded on first use)'}; model ${model}\n`);

await step('load, info, mel, encode, decode, timings, dispose', async () => {
  const m = await wp.loadModel(model, { useGpu: false });
  check(native.addonPath && (!process.env.WHISPER_PERF_ADDON || native.addonPath.endsWith(process.env.WHISPER_PERF_ADDON.split('/').pop())), 'the addon from WHISPER_PERF_ADDON');
  check(m.info.type === 'tiny', 'a tiny model');
  // whisper.cpp keeps a transcription's audio_ctx for later encodes: 64 of 1500 frames keeps the
  // encoder's work under valgrind to minutes (the same kernels and code paths, smaller tensors)
  await m.transcribe(wp.testSignal(1), opts);
  const mel = await m.computeMel(wp.testSignal(1), { threads: 1 });
  check(mel.nLen > 0, 'mel frames');
  await m.encode({ threads: 1 });
  await m.decode([50257, 220], 0, { threads: 1 });
  await rejectsWith(m.decode([999999], 0), 'INVALID_ARGUMENT');
  const t = await m.timings();
  check(t.encode.runs >= 1, 'encode timings');
  await m.resetTimings();
  await m.dispose();
  await rejectsWith(m.encode(), 'DISPOSED');
});

await step('transcribe with progress and segment callbacks, setMel, token timestamps', async () => {
  const m = await wp.loadModel(model, { useGpu: false, flashAttn: false });
  try {
    let progress = 0;
    let segments = 0;
    const r = await m.transcribe(wp.testSignal(2), { ...opts, tokenTimestamps: true, onProgress: () => progress++, onSegment: () => segments++ });
    check(typeof r.text === 'string', 'a transcript');
    const mel = new Float32Array(80 * 100).fill(-0.5);
    const s = await m.setMel(mel, { nLen: 100 });
    check(s.nLen === 100, 'setMel frames');
    await rejectsWith(m.setMel(new Float32Array(7)), 'INVALID_ARGUMENT');
    await rejectsWith(m.transcribe(new Float32Array(0), opts), 'AUDIO_INVALID');
  } finally {
    await m.dispose();
  }
});

await step('transcribe aborted through an AbortSignal, then the model still works', async () => {
  const m = await wp.loadModel(model, { useGpu: false });
  try {
    const ac = new AbortController();
    const p = m.transcribe(wp.testSignal(4), { threads: 1, maxTokens: 50, noFallback: true, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await rejectsWith(p, 'ABORTED');
    const pre = new AbortController();
    pre.abort();
    await rejectsWith(m.transcribe(wp.testSignal(1), { ...opts, signal: pre.signal }), 'ABORTED');
    await m.transcribe(wp.testSignal(1), opts);
  } finally {
    await m.dispose();
  }
});

await step('two whisper states transcribe at once; the model disposes them', async () => {
  const m = await wp.loadModel(model, { useGpu: false });
  const [a, b] = await Promise.all([m.createState(), m.createState()]);
  await Promise.all([a.transcribe(wp.testSignal(1), opts), b.transcribe(wp.testSignal(1), opts), m.transcribe(wp.testSignal(1), opts)]);
  await b.dispose();
  await rejectsWith(b.transcribe(wp.testSignal(1), opts), 'DISPOSED');
  await m.dispose();
  check(a.disposed, 'states disposed with their model');
  check(JSON.stringify(native.loadBinding().stats()) === JSON.stringify({ liveContexts: 0, liveExecutors: 0 }), 'no live contexts');
});

await step('dispose while a call is queued and one computes', async () => {
  const m = await wp.loadModel(model, { useGpu: false });
  await m.transcribe(wp.testSignal(1), opts); // audio_ctx 64 for the encode below
  const busy = [m.encode({ threads: 1 }), m.decode([1, 2], 0), m.transcribe(wp.testSignal(1), opts)].map((p) => p.then(() => 'ok', (e) => e.code));
  await m.dispose();
  const codes = await Promise.all(busy);
  check(codes.every((c) => c === 'ok' || c === 'DISPOSED' || c === 'ABORTED'), `settled calls (${codes})`);
});

await step('a model in a worker thread (its own addon instance), and a worker that exits with one loaded', async () => {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.dist).then(async (wp) => {
      const m = await wp.loadModel(workerData.model, { useGpu: false });
      await m.decode([1, 2, 3], 0, { threads: 1 });
      if (workerData.leave) { parentPort.postMessage('loaded'); process.exit(0); }
      await m.dispose();
      parentPort.postMessage('done');
    }).catch((e) => parentPort.postMessage(String(e && e.stack || e)));`;
  for (const leave of [false, true]) {
    const msg = await new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { dist: join(root, 'dist', 'index.js'), model, leave } });
      w.once('message', resolve);
      w.once('error', reject);
    });
    check(msg === (leave ? 'loaded' : 'done'), `worker message (${msg})`);
  }
});

await step('files that are not models: empty, garbage, truncated, a bad magic', async () => {
  const empty = join(tmp, 'empty.bin');
  writeFileSync(empty, '');
  await rejectsWith(wp.loadModel(empty, { useGpu: false }), BAD_MODEL);
  const garbage = join(tmp, 'garbage.bin');
  writeFileSync(garbage, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)));
  await rejectsWith(wp.loadModel(garbage, { useGpu: false }), BAD_MODEL);
  // the first 1 MB of the real file: the header parses, the tensors stop short
  const head = Buffer.alloc(1 << 20);
  const fd = openSync(model, 'r');
  readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const truncated = join(tmp, 'truncated.bin');
  writeFileSync(truncated, head);
  await rejectsWith(wp.loadModel(truncated, { useGpu: false }), BAD_MODEL);
  const magic = Buffer.from(head);
  magic.writeUInt32LE(0x12345678, 0);
  const bad = join(tmp, 'magic.bin');
  const fd2 = openSync(bad, 'w');
  writeSync(fd2, magic);
  closeSync(fd2);
  await rejectsWith(wp.loadModel(bad, { useGpu: false }), BAD_MODEL);
  await rejectsWith(wp.loadModel(join(tmp, 'missing.bin'), { useGpu: false }), BAD_MODEL);
});

rmSync(tmp, { recursive: true, force: true });
process.stdout.write(`cases: ${passed} passed, ${failed} failed\n`);
process.exitCode = failed ? 1 : 0;
