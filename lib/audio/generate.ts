/** Deterministic test audio: 16 kHz mono PCM in [-1, 1]. */
export const SAMPLE_RATE = 16000;

/**
 * A speech-like test signal of `seconds`: a few harmonics with a slow pitch glide, an
 * amplitude envelope at syllable rate and a little noise from a seeded generator. It
 * exercises the mel path like real audio; it is not speech.
 */
export function testSignal(seconds: number, seed = 1): Float32Array {
  const n = Math.round(seconds * SAMPLE_RATE);
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / SAMPLE_RATE;
    const f0 = 140 + 30 * Math.sin(2 * Math.PI * 0.5 * t);
    phase += (2 * Math.PI * f0) / SAMPLE_RATE;
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t);
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const noise = ((s >>> 0) / 0xffffffff - 0.5) * 0.02;
    out[i] = 0.3 * env * (Math.sin(phase) + 0.5 * Math.sin(2 * phase) + 0.25 * Math.sin(3 * phase)) / 1.75 + noise;
  }
  return out;
}
