// whisper-perf embedded in an HTTP service (fastify): one model loaded at start, a pool of whisper
// states over its weights (one per concurrent transcription), a bounded queue in front of them,
// a timeout and client-disconnect cancellation that reach whisper.cpp through an AbortSignal,
// Prometheus metrics (prom-client), load shedding under memory or event-loop pressure
// (@fastify/under-pressure), and a graceful shutdown. Two ways in: the raw audio body of
// POST /transcribe, and OpenAI's multipart POST /v1/audio/transcriptions (also as whisper.cpp's
// server's POST /inference). Every bad upload is a 4xx with an error code.
import http from 'node:http';
import { basename } from 'node:path';
import { availableParallelism } from 'node:os';

import multipart from '@fastify/multipart';
import underPressure from '@fastify/under-pressure';
import Fastify from 'fastify';
import { ensureDefaultModel, loadModel, WhisperPerfError } from 'whisper-perf';

import { classifyUpload, decodeUpload, ServiceError } from './audio.mjs';
import { Limiter, QueueError } from './limiter.mjs';
import { createMetrics } from './metrics.mjs';
import { errorBody, formatTranscription, formLimits, readForm, requireMultipart, transcriptionRequest } from './openai.mjs';

/**
 * @typedef {object} ServiceOptions
 * @property {string} [model] ggml model file (default: the synthetic tiny.en, generated once)
 * @property {number} [maxConcurrent] transcriptions at once, one whisper state each (default 1)
 * @property {number} [maxWaiting] requests waiting for a transcriber before 503 QUEUE_FULL (default 16)
 * @property {number} [threads] compute threads per transcription (default: min(4, cores) / maxConcurrent)
 * @property {number} [timeoutMs] per request, from its arrival in the handler: decode, wait and transcription (default 60000)
 * @property {number} [maxBodyBytes] largest upload (default 25 MiB) → 413 PAYLOAD_TOO_LARGE
 * @property {number} [maxAudioSeconds] longest audio after decoding (default 600) → 413 AUDIO_TOO_LONG
 * @property {number} [uploadTimeoutMs] time a client has to send its whole request (default 30000) → 408
 * @property {number} [maxHeaderBytes] largest request head (default 16 KiB) → 431
 * @property {number} [maxFieldBytes] largest form field of a multipart request (default 16 KiB) → 413 FIELD_TOO_LARGE
 * @property {number} [maxEventLoopDelayMs] shed requests (503 OVERLOADED) while the event loop lags more (default 1000; 0: off)
 * @property {number} [maxEventLoopUtilization] ... while the event loop is busier than this (0-1; default 0: off)
 * @property {number} [maxHeapBytes] ... while the V8 heap holds more (default 0: off)
 * @property {number} [maxRssBytes] ... while the resident set is larger (default 0: off)
 * @property {number} [pressureSampleMs] how often pressure is sampled (default 1000)
 * @property {string} [modelName] the name the OpenAI route answers with when a request names none (default: the model file's name)
 * @property {number} [graceMs] shutdown: time given to transcriptions in flight before they are aborted (default 10000)
 * @property {boolean} [ffmpeg] decode non-WAV uploads with ffmpeg when installed (default true)
 * @property {boolean} [useGpu] (default false: a CPU service)
 * @property {import('whisper-perf').TranscribeOptions} [transcribe] options of every transcription (default: English, no fallback, 32 tokens per segment)
 * @property {boolean | object} [logger] fastify's logger option (default false)
 */

/** Routes refused under pressure; /health and /metrics still answer, to tell what is going on. */
const SHEDDABLE = new Set(['/transcribe', '/v1/audio/transcriptions', '/inference']);

/** 5xx answers that shed load rather than report a failure (not logged as server errors). */
const SHEDDING = new Set(['QUEUE_FULL', 'SHUTTING_DOWN', 'TIMEOUT', 'OVERLOADED']);

/** Room for a form's part heads and fields around its file, in a multipart request's Content-Length. */
const FORM_OVERHEAD_BYTES = 64 * 1024;

/** Defaults chosen for a service: predictable cost per request rather than best quality. */
const TRANSCRIBE_DEFAULTS = { language: 'en', noFallback: true, maxTokens: 32 };

/**
 * Loads the model and builds the service (not listening yet: call `app.listen`).
 * @param {ServiceOptions} [options]
 */
export async function createService(options = {}) {
  const o = {
    maxConcurrent: 1,
    maxWaiting: 16,
    timeoutMs: 60_000,
    maxBodyBytes: 25 * 1024 * 1024,
    maxAudioSeconds: 600,
    uploadTimeoutMs: 30_000,
    maxHeaderBytes: 16 * 1024,
    maxFieldBytes: 16 * 1024,
    maxEventLoopDelayMs: 1000,
    maxEventLoopUtilization: 0,
    maxHeapBytes: 0,
    maxRssBytes: 0,
    pressureSampleMs: 1000,
    graceMs: 10_000,
    ffmpeg: true,
    useGpu: false,
    logger: false,
    ...options,
  };
  const threads = o.threads ?? Math.max(1, Math.floor(Math.min(4, availableParallelism()) / o.maxConcurrent));
  const transcribeOptions = { ...TRANSCRIBE_DEFAULTS, ...o.transcribe, threads };

  // --- the model: loaded once, one whisper state per concurrent transcription -------------------
  const modelPath = o.model ?? (await ensureDefaultModel());
  const model = await loadModel(modelPath, { useGpu: o.useGpu });
  const states = [];
  try {
    for (let i = 0; i < o.maxConcurrent; i++) states.push(await model.createState());
  } catch (e) {
    await model.dispose();
    throw e;
  }
  const idle = [...states];
  const limiter = new Limiter({ maxConcurrent: o.maxConcurrent, maxWaiting: o.maxWaiting });

  // --- metrics ------------------------------------------------------------------------------
  /** requests in the transcribe handler until their answer is written, each with its AbortController */
  const inFlight = new Set();
  let transcribing = 0;
  const { registry, m } = createMetrics({ queueDepth: () => limiter.depth, inFlight: () => inFlight.size, transcribing: () => transcribing });
  /** completed transcriptions and their whisper.cpp seconds, for Retry-After */
  const done = { count: 0, seconds: 0 };
  m.info.set({ path: modelPath, type: model.info.type, ftype: model.info.ftype, synthetic: String(model.info.synthetic), threads, max_concurrent: o.maxConcurrent }, 1);
  const modelName = o.modelName ?? basename(modelPath);

  // --- the HTTP server -------------------------------------------------------------------------
  let shuttingDown = false;
  /** sockets whose request node answered itself (408, 431, 400): counted once, there */
  const answeredByNode = new WeakSet();
  const app = Fastify({
    logger: o.logger,
    bodyLimit: o.maxBodyBytes,
    return503OnClosing: false, // the routes answer SHUTTING_DOWN themselves, with a code
    // the node server with limits against hostile clients: head size, time to send the request
    serverFactory: (handler) =>
      http.createServer(
        {
          maxHeaderSize: o.maxHeaderBytes,
          requestTimeout: o.uploadTimeoutMs,
          headersTimeout: Math.min(o.uploadTimeoutMs, 10_000),
          // how often node looks for requests past those timeouts (its default is 30 s)
          connectionsCheckingInterval: Math.min(1000, o.uploadTimeoutMs),
        },
        handler,
      ),
    // errors node finds before a request exists (head too large, too slow, malformed): answered
    // here as a JSON error with a code, then the connection is closed
    clientErrorHandler(err, socket) {
      const [status, code, message] =
        err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'HEADERS_TOO_LARGE', `the request head is over ${o.maxHeaderBytes} bytes`]
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'REQUEST_TIMEOUT', `the request was not received within ${o.uploadTimeoutMs} ms`]
        : [400, 'BAD_REQUEST', `malformed HTTP request (${err.code ?? err.message})`];
      // a client that hung up (reset, or its end of the connection closed mid-request) gets no
      // answer; if a request had begun, its own close handler counts it as CLIENT_CLOSED
      const gone = err.code === 'ECONNRESET' || err.code === 'HPE_INVALID_EOF_STATE';
      // a connection lingering after its answer (see lingerOnClose) was answered and counted once
      if (!gone && !socket.destroyed && !socket.lingering) {
        answeredByNode.add(socket);
        m.requests.inc({ route: 'none', method: 'none', status });
        m.errors.inc({ code });
        if (socket.writable) {
          const body = JSON.stringify(errorBody(status, code, message));
          socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
        }
      }
      socket.destroy();
    },
  });

  // the body of every upload, whatever its type, as one Buffer (at most bodyLimit bytes)
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.decorateRequest('abort', null);
  // every request: its own AbortController (client gone → abort), and its metrics when it ends
  app.addHook('onRequest', async (request, reply) => {
    const started = performance.now();
    const ac = new AbortController();
    request.abort = ac;
    reply.raw.once('close', () => {
      inFlight.delete(ac);
      const finished = reply.raw.writableFinished;
      if (!finished) ac.abort(new ServiceError(499, 'CLIENT_CLOSED', 'the client closed the connection before the answer'));
      if (answeredByNode.has(request.raw.socket)) return;
      const route = request.routeOptions.url ?? 'unmatched';
      m.requests.inc({ route, method: request.method, status: finished ? reply.statusCode : 499 });
      if (!finished) m.errors.inc({ code: 'CLIENT_CLOSED' });
      m.duration.observe({ route }, (performance.now() - started) / 1000);
    });
  });
  // while shutting down, connections close after their answer
  app.addHook('onSend', async (_request, reply) => {
    if (shuttingDown) reply.header('connection', 'close');
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody(404, 'NOT_FOUND', `no route ${request.method} ${request.url.slice(0, 200)}`));
  });

  app.setErrorHandler((err, request, reply) => {
    const { status, code, message, headers, param } = toHttpError(err, request.abort?.signal);
    if (status >= 500 && !SHEDDING.has(code)) request.log.error({ err }, 'server error');
    // a client that left is counted when its connection closes
    if (code !== 'CLIENT_CLOSED') m.errors.inc({ code });
    // an answer sent before the body was read: close the connection rather than read the rest
    if (!request.raw.complete) {
      reply.header('connection', 'close');
      lingerOnClose(request.raw.socket);
    }
    reply.code(status).headers(headers).type('application/json; charset=utf-8').send(errorBody(status, code, message, param ?? null));
  });

  app.get('/health', async (_request, reply) => {
    const body = {
      status: shuttingDown ? 'shutting-down' : 'ok',
      model: { path: modelPath, type: model.info.type, synthetic: model.info.synthetic },
      transcribing,
      queueDepth: limiter.depth,
      inFlight: inFlight.size,
      maxConcurrent: o.maxConcurrent,
      maxWaiting: o.maxWaiting,
    };
    return reply.code(shuttingDown ? 503 : 200).send(body);
  });

  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  // load shedding: while memory or the event loop is over a limit, the transcription routes answer
  // 503 OVERLOADED at once (before their body is read); /health and /metrics go on answering
  app.register(underPressure, {
    maxEventLoopDelay: o.maxEventLoopDelayMs,
    maxEventLoopUtilization: o.maxEventLoopUtilization,
    maxHeapUsedBytes: o.maxHeapBytes,
    maxRssBytes: o.maxRssBytes,
    sampleInterval: o.pressureSampleMs,
    pressureHandler: (request, _reply, type, value) => {
      if (!SHEDDABLE.has(request.routeOptions.url)) return undefined;
      m.shed.inc({ reason: type });
      const retry = String(Math.max(1, Math.ceil(o.pressureSampleMs / 1000)));
      return Promise.reject(new ServiceError(503, 'OVERLOADED', `the server is under pressure (${type} ${typeof value === 'number' ? Math.round(value * 1000) / 1000 : ''}): try again later`, { 'retry-after': retry }));
    },
  });

  app.post('/transcribe', {
    // refuse a wrong type or a declared size over the limit before reading the body
    onRequest: async (request) => {
      classifyUpload(request.headers['content-type']);
      const declared = Number(request.headers['content-length']);
      if (declared > o.maxBodyBytes) throw tooLarge(declared);
    },
  }, (request, reply) =>
    handle(request, async (ac, t0) => {
      const { tr, audio, decodeMs, waitMs } = await run(request.body, request.headers['content-type'], ac, t0, {});
      reply.header('server-timing', serverTiming(decodeMs, waitMs, tr.ms));
      return {
        text: tr.text,
        segments: tr.segments.map((s) => ({ start: s.start, end: s.end, text: s.text })),
        ms: round(tr.ms),
        audioS: tr.audioS,
        rtf: round(tr.rtf, 4),
        decodeMs: round(decodeMs),
        waitMs: round(waitMs),
        totalMs: round(performance.now() - t0),
        source: { format: audio.source.format, codec: audio.source.codec, sampleRate: audio.source.sampleRate, channels: audio.source.channels, durationS: audio.durationS },
        warnings: audio.warnings,
        synthetic: tr.synthetic,
      };
    }),
  );

  // OpenAI's transcription API, and whisper.cpp's server's route for the same form: multipart
  // parsed by @fastify/multipart in this scope only, with hard limits, the file kept in memory
  app.register(async (scope) => {
    await scope.register(multipart, { limits: formLimits(o), throwFileSizeLimit: true });
    const route = {
      onRequest: async (request) => {
        requireMultipart(request.headers['content-type']);
        const declared = Number(request.headers['content-length']);
        if (declared > o.maxBodyBytes + FORM_OVERHEAD_BYTES) throw tooLarge(declared);
      },
    };
    const openai = (request, reply) =>
      handle(request, async (ac, t0) => {
        // a body without a Content-Length (chunked) is counted as it comes: past the limit, the
        // request is aborted (413) instead of read to its end
        let received = 0;
        const count = (chunk) => {
          received += chunk.length;
          if (received > o.maxBodyBytes + FORM_OVERHEAD_BYTES) ac.abort(tooLarge(received));
        };
        request.raw.on('data', count);
        let form;
        try {
          form = await readForm(request, { signal: ac.signal, maxFieldBytes: o.maxFieldBytes, maxFileBytes: o.maxBodyBytes });
        } finally {
          request.raw.off('data', count);
        }
        const q = transcriptionRequest(form, { defaultModel: modelName });
        const temperature = q.temperature ?? transcribeOptions.temperature ?? 0;
        const overrides = { tokenTimestamps: q.words, temperature };
        if (q.language !== undefined) overrides.language = q.language;
        if (q.prompt !== undefined && q.prompt !== '') overrides.initialPrompt = q.prompt;
        // the file's bytes say what it is (the part's own Content-Type is often a guess)
        const { tr, decodeMs, waitMs } = await run(form.file.bytes, undefined, ac, t0, overrides);
        const out = formatTranscription(tr, q, temperature);
        reply.header('openai-model', q.model).header('server-timing', serverTiming(decodeMs, waitMs, tr.ms)).type(out.type);
        return out.body;
      });
    scope.post('/v1/audio/transcriptions', route, openai);
    scope.post('/inference', route, openai);
  });

  /**
   * Runs a transcription request: refused while shutting down, in flight (for shutdown) until its
   * answer is written, aborted past `timeoutMs`; `work` gets its AbortController and start time.
   */
  async function handle(request, work) {
    if (shuttingDown) throw new ServiceError(503, 'SHUTTING_DOWN', 'the server is shutting down');
    const ac = request.abort;
    const timer = setTimeout(() => ac.abort(new ServiceError(504, 'TIMEOUT', `the transcription took longer than ${o.timeoutMs} ms`)), o.timeoutMs);
    inFlight.add(ac);
    try {
      return await work(ac, performance.now());
    } finally {
      // it stays in flight until its answer is written (the close handler above)
      clearTimeout(timer);
    }
  }

  /** Decodes an upload, waits for a transcriber, transcribes: the transcript and the time split. */
  async function run(bytes, contentType, ac, t0, overrides) {
    const audio = await decodeUpload(bytes, contentType, { maxSeconds: o.maxAudioSeconds, ffmpeg: o.ffmpeg, signal: ac.signal });
    const decodeMs = performance.now() - t0;
    const release = await limiter.acquire(ac.signal);
    const waitMs = performance.now() - t0 - decodeMs;
    const state = idle.pop();
    transcribing++;
    try {
      const tr = await state.transcribe(audio.pcm, { ...transcribeOptions, ...overrides, signal: ac.signal });
      m.transcriptions.inc({ outcome: 'ok' });
      m.whisper.observe(tr.ms / 1000);
      m.audio.inc(tr.audioS);
      done.count++;
      done.seconds += tr.ms / 1000;
      return { tr, audio, decodeMs, waitMs };
    } catch (e) {
      const aborted = e instanceof WhisperPerfError && e.code === 'ABORTED';
      m.transcriptions.inc({ outcome: aborted ? 'aborted' : 'failed' });
      if (aborted) m.aborts.inc({ reason: abortReason(ac.signal) });
      throw e;
    } finally {
      transcribing--;
      idle.push(state);
      release();
    }
  }

  function tooLarge(bytes) {
    return new ServiceError(413, 'PAYLOAD_TOO_LARGE', `the upload of ${bytes} bytes is over the limit of ${o.maxBodyBytes} bytes`);
  }

  /** Maps any error to the answer: the service's own, the library's by code, fastify's by status. */
  function toHttpError(err, signal) {
    // an abort answers with its reason (timeout 504, shutdown 503, client gone 499); so does any
    // error of a request whose client has gone (its upload cut off)
    if (err instanceof WhisperPerfError && err.code === 'ABORTED' && signal?.reason instanceof ServiceError) err = signal.reason;
    if (signal?.reason?.code === 'CLIENT_CLOSED') err = signal.reason;
    if (err instanceof ServiceError) return { status: err.status, code: err.code, message: err.message, headers: err.headers, param: err.param };
    if (err instanceof QueueError) {
      const retry = err.code === 'QUEUE_FULL' ? retryAfterSeconds() : 5;
      return { status: 503, code: err.code, message: err.message, headers: { 'retry-after': String(retry) } };
    }
    if (err instanceof WhisperPerfError) {
      switch (err.code) {
        case 'AUDIO_INVALID':
          return /\(maxSeconds\)/.test(err.message)
            ? { status: 413, code: 'AUDIO_TOO_LONG', message: err.message, headers: {} }
            : { status: 400, code: 'AUDIO_INVALID', message: err.message, headers: {} };
        case 'INVALID_ARGUMENT':
          return { status: 400, code: err.code, message: err.message, headers: {} };
        case 'DISPOSED':
          return { status: 503, code: 'SHUTTING_DOWN', message: 'the server is shutting down', headers: {} };
        default:
          return { status: 500, code: err.code, message: err.message, headers: {} };
      }
    }
    if (err?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: `the upload is over the limit of ${o.maxBodyBytes} bytes`, headers: {} };
    if (err?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: err.message, headers: {} };
    // fastify's other client errors (a Content-Length that does not match the body ...)
    if (err?.statusCode >= 400 && err.statusCode < 500) return { status: err.statusCode, code: 'BAD_REQUEST', message: err.message, headers: {} };
    return { status: 500, code: 'INTERNAL', message: 'internal error', headers: {} };
  }

  /** A Retry-After for QUEUE_FULL: the mean transcription time times the queue ahead, per transcriber. */
  function retryAfterSeconds() {
    const meanS = done.count ? done.seconds / done.count : 1;
    return Math.max(1, Math.ceil((meanS * (limiter.depth + 1)) / o.maxConcurrent));
  }

  // --- shutdown ---------------------------------------------------------------------------------
  let closing;
  /**
   * Graceful shutdown: stop accepting connections, refuse the requests still waiting (503
   * SHUTTING_DOWN), give the transcriptions in flight `graceMs` to finish, abort the rest, then
   * free the states and the model. Safe to call more than once.
   * @param {{ graceMs?: number }} [c]
   */
  function close(c = {}) {
    closing ??= (async () => {
      const graceMs = c.graceMs ?? o.graceMs;
      shuttingDown = true;
      limiter.close();
      const closed = app.close();
      await waitFor(() => inFlight.size === 0, graceMs);
      for (const ac of inFlight) ac.abort(new ServiceError(503, 'SHUTTING_DOWN', `the server shut down before the transcription finished (grace period ${graceMs} ms)`));
      // whisper.cpp stops at its next abort check: an encoder pass under way runs to its end
      // (seconds for 30 s of audio on a busy CPU), so the answers may take that long
      await waitFor(() => inFlight.size === 0, 15_000);
      // uploads still trickling in, idle keep-alive connections: closed now
      app.server.closeAllConnections?.();
      await closed;
      await Promise.all(states.map((s) => s.dispose()));
      await model.dispose();
      app.log.info('model disposed');
    })();
    return closing;
  }

  return { app, close, model, metrics: registry, options: { ...o, threads, transcribe: transcribeOptions } };
}

function abortReason(signal) {
  const code = signal.reason?.code;
  return code === 'TIMEOUT' ? 'timeout' : code === 'SHUTTING_DOWN' ? 'shutdown' : code === 'CLIENT_CLOSED' ? 'client' : 'other';
}

const round = (v, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

/** A Server-Timing header with the time split of a transcription, ms (decode, queue wait, whisper.cpp). */
function serverTiming(decodeMs, waitMs, whisperMs) {
  return `decode;dur=${round(decodeMs)}, wait;dur=${round(waitMs)}, whisper;dur=${round(whisperMs)}`;
}

/** Resolves when `done()` is true, or after `ms` (checks every 20 ms). */
async function waitFor(done, ms) {
  const deadline = performance.now() + ms;
  while (!done() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/**
 * A "lingering close" for a connection answered before its upload was read (413 on a chunked body
 * over the limit): Node closes the socket right after the answer, and closing a socket with
 * unread input makes the kernel send a reset, which can throw away the answer before the client,
 * still writing, has read it. Instead the server half-closes (its answer and FIN go out), reads and
 * discards what the client still sends, and closes when the client does or after 2 s.
 * @param {import('node:net').Socket | null | undefined} socket
 */
function lingerOnClose(socket) {
  if (!socket || socket.destroyed || socket.lingering) return;
  socket.lingering = true;
  socket.destroySoon = function destroySoon() {
    if (this.writable) this.end();
    this.on('data', () => {}).resume();
    this.once('end', () => this.destroy());
    setTimeout(() => this.destroy(), 2000).unref();
  };
}
