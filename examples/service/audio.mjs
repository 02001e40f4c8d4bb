// From an HTTP upload to 16 kHz mono PCM: the Content-Type decides how the body is read, the
// library's loadAudio does the decoding (WAV in-process, other formats through ffmpeg) and all of
// the validation.
import { loadAudio, MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE } from 'whisper-perf/audio';

/** An error the service answers with `status` and a JSON body `{ error: { message, type, param, code } }` (`param`: the form field at fault, if any). */
export class ServiceError extends Error {
  /** @param {number} status @param {string} code @param {string} message @param {Record<string, string>} [headers] */
  constructor(status, code, message, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** Media types read as files of any format loadAudio knows (sniffed from their first bytes). */
const FILE_TYPES = new Set(['application/octet-stream', 'video/webm', 'video/mp4', 'video/ogg', 'video/quicktime']);

/** Raw PCM encodings: bytes per sample and how to write them as a WAV fmt chunk. */
const PCM_ENCODINGS = {
  s16le: { bytes: 2, tag: 1, swap: false },
  s16be: { bytes: 2, tag: 1, swap: true },
  f32le: { bytes: 4, tag: 3, swap: false },
};

export const ACCEPTED_TYPES =
  'audio/* or application/octet-stream (a file: WAV, MP3, FLAC, Ogg, ...), ' +
  'audio/L16;rate=R;channels=C (raw 16-bit big-endian PCM), ' +
  'audio/pcm;encoding=s16le|s16be|f32le;rate=R;channels=C (raw PCM)';

/**
 * Parses a Content-Type header: `{ type, params }` with the type lower-cased and parameter names
 * lower-cased (values as given, quotes removed). A missing header is ''.
 * @param {string | undefined} header
 */
export function parseContentType(header) {
  const [type, ...rest] = String(header ?? '').split(';');
  /** @type {Record<string, string>} */
  const params = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return { type: type.trim().toLowerCase(), params };
}

/**
 * What an upload of this Content-Type is: a file, raw PCM with its layout, or refused (415).
 * Called before the body is read, so a wrong type costs no upload.
 * @param {string | undefined} header
 * @returns {{ kind: 'file' } | { kind: 'pcm', encoding: keyof typeof PCM_ENCODINGS, rate: number, channels: number }}
 */
export function classifyUpload(header) {
  const { type, params } = parseContentType(header);
  if (type === 'audio/l16' || type === 'audio/pcm') {
    const encoding = type === 'audio/l16' ? 's16be' : (params.encoding ?? 's16le').toLowerCase();
    if (!(encoding in PCM_ENCODINGS)) throw unsupported(`unknown PCM encoding ${JSON.stringify(params.encoding)} (s16le, s16be or f32le)`);
    const rate = intParam(params, 'rate', 16000, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE);
    const channels = intParam(params, 'channels', 1, 1, MAX_CHANNELS);
    return { kind: 'pcm', encoding: /** @type {keyof typeof PCM_ENCODINGS} */ (encoding), rate, channels };
  }
  // no Content-Type at all: the bytes say what they are
  if (type === '' || type.startsWith('audio/') || FILE_TYPES.has(type)) return { kind: 'file' };
  const hint = type === 'multipart/form-data' ? ' (send the file itself as the request body, or the form to POST /v1/audio/transcriptions)' : '';
  throw unsupported(`Content-Type ${JSON.stringify(type)} is not audio${hint}; accepted: ${ACCEPTED_TYPES}`);
}

function unsupported(message) {
  return new ServiceError(415, 'UNSUPPORTED_MEDIA_TYPE', message);
}

function intParam(params, name, dflt, min, max) {
  if (params[name] === undefined) return dflt;
  const v = Number(params[name]);
  if (!Number.isInteger(v) || v < min || v > max) throw unsupported(`invalid PCM ${name}=${JSON.stringify(params[name])} (an integer from ${min} to ${max})`);
  return v;
}

/**
 * Raw PCM → the bytes of a WAV file holding it, so that loadAudio validates, down-mixes and
 * resamples it like any other upload.
 * @param {Buffer} body @param {{ encoding: keyof typeof PCM_ENCODINGS, rate: number, channels: number }} layout
 */
export function pcmAsWav(body, { encoding, rate, channels }) {
  const { bytes, tag, swap } = PCM_ENCODINGS[encoding];
  const frame = bytes * channels;
  if (body.length % frame !== 0) {
    throw new ServiceError(400, 'AUDIO_INVALID', `raw PCM of ${body.length} bytes is not a whole number of ${frame}-byte frames (${encoding}, ${channels} channel${channels > 1 ? 's' : ''})`);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + body.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(tag, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * frame, 28);
  header.writeUInt16LE(frame, 32);
  header.writeUInt16LE(bytes * 8, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(body.length, 40);
  // WAV is little-endian: big-endian samples are swapped into a copy
  const data = swap ? Buffer.from(body).swap16() : body;
  return Buffer.concat([header, data]);
}

/**
 * Decodes an upload to 16 kHz mono PCM. Rejects with the library's AUDIO_INVALID (the message
 * names the problem) for anything that is not decodable audio, and ABORTED when `signal` fires.
 * @param {Buffer | undefined} body
 * @param {string | undefined} contentType
 * @param {{ maxSeconds: number, ffmpeg: boolean, signal: AbortSignal }} o
 */
export async function decodeUpload(body, contentType, { maxSeconds, ffmpeg, signal }) {
  if (body === undefined || body.length === 0) throw new ServiceError(400, 'AUDIO_INVALID', 'empty body: send the audio as the request body');
  const kind = classifyUpload(contentType);
  const bytes = kind.kind === 'pcm' ? pcmAsWav(body, kind) : body;
  return loadAudio(bytes, { maxSeconds, ffmpeg, signal });
}
