/** `whisper-perf transcribe`: text (srt, vtt, json) on stdout, timings on stderr. */
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';

import { parseDeviceList, parseIntList, usageError } from '../measure/params.js';
import { type PresetName } from '../presets.js';
import { WhisperPerfError } from '../errors.js';
import { loadModel, type Model, type TranscriptSegment } from '../model/model.js';
import { ensureDefaultModel } from '../models/default.js';
import { formatSegments, TRANSCRIPT_FORMATS, type TranscriptFormat } from '../report/transcript.js';
import { transcribeFile, type FileTranscript, type TranscribeFileOptions } from '../transcribe.js';
import { MAX_THREADS } from '../validate.js';
import { parse, type CliContext } from './context.js';
import { progressSink } from './progress.js';
import { checkModels, parseLanguage, parsePresetList, single } from './rtf.js';

export const TRANSCRIBE_HELP = `usage: whisper-perf transcribe FILE... [options]

Transcribes audio files in-process: the text (or srt, vtt, json) on stdout, timings
on stderr. On a terminal the segments are printed as they come.

options:
  -m, --model FILE       ggml model (default: synthetic tiny.en — its text is meaningless)
  -p, --preset NAME      speed, balanced, quality, realtime (options below override it)
  -t, --threads N        threads (default: the preset's, else min(4, cores))
  -l, --language LANG    language code, or auto to detect it (default en)
  -o, --output FMT       txt (default), srt, vtt, json
      --out-dir DIR      write DIR/NAME.FMT per input file instead of stdout
      --translate        translate to English
      --beam-size N      beam search with N beams (0: greedy)
      --best-of N        greedy candidates on fallback
      --no-fallback      no temperature fallback
      --audio-ctx N      encoder context (0: all 1500 frames)
      --max-len N        max segment length in characters (0: none)
      --split-on-word    with --max-len: split on words
      --offset MS        start at this offset
      --duration MS      transcribe this much audio (0: to the end)
      --prompt TEXT      initial prompt
      --device D         cpu or a GPU index
      --no-progress      no progress bar even on a terminal
  -h, --help             this help

A missing file, a directory or a bad option is a usage error (exit code 2); a file
that does not decode is reported and the others still run (exit code 1). Ctrl-C
aborts the transcription in progress.
`;

/** One line of timings for stderr. */
export function timingLine(t: FileTranscript): string {
  const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const stage = (name: string, s: { runs: number; perRunMs: number }) => (s.runs > 0 ? `${name} ${s.runs} × ${ms(s.perRunMs)} ms` : null);
  const parts = [
    `mel ${ms(t.timings.melMs)} ms`,
    stage('encode', t.timings.encode),
    stage('decode', t.timings.decode),
    stage('batchd', t.timings.batchd),
    stage('prompt', t.timings.prompt),
    stage('sample', t.timings.sample),
  ].filter(Boolean);
  const rtfx = t.rtf > 0 ? `, ${(1 / t.rtf).toFixed(1)}× real time` : '';
  return (
    `${t.file ?? 'audio'}: ${t.durationS.toFixed(2)} s of audio in ${(t.ms / 1000).toFixed(3)} s (RTF ${t.rtf.toFixed(3)}${rtfx}); ` +
    `${parts.join(', ')}; first segment ${t.firstSegmentMs === null ? 'none' : `${ms(t.firstSegmentMs)} ms`}; ` +
    `${t.fallbacks} fallback${t.fallbacks === 1 ? '' : 's'}; language ${t.language ?? '?'}; decoding the audio ${ms(t.decodeMs)} ms` +
    (t.synthetic ? ' [synthetic weights: the text is meaningless]' : '')
  );
}

/** The JSON form of a transcript (one object per file). */
export function transcriptJson(t: FileTranscript, model: string): Record<string, unknown> {
  return {
    file: t.file,
    model,
    synthetic: t.synthetic,
    preset: t.preset,
    options: t.options,
    language: t.language,
    text: t.text,
    audio_s: t.durationS,
    process_ms: t.ms,
    queue_ms: t.queueMs,
    cpu_ms: t.cpuMs,
    decode_audio_ms: t.decodeMs,
    rtf: t.rtf,
    rtfx: t.rtf > 0 ? 1 / t.rtf : null,
    first_segment_ms: t.firstSegmentMs,
    fallbacks: t.fallbacks,
    timings: t.timings,
    source: t.source,
    audio_warnings: t.audioWarnings,
    segments: t.segments,
  };
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export async function runTranscribe(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('transcribe', argv, {
    model: { type: 'string', short: 'm' },
    preset: { type: 'string', short: 'p' },
    threads: { type: 'string', short: 't' },
    language: { type: 'string', short: 'l' },
    output: { type: 'string', short: 'o' },
    'out-dir': { type: 'string' },
    translate: { type: 'boolean' },
    'beam-size': { type: 'string' },
    'best-of': { type: 'string' },
    'no-fallback': { type: 'boolean' },
    'audio-ctx': { type: 'string' },
    'max-len': { type: 'string' },
    'split-on-word': { type: 'boolean' },
    offset: { type: 'string' },
    duration: { type: 'string' },
    prompt: { type: 'string' },
    device: { type: 'string' },
    'no-progress': { type: 'boolean' },
  });
  if (values.help) {
    ctx.stdout(TRANSCRIBE_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new WhisperPerfError('transcribe: expected one or more audio FILEs', 'USAGE');
  const format = (values.output ?? 'txt') as TranscriptFormat;
  if (!(TRANSCRIPT_FORMATS as readonly string[]).includes(format)) throw usageError('-o', String(values.output), `expected one of ${TRANSCRIPT_FORMATS.join(', ')}`);
  const int = (option: string, text: string | undefined, min: number, max: number) => (text === undefined ? undefined : single(option, parseIntList(option, text, { min, max })));
  let preset: PresetName | undefined;
  if (values.preset !== undefined) {
    const p = parsePresetList('-p', values.preset);
    if (p.length !== 1) throw usageError('-p', values.preset, 'takes one preset');
    preset = p[0];
  }
  const devices = values.device ? parseDeviceList('--device', values.device) : undefined;
  if (devices && devices.length > 1) throw usageError('--device', values.device!, 'takes one device');
  const options: TranscribeFileOptions = {
    preset,
    threads: int('-t', values.threads, 1, MAX_THREADS),
    language: values.language === undefined ? undefined : parseLanguage('-l', values.language),
    translate: values.translate || undefined,
    beamSize: int('--beam-size', values['beam-size'], 0, 16),
    bestOf: int('--best-of', values['best-of'], 1, 16),
    temperatureInc: values['no-fallback'] ? 0 : undefined,
    audioCtx: int('--audio-ctx', values['audio-ctx'], 0, 1500),
    maxLen: int('--max-len', values['max-len'], 0, 100000),
    splitOnWord: values['split-on-word'] || undefined,
    offsetMs: int('--offset', values.offset, 0, 2 ** 31 - 1),
    durationMs: int('--duration', values.duration, 0, 2 ** 31 - 1),
    initialPrompt: values.prompt,
  };
  // a missing file or a directory is a usage error before the model loads
  for (const f of positionals) {
    let st;
    try {
      st = statSync(f);
    } catch {
      throw usageError('FILE', f, 'no such file');
    }
    if (st.isDirectory()) throw usageError('FILE', f, 'is a directory, not an audio file');
  }
  const outDir = values['out-dir'];
  if (outDir !== undefined) mkdirSync(outDir, { recursive: true });
  if (outDir === undefined && positionals.length > 1 && (format === 'srt' || format === 'vtt')) {
    throw usageError('-o', format, `several files' ${format} cannot share stdout: add --out-dir DIR`);
  }
  let modelPath = values.model;
  if (modelPath !== undefined) await checkModels('-m', [modelPath]);
  const progress = progressSink(process.stderr, values['no-progress'] ? false : undefined);
  if (modelPath === undefined) {
    modelPath = await ensureDefaultModel({ onProgress: (m) => progress.note(m) });
    ctx.stderr(`whisper-perf: no -m: using the synthetic default model ${modelPath}: its transcripts are meaningless\n`);
  }

  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let model: Model | undefined;
  let failed = 0;
  const jsons: Record<string, unknown>[] = [];
  try {
    model = await loadModel(modelPath, { useGpu: devices ? devices[0] !== 'cpu' : undefined, gpuDevice: devices && devices[0] !== 'cpu' ? Number(devices[0]) : undefined, signal: controller.signal });
    ctx.stderr(`loaded ${modelPath} in ${model.loadMs.toFixed(0)} ms (${model.info.type}, ${model.info.ftype}, ${model.info.backend}${model.info.synthetic ? ', synthetic weights' : ''})\n`);
    // on a terminal, text is printed segment by segment as whisper.cpp produces it
    const live = format === 'txt' && outDir === undefined && process.stdout.isTTY === true;
    for (const [i, file] of positionals.entries()) {
      if (positionals.length > 1 && format === 'txt' && outDir === undefined) ctx.stdout(`${i > 0 ? '\n' : ''}==> ${file} <==\n`);
      const label = `${basename(file)} (${i + 1}/${positionals.length})`;
      let t: FileTranscript;
      try {
        t = await transcribeFile(model, file, {
          ...options,
          signal: controller.signal,
          onProgress: (pct) => progress.update(pct, 100, label),
          onSegment: live
            ? (s: TranscriptSegment) => {
                progress.done();
                if (s.text.trim()) ctx.stdout(s.text.trim() + '\n');
              }
            : undefined,
        });
      } catch (e) {
        progress.done();
        if (!(e instanceof WhisperPerfError) || e.code === 'ABORTED' || e.code === 'INVALID_ARGUMENT') throw e;
        failed++;
        ctx.stderr(`whisper-perf: ${file}: ${e.message} [${e.code}]\n`);
        continue;
      }
      progress.done();
      ctx.stderr(timingLine(t) + '\n');
      for (const w of t.audioWarnings) ctx.stderr(`whisper-perf: ${file}: ${w}\n`);
      const text = format === 'json' ? JSON.stringify(transcriptJson(t, modelPath), null, 2) + '\n' : formatSegments(t.segments, format);
      if (outDir !== undefined) {
        const path = join(outDir, `${basename(file, extname(file))}.${format}`);
        writeAtomic(path, text);
        ctx.stderr(`wrote ${path}\n`);
      } else if (format === 'json') {
        jsons.push(transcriptJson(t, modelPath));
      } else if (!live) {
        ctx.stdout(text);
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    progress.done();
    await model?.dispose();
  }
  // json on stdout: one object for one file, an array for several
  if (format === 'json' && outDir === undefined && jsons.length > 0) ctx.stdout(JSON.stringify(positionals.length === 1 ? jsons[0] : jsons, null, 2) + '\n');
  return failed > 0 ? 1 : 0;
}
