/**
 * WAV decoding and encoding, in TypeScript, with no dependency: the header here, the samples in
 * wav-codec.ts.
 *
 * Decodes RIFF/WAVE (and RF64/BW64) files holding 8-bit unsigned, 16/24/32-bit signed
 * integer, 32/64-bit IEEE float, A-law or mu-law samples, plain (WAVE_FORMAT_PCM,
 * _IEEE_FLOAT, _ALAW, _MULAW) or WAVE_FORMAT_EXTENSIBLE, with any channel count from 1 to
 * {@link MAX_CHANNELS} (down-mixed to mono by averaging) and any sample rate from
 * {@link MIN_SAMPLE_RATE} to {@link MAX_SAMPLE_RATE} Hz.
 *
 * Lenient where real files are sloppy, as ffmpeg and sox are:
 * - a data size of 0 or 0xFFFFFFFF (left by streaming writers), or one larger than the file,
 *   is clamped to the bytes present; the RIFF size is never trusted;
 * - odd-sized chunks are followed by their pad byte (a missing pad byte is detected);
 * - unknown chunks before or after `data` are skipped; `fmt ` may follow `data`;
 * - a trailing partial frame is ignored; a wrong block align or byte rate is corrected.
 * Everything else that cannot be decoded is a `WhisperPerfError` with code `AUDIO_INVALID`
 * whose message names the problem.
 */
import { WhisperPerfError } from '../errors.js';

/** Lowest sample rate accepted, in Hz. */
export const MIN_SAMPLE_RATE = 1000;
/** Highest sample rate accepted, in Hz. */
export const MAX_SAMPLE_RATE = 768_000;
/** Most channels accepted (WAVE_FORMAT_EXTENSIBLE can name up to 18 speakers; 64 leaves room for arrays). */
export const MAX_CHANNELS = 64;

/** Sample codecs the decoder reads, named as ffmpeg names them. */
export type WavCodec = 'pcm_u8' | 'pcm_s16le' | 'pcm_s24le' | 'pcm_s32le' | 'pcm_f32le' | 'pcm_f64le' | 'pcm_alaw' | 'pcm_mulaw';

/** What the header of a WAV file says, after validation and clamping. */
export interface WavInfo {
  /** RIFF, or RF64/BW64 for files over 4 GiB. */
  container: 'RIFF' | 'RF64' | 'BW64';
  codec: WavCodec;
  /** The format tag that decides the codec (the sub-format's tag for WAVE_FORMAT_EXTENSIBLE). */
  formatTag: number;
  extensible: boolean;
  channels: number;
  sampleRate: number;
  /** Bits per sample of the container (8, 16, 24, 32, 64). */
  bitsPerSample: number;
  /** Bits that carry signal (the header's `wBitsPerSample`, or `wValidBitsPerSample` when extensible). */
  validBits: number;
  /** Bytes per frame (all channels), as used for decoding. */
  blockAlign: number;
  /** Byte offset of the first sample. */
  dataOffset: number;
  /** Bytes of sample data decoded: the data chunk, clamped to the file, whole frames only. */
  dataBytes: number;
  /** Frames (samples per channel). */
  frames: number;
  /** Duration in seconds: frames / sampleRate. */
  durationS: number;
  /** What was lenient: clamped sizes, missing pad bytes, corrected block align ... */
  warnings: string[];
}

/** A decoded WAV: mono samples at the file's own rate, and its header. */
export interface DecodedWav {
  /** Mono samples (channels averaged) at `info.sampleRate`, nominally in [-1, 1]. */
  samples: Float32Array;
  info: WavInfo;
}

/** Reads up to `length` bytes at `offset` (fewer at the end of the file). */
export type ReadAt = (offset: number, length: number) => Uint8Array;

export const fail = (msg: string): WhisperPerfError => new WhisperPerfError(msg, 'AUDIO_INVALID');

const u16 = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
const u64 = (b: Uint8Array, o: number): number => u32(b, o) + u32(b, o + 4) * 0x100000000;
const ascii = (b: Uint8Array, o: number, n: number): string => String.fromCharCode(...b.subarray(o, o + n));
const printableId = (b: Uint8Array, o = 0): boolean => {
  if (b.length < o + 4) return false;
  for (let i = o; i < o + 4; i++) if (b[i] < 0x20 || b[i] > 0x7e) return false;
  return true;
};
const showId = (b: Uint8Array, o = 0): string =>
  printableId(b, o) ? JSON.stringify(ascii(b, o, 4)) : `0x${Buffer.from(b.subarray(o, o + 4)).toString('hex')}`;

/** Format tags with names, for the error on a codec this decoder does not read. */
const CODEC_NAMES: Record<number, string> = {
  0x0000: 'unknown (tag 0)',
  0x0002: 'Microsoft ADPCM',
  0x0010: 'OKI ADPCM',
  0x0011: 'IMA ADPCM',
  0x0022: 'DSP Group TrueSpeech',
  0x0031: 'GSM 6.10',
  0x0040: 'G.721 ADPCM',
  0x0050: 'MPEG-1 audio',
  0x0055: 'MPEG Layer 3 (MP3)',
  0x0064: 'G.726 ADPCM',
  0x0092: 'Dolby AC-3 over S/PDIF',
  0x00ff: 'AAC',
  0x0160: 'Windows Media Audio 1',
  0x0161: 'Windows Media Audio 2',
  0x1610: 'MPEG-4 AAC (HE-AAC)',
  0x2000: 'Dolby AC-3',
  0x2001: 'DTS',
  0xf1ac: 'FLAC',
};

/** The GUID tail shared by every KSDATAFORMAT_SUBTYPE_* (after the 4-byte format tag). */
export const KSDATAFORMAT_TAIL = [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

const SUPPORTED = 'PCM 8/16/24/32-bit, IEEE float 32/64-bit, A-law, mu-law';

interface Fmt {
  tag: number;
  extensible: boolean;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bits: number;
  validBits: number;
}

function parseFmt(b: Uint8Array, size: number): Fmt {
  let tag = u16(b, 0);
  const channels = u16(b, 2);
  const sampleRate = u32(b, 4);
  const blockAlign = u16(b, 12);
  const bits = u16(b, 14);
  let validBits = bits;
  let extensible = false;
  if (tag === 0xfffe) {
    extensible = true;
    if (size < 40 || b.length < 40) throw fail(`WAVE_FORMAT_EXTENSIBLE fmt chunk too short: ${size} bytes, needs 40`);
    const cb = u16(b, 16);
    if (cb < 22) throw fail(`WAVE_FORMAT_EXTENSIBLE fmt chunk has cbSize ${cb}, needs 22`);
    validBits = u16(b, 18) || bits;
    tag = u32(b, 24);
    for (let i = 0; i < 12; i++) {
      if (b[28 + i] !== KSDATAFORMAT_TAIL[i]) {
        throw fail(`unsupported codec: WAVE_FORMAT_EXTENSIBLE sub-format GUID ${guid(b.subarray(24, 40))} is not a KSDATAFORMAT_SUBTYPE (supported: ${SUPPORTED})`);
      }
    }
    if (tag > 0xffff) throw fail(`unsupported codec: WAVE_FORMAT_EXTENSIBLE sub-format ${guid(b.subarray(24, 40))} (supported: ${SUPPORTED})`);
  }
  return { tag, extensible, channels, sampleRate, blockAlign, bits, validBits };
}

function guid(b: Uint8Array): string {
  const h = (o: number, n: number, rev: boolean) => {
    const s = Array.from(b.subarray(o, o + n), (x) => x.toString(16).padStart(2, '0'));
    return (rev ? s.reverse() : s).join('');
  };
  return `${h(0, 4, true)}-${h(4, 2, true)}-${h(6, 2, true)}-${h(8, 2, false)}-${h(10, 6, false)}`;
}

/** Decides the codec and the bytes per sample, or says why not. */
function resolveCodec(f: Fmt, warnings: string[]): { codec: WavCodec; bytes: number } {
  const { tag, bits } = f;
  if (tag === 1 || tag === 3 || tag === 6 || tag === 7) {
    if (bits === 0) throw fail('invalid fmt chunk: 0 bits per sample');
    if (f.validBits > bits) throw fail(`invalid fmt chunk: ${f.validBits} valid bits in a ${bits}-bit container`);
  }
  switch (tag) {
    case 0x0001: {
      if (bits > 32) throw fail(`unsupported PCM sample size: ${bits} bits (supported: 8, 16, 24, 32)`);
      // A container is whole bytes; left-justified samples of 12 or 20 bits decode as their container.
      let bytes = Math.ceil(bits / 8);
      const perChannel = f.channels > 0 && f.blockAlign % f.channels === 0 ? f.blockAlign / f.channels : 0;
      if (!f.extensible && perChannel > bytes && perChannel <= 4) {
        warnings.push(`${bits}-bit samples in ${perChannel * 8}-bit containers (from block align ${f.blockAlign})`);
        bytes = perChannel;
      }
      if (!f.extensible && bits % 8 !== 0) warnings.push(`${bits}-bit PCM read as ${bytes * 8}-bit`);
      const codec: WavCodec = bytes === 1 ? 'pcm_u8' : bytes === 2 ? 'pcm_s16le' : bytes === 3 ? 'pcm_s24le' : 'pcm_s32le';
      return { codec, bytes };
    }
    case 0x0003:
      if (bits === 32) return { codec: 'pcm_f32le', bytes: 4 };
      if (bits === 64) return { codec: 'pcm_f64le', bytes: 8 };
      throw fail(`unsupported IEEE float sample size: ${bits} bits (supported: 32, 64)`);
    case 0x0006:
    case 0x0007:
      if (bits !== 8) throw fail(`unsupported ${tag === 6 ? 'A-law' : 'mu-law'} sample size: ${bits} bits (supported: 8)`);
      return { codec: tag === 6 ? 'pcm_alaw' : 'pcm_mulaw', bytes: 1 };
    default: {
      const name = CODEC_NAMES[tag] ?? 'unknown codec';
      throw fail(`unsupported codec: ${name} (format tag 0x${tag.toString(16).padStart(4, '0')}); supported: ${SUPPORTED}`);
    }
  }
}

/**
 * Reads and validates a WAV header through `read` (a file of `size` bytes): finds `fmt ` and
 * `data`, checks the format and clamps the data to what is present. Throws AUDIO_INVALID.
 */
export function parseWavHeader(read: ReadAt, size: number): WavInfo {
  const warnings: string[] = [];
  const head = read(0, 12);
  if (head.length >= 4) {
    const id = ascii(head, 0, 4);
    if (id === 'RIFX' || id === 'FFIR') throw fail('unsupported WAV: big-endian RIFX files are not supported');
    if (id !== 'RIFF' && id !== 'RF64' && id !== 'BW64') throw fail(`not a RIFF/WAVE file: it starts with ${showId(head)}`);
  }
  if (head.length < 12) throw fail(`truncated header: the file has ${size} bytes, a WAV header needs at least 44`);
  const container = ascii(head, 0, 4) as WavInfo['container'];
  if (ascii(head, 8, 4) !== 'WAVE') throw fail(`not a RIFF/WAVE file: the RIFF form type is ${showId(head, 8)}, not "WAVE"`);

  let fmt: Fmt | undefined;
  let ds64Data: number | undefined;
  let dataOffset = -1;
  let dataBytes = 0;
  let pos = 12;
  let chunks = 0;
  let lastId = '';
  for (;;) {
    if (++chunks > 100_000) throw fail('invalid WAV: more than 100000 chunks before the data');
    const h = read(pos, 8);
    if (h.length < 8) {
      if (h.length > 0 && dataOffset < 0) warnings.push(`${h.length} stray bytes at the end of the file`);
      break;
    }
    if (!printableId(h)) {
      if (dataOffset >= 0 && fmt) break; // junk after the data: ignore
      throw fail(`corrupt chunk header at byte ${pos}: id ${showId(h)}${lastId ? ` after chunk "${lastId}"` : ''}`);
    }
    const id = ascii(h, 0, 4);
    lastId = id;
    const csize = u32(h, 4);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (csize < 16) throw fail(`invalid fmt chunk: ${csize} bytes, needs at least 16`);
      const b = read(body, Math.min(csize, 40));
      if (b.length < 16) throw fail(`truncated header: the fmt chunk at byte ${pos} is cut off at the end of the file`);
      if (fmt) warnings.push('a second fmt chunk was ignored');
      else fmt = parseFmt(b, csize);
    } else if (id === 'ds64' && container !== 'RIFF') {
      const b = read(body, 28);
      if (b.length < 28) throw fail('truncated header: the RF64 ds64 chunk is cut off');
      ds64Data = u64(b, 8);
    } else if (id === 'data') {
      if (dataOffset >= 0) {
        warnings.push('a second data chunk was ignored');
      } else {
        dataOffset = body;
        const present = Math.max(0, size - body);
        let declared = csize;
        if (container !== 'RIFF' && csize === 0xffffffff && ds64Data !== undefined) declared = ds64Data;
        if (declared === 0 || declared === 0xffffffff || declared > present) {
          if (declared !== present) {
            const what = declared === 0 ? '0' : declared === 0xffffffff ? '0xFFFFFFFF' : String(declared);
            warnings.push(`data size ${what} clamped to the ${present} bytes present`);
          }
          dataBytes = present;
          if (fmt) break;
          // fmt after an open-ended data chunk cannot be found
          throw fail('invalid WAV: no fmt chunk before the data (and the data size runs to the end of the file)');
        }
        dataBytes = declared;
        if (fmt) break;
      }
    }
    // next chunk, after the pad byte of an odd-sized one (some writers leave it out)
    let next = body + csize + (csize & 1);
    if (csize & 1) {
      const probe = read(next - 1, 5);
      if (probe.length === 5 && !printableId(probe, 1) && printableId(probe, 0)) {
        warnings.push(`chunk "${id}" has an odd size and no pad byte`);
        next -= 1;
      }
    }
    if (next > size) {
      if (dataOffset < 0) {
        if (id === 'fmt ' || id === 'ds64') throw fail(`truncated header: the ${id.trim()} chunk runs past the end of the file`);
        throw fail(`invalid WAV: no data chunk (chunk ${JSON.stringify(id)} at byte ${pos} claims ${csize} bytes, past the end of the file)`);
      }
      break;
    }
    pos = next;
  }
  if (!fmt) throw fail(dataOffset >= 0 ? 'invalid WAV: no fmt chunk' : `truncated header: no fmt chunk in ${size} bytes`);
  if (dataOffset < 0) throw fail('invalid WAV: no data chunk');

  const { channels, sampleRate } = fmt;
  if (channels === 0) throw fail('invalid fmt chunk: 0 channels');
  if (channels > MAX_CHANNELS) throw fail(`unsupported channel count: ${channels} (at most ${MAX_CHANNELS})`);
  if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    throw fail(`unsupported sample rate: ${sampleRate} Hz (accepted: ${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE} Hz)`);
  }
  const { codec, bytes } = resolveCodec(fmt, warnings);
  const blockAlign = channels * bytes;
  if (fmt.blockAlign !== blockAlign) warnings.push(`block align ${fmt.blockAlign} corrected to ${blockAlign}`);
  const frames = Math.floor(dataBytes / blockAlign);
  if (frames === 0) {
    throw fail(dataBytes === 0 ? 'no samples: the data chunk is empty' : `no samples: the data chunk holds ${dataBytes} bytes, less than one frame (${blockAlign} bytes)`);
  }
  if (dataBytes % blockAlign !== 0) warnings.push(`${dataBytes % blockAlign} bytes of a partial frame at the end ignored`);
  return {
    container,
    codec,
    formatTag: fmt.tag,
    extensible: fmt.extensible,
    channels,
    sampleRate,
    bitsPerSample: bytes * 8,
    validBits: fmt.extensible ? fmt.validBits : fmt.bits,
    blockAlign,
    dataOffset,
    dataBytes: frames * blockAlign,
    frames,
    durationS: frames / sampleRate,
    warnings,
  };
}

