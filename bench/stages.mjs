#!/usr/bin/env node
/**
 * bench:stages — tinybench timings of each whisper.cpp stage through the addon, on one loaded
 * model: mel of 30 s of audio, encode, a single-token decode, a five-token batch decode and a
 * 256-token prompt decode. Each task awaits the model call, so the figures include the addon's
 * queueing and promise overhead; the "call ms" column is the whisper.cpp call alone, timed in C++,
 * and "overhead" the difference per call.
 *
 * Decodes run at nPast 0 every time (a fixed, valid KV position), on token 0 as whisper-bench does.
 * One tinybench Bench per stage, because the stages differ ~1000× in cost and tinybench's
 * iteration and time budgets are per Bench.
 *
 * Table on stdout, progress on stderr, JSON to --json FILE (default bench/results/stages.json).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { pbkdf2, pbkdf2Sync } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { promisify } from 'node:util';

import { Bench } from 'tinybench';
import { buildInfo, ensureDefaultModel, loadModel, systemInfo, testSignal, version } from 'whisper-perf';
import { summarize } from 'whisper-perf/stats';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const err = (line) => process.stderr.write(line + '\n');

const HELP = `usage: npm run bench:stages -- [options]

tinybench timings of mel (30 s), encode, decode (1 token), batch decode (5 tokens) and
prompt decode (256 tokens) through the addon, on one loaded model; then the per-call overhead of
awaited 1-token decodes (median and p99 of awaited wall time − whisper.cpp call time) beside the
libuv thread-pool round trip measured in the same run.

options:
  -m, --model PATH   ggml model (default: the synthetic tiny.en)
  -t, --threads N    threads (default min(4, cores))
      --fa on|off    flash attention (default on)
      --json FILE    JSON results (default bench/results/stages.json)
      --quick        smoke test: about a quarter of the iterations and time
  -h, --help         this help
`;

/**
 * Budgets per stage: tinybench runs at least `iterations` calls and at least `time` ms, after a
 * warm-up of at least `warmupIterations` calls and `warmupTime` ms. Mostly time-bound, so a busy
 * machine gets fewer samples rather than a longer run: for tiny on 2 cores (encode ~1 s, prompt
 * ~0.35 s per call at 2 threads) about a minute in all, the minimum iterations taking over only
 * when a call is 2-3× slower than that.
 */
const BUDGETS = {
  mel: { iterations: 10, time: 6000, warmupIterations: 2, warmupTime: 0 },
  encode: { iterations: 8, time: 20000, warmupIterations: 2, warmupTime: 0 },
  decode: { iterations: 50, time: 6000, warmupIterations: 10, warmupTime: 0 },
  batchd: { iterations: 30, time: 6000, warmupIterations: 5, warmupTime: 0 },
  prompt: { iterations: 10, time: 12000, warmupIterations: 2, warmupTime: 0 },
};
const QUICK_BUDGETS = {
  mel: { iterations: 3, time: 500, warmupIterations: 1, warmupTime: 0 },
  encode: { iterations: 3, time: 0, warmupIterations: 1, warmupTime: 0 },
  decode: { iterations: 20, time: 500, warmupIterations: 3, warmupTime: 0 },
  batchd: { iterations: 10, time: 500, warmupIterations: 2, warmupTime: 0 },
  prompt: { iterations: 3, time: 0, warmupIterations: 1, warmupTime: 0 },
};

function usage(message) {
  const e = new Error(message);
  e.usage = true;
  return e;
}

function parse(argv) {
  let v;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        model: { type: 'string', short: 'm' },
        threads: { type: 'string', short: 't' },
        fa: { type: 'string' },
        json: { type: 'string' },
        quick: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    throw usage(String(e.message).split('\n')[0]);
  }
  if (v.help) return { help: true };
  if (v.threads !== undefined && (!/^\d+$/.test(v.threads) || Number(v.threads) < 1 || Number(v.threads) > 1024)) {
    throw usage(`-t: expected an integer from 1 to 1024, got ${JSON.stringify(v.threads)}`);
  }
  const fa = v.fa ?? 'on';
  if (fa !== 'on' && fa !== 'off') throw usage(`--fa: expected on or off, got ${JSON.stringify(fa)}`);
  return {
    help: false,
    model: v.model,
    threads: v.threads ? Number(v.threads) : Math.min(4, availableParallelism()),
    flashAttn: fa === 'on',
    json: resolve(v.json ?? `${root}/bench/results/stages.json`),
    quick: Boolean(v.quick),
  };
}

const r2 = (x) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x);
const pbkdf2Async = promisify(pbkdf2);

function pct(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/**
 * The addon's per-call overhead, tracked: for awaited 1-token decodes, (awaited wall time −
 * the whisper.cpp call timed in C++), in µs, beside two floors measured in the same run, in
 * alternating chunks: a plain libuv thread-pool round trip (fs.promises.access), and a pool round
 * trip whose work lasts about as long as the decode (pbkdf2 tuned to the decode's duration: async
 * wall − the same work run synchronously), which pays the same wake-ups of idle threads.
 */
async function measureOverhead(model, threads, { chunks, perChunk }) {
  const one = new Int32Array(1);
  for (let i = 0; i < 30; i++) await model.decode(one, 0, { threads });
  const callMs = [];
  for (let i = 0; i < 20; i++) callMs.push((await model.decode(one, 0, { threads })).ms);
  const target = pct(callMs, 0.5);
  let iterations = 1000;
  for (let k = 0; k < 20; k++) {
    const t = performance.now();
    pbkdf2Sync('x', 'y', iterations, 32, 'sha256');
    const d = performance.now() - t;
    if (d >= target * 0.9) break;
    iterations = Math.ceil(iterations * Math.min(4, (target / Math.max(d, 0.01)) * 1.05));
  }
  const decodeUs = [];
  const accessUs = [];
  const asyncMs = [];
  const syncMs = [];
  const file = fileURLToPath(import.meta.url);
  for (let c = 0; c < chunks; c++) {
    for (let i = 0; i < perChunk; i++) {
      const t = performance.now();
      const r = await model.decode(one, 0, { threads });
      decodeUs.push((performance.now() - t - r.ms) * 1000);
    }
    for (let i = 0; i < perChunk; i++) {
      const t = performance.now();
      await fsp.access(file);
      accessUs.push((performance.now() - t) * 1000);
    }
    for (let i = 0; i < Math.ceil(perChunk / 5); i++) {
      let t = performance.now();
      pbkdf2Sync('x', 'y', iterations, 32, 'sha256');
      syncMs.push(performance.now() - t);
      t = performance.now();
      await pbkdf2Async('x', 'y', iterations, 32, 'sha256');
      asyncMs.push(performance.now() - t);
    }
  }
  const idleFloor = (pct(asyncMs, 0.5) - pct(syncMs, 0.5)) * 1000;
  return {
    calls: decodeUs.length,
    decodeCallMs: r2(target),
    overheadUs: { p50: Math.round(pct(decodeUs, 0.5)), p99: Math.round(pct(decodeUs, 0.99)), max: Math.round(Math.max(...decodeUs)) },
    libuvFloorUs: { p50: Math.round(pct(accessUs, 0.5)), p99: Math.round(pct(accessUs, 0.99)) },
    libuvIdleFloorUs: { p50: Math.round(idleFloor), workMs: r2(pct(syncMs, 0.5)) },
  };
}

async function main(argv) {
  const opts = parse(argv);
  if (opts.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const started = performance.now();
  const modelPath = opts.model ? resolve(opts.model) : await ensureDefaultModel({ onProgress: err });
  const build = buildInfo();
  const sys = systemInfo();
  err(`whisper-perf ${version} bench:stages — whisper.cpp ${build.whisperVersion} ${build.buildType} (${build.compiler}, ${build.variant}); ${sys.cpuModel}, ${sys.cores} cores`);
  err(`model ${modelPath}; threads ${opts.threads}; flash attention ${opts.flashAttn ? 'on' : 'off'}${opts.quick ? '; quick' : ''}`);

  const model = await loadModel(modelPath, { flashAttn: opts.flashAttn });
  const { threads } = opts;
  const pcm = testSignal(30);
  const one = new Int32Array(1); // token 0, as whisper-bench
  const five = new Int32Array(5);
  const prompt = new Int32Array(256);
  // a valid state for every stage: a 30 s mel and its encoder output (the decoder's cross-attention)
  await model.computeMel(pcm, { threads });
  await model.encode({ threads });

  const stages = [
    { key: 'mel', name: 'mel (30 s audio)', call: () => model.computeMel(pcm, { threads }) },
    { key: 'encode', name: 'encode', call: () => model.encode({ threads }) },
    { key: 'decode', name: 'decode (1 token)', call: () => model.decode(one, 0, { threads }) },
    { key: 'batchd', name: 'batch decode (5 tokens)', call: () => model.decode(five, 0, { threads }) },
    { key: 'prompt', name: 'prompt decode (256 tokens)', call: () => model.decode(prompt, 0, { threads }) },
  ];
  const budgets = opts.quick ? QUICK_BUDGETS : BUDGETS;
  const results = [];
  let overhead;
  try {
    for (const st of stages) {
      const t0 = performance.now();
      const b = budgets[st.key];
      const bench = new Bench({ name: `whisper-perf stages: ${st.name}`, throws: true, ...b });
      let callMs = [];
      let overheadMs = [];
      bench.add(
        st.name,
        async () => {
          const t = performance.now();
          const r = await st.call();
          const wall = performance.now() - t;
          callMs.push(r.ms);
          overheadMs.push(wall - r.ms);
        },
        {
          async: true,
          // only the measured phase's figures are kept
          beforeAll: () => {
            callMs = [];
            overheadMs = [];
          },
        },
      );
      await bench.run();
      const task = bench.tasks[0];
      const res = task.result;
      if (res.state !== 'completed') throw new Error(`${st.name}: tinybench task ${res.state}${res.error ? `: ${res.error.message}` : ''}`);
      results.push({ key: st.key, name: st.name, result: res, callMs: summarize(callMs), overheadMs: summarize(overheadMs), budget: b });
      err(`${st.name}: ${res.latency.samplesCount} samples, mean ${res.latency.mean.toFixed(2)} ms (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    }
    err('per-call overhead: awaited 1-token decodes against libuv round trips, alternating ...');
    overhead = await measureOverhead(model, threads, opts.quick ? { chunks: 2, perChunk: 25 } : { chunks: 6, perChunk: 50 });
  } finally {
    await model.dispose();
  }
  const elapsedMs = performance.now() - started;

  const table = results.map(({ name, result: r, callMs, overheadMs }) => ({
    stage: name,
    'ops/s': Number(r.throughput.mean.toFixed(2)),
    'mean ms': r2(r.latency.mean),
    'p50 ms': r2(r.latency.p50),
    'p99 ms': r2(r.latency.p99),
    'rme %': Number(r.latency.rme.toFixed(2)),
    samples: r.latency.samplesCount,
    'call ms p50': r2(callMs.median),
    'overhead ms p50': r2(overheadMs.median),
  }));
  console.table(table);
  process.stdout.write(
    `threads ${threads}; ${modelPath}; latency: tinybench, the awaited call; call ms: timed in C++ around the whisper.cpp call; ` +
      'overhead: awaited wall time minus call ms, per call (queueing, thread pool, promise); ' +
      `decodes at nPast 0; ${(elapsedMs / 1000).toFixed(1)} s in all\n`,
  );
  const o = overhead;
  process.stdout.write(
    `\nper-call overhead of an awaited 1-token decode (awaited wall − whisper.cpp call, ${o.calls} calls of ${o.decodeCallMs} ms): ` +
      `p50 ${o.overheadUs.p50} µs, p99 ${o.overheadUs.p99} µs, max ${o.overheadUs.max} µs\n` +
      `libuv round trip, measured alternately in the same run: fs.promises.access p50 ${o.libuvFloorUs.p50} µs, p99 ${o.libuvFloorUs.p99} µs; ` +
      `a pool job as long as the decode (pbkdf2, ${o.libuvIdleFloorUs.workMs} ms): ${o.libuvIdleFloorUs.p50 < 0 ? '−' : '+'}${Math.abs(o.libuvIdleFloorUs.p50)} µs at the median (async − sync medians: noisy with few calls)\n`,
  );

  const json = {
    tool: 'whisper-perf bench:stages',
    version,
    date: new Date().toISOString(),
    config: { model: modelPath, threads, flashAttn: opts.flashAttn, quick: opts.quick, decodeNPast: 0 },
    provenance: { build, system: sys },
    tasks: results.map(({ key, name, result: r, callMs, overheadMs, budget }) => ({
      key,
      name,
      budget,
      latencyMs: stat(r.latency),
      throughputOps: stat(r.throughput),
      periodMs: r.period,
      totalTimeMs: r.totalTime,
      callMs,
      overheadMs,
    })),
    overhead,
    elapsedMs,
  };
  mkdirSync(dirname(opts.json), { recursive: true });
  const tmp = `${opts.json}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(json, null, 2) + '\n');
  renameSync(tmp, opts.json);
  err(`wrote ${opts.json}; done in ${(elapsedMs / 1000).toFixed(1)} s`);
  return 0;
}

/** tinybench Statistics without the (unretained) samples field. */
function stat(s) {
  const { samples: _s, ...rest } = s;
  return rest;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  err(`bench:stages: ${e?.usage ? e.message : (e?.stack ?? e)}`);
  process.exitCode = e?.usage ? 2 : 1;
}
