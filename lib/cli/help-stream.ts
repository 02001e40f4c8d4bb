/** --help texts of stream and capacity (kept apart from help.ts, which other commands share). */

export const STREAM_HELP = `usage: whisper-perf stream -f FILE [options]

Simulates whisper.cpp's stream example (examples/stream, sliding-window mode) on an
audio file instead of a microphone, on one loaded model: every --step ms of new audio
a window of up to --length ms (the new audio after what is kept of the previous
window) is transcribed with one segment and no timestamps; every max(1, length/step
- 1) steps the line is final and only --keep ms are carried over. When a step runs
late, the newest step of audio is taken and the older audio is dropped, as stream.cpp
does. Prints per-step latency (audio captured -> text out) p50/p95/max, the fraction
of steps that finished before the next was due, a verdict (keeps up when at least 95%
did) and the text produced.

options:
  -f, --file FILE        the audio (also as a positional argument)
  -m, --model FILE       ggml model (default: synthetic tiny.en — its text is meaningless)
      --step MS          new audio per window (default 3000; 100 to 30000)
      --length MS        window length (default 10000; at least --step, at most 30000)
      --keep MS          audio kept from the previous line (default 200; at most --step)
      --realtime         feed the audio at real-time pace on the wall clock (the run
                         lasts as long as the audio); default: as fast as possible, on a
                         virtual clock where each step costs its measured time
  -t, --threads N        threads per transcription (default min(4, cores), as stream.cpp)
  -p, --preset NAME      decoding parameters of a preset (see whisper-perf presets);
                         one segment and no timestamps stay on
  -l, --language LANG    language code (default en)
      --max-tokens N     cap the tokens of each window (default 0: none, as stream.cpp)
      --audio-ctx N      encoder context (0: all 1500 frames)
      --best-of N        greedy candidates (default 5)
      --beam-size N      beam search with N beams
      --no-fallback      no temperature fallback
      --warmup N         transcriptions of the first window before the stream (default 1)
  -o, --output FMT       md (default: table, verdict, text), csv, json, jsonl, sql
      --out FILE         write the data to FILE instead of stdout (atomically)
      --no-progress      no live progress on stderr even on a terminal
  -h, --help             this help

--step longer than --length, --keep longer than --step, a missing file or model are
usage errors (exit code 2); a stream that fails is a row with its error (exit code 1).
With synthetic weights the decoder rarely ends a window by itself: --max-tokens caps it.
`;

export const CAPACITY_HELP = `usage: whisper-perf capacity -f FILE -n LIST [options]

How many concurrent transcriptions this machine serves faster than real time. Each
cell runs N streams at once, each transcribing the whole file (-r times back to back):
N whisper states over ONE loaded model's weights (each its own KV caches, compute
buffers and thread). With --workers the same N again as N worker threads each loading
its own model, to compare memory. Prints aggregate throughput (audio seconds per wall
second), per-request latency p50/p95, peak RSS, and the largest N whose every request
finished faster than real time (with every smaller N measured real time too).

Before a cell allocates anything, N x (KV caches + compute buffers that whisper.cpp
reported at load, + the weights for a worker) must fit in the available memory
(free memory, or --memory-limit); else the cell fails with INVALID_ARGUMENT.

options:
  -f, --file FILE        the audio each stream transcribes (also as a positional argument)
  -n, --streams LIST     concurrent streams per cell, e.g. 1,2,4,8 or 1-16*2 (each >= 1)
  -m, --model FILE       ggml model (default: synthetic tiny.en)
  -t, --threads N        threads per transcription (default: the preset's, else min(4, cores))
      --workers          also measure N worker threads with a model each
      --memory-limit SIZE  memory the streams may use (bytes, or 512M, 4G ...; default:
                         free memory)
  -r, --rounds N         transcriptions of the file per stream (default 1)
      --warmup N         warm-up transcriptions of the first 5 s per stream (default 1)
  -p, --preset NAME      decoding parameters of a preset (see whisper-perf presets)
  -l, --language LANG    language code (default en)
      --max-tokens N     cap the tokens per segment (default 0: none)
      --audio-ctx N      encoder context (0: all 1500 frames)
      --best-of N, --beam-size N, --no-fallback   decoding, as transcribe
  -o, --output FMT       md (default: table and the answer), csv, json, jsonl, sql
      --out FILE         write the data to FILE instead of stdout (atomically)
      --no-progress      no progress bar even on a terminal
  -h, --help             this help

N of 0, a missing file or model are usage errors (exit code 2). A cell that fails
(too many states for the memory, a failed transcription) is a row with its error; the
sweep goes on and the exit code is 1.
`;

/** The help of stream or capacity, or undefined for another command. */
export function streamHelpFor(command: string): string | undefined {
  if (command === 'stream') return STREAM_HELP;
  if (command === 'capacity') return CAPACITY_HELP;
  return undefined;
}
