/** `whisper-perf ab SIDE SIDE...`: builds or configurations interleaved in fresh processes, a gate with a known error rate. */
import { ab, AB_DEFAULTS, type AbFresh, type AbProcesses, type AbResult, type AbSideSpec } from '../ab/ab.js';
import { calibrate, type Calibration, type MedianParts, type RateWithInterval } from '../ab/calibrate.js';
import { LOOP_STAGES, type LoopStage } from '../ab/chunks.js';
import { parseStringList } from '../measure/params.js';
import { WhisperPerfError } from '../errors.js';
import { parseThreshold } from './compare.js';
import { type CliContext, parse, writeData } from './context.js';
import { formatDuration, progressSink } from './progress.js';

export const AB_HELP = `usage: whisper-perf ab SIDE SIDE... [options]
       whisper-perf ab --calibrate [SIDE] [--runs N] [--inject 5%] [--save FILE] [options]

Compares two or more addon builds or configurations on whisper-bench's workload. A block
is two segments, and every segment starts a fresh process per side (start order rotating
by block), each on a copy of its build written for it (a process, and the copy of the
code it runs, have a speed of their own for their whole life; so has a loaded model); in
a segment the sides take turns in short chunks (one encode, 128 decodes, 16 batches or
one prompt, of the stages gated only; the heat-up encode after each load is an encode
pair too), so the figures compared are taken within a second of each other. As many
blocks as sides form a unit (each side started in each position once); the blocks of
whole units are the replicates of the interval of each side / the first side (a
trimmed mean with Yuen's interval: the block or tenth farthest off at each end set aside,
as a side's process now and then runs its code slowly for its whole life). On these VMs
one process's speed differs by up to 10% from the next, so a comparison of one process
per side says nothing; this does.

A SIDE is a build (a name from whisper-perf builds, a build folder or a .node file), or
a comma list of key=value: build=NAME, t=N (threads), fa=on|off, device=cpu|N,
name=LABEL, env.VAR=VALUE (any environment variable of that side's processes).
The first side is the baseline.

Verdicts per stage, against --margin: slower (the whole interval above 1 + margin),
faster (below 1 − margin), same (within ±margin), inconclusive (otherwise). Blocks go on
while a gated stage is inconclusive, or same from an interval too wide to have flagged a
slowdown of --detect, until --budget. The table says, per stage, the
smallest slowdown the run could have called slower at its width; under it, where each gated
stage's spread sits (chunk pair, model pair, process pair): a large model part wants more
--segments, a large process part more blocks.

options:
  -m, --model PATH       ggml model (default: the synthetic tiny.en)
  -t, --threads N        threads of every side that does not say (default 4)
      --fa on|off        flash attention of every side that does not say (default on)
      --margin PCT       half-width of "same" (default 3%)
      --detect PCT       the slowdown a "same" must be able to detect before it ends the run
                         (default 4%, or the margin + 1% when that is more)
      --budget S         seconds the run may take (default 300)
      --stages LIST      the stages measured and gated: encode, decode, batchd, prompt (default
                         encode,decode); each one named makes a block longer
      --min-blocks N     blocks before a verdict may stop the run (default 4 units)
      --max-blocks N     blocks at most (default: as the budget allows)
      --segments N       segments per block, each on a freshly loaded model (default 2); fewer
                         make a block shorter, for a model whose block takes minutes
      --fresh WHEN       segment (default): fresh processes on fresh copies of the builds for
                         every segment; block: for every block, the segments after the first
                         reloading the model in them (the process part of the spread then
                         counts whole in each block)
      --processes MODE   per-side (default): a fresh process per side in every segment; shared, a
                         diagnostic: one process per segment holds every side (each its own model
                         and build, all loading and computing on its main thread: one OpenMP
                         team). Its blocks spread no less than per-side's, and its error rates
                         are unmeasured: not for verdicts
      --no-hugepages     no transparent huge pages for malloc (default: on every side)
      --no-fixed-mmap    leave malloc's mmap threshold to glibc (default: every side maps each
                         block over 128 KiB on its own, so a reloaded model's buffers do not land
                         differently from load to load; blocks then spread about half as much)
      --race             three sides or more: a side shown slower than another (by more than the
                         margin, on a gated stage) stops running and the others get its blocks
      --calibrate        measure this gate: --runs A/A runs (the side against itself) and as many
                         A/A' runs (against itself with --inject slowdown injected into every
                         measured call); prints the false-alarm and detection rates, and
                         whisper.cpp's own timing A'/A (the injection's only effect: its share)
      --runs N           calibration runs of each kind (default 20)
      --inject PCT       calibration's injected slowdown (default 5%)
      --save FILE        calibration: append each run to FILE (JSON lines) as it ends, and go on
                         with the runs FILE already holds when its settings are these (2 × 20 runs
                         take 2 1/2 to 3 hours; a stop loses none)
  -o, --output FMT       md (default) or json
      --out FILE         write it to FILE instead of stdout
  -h, --help             this help

Exit codes: 0 no gated stage slower and all decided, 1 a gated stage slower, 3
inconclusive at the end of the budget, 2 usage or a side that cannot be measured (a build
that does not load, a model one side cannot load, blocks that keep failing).

Examples:
  whisper-perf ab native generic -t 2                 # two builds (npm run build:native -- --out build-generic --no-native)
  whisper-perf ab t=1 t=2                             # two configurations of the default build
  whisper-perf ab build=native,env.GGML_SCHED_MAX_COPIES=1 native
  whisper-perf ab --calibrate -t 2 --runs 20          # the gate's false-alarm rate and power here
`;

/** Parses one SIDE argument. */
export function parseSide(text: string): AbSideSpec {
  if (!text.includes('=')) return { build: text };
  const side: AbSideSpec = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new WhisperPerfError(`side ${JSON.stringify(text)}: ${JSON.stringify(part)} is not key=value`, 'USAGE');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 'build') side.build = value;
    else if (key === 'name') side.name = value;
    else if (key === 't' || key === 'threads') {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1024) throw new WhisperPerfError(`side ${JSON.stringify(text)}: threads ${JSON.stringify(value)}`, 'USAGE');
      side.threads = Number(value);
    } else if (key === 'fa') {
      if (value !== 'on' && value !== 'off') throw new WhisperPerfError(`side ${JSON.stringify(text)}: fa=on or fa=off`, 'USAGE');
      side.flashAttn = value === 'on';
    } else if (key === 'device') {
      if (value !== 'cpu' && !/^\d+$/.test(value)) throw new WhisperPerfError(`side ${JSON.stringify(text)}: device=cpu or a GPU index`, 'USAGE');
      side.device = value;
    } else if (key.startsWith('env.') && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key.slice(4))) {
      if (key.slice(4) === 'WHISPER_PERF_INJECT_SLOWDOWN') throw new WhisperPerfError('the injected slowdown is --calibrate\'s alone', 'USAGE');
      side.env = { ...side.env, [key.slice(4)]: value };
    } else throw new WhisperPerfError(`side ${JSON.stringify(text)}: unknown key ${JSON.stringify(key)} (build, t, fa, device, name, env.VAR)`, 'USAGE');
  }
  if (!side.name) {
    const bits = [side.build, side.threads !== undefined ? `t=${side.threads}` : '', side.flashAttn !== undefined ? `fa=${side.flashAttn ? 'on' : 'off'}` : '', side.device ? `device=${side.device}` : '', ...Object.entries(side.env ?? {}).map(([k, v]) => `${k}=${v}`)].filter(Boolean);
    side.name = bits.join(',') || 'default';
  }
  return side;
}

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '—');
const ms = (x: number) => (x >= 100 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toPrecision(3));
const ratioText = (r: { ratio: number; low: number; high: number }) => `${r.ratio.toFixed(3)} [${r.low.toFixed(3)}, ${r.high.toFixed(3)}]`;
const STAGE_LABEL: Record<LoopStage | 'load', string> = { load: 'load (ms)', encode: 'encode (ms)', decode: 'decode (ms/token)', batchd: 'batchd (ms/token)', prompt: 'prompt (ms/token)' };
const ICON = { slower: '🔴 slower', faster: '🟢 faster', same: '⚪ same', inconclusive: '🟡 inconclusive' } as const;

/** A stage's spread parts in words: the nested parts a run of this shape can separate. */
export function spreadText(p: MedianParts): string {
  const parts: string[] = [];
  if (p.chunkPair !== null) parts.push(`chunk pair ${pct(p.chunkPair)}`);
  if (p.modelPair !== null) parts.push(`${p.chunkPair === null ? 'model pair with its chunk' : 'model pair'} ${pct(p.modelPair)}`);
  parts.push(`${p.modelPair === null ? 'process pair with its model' : 'process pair'} ${pct(p.processPair)}`);
  return `${parts.join(', ')}; a block ${pct(p.block)}`;
}

/** The result as markdown. */
export function abMarkdown(r: AbResult): string {
  const out: string[] = [];
  out.push(`ab: ${r.blocks} blocks of ${r.segments} segments (${r.units} units of ${r.unitSize}; ${r.processes === 'shared' ? 'the sides share a process' : 'a process per side'} ${r.fresh === 'block' ? 'a block' : 'a segment'}) in ${formatDuration(r.elapsedS * 1000)}, margin ±${pct(r.margin)}, stopped: ${r.stopped === 'decided' ? `every gated stage decided (a same able to detect ${pct(r.detect)})` : r.stopped === 'budget' ? `budget of ${r.budgetS} s` : '--max-blocks'}`);
  out.push('');
  out.push('| side | build | variant | whisper.cpp | threads | fa | device | env |');
  out.push('| --- | --- | --- | --- | ---: | --- | --- | --- |');
  for (const s of r.sides) {
    const env = Object.entries(s.env).map(([k, v]) => `${k}=${v}`).join(' ');
    out.push(`| ${s.name}${s.inject ? ` (+${pct(s.inject)} injected)` : ''} | ${s.build} | ${s.variant} | ${s.whisperVersion} | ${s.threads} | ${s.flashAttn ? 'on' : 'off'} | ${s.device} | ${env || '—'} |`);
  }
  const base = r.sides[0].name;
  for (const c of r.comparisons) {
    out.push('', `**${c.side} / ${base}**: ${ICON[c.verdict]}`, '');
    if (c.dropped) out.push(`Stopped by the race after block ${c.dropped.afterBlock}: slower than ${c.dropped.slowerThan} on ${c.dropped.stage}, ${ratioText(c.dropped.ratio)}.`, '');
    out.push(`| stage | ${base} | ${c.side} | ${c.side}/${base} [95% CI] | verdict | smallest detectable slowdown | gated |`);
    out.push('| --- | ---: | ---: | --- | --- | ---: | --- |');
    for (const s of c.stages) {
      out.push(`| ${STAGE_LABEL[s.stage]} | ${ms(s.baseMs)} | ${ms(s.sideMs)} | ${ratioText(s.ratio)} | ${ICON[s.verdict]} | ${pct(s.detectable)} | ${s.gated ? 'yes' : 'no'} |`);
    }
    out.push('', `Process CPU time per round, ${c.side}/${base}: ${ratioText(c.cpu)}.`);
    const spread = c.stages.filter((s) => s.gated && s.parts);
    if (spread.length) {
      out.push('', `Where the spread of ln(${c.side}/${base}) sits, SD over ${spread[0].parts!.blocks} blocks:`);
      for (const s of spread) out.push(`- ${s.stage}: ${spreadText(s.parts!)}`);
    }
  }
  if (r.discardedBlocks) out.push('', `${r.discardedBlocks} block(s) were run again after a side failed in them: ${r.failures.join('; ')}`);
  for (const n of r.notes) out.push('', `Note: ${n}.`);
  out.push('', `**${r.verdict === 'slower' ? 'FAIL' : r.verdict === 'inconclusive' ? 'INCONCLUSIVE' : 'PASS'}**`);
  return out.join('\n') + '\n';
}

const rate = (x: RateWithInterval) => `${x.count}/${x.of} = ${pct(x.rate)} [${pct(x.low)}, ${pct(x.high)}]`;

export function calibrationMarkdown(c: Calibration): string {
  const out: string[] = [];
  out.push(`ab --calibrate: margin ±${pct(c.margin)}, detect ${pct(c.detect)}, budget ${c.budgetS} s per run, injected slowdown ${pct(c.inject)}`, '');
  out.push('| kind | runs | slower | same | faster | inconclusive | rate [Wilson 95%] | median time | median blocks | median detectable |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |');
  for (const k of [c.aa, c.aaPrime]) {
    const det = Object.entries(k.detectable).map(([s, v]) => `${s} ${pct(v)}`).join(', ');
    const what = k.kind === 'A/A' ? 'false alarms' : 'detections';
    out.push(`| ${k.kind} | ${k.runs} | ${k.verdicts.slower} | ${k.verdicts.same} | ${k.verdicts.faster} | ${k.verdicts.inconclusive} | ${what}: ${rate(k.rate)} | ${formatDuration(k.medianSeconds * 1000)} | ${k.medianBlocks} | ${det} |`);
  }
  out.push('', "A/A: the same side against itself; a false alarm is a run that calls a gated stage slower. A/A': the second side with the injected slowdown; a detection is a run that calls every gated stage slower.");
  const own = Object.entries(c.aaPrime.ownTiming);
  if (own.length) {
    out.push(
      '',
      `whisper.cpp's own timing of the calls (the injected busy-wait left out), A'/A over the ${own[0][1].blocks} blocks of the A/A' runs: ${own.map(([st, r]) => `${st} ${ratioText(r)}`).join(', ')}. The injection adds exactly its share and nothing else where these intervals hold 1.`,
    );
  }
  for (const k of [c.aa, c.aaPrime]) {
    const lines = Object.entries(k.spread).map(([st, p]) => `- ${st}: ${spreadText(p)}`);
    if (lines.length) out.push('', `Where the spread sits in the ${k.kind} runs (medians over the runs, SD of ln ratio):`, ...lines);
  }
  return out.join('\n') + '\n';
}

export async function runAb(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('ab', argv, {
    model: { type: 'string', short: 'm' },
    threads: { type: 'string', short: 't' },
    fa: { type: 'string' },
    margin: { type: 'string' },
    detect: { type: 'string' },
    budget: { type: 'string' },
    stages: { type: 'string' },
    'min-blocks': { type: 'string' },
    'max-blocks': { type: 'string' },
    segments: { type: 'string' },
    processes: { type: 'string' },
    fresh: { type: 'string' },
    'no-hugepages': { type: 'boolean' },
    'no-fixed-mmap': { type: 'boolean' },
    race: { type: 'boolean' },
    calibrate: { type: 'boolean' },
    runs: { type: 'string' },
    inject: { type: 'string' },
    save: { type: 'string' },
    output: { type: 'string', short: 'o' },
    out: { type: 'string' },
  });
  if (values.help) {
    ctx.stdout(AB_HELP);
    return 0;
  }
  const int = (name: string, v: string | undefined, min: number, max: number) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new WhisperPerfError(`${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`, 'USAGE');
    return Number(v);
  };
  const format = values.output ?? 'md';
  if (format !== 'md' && format !== 'json') throw new WhisperPerfError(`-o: expected md or json, got ${JSON.stringify(format)}`, 'USAGE');
  const fa = values.fa;
  if (fa !== undefined && fa !== 'on' && fa !== 'off') throw new WhisperPerfError(`--fa: expected on or off, got ${JSON.stringify(fa)}`, 'USAGE');
  const stages = values.stages ? parseStringList('--stages', values.stages) : undefined;
  for (const s of stages ?? []) if (!(LOOP_STAGES as readonly string[]).includes(s)) throw new WhisperPerfError(`--stages: unknown stage ${JSON.stringify(s)}: ${LOOP_STAGES.join(', ')}`, 'USAGE');
  const common = {
    model: values.model,
    threads: int('-t', values.threads, 1, 1024),
    flashAttn: fa === undefined ? undefined : fa === 'on',
    margin: values.margin !== undefined ? parseThreshold(values.margin) : undefined,
    detect: values.detect !== undefined ? parseThreshold(values.detect) : undefined,
    budgetS: int('--budget', values.budget, 10, 7 * 24 * 3600),
    stages: stages as LoopStage[] | undefined,
    minBlocks: int('--min-blocks', values['min-blocks'], 1, 100000),
    maxBlocks: int('--max-blocks', values['max-blocks'], 1, 100000),
    segments: int('--segments', values.segments, 1, 64),
    // ab() refuses any other value
    processes: values.processes as AbProcesses | undefined,
    fresh: values.fresh as AbFresh | undefined,
    hugepages: !values['no-hugepages'],
    // undefined: ab()'s own default
    fixedMmap: values['no-fixed-mmap'] ? false : undefined,
    race: values.race === true,
  };
  const bar = progressSink();
  try {
    if (values.calibrate) {
      if (positionals.length > 1) throw new WhisperPerfError('ab --calibrate: at most one SIDE (it is measured against itself)', 'USAGE');
      const runs = int('--runs', values.runs, 1, 1000) ?? 20;
      const c = await calibrate({
        ...common,
        side: positionals[0] ? parseSide(positionals[0]) : undefined,
        runs,
        inject: values.inject !== undefined ? parseThreshold(values.inject) : undefined,
        save: values.save,
        onResume: (a, p) => ctx.stderr(`calibrate: going on with ${values.save}: ${a} A/A and ${p} A/A' runs there already\n`),
        onRun: (kind, i, n, r) => {
          bar.done();
          ctx.stderr(`calibrate ${kind} ${i}/${n}: ${r.verdict} in ${formatDuration(r.elapsedS * 1000)} (${r.blocks} blocks; ${r.comparisons[0].stages.filter((s) => s.gated).map((s) => `${s.stage} ${ratioText(s.ratio)}`).join(', ')})\n`);
        },
      });
      writeData(ctx, format === 'json' ? JSON.stringify(c, null, 2) : calibrationMarkdown(c), values.out);
      return 0;
    }
    if (values.runs !== undefined || values.inject !== undefined || values.save !== undefined) throw new WhisperPerfError('--runs, --inject and --save go with --calibrate', 'USAGE');
    if (positionals.length < 2) throw new WhisperPerfError(`ab: expected two or more SIDEs, got ${positionals.length} (try: whisper-perf ab --help)`, 'USAGE');
    const r = await ab({
      ...common,
      sides: positionals.map(parseSide),
      onProgress: (p) => {
        const first = Object.keys(p.figures)[0];
        const shown = common.stages ?? AB_DEFAULTS.stages;
        const line = Object.entries(p.figures)
          .map(([n, f]) => `${n === first ? '' : `${n}/${first} `}${shown.map((st) => `${st.slice(0, 3)} ${ms(f[st])}`).join(' ')}`)
          .join(' | ');
        bar.update(Math.min(p.elapsedS, p.budgetS), p.budgetS, `block ${p.block}: ${line}`);
      },
    });
    bar.done();
    writeData(ctx, format === 'json' ? JSON.stringify(r, null, 2) : abMarkdown(r), values.out);
    if (r.exitCode === 1) ctx.stderr(`whisper-perf: ${r.comparisons.filter((c) => c.verdict === 'slower').map((c) => c.side).join(', ')} slower than ${r.sides[0].name} beyond ±${pct(r.margin)}: the gate fails\n`);
    if (r.exitCode === 3) ctx.stderr(`whisper-perf: inconclusive after ${r.blocks} blocks (${formatDuration(r.elapsedS * 1000)}): a longer --budget narrows the intervals\n`);
    return r.exitCode;
  } finally {
    bar.done();
  }
}

export { AB_DEFAULTS };
