// The example service (examples/service) as OpenAI's clients see it: the official `openai` package
// with its baseURL at a service this test starts on 127.0.0.1, transcribing a WAV and an MP3 in
// every response format; curl -F as the docs show it; whisper.cpp's server's POST /inference; the
// hostile forms of payloads.mjs, each with the OpenAI-shaped error it must get; load shedding.
// Transcripts of the synthetic tiny.en are meaningless: shapes, types and statuses are asserted,
// never the words.
import { execFile, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import OpenAI, { APIError, toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// @ts-expect-error plain ESM JavaScript example without declarations
import { parseMetrics } from '../../examples/service/metrics.mjs';
// @ts-expect-error plain ESM JavaScript example without declarations
import { rawRequest, send } from '../../examples/service/load.mjs';
// @ts-expect-error plain ESM JavaScript example without declarations
import { BOUNDARY, formBody, FORM_TYPE, multipartUploads, wav } from '../../examples/service/payloads.mjs';
// @ts-expect-error plain ESM JavaScript example without declarations
import { createService } from '../../examples/service/service.mjs';
import { runNode } from '../fixtures/cli.js';

const tiny = inject('tinyModel');
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;
const hasCurl = spawnSync('curl', ['--version']).status === 0;

/** curl, asynchronously: the service runs in this process, so a synchronous child would block it. */
function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '60', ...args], { encoding: 'utf8' }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });
}

type Answer = { status: number; code: string | null; body?: string; headers?: Record<string, string>; hungUp?: boolean; transport?: string };
type Service = { app: { listen(o: object): Promise<string> }; close(o?: object): Promise<void> };
type Upload = { name: string; path: string; body: Buffer; type: string; expect: 'ok' | 'reject'; status?: number; code?: string; param?: string | null };

const FAST = { maxTokens: 8, audioCtx: 256 };
const LIMITS = { maxBodyBytes: 512 * 1024, maxFieldBytes: 4096 };

async function start(options: object): Promise<{ service: Service; url: string; port: number }> {
  const service: Service = await createService({ model: tiny, threads: 1, transcribe: FAST, ...options });
  const url: string = await service.app.listen({ host: '127.0.0.1', port: 0 });
  return { service, url, port: Number(new URL(url).port) };
}

/** The error body of an answer, checked to be OpenAI's shape. */
function openAiError(r: Answer): { message: string; type: string; param: string | null; code: string } {
  const j = JSON.parse(r.body!);
  expect(Object.keys(j)).toEqual(['error']);
  expect(Object.keys(j.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof j.error.message).toBe('string');
  expect(j.error.message.length).toBeGreaterThan(0);
  expect(j.error.type).toBe(r.status >= 500 ? 'server_error' : r.status === 404 ? 'not_found_error' : 'invalid_request_error');
  expect(j.error.code).toMatch(/^[A-Z_]+$/);
  expect(j.error.param === null || typeof j.error.param === 'string').toBe(true);
  return j.error;
}

const SRT_CUE = /^\d+\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n[^\n]+\n$/;
const VTT_CUE = /^\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n[^\n]+\n$/;

/** Files in a directory, recursively (the service's TMPDIR must stay empty). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

describe('service: the official openai client', () => {
  let svc: Awaited<ReturnType<typeof start>>;
  let client: OpenAI;
  let dir: string;
  let serviceTmp: string;
  const oldTmp = process.env.TMPDIR;
  const files: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wp-openai-'));
    // what the service (or a plugin of it) would write to a temporary file lands here
    serviceTmp = mkdtempSync(join(tmpdir(), 'wp-openai-service-tmp-'));
    process.env.TMPDIR = serviceTmp;
    files.wav = join(dir, 'speech.wav');
    writeFileSync(files.wav, wav(2, { seed: 3 }));
    if (hasFfmpeg) {
      files.mp3 = join(dir, 'speech.mp3');
      const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', files.wav, '-codec:a', 'libmp3lame', '-b:a', '64k', files.mp3]);
      expect(r.status, String(r.stderr)).toBe(0);
    }
    svc = await start({ ...LIMITS, uploadTimeoutMs: 1500 });
    // the lines docs/service.md shows: any key (the service checks none), the service's /v1
    client = new OpenAI({ apiKey: 'not-checked', baseURL: `${svc.url}/v1`, maxRetries: 0, timeout: 60_000 });
  });
  afterAll(async () => {
    await svc?.service.close();
    if (oldTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = oldTmp;
    rmSync(dir, { recursive: true, force: true });
    rmSync(serviceTmp, { recursive: true, force: true });
  });

  const kinds = ['wav', ...(hasFfmpeg ? ['mp3'] : [])];

  it.each(kinds)('%s: response_format json is { text } as application/json, with the model echoed', async (kind) => {
    const { data, response } = await client.audio.transcriptions.create({ file: createReadStream(files[kind]), model: 'whisper-1', response_format: 'json' }).withResponse();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('openai-model')).toBe('whisper-1');
    expect(typeof data.text).toBe('string');
    // whole seconds, rounded up: 2 s of WAV; the MP3 is a few ms longer (encoder padding)
    expect(data.usage).toEqual({ type: 'duration', seconds: kind === 'wav' ? 2 : 3 });
  });

  it.each(kinds)('%s: response_format text, srt and vtt are strings with their content types and cue syntax', async (kind) => {
    const verbose = await client.audio.transcriptions.create({ file: createReadStream(files[kind]), model: 'whisper-1', response_format: 'verbose_json' });
    const cues = verbose.segments!.filter((s) => s.text.trim() !== '').length;

    const text = await client.audio.transcriptions.create({ file: createReadStream(files[kind]), model: 'whisper-1', response_format: 'text' }).withResponse();
    expect(text.response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(typeof text.data).toBe('string');
    // one line per segment with text (the package's toTxt), the same transcription as verbose_json's
    expect(text.data).toBe(verbose.segments!.map((s) => s.text.trim()).filter(Boolean).map((t) => `${t}\n`).join(''));

    const srt = await client.audio.transcriptions.create({ file: createReadStream(files[kind]), model: 'whisper-1', response_format: 'srt' }).withResponse();
    expect(srt.response.headers.get('content-type')).toBe('application/x-subrip; charset=utf-8');
    const srtCues = srt.data.split('\n\n').filter(Boolean).map((c) => `${c}\n`);
    expect(srtCues).toHaveLength(cues);
    for (const [i, c] of srtCues.entries()) {
      expect(c).toMatch(SRT_CUE);
      expect(c.startsWith(`${i + 1}\n`)).toBe(true);
    }

    const vtt = await client.audio.transcriptions.create({ file: createReadStream(files[kind]), model: 'whisper-1', response_format: 'vtt' }).withResponse();
    expect(vtt.response.headers.get('content-type')).toBe('text/vtt; charset=utf-8');
    expect(vtt.data.startsWith('WEBVTT\n\n')).toBe(true);
    const vttCues = vtt.data.slice('WEBVTT\n\n'.length).split('\n\n').filter(Boolean).map((c) => `${c}\n`);
    expect(vttCues).toHaveLength(cues);
    for (const c of vttCues) expect(c).toMatch(VTT_CUE);
  });

  it.each(kinds)('%s: verbose_json has segments, and words only when timestamp_granularities asks', async (kind) => {
    const plain = await client.audio.transcriptions.create({ file: createReadStream(files[kind]), model: 'whisper-1', response_format: 'verbose_json' }).withResponse();
    expect(plain.response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const v = plain.data;
    expect(v.task).toBe('transcribe');
    expect(v.language).toBe('en');
    // the decoded audio's length: MP3 adds encoder padding, a few tens of ms
    expect(Math.abs(v.duration - 2)).toBeLessThan(0.1);
    expect(typeof v.text).toBe('string');
    expect(v.words).toBeUndefined();
    expect(v.segments!.length).toBeGreaterThan(0);
    for (const [i, s] of v.segments!.entries()) {
      expect(s.id).toBe(i);
      expect(s.end).toBeGreaterThanOrEqual(s.start);
      expect(typeof s.text).toBe('string');
      expect(s.tokens.every((t) => Number.isInteger(t) && t >= 0)).toBe(true);
      expect(s.temperature).toBe(0);
      for (const k of ['avg_logprob', 'compression_ratio', 'no_speech_prob'] as const) expect(Number.isFinite(s[k]), k).toBe(true);
    }

    const both = await client.audio.transcriptions.create({ file: createReadStream(files[kind]), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word', 'segment'] });
    expect(both.segments!.length).toBe(v.segments!.length);
    expect(Array.isArray(both.words)).toBe(true);
    // a transcript with text has words, each with its times in order
    expect(both.words!.length > 0).toBe(both.text.trim().length > 0);
    for (const w of both.words!) {
      expect(w.word).toBe(w.word.trim());
      expect(w.word.length).toBeGreaterThan(0);
      expect(w.end).toBeGreaterThanOrEqual(w.start);
      expect(w.word).not.toMatch(/^\[_|^<\|/);
    }
    expect(both.words!.map((w) => w.word).join('')).toBe(both.text.replace(/\s+/g, ''));

    const words = await client.audio.transcriptions.create({ file: createReadStream(files[kind]), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word'] });
    expect(words.segments).toBeUndefined();
    expect(words.words).toEqual(both.words);
  });

  it('language, prompt and temperature are taken; a file made in memory (toFile) works as a stream does', async () => {
    const r = await client.audio.transcriptions.create({
      file: await toFile(wav(1, { seed: 9 }), 'memory.wav', { type: 'audio/wav' }),
      model: 'tiny-local',
      language: 'en',
      prompt: 'A talk about measuring whisper.cpp.',
      temperature: 0.4,
      response_format: 'verbose_json',
    }).withResponse();
    expect(r.response.headers.get('openai-model')).toBe('tiny-local');
    expect(r.data.segments!.every((s) => s.temperature === 0.4)).toBe(true);
  });

  it('errors reach the client as APIError with OpenAI\'s status, type, param and code', async () => {
    const cases: [Parameters<typeof client.audio.transcriptions.create>[0], number, string, string | null][] = [
      [{ file: await toFile(Buffer.from('not audio at all'), 'x.wav'), model: 'whisper-1' }, 400, 'AUDIO_INVALID', null],
      // @ts-expect-error a response format OpenAI does not have
      [{ file: createReadStream(files.wav), model: 'whisper-1', response_format: 'xml' }, 400, 'INVALID_FIELD', 'response_format'],
      [{ file: createReadStream(files.wav), model: 'whisper-1', language: 'english!' }, 400, 'INVALID_FIELD', 'language'],
      [{ file: createReadStream(files.wav), model: 'whisper-1', temperature: 3 }, 400, 'INVALID_FIELD', 'temperature'],
      [{ file: await toFile(Buffer.alloc(LIMITS.maxBodyBytes + 1000, 1), 'big.wav'), model: 'whisper-1' }, 413, 'PAYLOAD_TOO_LARGE', 'file'],
    ];
    for (const [params, status, code, param] of cases) {
      const e = await client.audio.transcriptions.create(params).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e, code).toBeInstanceOf(APIError);
      const err = e as APIError;
      expect([err.status, err.code, err.param, err.type], code).toEqual([status, code, param, 'invalid_request_error']);
    }
  });

  it.skipIf(!hasCurl)('curl -F file=@… -F model=… as docs/service.md shows', async () => {
    const r = await curl(['-w', '\\n%{http_code} %{content_type}', `${svc.url}/v1/audio/transcriptions`, '-F', `file=@${files.wav}`, '-F', 'model=whisper-1', '-F', 'response_format=verbose_json']);
    expect(r.code, r.stderr).toBe(0);
    const [body, last] = [r.stdout.slice(0, r.stdout.lastIndexOf('\n')), r.stdout.slice(r.stdout.lastIndexOf('\n') + 1)];
    expect(last).toBe('200 application/json; charset=utf-8');
    expect(JSON.parse(body).task).toBe('transcribe');
    // whisper.cpp's server's request: the same form at /inference
    const inf = await curl(['-w', '\\n%{http_code}', `${svc.url}/inference`, '-F', `file=@${files.wav}`, '-F', 'temperature=0.0', '-F', 'response_format=json']);
    expect(inf.stdout.endsWith('\n200'), inf.stdout).toBe(true);
    expect(typeof JSON.parse(inf.stdout.slice(0, -4)).text).toBe('string');
  });

  it.each(multipartUploads(LIMITS).map((u: Upload) => [u.name, u]))('POST %s', async (_name, u: Upload) => {
    const r: Answer = await send(svc.url, { path: u.path, body: u.body, type: u.type });
    if (u.expect === 'ok') {
      expect(r.status, r.body).toBe(200);
      if (u.name.includes('srt')) {
        expect(r.headers!['content-type']).toBe('application/x-subrip; charset=utf-8');
        expect(r.body).toMatch(/^(\d+\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n[^\n]+\n\n)*$/);
      } else if (u.name.includes('vtt')) {
        expect(r.headers!['content-type']).toBe('text/vtt; charset=utf-8');
        expect(r.body!.startsWith('WEBVTT\n\n')).toBe(true);
      } else if (u.name.includes('text')) {
        expect(r.headers!['content-type']).toBe('text/plain; charset=utf-8');
      } else {
        expect(r.headers!['content-type']).toBe('application/json; charset=utf-8');
        expect(typeof JSON.parse(r.body!).text).toBe('string');
      }
      return;
    }
    const e = openAiError(r);
    expect([r.status, e.code, e.param], e.message).toEqual([u.status, u.code, u.param]);
  });

  it('a boundary that never comes: a stalled form is 408; an endless chunked file part or field, or a Content-Length over the limit, 413', async () => {
    const head = (length?: number) =>
      `POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: ${FORM_TYPE}\r\n${length === undefined ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`}`;
    const part = formBody([{ name: 'file', filename: 'a.wav', type: 'audio/wav', data: wav(1) }], { closed: false });
    const stalled: Answer = await rawRequest(svc.port, { head: head(part.length + 100), chunks: [part], timeoutMs: 10_000 });
    expect([stalled.status, stalled.code]).toEqual([408, 'REQUEST_TIMEOUT']);

    const block = Buffer.alloc(64 * 1024, 7);
    const chunk = (b: Buffer) => Buffer.concat([Buffer.from(b.length.toString(16) + '\r\n'), b, Buffer.from('\r\n')]);
    const opening = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="endless.wav"\r\n\r\n`);
    const endless: Answer = await rawRequest(svc.port, {
      head: head(),
      chunks: [chunk(opening), ...Array.from({ length: 40 }, () => chunk(block))],
      untilAnswer: true,
      timeoutMs: 10_000,
    });
    expect([endless.status, endless.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);

    // a part without a filename is a field: the parser cuts it at the field limit but reads on, so
    // the service counts the bytes of the whole body
    const field = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n`);
    const endlessField: Answer = await rawRequest(svc.port, {
      head: head(),
      chunks: [chunk(field), ...Array.from({ length: 40 }, () => chunk(block))],
      untilAnswer: true,
      timeoutMs: 10_000,
    });
    expect([endlessField.status, endlessField.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);

    // a Content-Length over the limit is refused before the body is read
    const declared: Answer = await rawRequest(svc.port, { head: head(LIMITS.maxBodyBytes + 128 * 1024), chunks: [part], untilAnswer: true, timeoutMs: 10_000 });
    expect([declared.status, declared.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });

  it('a client that leaves mid-form is counted as gone (499), not as a bad request', async () => {
    const before = parseMetrics((await send(svc.url, { method: 'GET', path: '/metrics' })).body);
    const part = formBody([{ name: 'file', filename: 'a.wav', type: 'audio/wav', data: wav(2) }]);
    const cut: Answer = await rawRequest(svc.port, {
      head: `POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${FORM_TYPE}\r\nContent-Length: ${part.length}`,
      chunks: [part.subarray(0, 3000)],
      destroyAfterMs: 50,
    });
    expect(cut.hungUp).toBe(true);
    const gone = 'whisper_service_requests_total{method="POST",route="/v1/audio/transcriptions",status="499"}';
    let after = before;
    for (let i = 0; i < 100 && (after[gone] ?? 0) === (before[gone] ?? 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = parseMetrics((await send(svc.url, { method: 'GET', path: '/metrics' })).body);
    }
    expect(after[gone] ?? 0).toBe((before[gone] ?? 0) + 1);
    expect(after['whisper_service_errors_total{code="MULTIPART_INVALID"}'] ?? 0).toBe(before['whisper_service_errors_total{code="MULTIPART_INVALID"}'] ?? 0);
  });

  it('every route answers errors in OpenAI\'s shape: /transcribe, unknown routes, and errors node answers', async () => {
    const raw: Answer = await send(svc.url, { body: Buffer.from('hello'), type: 'text/plain' });
    expect(openAiError(raw)).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', param: null });
    const missing: Answer = await send(svc.url, { method: 'GET', path: '/v1/models' });
    expect(missing.status).toBe(404);
    expect(openAiError(missing).code).toBe('NOT_FOUND');
    const malformed: Answer = await new Promise((resolve) => {
      const s = net.connect(svc.port, '127.0.0.1');
      let data = '';
      s.on('data', (d) => (data += d));
      s.on('error', () => {});
      s.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), code: null, body: data.slice(data.indexOf('\r\n\r\n') + 4) }));
      s.write('POST /v1/audio/transcriptions HTTP/1.1\r\nContent-Length: x\r\n\r\n');
    });
    expect(malformed.status).toBe(400);
    expect(openAiError(malformed).code).toBe('BAD_REQUEST');
  });

  it('GET /metrics: prom-client\'s default metrics beside the service\'s own, the new route counted', async () => {
    const r: Answer = await send(svc.url, { method: 'GET', path: '/metrics' });
    expect(r.status).toBe(200);
    expect(r.headers!['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const m = parseMetrics(r.body);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_active_handles_total']) expect(m, name).toHaveProperty(name);
    expect(r.body).toContain('# TYPE nodejs_gc_duration_seconds histogram');
    expect(m['whisper_service_requests_total{method="POST",route="/v1/audio/transcriptions",status="200"}']).toBeGreaterThan(0);
    expect(m['whisper_service_requests_total{method="POST",route="/inference",status="200"}']).toBeGreaterThan(0);
    expect(m['whisper_service_errors_total{code="TOO_MANY_FILES"}']).toBe(1);
    expect(m['whisper_service_transcriptions_total{outcome="ok"}']).toBeGreaterThan(0);
    expect(m['whisper_service_model_info{ftype="1",max_concurrent="1",path="' + tiny + '",synthetic="true",threads="1",type="tiny"}'] ?? m[Object.keys(m).find((k) => k.startsWith('whisper_service_model_info'))!]).toBe(1);
  });

  it('nothing was written to disk: the service\'s TMPDIR is still empty after every upload above', () => {
    expect(filesUnder(serviceTmp)).toEqual([]);
  });
});

describe('service: load shedding under pressure', () => {
  it('over a memory limit, transcription routes answer 503 OVERLOADED with Retry-After; /health and /metrics still answer', async () => {
    // an RSS limit of 1 byte: always over it once sampled. The event-loop check is off: sampled this
    // often, an interval can hold no delay sample at all, which under-pressure reads as a blocked loop
    const svc = await start({ maxRssBytes: 1, maxEventLoopDelayMs: 0, pressureSampleMs: 50 });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const client = new OpenAI({ apiKey: 'x', baseURL: `${svc.url}/v1`, maxRetries: 0 });
      const e = await client.audio.transcriptions.create({ file: await toFile(wav(1), 'a.wav'), model: 'whisper-1' }).then(() => null, (err: unknown) => err);
      expect(e).toBeInstanceOf(APIError);
      expect([(e as APIError).status, (e as APIError).code, (e as APIError).type]).toEqual([503, 'OVERLOADED', 'server_error']);
      expect((e as APIError).headers?.get('retry-after')).toBe('1');
      const raw: Answer = await send(svc.url, { body: wav(1), type: 'audio/wav' });
      expect([raw.status, openAiError(raw).code]).toEqual([503, 'OVERLOADED']);
      expect((await send(svc.url, { method: 'GET', path: '/health' })).status).toBe(200);
      const m = parseMetrics((await send(svc.url, { method: 'GET', path: '/metrics' })).body);
      expect(m['whisper_service_shed_total{reason="rssBytes"}']).toBe(2);
      expect(m['whisper_service_errors_total{code="OVERLOADED"}']).toBe(2);
      expect(m['whisper_service_transcriptions_total{outcome="ok"}'] ?? 0).toBe(0);
    } finally {
      await svc.service.close({ graceMs: 0 });
    }
  });

  it('under the limits nothing is shed (the same request with a limit far above the RSS)', async () => {
    const svc = await start({ maxRssBytes: 64 * 1024 ** 3, maxEventLoopDelayMs: 0, pressureSampleMs: 50 });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const r: Answer = await send(svc.url, { body: wav(1), type: 'audio/wav' });
      expect(r.status, r.body).toBe(200);
    } finally {
      await svc.service.close({ graceMs: 0 });
    }
  });
});

describe('service: the load test in multipart mode (child processes)', () => {
  it('--route multipart: no 5xx, no crash, every hostile form a 4xx with a code, the server-side time split read from Server-Timing', async () => {
    const r = await runNode([join('examples', 'service', 'load.mjs'), '--route', 'multipart', '--quick', '--duration', '3', '--json', '--model', tiny], 100_000);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.config.route).toBe('multipart');
    expect(report.crashes).toBe(0);
    expect(report.serverErrors).toBe(0);
    expect(report.problems).toEqual([]);
    expect(report.hostile.count).toBeGreaterThan(20);
    expect(report.hostile.answered4xxWithCode).toBe(report.hostile.count);
    expect(report.valid.count).toBeGreaterThan(0);
    expect(report.valid.whisperP50Ms).toBeGreaterThan(0);
    expect(report.shutdown).toEqual({ code: 0, signal: null });
    for (const s of ['form-two-file-parts', 'form-huge-field', 'form-boundary-never-closed', 'form-file-not-audio', 'oversize-chunked', 'hangup-mid-upload', 'stalled-client']) {
      expect(report.byScenario[s]?.count, s).toBeGreaterThan(0);
    }
  });
});
