// The example service (examples/service) as users run it: in-process through createService on
// 127.0.0.1 port 0, and as a child process for SIGTERM and the short load test. Transcriptions of
// the synthetic tiny.en are capped (tokens, encoder context) where speed matters; the cancellation
// tests use 30 s of audio at full context instead, which runs for seconds unless it is aborted.
// Nothing is timed: each test waits for states it reads from /metrics, with bounded polls.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// @ts-expect-error plain ESM JavaScript example without declarations
import { parseMetrics } from '../../examples/service/metrics.mjs';
// @ts-expect-error plain ESM JavaScript example without declarations
import { rawRequest, send, startServer } from '../../examples/service/load.mjs';
// @ts-expect-error plain ESM JavaScript example without declarations
import { uploads, wav } from '../../examples/service/payloads.mjs';
// @ts-expect-error plain ESM JavaScript example without declarations
import { createService } from '../../examples/service/service.mjs';
import { runNode } from '../fixtures/cli.js';
import { HANG_MS } from '../fixtures/limits.js';

const tiny = inject('tinyModel');

type Answer = { status: number; code: string | null; body?: string; headers?: Record<string, string>; hungUp?: boolean; transport?: string };
type Service = { app: { listen(o: object): Promise<string>; server: { address(): { port: number } } }; close(o?: object): Promise<void> };

/** Cheap transcriptions for the routes and error paths. */
const FAST = { maxTokens: 8, audioCtx: 256 };
/** 30 s at full context and 32 tokens a segment: seconds of whisper.cpp work (3.6 s measured here). */
const LONG = wav(30, { seed: 5 });

async function start(options: object): Promise<{ service: Service; url: string; port: number }> {
  const service: Service = await createService({ model: tiny, threads: 1, ...options });
  const url: string = await service.app.listen({ host: '127.0.0.1', port: 0 });
  return { service, url, port: Number(new URL(url).port) };
}

async function metricsOf(url: string): Promise<Record<string, number>> {
  const r: Answer = await send(url, { method: 'GET', path: '/metrics' });
  expect(r.status).toBe(200);
  return parseMetrics(r.body);
}

/** Polls /metrics until `ok` holds (at most `limitMs`); returns the last metrics. */
async function until(url: string, ok: (m: Record<string, number>) => boolean, limitMs = HANG_MS): Promise<Record<string, number>> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const m = await metricsOf(url);
    if (ok(m)) return m;
    if (Date.now() > deadline) throw new Error(`metrics never reached the expected state:\n${JSON.stringify(m, null, 1)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const val = (m: Record<string, number>, key: string): number => m[key] ?? 0;
const TRANSCRIBING = 'whisper_service_transcribing';
const QUEUE = 'whisper_service_queue_depth';
const OK = 'whisper_service_transcriptions_total{outcome="ok"}';
const aborts = (reason: string) => `whisper_service_aborts_total{reason="${reason}"}`;

/** A raw-socket upload of a whole body that stays connected until hangUp(). */
function upload(port: number, body: Buffer): { hangUp: () => void; answer: Promise<Answer> } {
  const socket = net.connect(port, '127.0.0.1');
  let data = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (data += d));
  socket.on('error', () => {});
  socket.on('connect', () => {
    socket.write(`POST /transcribe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/wav\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    socket.write(body);
  });
  const answer = new Promise<Answer>((resolve) =>
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      let code: string | null = null;
      try {
        code = JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4)).error?.code ?? null;
      } catch {
        /* no JSON */
      }
      resolve({ status: m ? Number(m[1]) : 0, code });
    }),
  );
  return { hangUp: () => socket.destroy(), answer };
}

describe('service: routes and uploads', () => {
  let svc: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    svc = await start({ transcribe: FAST, maxBodyBytes: 512 * 1024, uploadTimeoutMs: 1000, maxHeaderBytes: 8192 });
  });
  afterAll(() => svc?.service.close());

  it('GET /health answers ok with the model', async () => {
    const r: Answer = await send(svc.url, { method: 'GET', path: '/health' });
    expect(r.status).toBe(200);
    const j = JSON.parse(r.body!);
    expect(j.status).toBe('ok');
    expect(j.model.synthetic).toBe(true);
    expect(j.model.path).toBe(tiny);
  });

  it.each(uploads().map((u: { name: string }) => [u.name, u]))('POST /transcribe %s', async (_name, u: { body: Buffer; type?: string; expect: string }) => {
    const t0 = performance.now();
    const r: Answer = await send(svc.url, { body: u.body, type: u.type });
    const clientMs = performance.now() - t0;
    if (u.expect === 'ok') {
      expect(r.status, r.body).toBe(200);
      const j = JSON.parse(r.body!);
      expect(typeof j.text).toBe('string');
      expect(Array.isArray(j.segments)).toBe(true);
      // the request's parts nest: decode, wait and transcription inside the server's total, the
      // server's total inside the client's round trip (each figure rounded to 0.1 ms)
      expect(j.ms).toBeGreaterThan(0);
      expect(j.decodeMs + j.waitMs + j.ms).toBeLessThanOrEqual(j.totalMs + 0.15);
      expect(j.totalMs).toBeLessThanOrEqual(clientMs + 0.05);
      expect(j.synthetic).toBe(true);
      expect(j.audioS).toBeGreaterThan(0);
    } else {
      expect(r.status, r.body).toBeGreaterThanOrEqual(400);
      expect(r.status, r.body).toBeLessThan(500);
      const j = JSON.parse(r.body!);
      expect(j.error.code).toMatch(/^[A-Z_]+$/);
      expect(j.error.message.length).toBeGreaterThan(0);
    }
  });

  it('non-audio types are 415 UNSUPPORTED_MEDIA_TYPE, non-audio bytes 400 AUDIO_INVALID, empty and truncated 400', async () => {
    const text: Answer = await send(svc.url, { body: Buffer.from('hello'), type: 'text/plain' });
    expect([text.status, text.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const form: Answer = await send(svc.url, { body: Buffer.from('--x--'), type: 'multipart/form-data; boundary=x' });
    expect([form.status, form.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const bytes: Answer = await send(svc.url, { body: Buffer.from('not audio at all, just text'), type: 'audio/wav' });
    expect([bytes.status, bytes.code]).toEqual([400, 'AUDIO_INVALID']);
    const empty: Answer = await send(svc.url, { body: Buffer.alloc(0), type: 'audio/wav' });
    expect([empty.status, empty.code]).toEqual([400, 'AUDIO_INVALID']);
    const none: Answer = await send(svc.url, {});
    expect([none.status, none.code]).toEqual([400, 'AUDIO_INVALID']);
    const cut: Answer = await send(svc.url, { body: wav(1).subarray(0, 30), type: 'audio/wav' });
    expect([cut.status, cut.code]).toEqual([400, 'AUDIO_INVALID']);
    expect(JSON.parse(cut.body!).error.message).toContain('truncated');
  });

  it('uploads over the size limit are 413 PAYLOAD_TOO_LARGE, declared or chunked', async () => {
    const declared: Answer = await send(svc.url, { body: Buffer.alloc(600 * 1024), type: 'audio/wav' });
    expect([declared.status, declared.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const block = Buffer.alloc(64 * 1024, 1);
    const chunk = Buffer.concat([Buffer.from(block.length.toString(16) + '\r\n'), block, Buffer.from('\r\n')]);
    const chunked: Answer = await rawRequest(svc.port, {
      head: 'POST /transcribe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/wav\r\nTransfer-Encoding: chunked',
      chunks: Array.from({ length: 10 }, () => chunk),
      untilAnswer: true,
    });
    expect([chunked.status, chunked.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });

  it('a head over the limit is 431 HEADERS_TOO_LARGE; a stalled upload is 408 REQUEST_TIMEOUT; both with a code', async () => {
    const big: Answer = await rawRequest(svc.port, { head: `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ${'a'.repeat(20_000)}` });
    expect([big.status, big.code]).toEqual([431, 'HEADERS_TOO_LARGE']);
    const malformed: Answer = await rawRequest(svc.port, { head: 'POST /transcribe HTTP/1.1\r\nContent-Length: x' });
    expect([malformed.status, malformed.code]).toEqual([400, 'BAD_REQUEST']);
    const stalled: Answer = await rawRequest(svc.port, {
      head: 'POST /transcribe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/wav\r\nContent-Length: 32044',
      chunks: [wav(1).subarray(0, 1000)],
      timeoutMs: 15_000,
    });
    expect([stalled.status, stalled.code]).toEqual([408, 'REQUEST_TIMEOUT']);
  });

  it('an unknown route is 404 NOT_FOUND', async () => {
    const r: Answer = await send(svc.url, { method: 'GET', path: '/nope' });
    expect([r.status, r.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('GET /metrics is Prometheus text: requests by route and status, errors by code, gauges, a histogram, RSS', async () => {
    const r: Answer = await send(svc.url, { method: 'GET', path: '/metrics' });
    expect(r.status).toBe(200);
    expect(r.headers!['content-type']).toContain('text/plain; version=0.0.4');
    const text = r.body!;
    expect(text).toContain('# TYPE whisper_service_requests_total counter');
    expect(text).toContain('# TYPE whisper_service_request_duration_seconds histogram');
    const m = parseMetrics(text);
    expect(val(m, 'whisper_service_requests_total{method="POST",route="/transcribe",status="200"}')).toBeGreaterThan(0);
    expect(val(m, 'whisper_service_requests_total{method="POST",route="/transcribe",status="415"}')).toBeGreaterThan(0);
    expect(val(m, 'whisper_service_errors_total{code="AUDIO_INVALID"}')).toBeGreaterThan(0);
    expect(val(m, 'whisper_service_errors_total{code="PAYLOAD_TOO_LARGE"}')).toBeGreaterThan(0);
    expect(val(m, 'whisper_service_errors_total{code="HEADERS_TOO_LARGE"}')).toBe(1);
    // the stalled upload is counted once, as node answered it (408), not again as a client that left
    expect(val(m, 'whisper_service_errors_total{code="REQUEST_TIMEOUT"}')).toBe(1);
    expect(val(m, 'whisper_service_errors_total{code="CLIENT_CLOSED"}')).toBe(0);
    expect(m).toHaveProperty(QUEUE, 0);
    expect(m).toHaveProperty('whisper_service_in_flight');
    const count = val(m, 'whisper_service_request_duration_seconds_count{route="/transcribe"}');
    expect(val(m, 'whisper_service_request_duration_seconds_bucket{le="+Inf",route="/transcribe"}')).toBe(count);
    expect(val(m, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
  });
});

describe('service: cancellation and the queue (30 s of audio at full context)', () => {
  let svc: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    svc = await start({ maxConcurrent: 1, maxWaiting: 1, timeoutMs: 60_000 });
  });
  afterAll(() => svc?.service.close({ graceMs: 0 }));

  it('a client that disconnects aborts the running whisper.cpp transcription', async () => {
    const before = await metricsOf(svc.url);
    // first a client that hangs up in the middle of its upload: counted as gone, never a 400
    const cut: Answer = await rawRequest(svc.port, {
      head: `POST /transcribe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/wav\r\nContent-Length: ${LONG.length}`,
      chunks: [LONG.subarray(0, 5000)],
      destroyAfterMs: 20,
    });
    expect(cut.hungUp).toBe(true);
    const u = upload(svc.port, LONG);
    await until(svc.url, (m) => val(m, TRANSCRIBING) === 1);
    u.hangUp();
    const after = await until(svc.url, (m) => val(m, aborts('client')) === val(before, aborts('client')) + 1 && val(m, TRANSCRIBING) === 0);
    // aborted, not finished: the ok count did not move and the native call rejected with ABORTED
    expect(val(after, OK)).toBe(val(before, OK));
    expect(val(after, 'whisper_service_transcriptions_total{outcome="aborted"}')).toBe(val(before, 'whisper_service_transcriptions_total{outcome="aborted"}') + 1);
    expect((await u.answer).status).toBe(0);
    const closed = 'whisper_service_errors_total{code="CLIENT_CLOSED"}';
    const gone = 'whisper_service_requests_total{method="POST",route="/transcribe",status="499"}';
    expect(val(after, closed)).toBe(val(before, closed) + 2);
    expect(val(after, gone)).toBe(val(before, gone) + 2);
    expect(val(after, 'whisper_service_errors_total{code="BAD_REQUEST"}')).toBe(val(before, 'whisper_service_errors_total{code="BAD_REQUEST"}'));
  });

  it('over max concurrent + max waiting: 503 QUEUE_FULL with Retry-After; a waiting client that leaves frees its place', async () => {
    const first = upload(svc.port, LONG);
    await until(svc.url, (m) => val(m, TRANSCRIBING) === 1);
    const second = upload(svc.port, LONG);
    await until(svc.url, (m) => val(m, QUEUE) === 1);
    const third: Answer = await send(svc.url, { body: wav(1), type: 'audio/wav' });
    expect([third.status, third.code]).toEqual([503, 'QUEUE_FULL']);
    expect(Number(third.headers!['retry-after'])).toBeGreaterThanOrEqual(1);
    second.hangUp();
    await until(svc.url, (m) => val(m, QUEUE) === 0);
    first.hangUp();
    await until(svc.url, (m) => val(m, TRANSCRIBING) === 0 && val(m, 'whisper_service_in_flight') === 0);
    // the service still answers
    const again: Answer = await send(svc.url, { method: 'GET', path: '/health' });
    expect(again.status).toBe(200);
  });
});

describe('service: per-request timeout', () => {
  it('a transcription past timeoutMs is aborted and answered 504 TIMEOUT', async () => {
    const svc = await start({ timeoutMs: 300 });
    try {
      const r: Answer = await send(svc.url, { body: LONG, type: 'audio/wav' });
      expect([r.status, r.code]).toEqual([504, 'TIMEOUT']);
      const m = await until(svc.url, (x) => val(x, TRANSCRIBING) === 0);
      expect(val(m, aborts('timeout'))).toBe(1);
      expect(val(m, OK)).toBe(0);
    } finally {
      await svc.service.close({ graceMs: 0 });
    }
  });
});

describe('service: the command line, SIGTERM and the load test (child processes)', () => {
  it('SIGTERM lets a transcription in flight finish within the grace period, then disposes the model and exits 0', async () => {
    const server = await startServer(['--model', tiny, '--threads', '1', '--grace-ms', '30000', '--max-tokens', '8', '--audio-ctx', '256']);
    try {
      const u = upload(server.port, wav(2));
      await until(server.url, (m) => val(m, 'whisper_service_in_flight') === 1);
      server.child.kill('SIGTERM');
      expect((await u.answer).status).toBe(200);
      const exit = await server.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(server.stderr()).toContain('model disposed');
      const after: Answer = await send(server.url, { method: 'GET', path: '/health', timeoutMs: 5000 });
      expect(after.status).toBe(0);
      expect(after.transport).toBe('ECONNREFUSED');
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('SIGTERM past the grace period aborts the transcription (503 SHUTTING_DOWN) and still exits 0', async () => {
    const server = await startServer(['--model', tiny, '--threads', '1', '--grace-ms', '200']);
    try {
      const u = upload(server.port, LONG);
      await until(server.url, (m) => val(m, TRANSCRIBING) === 1);
      server.child.kill('SIGTERM');
      const a = await u.answer;
      expect([a.status, a.code]).toEqual([503, 'SHUTTING_DOWN']);
      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(server.stderr()).toContain('model disposed');
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('bad command-line values exit 2 with a message', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [join('examples', 'service', 'server.mjs'), '--port', 'abc'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code, stderr }));
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port');
  });

  it('the short load test: no 5xx, no crash, every hostile upload a 4xx with a code, flat-RSS criterion reported', async () => {
    const r = await runNode([join('examples', 'service', 'load.mjs'), '--quick', '--duration', '3', '--json', '--model', tiny], 100_000);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.crashes).toBe(0);
    expect(report.serverErrors).toBe(0);
    expect(Object.keys(report.byStatus).filter((s) => Number(s) >= 500 && report.byStatus[s] > 0)).toEqual([]);
    expect(report.hostile.count).toBeGreaterThan(10);
    expect(report.hostile.answered4xxWithCode).toBe(report.hostile.count);
    expect(report.problems).toEqual([]);
    expect(report.shutdown).toEqual({ code: 0, signal: null });
    expect(report.healthAfter).toBe(200);
    expect(report.valid.count).toBeGreaterThan(0);
    expect(report.rss.peakMiB).toBeGreaterThan(0);
    expect(report.rss.criterion).toContain('peak RSS');
    // every scenario ran at least once
    for (const s of ['huge-headers', 'oversize-declared', 'oversize-chunked', 'hangup-mid-upload', 'hangup-mid-transcription', 'slow-client', 'stalled-client', 'wav-cut-in-header', 'noise-as-wav', 'empty']) {
      expect(report.byScenario[s]?.count, s).toBeGreaterThan(0);
    }
  });
});
