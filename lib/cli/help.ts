/** The --help texts: kept next to the commands they describe and checked by tests. */
import { AB_HELP } from './ab.js';
import { hardwareHelpFor } from './help-hardware.js';
import { streamHelpFor } from './help-stream.js';
import { QUALITY_HELP } from './help-quality.js';
import { PRESETS_HELP, RTF_HELP, TRANSCRIBE_HELP } from './help-rtf.js';
import { COMPARE_HELP, DB_HELP, REPORT_HELP } from './help-store.js';
import { STORE_OPTIONS_HELP } from './store-options.js';

export const HELP = `whisper-perf — run whisper.cpp in-process and measure it

usage: whisper-perf <command> [options]

commands:
  bench      whisper-bench's workload (or memcpy / mul_mat) over models × threads × options,
             with repetitions and statistics; the default model is a synthetic tiny.en
  sysinfo    CPU, memory, whisper.cpp CPU features, ggml devices and the addon's build
  models     synth | download | list | info | quantize — make, fetch, list, check and quantize ggml models
  audio      gen | info — write test audio (espeak-ng speech, silence, noise, tones); decode a file
  wer        word error rate of transcripts against references, after an English normalizer
  rtf        real-time factor: models × audio files × presets × threads, whole transcriptions
  transcribe transcribe audio files in-process: text, srt, vtt or json; timings on stderr
  presets    the transcription presets (speed, balanced, quality, realtime) and their parameters
  stream     whisper.cpp's stream example simulated on a file: per-step latency, keeps up or not
  capacity   N concurrent transcriptions over one model's weights: throughput, largest real-time N
  quality    models × quantizations × presets over files with references: RTF, WER, memory, size, frontier
  builds     the addon builds side by side (build* folders, prebuilds) with their build info
  threads    the fastest, most efficient and knee thread counts for a model, with the table
  recommend  model, quantization, threads and preset for realtime|batch|embedded|server, with evidence
  profile    one scenario under perf or valgrind (massif, memcheck, callgrind): reports and a summary
  report     reports over the results store (md, csv, json) or an HTML page with charts
  compare    BASE CAND: each metric's ratio over runs and a verdict; exit 1 slower, 3 inconclusive
  ab         SIDE SIDE: builds or configurations interleaved in fresh processes, a gate (--calibrate: its error rates)
  db         info | runs | import | copy | delete | migrate — the results store (SQLite, PostgreSQL)
  help CMD   help for one command

options:
  -h, --help     show help (also after any command)
  -v, --version  print the package version

Data goes to stdout, progress and logs to stderr. Exit codes: 0 ok, 1 a measurement
failed, 2 a usage error.
`;

export const BENCH_HELP = `usage: whisper-perf bench [options]

Runs whisper.cpp's whisper-bench workload in-process: one encode, 256 single-token
decodes, 64 five-token batches and 16 prompts of 256 tokens per repetition, after a
cold run and warm-up. Every option that takes a value takes a list (a,b,c) and
integer ranges (1-8, 1-16*2 doubling, 2-12+2 stepping); the run is their product.

options:
  -m, --model LIST       ggml model files (default: synthetic tiny.en, generated once)
  -t, --threads LIST     thread counts (default: min(4, cores))
  -r, --repetitions N    measured repetitions per cell (default 3)
      --warmup N         heat-up loops after the cold run (default 1)
      --fa LIST          flash attention on/off (default on)
      --device LIST      cpu or GPU indices, e.g. cpu,0 (default cpu without a GPU build)
  -w, --what LIST        encoder (default), memcpy, mulmat; encoder,mulmat also gives the
                         encoder's share of the measured mul_mat peak
  -o, --output FMT       md (default), csv, json, jsonl, sql
      --out FILE         write the data to FILE instead of stdout (atomically)
      --delay SECONDS    pause between cells (default 0)
      --quick            shortened workload (32 decodes, 8 batches, 2 prompts)
      --build LIST       addon builds to compare (whisper-perf builds lists them: native,generic
                         ...): each runs the sweep in its own process; the table shows each
                         build's variant and options and its time ratio to the first build
      --no-progress      no progress bar even on a terminal
${STORE_OPTIONS_HELP}  -h, --help             this help

Exit code 1 when any cell failed (its row carries the error), 2 on a usage error.
`;

export const SYSINFO_HELP = `usage: whisper-perf sysinfo [options]

Prints the machine (CPU model, cores, memory, whisper.cpp's CPU features, ggml devices
with their memory) and the addon's build (whisper.cpp version and pin, compiler, build
type, variant, backends, GGML options).

options:
  -o, --output FMT   md (default) or json
  -h, --help         this help
`;

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

export const WER_HELP = `usage: whisper-perf wer REF HYP [options]

Word error rate of the hypothesis transcript HYP against the reference REF:
(substitutions + deletions + insertions) / reference words, from a word-level
alignment. REF and HYP are two text files, or two directories of them paired by
base name (ref/a.txt with hyp/a.txt or hyp/a.hyp); a file without its pair is a
usage error. Over several pairs the WER is the corpus's total errors over its total
reference words, not a mean of per-file rates.

Both texts first go through the English normalizer (lowercase, punctuation,
contractions, spelled numbers to digits, British to American spelling, filler words
removed: see normalizeText in the API docs), unless --no-normalize.
An empty reference with a non-empty hypothesis has no WER of its own (a warning);
its insertions count in the total.

options:
  -o, --output FMT   md (default) or json: { wer, substitutions, deletions,
                     insertions, ref_words, hyp_words, files: [...] }
      --out FILE     write the data to FILE instead of stdout (atomically)
      --align        print the word alignment (REF/HYP rows, S/D/I markers)
      --no-normalize compare the texts as they are, split on whitespace
  -h, --help         this help
`;

export const AUDIO_HELP = `usage: whisper-perf audio <gen|info> [options]

  audio gen --duration LIST [--kind LIST] [--out-dir DIR] [--text FILE] [--voice V]
            [--wpm N] [--rate HZ] [--seed N] [-o md|json|jsonl|csv] [--out FILE]
      write 16-bit mono WAVs of the given durations (seconds: 10,30,60), one per kind
      and duration, named KIND-Ds.wav, each with its reference transcript beside it
      (KIND-Ds.txt: the words actually spoken; empty for non-speech). Kinds:
        speech   espeak-ng (must be installed) reading a built-in public-domain text,
                 or --text FILE; whole sentences, the last cut to the words that fit,
                 then silence; the text repeats when it runs out
        silence  zeros
        noise    white noise, peak 0.1 (--seed N)
        tones    two mixed sine tones, 440 Hz and 1250 Hz
      --voice V (espeak-ng voice, default en-us), --wpm N (words per minute, default
      160), --rate HZ (default 16000). Prints a table of the files written.
  audio info FILE... [-o md|json|jsonl|csv] [--no-ffmpeg]
      decode each file as whisper-perf would (WAV in-process; MP3, FLAC, Ogg, M4A ...
      through ffmpeg) and print its format, codec, rate, channels, bits and duration.
      A file that fails gets a row with its error; the exit code is then 1.

Accepted WAV: PCM 8/16/24/32-bit, float 32/64-bit, A-law, mu-law; plain or
WAVE_FORMAT_EXTENSIBLE; 1..64 channels (averaged to mono); 1000..768000 Hz. Inputs over
2 GiB or 4 hours are refused before decoding.

options:
  -h, --help   this help
`;

export function helpFor(command: string): string {
  switch (command) {
    case 'bench':
      return BENCH_HELP;
    case 'sysinfo':
      return SYSINFO_HELP;
    case 'models':
      return MODELS_HELP;
    case 'audio':
      return AUDIO_HELP;
    case 'wer':
      return WER_HELP;
    case 'rtf':
      return RTF_HELP;
    case 'quality':
      return QUALITY_HELP;
    case 'transcribe':
      return TRANSCRIBE_HELP;
    case 'presets':
      return PRESETS_HELP;
    case 'report':
      return REPORT_HELP;
    case 'compare':
      return COMPARE_HELP;
    case 'ab':
      return AB_HELP;
    case 'db':
      return DB_HELP;
    default:
      return hardwareHelpFor(command) ?? streamHelpFor(command) ?? HELP;
  }
}
