/**
 * A comparison (compare.ts) as Markdown for people and as CSV for tools.
 */
import { csvField } from './formats.js';
import { mdGrid } from './views.js';
import { pct, signedPct, type Comparison, type MetricComparison, type Verdict } from './compare.js';

function num(x: number): string {
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

/** The comparison as a markdown report: a header, one table row per metric, the verdicts' reasons. */
export function comparisonMarkdown(c: Comparison): string {
  const out: string[] = [];
  const icon: Record<Verdict, string> = { slower: '🔴 slower', faster: '🟢 faster', 'no change': '⚪ no change', inconclusive: '🟡 inconclusive' };
  out.push(`**base**: ${c.base.label} · **candidate**: ${c.cand.label}`);
  if (c.differs.length) out.push('', `Differs: ${c.differs.map((d) => `${d.param} ${d.base} → ${d.cand}`).join(', ')}`);
  out.push(
    '',
    `Threshold ±${pct(c.threshold)}. The unit is the run (one process): each run's figure is its median, the interval is over runs, ` +
      "its width set by the spread between runs of one configuration (the sides' own, or the store's repeated runs on this host).",
    '',
  );
  const interval = (m: MetricComparison) =>
    Number.isFinite(m.ratio_low) ? `${m.ratio.toFixed(3)} [${m.ratio_low.toFixed(3)}, ${m.ratio_high.toFixed(3)}]` : `${m.ratio.toFixed(3)} [unknown]`;
  const headers = ['config', 'metric', 'base', 'cand', 'ratio [95% CI]', 'change', 'between-run spread', 'verdict'];
  const rows = c.metrics.map((m) => [
    m.config,
    m.metric + (m.higher_is_better ? ' ↑' : ''),
    `${num(m.base.median)} (${m.base.runs} run${m.base.runs === 1 ? '' : 's'})`,
    `${num(m.cand.median)} (${m.cand.runs} run${m.cand.runs === 1 ? '' : 's'})`,
    interval(m),
    signedPct(m.change),
    m.noise_df > 0 ? `${pct(m.noise)} (${m.noise_df} df, ${m.noise_source})` : 'unknown',
    `${icon[m.verdict]}`,
  ]);
  out.push(mdGrid(headers, rows).trimEnd());
  const verdict = !c.pass ? 'FAIL' : c.inconclusive > 0 ? 'INCONCLUSIVE' : 'PASS';
  out.push('', `**${verdict}**: ${c.slower} slower, ${c.faster} faster, ${c.inconclusive} inconclusive, ${c.metrics.length - c.slower - c.faster - c.inconclusive} unchanged of ${c.metrics.length} metrics.`);
  out.push('', 'Why (↑: higher is better; change is in the worse direction):', '');
  for (const m of c.metrics) out.push(`- ${m.config} ${m.metric}: ${icon[m.verdict].split(' ').slice(1).join(' ')}, ${m.reason}`);
  if (c.unmatched.length) out.push('', `Not compared (one side only): ${c.unmatched.map((u) => `${u.config} [${u.side}]`).join('; ')}`);
  if (c.caveats.length) out.push('', 'Caution — the rows say their machine was busy or their timings noisy; a verdict may reflect the machine, not the change:', '', ...c.caveats.map((w) => `- ${w}`));
  return out.join('\n') + '\n';
}

const CSV_COLUMNS = ['config', 'metric', 'higher_is_better', 'base_n', 'base_runs', 'base_median', 'cand_n', 'cand_runs', 'cand_median', 'ratio', 'ratio_low', 'ratio_high', 'change', 'threshold', 'noise', 'noise_df', 'verdict', 'reason', 'p', 'test', 'test_why'] as const;

export function comparisonCsv(c: Comparison): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const m of c.metrics) {
    const v: Record<(typeof CSV_COLUMNS)[number], string | number | boolean | null> = {
      config: m.config,
      metric: m.metric,
      higher_is_better: m.higher_is_better,
      base_n: m.base.n,
      base_runs: m.base.runs,
      base_median: m.base.median,
      cand_n: m.cand.n,
      cand_runs: m.cand.runs,
      cand_median: m.cand.median,
      ratio: m.ratio,
      ratio_low: Number.isFinite(m.ratio_low) ? m.ratio_low : null,
      ratio_high: Number.isFinite(m.ratio_high) ? m.ratio_high : null,
      change: m.change,
      p: m.p,
      test: m.test,
      threshold: m.threshold,
      noise: Number.isFinite(m.noise) ? m.noise : null,
      noise_df: m.noise_df,
      verdict: m.verdict,
      reason: m.reason,
      test_why: m.test_why,
    };
    lines.push(CSV_COLUMNS.map((k) => csvField(v[k])).join(','));
  }
  return lines.join('\n') + '\n';
}
