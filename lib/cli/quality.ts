/** `whisper-perf quality`: quality against speed. Parse, validate up front, run, print. */
import { basename } from 'node:path';

import { parseBoolList, parseDeviceList, parseIntList, parseOutputFormat, parseStringList, usageError } from '../bench/params.js';
import { WhisperPerfError } from '../errors.js';
import { QUANT_TYPES, type QuantType } from '../models/quantize.js';
import { quality, type QualityOptions } from '../quality/sweep.js';
import { formatRows } from '../report/formats.js';
import { MAX_THREADS } from '../validate.js';
import { parse, writeData, type CliContext } from './context.js';
import { QUALITY_HELP } from './help-quality.js';
import { progressSink } from './progress.js';
import { checkModels, parseLanguage, parsePresetList, single } from './rtf.js';

export async function runQuality(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('quality', argv, {
    model: { type: 'string', short: 'm', multiple: true },
    file: { type: 'string', short: 'f', multiple: true },
    quantize: { type: 'string' },
    'quantize-dir': { type: 'string' },
    'allow-amx-quant': { type: 'boolean' },
    threads: { type: 'string', short: 't' },
    preset: { type: 'string', short: 'p' },
    repetitions: { type: 'string', short: 'r' },
    warmup: { type: 'string' },
    language: { type: 'string', short: 'l' },
    device: { type: 'string' },
    fa: { type: 'string' },
    output: { type: 'string', short: 'o' },
    out: { type: 'string' },
    'no-progress': { type: 'boolean' },
  });
  if (values.help) {
    ctx.stdout(QUALITY_HELP);
    return 0;
  }
  const files = [...(values.file ?? []).flatMap((f) => parseStringList('-f', f)), ...positionals];
  if (files.length === 0) throw new WhisperPerfError('quality: no audio file: give -f FILE[,FILE...], each with its reference transcript beside it (whisper-perf audio gen writes both)', 'USAGE');
  const format = parseOutputFormat(values.output ?? 'md');
  const quantize = values.quantize
    ? parseStringList('--quantize', values.quantize).map((t) => {
        if (!(QUANT_TYPES as readonly string[]).includes(t)) throw usageError('--quantize', t, `not a quantization type (${QUANT_TYPES.join(', ')})`);
        return t as QuantType;
      })
    : undefined;
  const threads = values.threads ? parseIntList('-t', values.threads, { min: 1, max: MAX_THREADS }) : undefined;
  const presets = values.preset ? parsePresetList('-p', values.preset) : undefined;
  const repetitions = values.repetitions ? single('-r', parseIntList('-r', values.repetitions, { min: 1, max: 10000 })) : undefined;
  const warmup = values.warmup ? single('--warmup', parseIntList('--warmup', values.warmup, { min: 0, max: 100 })) : undefined;
  const language = values.language === undefined ? undefined : parseLanguage('-l', values.language);
  const devices = values.device ? parseDeviceList('--device', values.device) : undefined;
  if (devices && devices.length > 1) throw usageError('--device', values.device!, 'quality takes one device');
  const fa = values.fa ? parseBoolList('--fa', values.fa) : undefined;
  if (fa && fa.length > 1) throw usageError('--fa', values.fa!, 'quality takes on or off, not both');
  const models = (values.model ?? []).flatMap((m) => parseStringList('-m', m));
  await checkModels('-m', models);

  const progress = progressSink(process.stderr, values['no-progress'] ? false : undefined);
  const options: QualityOptions = {
    models: models.length ? models : undefined,
    files,
    quantize,
    quantizeDir: values['quantize-dir'],
    allowAmxQuant: values['allow-amx-quant'] === true,
    threads,
    presets,
    repetitions,
    warmup,
    device: devices?.[0],
    flashAttn: fa?.[0],
    transcribe: language ? { language } : undefined,
    onProgress: (p) => {
      if (p.total === 1 && p.done === 0 && p.label.startsWith('generating')) progress.note(p.label);
      else progress.update(p.done, p.total, p.label, p.etaMs);
    },
    onQuantize: (q) => {
      if (q.reused) progress.note(`quantize ${q.type}: reusing ${q.output}`);
      else if (q.ms !== undefined) progress.note(`quantize ${q.type}: wrote ${q.output} from ${basename(q.model)} in ${(q.ms / 1000).toFixed(1)} s`);
      else if (q.done !== undefined && q.total) progress.update(q.done, q.total, `quantizing ${basename(q.model)} → ${q.type}`, undefined);
    },
  };
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let rows;
  try {
    rows = await quality({ ...options, signal: controller.signal });
  } finally {
    process.off('SIGINT', onSigint);
    progress.done();
  }
  writeData(ctx, formatRows(rows, format), values.out);
  const failed = rows.filter((r) => r.error);
  for (const r of failed) ctx.stderr(`whisper-perf: configuration failed: ${r.model} ${r.preset} -t ${r.threads}: ${r.error!.message} [${r.error!.code}]\n`);
  return failed.length > 0 ? 1 : 0;
}
