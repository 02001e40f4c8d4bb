/** `whisper-perf quality`: quality against speed. Parse, validate up front, run, print. */
import { basename } from 'node:path';

import { parseStringList, usageError } from '../bench/params.js';
import { QUANT_TYPES, type QuantType } from '../models/quantize.js';
import { quality, type QualityOptions } from '../quality/sweep.js';
import { parse, type CliContext } from './context.js';
import { QUALITY_HELP } from './help-quality.js';
import { parseSweepOptions, runSweep, SWEEP_OPTIONS } from './rtf.js';

export async function runQuality(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('quality', argv, {
    ...SWEEP_OPTIONS,
    quantize: { type: 'string' },
    'quantize-dir': { type: 'string' },
    'allow-amx-quant': { type: 'boolean' },
  });
  if (values.help) {
    ctx.stdout(QUALITY_HELP);
    return 0;
  }
  const quantize = values.quantize
    ? parseStringList('--quantize', values.quantize).map((t) => {
        if (!(QUANT_TYPES as readonly string[]).includes(t)) throw usageError('--quantize', t, `not a quantization type (${QUANT_TYPES.join(', ')})`);
        return t as QuantType;
      })
    : undefined;
  const { format, progress, common } = await parseSweepOptions(
    'quality',
    values,
    positionals,
    'give -f FILE[,FILE...], each with its reference transcript beside it (whisper-perf audio gen writes both)',
  );
  const options: QualityOptions = {
    ...common,
    quantize,
    quantizeDir: values['quantize-dir'],
    allowAmxQuant: values['allow-amx-quant'] === true,
    onQuantize: (q) => {
      if (q.reused) progress.note(`quantize ${q.type}: reusing ${q.output}`);
      else if (q.ms !== undefined) progress.note(`quantize ${q.type}: wrote ${q.output} from ${basename(q.model)} in ${(q.ms / 1000).toFixed(1)} s`);
      else if (q.done !== undefined && q.total) progress.update(q.done, q.total, `quantizing ${basename(q.model)} → ${q.type}`, undefined);
    },
  };
  return runSweep(ctx, (signal) => quality({ ...options, signal }), {
    format,
    file: values.out,
    progress,
    failed: (r) => `configuration failed: ${r.model} ${r.preset} -t ${r.threads}`,
  });
}
