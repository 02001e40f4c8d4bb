// Uploads for the service's tests and load test: valid audio made with the library's test signal
// and WAV encoder, and hostile uploads (malformed WAV, lying headers, non-audio, wrong types).
import { encodeWav, testSignal } from 'whisper-perf/audio';

import { classifyUpload, pcmAsWav } from './audio.mjs';

/** A WAV of the speech-like test signal: `seconds` at `rate` Hz, `channels` channels, 16-bit. */
export function wav(seconds, { rate = 16000, channels = 1, seed = 1 } = {}) {
  const mono = testSignal(seconds, seed);
  if (rate === 16000 && channels === 1) return Buffer.from(encodeWav(mono, 16000));
  // the 16 kHz signal stretched to another rate (what it sounds like does not matter here)
  const n = Math.round(seconds * rate);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = mono[Math.min(mono.length - 1, Math.floor((i * 16000) / rate))];
  return Buffer.from(encodeWav(Array.from({ length: channels }, () => x), rate));
}

/** Raw PCM of the test signal: 's16be' (audio/L16), 's16le' or 'f32le'. */
export function pcm(seconds, encoding) {
  const x = testSignal(seconds, 7);
  if (encoding === 'f32le') return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  const b = Buffer.alloc(x.length * 2);
  for (let i = 0; i < x.length; i++) {
    const v = Math.max(-32768, Math.min(32767, Math.round(x[i] * 32767)));
    if (encoding === 's16be') b.writeInt16BE(v, i * 2);
    else b.writeInt16LE(v, i * 2);
  }
  return b;
}

/** A copy of `buf` with `edit` applied. */
function edited(buf, edit) {
  const b = Buffer.from(buf);
  edit(b);
  return b;
}

/** Deterministic pseudo-random bytes. */
export function noiseBytes(n, seed = 12345) {
  const b = Buffer.alloc(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    b[i] = s & 0xff;
  }
  return b;
}

/**
 * Uploads sent as one ordinary request: `{ name, body, type, expect }` where expect is
 * 'ok' (200), or 'reject' (a 4xx with an error code). Offsets are those of a plain 44-byte header.
 */
export function uploads() {
  const one = wav(1);
  const nan = new Float32Array(16000);
  nan[100] = NaN;
  return [
    // valid
    { name: 'wav-16k-1s', body: one, type: 'audio/wav', expect: 'ok' },
    { name: 'wav-16k-2s', body: wav(2, { seed: 2 }), type: 'audio/wav', expect: 'ok' },
    { name: 'wav-44k-stereo', body: wav(1.5, { rate: 44100, channels: 2 }), type: 'audio/x-wav', expect: 'ok' },
    { name: 'wav-no-type', body: wav(1, { seed: 3 }), type: undefined, expect: 'ok' },
    { name: 'pcm-l16', body: pcm(1, 's16be'), type: 'audio/L16; rate=16000; channels=1', expect: 'ok' },
    { name: 'pcm-f32', body: pcm(1, 'f32le'), type: 'audio/pcm; encoding=f32le; rate=16000', expect: 'ok' },
    // sloppy but decodable, as ffmpeg would: the data is clamped to what is there
    { name: 'wav-cut-in-data', body: one.subarray(0, 20000), type: 'audio/wav', expect: 'ok' },
    { name: 'wav-data-size-lies', body: edited(one, (b) => b.writeUInt32LE(0x7fffffff, 40)), type: 'audio/wav', expect: 'ok' },
    // hostile
    { name: 'empty', body: Buffer.alloc(0), type: 'audio/wav', expect: 'reject' },
    { name: 'wav-cut-in-header', body: one.subarray(0, 30), type: 'audio/wav', expect: 'reject' },
    { name: 'wav-no-data-chunk', body: one.subarray(0, 43), type: 'audio/wav', expect: 'reject' },
    { name: 'wav-0-channels', body: edited(one, (b) => b.writeUInt16LE(0, 22)), type: 'audio/wav', expect: 'reject' },
    { name: 'wav-0-hz', body: edited(one, (b) => b.writeUInt32LE(0, 24)), type: 'audio/wav', expect: 'reject' },
    { name: 'wav-4ghz', body: edited(one, (b) => b.writeUInt32LE(4e9, 24)), type: 'audio/wav', expect: 'reject' },
    { name: 'wav-0-bits', body: edited(one, (b) => b.writeUInt16LE(0, 34)), type: 'audio/wav', expect: 'reject' },
    { name: 'wav-fmt-size-lies', body: edited(one, (b) => b.writeUInt32LE(0xfffffff0, 16)), type: 'audio/wav', expect: 'reject' },
    { name: 'wav-corrupt-chunk', body: edited(one, (b) => b.write('\x00\x01\x02\x03', 36, 'latin1')), type: 'audio/wav', expect: 'reject' },
    { name: 'wav-nan-sample', body: Buffer.from(encodeWav(nan, 16000, { float: true })), type: 'audio/wav', expect: 'reject' },
    { name: 'noise-as-wav', body: noiseBytes(4096), type: 'audio/wav', expect: 'reject' },
    { name: 'noise-no-type', body: noiseBytes(2048, 99), type: undefined, expect: 'reject' },
    { name: 'text-as-plain', body: Buffer.from('this is not audio\n'), type: 'text/plain', expect: 'reject' },
    { name: 'json', body: Buffer.from('{"audio":"x"}'), type: 'application/json', expect: 'reject' },
    { name: 'fake-mp3', body: Buffer.concat([Buffer.from('ID3'), noiseBytes(3000, 5)]), type: 'audio/mpeg', expect: 'reject' },
    { name: 'pcm-odd-bytes', body: Buffer.alloc(1001), type: 'audio/L16; rate=16000', expect: 'reject' },
    { name: 'pcm-bad-rate', body: Buffer.alloc(1000), type: 'audio/L16; rate=abc', expect: 'reject' },
  ];
}

/** The boundary of the forms built here. */
export const BOUNDARY = 'wp-boundary-d41d8cd98f00b204';

/**
 * A multipart/form-data body: `parts` of `{ name, value }` (a field) or `{ name, filename?, type?,
 * data }` (a file part; without `filename` it is what a form sends for a field). `closed: false`
 * leaves out the closing boundary.
 * @param {{ name: string, value?: string, filename?: string, type?: string, data?: Buffer }[]} parts
 */
export function formBody(parts, { boundary = BOUNDARY, closed = true } = {}) {
  const chunks = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    const type = p.type ? `Content-Type: ${p.type}\r\n` : '';
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`, 'latin1'));
    chunks.push(p.data ?? Buffer.from(p.value ?? '', 'utf8'), Buffer.from('\r\n'));
  }
  if (closed) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** The Content-Type of the forms built here. */
export const FORM_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/**
 * Requests to POST /v1/audio/transcriptions (and /inference) as forms: `{ name, path, body, type,
 * expect }` as uploads(), and for the hostile ones the answer expected: `status`, `code`, `param`.
 * @param {{ maxBodyBytes: number, maxFieldBytes: number }} limits
 */
export function multipartUploads({ maxBodyBytes, maxFieldBytes }) {
  const audio = wav(1, { seed: 21 });
  const file = (data = audio, filename = 'speech.wav', type = 'audio/wav') => ({ name: 'file', filename, type, data });
  const model = { name: 'model', value: 'whisper-1' };
  const V1 = '/v1/audio/transcriptions';
  const ok = (name, parts, path = V1) => ({ name, path, body: formBody(parts), type: FORM_TYPE, expect: 'ok' });
  const bad = (name, body, status, code, param = null, type = FORM_TYPE) => ({ name, path: V1, body, type, expect: 'reject', status, code, param });
  // the valid forms carry the very audio of uploads()' valid bodies (raw PCM as the WAV file a
  // client would send), so a load test of each route transcribes the same audio
  const same = Object.fromEntries(uploads().filter((u) => u.expect === 'ok').map((u) => {
    const kind = classifyUpload(u.type);
    return [u.name, kind.kind === 'pcm' ? pcmAsWav(u.body, kind) : u.body];
  }));
  const format = (value) => ({ name: 'response_format', value });
  return [
    ok('form-json', [file(same['wav-16k-1s']), model]),
    ok('form-verbose-words', [file(same['wav-16k-2s']), model, format('verbose_json'), { name: 'timestamp_granularities[]', value: 'word' }]),
    ok('form-srt-fields-first', [model, format('srt'), { name: 'language', value: 'en' }, { name: 'temperature', value: '0' }, file(same['wav-44k-stereo'])]),
    ok('form-text-no-part-type', [{ name: 'file', filename: 'speech', data: same['wav-no-type'] }, model, format('text')]),
    ok('form-vtt-from-l16', [file(same['pcm-l16']), model, format('vtt')]),
    ok('form-inference', [file(same['pcm-f32'], 'a.wav'), format('json')], '/inference'),
    ok('form-wav-cut-in-data', [file(same['wav-cut-in-data']), model, format('verbose_json')]),
    ok('form-wav-data-size-lies', [file(same['wav-data-size-lies']), model]),
    bad('form-no-file-part', formBody([model]), 400, 'INVALID_FIELD', 'file'),
    bad('form-two-file-parts', formBody([file(), file(wav(1, { seed: 22 }), 'two.wav')]), 400, 'TOO_MANY_FILES', 'file'),
    bad('form-huge-field', formBody([file(), { name: 'prompt', value: 'x'.repeat(maxFieldBytes + 1000) }]), 413, 'FIELD_TOO_LARGE', 'prompt'),
    bad('form-file-without-filename', formBody([{ name: 'file', type: 'audio/wav', data: audio }, model]), 400, 'INVALID_FIELD', 'file'),
    bad('form-boundary-never-closed', formBody([file(), model], { closed: false }), 400, 'MULTIPART_INVALID'),
    bad('form-file-not-audio', formBody([file(noiseBytes(4096, 77), 'speech.wav'), model]), 400, 'AUDIO_INVALID'),
    bad('form-file-text', formBody([file(Buffer.from('hello, this is text\n'), 'notes.txt', 'text/plain'), model]), 400, 'AUDIO_INVALID'),
    bad('form-file-empty', formBody([file(Buffer.alloc(0)), model]), 400, 'AUDIO_INVALID', 'file'),
    bad('form-file-wrong-name', formBody([{ ...file(), name: 'audio' }, model]), 400, 'INVALID_FIELD', 'audio'),
    bad('form-unknown-field', formBody([file(), { name: 'colour', value: 'blue' }]), 400, 'INVALID_FIELD', 'colour'),
    bad('form-bad-format', formBody([file(), { name: 'response_format', value: 'xml' }]), 400, 'INVALID_FIELD', 'response_format'),
    bad('form-bad-temperature', formBody([file(), { name: 'temperature', value: 'hot' }]), 400, 'INVALID_FIELD', 'temperature'),
    bad('form-bad-language', formBody([file(), { name: 'language', value: '../../etc' }]), 400, 'INVALID_FIELD', 'language'),
    bad('form-bad-granularity', formBody([file(), { name: 'response_format', value: 'verbose_json' }, { name: 'timestamp_granularities[]', value: 'char' }]), 400, 'INVALID_FIELD', 'timestamp_granularities'),
    bad('form-too-many-fields', formBody([file(), ...Array.from({ length: 20 }, () => model)]), 413, 'TOO_MANY_FIELDS'),
    bad('form-proto-field', formBody([file(), { name: '__proto__', value: 'x' }]), 400, 'MULTIPART_INVALID'),
    bad('form-file-over-limit', formBody([file(Buffer.concat([audio, Buffer.alloc(maxBodyBytes)]))]), 413, 'PAYLOAD_TOO_LARGE', 'file'),
    bad('form-noise-body', noiseBytes(3000, 31), 400, 'MULTIPART_INVALID'),
    bad('form-no-boundary', formBody([file()]), 400, 'MULTIPART_INVALID', null, 'multipart/form-data'),
    bad('form-json-body', Buffer.from('{"file":"x","model":"whisper-1"}'), 415, 'UNSUPPORTED_MEDIA_TYPE', null, 'application/json'),
  ];
}
