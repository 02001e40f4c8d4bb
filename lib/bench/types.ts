/**
 * The one row type every output reads: a measured cell of a benchmark plan with its
 * statistics and its provenance. Field names are snake_case because rows go straight
 * to CSV/SQL/JSON consumers (the llama-bench convention).
 */

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
export type BenchWhat = 'encoder' | 'memcpy' | 'mulmat';

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
  /** why a figure may not be trusted; empty when none */
  warnings: string[];
  /** set when the cell failed; its timings are then absent */
  error?: { code: string; message: string };
}

export type OutputFormat = 'md' | 'csv' | 'json' | 'jsonl' | 'sql';
