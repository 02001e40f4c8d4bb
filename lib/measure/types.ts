/**
 * The one row type every output reads: a measured cell of a benchmark plan with its
 * statistics and its provenance. Field names are snake_case because rows go straight
 * to CSV/SQL/JSON consumers (the llama-bench convention).
 */

import type { GpuFigures } from './gpu-monitor.js';

/** Summary statistics of one timing across repetitions (milliseconds unless named). */
export interface Stat {
  /** number of samples */
  n: number;
  mean: number;
  median: number;
  /** sample standard deviation (n-1); 0 for one sample */
  sd: number;
  min: number;
  max: number;
  /** half-width of the 95% confidence interval of the mean (Student's t) */
  ci95: number;
  /** coefficient of variation sd/mean; 0 when mean is 0 */
  cv: number;
  /** indices into samples flagged as outliers by the modified z-score (MAD) rule */
  outliers: number[];
  samples: number[];
}

/** Provenance: where and with what a row was measured. */
export interface Provenance {
  timestamp: string;
  package_version: string;
  node_version: string;
  whisper_version: string;
  build: {
    variant: string;
    build_type: string;
    backends: string[];
    compiler: string;
    sanitizer: boolean;
    options: Record<string, string>;
  };
  cpu_model: string;
  cpu_features: string[];
  cpu_cores: number;
  memory_bytes: number;
  os: string;
}

/** What was measured. */
/** What was measured: 'rtf' rows are whole transcriptions of an audio file (the real-time-factor matrix). */
export type BenchWhat = 'encoder' | 'memcpy' | 'mulmat' | 'rtf' | 'stream' | 'capacity' | 'quality';

export interface BenchRow extends Provenance {
  what: BenchWhat;
  /** model path (encoder rows) or '' */
  model: string;
  model_type: string;
  ftype: string;
  synthetic: boolean;
  threads: number;
  flash_attn: boolean;
  /** 'cpu' or a GPU device index as a string */
  device: string;
  repetitions: number;
  /** whisper-bench timings: per-run milliseconds (encode per encode, decode per token...) */
  load_ms?: Stat;
  /** log-mel spectrogram of 30 s of audio */
  mel_ms?: Stat;
  encode_ms?: Stat;
  decode_ms?: Stat;
  batchd_ms?: Stat;
  prompt_ms?: Stat;
  /** the cold first run, measured before warm-up, reported apart */
  cold?: { load_ms: number; mel_ms?: number; encode_ms: number; decode_ms: number; batchd_ms: number; prompt_ms: number };
  /** memcpy rows: GB/s; mulmat rows: GFLOPS */
  memcpy_gbps?: Stat;
  mulmat_type?: string;
  mulmat_size?: number;
  mulmat_gflops?: Stat;
  /** encoder arithmetic and achieved rate */
  encoder_gflop?: number;
  encoder_gflops?: number;
  /** encoder_gflops as a fraction of the best mul_mat GFLOPS of the model's weight type at the same thread count, when the run measured mul_mat too */
  encoder_peak_fraction?: number;
  /** thread scaling of the encoder within this model/device/fa group, against its smallest thread count */
  speedup?: number;
  /** speedup / (threads / base threads) */
  efficiency?: number;
  /** the thread count after which more threads gain less than 10% */
  knee_threads?: number;
  /** rtf rows: the audio file (as given), its true duration in seconds and the preset ('' for none) */
  file?: string;
  audio_s?: number;
  preset?: string;
  /** rtf rows: whisper_full wall time per transcription, seconds */
  process_s?: Stat;
  /** rtf rows: real-time factor per run, process seconds / audio seconds (below 1: faster than real time) */
  rtf?: Stat;
  /** rtf rows: its inverse per run, audio seconds / process seconds (the Open ASR leaderboard's RTFx) */
  rtfx?: Stat;
  /** rtf rows: whisper.cpp's sampling time per run, ms (encode/decode/batchd/prompt_ms are per run too; mel_ms is the file's mel) */
  sample_ms?: Stat;
  /** rtf rows: ms from the start of whisper_full to its first segment */
  first_segment_ms?: Stat;
  /** rtf rows: temperature fallbacks per transcription (mean over the repetitions) */
  fallbacks?: number;
  /** rtf rows: runs of each stage per transcription (mean over the repetitions) */
  stage_runs?: { encode: number; decode: number; batchd: number; prompt: number; sample: number };
  /** rtf rows: the language used (detected with 'auto') */
  language?: string;
  /** peak resident set size of the process during the cell, MB (10^6 bytes) */
  peak_rss_mb?: number;
  /** process CPU time / wall time during the cell, percent (100 = one core busy) */
  cpu_pct?: number;
  /** how peak_rss_mb was taken: 'hwm' (the kernel's high-water mark, reset for the cell) or 'sampled' */
  peak_rss_source?: 'hwm' | 'sampled';
  /** the device that really ran: where whisper.cpp put the weights (CPU, CUDA0, Vulkan0 ...), not what was asked */
  backend?: string;
  /** buffer sizes whisper.cpp reported for the model, MB: weights, KV caches (self + cross + pad), compute buffers */
  model_buffer_mb?: number;
  kv_buffer_mb?: number;
  compute_buffer_mb?: number;
  /** weights held in GPU memory (buffers of a non-CPU backend), MB */
  gpu_buffer_mb?: number;
  /** a GPU cell: utilisation, memory, temperature and power sampled while it ran; absent where no GPU tool exists */
  gpu?: GpuFigures;
  /** bench --build: the build's name and its addon file */
  build_name?: string;
  build_path?: string;
  /** bench --build: the first build named, against which the ratios are taken */
  build_baseline?: string;
  /** bench --build: this build's median time / the baseline's for the same cell (> 1: slower), with a 95% interval */
  encode_ratio?: number;
  encode_ratio_low?: number;
  encode_ratio_high?: number;
  decode_ratio?: number;
  /** stream rows (whisper.cpp's stream example simulated on a file): step, window length and kept audio, ms */
  step_ms?: number;
  length_ms?: number;
  keep_ms?: number;
  /** stream rows: fed at real-time pace (true) or as fast as possible (false) */
  realtime_pace?: boolean;
  /** stream rows: latencies measured on the wall clock or on the virtual clock of an as-fast-as-possible run */
  stream_clock?: 'wall' | 'virtual';
  /** stream rows: windows transcribed */
  steps?: number;
  /** stream rows: per-step latency, audio captured → text out; capacity rows: per-request latency, submitted → done (ms) */
  latency_ms?: Stat;
  latency_p50_ms?: number;
  latency_p95_ms?: number;
  latency_max_ms?: number;
  /** stream rows: transcription time per step, ms */
  step_compute_ms?: Stat;
  /** stream rows: fraction of steps that finished before the next was due */
  on_time_fraction?: number;
  /** stream rows: audio never transcribed because the stream fell behind, seconds */
  dropped_audio_s?: number;
  /** stream rows: on_time_fraction ≥ 0.95 */
  keeps_up?: boolean;
  /** stream rows: the verdict in words */
  verdict?: string;
  /** stream rows: the text produced (one line per final line of the stream) */
  text?: string;
  /** stream and capacity rows: wall time of the measured part, seconds */
  wall_s?: number;
  /** capacity rows: concurrent streams (whisper states over one model, or worker threads with a model each) */
  streams?: number;
  /** capacity rows: 'states' (N states sharing one model's weights) or 'workers' (N worker threads, a model each) */
  capacity_mode?: 'states' | 'workers';
  /** capacity rows: aggregate throughput, audio seconds transcribed per wall second */
  throughput_x?: number;
  /** capacity rows: every request finished in less time than its audio lasts */
  realtime_ok?: boolean;
  /** capacity rows: the largest N of this sweep and mode that stays faster than real time (it and every smaller N measured) */
  max_realtime_streams?: number;
  /** capacity rows: memory one more stream needs (KV caches + compute buffers [+ weights for a worker]), MB, and N of them against what was available */
  stream_memory_mb?: number;
  memory_needed_mb?: number;
  memory_available_mb?: number;
  /** quality rows (one per model × preset × threads over every file): corpus WER, total errors / total reference words after the normalizer (meaningless when `synthetic`) */
  wer?: number;
  wer_substitutions?: number;
  wer_deletions?: number;
  wer_insertions?: number;
  /** quality rows: reference and hypothesis words over the files (after the normalizer) */
  ref_words?: number;
  hyp_words?: number;
  /** quality rows: the model file's size, bytes */
  model_bytes?: number;
  /** quality rows of a copy made by --quantize: the model it was made from, and the type */
  base_model?: string;
  quantize?: string;
  /** quality rows: on the Pareto frontier of RTF against WER (no other configuration is at least as fast and as accurate, and better in one) */
  pareto?: boolean;
  /** quality rows: the start of the first file's transcript */
  sample?: string;
  /** quality rows: each file's duration, median RTF, WER (null: no reference words) and transcript (json/jsonl only) */
  quality_files?: { file: string; audio_s: number; rtf: number; wer: number | null; errors: number; ref_words: number; text: string }[];
  /** why a figure may not be trusted; empty when none */
  warnings: string[];
  /** set when the cell failed; its timings are then absent */
  error?: { code: string; message: string };
}

export type OutputFormat = 'md' | 'csv' | 'json' | 'jsonl' | 'sql';
