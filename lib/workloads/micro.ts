/** whisper.cpp's memcpy and ggml mul_mat micro-benchmarks, run off the JavaScript thread. */
import { loadBinding } from '../native.js';
import { checkThreads } from '../validate.js';

/** Runs whisper_bench_memcpy_str or whisper_bench_ggml_mul_mat_str and returns its text. */
export async function microBench(what: 'memcpy' | 'mulmat', threads: number): Promise<string> {
  const r = await loadBinding().microBench(what, checkThreads(threads));
  return r.text;
}
