// Uploads for the service's tests and load test: valid audio made with the library's test signal
// and WAV encoder, and hostile uploads (malformed WAV, lying headers, non-audio, wrong types).
import { encodeWav, testSignal } from 'whisper-perf/audio';

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
