/**
 * Optimal threads: sweeps the thread count from 1 to the logical cores — doubling first (1, 2, 4 …,
 * and the core count), stopping as soon as a doubling gains less than `minGain` (5%), then refining
 * between the best count and its measured neighbours — and answers three questions from the
 * measured table, each with its reason:
 *
 * - fastest: the count with the lowest median time;
 * - most efficient: the highest speed-up per thread (parallel efficiency = speed-up / threads),
 *   the figure that matters when several jobs share the machine (throughput ∝ efficiency); among
 *   counts within 5% of the best efficiency the largest is taken (the same throughput, lower latency);
 * - knee: the smallest count after which no larger count is 10% faster (stats.ts `scaling`).
 *
 * The scenario is whisper-bench's shortened workload (1 encode of 30 s, 32 single-token decodes,
 * 8 five-token batches, 2 prompts of 256 tokens) on a model, or, with `file`, a transcription of that
 * audio (greedy, no temperature fallback, so every run does the same work). The model is loaded
 * once: the thread count is a run-time option.
 */
import { availableParallelism } from 'node:os';

import { loadAudio } from '../audio/load.js';
import { testSignal } from '../audio/generate.js';
import { invalidArgument, WhisperPerfError } from '../errors.js';
import { loadModel, type Model } from '../model/model.js';
import { ensureDefaultModel } from '../models/default.js';
import { checkInt } from '../validate.js';
import { provenance } from './engine.js';
import { cellResources, contentionWarning, startCellMonitors } from '../measure/hardware.js';
import { KNEE_GAIN, scaling, summarize } from '../measure/stats.js';
import type { Provenance, Stat } from '../measure/types.js';

export interface ThreadsOptions {
  /** model file (default: the synthetic tiny.en) */
  model?: string;
  /** an audio file: time its transcription instead of the bench workload */
  file?: string;
  /** largest thread count tried (default: the logical cores) */
  maxThreads?: number;
  /** measured runs per thread count (default 3) */
  repetitions?: number;
  /** flash attention (default on) */
  flashAttn?: boolean;
  /** a doubling must cut the time by at least this fraction to go on doubling (default 0.05) */
  minGain?: number;
  /** the workload per run (default: 1 encode, 32 decodes, 8 batches, 2 prompts) */
  workload?: { nDecode?: number; nBatch?: number; nPrompt?: number };
  onProgress?: (p: { done: number; total: number; label: string }) => void;
  signal?: AbortSignal;
}

export interface ThreadsPoint {
  threads: number;
  /** 'doubling' or 'refine': which phase of the sweep measured it */
  phase: 'doubling' | 'refine';
  /** time of one run of the scenario, ms */
  time_ms: Stat;
  /** encode time per run, ms (workload scenario) */
  encode_ms?: Stat;
  /** real-time factor (file scenario): process seconds / audio seconds */
  rtf?: number;
  /** time at 1 thread / time here */
  speedup: number;
  /** speedup / threads */
  efficiency: number;
  peak_rss_mb?: number;
  cpu_pct?: number;
}

export interface ThreadsPick {
  threads: number;
  reason: string;
}

export interface ThreadsResult extends Provenance {
  model: string;
  model_type: string;
  synthetic: boolean;
  file?: string;
  /** what one run does */
  scenario: string;
  cores: number;
  max_threads: number;
  repetitions: number;
  /** sorted by threads */
  points: ThreadsPoint[];
  fastest: ThreadsPick;
  most_efficient: ThreadsPick;
  knee: ThreadsPick;
  /** why the doubling stopped before the core count, when it did */
  stopped_early?: string;
  warnings: string[];
}

/** Efficiencies within this fraction of the best count as equally efficient (the larger count is taken). */
export const EFFICIENCY_TOLERANCE = 0.05;

export interface SweepStep {
  threads: number;
  phase: 'doubling' | 'refine';
}

/**
 * The sweep itself, over any measure function (median ms per thread count): doubling from 1 up to
 * `max` (the last step is `max` itself), stopping when a step cuts the time by less than
 * `minGain`; then bisecting between the best count and its nearest measured neighbours until they
 * are adjacent or `maxRefine` extra counts were measured.
 */
export async function sweepThreads(
  measure: (threads: number, phase: 'doubling' | 'refine') => Promise<number>,
  max: number,
  options: { minGain?: number; maxRefine?: number } = {},
): Promise<{ times: Map<number, number>; order: SweepStep[]; stoppedEarly?: string }> {
  const minGain = options.minGain ?? 0.05;
  const maxRefine = options.maxRefine ?? 6;
  const times = new Map<number, number>();
  const order: SweepStep[] = [];
  const run = async (t: number, phase: 'doubling' | 'refine') => {
    times.set(t, await measure(t, phase));
    order.push({ threads: t, phase });
  };
  await run(1, 'doubling');
  let t = 1;
  let stoppedEarly: string | undefined;
  while (t < max) {
    const next = Math.min(t * 2, max);
    await run(next, 'doubling');
    const gain = 1 - times.get(next)! / times.get(t)!;
    if (gain < minGain && next < max) {
      stoppedEarly = `${t} → ${next} threads cut the time by ${(gain * 100).toFixed(1)}% (< ${(minGain * 100).toFixed(0)}%): larger counts were not tried`;
      break;
    }
    t = next;
  }
  for (let extra = 0; extra < maxRefine; ) {
    const sorted = [...times.keys()].sort((a, b) => a - b);
    const best = sorted.reduce((a, b) => (times.get(b)! < times.get(a)! ? b : a));
    const lo = sorted.filter((x) => x < best).pop();
    const hi = sorted.find((x) => x > best);
    const candidates = [lo !== undefined ? Math.floor((lo + best) / 2) : undefined, hi !== undefined ? Math.floor((best + hi) / 2) : undefined].filter(
      (x): x is number => x !== undefined && !times.has(x) && x >= 1 && x <= max,
    );
    if (candidates.length === 0) break;
    for (const c of candidates) {
      if (extra >= maxRefine) break;
      await run(c, 'refine');
      extra++;
    }
  }
  return { times, order, stoppedEarly };
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const fx = (x: number) => `${x.toFixed(2)}×`;

/** The three answers from measured points (speedup and efficiency filled against the smallest count). */
export function pickThreads(points: readonly { threads: number; median: number }[], cores: number): { fastest: ThreadsPick; most_efficient: ThreadsPick; knee: ThreadsPick; scaled: { threads: number; speedup: number; efficiency: number }[] } {
  const sc = scaling(points);
  // efficiency against 1 thread as the base: speedup / threads (the base is 1 in a sweep)
  const scaled = sc.points.map((p) => ({ threads: p.threads, median: p.median, speedup: p.speedup, efficiency: p.speedup / (p.threads / sc.base_threads) }));
  const byTime = [...scaled].sort((a, b) => a.median - b.median);
  const best = byTime[0];
  const second = byTime[1];
  let fastestWhy = `lowest median time, ${best.median.toFixed(1)} ms (${fx(best.speedup)} the speed of ${sc.base_threads} thread${sc.base_threads === 1 ? '' : 's'})`;
  if (second) {
    const gap = second.median / best.median - 1;
    fastestWhy += `; next: ${second.threads} threads, ${(gap * 100).toFixed(1)}% slower`;
    if (gap < 0.03) fastestWhy += ' (within run-to-run noise: either will do)';
  }
  const maxEff = Math.max(...scaled.map((p) => p.efficiency));
  const eff = scaled.filter((p) => p.efficiency >= maxEff * (1 - EFFICIENCY_TOLERANCE)).pop()!;
  const jobs = Math.max(1, Math.floor(cores / eff.threads));
  const effWhy =
    `highest speed-up per thread: ${pct(eff.efficiency)} (${fx(eff.speedup)} on ${eff.threads} thread${eff.threads === 1 ? '' : 's'})` +
    (eff.threads < best.threads ? `; for many jobs at once, ${jobs} job${jobs === 1 ? '' : 's'} of ${eff.threads} thread${eff.threads === 1 ? '' : 's'} give more throughput than one of ${best.threads}` : '');
  const kneePoint = scaled.find((p) => p.threads === sc.knee)!;
  const after = scaled.filter((p) => p.threads > sc.knee);
  const bestAfter = after.length ? Math.max(...after.map((p) => p.speedup / kneePoint.speedup - 1)) : 0;
  const kneeWhy = sc.saturated
    ? `beyond ${sc.knee} thread${sc.knee === 1 ? '' : 's'} no count is ${pct(KNEE_GAIN)} faster (${bestAfter > 0 ? `the best further gain: ${(bestAfter * 100).toFixed(1)}%` : `larger counts were slower, by ${(-bestAfter * 100).toFixed(1)}% at best`})`
    : `still scaling at the largest count measured (${sc.knee}): no knee below it`;
  return {
    fastest: { threads: best.threads, reason: fastestWhy },
    most_efficient: { threads: eff.threads, reason: effWhy },
    knee: { threads: sc.knee, reason: kneeWhy },
    scaled,
  };
}

/**
 * Finds the best thread counts for a model on this machine (see the module comment): the table of
 * measured counts and the fastest, most efficient and knee counts with their reasons.
 */
export async function threads(options: ThreadsOptions = {}): Promise<ThreadsResult> {
  if (typeof options !== 'object' || options === null) throw invalidArgument('options', options, 'an options object');
  const cores = availableParallelism();
  const max = checkInt(options.maxThreads ?? cores, 'maxThreads', 1, 1024);
  const repetitions = checkInt(options.repetitions ?? 3, 'repetitions', 1, 1000);
  const minGain = options.minGain ?? 0.05;
  if (typeof minGain !== 'number' || !(minGain >= 0 && minGain < 1)) throw invalidArgument('minGain', minGain, 'a fraction from 0 to 1');
  const signal = options.signal;
  const progress = options.onProgress;
  const modelPath = options.model ?? (await ensureDefaultModel({ onProgress: (m) => progress?.({ done: 0, total: 1, label: m }) }));
  const audio = options.file ? await loadAudio(options.file, { signal }) : undefined;
  const workload = { nDecode: 32, nBatch: 8, nPrompt: 2, ...options.workload };
  const scenario = audio
    ? `transcription of ${options.file} (${audio.durationS.toFixed(1)} s; greedy, no temperature fallback)`
    : `bench workload: 1 encode of 30 s, ${workload.nDecode} decodes, ${workload.nBatch} batches of 5, ${workload.nPrompt} prompts of 256 tokens`;
  // about log2(max) + 2 doubling steps and up to 6 refinements: an estimate for the progress bar
  const expected = Math.ceil(Math.log2(max)) + 1 + Math.min(6, Math.max(0, max - Math.ceil(Math.log2(max)) - 1));
  const warnings: string[] = [];
  if (max > cores) warnings.push(`maxThreads ${max} is above the ${cores} logical cores: the counts above ${cores} oversubscribe the CPU`);
  if (repetitions < 3) warnings.push(`only ${repetitions} run${repetitions === 1 ? '' : 's'} per count: close counts may swap places on noise (-r 3 or more)`);

  let model: Model | undefined;
  const results = new Map<number, Omit<ThreadsPoint, 'speedup' | 'efficiency'>>();
  try {
    model = await loadModel(modelPath, { useGpu: false, flashAttn: options.flashAttn ?? true, signal });
    const m = model;
    if (m.info.synthetic) warnings.push('synthetic weights: timings are real, transcripts are meaningless');
    // one heat-up before the sweep, so the first count measured does not pay for cold caches
    progress?.({ done: 0, total: expected, label: 'heat-up' });
    await m.computeMel(testSignal(30), { threads: max });
    await m.benchWorkload({ threads: Math.min(max, cores), heat: 1, heatDecodes: Math.min(256, workload.nDecode), nDecode: 0, nBatch: 0, nPrompt: 0, signal });
    let done = 0;
    const measure = async (t: number, phase: 'doubling' | 'refine'): Promise<number> => {
      if (signal?.aborted) throw new WhisperPerfError('threads sweep aborted', 'ABORTED');
      progress?.({ done, total: Math.max(expected, done + 1), label: `${t} thread${t === 1 ? '' : 's'} (${phase})` });
      const mon = startCellMonitors('cpu', m.info.backend);
      const time: number[] = [];
      const enc: number[] = [];
      const rtf: number[] = [];
      try {
        if (audio) {
          for (let r = 0; r < repetitions; r++) {
            const tr = await m.transcribe(audio.pcm, { threads: t, temperatureInc: 0, signal });
            time.push(tr.ms);
            rtf.push(tr.rtf);
          }
        } else {
          // a light heat-up at this count (one encode, a prompt, a few decodes): the OpenMP team of this size
          await m.benchWorkload({ threads: t, heat: 1, heatDecodes: 8, nDecode: 0, nBatch: 0, nPrompt: 0, signal });
          for (let r = 0; r < repetitions; r++) {
            const w = await m.benchWorkload({ threads: t, heat: 0, ...workload, signal });
            const s = w.wallTotalMs;
            time.push(s.encode + s.decode + s.batchd + s.prompt);
            enc.push(w.wallPerRunMs.encode);
          }
        }
        const res = await cellResources(mon, m.info);
        const stat = summarize(time);
        results.set(t, {
          threads: t,
          phase,
          time_ms: stat,
          ...(enc.length ? { encode_ms: summarize(enc) } : {}),
          ...(rtf.length ? { rtf: Math.round(summarize(rtf).median * 10000) / 10000 } : {}),
          peak_rss_mb: res.peak_rss_mb,
          cpu_pct: res.cpu_pct,
        });
        done++;
        return stat.median;
      } finally {
        await mon.stop();
      }
    };
    const sweep = await sweepThreads(measure, max, { minGain });
    const picks = pickThreads([...sweep.times].map(([threads, median]) => ({ threads, median })), Math.min(cores, max));
    progress?.({ done, total: done, label: 'done' });
    const points: ThreadsPoint[] = picks.scaled.map((p) => ({
      ...results.get(p.threads)!,
      speedup: Math.round(p.speedup * 1000) / 1000,
      efficiency: Math.round(p.efficiency * 1000) / 1000,
    }));
    for (const p of points) {
      const busy = contentionWarning(p.cpu_pct, p.threads, `${p.threads} thread${p.threads === 1 ? '' : 's'}`);
      if (busy) warnings.push(busy);
    }
    const noisy = points.filter((p) => p.time_ms.cv > 0.1).map((p) => p.threads);
    if (noisy.length) warnings.push(`noisy at ${noisy.join(', ')} threads (CV above 10%): the picks may move on another run`);
    return {
      ...provenance(),
      model: modelPath,
      model_type: m.info.type,
      synthetic: m.info.synthetic,
      ...(options.file ? { file: options.file } : {}),
      scenario,
      cores,
      max_threads: max,
      repetitions,
      points,
      fastest: picks.fastest,
      most_efficient: picks.most_efficient,
      knee: picks.knee,
      ...(sweep.stoppedEarly ? { stopped_early: sweep.stoppedEarly } : {}),
      warnings,
    };
  } finally {
    await model?.dispose();
  }
}
