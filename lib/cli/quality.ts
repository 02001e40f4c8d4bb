/** `whisper-perf quality`: quality against speed. Parse, validate up front, run, print. */
import { basename } from 'node:path';

import { parseStringList, usageError } from '../measure/params.js';
import { QUANT_TYPES, type QuantType } from '../models/quantize.js';
import { quality, type QualityOptions } from '../quality/sweep.js';
import { parse, type CliContext } from './context.js';
import { parseSweepOptions, runSweep, SWEEP_OPTIONS } from './rtf.js';

export const QUALITY_HELP = `usage: whisper-perf quality -f FILES [options]

Quality against speed: every model (and its --quantize copies) × preset × threads over
audio files that have reference transcripts, one row per configuration with its RTF
(total processing time / total audio), corpus WER (total errors / total reference
words, after the English normalizer), peak memory, model file size and a sample of the
output, the Pareto frontier marked (★: no other configuration at least as fast and as
accurate, and better in one). Each file's reference is the .txt beside it (talk.wav →
talk.txt, else talk.wav.txt), as whisper-perf audio gen writes them. The cells are
rtf's: each model loaded once, each file decoded once, --warmup runs on the first
30 s, then -r measured runs; WER is taken on each file's last measured run.

options:
  -f, --file LIST        audio files with a reference beside each (also positional)
  -m, --model LIST       ggml model files (default: synthetic tiny.en, generated once)
      --quantize TYPES   quantized copies of each f16/f32 model to measure beside it:
                         q5_0, q5_1, q4_1, q4_0, q8_0, q6_k ... (made once with the
                         in-process quantizer into the cache, reused after)
      --quantize-dir DIR where the copies are kept (default <cache>/quantized)
      --allow-amx-quant  run q4_0, q4_1, q8_0 (and q4_k, q5_k, q6_k) weights on a CPU
                         with AMX anyway: refused by default, as ggml's AMX kernel
                         crashes the process on q8_0 whisper models
  -p, --preset LIST      speed, balanced, quality, realtime (default balanced)
  -t, --threads LIST     thread counts (default: each preset's thread policy)
  -r, --repetitions N    measured transcriptions per file (default 3)
      --warmup N         warm-up transcriptions of the first 30 s (default 1)
  -l, --language LANG    language code, or auto (default en)
      --device D         cpu or a GPU index (default cpu without a GPU build)
      --fa on|off        flash attention (default on)
  -o, --output FMT       md (default: table, warnings, frontier), csv, json, jsonl, sql
                         (json/jsonl add each file's RTF, WER and transcript)
      --out FILE         write the data to FILE instead of stdout (atomically)
      --no-progress      no progress bar even on a terminal
  -h, --help             this help

With synthetic weights (the default model) the transcripts are random tokens: the
rows say synthetic, the table says its WER measures nothing, and only the timings,
memory and sizes mean something. A missing or empty reference, an unknown quantize
type, --quantize of an already-quantized model or an unusable model file is a usage
error (exit code 2) before anything runs. A file that does not decode, a model that
does not load or a failed transcription makes its configuration a row with its error;
the others still run and the exit code is 1.
`;

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
