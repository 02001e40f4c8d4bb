// Maps environment variables and command-line switches onto CMake options for the addon.
import { availableParallelism } from "node:os";
// One table, used by build-native.mjs, install.mjs and prebuild.mjs, and shown in the README.

/** switch / env var → CMake definitions */
export const SWITCHES = {
  native: { env: 'WHISPER_PERF_NATIVE', cmake: ['GGML_NATIVE'], doc: 'tune for this CPU (default on for source builds)' },
  avx: { env: 'WHISPER_PERF_AVX', cmake: ['GGML_AVX'], doc: 'AVX (with native off)' },
  avx2: { env: 'WHISPER_PERF_AVX2', cmake: ['GGML_AVX2'], doc: 'AVX2 (with native off)' },
  fma: { env: 'WHISPER_PERF_FMA', cmake: ['GGML_FMA'], doc: 'FMA (with native off)' },
  f16c: { env: 'WHISPER_PERF_F16C', cmake: ['GGML_F16C'], doc: 'F16C (with native off)' },
  bmi2: { env: 'WHISPER_PERF_BMI2', cmake: ['GGML_BMI2'], doc: 'BMI2 (with native off)' },
  avx512: { env: 'WHISPER_PERF_AVX512', cmake: ['GGML_AVX512'], doc: 'AVX512F (with native off)' },
  openmp: { env: 'WHISPER_PERF_OPENMP', cmake: ['GGML_OPENMP'], doc: 'OpenMP thread pool (default on)' },
  cuda: { env: 'WHISPER_PERF_CUDA', cmake: ['GGML_CUDA'], doc: 'CUDA backend (needs the CUDA toolkit with cuBLAS)' },
  vulkan: { env: 'WHISPER_PERF_VULKAN', cmake: ['GGML_VULKAN'], doc: 'Vulkan backend (needs Vulkan headers with VK_EXT_layer_settings, newer than Debian 12\'s 1.3.239; SPIRV-Headers; glslc)' },
  opencl: { env: 'WHISPER_PERF_OPENCL', cmake: ['GGML_OPENCL'], doc: 'OpenCL backend' },
  blas: { env: 'WHISPER_PERF_BLAS', cmake: ['GGML_BLAS'], doc: 'BLAS (OpenBLAS) for the CPU backend' },
};

/**
 * `--sanitize KIND` (or WHISPER_PERF_SANITIZE=KIND): an instrumented build in a folder of its own.
 * address = AddressSanitizer + UndefinedBehaviorSanitizer; thread = ThreadSanitizer, with ggml's own
 * pthreads pool instead of OpenMP (libgomp is not instrumented, so TSan would report its internal
 * synchronization as races). CMakeLists.txt applies -fsanitize, -O1, -g and frame pointers to
 * whisper.cpp, ggml and binding/ alike.
 */
export const SANITIZERS = {
  address: { out: 'build-asan', cmake: { WHISPER_SANITIZE_ADDRESS: 'ON', WHISPER_SANITIZE_UNDEFINED: 'ON', WHISPER_SANITIZE_THREAD: 'OFF' } },
  thread: { out: 'build-tsan', cmake: { WHISPER_SANITIZE_THREAD: 'ON', WHISPER_SANITIZE_ADDRESS: 'OFF', WHISPER_SANITIZE_UNDEFINED: 'OFF', GGML_OPENMP: 'OFF' } },
};

const truthy = (v) => /^(1|on|true|yes)$/i.test(v);
const falsy = (v) => /^(0|off|false|no)$/i.test(v);

/**
 * Resolves build options from the environment and argv switches (`--cuda`, `--no-native`,
 * `--debug`, `--sanitize address|thread`, `-DNAME=VALUE`, `--out DIR`, `-j N`). Returns CMake definitions and settings.
 */
export function resolveBuildOptions(argv = [], env = process.env) {
  const defs = {};
  const set = (name, on) => {
    for (const c of SWITCHES[name].cmake) defs[c] = on ? 'ON' : 'OFF';
  };
  for (const [name, s] of Object.entries(SWITCHES)) {
    const v = env[s.env];
    if (v === undefined || v === '') continue;
    if (truthy(v)) set(name, true);
    else if (falsy(v)) set(name, false);
    else throw new Error(`${s.env}=${v}: expected ON or OFF`);
  }
  let buildType = env.WHISPER_PERF_BUILD_TYPE || 'Release';
  let out = env.WHISPER_PERF_BUILD_DIR || 'build';
  let jobs = Number(env.WHISPER_PERF_JOBS || 0) || undefined;
  let sanitize = env.WHISPER_PERF_SANITIZE || undefined;
  let outGiven = Boolean(env.WHISPER_PERF_BUILD_DIR);
  let typeGiven = Boolean(env.WHISPER_PERF_BUILD_TYPE);
  for (const extra of (env.WHISPER_PERF_CMAKE_ARGS || '').split(/\s+/).filter(Boolean)) argv = [...argv, extra];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    let m;
    if ((m = /^--(no-)?([a-z0-9]+)$/.exec(a)) && SWITCHES[m[2]]) set(m[2], !m[1]);
    else if (a === '--debug') (buildType = 'Debug'), (typeGiven = true);
    else if (a === '--relwithdebinfo') (buildType = 'RelWithDebInfo'), (typeGiven = true);
    else if (a === '--sanitize') {
      sanitize = argv[++i];
      if (sanitize === undefined) throw new Error(`--sanitize needs one of ${Object.keys(SANITIZERS).join(', ')}`);
    }
    else if ((m = /^--sanitize=(.*)$/.exec(a))) sanitize = m[1];
    else if (a === '--out') (out = argv[++i]), (outGiven = true);
    else if (a === '-j' || a === '--jobs') jobs = Number(argv[++i]);
    else if ((m = /^-D([A-Za-z0-9_]+)=(.*)$/.exec(a))) defs[m[1]] = m[2];
    else throw new Error(`unknown build option: ${a}`);
  }
  if (sanitize !== undefined) {
    const san = SANITIZERS[sanitize];
    if (!san) throw new Error(`--sanitize ${sanitize}: expected one of ${Object.keys(SANITIZERS).join(', ')}`);
    // the sanitizer's own settings win over switches that contradict them (--openmp with thread)
    Object.assign(defs, san.cmake);
    // never into the release folder: an instrumented addon there would be loaded by default
    if (!outGiven) out = san.out;
    // debug info for the reports' source lines; CMakeLists.txt lowers the optimization to -O1
    if (!typeGiven) buildType = 'RelWithDebInfo';
    // whisper-bench and friends are not needed to check the addon
    if (!('WHISPER_PERF_NATIVE_BENCH' in defs)) defs.WHISPER_PERF_NATIVE_BENCH = 'OFF';
  }
  // explicit instruction-set switches only mean something with native tuning off
  const isa = ['GGML_AVX', 'GGML_AVX2', 'GGML_FMA', 'GGML_F16C', 'GGML_BMI2', 'GGML_AVX512'];
  if (isa.some((k) => k in defs) && !('GGML_NATIVE' in defs)) defs.GGML_NATIVE = 'OFF';
  // what the caller asked for, before defaults: install.mjs uses a prebuild only when nothing was
  const requested = Object.keys(defs).filter((k) => k !== 'GGML_NATIVE' || defs[k] !== 'ON');
  if (!('GGML_NATIVE' in defs)) defs.GGML_NATIVE = 'ON';
  // Backends are off unless asked for, explicitly: CMake keeps cached values, so a folder once
  // configured with --cuda would otherwise stay CUDA when built again without it.
  for (const b of ['GGML_CUDA', 'GGML_VULKAN', 'GGML_OPENCL', 'GGML_BLAS']) if (!(b in defs)) defs[b] = 'OFF';
  return { defs, buildType, out, jobs, requested, sanitize };
}

/** cmake-js arguments for the resolved options. */
export function cmakeJsArgs({ defs, buildType, out, jobs }, root, command = 'build') {
  const args = [command, '-d', root, '-O', out, '--config', buildType];
  args.push('-p', String(jobs || availableParallelism()));
  for (const [k, v] of Object.entries(defs)) args.push(`--CD${k}=${v}`);
  args.push(`--CDCMAKE_BUILD_TYPE=${buildType}`);
  return args;
}
