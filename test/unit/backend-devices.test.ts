// A GPU backend compiled in that registered no device: which ones, and why, from the lines ggml's
// backends log while registering (systemInfo().registryLog). The OpenCL lines are those the pinned
// ggml wrote on Debian 12's pocl 3.1 (a CPU OpenCL device), the Vulkan one on Mesa's llvmpipe
// without GGML_VK_VISIBLE_DEVICES.
import { describe, expect, it } from 'vitest';

import { absentGpuBackends } from '../../lib/system.js';

const WARN = 3;
const INFO = 2;
const poclLog = [
  { level: INFO, text: "ggml_opencl: selected platform: 'Portable Computing Language'\n" },
  { level: INFO, text: "\nggml_opencl: device: 'pthread-skylake-avx512-AMD EPYC (OpenCL 3.0 PoCL HSTR: pthread-x86_64-pc-linux-gnu-skylake-avx512)'\n" },
  { level: WARN, text: "ggml_opencl: unsupported GPU 'pthread-skylake-avx512-AMD EPYC'.\n" },
  { level: WARN, text: "ggml_opencl: drop unsupported device 'pthread-skylake-avx512-AMD EPYC'.\n" },
];
const cpu = { backend: 'CPU' };

describe('absentGpuBackends', () => {
  it('names an OpenCL build whose device ggml dropped, with the backend\'s own words and what they mean', () => {
    const [a, ...rest] = absentGpuBackends(['cpu', 'opencl'], [cpu], poclLog);
    expect(rest).toEqual([]);
    expect(a.backend).toBe('opencl');
    // the warnings, not the INFO lines around them, each once, on one line
    expect(a.reason).toBe(
      "ggml's opencl backend registered no device: ggml_opencl: unsupported GPU 'pthread-skylake-avx512-AMD EPYC'.; ggml_opencl: drop unsupported device 'pthread-skylake-avx512-AMD EPYC'. " +
        "(the pinned ggml's OpenCL backend accepts only Adreno, Qualcomm and Intel GPUs with OpenCL C 2.0+, cl_khr_fp16 and subgroups)",
    );
    expect(a.reason).not.toContain('\n');
  });

  it('is empty when the backend has a device, and for backends without devices of their own (blas)', () => {
    expect(absentGpuBackends(['cpu', 'opencl'], [cpu, { backend: 'OpenCL' }], poclLog)).toEqual([]);
    expect(absentGpuBackends(['cpu', 'vulkan'], [cpu, { backend: 'Vulkan' }], [])).toEqual([]);
    expect(absentGpuBackends(['cpu', 'blas'], [cpu, { backend: 'BLAS' }], [])).toEqual([]);
    expect(absentGpuBackends(['cpu'], [cpu], poclLog)).toEqual([]);
  });

  it('says how a software Vulkan device is reached when ggml found none and the variable is not set', () => {
    const log = [{ level: INFO, text: 'ggml_vulkan: No devices found.\n' }];
    const [a] = absentGpuBackends(['cpu', 'vulkan'], [cpu], log, {});
    expect(a.reason).toMatch(/^ggml's vulkan backend registered no device: ggml_vulkan: No devices found\. \(.*GGML_VK_VISIBLE_DEVICES=0\)$/);
    // with the variable set the hint would be wrong: only the backend's words
    expect(absentGpuBackends(['cpu', 'vulkan'], [cpu], log, { GGML_VK_VISIBLE_DEVICES: '0' })[0].reason).toBe("ggml's vulkan backend registered no device: ggml_vulkan: No devices found.");
  });

  it('still names the backend when it logged nothing, and says when the addon predates the log', () => {
    expect(absentGpuBackends(['cpu', 'cuda'], [cpu], [{ level: INFO, text: 'something else\n' }])).toEqual([{ backend: 'cuda', reason: "ggml's cuda backend registered no device" }]);
    expect(absentGpuBackends(['cpu', 'cuda'], [cpu], [])[0].reason).toMatch(/rebuild it to see why/);
  });
});
