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
 * Per matched metric (every statistic with raw samples on both sides):
 * - ratio = median(CAND) / median(BASE), with a 95% bootstrap interval (ratio() in stats.ts);
 * - a test on the raw samples (significance.ts: Welch's t, or Mann–Whitney U for few or skewed
 *   samples, with the reason);
 * - the verdict against a noise-aware threshold: the effective threshold is the larger of
 *   --threshold (default 5%) and the metric's noise: the larger robust coefficient of variation
 *   (1.4826·MAD / median, which one outlier cannot inflate) of the two sides. "slower" when the test is significant (p < alpha) and the
 *   change in the worse direction exceeds the effective threshold; "faster" alike the other way;
 *   else "no change". Which direction is worse follows the metric (higherIsBetter: GB/s, GFLOPS,
 *   RTFx are better higher; times, RTF, memory better lower).
 * The gate fails (exit 1) when any metric is "slower".
 */
import { basename } from 'node:path';

import { median, ratio, summarize } from '../bench/stats.js';
import type { Stat } from '../bench/types.js';
import { WhisperPerfError } from '../errors.js';
import { higherIsBetter, isStat, paramsOf } from '../store/metrics.js';
import { csvField } from './formats.js';
import { mdGrid } from './views.js';
import { testSamples, type TestName } from './significance.js';

type Row = Record<string, unknown> & { what: string };

/** One side of a comparison: its rows and how it was named. */
export interface CompareSide {
  /** as given: "12", "tag:nightly", "base.json" ... */
  spec: string;
  /** what it resolved to: "run 12", "3 runs tagged nightly", "file base.json" */
  label: string;
  rows: readonly Row[];
}

export interface CompareOptions {
  /** relative change below which nothing is called a change (default 0.05) */
  threshold?: number;
  /** significance level of the tests (default 0.05) */
  alpha?: number;
  /** only these metrics (default: every shared statistic) */
  metrics?: string[];
}

export type Verdict = 'slower' | 'faster' | 'no change';

export interface MetricComparison {
  /** the matched configuration, as "what model threads=..." (parameters both sides share) */
  config: string;
  params: Record<string, string>;
  metric: string;
  higher_is_better: boolean;
  base: { n: number; median: number; mean: number; cv: number };
  cand: { n: number; median: number; mean: number; cv: number };
  /** median(cand) / median(base) and its 95% interval */
  ratio: number;
  ratio_low: number;
  ratio_high: number;
  /** relative change in the worse direction: > 0 worse, < 0 better (for times: ratio − 1) */
  change: number;
  test: TestName;
  test_why: string;
  p: number | null;
  /** the threshold applied to this metric: max(--threshold, noise) */
  threshold: number;
  /** the larger robust coefficient of variation (1.4826·MAD / median) of the two sides */
  noise: number;
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
  const ok = (rows: readonly Row[]) => rows.filter((r) => !r.error);
  const b = ok(base.rows).map((r) => ({ row: r, params: paramsOf(r) }));
  const c = ok(cand.rows).map((r) => ({ row: r, params: paramsOf(r) }));

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
    const m = new Map<string, { params: Record<string, string>; stats: Map<string, Stat[]> }>();
    for (const x of side) {
      const { key, kept } = keyOf(x.params);
      const g = m.get(key) ?? { params: kept, stats: new Map() };
      for (const [name, v] of Object.entries(x.row)) {
        if (!isStat(v) || v.samples.length === 0) continue;
        if (options.metrics && !options.metrics.includes(name)) continue;
        g.stats.set(name, [...(g.stats.get(name) ?? []), v]);
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
      const sb = pooled(bs);
      const sc = pooled(cs);
      if (!(sb.median > 0) || !(sc.median > 0)) continue; // ratios of zero or negative medians say nothing
      const r = ratio(sc, sb);
      const hib = higherIsBetter(metric);
      const change = hib ? 1 / r.ratio - 1 : r.ratio - 1;
      const t = testSamples(sb.samples, sc.samples, alpha);
      const noise = Math.max(robustCv(sb.samples), robustCv(sc.samples));
      const thr = Math.max(threshold, noise);
      const significant = t.p !== null && t.p < alpha;
      let verdict: Verdict = 'no change';
      let reason: string;
      if (t.p === null) reason = 'not tested';
      else if (!significant) reason = `not significant (p ${fmtP(t.p)})`;
      else if (Math.abs(change) <= thr) reason = `within ${noise > threshold ? 'noise' : 'threshold'} (±${pct(thr)})`;
      else {
        verdict = change > 0 ? 'slower' : 'faster';
        reason = `${pct(Math.abs(change))} ${change > 0 ? 'worse' : 'better'}, beyond ±${pct(thr)}`;
      }
      metrics.push({
        config: configLabel(gBase.params),
        params: gBase.params,
        metric,
        higher_is_better: hib,
        base: { n: sb.samples.length, median: sb.median, mean: sb.mean, cv: sb.cv },
        cand: { n: sc.samples.length, median: sc.median, mean: sc.mean, cv: sc.cv },
        ratio: r.ratio,
        ratio_low: r.low,
        ratio_high: r.high,
        change,
        test: t.test,
        test_why: t.why,
        p: t.p,
        threshold: thr,
        noise,
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
    pass: slower === 0,
    caveats,
  };
}

/**
 * Robust coefficient of variation: 1.4826 · MAD / median (the MAD scaled to estimate the standard
 * deviation of normal data). One outlier cannot inflate it the way it inflates sd / mean.
 */
export function robustCv(samples: readonly number[]): number {
  if (samples.length < 2) return 0;
  const med = median(samples);
  if (!(med > 0)) return 0;
  return (1.4826 * median(samples.map((x) => Math.abs(x - med)))) / med;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
}

function fmtP(p: number): string {
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

function num(x: number): string {
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

const TEST_NAME: Record<TestName, string> = { welch: 'Welch t', 'mann-whitney': 'Mann–Whitney U', none: '—' };

/** The comparison as a markdown report: a header, one table row per metric, the tests' reasons. */
export function comparisonMarkdown(c: Comparison): string {
  const out: string[] = [];
  const icon: Record<Verdict, string> = { slower: '🔴 slower', faster: '🟢 faster', 'no change': '⚪ no change' };
  out.push(`**base**: ${c.base.label} · **candidate**: ${c.cand.label}`);
  if (c.differs.length) out.push('', `Differs: ${c.differs.map((d) => `${d.param} ${d.base} → ${d.cand}`).join(', ')}`);
  out.push('', `Threshold ${pct(c.threshold)} (raised to a metric's noise: its larger robust CV, 1.4826·MAD/median), α = ${c.alpha}.`, '');
  const headers = ['config', 'metric', 'base', 'cand', 'ratio [95% CI]', 'change', 'p', 'test', 'verdict'];
  const rows = c.metrics.map((m) => [
    m.config,
    m.metric + (m.higher_is_better ? ' ↑' : ''),
    `${num(m.base.median)} (n=${m.base.n})`,
    `${num(m.cand.median)} (n=${m.cand.n})`,
    `${m.ratio.toFixed(3)} [${m.ratio_low.toFixed(3)}, ${m.ratio_high.toFixed(3)}]`,
    `${m.change >= 0 ? '+' : '−'}${pct(Math.abs(m.change))}`,
    m.p === null ? '—' : fmtP(m.p),
    TEST_NAME[m.test],
    `${icon[m.verdict]}`,
  ]);
  out.push(mdGrid(headers, rows).trimEnd());
  out.push('', `**${c.pass ? 'PASS' : 'FAIL'}**: ${c.slower} slower, ${c.faster} faster, ${c.metrics.length - c.slower - c.faster} unchanged of ${c.metrics.length} metrics.`);
  const reasons = new Map<string, string[]>();
  for (const m of c.metrics) {
    const k = `${TEST_NAME[m.test]}: ${m.test_why}`;
    reasons.set(k, [...(reasons.get(k) ?? []), m.metric]);
  }
  out.push('', 'Tests (↑: higher is better; change is in the worse direction):', '');
  for (const [k, ms] of reasons) out.push(`- ${k} (${[...new Set(ms)].join(', ')})`);
  for (const m of c.metrics) if (m.verdict !== 'no change' || m.reason.startsWith('within noise')) out.push(`- ${m.config} ${m.metric}: ${m.reason}`);
  if (c.unmatched.length) out.push('', `Not compared (one side only): ${c.unmatched.map((u) => `${u.config} [${u.side}]`).join('; ')}`);
  if (c.caveats.length) out.push('', 'Caution — the rows say their machine was busy or their timings noisy; a verdict may reflect the machine, not the change:', '', ...c.caveats.map((w) => `- ${w}`));
  return out.join('\n') + '\n';
}

const CSV_COLUMNS = ['config', 'metric', 'higher_is_better', 'base_n', 'base_median', 'cand_n', 'cand_median', 'ratio', 'ratio_low', 'ratio_high', 'change', 'p', 'test', 'threshold', 'noise', 'verdict', 'reason', 'test_why'] as const;

export function comparisonCsv(c: Comparison): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const m of c.metrics) {
    const v: Record<(typeof CSV_COLUMNS)[number], string | number | boolean | null> = {
      config: m.config,
      metric: m.metric,
      higher_is_better: m.higher_is_better,
      base_n: m.base.n,
      base_median: m.base.median,
      cand_n: m.cand.n,
      cand_median: m.cand.median,
      ratio: m.ratio,
      ratio_low: m.ratio_low,
      ratio_high: m.ratio_high,
      change: m.change,
      p: m.p,
      test: m.test,
      threshold: m.threshold,
      noise: m.noise,
      verdict: m.verdict,
      reason: m.reason,
      test_why: m.test_why,
    };
    lines.push(CSV_COLUMNS.map((k) => csvField(v[k])).join(','));
  }
  return lines.join('\n') + '\n';
}
