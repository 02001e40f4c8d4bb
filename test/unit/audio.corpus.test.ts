// The bad-input corpus: malformed and odd-but-valid WAV files, made here, each decoded three
// ways (decodeWav on the bytes, loadAudio on the bytes, loadAudio on a file). Every case has
// one right outcome: accepted with a known frame count (and first samples), or rejected with
// AUDIO_INVALID and a message naming the problem. Anything else counts as a crash.
// Then every truncation of a valid file and seeded random corruptions of its header.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { WhisperPerfError } from '../../lib/errors.js';
import { loadAudio } from '../../lib/audio/load.js';
import { decodeWav } from '../../lib/audio/wav-codec.js';
import { chunk, f32, f64, fmtBody, fmtExtensible, le16, le32, riff, s16 } from '../fixtures/wav.js';

const tmp = mkdtempSync(join(tmpdir(), 'wp-corpus-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Expect = { ok: true; frames: number; first?: number[]; warn?: RegExp } | { ok: false; error: RegExp };
interface Case {
  name: string;
  bytes: Uint8Array;
  expect: Expect;
}

const fmt16 = (o: Parameters<typeof fmtBody>[0] = {}) => chunk('fmt ', fmtBody(o));
const SAMPLES = [1000, -1000, 2000, -2000, 3000, -3000, 4000, -4000];
const data16 = (vals = SAMPLES, size?: number) => chunk('data', s16(vals), { size });
const first = [1000 / 32768, -1000 / 32768];
const ok = (frames: number, extra: { first?: number[]; warn?: RegExp } = {}): Expect => ({ ok: true, frames, ...extra });
const bad = (error: RegExp): Expect => ({ ok: false, error });
const bytes = (...parts: number[][]) => Uint8Array.from(parts.flat());
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

const valid = riff([fmt16(), data16()]);

const cases: Case[] = [
  // ---- malformed: must be rejected with AUDIO_INVALID naming the problem
  { name: 'empty file', bytes: new Uint8Array(0), expect: bad(/truncated header|empty/) },
  { name: '"RIFF" and nothing else', bytes: bytes(ascii('RIFF')), expect: bad(/truncated header/) },
  { name: '11-byte header', bytes: bytes(ascii('RIFF'), le32(100), ascii('WAV')), expect: bad(/truncated header/) },
  { name: 'RIFF/WAVE without chunks', bytes: bytes(ascii('RIFF'), le32(4), ascii('WAVE')), expect: bad(/no fmt chunk/) },
  { name: 'header cut inside fmt', bytes: valid.subarray(0, 30), expect: bad(/truncated header/) },
  { name: 'not RIFF (JUNK bytes)', bytes: bytes(ascii('JUNKJUNKJUNKJUNK'), new Array(40).fill(7)), expect: bad(/not a RIFF\/WAVE|unrecognized audio format/) },
  { name: 'text file', bytes: bytes(ascii('hello, this is not audio at all\n')), expect: bad(/not a RIFF\/WAVE|unrecognized audio format/) },
  { name: 'RIFF of form AVI', bytes: riff([fmt16(), data16()], { form: 'AVI ' }), expect: bad(/form type is "AVI ", not "WAVE"/) },
  { name: 'big-endian RIFX', bytes: riff([fmt16(), data16()], { id: 'RIFX' }), expect: bad(/big-endian RIFX|ffmpeg is disabled/) },
  { name: 'fmt chunk of 14 bytes', bytes: riff([chunk('fmt ', fmtBody().slice(0, 14)), data16()]), expect: bad(/fmt chunk: 14 bytes/) },
  { name: 'no fmt chunk', bytes: riff([chunk('LIST', ascii('INFOabcd')), data16()]), expect: bad(/no fmt chunk/) },
  { name: 'no data chunk', bytes: riff([fmt16(), chunk('LIST', ascii('INFOabcd'))]), expect: bad(/no data chunk/) },
  { name: 'open-ended data before fmt', bytes: riff([data16(SAMPLES, 0xffffffff), fmt16()]), expect: bad(/no fmt chunk before the data/) },
  { name: 'chunk before data claims more than the file', bytes: riff([fmt16(), chunk('LIST', ascii('INFO'), { size: 1_000_000 }), data16()]), expect: bad(/no data chunk \(chunk "LIST" .* past the end/) },
  { name: 'binary garbage where a chunk id should be', bytes: riff([fmt16(), [0x00, 0x01, 0x02, 0x03, ...le32(4), 1, 2, 3, 4], data16()]), expect: bad(/corrupt chunk header at byte 36/) },
  { name: 'empty data chunk', bytes: riff([fmt16(), data16([])]), expect: bad(/no samples: the data chunk is empty/) },
  { name: 'data smaller than one frame', bytes: riff([fmt16({ channels: 2 }), chunk('data', [1, 2, 3])]), expect: bad(/less than one frame \(4 bytes\)/) },
  { name: 'Microsoft ADPCM', bytes: riff([fmt16({ tag: 2, bits: 4, blockAlign: 256 }), data16()]), expect: bad(/unsupported codec: Microsoft ADPCM \(format tag 0x0002\)|ffmpeg is disabled/) },
  { name: 'IMA ADPCM', bytes: riff([fmt16({ tag: 0x11, bits: 4, blockAlign: 256 }), data16()]), expect: bad(/IMA ADPCM/) },
  { name: 'MP3 in WAV', bytes: riff([fmt16({ tag: 0x55, bits: 0, blockAlign: 1 }), data16()]), expect: bad(/MPEG Layer 3/) },
  { name: 'unknown format tag 0x1234', bytes: riff([fmt16({ tag: 0x1234 }), data16()]), expect: bad(/unknown codec \(format tag 0x1234\)/) },
  { name: 'extensible with an unknown GUID', bytes: riff([chunk('fmt ', fmtExtensible({ guidTail: new Array(12).fill(0x42) })), data16()]), expect: bad(/sub-format GUID .* is not a KSDATAFORMAT_SUBTYPE/) },
  { name: 'extensible fmt of 18 bytes', bytes: riff([chunk('fmt ', fmtBody({ tag: 0xfffe, extra: le16(0) })), data16()]), expect: bad(/EXTENSIBLE fmt chunk too short/) },
  { name: 'extensible with cbSize 0', bytes: riff([chunk('fmt ', fmtExtensible({ cbSize: 0 })), data16()]), expect: bad(/cbSize 0/) },
  { name: 'extensible with 32 valid bits in 16', bytes: riff([chunk('fmt ', fmtExtensible({ validBits: 32 })), data16()]), expect: bad(/32 valid bits in a 16-bit container/) },
  { name: 'float of 16 bits', bytes: riff([fmt16({ tag: 3, bits: 16 }), data16()]), expect: bad(/IEEE float sample size: 16 bits/) },
  { name: 'PCM of 40 bits', bytes: riff([fmt16({ bits: 40 }), data16()]), expect: bad(/PCM sample size: 40 bits/) },
  { name: '0 bits per sample', bytes: riff([fmt16({ bits: 0, blockAlign: 2 }), data16()]), expect: bad(/0 bits per sample/) },
  { name: 'mu-law of 16 bits', bytes: riff([fmt16({ tag: 7, bits: 16 }), data16()]), expect: bad(/mu-law sample size: 16 bits/) },
  { name: '0 channels', bytes: riff([fmt16({ channels: 0, blockAlign: 2 }), data16()]), expect: bad(/0 channels/) },
  { name: '65 channels', bytes: riff([fmt16({ channels: 65 }), data16()]), expect: bad(/channel count: 65 \(at most 64\)/) },
  { name: '65535 channels', bytes: riff([fmt16({ channels: 65535 }), data16()]), expect: bad(/channel count: 65535/) },
  { name: '0 Hz', bytes: riff([fmt16({ rate: 0 }), data16()]), expect: bad(/sample rate: 0 Hz \(accepted: 1000..768000 Hz\)/) },
  { name: '999 Hz', bytes: riff([fmt16({ rate: 999 }), data16()]), expect: bad(/sample rate: 999 Hz/) },
  { name: '768001 Hz', bytes: riff([fmt16({ rate: 768_001 }), data16()]), expect: bad(/sample rate: 768001 Hz/) },
  { name: '4294967295 Hz', bytes: riff([fmt16({ rate: 0xffffffff }), data16()]), expect: bad(/sample rate: 4294967295 Hz/) },
  { name: 'NaN float sample', bytes: riff([fmt16({ tag: 3, bits: 32 }), chunk('data', f32([0.1, 0.2, NaN, 0.3]))]), expect: bad(/frame 2 \(channel 0, at 0\.000 s\) is NaN/) },
  { name: '+Infinity float sample', bytes: riff([fmt16({ tag: 3, bits: 32, channels: 2 }), chunk('data', f32([0.1, 0.2, 0.3, Infinity]))]), expect: bad(/frame 1 \(channel 1.*\) is Infinity/) },
  { name: '-Infinity double sample', bytes: riff([fmt16({ tag: 3, bits: 64 }), chunk('data', f64([-Infinity]))]), expect: bad(/is -Infinity/) },
  { name: 'NaN in an extensible float file', bytes: riff([chunk('fmt ', fmtExtensible({ subTag: 3, bits: 32, channels: 1 })), chunk('data', f32([0, NaN]))]), expect: bad(/is NaN/) },

  // ---- odd but valid: must decode to the samples present
  { name: 'plain 16-bit mono', bytes: valid, expect: ok(8, { first }) },
  { name: 'data size 0 (streaming writer)', bytes: riff([fmt16(), data16(SAMPLES, 0)]), expect: ok(8, { first, warn: /data size 0 clamped/ }) },
  { name: 'data size 0xFFFFFFFF (streaming writer)', bytes: riff([fmt16(), data16(SAMPLES, 0xffffffff)]), expect: ok(8, { first, warn: /0xFFFFFFFF clamped/ }) },
  { name: 'data size larger than the file', bytes: riff([fmt16(), data16(SAMPLES, 1_000_000)]), expect: ok(8, { first, warn: /1000000 clamped/ }) },
  { name: 'data size 0x7ffff000 as espeak-ng writes it', bytes: riff([fmt16(), data16(SAMPLES, 0x7ffff000)], { size: 0x7ffff024 }), expect: ok(8, { first }) },
  { name: 'RIFF size 0', bytes: riff([fmt16(), data16()], { size: 0 }), expect: ok(8, { first }) },
  { name: 'RIFF size 0xFFFFFFFF', bytes: riff([fmt16(), data16()], { size: 0xffffffff }), expect: ok(8, { first }) },
  { name: 'RIFF size too small', bytes: riff([fmt16(), data16()], { size: 4 }), expect: ok(8, { first }) },
  { name: 'odd-sized chunk with its pad byte before fmt', bytes: riff([chunk('JUNK', [1, 2, 3]), fmt16(), data16()]), expect: ok(8, { first }) },
  { name: 'odd-sized chunk without its pad byte', bytes: riff([chunk('JUNK', [1, 2, 3], { pad: false }), fmt16(), data16()]), expect: ok(8, { first, warn: /odd size and no pad byte/ }) },
  { name: 'unknown chunks before data (LIST, fact, bext, id3)', bytes: riff([fmt16(), chunk('LIST', ascii('INFOISFT\x05\x00\x00\x00Lavf\x00')), chunk('fact', le32(8)), chunk('bext', new Array(602).fill(0)), chunk('id3 ', ascii('ID3')), data16()]), expect: ok(8, { first }) },
  { name: 'chunks before fmt', bytes: riff([chunk('JUNK', new Array(28).fill(0)), chunk('PEAK', new Array(24).fill(1)), fmt16(), data16()]), expect: ok(8, { first }) },
  { name: 'chunk after data', bytes: riff([fmt16(), data16(), chunk('LIST', ascii('INFOICMT\x03\x00\x00\x00hi\x00'))]), expect: ok(8, { first }) },
  { name: 'fmt after data', bytes: riff([data16(), fmt16()]), expect: ok(8, { first }) },
  { name: 'odd-sized 8-bit data with pad byte, then a chunk', bytes: riff([fmt16({ bits: 8 }), chunk('data', [128 + 64, 128 - 64, 128]), chunk('LIST', ascii('INFO'))]), expect: ok(3, { first: [0.5, -0.5, 0] }) },
  { name: 'partial frame at the end', bytes: riff([fmt16({ channels: 2 }), chunk('data', [...s16([1000, 1000, -1000, -1000]), 7, 7, 7])]), expect: ok(2, { first, warn: /3 bytes of a partial frame/ }) },
  { name: 'second data chunk ignored', bytes: riff([fmt16(), data16(), data16([5, 5])]), expect: ok(8, { first }) },
  { name: 'trailing junk after the data', bytes: bytes(Array.from(riff([fmt16(), data16()])), [0xde, 0xad, 0xbe]), expect: ok(8, { first }) },
  { name: 'fmt of 18 bytes (cbSize 0)', bytes: riff([chunk('fmt ', fmtBody({ extra: le16(0) })), data16()]), expect: ok(8, { first }) },
  { name: 'fmt of 19 bytes with pad byte', bytes: riff([chunk('fmt ', fmtBody({ extra: [1, 0, 9] })), data16()]), expect: ok(8, { first }) },
  { name: 'block align 0', bytes: riff([fmt16({ blockAlign: 0 }), data16()]), expect: ok(8, { first, warn: /block align 0 corrected to 2/ }) },
  { name: 'wrong byte rate', bytes: riff([fmt16({ byteRate: 7 }), data16()]), expect: ok(8, { first }) },
  { name: '12-bit PCM in 16-bit containers', bytes: riff([fmt16({ bits: 12, blockAlign: 2 }), data16()]), expect: ok(8, { first }) },
  { name: '20 valid bits in 24 (extensible)', bytes: riff([chunk('fmt ', fmtExtensible({ channels: 1, bits: 24, validBits: 20 })), chunk('data', [0, 0, 0x40, 0, 0, 0xc0])]), expect: ok(2, { first: [0.5, -0.5] }) },
  { name: 'extensible float', bytes: riff([chunk('fmt ', fmtExtensible({ subTag: 3, bits: 32, channels: 2 })), chunk('data', f32([0.25, 0.75, -1, 0]))]), expect: ok(2, { first: [0.5, -0.5] }) },
  { name: '64 channels', bytes: riff([fmt16({ channels: 64 }), chunk('data', s16(new Array(128).fill(640)))]), expect: ok(2, { first: [640 / 32768, 640 / 32768] }) },
  { name: '1000 Hz', bytes: riff([fmt16({ rate: 1000 }), data16()]), expect: ok(8, { first }) },
  { name: '768000 Hz', bytes: riff([fmt16({ rate: 768_000 }), data16()]), expect: ok(8, { first }) },
  { name: 'one sample', bytes: riff([fmt16(), data16([1000])]), expect: ok(1, { first: [first[0]] }) },
  { name: 'RF64 with ds64 and data size 0xFFFFFFFF', bytes: riff([chunk('ds64', [...le32(0), ...le32(0), ...le32(16), ...le32(0), ...le32(8), ...le32(0), ...le32(0)]), fmt16(), data16(SAMPLES, 0xffffffff)], { id: 'RF64', size: 0xffffffff }), expect: ok(8, { first }) },
  { name: 'mu-law', bytes: riff([fmt16({ tag: 7, bits: 8 }), chunk('data', [0xff, 0x80])]), expect: ok(2, { first: [0, 32124 / 32768] }) },
  { name: 'A-law', bytes: riff([fmt16({ tag: 6, bits: 8 }), chunk('data', [0xd5, 0x2a])]), expect: ok(2, { first: [8 / 32768, -32256 / 32768] }) },
];

type Outcome = 'right' | 'wrong' | 'crash';

function judge(c: Case, run: () => { frames: number; first: Float32Array; warnings: string[] }): { outcome: Outcome; detail: string } {
  try {
    const r = run();
    if (!c.expect.ok) return { outcome: 'wrong', detail: `accepted (${r.frames} frames), expected ${c.expect.error}` };
    if (r.frames !== c.expect.frames) return { outcome: 'wrong', detail: `${r.frames} frames, expected ${c.expect.frames}` };
    for (let i = 0; i < (c.expect.first?.length ?? 0); i++) {
      if (Math.abs(r.first[i] - c.expect.first![i]) > 1e-6) return { outcome: 'wrong', detail: `sample ${i} is ${r.first[i]}, expected ${c.expect.first![i]}` };
    }
    if (c.expect.warn && !r.warnings.some((w) => c.expect.ok && c.expect.warn!.test(w))) return { outcome: 'wrong', detail: `no warning like ${c.expect.warn} in ${JSON.stringify(r.warnings)}` };
    return { outcome: 'right', detail: '' };
  } catch (e) {
    if (!(e instanceof WhisperPerfError)) return { outcome: 'crash', detail: `${(e as Error)?.stack ?? String(e)}` };
    if (e.code !== 'AUDIO_INVALID') return { outcome: 'wrong', detail: `code ${e.code}: ${e.message}` };
    if (c.expect.ok) return { outcome: 'wrong', detail: `rejected: ${e.message}` };
    if (!c.expect.error.test(e.message)) return { outcome: 'wrong', detail: `message ${JSON.stringify(e.message)} does not match ${c.expect.error}` };
    return { outcome: 'right', detail: '' };
  }
}

async function judgeAsync(c: Case, run: () => Promise<{ frames: number; first: Float32Array; warnings: string[] }>): Promise<{ outcome: Outcome; detail: string }> {
  let r: { frames: number; first: Float32Array; warnings: string[] };
  try {
    r = await run();
  } catch (e) {
    return judge(c, () => {
      throw e;
    });
  }
  return judge(c, () => r);
}

describe('bad-input WAV corpus', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(cases.filter((c) => !c.expect.ok).length).toBeGreaterThanOrEqual(30);
  });

  it('decodes or rejects every case correctly, three ways, with zero crashes', async () => {
    const tally = { tried: 0, rejected: 0, accepted: 0, wrong: 0, crashed: 0 };
    const failures: string[] = [];
    for (const [i, c] of cases.entries()) {
      const file = join(tmp, `case${i}.wav`);
      writeFileSync(file, c.bytes);
      const ways: [string, Promise<{ outcome: Outcome; detail: string }>][] = [
        ['decodeWav', Promise.resolve(judge(c, () => {
          const d = decodeWav(c.bytes);
          return { frames: d.info.frames, first: d.samples, warnings: d.info.warnings };
        }))],
        ['loadAudio(bytes)', judgeAsync(c, async () => {
          const a = await loadAudio(c.bytes, { ffmpeg: false });
          return { frames: a.source.frames ?? -1, first: a.source.sampleRate === 16000 ? a.pcm : new Float32Array(0), warnings: a.warnings };
        })],
        ['loadAudio(file)', judgeAsync(c, async () => {
          const a = await loadAudio(file, { ffmpeg: false });
          return { frames: a.source.frames ?? -1, first: a.source.sampleRate === 16000 ? a.pcm : new Float32Array(0), warnings: a.warnings };
        })],
      ];
      for (const [how, p] of ways) {
        const { outcome, detail } = await p;
        tally.tried++;
        if (outcome === 'right') c.expect.ok ? tally.accepted++ : tally.rejected++;
        else {
          if (outcome === 'crash') tally.crashed++;
          else tally.wrong++;
          failures.push(`${c.name} [${how}]: ${outcome}: ${detail}`);
        }
      }
    }
    console.log(
      `audio corpus: ${cases.length} files × 3 ways = ${tally.tried} cases tried, ${tally.rejected} rejected with AUDIO_INVALID as expected, ` +
        `${tally.accepted} accepted as expected, ${tally.wrong} wrong outcome, ${tally.crashed} crashed`,
    );
    expect(failures).toEqual([]);
    expect(tally.crashed).toBe(0);
  });

  it('every truncation of a valid file: rejected until one whole frame is present, then the frames present', () => {
    const file = riff([chunk('LIST', ascii('INFOabc')), fmt16({ channels: 2 }), data16()]);
    const dataStart = file.length - SAMPLES.length * 2;
    let crashed = 0;
    for (let n = 0; n <= file.length; n++) {
      const cut = file.subarray(0, n);
      try {
        const d = decodeWav(cut);
        expect(n, `accepted at ${n} bytes`).toBeGreaterThanOrEqual(dataStart + 4);
        expect(d.info.frames).toBe(Math.floor((n - dataStart) / 4));
      } catch (e) {
        if (!(e instanceof WhisperPerfError)) crashed++;
        else {
          expect(e.code).toBe('AUDIO_INVALID');
          expect(n, `rejected at ${n} bytes: ${e.message}`).toBeLessThan(dataStart + 4);
        }
      }
    }
    expect(crashed).toBe(0);
  });

  it('seeded random corruption of header bytes never crashes', () => {
    let s = 12345;
    const rnd = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 0x100000000;
    };
    const base = riff([chunk('JUNK', [1, 2, 3]), chunk('fmt ', fmtExtensible({ subTag: 3, bits: 32, channels: 2 })), chunk('data', f32([0.1, -0.1, 0.2, -0.2]))]);
    const tally = { tried: 0, rejected: 0, accepted: 0, crashed: 0 };
    for (let i = 0; i < 2000; i++) {
      const b = base.slice();
      const flips = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < flips; k++) b[Math.floor(rnd() * (base.length - 16))] = Math.floor(rnd() * 256);
      tally.tried++;
      try {
        const d = decodeWav(b);
        tally.accepted++;
        for (const v of d.samples) expect(Number.isFinite(v)).toBe(true);
      } catch (e) {
        if (e instanceof WhisperPerfError && e.code === 'AUDIO_INVALID') tally.rejected++;
        else tally.crashed++;
      }
    }
    console.log(`audio header fuzz: ${tally.tried} corrupted files tried, ${tally.rejected} rejected with AUDIO_INVALID, ${tally.accepted} still decodable, ${tally.crashed} crashed`);
    expect(tally.crashed).toBe(0);
    expect(tally.rejected).toBeGreaterThan(100);
  });
});
