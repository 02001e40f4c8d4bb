// Abort latency: how long after AbortController.abort() a running transcription rejects, worst
// case over N aborts at random moments, next to the time of one encoder pass (whisper.cpp checks
// its abort callback between graph computations, so the bound is about one encoder pass).
// Usage: node bench/abort-latency.mjs [N=20] [threads=2]   (after npm run build)
import { ensureDefaultModel, loadModel, testSignal, WhisperPerfError } from '../dist/index.js';

const N = Number(process.argv[2] ?? 20);
const threads = Number(process.argv[3] ?? 2);
const model = await loadModel(await ensureDefaultModel(), { useGpu: false });
const pcm = testSignal(30);
await model.computeMel(pcm, { threads });
const encodes = [];
for (let i = 0; i < 3; i++) encodes.push((await model.encode({ threads })).ms);
const encodeMs = Math.min(...encodes);
// how long an unaborted transcription of the same audio takes: aborts land inside it
const full = (await model.transcribe(pcm, { threads, noFallback: true })).ms;
const lat = [];
let finished = 0;
for (let i = 0; i < N; i++) {
  const ac = new AbortController();
  let abortedAt = 0;
  const at = Math.random() * full;
  const timer = setTimeout(() => {
    abortedAt = performance.now();
    ac.abort();
  }, at);
  try {
    await model.transcribe(pcm, { threads, noFallback: true, signal: ac.signal });
    finished++;
  } catch (e) {
    if (!(e instanceof WhisperPerfError) || e.code !== 'ABORTED') throw e;
    lat.push(performance.now() - abortedAt);
  } finally {
    clearTimeout(timer);
  }
}
await model.dispose();
lat.sort((a, b) => a - b);
const f = (v) => v.toFixed(1);
console.log(`abort latency over ${lat.length} aborts (${finished} finished first), ${threads} threads: worst ${f(lat.at(-1) ?? NaN)} ms, median ${f(lat[Math.floor(lat.length / 2)] ?? NaN)} ms; one encoder pass ${f(encodeMs)} ms; full transcription ${f(full)} ms`);
