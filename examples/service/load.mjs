#!/usr/bin/env node
// Load test of the example service, on 127.0.0.1 only: starts server.mjs in a child process (so the
// RSS measured is the server's), drives it with concurrent clients sending a mix of valid audio and
// hostile uploads (malformed WAV, lying headers, non-audio, empty, huge headers, oversize bodies,
// clients that vanish mid-upload or mid-transcription, slow clients), samples the server's RSS,
// then shuts it down with SIGTERM and checks it exits 0. `--route multipart` sends OpenAI-style
// forms to POST /v1/audio/transcriptions instead (valid forms and the hostile ones of payloads.mjs);
// `--route both` runs the two, each on a fresh server, and prints them side by side.
//
//   node examples/service/load.mjs [--route raw|multipart|both] [--duration 10] [--connections 4] [--quick] [--json]
//
// Progress on stderr; the report on stdout (markdown, or JSON with --json). Exit code 1 when a check
// fails: a 5xx, a crash, a hostile upload answered without a 4xx and a code, a valid one refused.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { percentile } from 'whisper-perf/stats';

import { parseMetrics } from './metrics.mjs';
import { BOUNDARY, formBody, FORM_TYPE, multipartUploads, uploads, wav } from './payloads.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const log = (msg) => process.stderr.write(`[load] ${msg}\n`);

// --- the server in a child process ------------------------------------------------------------

/**
 * Starts server.mjs on a free port with `args`; resolves once it prints its address.
 * @returns {Promise<{ url: string, port: number, child: import('node:child_process').ChildProcess, exited: Promise<{ code: number | null, signal: string | null }>, stderr: () => string }>}
 */
export function startServer(args, { readyTimeoutMs = 60_000 } = {}) {
  const child = spawn(process.execPath, [join(HERE, 'server.mjs'), '--host', '127.0.0.1', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not start within ${readyTimeoutMs} ms:\n${stderr}`));
    }, readyTimeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line.startsWith('http://')) {
        clearTimeout(timer);
        const url = line.trim();
        resolve({ url, port: Number(new URL(url).port), child, exited, stderr: () => stderr });
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? signal}) before listening:\n${stderr}`));
    });
  });
}

/** Resident set size of a process in bytes (Linux /proc), or null where it cannot be read. */
export function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

// --- clients ----------------------------------------------------------------------------------

/** The JSON error code of an answer body, if it has one. */
function codeOf(text) {
  try {
    const j = JSON.parse(text);
    return typeof j?.error?.code === 'string' ? j.error.code : null;
  } catch {
    return null;
  }
}

/**
 * One ordinary request (keep-alive agent). Resolves to `{ status, code, ms, body }`, or
 * `{ status: 0, transport }` when the connection failed.
 */
export function send(url, { method = 'POST', path = '/transcribe', body, type, agent, timeoutMs = 60_000 }) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const headers = {};
    if (type !== undefined) headers['content-type'] = type;
    if (body !== undefined) headers['content-length'] = String(body.length);
    const req = http.request(new URL(path, url), { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, code: codeOf(text), ms: performance.now() - t0, body: text, headers: res.headers }));
      res.on('error', (e) => resolve({ status: 0, transport: e.code ?? e.message, ms: performance.now() - t0 }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ status: 0, transport: e.code ?? e.message, ms: performance.now() - t0 }));
    req.end(body);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A request written by hand on a raw socket: `head` (the request line and headers, without the
 * blank line), then `chunks` of body with `pauseMs` between them; `destroyAfterMs` hangs up that
 * long after the last write without waiting for an answer. Resolves to the answer's status and
 * code, or status 0 when there was none (`hungUp` when we hung up on purpose).
 */
export function rawRequest(port, { head, chunks = [], pauseMs = 0, destroyAfterMs, untilAnswer = false, timeoutMs = 30_000 }) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let done = false;
    let hungUp = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      const body = data.slice(data.indexOf('\r\n\r\n') + 4);
      resolve({ status: m ? Number(m[1]) : 0, code: m ? codeOf(body) : null, ms: performance.now() - t0, hungUp });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (d) => (data += d));
    socket.on('close', finish);
    socket.on('error', () => {}); // EPIPE/ECONNRESET after the server answered early: the answer is in `data`
    socket.on('connect', async () => {
      socket.write(head + '\r\n\r\n');
      for (const c of chunks) {
        if (done || socket.destroyed) return;
        // an early answer (413, 408 ...) ends the upload
        if (untilAnswer && data.startsWith('HTTP/1.1')) break;
        if (pauseMs) await sleep(pauseMs);
        if (!socket.destroyed) socket.write(c);
      }
      if (destroyAfterMs !== undefined) {
        await sleep(destroyAfterMs);
        hungUp = true;
        finish();
      }
    });
  });
}

/** Splits a buffer into `n` pieces. */
function pieces(buf, n) {
  const size = Math.ceil(buf.length / n);
  return Array.from({ length: n }, (_, i) => buf.subarray(i * size, (i + 1) * size)).filter((b) => b.length > 0);
}

/**
 * The scenarios: `{ name, expect, weight, run(ctx) }`. expect: 'ok' (200), 'reject' (4xx with a
 * code), 'hangup' (the client leaves; no answer expected, or 200 when the work was done first).
 * `route` 'raw' sends audio bodies to POST /transcribe; 'multipart' sends forms to OpenAI's
 * POST /v1/audio/transcriptions (and /inference). Both mixes give valid requests the same total
 * weight, so their throughputs compare.
 * @param {{ maxBodyBytes: number, uploadTimeoutMs: number, maxFieldBytes?: number }} limits
 * @param {'raw' | 'multipart'} [route]
 */
export function scenarios({ maxBodyBytes, uploadTimeoutMs, maxFieldBytes = 16 * 1024 }, route = 'raw') {
  const long = wav(3, { seed: 11 });
  const small = wav(1, { seed: 12 });
  if (route === 'multipart') {
    const forms = multipartUploads({ maxBodyBytes, maxFieldBytes });
    const valid = forms.filter((u) => u.expect === 'ok').length;
    const list = forms.map((u) => ({
      name: u.name,
      expect: u.expect,
      weight: u.expect === 'ok' ? VALID_WEIGHT / valid : 1,
      run: (ctx) => send(ctx.url, { path: u.path, body: u.body, type: u.type, agent: ctx.agent }),
    }));
    const asForm = (audio) => formBody([{ name: 'file', filename: 'speech.wav', type: 'audio/wav', data: audio }, { name: 'model', value: 'whisper-1' }]);
    // an endless form: a file part whose bytes never end
    const opening = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="endless.wav"\r\n\r\n`);
    return [...list, ...socketScenarios({ path: '/v1/audio/transcriptions', type: FORM_TYPE, long: asForm(long), small: asForm(small), opening, maxBodyBytes, uploadTimeoutMs })];
  }
  const valid = uploads().filter((u) => u.expect === 'ok').length;
  const list = uploads().map((u) => ({
    name: u.name,
    expect: u.expect,
    weight: u.expect === 'ok' ? VALID_WEIGHT / valid : 1,
    run: (ctx) => send(ctx.url, { body: u.body, type: u.type, agent: ctx.agent }),
  }));
  return [...list, ...socketScenarios({ path: '/transcribe', type: 'audio/wav', long, small, opening: Buffer.alloc(0), maxBodyBytes, uploadTimeoutMs })];
}

/** The total weight of valid requests in a mix (hostile ones weigh 1 each). */
const VALID_WEIGHT = 48;

/** Requests written by hand on a raw socket: huge heads, oversize bodies, clients that leave or stall. */
function socketScenarios({ path, type, long, small, opening, maxBodyBytes, uploadTimeoutMs }) {
  const head = (extra, length) => `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: ${type}\r\n${extra}${length !== undefined ? `Content-Length: ${length}` : 'Transfer-Encoding: chunked'}`;
  const chunk = (b) => Buffer.concat([Buffer.from(b.length.toString(16) + '\r\n'), b, Buffer.from('\r\n')]);
  const filler = Buffer.alloc(64 * 1024, 1);
  return [
    {
      name: 'huge-headers', expect: 'reject', weight: 1,
      run: (ctx) => rawRequest(ctx.port, { head: head(`X-Filler: ${'a'.repeat(64 * 1024)}\r\n`, 0) }),
    },
    {
      name: 'malformed-head', expect: 'reject', weight: 0.5,
      run: (ctx) => rawRequest(ctx.port, { head: `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: x\r\nContent-Ty` }),
    },
    {
      name: 'oversize-declared', expect: 'reject', weight: 1,
      run: (ctx) => rawRequest(ctx.port, { head: head('', 2 * maxBodyBytes), chunks: [filler], untilAnswer: true }),
    },
    {
      name: 'oversize-chunked', expect: 'reject', weight: 1,
      run: (ctx) => rawRequest(ctx.port, { head: head(''), chunks: [...(opening.length ? [chunk(opening)] : []), ...Array.from({ length: Math.ceil(maxBodyBytes / filler.length) + 4 }, () => chunk(filler))], untilAnswer: true }),
    },
    {
      name: 'hangup-mid-upload', expect: 'hangup', weight: 1,
      run: (ctx) => rawRequest(ctx.port, { head: head('', long.length), chunks: [long.subarray(0, 5000)], destroyAfterMs: 20 }),
    },
    {
      name: 'hangup-mid-transcription', expect: 'hangup', weight: 2,
      run: (ctx) => rawRequest(ctx.port, { head: head('', long.length), chunks: [long], destroyAfterMs: 20 + Math.floor(ctx.random() * 800) }),
    },
    {
      name: 'slow-client', expect: 'ok', weight: 1,
      run: (ctx) => rawRequest(ctx.port, { head: head('', small.length), chunks: pieces(small, 8), pauseMs: 100 }),
    },
    {
      // sends the head and 1000 bytes of the body, then nothing: node's request timeout answers 408
      name: 'stalled-client', expect: 'reject', weight: 0.25,
      run: (ctx) => rawRequest(ctx.port, { head: head('', small.length), chunks: [small.subarray(0, 1000)], timeoutMs: uploadTimeoutMs + 5000 }),
    },
  ];
}

// --- the run ----------------------------------------------------------------------------------

/** A small deterministic generator (xorshift32), so two runs send the same mix. */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

/**
 * Drives the server with `connections` clients for `durationS` (at most `maxRequests` requests).
 * Every scenario runs once first (even past the deadline), then they are drawn by weight.
 */
export async function drive({ url, port, durationS, connections, maxRequests, limits, route = 'raw', seed = 42, onProgress }) {
  const list = scenarios(limits, route);
  const total = list.reduce((s, x) => s + x.weight, 0);
  const random = rng(seed);
  const pick = () => {
    let r = random() * total;
    for (const s of list) if ((r -= s.weight) < 0) return s;
    return list[list.length - 1];
  };
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const ctx = { url, port, agent, random };
  const results = [];
  let issued = 0;
  const t0 = performance.now();
  const deadline = t0 + durationS * 1000;
  const worker = async () => {
    // every scenario once even past the deadline (a loaded machine must not drop the last ones),
    // then drawn by weight until the deadline; never more than maxRequests
    while ((performance.now() < deadline || issued < list.length) && issued < maxRequests) {
      const s = issued < list.length ? list[issued] : pick();
      issued++;
      const r = await s.run(ctx);
      results.push({ scenario: s.name, expect: s.expect, ...r });
      onProgress?.(results.length);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  agent.destroy();
  return { results, elapsedS: (performance.now() - t0) / 1000 };
}

/** Shedding answers: the server is full, slow or under pressure, not failing. */
const SHED = new Set(['QUEUE_FULL', 'TIMEOUT', 'OVERLOADED']);

/** Judges every answer and sums up the run. */
export function summarize({ results, elapsedS }, { rss, crashed, exit, healthAfter, serverMetrics, config }) {
  const byStatus = {};
  const byCode = {};
  const byScenario = {};
  const problems = [];
  const latencies = [];
  const waits = [];
  const whisper = [];
  let answered = 0;
  for (const r of results) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    if (r.code) byCode[r.code] = (byCode[r.code] ?? 0) + 1;
    const sc = (byScenario[r.scenario] ??= { expect: r.expect, count: 0, statuses: {} });
    sc.count++;
    sc.statuses[r.status] = (sc.statuses[r.status] ?? 0) + 1;
    if (r.status > 0) answered++;
    let ok;
    if (r.expect === 'ok') ok = r.status === 200 || (r.status >= 500 && SHED.has(r.code));
    else if (r.expect === 'reject') ok = r.status >= 400 && r.status < 500 && typeof r.code === 'string';
    // we left before an answer: nothing to judge but the server's survival; a transcription
    // quicker than the hang-up is answered 200 first, which is fine too
    else ok = r.hungUp === true || r.status === 200;
    if (r.expect === 'ok' && r.status === 200 && r.scenario !== 'slow-client') {
      latencies.push(r.ms);
      // the server's own split of the time (its Server-Timing header): waiting for a transcriber, and whisper.cpp
      const t = serverTiming(r.headers?.['server-timing']);
      if (t.wait !== undefined) waits.push(t.wait);
      if (t.whisper !== undefined) whisper.push(t.whisper);
    }
    if (!ok && problems.length < 20) problems.push(`${r.scenario}: expected ${r.expect}, got ${r.status || r.transport || 'no answer'}${r.code ? ` ${r.code}` : ''}`);
    else if (!ok) problems.push('...');
  }
  const fiveXX = results.filter((r) => r.status >= 500);
  const hostile = results.filter((r) => r.expect === 'reject');
  const samples = rss.map((s) => s.bytes);
  const verdict = flatVerdict(samples);
  const warm = rss.find((s) => s.t >= elapsedS / 3);
  return {
    config,
    requests: results.length,
    answered,
    durationS: round(elapsedS, 2),
    throughput: round(answered / elapsedS, 2),
    valid: { count: latencies.length, p50Ms: latencies.length ? round(percentile(latencies, 50)) : null, p99Ms: latencies.length ? round(percentile(latencies, 99)) : null, perS: round(latencies.length / elapsedS, 2), waitP50Ms: waits.length ? round(percentile(waits, 50)) : null, whisperP50Ms: whisper.length ? round(percentile(whisper, 50)) : null },
    byStatus,
    byCode,
    byScenario,
    serverErrors: fiveXX.filter((r) => !SHED.has(r.code)).length,
    shed: fiveXX.filter((r) => SHED.has(r.code)).length,
    hostile: { count: hostile.length, answered4xxWithCode: hostile.filter((r) => r.status >= 400 && r.status < 500 && r.code).length },
    crashes: crashed ? 1 : 0,
    healthAfter,
    shutdown: exit,
    clientsGone: serverMetrics ? serverMetrics['whisper_service_errors_total{code="CLIENT_CLOSED"}'] ?? 0 : null,
    abortedNative: serverMetrics ? Object.fromEntries(Object.entries(serverMetrics).filter(([k]) => k.startsWith('whisper_service_aborts_total')).map(([k, v]) => [/reason="(\w+)"/.exec(k)?.[1] ?? k, v])) : null,
    rss: {
      startMiB: samples.length ? mib(samples[0]) : null,
      peakMiB: samples.length ? mib(Math.max(...samples)) : null,
      endMiB: samples.length ? mib(samples[samples.length - 1]) : null,
      // the first sample past a third of the run (the warm-up), and how far the end is from it
      warmupMiB: warm ? mib(warm.bytes) : null,
      endVsWarmupPct: warm && samples.length ? round((100 * (samples[samples.length - 1] - warm.bytes)) / warm.bytes, 1) : null,
      series: downsample(rss, 12).map((s) => ({ t: round(s.t, 1), MiB: mib(s.bytes) })),
      flat: verdict.flat,
      criterion: verdict.criterion,
    },
    problems,
    pass: problems.length === 0 && fiveXX.length - fiveXX.filter((r) => SHED.has(r.code)).length === 0 && !crashed && exit?.code === 0 && healthAfter === 200 && verdict.flat !== false,
  };
}

/** `{ name: ms }` of a Server-Timing header (`decode;dur=1.2, wait;dur=0, whisper;dur=88.1`). */
export function serverTiming(header) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const m of String(header ?? '').matchAll(/([\w-]+);dur=([\d.]+)/g)) out[m[1]] = Number(m[2]);
  return out;
}

const FLAT_CRITERION = 'peak RSS of the last third of the run at most max(16 MiB, 5%) above the peak of the middle third (the first third is warm-up)';

/** Flat RSS: the last third's peak does not grow past the middle third's by more than max(16 MiB, 5 %). */
export function flatVerdict(samples) {
  if (samples.length < 6) return { flat: null, criterion: `${FLAT_CRITERION}; not judged: fewer than 6 samples` };
  const third = Math.floor(samples.length / 3);
  const middle = Math.max(...samples.slice(third, 2 * third));
  const last = Math.max(...samples.slice(2 * third));
  return { flat: last - middle <= Math.max(16 * MiB, 0.05 * middle), criterion: FLAT_CRITERION };
}

function downsample(series, n) {
  if (series.length <= n) return series;
  return Array.from({ length: n }, (_, i) => series[Math.round((i * (series.length - 1)) / (n - 1))]);
}

const round = (v, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
const mib = (b) => round(b / MiB, 1);

/** The report as markdown. */
export function markdown(r) {
  const rows = [
    ['requests', r.requests],
    ['answered', r.answered],
    ['duration', `${r.durationS} s`],
    ['throughput (answers)', `${r.throughput} req/s`],
    ['valid transcriptions', `${r.valid.count} (${r.valid.perS}/s)`],
    ['valid latency p50 / p99', `${r.valid.p50Ms ?? '-'} / ${r.valid.p99Ms ?? '-'} ms`],
    ['valid, server side p50: queue wait / whisper.cpp', `${r.valid.waitP50Ms ?? '-'} / ${r.valid.whisperP50Ms ?? '-'} ms`],
    ['by status', Object.entries(r.byStatus).map(([k, v]) => `${k === '0' ? 'none' : k}: ${v}`).join(', ')],
    ['by error code', Object.entries(r.byCode).map(([k, v]) => `${k}: ${v}`).join(', ') || '-'],
    ['5xx server errors (must be 0)', r.serverErrors],
    ['5xx load shedding (QUEUE_FULL, TIMEOUT, OVERLOADED)', r.shed],
    ['hostile answered 4xx with a code', `${r.hostile.answered4xxWithCode} / ${r.hostile.count}`],
    ['crashes (must be 0)', r.crashes],
    ['clients that left before the answer (server count)', r.clientsGone ?? '-'],
    ['native calls aborted (by reason)', r.abortedNative ? Object.entries(r.abortedNative).map(([k, v]) => `${k}: ${v}`).join(', ') || '0' : '-'],
    ['health after the run', r.healthAfter],
    ['SIGTERM shutdown', r.shutdown ? `exit ${r.shutdown.code ?? r.shutdown.signal}` : '-'],
    ['RSS start / after warm-up / peak / end', `${r.rss.startMiB} / ${r.rss.warmupMiB} / ${r.rss.peakMiB} / ${r.rss.endMiB} MiB (end ${r.rss.endVsWarmupPct ?? '-'} % from warm-up)`],
    ['RSS series (MiB)', r.rss.series.map((s) => `${s.t}s:${s.MiB}`).join(' ')],
    ['RSS flat', `${r.rss.flat === null ? 'not judged' : r.rss.flat ? 'yes' : 'NO'} (${r.rss.criterion})`],
    ['verdict', r.pass ? 'PASS' : 'FAIL'],
  ];
  let out = `| figure | value |\n| --- | --- |\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}\n`;
  out += `\n| scenario | expect | count | statuses |\n| --- | --- | --- | --- |\n`;
  for (const [name, s] of Object.entries(r.byScenario)) out += `| ${name} | ${s.expect} | ${s.count} | ${Object.entries(s.statuses).map(([k, v]) => `${k === '0' ? 'none' : k}: ${v}`).join(', ')} |\n`;
  if (r.problems.length) out += `\nproblems:\n${r.problems.map((p) => `- ${p}`).join('\n')}\n`;
  return out;
}

// --- command line -----------------------------------------------------------------------------

const USAGE = 'usage: node examples/service/load.mjs [--route raw|multipart|both] [--duration S] [--connections N] [--max-requests N] [--quick] [--json] [--model PATH] [--threads N] [--max-concurrent N]\n';

export async function main(argv = process.argv.slice(2)) {
  const { values } = parseArgs({
    args: argv,
    options: {
      route: { type: 'string', default: 'raw' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      'max-requests': { type: 'string', default: '100000' },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      model: { type: 'string' },
      threads: { type: 'string', default: '1' },
      'max-concurrent': { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const num = (name, v, min, max) => {
    const n = Number(v);
    if (!(n >= min && n <= max)) throw new Error(`--${name}: ${JSON.stringify(v)} is not a number from ${min} to ${max}`);
    return n;
  };
  if (!['raw', 'multipart', 'both'].includes(values.route)) throw new Error(`--route: ${JSON.stringify(values.route)} is not raw, multipart or both`);
  const durationS = num('duration', values.duration ?? (values.quick ? 4 : 10), 1, 3600);
  const connections = num('connections', values.connections ?? (values.quick ? 3 : 4), 1, 64);
  const maxRequests = num('max-requests', values['max-requests'], 1, 1e7);
  const routes = values.route === 'both' ? ['raw', 'multipart'] : [values.route];
  /** @type {Record<string, ReturnType<typeof summarize>>} */
  const reports = {};
  // one fresh server per route, one after the other
  for (const route of routes) reports[route] = await runOnce({ route, durationS, connections, maxRequests, values });
  const pass = Object.values(reports).every((r) => r.pass);
  if (routes.length === 1) {
    const r = reports[routes[0]];
    process.stdout.write(values.json ? JSON.stringify(r, null, 2) + '\n' : markdown(r));
  } else {
    const ratio = reports.raw.valid.perS > 0 ? round(reports.multipart.valid.perS / reports.raw.valid.perS, 3) : null;
    process.stdout.write(values.json ? JSON.stringify({ ...reports, validThroughputRatio: ratio, pass }, null, 2) + '\n' : sideBySide(reports, ratio));
  }
  log(pass ? 'PASS' : 'FAIL');
  return pass ? 0 : 1;
}

/** One run: a fresh server in a child process, `durationS` of load on one route, SIGTERM, the report. */
async function runOnce({ route, durationS, connections, maxRequests, values }) {
  const limits = { maxBodyBytes: 1 * MiB, uploadTimeoutMs: 3000, maxFieldBytes: 16 * 1024 };
  // cheap transcriptions (8 tokens, a 5 s encoder context) so the load measures the service
  const serverArgs = [
    '--quiet', '--threads', values.threads, '--max-concurrent', values['max-concurrent'],
    '--max-waiting', String(2 * connections + 4), '--timeout-ms', '30000', '--grace-ms', '5000',
    '--max-body-bytes', String(limits.maxBodyBytes), '--upload-timeout-ms', String(limits.uploadTimeoutMs),
    '--max-field-bytes', String(limits.maxFieldBytes),
    '--max-tokens', '8', '--audio-ctx', '256', ...(values.model ? ['--model', values.model] : []),
  ];
  const config = { route, durationS, connections, maxRequests, server: serverArgs.join(' ') };
  log(`${route}: starting the server: ${serverArgs.join(' ')}`);
  const server = await startServer(serverArgs);
  let crashed = false;
  let stopping = false;
  server.exited.then(({ code, signal }) => {
    if (!stopping) {
      crashed = true;
      log(`the server died during the run (${code ?? signal})\n${server.stderr().slice(-4000)}`);
    }
  });
  log(`${route}: server ${server.url}, pid ${server.child.pid}; ${connections} clients for ${durationS} s`);

  const rss = [];
  const t0 = performance.now();
  const sample = () => {
    const bytes = rssOf(server.child.pid);
    if (bytes !== null) rss.push({ t: (performance.now() - t0) / 1000, bytes });
  };
  sample();
  const sampler = setInterval(sample, durationS <= 10 ? 500 : 1000);
  let lastReport = 0;
  const run = await drive({
    url: server.url, port: server.port, durationS, connections, maxRequests, limits, route,
    onProgress: (n) => {
      const now = performance.now();
      if (now - lastReport > 2000) {
        lastReport = now;
        const cur = rss.at(-1);
        log(`${route}: ${((now - t0) / 1000).toFixed(0)} s: ${n} requests, server RSS ${cur ? mib(cur.bytes) : '?'} MiB`);
      }
    },
  });
  clearInterval(sampler);
  sample();

  let healthAfter = 0;
  let serverMetrics = null;
  if (!crashed) {
    healthAfter = (await send(server.url, { method: 'GET', path: '/health', timeoutMs: 10_000 })).status;
    const m = await send(server.url, { method: 'GET', path: '/metrics', timeoutMs: 10_000 });
    if (m.status === 200) serverMetrics = parseMetrics(m.body);
  }
  stopping = true;
  let exit = null;
  if (!crashed) {
    server.child.kill('SIGTERM');
    let timer;
    exit = await Promise.race([server.exited, new Promise((r) => (timer = setTimeout(() => r(null), 20_000)))]);
    clearTimeout(timer);
    if (exit === null) {
      log('the server did not exit within 20 s of SIGTERM: killing it');
      server.child.kill('SIGKILL');
      exit = { code: null, signal: 'timeout' };
    }
  }
  return summarize(run, { rss, crashed, exit, healthAfter, serverMetrics, config });
}

/** Two reports (raw body and multipart) side by side, markdown. */
export function sideBySide(reports, ratio) {
  const cols = Object.keys(reports);
  const row = (label, f) => `| ${label} | ${cols.map((c) => f(reports[c])).join(' | ')} |`;
  const lines = [
    `| figure | ${cols.map((c) => (c === 'raw' ? 'raw body: POST /transcribe' : 'multipart: POST /v1/audio/transcriptions')).join(' | ')} |`,
    `| --- | ${cols.map(() => '---').join(' | ')} |`,
    row('requests (answered)', (r) => `${r.requests} (${r.answered})`),
    row('duration', (r) => `${r.durationS} s`),
    row('throughput (answers)', (r) => `${r.throughput} req/s`),
    row('valid transcriptions', (r) => `${r.valid.count} (${r.valid.perS}/s)`),
    row('valid latency p50 / p99', (r) => `${r.valid.p50Ms ?? '-'} / ${r.valid.p99Ms ?? '-'} ms`),
    row('server side p50: queue wait / whisper.cpp', (r) => `${r.valid.waitP50Ms ?? '-'} / ${r.valid.whisperP50Ms ?? '-'} ms`),
    row('hostile answered 4xx with a code', (r) => `${r.hostile.answered4xxWithCode} / ${r.hostile.count}`),
    row('5xx server errors (must be 0)', (r) => r.serverErrors),
    row('5xx load shedding (QUEUE_FULL, TIMEOUT, OVERLOADED)', (r) => r.shed),
    row('crashes (must be 0)', (r) => r.crashes),
    row('native calls aborted (by reason)', (r) => (r.abortedNative ? Object.entries(r.abortedNative).map(([k, v]) => `${k}: ${v}`).join(', ') || '0' : '-')),
    row('RSS start / after warm-up / peak / end', (r) => `${r.rss.startMiB} / ${r.rss.warmupMiB} / ${r.rss.peakMiB} / ${r.rss.endMiB} MiB`),
    row('RSS end vs after warm-up', (r) => (r.rss.endVsWarmupPct === null ? '-' : `${r.rss.endVsWarmupPct > 0 ? '+' : ''}${r.rss.endVsWarmupPct} %`)),
    row('RSS flat', (r) => (r.rss.flat === null ? 'not judged' : r.rss.flat ? 'yes' : 'NO')),
    row('SIGTERM shutdown', (r) => (r.shutdown ? `exit ${r.shutdown.code ?? r.shutdown.signal}` : '-')),
    row('verdict', (r) => (r.pass ? 'PASS' : 'FAIL')),
  ];
  let out = lines.join('\n') + '\n';
  if (ratio !== null && ratio !== undefined) out += `\nvalid transcriptions per second, multipart / raw: ${ratio}\n`;
  for (const c of cols) if (reports[c].problems.length) out += `\n${c} problems:\n${reports[c].problems.map((p) => `- ${p}`).join('\n')}\n`;
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write(`[load] ${e.message}\n`);
      process.exitCode = 2;
    },
  );
}
