// Memory guards (issue #11, part 4): loadModel estimates before allocating and refuses above a
// limit with MEMORY_LIMIT; a model file that changes between validation and load is refused.
import { copyFileSync, mkdtempSync, rmSync, truncateSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, inject, it } from 'vitest';

import { testSignal } from '../../lib/audio/generate.js';
import { streamMemoryBytes } from '../../lib/workloads/capacity.js';
import { stateMemory } from '../../lib/memory.js';
import { loadAudio } from '../../lib/audio/load.js';
import { encodeWav } from '../../lib/audio/wav-codec.js';
import { WhisperPerfError } from '../../lib/errors.js';
import { loadHooks, loadModel } from '../../lib/model/model.js';
import { loadBinding } from '../../lib/native.js';

const tiny = inject('tinyModel');
const dir = mkdtempSync(join(tmpdir(), 'wp-mem-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof WhisperPerfError ? e.code : String(e);
  }
};

describe('memory guard', () => {
  it('estimates the model within 15% of the buffers whisper.cpp reports', async () => {
    const m = await loadModel(tiny, { useGpu: false });
    try {
      const actual = m.info.buffers.total;
      const ratio = m.info.estimatedBytes / actual;
      console.log(`memory estimate: ${(m.info.estimatedBytes / 1e6).toFixed(1)} MB estimated, ${(actual / 1e6).toFixed(1)} MB reported by whisper.cpp (ratio ${ratio.toFixed(3)})`);
      expect(ratio).toBeGreaterThan(0.85);
      expect(ratio).toBeLessThan(1.15);
    } finally {
      await m.dispose();
    }
  });

  it('refuses a model above memoryLimit with MEMORY_LIMIT before allocating anything', async () => {
    const before = loadBinding().stats();
    const rss0 = process.memoryUsage().rss;
    const e = await loadModel(tiny, { useGpu: false, memoryLimit: '64M' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WhisperPerfError);
    expect((e as WhisperPerfError).code).toBe('MEMORY_LIMIT');
    expect((e as Error).message).toMatch(/needs about \d+(\.\d)? MB/);
    expect(loadBinding().stats()).toEqual(before); // no whisper context was created
    expect(process.memoryUsage().rss - rss0).toBeLessThan(40e6); // the 220 MB were never allocated
  });

  it('reads WHISPER_PERF_MEMORY_LIMIT, and refuses a limit that is not a size', async () => {
    process.env.WHISPER_PERF_MEMORY_LIMIT = '1M';
    try {
      expect(await codeOf(loadModel(tiny, { useGpu: false }))).toBe('MEMORY_LIMIT');
      process.env.WHISPER_PERF_MEMORY_LIMIT = 'lots';
      expect(await codeOf(loadModel(tiny, { useGpu: false }))).toBe('INVALID_ARGUMENT');
    } finally {
      delete process.env.WHISPER_PERF_MEMORY_LIMIT;
    }
    expect(await codeOf(loadModel(tiny, { useGpu: false, memoryLimit: -5 }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(loadModel(tiny, { useGpu: false, memoryLimit: {} as never }))).toBe('INVALID_ARGUMENT');
  });

  it('createState uses the same guard', async () => {
    const m = await loadModel(tiny, { useGpu: false, memoryLimit: '2G' });
    try {
      const st = await m.createState();
      await st.dispose();
    } finally {
      await m.dispose();
    }
    expect(loadBinding().stats()).toEqual({ liveContexts: 0, liveExecutors: 0 });
  });
});

describe('the memory capacity plans with, against the buffers whisper.cpp logs', () => {
  it('one more state: what stateMemory counts is what whisper_init_state logs for a new state; a worker adds the logged weights', async () => {
    const lines: string[] = [];
    const m = await loadModel(tiny, { useGpu: false, onLog: (_level, text) => lines.push(text) });
    try {
      const atLoad = lines.length;
      const st = await m.createState();
      await st.dispose();
      // whisper.cpp's own lines for the new state, read here: "kv self size  =    3.15 MB",
      // "compute buffer (decode) =   95.91 MB" …
      const stateLines = lines.slice(atLoad).join('');
      const mb = [...stateLines.matchAll(/(kv self size|kv cross size|kv pad +size|compute buffer \((?:conv|encode|cross|decode)\)) *= *([\d.]+) MB/g)];
      expect(mb.map((x) => x[1].replace(/ +/g, ' ')).sort()).toEqual(
        ['compute buffer (conv)', 'compute buffer (cross)', 'compute buffer (decode)', 'compute buffer (encode)', 'kv cross size', 'kv pad size', 'kv self size'],
      );
      const logged = mb.reduce((a, x) => a + Number(x[2]) * 1e6, 0);
      const one = stateMemory(m.info.buffers, 1);
      expect(one.known).toBe(true);
      // the logged figures have two decimals of MB: 7 of them, each within 5 kB
      expect(Math.abs(one.total - logged)).toBeLessThanOrEqual(7 * 5_000);
      const weights = Number(/model size += +([\d.]+) MB/.exec(lines.slice(0, atLoad).join(''))![1]) * 1e6;
      expect(Math.abs(streamMemoryBytes('workers', m.info.buffers) - (logged + weights))).toBeLessThanOrEqual(8 * 5_000);
    } finally {
      await m.dispose();
    }
  });
});

describe('audio decoding', () => {
  it('refuses a WAV whose decoded PCM is above WHISPER_PERF_MEMORY_LIMIT with MEMORY_LIMIT', async () => {
    const wav = encodeWav(testSignal(2), 16000);
    process.env.WHISPER_PERF_MEMORY_LIMIT = '64K';
    try {
      expect(await codeOf(loadAudio(wav, { ffmpeg: false }))).toBe('MEMORY_LIMIT');
    } finally {
      delete process.env.WHISPER_PERF_MEMORY_LIMIT;
    }
    expect((await loadAudio(wav, { ffmpeg: false })).pcm.length).toBe(32000);
  });
});

describe('a model file that changes between validation and load', () => {
  for (const how of ['truncated', 'replaced', 'rewritten'] as const) {
    it(`is refused with MODEL_INVALID when ${how}, and the process lives on`, async () => {
      const path = join(dir, `${how}.bin`);
      copyFileSync(tiny, path);
      loadHooks.beforeNativeLoad = () => {
        if (how === 'truncated') truncateSync(path, 1_000_000);
        else if (how === 'replaced') {
          writeFileSync(path + '.new', 'not a model');
          renameSync(path + '.new', path);
        } else {
          // same size, new bytes: the modification time tells
          writeFileSync(path, Buffer.alloc(16), { flag: 'r+' });
        }
      };
      try {
        expect(await codeOf(loadModel(path, { useGpu: false }))).toBe('MODEL_INVALID');
      } finally {
        loadHooks.beforeNativeLoad = undefined;
      }
      expect(loadBinding().stats()).toEqual({ liveContexts: 0, liveExecutors: 0 });
      const ok = await loadModel(tiny, { useGpu: false });
      await ok.dispose();
    });
  }
});
