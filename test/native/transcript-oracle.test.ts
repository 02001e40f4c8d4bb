// The transcript oracle: whisper.cpp's own command line (whisper-cli, built from the same vendored
// tree beside the addon as whisper-cli-native) and the addon give, segment for segment, the same
// texts and times for the same audio and options: greedy and beam search, at 1 and 2 threads.
//
// whisper-cli runs its input files one after another on one context; so does the test, on a fresh
// model per configuration. The order matters: in whisper.cpp 1.9.1 a beam-search transcription
// depends on the calls made before it on the same context (whisper-cli given the same file twice
// prints two different transcripts), which the last test pins down.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, describe, expect, inject, it } from 'vitest';

import { testSignal } from '../../lib/audio/generate.js';
import { loadAudio } from '../../lib/audio/load.js';
import { encodeWav } from '../../lib/audio/wav-codec.js';
import { loadModel } from '../../lib/model/model.js';
import { buildInfo } from '../../lib/system.js';
import { SPAWN_SYNC_MS } from '../fixtures/limits.js';

const tiny = inject('tinyModel');
const tmp = mkdtempSync(join(tmpdir(), 'wp-oracle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cliNative = join(dirname(buildInfo().addonPath), 'whisper-cli-native');

// the encoder over the first 10 s of its 30 s window only (whisper-cli -ac, whisper_full's
// audio_ctx), on both sides: the files are shorter, and the encoder a third of the default's cost
const AUDIO_CTX = 500;

/** [start ms, end ms, text] per segment. */
type Seg = [number, number, string];

// two speech-like files of different lengths and seeds, 16 kHz mono float WAV: read by
// whisper-cli (miniaudio) and by loadAudio without any conversion
const files = [
  { name: 'a.wav', seconds: 9, seed: 3 },
  { name: 'b.wav', seconds: 6, seed: 7 },
].map((f) => {
  const path = join(tmp, f.name);
  writeFileSync(path, encodeWav(testSignal(f.seconds, f.seed), 16000, { float: true }));
  return path;
});

/** whisper-cli on `inputs` in one process: the segments of each file, from its -oj JSON. */
function whisperCli(inputs: string[], threads: number, beamSize: number): Seg[][] {
  const args = ['-m', tiny, '-t', String(threads), '-bo', '1', '-bs', String(beamSize), '-nf', '-ac', String(AUDIO_CTX), '-oj', '-np', '-ng'];
  for (const f of inputs) args.push('-f', f);
  const r = spawnSync(cliNative, args, { encoding: 'utf8', timeout: SPAWN_SYNC_MS });
  expect(r.status, r.stderr).toBe(0);
  return inputs.map((f) => {
    const j = JSON.parse(readFileSync(`${f}.json`, 'utf8')) as { transcription: { offsets: { from: number; to: number }; text: string }[] };
    rmSync(`${f}.json`);
    return j.transcription.map((s): Seg => [s.offsets.from, s.offsets.to, s.text]);
  });
}

/** The addon on `inputs`, one after another on a fresh model, with whisper-cli's options. */
async function addon(inputs: string[], threads: number, beamSize: number): Promise<Seg[][]> {
  const model = await loadModel(tiny, { useGpu: false });
  try {
    const out: Seg[][] = [];
    for (const f of inputs) {
      const { pcm } = await loadAudio(f);
      // whisper-cli: -bs 1 is greedy, -bs N > 1 beam search; -bo 1; -nf: no temperature fallback
      const r = await model.transcribe(pcm, { threads, bestOf: 1, noFallback: true, language: 'en', audioCtx: AUDIO_CTX, ...(beamSize > 1 ? { beamSize } : {}) });
      out.push(r.segments.map((s): Seg => [Math.round(s.start * 1000), Math.round(s.end * 1000), s.text]));
    }
    return out;
  } finally {
    await model.dispose();
  }
}

describe('transcripts: the addon against whisper-cli-native', () => {
  it('whisper-cli-native is built beside the addon (CMake builds it by default in a checkout)', () => {
    expect(existsSync(cliNative), `${cliNative} is missing: rebuild with npm run build:native (or -DWHISPER_PERF_NATIVE_CLI=ON)`).toBe(true);
  });

  for (const [strategy, beamSize] of [['greedy', 1], ['beam search (2 beams)', 2]] as const) {
    for (const threads of [1, 2]) {
      it(`${strategy}, ${threads} thread(s): the same segments, texts and times for each file`, async () => {
        const t0 = performance.now();
        const expected = whisperCli(files, threads, beamSize);
        const t1 = performance.now();
        // something to compare: every file gave at least one segment
        for (const segs of expected) expect(segs.length).toBeGreaterThan(0);
        expect(await addon(files, threads, beamSize)).toEqual(expected);
        console.info(`${strategy} t${threads}: ${expected.map((x) => x.length).join('+')} segments; whisper-cli ${(t1 - t0).toFixed(0)} ms, addon ${(performance.now() - t1).toFixed(0)} ms`);
      });
    }
  }

  it('a beam search depends on the calls before it on the same context, in whisper-cli as in the addon', async () => {
    const again = join(tmp, 'a-again.wav');
    writeFileSync(again, readFileSync(files[0]));
    const [first, second] = whisperCli([files[0], again], 1, 2);
    // the same file twice in one whisper-cli process: two different transcripts (whisper.cpp 1.9.1)
    expect(second).not.toEqual(first);
    expect(await addon([files[0], again], 1, 2)).toEqual([first, second]);
  });
});
