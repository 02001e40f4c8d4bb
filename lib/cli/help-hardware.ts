/** --help texts of the hardware commands: builds, threads, recommend, profile (help.ts routes to them). */

export const BUILDS_HELP = `usage: whisper-perf builds [options]

Lists the addon builds found: every build[-NAME]/<type>/whisper_perf.node of the package (each
made by \`npm run build:native -- --out DIR ...\`) and every x86-64-level prebuild, with
the build info beside it (whisper-perf-build.json): variant, instruction sets, build
type, backends, whisper.cpp version. Each is test-loaded in a child process.

Names (what \`bench --build\` takes): build-X/ is X (build-generic → generic); build/
goes by its variant (native) or "default"; a prebuild is its level (x86-64-v3, v3).
A folder name or a path to a .node file works too.

options:
  -o, --output FMT   md (default) or json
      --out FILE     write the data to FILE instead of stdout (atomically)
      --no-check     do not test-load the builds
  -h, --help         this help

Exit code 1 when a build does not load.
`;

export const THREADS_HELP = `usage: whisper-perf threads [-m MODEL] [-f FILE] [options]

Finds the best thread counts for a model on this machine: sweeps 1 ... the logical
cores, doubling (1, 2, 4, ... and the core count) until a doubling cuts the time by
less than --min-gain, then bisecting around the best count. Answers, each with its
reason and the table behind it:
  fastest         the lowest median time
  most efficient  the highest speed-up per thread (for many jobs at once: throughput)
  knee            the smallest count after which no larger count is 10% faster
One run is whisper-bench's shortened workload (1 encode, 32 decodes, 8 batches,
2 prompts), or with -f a transcription of FILE (greedy, no temperature fallback).

options:
  -m, --model PATH     ggml model (default: synthetic tiny.en)
  -f, --file PATH      audio to transcribe instead of the bench workload
  -r, --repetitions N  runs per thread count (default 3)
      --max N          largest thread count (default: the logical cores)
      --fa on|off      flash attention (default on)
      --min-gain F     a doubling must cut the time by this fraction to go on (default 0.05)
  -o, --output FMT     md (default) or json
      --out FILE       write the data to FILE instead of stdout
      --no-progress    no progress bar even on a terminal
  -h, --help           this help
`;

export const RECOMMEND_HELP = `usage: whisper-perf recommend --use-case CASE [options] [--from FILE ...]
       whisper-perf recommend --guide [options] [--from FILE ...]

Picks the model, quantization, thread count and preset that meet a use case's
real-time-factor target (RTF = processing time / audio time) with a margin, from
measured rows: bench or rtf output (-o json or jsonl) given with --from, or, without
them, a short calibration run on this machine (synthetic tiny.en and base.en at 1,
cores/2 and all cores, one run each; progress on stderr). Prints the answer, why, and
every row judged (the evidence). A bench row's RTF is estimated as (mel of 30 s +
1 encode + 100 decodes) / 30 s; an rtf row's is measured.

use cases (default RTF target):
  realtime   one live stream, per-stream RTF ≤ 0.5: the largest model that meets it,
             the fastest thread count, preset realtime
  batch      a queue of files, machine-wide RTF (rtf × threads / cores) ≤ 0.25: the
             largest model, the most efficient thread count, cores/threads jobs at once
  embedded   a small device, RTF ≤ 1 within --memory and --cores: the largest model
             that fits, the fewest threads that meet the target
  server     concurrent requests, per-request RTF ≤ 0.5: the largest model, the most
             efficient thread count, cores/threads requests at once

options:
  -u, --use-case CASE  realtime, batch, embedded or server
      --guide          one line per use case (the use-case table of this machine)
      --memory GB      memory available (GB, 10^9 bytes): peak RSS × (1 + margin) must fit
      --cores N        cores available (default: the logical cores)
      --rtf-target X   the RTF target (default per use case)
      --margin PCT     margin in percent (default 25): rtf × (1 + margin) ≤ target
      --from FILE      rows measured before (repeatable; files may also be positional)
  -m, --models LIST    models of the calibration run (names such as tiny.en, or paths)
      --rows-out FILE  keep the calibration run's rows (JSON) to answer again with --from
  -o, --output FMT     md (default) or json
      --out FILE       write the data to FILE instead of stdout
      --no-progress    no progress bar even on a terminal
  -h, --help           this help

When nothing fits (e.g. --memory below every model's need), the answer is empty and
says why; the exit code is still 0.
`;

export const PROFILE_HELP = `usage: whisper-perf profile --tool perf|massif|memcheck|callgrind [options]

Runs one scenario of a model in a child process under a profiler, writes the tool's
reports into a folder and prints a short summary:
  perf       perf stat (task clock, context switches, page faults; cycles,
             instructions, IPC, cache and branch misses where the CPU exposes its
             counters) and perf record → top functions. Counts cover the scenario only
             (perf's control FIFO switches counting on around it).
  massif     valgrind: peak heap and the allocation sites at the peak
  memcheck   valgrind: errors and leaks
  callgrind  valgrind: instructions per function → top functions
Valgrind runs the whole process 20-100× slower, one thread at a time (default -t 1).
Where the kernel forbids perf events, or the CPU exposes no hardware counters (most
virtual machines), the command says so; valgrind needs no permission.

options:
  -m, --model PATH    ggml model (default: synthetic tiny.en)
  -w, --what W        encode (default: one encode of 30 s), decode (256 single-token
                      decodes after an encode) or transcribe (whisper_full of 30 s)
      --tool TOOL     perf, massif, memcheck or callgrind (required)
  -t, --threads N     threads (default min(4, cores) under perf, 1 under valgrind)
  -r, --repeat N      scenario runs (default 1)
  -f, --file PATH     audio for --what transcribe (default: 30 s of test signal)
      --build NAME    the addon build to profile (whisper-perf builds; default: the loaded
                      one). Valgrind does not emulate AVX-512: under valgrind an AVX-512 build
                      gives way to one without it (e.g. generic) when there is one
      --out-dir DIR   where the reports go (default whisper-perf-profile/TOOL-WHAT-TIME)
      --timeout S     stop a tool run after S seconds (default 600)
  -o, --output FMT    md (default) or json
      --out FILE      write the summary to FILE instead of stdout
  -h, --help          this help

Exit code 1 when the tool is missing or not permitted, or the run failed.
`;

/** The help of a hardware command, or undefined for another command. */
export function hardwareHelpFor(command: string): string | undefined {
  return { builds: BUILDS_HELP, threads: THREADS_HELP, recommend: RECOMMEND_HELP, profile: PROFILE_HELP }[command];
}
