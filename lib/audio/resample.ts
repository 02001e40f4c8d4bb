/**
 * Band-limited resampling: a Kaiser-windowed sinc, applied as a polyphase filter.
 *
 * The rate ratio is reduced to L/M; output sample n sits at input time n·M/L and is the
 * dot product of the input around it with one of L precomputed phases of the filter
 * (exact for every rate pair whose reduced L is at most {@link MAX_PHASES}, e.g. 44.1, 48,
 * 22.05, 8, 96 kHz → 16 kHz; rarer ratios interpolate between the two nearest of 4096
 * phases). The filter is zero-phase (no delay) and normalized to unit gain at DC.
 *
 * Design (defaults): pass band to 90% of the lower Nyquist frequency, stop band from the
 * lower Nyquist frequency itself, 100 dB stop-band attenuation. Downsampling 44.1 kHz to
 * 16 kHz: flat to 7.2 kHz, −100 dB from 8 kHz, so nothing above 8 kHz aliases into the
 * output; 356 taps per output sample. No sample dropping, no linear interpolation of samples.
 * There was no maintained pure-JavaScript library to take (libsamplerate-js is WebAssembly
 * with asynchronous initialisation; wave-resampler is a single unmaintained release).
 */
import { types } from 'node:util';

import { invalidArgument } from '../errors.js';
import { MAX_SAMPLE_RATE, MIN_SAMPLE_RATE } from './wav.js';

/** Most exact polyphase phases; larger reduced ratios interpolate between phases. */
export const MAX_PHASES = 4096;

/** Options of {@link resample}. */
export interface ResampleOptions {
  /** Stop-band attenuation in dB (default 100, range 40..180). */
  attenuationDb?: number;
  /** Pass-band edge as a fraction of the lower Nyquist frequency (default 0.9, range 0.5..0.99). */
  passband?: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

interface Filter {
  L: number;
  M: number;
  /** half-width in input samples: taps run from i-(W-1) to i+W */
  W: number;
  phases: number;
  /** (phases + 1) rows of 2W coefficients */
  table: Float64Array;
}

const cache = new Map<string, Filter>();

function design(from: number, to: number, attenuationDb: number, passband: number): Filter {
  const key = `${from}/${to}/${attenuationDb}/${passband}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const g = gcd(from, to);
  const L = to / g;
  const M = from / g;
  const nyq = Math.min(from, to) / 2;
  const pass = passband * nyq;
  const stop = nyq;
  const fc = (pass + stop) / 2 / from; // cut-off in cycles per input sample
  const df = (stop - pass) / from; // transition width, same unit
  const A = attenuationDb;
  const beta = A > 50 ? 0.1102 * (A - 8.7) : A >= 21 ? 0.5842 * (A - 21) ** 0.4 + 0.07886 * (A - 21) : 0;
  const length = (A - 7.95) / (2.285 * 2 * Math.PI * df); // Kaiser's estimate of the filter length
  const W = 2 * Math.max(1, Math.ceil(length / 4)); // even, so that 2W taps split into fours
  const taps = 2 * W;
  const phases = Math.min(L, MAX_PHASES);
  const table = new Float64Array((phases + 1) * taps);
  const i0b = besselI0(beta);
  for (let p = 0; p <= phases; p++) {
    const frac = p / phases;
    let sum = 0;
    for (let m = 0; m < taps; m++) {
      const tau = frac - (m - (W - 1)); // distance from the output time to input sample i+m-(W-1)
      const r = tau / W;
      let h = 0;
      if (r > -1 && r < 1) {
        const x = 2 * fc * tau;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        h = 2 * fc * sinc * (besselI0(beta * Math.sqrt(1 - r * r)) / i0b);
      }
      table[p * taps + m] = h;
      sum += h;
    }
    for (let m = 0; m < taps; m++) table[p * taps + m] /= sum;
  }
  const f: Filter = { L, M, W, phases, table };
  if (cache.size > 16) cache.clear();
  cache.set(key, f);
  return f;
}

function dot(x: Float32Array, n: number, j0: number, table: Float64Array, row: number, taps: number): number {
  let acc = 0;
  if (j0 >= 0 && j0 + taps <= n) {
    // taps is a multiple of 4: four independent sums run faster
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let m = 0; m < taps; m += 4) {
      acc += x[j0 + m] * table[row + m];
      a1 += x[j0 + m + 1] * table[row + m + 1];
      a2 += x[j0 + m + 2] * table[row + m + 2];
      a3 += x[j0 + m + 3] * table[row + m + 3];
    }
    acc += a1 + a2 + a3;
  } else {
    const a = Math.max(0, -j0);
    const b = Math.min(taps, n - j0);
    for (let m = a; m < b; m++) acc += x[j0 + m] * table[row + m];
  }
  return acc;
}

/** Length of the output of {@link resample} for `frames` input samples. */
export function resampledLength(frames: number, fromRate: number, toRate: number): number {
  if (frames <= 0) return 0;
  const g = gcd(fromRate, toRate);
  return Math.ceil((frames * (toRate / g)) / (fromRate / g));
}

/**
 * Resamples mono `input` from `fromRate` to `toRate` (integers, Hz; default 16 kHz) with a
 * band-limited Kaiser-windowed sinc filter. Returns a new array of
 * ceil(input.length · toRate / fromRate) samples; the same rate returns a copy.
 */
export function resample(input: Float32Array, fromRate: number, toRate = 16000, options: ResampleOptions = {}): Float32Array {
  // the rates WAV decoding accepts: the filter's length grows with the ratio, so an absurd rate
  // (2^32 Hz) would take minutes to design, not a clear error
  if (!types.isFloat32Array(input)) throw invalidArgument('input', input, 'a Float32Array of samples');
  const rates = `an integer from ${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE} (Hz)`;
  if (!Number.isSafeInteger(fromRate) || fromRate < MIN_SAMPLE_RATE || fromRate > MAX_SAMPLE_RATE) throw invalidArgument('fromRate', fromRate, rates);
  if (!Number.isSafeInteger(toRate) || toRate < MIN_SAMPLE_RATE || toRate > MAX_SAMPLE_RATE) throw invalidArgument('toRate', toRate, rates);
  const A = options.attenuationDb ?? 100;
  const pb = options.passband ?? 0.9;
  if (!(A >= 40 && A <= 180)) throw invalidArgument('attenuationDb', A, '40..180');
  if (!(pb >= 0.5 && pb <= 0.99)) throw invalidArgument('passband', pb, '0.5..0.99');
  if (fromRate === toRate) return input.slice();
  const n = input.length;
  const f = design(fromRate, toRate, A, pb);
  const { L, M, W, phases, table } = f;
  const taps = 2 * W;
  const nOut = resampledLength(n, fromRate, toRate);
  const out = new Float32Array(nOut);
  const exact = phases === L;
  for (let o = 0; o < nOut; o++) {
    const pos = o * M; // output time in units of 1/L input samples
    const i = Math.floor(pos / L);
    const ph = pos - i * L;
    const j0 = i - (W - 1);
    if (exact) {
      out[o] = dot(input, n, j0, table, ph * taps, taps);
    } else {
      const fp = (ph * phases) / L;
      const r = Math.floor(fp);
      const a = fp - r;
      const y0 = dot(input, n, j0, table, r * taps, taps);
      const y1 = a === 0 ? y0 : dot(input, n, j0, table, (r + 1) * taps, taps);
      out[o] = y0 + a * (y1 - y0);
    }
  }
  return out;
}

/** Resamples mono PCM at any rate to whisper's 16 kHz. */
export function resampleTo16k(input: Float32Array, fromRate: number, options?: ResampleOptions): Float32Array {
  return resample(input, fromRate, 16000, options);
}
