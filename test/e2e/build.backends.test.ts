// A backend asked for whose toolkit or libraries are missing: the build stops at configure, in
// seconds, with one line naming what is missing and how to get it (CMakeLists.txt's checks, repeated
// by scripts/build-native.mjs as its last line), never a generic "not found" or a build without the
// backend. A missing library is made so with CMake's CMAKE_DISABLE_FIND_PACKAGE_<name>, which makes
// find_package find nothing whatever the machine has.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

const tmp = mkdtempSync(join(tmpdir(), 'wp-backends-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** `build-native.mjs --configure-only` into a folder of its own; its status and last stderr line. */
function configure(args: string[]) {
  const out = join(tmp, `b${n++}`);
  const r = spawnSync(process.execPath, ['scripts/build-native.mjs', ...args, '--configure-only', '--out', out], { encoding: 'utf8', timeout: 240_000 });
  const lines = r.stderr.trim().split('\n');
  return { status: r.status, last: lines[lines.length - 1] ?? '', out };
}

const sh = (c: string) => spawnSync('sh', ['-c', c]).status === 0;
const hasNvcc = sh('command -v nvcc');
const hasNvidiaSmi = sh('command -v nvidia-smi');
// cuBLAS's header beside the toolkit (this machine: CUDA 13 without cuBLAS)
// (nvcc may be a wrapper script outside the toolkit, as /usr/local/bin/nvcc is here: look in the usual homes too)
const hasCublas =
  hasNvcc &&
  sh('d=$(dirname "$(readlink -f "$(command -v nvcc)")")/..; ls "$d"/include/cublas_v2.h "$d"/targets/*/include/cublas_v2.h /usr/local/cuda*/include/cublas_v2.h /usr/local/cuda*/targets/*/include/cublas_v2.h /usr/include/cublas_v2.h 2>/dev/null | grep -q .');
const hasLibcuda = sh('ldconfig -p | grep -q "libcuda\\.so"');
const hasOpenblas = sh('dpkg -s libopenblas-dev >/dev/null 2>&1');

describe('build:native with a backend whose libraries are missing', () => {
  it.each([
    ['--blas', 'BLAS', /^\[build\] error: GGML_BLAS needs a BLAS library .* apt-get install libopenblas-dev/],
    ['--opencl', 'OpenCL', /^\[build\] error: GGML_OPENCL needs the OpenCL headers and ICD loader.* apt-get install opencl-headers ocl-icd-opencl-dev/],
    ['--vulkan', 'Vulkan', /^\[build\] error: GGML_VULKAN needs the Vulkan headers, the loader and glslc.* apt-get install libvulkan-dev glslc spirv-headers/],
    ['--cuda', 'CUDAToolkit', /^\[build\] error: GGML_CUDA needs the CUDA toolkit .*-DCUDAToolkit_ROOT=<dir>/],
  ])('%s without %s: exit 1 at configure, the last line names it and how to install it', (flag, pkg, line) => {
    const r = configure([flag, `-DCMAKE_DISABLE_FIND_PACKAGE_${pkg}=TRUE`]);
    expect(r.status).toBe(1);
    expect(r.last).toMatch(line);
  });

  it.skipIf(!hasNvcc || hasNvidiaSmi)('--cuda on a machine with the CUDA compiler and no GPU: names the architecture to give', () => {
    const r = configure(['--cuda']);
    expect(r.status).toBe(1);
    expect(r.last).toMatch(/^\[build\] error: GGML_CUDA with GGML_NATIVE compiles for the GPUs visible now, and nvidia-smi shows none: .*-DCMAKE_CUDA_ARCHITECTURES=90/);
  });

  it.skipIf(!hasNvcc || hasCublas)('--cuda with an architecture named, on a CUDA toolkit without cuBLAS (this machine): names cuBLAS', () => {
    const r = configure(['--cuda', '-DCMAKE_CUDA_ARCHITECTURES=90']);
    expect(r.status).toBe(1);
    expect(r.last).toMatch(/^\[build\] error: GGML_CUDA needs cuBLAS, which the CUDA toolkit here lacks \(CUDA \d+\.\d+\.\d+, nvcc in \/\S+: no cublas_v2.h or libcublas beside it\)/);
  });

  it.skipIf(!hasNvcc || hasLibcuda)('--cuda with cuBLAS named, on a machine without the driver library: names libcuda.so and its stub', () => {
    // any path names a library to FindCUDAToolkit; configure stops before anything links it
    const r = configure(['--cuda', '-DCMAKE_CUDA_ARCHITECTURES=90', '-DCUDA_cublas_LIBRARY=/nonexistent/libcublas.so', '-DCUDA_cublasLt_LIBRARY=/nonexistent/libcublasLt.so']);
    expect(r.status).toBe(1);
    expect(r.last).toMatch(/^\[build\] error: GGML_CUDA links the CUDA driver library \(libcuda.so, .*-DCUDA_cuda_driver_LIBRARY=<file>.*-DGGML_CUDA_NO_VMM=ON/);
  });

  it.skipIf(!hasOpenblas)('--blas where libopenblas-dev is installed: configures, and leaves no reason behind', () => {
    const r = configure(['--blas']);
    expect(r.status).toBe(0);
    expect(r.last).toBe(`[build] ${r.out}`);
    expect(existsSync(join(r.out, 'whisper-perf-configure-error.txt'))).toBe(false);
  });
});
