// OpenAI's audio transcription API (POST /v1/audio/transcriptions), as its clients speak it: a
// multipart/form-data request with one `file` part and a few fields, answered in the response
// format asked for; errors as `{ error: { message, type, param, code } }`. The transcripts are
// rendered by the package's own formatters (whisper-perf/report).
import { deflateSync } from 'node:zlib';

import { toSrt, toTxt, toVtt } from 'whisper-perf/report';

import { parseContentType, ServiceError } from './audio.mjs';

export const RESPONSE_FORMATS = ['json', 'text', 'srt', 'vtt', 'verbose_json'];
const GRANULARITIES = ['segment', 'word'];

/** The fields read from a form; any other field is refused (400) rather than ignored silently. */
const KNOWN_FIELDS = new Set(['model', 'language', 'prompt', 'response_format', 'temperature', 'timestamp_granularities', 'stream', 'chunking_strategy', 'include']);

/**
 * The JSON body of an error answer, OpenAI's shape: `type` from the status, `code` the service's
 * own code (what its other routes always answered), `param` the form field at fault or null.
 */
export function errorBody(status, code, message, param = null) {
  const type = status >= 500 ? 'server_error' : status === 404 ? 'not_found_error' : 'invalid_request_error';
  return { error: { message, type, param, code } };
}

/** A 400 about one form field. */
function badField(param, message, status = 400, code = 'INVALID_FIELD') {
  const e = new ServiceError(status, code, message);
  e.param = param;
  return e;
}

/** Busboy's limits for a transcription form: one file, a few small fields. */
export function formLimits({ maxBodyBytes, maxFieldBytes }) {
  return { fileSize: maxBodyBytes, files: 1, fields: 16, fieldSize: maxFieldBytes, fieldNameSize: 100, parts: 24, headerPairs: 64 };
}

/** Refuses, before the body is read, a request that is not multipart/form-data (415). */
export function requireMultipart(header) {
  const { type } = parseContentType(header);
  if (type !== 'multipart/form-data') {
    throw new ServiceError(415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Type ${JSON.stringify(type)}: send multipart/form-data with the audio in a part named "file" (as OpenAI's API); raw audio bodies go to POST /transcribe`);
  }
}

/**
 * Reads the whole form (@fastify/multipart's request.parts()): the file part into memory (never
 * to disk), the fields as strings (`timestamp_granularities[]` as a list). Rejects with the
 * signal's reason when it fires, and turns every parser failure into a 4xx ServiceError.
 * @param {import('fastify').FastifyRequest} request
 * @param {{ signal: AbortSignal, maxFieldBytes: number, maxFileBytes: number }} o
 * @returns {Promise<{ file: { bytes: Buffer, filename: string, mimetype: string } | null, fields: Record<string, string | string[]> }>}
 */
export async function readForm(request, { signal, maxFieldBytes, maxFileBytes }) {
  /** @type {Record<string, string | string[]>} */
  const fields = Object.create(null);
  let file = null;
  const reading = (async () => {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file') throw badField(part.fieldname, `unexpected file part ${JSON.stringify(part.fieldname)}: the audio goes in the part named "file"`);
        file = { bytes: await part.toBuffer(), filename: part.filename, mimetype: part.mimetype };
        continue;
      }
      if (part.fieldnameTruncated) throw badField(null, 'a field name is over 100 bytes');
      const name = part.fieldname.endsWith('[]') ? part.fieldname.slice(0, -2) : part.fieldname;
      // a part without a filename is a field to the parser, however large its bytes
      if (name === 'file') throw badField('file', 'the "file" part has no filename: send the audio as a file part (Content-Disposition: form-data; name="file"; filename="…")');
      if (part.valueTruncated) throw badField(name, `the field ${JSON.stringify(name)} is over ${maxFieldBytes} bytes`, 413, 'FIELD_TOO_LARGE');
      if (!KNOWN_FIELDS.has(name)) throw badField(name, `unknown field ${JSON.stringify(name)}`);
      const value = String(part.value);
      if (name === 'timestamp_granularities' || name === 'include') {
        const list = fields[name];
        fields[name] = Array.isArray(list) ? [...list, value] : [value];
      } else {
        fields[name] = value;
      }
    }
  })();
  let onAbort;
  const aborted = new Promise((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([reading, aborted]);
  } catch (e) {
    reading.catch(() => {}); // what the parser says after an abort is of no interest
    if (signal.aborted) throw signal.reason;
    throw formError(e, maxFileBytes);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  return { file, fields };
}

/** A multipart parser's failure as the service's 4xx. */
function formError(e, maxFileBytes) {
  if (e instanceof ServiceError) return e;
  switch (e?.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return badField('file', `the file is over the limit of ${maxFileBytes} bytes`, 413, 'PAYLOAD_TOO_LARGE');
    case 'FST_FILES_LIMIT':
      return badField('file', 'more than one file part: send one file per request', 400, 'TOO_MANY_FILES');
    case 'FST_FIELDS_LIMIT':
      return badField(null, 'too many form fields', 413, 'TOO_MANY_FIELDS');
    case 'FST_PARTS_LIMIT':
      return badField(null, 'too many form parts', 413, 'TOO_MANY_PARTS');
    default:
      // busboy: a boundary missing from the header, never closed in the body, malformed part heads ...
      return badField(null, `malformed multipart/form-data: ${e?.message ?? e}`, 400, 'MULTIPART_INVALID');
  }
}

/**
 * The transcription asked for by a form, checked: 400 with the field at fault otherwise.
 * @param {{ file: { bytes: Buffer } | null, fields: Record<string, string | string[]> }} form
 * @param {{ defaultModel: string }} o
 */
export function transcriptionRequest({ file, fields }, { defaultModel }) {
  if (!file) throw badField('file', 'no "file" part: send the audio as a file part named "file"');
  if (file.bytes.length === 0) throw badField('file', 'the file is empty', 400, 'AUDIO_INVALID');
  const one = (name) => {
    const v = fields[name];
    return Array.isArray(v) ? v[v.length - 1] : v;
  };
  const responseFormat = one('response_format') ?? 'json';
  if (!RESPONSE_FORMATS.includes(responseFormat)) throw badField('response_format', `response_format ${JSON.stringify(responseFormat)} is not one of ${RESPONSE_FORMATS.join(', ')}`);
  let temperature;
  if (one('temperature') !== undefined) {
    temperature = Number(one('temperature'));
    if (one('temperature').trim() === '' || !(temperature >= 0 && temperature <= 1)) throw badField('temperature', `temperature ${JSON.stringify(one('temperature'))} is not a number from 0 to 1`);
  }
  const language = one('language');
  if (language !== undefined && !/^([a-z]{2,3}|auto)$/.test(language)) throw badField('language', `language ${JSON.stringify(language)} is not an ISO-639-1 code (or "auto")`);
  if (one('stream') === 'true') throw badField('stream', 'streamed transcriptions are not supported here');
  const granularities = [...new Set(fields.timestamp_granularities ?? ['segment'])];
  for (const g of granularities) if (!GRANULARITIES.includes(g)) throw badField('timestamp_granularities', `timestamp granularity ${JSON.stringify(g)} is not one of ${GRANULARITIES.join(', ')}`);
  return {
    model: one('model') ?? defaultModel,
    language,
    prompt: one('prompt'),
    temperature,
    responseFormat,
    segments: granularities.includes('segment'),
    words: responseFormat === 'verbose_json' && granularities.includes('word'),
  };
}

/** whisper.cpp's special tokens (timestamps, start/end of text ...) as whisper_token_to_str writes them. */
const SPECIAL = /^(\[_.*\]|<\|.*\|>)$/;

/**
 * Words from a segment's tokens: a token whose text starts with a space starts a word; special
 * tokens are left out. Times are the tokens' (whisper.cpp token timestamps), seconds.
 */
export function wordsOf(segments) {
  const words = [];
  for (const s of segments) {
    let cur = null;
    for (const t of s.tokens ?? []) {
      if (SPECIAL.test(t.text) || t.text === '') continue;
      if (cur === null || /^\s/.test(t.text)) {
        if (cur && cur.word.trim()) words.push({ word: cur.word.trim(), start: cur.start, end: cur.end });
        cur = { word: t.text, start: t.start, end: t.end };
      } else {
        cur.word += t.text;
        cur.end = t.end;
      }
    }
    if (cur && cur.word.trim()) words.push({ word: cur.word.trim(), start: cur.start, end: cur.end });
  }
  return words;
}

/**
 * The answer in the response format asked for: `{ type, body }` (body: an object sent as JSON,
 * or a string). Text formats come from the package's transcript formatters.
 * @param {import('whisper-perf').Transcript} tr
 * @param {ReturnType<typeof transcriptionRequest>} q
 * @param {number} temperature the temperature used
 */
export function formatTranscription(tr, q, temperature) {
  const segments = tr.segments;
  const usage = { type: 'duration', seconds: Math.ceil(tr.audioS) };
  switch (q.responseFormat) {
    case 'text':
      return { type: 'text/plain; charset=utf-8', body: toTxt(segments) };
    case 'srt':
      return { type: 'application/x-subrip; charset=utf-8', body: toSrt(segments) };
    case 'vtt':
      return { type: 'text/vtt; charset=utf-8', body: toVtt(segments) };
    case 'verbose_json': {
      /** @type {Record<string, unknown>} */
      const body = { task: 'transcribe', language: tr.language ?? q.language ?? null, duration: tr.audioS, text: tr.text.trim() };
      if (q.segments) body.segments = segments.map((s, id) => segmentOf(s, id, temperature));
      if (q.words) body.words = wordsOf(segments);
      body.usage = usage;
      return { type: 'application/json; charset=utf-8', body };
    }
    default:
      return { type: 'application/json; charset=utf-8', body: { text: tr.text.trim(), usage } };
  }
}

/** A segment in verbose_json's shape. */
function segmentOf(s, id, temperature) {
  const tokens = (s.tokens ?? []).filter((t) => !SPECIAL.test(t.text));
  const logps = tokens.map((t) => Math.log(Math.max(t.p, 1e-12)));
  const text = s.text;
  const bytes = Buffer.byteLength(text);
  return {
    id,
    seek: 0,
    start: s.start,
    end: s.end,
    text,
    tokens: tokens.map((t) => t.id),
    temperature,
    avg_logprob: logps.length ? logps.reduce((a, b) => a + b, 0) / logps.length : 0,
    // as OpenAI's: the text's length over its compressed length (a repetitive text compresses well)
    compression_ratio: bytes ? bytes / deflateSync(text).length : 0,
    no_speech_prob: s.noSpeechProb,
  };
}
