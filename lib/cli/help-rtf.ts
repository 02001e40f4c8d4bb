/** --help texts of rtf, transcribe and presets (kept apart from help.ts, which other commands share). */

export const RTF_HELP = `usage: whisper-perf rtf -f FILES [options]

The real-time-factor matrix: every combination of models × audio files × presets ×
threads, each cell transcribed whole (whisper_full, in-process) --warmup times on its
first 30 s, then -r times measured. RTF = processing time / audio duration (below 1 is
faster than real time); RTFx is its inverse. Each model is loaded once, each file
decoded once (WAV in-process, other formats through ffmpeg). Lists take commas and
ranges (-t 1,2,4 or 1-8*2).

options:
  -f, --file LIST        audio files (also as positional arguments)
  -m, --model LIST       ggml model files (default: synthetic tiny.en, generated once)
  -t, --threads LIST     thread counts (default: each preset's thread policy)
  -p, --preset LIST      speed, balanced, quality, realtime (default balanced; see
                         whisper-perf presets)
  -r, --repetitions N    measured transcriptions per cell (default 3)
      --warmup N         warm-up transcriptions of the first 30 s per cell (default 1)
  -l, --language LANG    language code, or auto (default en)
      --device D         cpu or a GPU index (default cpu without a GPU build)
      --fa on|off        flash attention (default on)
  -o, --output FMT       md (default: table, warnings and summary), csv, json, jsonl, sql
      --out FILE         write the data to FILE instead of stdout (atomically)
      --delay SECONDS    pause between cells (default 0)
      --no-progress      no progress bar even on a terminal
  -h, --help             this help

A file that does not decode, a model that does not load or a failed transcription
makes a row with its error; the sweep goes on and the exit code is 1. A bad option or
an unusable model file is a usage error (exit code 2) before anything runs.
`;

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

export const PRESETS_HELP = `usage: whisper-perf presets [-o md|csv|json|jsonl|sql]

Prints the transcription presets with the exact whisper_full parameters they set on
this machine (threads from each preset's policy). With -o json each preset also has
every whisper_full parameter it sends ("whisper_full").

  speed     greedy, one candidate, no temperature fallback, every core
  balanced  whisper_full's defaults (transcribe() without a preset): greedy, best-of 5
            on fallback, temperature +0.2 per fallback, min(4, cores) threads
  quality   whisper-cli's defaults: beam search of 5, best-of 5, fallback +0.2, every core
  realtime  as whisper-stream: greedy, one candidate, no fallback, one segment per
            window, every core but one

options:
  -o, --output FMT   md (default), csv, json, jsonl, sql
  -h, --help         this help
`;
