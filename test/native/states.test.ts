// Several whisper states over one model's weights: each with its own KV caches, compute buffers
// and compute thread, so they transcribe at once without copying the weights.
import { describe, expect, inject, it } from 'vitest';

import { testSignal } from '../../lib/audio/generate.js';
import { WhisperPerfError } from '../../lib/errors.js';
import { loadModel } from '../../lib/model/model.js';
import { loadBinding } from '../../lib/native.js';

const tiny = inject('tinyModel');
const opts = { threads: 1, maxTokens: 4, noFallback: true, singleSegment: true };

describe('whisper states', () => {
  it('transcribe at once on their own threads, and go before their model', async () => {
    const model = await loadModel(tiny, { useGpu: false });
    const [a, b] = await Promise.all([model.createState(), model.createState()]);
    const threads = new Set([model.threadId, a.threadId, b.threadId]);
    expect(threads.size).toBe(3);
    const pcm = testSignal(3);
    const started = performance.now();
    const [ra, rb, rm] = await Promise.all([a.transcribe(pcm, opts), b.transcribe(pcm, opts), model.transcribe(pcm, opts)]);
    const wall = performance.now() - started;
    expect(ra.tid).toBe(a.threadId);
    expect(rb.tid).toBe(b.threadId);
    expect(rm.tid).toBe(model.threadId);
    // the same weights and input give the same text on every state
    expect(ra.text).toBe(rm.text);
    expect(rb.text).toBe(rm.text);
    // whisper.cpp keeps stage timings for the default state only
    expect(ra.timings).toBeNull();
    expect(rm.timings.encode.runs).toBeGreaterThanOrEqual(1);
    // they overlapped: the three together took less than the three one after another
    expect(wall).toBeLessThan(ra.ms + rb.ms + rm.ms);
    expect(loadBinding().stats()).toMatchObject({ liveContexts: 1, liveExecutors: 3 });
    await model.dispose(); // disposes a and b first
    expect(a.disposed && b.disposed).toBe(true);
    expect(loadBinding().stats()).toEqual({ liveContexts: 0, liveExecutors: 0 });
  });

  it('a disposed state rejects with DISPOSED, an aborted one with ABORTED, and the model lives on', async () => {
    const model = await loadModel(tiny, { useGpu: false });
    try {
      const s = await model.createState();
      const ac = new AbortController();
      const p = s.transcribe(testSignal(10), { threads: 1, signal: ac.signal });
      setTimeout(() => ac.abort(), 30);
      await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
      await s.dispose();
      await expect(s.transcribe(testSignal(1), opts)).rejects.toBeInstanceOf(WhisperPerfError);
      await expect(s.transcribe(testSignal(1), opts)).rejects.toMatchObject({ code: 'DISPOSED' });
      await expect(s.transcribe(new Float32Array(0), opts)).rejects.toMatchObject({ code: 'DISPOSED' });
      expect((await model.transcribe(testSignal(1), opts)).synthetic).toBe(true);
    } finally {
      await model.dispose();
    }
    await expect(model.createState()).rejects.toMatchObject({ code: 'DISPOSED' });
  });
});
