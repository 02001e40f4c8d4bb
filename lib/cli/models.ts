/** `whisper-perf models synth|download|list|info`. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { WhisperPerfError } from '../errors.js';
import { MODEL_NAMES, PUBLISHED_MODEL_SIZES, resolveArch } from '../models/arch.js';
import { defaultCacheDir, downloadModel } from '../models/download.js';
import { validateModelFile } from '../models/ggml.js';
import { writeSyntheticModel } from '../models/synth.js';
import { QUANT_TYPES, quantizeModel, type QuantType } from '../models/quantize.js';
import { parseIntList } from '../measure/params.js';
import { CliContext, parse } from './context.js';
import { progressSink } from './progress.js';

export const MODELS_HELP = `usage: whisper-perf models <synth|download|list|info|quantize> [options]

  models synth SIZE [-o PATH] [--ftype f16|f32] [--seed N]
      write a whisper.cpp ggml model with the exact architecture of SIZE (tiny, tiny.en,
      base, base.en, small, small.en, medium, medium.en, large-v3, large-v3-turbo ...)
      and deterministic random weights. Timings on it are real; transcripts are not.
      Default PATH: ./ggml-SIZE-synthetic.bin
  models download NAME [--dir DIR] [--base-url URL] [--sha1 HEX]
      fetch ggml-NAME.bin from the whisper.cpp model host, resuming a partial download
      and verifying its checksum. --base-url serves it from elsewhere (a mirror, a test).
  models list [-o md|json]
      the known model names with their published sizes, and the models in the cache
  models info PATH [-o md|json]
      validate a model file and print its header: type, hyper-parameters, ftype, size,
      parameter count, synthetic or not
  models quantize IN OUT TYPE [-o md|json]
      quantize an f16/f32 model with ggml's own quantizer (in-process, off the event loop):
      TYPE q8_0, q5_1, q5_0, q4_1, q4_0, or a k-quant (q6_k, q5_k, q4_k, q3_k, q2_k: rows
      must be a multiple of 256 values, so not tiny). The output is validated before it is kept.

options:
  -h, --help   this help
`;

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

export async function runModels(argv: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case undefined:
    case '-h':
    case '--help':
      ctx.stdout(MODELS_HELP);
      return 0;
    case 'synth':
      return synth(rest, ctx);
    case 'download':
      return download(rest, ctx);
    case 'list':
      return list(rest, ctx);
    case 'info':
      return info(rest, ctx);
    case 'quantize':
      return quantize(rest, ctx);
    default:
      throw new WhisperPerfError(`models: unknown subcommand ${JSON.stringify(sub)} (synth, download, list, info, quantize)`, 'USAGE');
  }
}

function onePositional(command: string, positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new WhisperPerfError(`${command}: expected one ${what}, got ${positionals.length}`, 'USAGE');
  return positionals[0];
}

async function synth(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('models synth', argv, {
    output: { type: 'string', short: 'o' },
    ftype: { type: 'string' },
    seed: { type: 'string' },
  });
  if (values.help) return (ctx.stdout(MODELS_HELP), 0);
  const name = onePositional('models synth', positionals, 'SIZE');
  try {
    resolveArch(name);
  } catch {
    throw new WhisperPerfError(`models synth: unknown size ${JSON.stringify(name)} (one of: ${MODEL_NAMES.join(', ')})`, 'USAGE');
  }
  const ftype = values.ftype ?? 'f16';
  if (ftype !== 'f16' && ftype !== 'f32') throw new WhisperPerfError(`models synth: --ftype: invalid value ${JSON.stringify(ftype)}: expected f16 or f32`, 'USAGE');
  const seed = values.seed === undefined ? 0 : parseIntList('--seed', values.seed, { min: 0, max: 2 ** 31 - 1 })[0];
  const path = values.output ?? `ggml-${name}-synthetic.bin`;
  const progress = progressSink();
  const t0 = performance.now();
  const r = await writeSyntheticModel(path, {
    arch: name,
    ftype,
    seed,
    onProgress: (done, total) => progress.update(done, total, `writing ${path}`),
  });
  progress.done();
  ctx.stderr(`wrote ${r.path}: ${mb(r.bytes)} in ${((performance.now() - t0) / 1000).toFixed(1)} s (synthetic weights: timings are real, transcripts are meaningless)\n`);
  ctx.stdout(`${r.path}\n`);
  return 0;
}

async function download(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('models download', argv, {
    dir: { type: 'string' },
    'base-url': { type: 'string' },
    sha1: { type: 'string' },
    force: { type: 'boolean' },
  });
  if (values.help) return (ctx.stdout(MODELS_HELP), 0);
  const name = onePositional('models download', positionals, 'NAME');
  const progress = progressSink();
  const r = await downloadModel(name, {
    dir: values.dir ?? join(defaultCacheDir(), 'models'),
    baseUrl: values['base-url'],
    sha1: values.sha1,
    force: values.force,
    onProgress: (got, total) => progress.update(got, total ?? got, `ggml-${name}.bin ${mb(got)}`),
  });
  progress.done();
  ctx.stderr(`${r.cached ? 'cached' : r.resumed ? 'resumed and downloaded' : 'downloaded'} ${r.path} (${mb(r.bytes)}, ${r.shaAlgorithm} ${r.sha}${r.verified ? ', verified' : ', no known checksum to verify'})\n`);
  ctx.stdout(`${r.path}\n`);
  return 0;
}

async function list(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('models list', argv, { output: { type: 'string', short: 'o' } });
  if (values.help) return (ctx.stdout(MODELS_HELP), 0);
  if (positionals.length) throw new WhisperPerfError(`models list: unexpected argument ${JSON.stringify(positionals[0])}`, 'USAGE');
  const cacheDirs = [join(defaultCacheDir(), 'models'), join(defaultCacheDir(), 'synthetic')];
  const cached = cacheDirs.flatMap((d) =>
    existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.bin')).map((f) => ({ path: join(d, f), bytes: statSync(join(d, f)).size })) : [],
  );
  const known = MODEL_NAMES.map((n) => ({ name: n, published_bytes: PUBLISHED_MODEL_SIZES[n] ?? null }));
  if (values.output === 'json') {
    ctx.stdout(JSON.stringify({ known, cached }, null, 2) + '\n');
    return 0;
  }
  if (values.output !== undefined && values.output !== 'md') throw new WhisperPerfError(`models list: -o: invalid value ${JSON.stringify(values.output)}: expected md or json`, 'USAGE');
  const lines = ['| model | published size (f16) |', '| --- | ---: |', ...known.map((k) => `| ${k.name} | ${k.published_bytes ? mb(k.published_bytes) : '—'} |`)];
  lines.push('', '| cached file | size |', '| --- | ---: |', ...cached.map((c) => `| ${c.path} | ${mb(c.bytes)} |`));
  ctx.stdout(lines.join('\n') + '\n');
  return 0;
}

async function info(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('models info', argv, { output: { type: 'string', short: 'o' } });
  if (values.help) return (ctx.stdout(MODELS_HELP), 0);
  const path = onePositional('models info', positionals, 'PATH');
  const i = await validateModelFile(path);
  if (values.output === 'json') {
    ctx.stdout(JSON.stringify(i, null, 2) + '\n');
    return 0;
  }
  const rows: [string, string][] = [
    ['file', path],
    ['size', `${mb(i.fileSize)} (${i.fileSize} bytes)`],
    ['type', `${i.modelType}${i.multilingual ? '' : ' (English-only)'}`],
    ['ftype', i.ftype],
    ['parameters', `${(i.parameterCount / 1e6).toFixed(1)} M`],
    ['tensors', String(i.tensorCount)],
    ['synthetic', i.synthetic ? 'yes: timings are real, transcripts are meaningless' : 'no'],
    ...Object.entries(i.hparams).map(([k, v]) => [k, String(v)] as [string, string]),
  ];
  ctx.stdout(['| field | value |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n') + '\n');
  return 0;
}

async function quantize(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('models quantize', argv, { output: { type: 'string', short: 'o' } });
  if (values.help) return (ctx.stdout(MODELS_HELP), 0);
  if (positionals.length !== 3) throw new WhisperPerfError(`models quantize: expected IN OUT TYPE, got ${positionals.length} arguments`, 'USAGE');
  const [input, output, type] = positionals;
  if (!(QUANT_TYPES as readonly string[]).includes(type)) {
    throw new WhisperPerfError(`models quantize: unknown type ${JSON.stringify(type)} (one of: ${QUANT_TYPES.join(', ')})`, 'USAGE');
  }
  if (values.output !== undefined && values.output !== 'md' && values.output !== 'json') {
    throw new WhisperPerfError(`models quantize: -o: expected md or json, got ${JSON.stringify(values.output)}`, 'USAGE');
  }
  const progress = progressSink();
  const r = await quantizeModel(input, output, type as QuantType, {
    onProgress: (p) => progress.update(p.done, p.total, `quantizing ${p.tensor}`),
  });
  progress.done();
  if (values.output === 'json') {
    ctx.stdout(JSON.stringify(r, null, 2) + '\n');
    return 0;
  }
  ctx.stdout(
    [
      '| input | output | type | input size | output size | ratio | tensors quantized | seconds |',
      '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
      `| ${r.input} | ${r.output} | ${r.type} | ${mb(r.inputBytes)} | ${mb(r.outputBytes)} | ${r.ratio.toFixed(3)} | ${r.quantizedTensors} / ${r.tensors} | ${(r.ms / 1000).toFixed(1)} |`,
    ].join('\n') + '\n',
  );
  return 0;
}
