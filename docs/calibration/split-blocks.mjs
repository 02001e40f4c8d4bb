// Exploration, not a verdict: a saved 4-segment calibration (gunzipped) read as if each block had
// been SEG-segment blocks (the start order kept), the stop rule applied at every recorded unit.
// usage: node docs/calibration/split-blocks.mjs FILE.jsonl [SEG=2]   (after npm run build)
import { readFileSync } from 'node:fs';
const R = await import(new URL('../../dist/measure/ratios.js', import.meta.url).href);
const V = await import(new URL('../../dist/ab/verdicts.js', import.meta.url).href);
const { median: med } = await import(new URL('../../dist/measure/stats.js', import.meta.url).href);
const { AB_DEFAULTS, stageDecided } = await import(new URL('../../dist/ab/ab.js', import.meta.url).href);
const { margin, detect } = AB_DEFAULTS;
const L = readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).slice(1).map(JSON.parse);
const SEG = Number(process.argv[3] ?? 2);
const rows = { 'A/A': [], "A/A'": [] };
for (const { kind, result: r } of L) {
  const [A, B] = r.sides.map((s) => s.name);
  const n = r.records.length;
  // each recorded block as 4 / SEG blocks: ln(B/A) per stage of each
  const subs = r.records.map((rec) => Object.fromEntries(['encode', 'decode'].map((st) => {
    const y = V.stagePairLogs(rec, B, A, st); const K = y.length / 4;
    return [st, Array.from({ length: 4 / SEG }, (_, h) => R.trimmedMean(y.slice(h * SEG * K, (h + 1) * SEG * K), V.CHUNK_TRIM))];
  })));
  let stop = null, trunc = false;
  for (let nb = 2; nb <= n; nb += 2) { // at the end of each recorded unit
    const rd = ['encode', 'decode'].map((st) => { const logs = subs.slice(0, nb).flatMap((s) => s[st]); const y = R.yuenRatio(logs, logs.length); return { st, y, v: V.abVerdict(y, margin), d: V.detectableSlowdown(y, margin) }; });
    const blocksNew = nb * 4 / SEG;
    if (blocksNew < 8) continue;
    const dec = rd.every((s) => stageDecided({ verdict: s.v, detectable: s.d }, detect));
    if (dec || nb + 2 > n) { stop = { b: nb, rd }; if (!dec && r.stopped === 'decided') trunc = true; break; }
  }
  rows[kind].push({ stop, trunc, t: r.elapsedS * stop.b / n, n, orig: r.stopped });
}
for (const kind of Object.keys(rows)) {
  const R_ = rows[kind];
  const all = R_.filter((x) => x.stop.rd.every((s) => s.v === 'slower')).length;
  const any = R_.filter((x) => x.stop.rd.some((s) => s.v === 'slower')).length;
  const det = (st) => med(R_.map((x) => x.stop.rd.find((s) => s.st === st).d)) * 100;
  console.log(SEG, kind, `any slower ${any} all slower ${all}/${R_.length}, det enc ${det('encode').toFixed(2)} dec ${det('decode').toFixed(2)}, trunc ${R_.filter((x) => x.trunc).length}, median t ${med(R_.map((x) => x.t)).toFixed(0)}`);
}
