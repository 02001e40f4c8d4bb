/**
 * Comparing two sets of results (BASE and CAND: runs, tags, commits or JSON files) metric by
 * metric, with statistics, for people and for a CI gate.
 *
 * Matching. Rows are matched on their parameters (what, model file name, device, flash
 * attention, threads, file, preset ...; see paramsOf). A parameter with exactly one value on each
 * side and different values — threads 2 against threads 1, two builds — is the change under test:
 * it is left out of the match and printed. Rows of several runs that match (a tag naming many runs)
 * pool their samples.
 *
 * Per matched metric (every statistic with raw samples on both sides), the unit is the run, not the
 * sample: on these machines two processes of the same binary differ by up to 10%, and a run is one
 * process, so the spread of one run's samples says nothing about the next run's. So:
 * - each run's figure is the median of its samples; a side's figure is the geometric mean of its
 *   runs' figures, and ratio = CAND / BASE;
 * - the between-run spread s (sd of ln run figure) comes from the sides' own runs when a side has
 *   several, or from the store's repeated runs of one configuration on the same host
 *   (betweenRunSpread), whichever has more degrees of freedom; the 95% interval of the ratio is
 *   exp(ln ratio ± t(df) · s · √(1/n_base + 1/n_cand));
 * - the verdict, against the threshold (default 5%) in the worse direction (higherIsBetter: GB/s,
 *   GFLOPS, RTFx are better higher; times, RTF, memory better lower): "slower" when the whole
 *   interval is beyond +threshold, "faster" beyond −threshold, "no change" when it lies within
 *   ±threshold, else "inconclusive"; with no estimate of the spread (one run per side and no
 *   repeated runs in the store) every metric is "inconclusive": such a pair cannot separate a
 *   change from between-process drift (`ab` can).
 * The within-run test (Welch or Mann–Whitney, significance.ts) is still reported, for reference
 * only. The gate fails (exit 1) when any metric is "slower"; exit 3 when none is but some are
 * inconclusive.
 */
import { basename } from 'node:path';
import { summarize, tQuantile975 } from '../measure/stats.js';
import type { Stat } from '../measure/types.js';
import { WhisperPerfError } from '../errors.js';
import { higherIsBetter, isStat, paramsOf } from '../store/metrics.js';
import { testSamples, type TestName } from './significance.js';

type Row = Record<string, unknown> & { what: string };

/** One side of a comparison: its rows and how it was named. */
export interface CompareSide {
  /** as given: "12", "tag:nightly", "base.json" ... */
  spec: string;
  /** what it resolved to: "run 12", "3 runs tagged nightly", "file base.json" */
  label: string;
  rows: readonly Row[];
  /** the run (process) each row came from, parallel to rows; absent: all rows are one run */
  runs?: readonly (string | number)[];
}

/** The between-run spread of one metric: squared deviations of ln(run figure) from their group means. */
export interface RunSpread {
  /** sum of squared deviations */
  ss: number;
  /** degrees of freedom: runs − groups */
  df: number;
  /** where it was measured, for the report */
  source: string;
}

export interface CompareOptions {
  /** relative change below which nothing is called a change (default 0.05) */
  threshold?: number;
  /** significance level of the tests (default 0.05) */
  alpha?: number;
  /** only these metrics (default: every shared statistic) */
  metrics?: string[];
  /** between-run spread per metric measured elsewhere (the store's repeated runs: betweenRunSpread) */
  spread?: ReadonlyMap<string, RunSpread>;
}

export type Verdict = 'slower' | 'faster' | 'no change' | 'inconclusive';

export interface MetricComparison {
  /** the matched configuration, as "what model threads=..." (parameters both sides share) */
  config: string;
  params: Record<string, string>;
  metric: string;
  higher_is_better: boolean;
  /** n: samples; runs: runs (processes); median: the side's figure (geometric mean of its runs' medians) */
  base: { n: number; runs: number; median: number; mean: number; cv: number };
  cand: { n: number; runs: number; median: number; mean: number; cv: number };
  /** cand / base and its 95% interval over runs (NaN bounds when the spread is unknown) */
  ratio: number;
  ratio_low: number;
  ratio_high: number;
  /** relative change in the worse direction: > 0 worse, < 0 better (for times: ratio − 1) */
  change: number;
  /** the within-run test, for reference only: it does not decide the verdict */
  test: TestName;
  test_why: string;
  p: number | null;
  /** the threshold applied to this metric */
  threshold: number;
  /** the between-run spread used (sd of ln run figure), NaN when unknown */
  noise: number;
  /** its degrees of freedom (0: unknown) and where it was measured */
  noise_df: number;
  noise_source: string;
  verdict: Verdict;
  /** why the verdict, in a few words */
  reason: string;
}

export interface Comparison {
  base: { spec: string; label: string; rows: number };
  cand: { spec: string; label: string; rows: number };
  /** parameters that differ between the sides (the change under test) */
  differs: { param: string; base: string; cand: string }[];
  threshold: number;
  alpha: number;
  metrics: MetricComparison[];
  /** configurations only one side has */
  unmatched: { side: 'base' | 'cand'; config: string }[];
  slower: number;
  faster: number;
  inconclusive: number;
  /** true when no metric is slower */
  pass: boolean;
  /** warnings the compared rows carry that put a verdict in doubt (a busy machine, high variation) */
  caveats: string[];
}

const NONE = '(none)';

const LABEL_ORDER = ['what', 'model', 'file', 'preset', 'device', 'flash_attn', 'threads'];

function configLabel(params: Record<string, string>): string {
  const parts = [params.what];
  const rank = (k: string) => (LABEL_ORDER.includes(k) ? LABEL_ORDER.indexOf(k) : LABEL_ORDER.length);
  for (const [k, v] of Object.entries(params).sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : 1))) {
    if (k === 'what') continue;
    if (k === 'model' || k === 'file') parts.push(basename(v));
    else if (k === 'threads') parts.push(`-t ${v}`);
    else if (k === 'device') parts.push(v);
    else if (k === 'flash_attn') parts.push(`fa=${v === 'true' ? 'on' : 'off'}`);
    else parts.push(`${k}=${v}`);
  }
  return parts.join(' ');
}

function pooled(stats: Stat[]): Stat {
  if (stats.length === 1) return stats[0];
  return summarize(stats.flatMap((s) => s.samples));
}

export function compareRows(base: CompareSide, cand: CompareSide, options: CompareOptions = {}): Comparison {
  const threshold = options.threshold ?? 0.05;
  const alpha = options.alpha ?? 0.05;
  if (!(threshold >= 0 && threshold < 10)) throw new WhisperPerfError(`--threshold: invalid value ${threshold}: a fraction such as 0.05 (5%)`, 'USAGE');
  if (!(alpha > 0 && alpha < 1)) throw new WhisperPerfError(`--alpha: invalid value ${alpha}: between 0 and 1`, 'USAGE');
  const tagged = (side: CompareSide) =>
    side.rows.map((r, i) => ({ row: r, run: String(side.runs?.[i] ?? 'one'), params: paramsOf(r) })).filter((x) => !x.row.error);
  const b = tagged(base);
  const c = tagged(cand);

  // the change under test: one value on each side, different
  const names = new Set([...b, ...c].flatMap((x) => Object.keys(x.params)));
  const differs: Comparison['differs'] = [];
  for (const k of [...names].sort()) {
    if (k === 'what') continue;
    const vb = new Set(b.map((x) => x.params[k] ?? NONE));
    const vc = new Set(c.map((x) => x.params[k] ?? NONE));
    if (vb.size === 1 && vc.size === 1 && [...vb][0] !== [...vc][0]) differs.push({ param: k, base: [...vb][0], cand: [...vc][0] });
  }
  const skip = new Set(differs.map((d) => d.param));
  const keyOf = (p: Record<string, string>) => {
    const kept: Record<string, string> = {};
    for (const [k, v] of Object.entries(p)) if (!skip.has(k)) kept[k] = v;
    return { key: JSON.stringify(Object.entries(kept)), kept };
  };
  const group = (side: typeof b) => {
    const m = new Map<string, { params: Record<string, string>; stats: Map<string, { run: string; stat: Stat }[]> }>();
    for (const x of side) {
      const { key, kept } = keyOf(x.params);
      const g = m.get(key) ?? { params: kept, stats: new Map() };
      for (const [name, v] of Object.entries(x.row)) {
        if (!isStat(v) || v.samples.length === 0) continue;
        if (options.metrics && !options.metrics.includes(name)) continue;
        g.stats.set(name, [...(g.stats.get(name) ?? []), { run: x.run, stat: v }]);
      }
      m.set(key, g);
    }
    return m;
  };
  const gb = group(b);
  const gc = group(c);
  const metrics: MetricComparison[] = [];
  const unmatched: Comparison['unmatched'] = [];
  for (const [key, g] of gb) if (!gc.has(key)) unmatched.push({ side: 'base', config: configLabel(g.params) });
  for (const [key, g] of gc) if (!gb.has(key)) unmatched.push({ side: 'cand', config: configLabel(g.params) });

  for (const [key, gBase] of gb) {
    const gCand = gc.get(key);
    if (!gCand) continue;
    for (const [metric, bs] of gBase.stats) {
      const cs = gCand.stats.get(metric);
      if (!cs) continue;
      const sb = pooled(bs.map((x) => x.stat));
      const sc = pooled(cs.map((x) => x.stat));
      const rb = runFigures(bs);
      const rc = runFigures(cs);
      if (rb.length === 0 || rc.length === 0) continue; // ratios of zero or negative medians say nothing
      const hib = higherIsBetter(metric);
      const t = testSamples(sb.samples, sc.samples, alpha);
      // the spread between runs: the sides' own repeated runs, or the store's, whichever knows more
      const own = { ss: sumSq(rb) + sumSq(rc), df: rb.length - 1 + rc.length - 1, source: 'these runs' };
      const other = options.spread?.get(metric);
      const sp = other && other.df > own.df ? other : own;
      const lnRatio = mean(rc) - mean(rb);
      const r = Math.exp(lnRatio);
      let low = NaN;
      let high = NaN;
      let s = NaN;
      if (sp.df >= 1) {
        s = Math.sqrt(sp.ss / sp.df);
        const half = tQuantile975(sp.df) * s * Math.sqrt(1 / rb.length + 1 / rc.length);
        low = Math.exp(lnRatio - half);
        high = Math.exp(lnRatio + half);
      }
      // the interval in the worse direction: > 0 worse
      const worse = (x: number) => (hib ? 1 / x - 1 : x - 1);
      const change = worse(r);
      const [wLow, wHigh] = hib ? [worse(high), worse(low)] : [worse(low), worse(high)];
      let verdict: Verdict;
      let reason: string;
      if (!(sp.df >= 1)) {
        verdict = 'inconclusive';
        reason = 'one run per side and no repeated runs of a configuration in the store: a change cannot be told from between-process drift; use ab';
      } else if (wLow > threshold) {
        verdict = 'slower';
        reason = `${pct(change)} worse, the whole interval beyond ±${pct(threshold)}`;
      } else if (wHigh < -threshold) {
        verdict = 'faster';
        reason = `${pct(-change)} better, the whole interval beyond ±${pct(threshold)}`;
      } else if (wLow >= -threshold && wHigh <= threshold) {
        verdict = 'no change';
        reason = `the whole interval within ±${pct(threshold)}`;
      } else {
        verdict = 'inconclusive';
        reason = `the interval [${signedPct(wLow)}, ${signedPct(wHigh)}] crosses ±${pct(threshold)} (between-run spread ${pct(s)}, ${sp.df} df): more runs per side narrow it`;
      }
      metrics.push({
        config: configLabel(gBase.params),
        params: gBase.params,
        metric,
        higher_is_better: hib,
        base: { n: sb.samples.length, runs: rb.length, median: Math.exp(mean(rb)), mean: sb.mean, cv: sb.cv },
        cand: { n: sc.samples.length, runs: rc.length, median: Math.exp(mean(rc)), mean: sc.mean, cv: sc.cv },
        ratio: r,
        ratio_low: low,
        ratio_high: high,
        change,
        test: t.test,
        test_why: t.why,
        p: t.p,
        threshold,
        noise: s,
        noise_df: sp.df >= 1 ? sp.df : 0,
        noise_source: sp.df >= 1 ? sp.source : 'unknown',
        verdict,
        reason,
      });
    }
  }
  if (metrics.length === 0) {
    const have = (g: typeof gb) => [...new Set([...g.values()].flatMap((x) => [...x.stats.keys()]))].join(', ') || 'none';
    throw new WhisperPerfError(
      `${base.label} and ${cand.label} share no metric: base has ${have(gb)} for ${[...gb.values()].map((g) => configLabel(g.params)).join('; ') || 'no successful row'}; candidate has ${have(gc)} for ${[...gc.values()].map((g) => configLabel(g.params)).join('; ') || 'no successful row'}`,
      'USAGE',
    );
  }
  // the rows' own warnings that bear on a comparison: other work on the machine, noisy timings
  const caveats: string[] = [];
  for (const [name, rows] of [['base', b], ['candidate', c]] as const) {
    const seen = new Set<string>();
    for (const x of rows) {
      for (const w of Array.isArray(x.row.warnings) ? (x.row.warnings as unknown[]) : []) {
        const text = String(w);
        if (!/competed for the cores|high variation|throttl|busy/i.test(text)) continue;
        const short = text.replace(/\s*\(.*$/, '').slice(0, 160);
        if (!seen.has(short)) seen.add(short), caveats.push(`${name}: ${text}`);
      }
    }
  }
  const slower = metrics.filter((m) => m.verdict === 'slower').length;
  const faster = metrics.filter((m) => m.verdict === 'faster').length;
  const inconclusive = metrics.filter((m) => m.verdict === 'inconclusive').length;
  return {
    base: { spec: base.spec, label: base.label, rows: base.rows.length },
    cand: { spec: cand.spec, label: cand.label, rows: cand.rows.length },
    differs,
    threshold,
    alpha,
    metrics,
    unmatched,
    slower,
    faster,
    inconclusive,
    pass: slower === 0,
    caveats,
  };
}

/** ln of each run's median, one per run (runs whose median is not positive are left out). */
function runFigures(stats: readonly { run: string; stat: Stat }[]): number[] {
  const byRun = new Map<string, Stat[]>();
  for (const x of stats) byRun.set(x.run, [...(byRun.get(x.run) ?? []), x.stat]);
  return [...byRun.values()].map((st) => pooled(st).median).filter((m) => m > 0).map(Math.log);
}

const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

function sumSq(xs: readonly number[]): number {
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0);
}

/**
 * The between-run spread of each metric, from stored results: rows grouped by host, build variant
 * and every parameter (the same configuration measured again); each group of two or more runs
 * adds its squared deviations of ln(run median) and runs − 1 degrees of freedom.
 */
export function betweenRunSpread(results: readonly { run: string | number; host: string; row: Row }[]): Map<string, RunSpread> {
  const groups = new Map<string, Map<string, { run: string; stat: Stat }[]>>();
  for (const r of results) {
    if (r.row.error) continue;
    const build = (r.row.build as { variant?: unknown } | undefined)?.variant;
    const key = JSON.stringify([r.host, String(build ?? ''), paramsOf(r.row)]);
    const g = groups.get(key) ?? new Map<string, { run: string; stat: Stat }[]>();
    for (const [name, v] of Object.entries(r.row)) {
      if (!isStat(v) || v.samples.length === 0) continue;
      g.set(name, [...(g.get(name) ?? []), { run: String(r.run), stat: v }]);
    }
    groups.set(key, g);
  }
  const out = new Map<string, RunSpread>();
  for (const g of groups.values()) {
    for (const [metric, stats] of g) {
      const figs = runFigures(stats);
      if (figs.length < 2) continue;
      const cur = out.get(metric) ?? { ss: 0, df: 0, source: '' };
      cur.ss += sumSq(figs);
      cur.df += figs.length - 1;
      out.set(metric, cur);
    }
  }
  for (const v of out.values()) v.source = `the store's repeated runs (${v.df} df)`;
  return out;
}

export function signedPct(x: number): string {
  return `${x >= 0 ? '+' : '−'}${pct(Math.abs(x))}`;
}

export function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
}
