// Which device holds a model's weights, from the buffer sizes whisper.cpp logs while loading.
import { describe, expect, it } from 'vitest';

import { weightsBackend } from '../../lib/model/model.js';

describe('weightsBackend', () => {
  it('counts the CPU backend extra buffer types (AMX, repack) as CPU', () => {
    // seen on a CPU with AMX: tiny.en's weights split 33 MB AMX + 44 MB CPU
    expect(weightsBackend({ AMX: 33_030_000, CPU: 44_080_000 })).toBe('CPU');
    expect(weightsBackend({ AMX: 60_000_000, CPU: 10_000_000 })).toBe('CPU');
    expect(weightsBackend({ CPU_REPACK: 5, CPU_AARCH64: 5, CPU: 1 })).toBe('CPU');
  });

  it('names the GPU buffer when the GPU holds most of the weights', () => {
    expect(weightsBackend({ CUDA0: 70_000_000, CPU: 7_000_000 })).toBe('CUDA0');
    expect(weightsBackend({ Vulkan0: 70_000_000, CPU_REPACK: 1 })).toBe('Vulkan0');
  });

  it('is CPU when nothing was logged', () => {
    expect(weightsBackend({})).toBe('CPU');
  });
});
