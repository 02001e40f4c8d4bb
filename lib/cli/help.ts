/** The --help texts: kept next to the commands they describe and checked by tests. */

export const HELP = `whisper-perf — run whisper.cpp in-process and measure it

usage: whisper-perf <command> [options]

commands:
  bench      whisper-bench's workload (or memcpy / mul_mat) over models × threads × options,
             with repetitions and statistics; the default model is a synthetic tiny.en
  sysinfo    CPU, memory, whisper.cpp CPU features, ggml devices and the addon's build
  models     synth | download | list | info — make, fetch, list and check ggml models
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
      --no-progress      no progress bar even on a terminal
  -h, --help             this help

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

export const MODELS_HELP = `usage: whisper-perf models <synth|download|list|info> [options]

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
    default:
      return HELP;
  }
}
