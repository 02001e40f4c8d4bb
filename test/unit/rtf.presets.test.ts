import { describe, expect, it } from 'vitest';

import { getPreset, PRESET_NAMES, PRESETS, presetFullParams, presetRows, presetThreads, resolvePreset } from '../../lib/presets.js';
import { formatPresets } from '../../lib/cli/presets.js';
import { transcribeOptions } from '../../lib/model/transcription.js';
import { WhisperPerfError } from '../../lib/errors.js';

const H = { nTextCtx: 448, nAudioCtx: 1500 };

describe('presets', () => {
  it('are the four named sets, each with a summary and a thread policy', () => {
    expect(PRESET_NAMES).toEqual(['speed', 'balanced', 'quality', 'realtime']);
    for (const n of PRESET_NAMES) {
      expect(PRESETS[n].name).toBe(n);
      expect(PRESETS[n].summary.length).toBeGreaterThan(20);
      expect(Object.isFrozen(PRESETS[n].params)).toBe(true);
    }
  });

  it('send exactly the documented whisper_full parameters', () => {
    const speed = presetFullParams('speed', 8);
    expect(speed).toMatchObject({ threads: 8, beamSearch: false, bestOf: 1, temperature: 0, temperatureInc: 0, audioCtx: 0, maxTextCtx: 64, singleSegment: false });
    const quality = presetFullParams('quality', 8);
    expect(quality).toMatchObject({ threads: 8, beamSearch: true, beamSize: 5, bestOf: 5, temperatureInc: 0.2, entropyThold: 2.4, logprobThold: -1, noSpeechThold: 0.6, maxTextCtx: 16384 });
    const realtime = presetFullParams('realtime', 8);
    expect(realtime).toMatchObject({ threads: 7, beamSearch: false, bestOf: 1, temperatureInc: 0, singleSegment: true, maxTextCtx: 64 });
    expect(presetFullParams('balanced', 8).threads).toBe(4);
    // audio_ctx stays full everywhere: a reduced one would skip audio and flatter the RTF
    for (const n of PRESET_NAMES) expect(presetFullParams(n, 8).audioCtx).toBe(0);
  });

  it('balanced is exactly what transcribe() does without a preset', () => {
    const cores = presetThreads('whisper-default');
    expect(presetFullParams('balanced')).toEqual((({ wantProgress: _a, wantSegments: _b, ...rest }) => rest)(transcribeOptions({ threads: cores }, H)));
  });

  it('thread policies: all, all-but-one (at least 1), whisper-default min(4, cores)', () => {
    expect(presetThreads('all', 16)).toBe(16);
    expect(presetThreads('all-but-one', 16)).toBe(15);
    expect(presetThreads('all-but-one', 1)).toBe(1);
    expect(presetThreads('whisper-default', 16)).toBe(4);
    expect(presetThreads('whisper-default', 2)).toBe(2);
  });

  it('explicit options win over the preset; undefined does not erase it', () => {
    const o = resolvePreset({ preset: 'quality', threads: 3, bestOf: 2, beamSize: undefined, language: 'de' }, 8);
    expect(o).toMatchObject({ threads: 3, bestOf: 2, beamSize: 5, language: 'de', temperatureInc: 0.2 });
    expect(o).not.toHaveProperty('preset');
    // beamSize 0 asks for greedy over a beam-search preset
    expect(resolvePreset({ preset: 'quality', beamSize: 0 }, 8)).not.toHaveProperty('beamSize');
    expect(transcribeOptions(resolvePreset({ preset: 'quality', beamSize: 0 }, 8), H).beamSearch).toBe(false);
    // explicit fallback on a no-fallback preset
    expect(transcribeOptions(resolvePreset({ preset: 'speed', temperatureInc: 0.4 }, 8), H).temperatureInc).toBe(0.4);
    // no preset: the options come back as given
    expect(resolvePreset({ threads: 2, bestOf: 3 })).toEqual({ threads: 2, bestOf: 3 });
    // the preset's thread policy applies only when threads is not given
    expect(resolvePreset({ preset: 'speed' }, 6).threads).toBe(6);
  });

  it('an unknown preset is INVALID_ARGUMENT naming the presets', () => {
    for (const bad of ['fast', '', 'Speed', 3, null]) {
      let err: unknown;
      try {
        getPreset(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WhisperPerfError);
      expect((err as WhisperPerfError).code).toBe('INVALID_ARGUMENT');
      expect((err as Error).message).toContain('speed, balanced, quality, realtime');
    }
    expect(() => resolvePreset({ preset: 'turbo' as never })).toThrow(/preset/);
  });

  it('presets table: every format carries the exact parameters', () => {
    const rows = presetRows(8);
    expect(rows.map((r) => r.preset)).toEqual([...PRESET_NAMES]);
    expect(rows.find((r) => r.preset === 'quality')).toMatchObject({ decoding: 'beam', beam_size: 5, best_of: 5, fallback: true, threads: 8, threads_policy: 'all' });
    expect(rows.find((r) => r.preset === 'speed')).toMatchObject({ decoding: 'greedy', beam_size: null, best_of: 1, fallback: false, max_text_ctx: 64 });
    const json = JSON.parse(formatPresets(rows, 'json', 8));
    expect(json).toHaveLength(4);
    expect(json[2].whisper_full).toEqual(presetFullParams('quality', 8));
    const md = formatPresets(rows, 'md', 8);
    expect(md.split('\n')[0]).toContain('beam_size');
    expect(md).toContain('| quality');
    expect(md).toContain('- **realtime**:');
    const csv = formatPresets(rows, 'csv', 8).trim().split('\n');
    expect(csv).toHaveLength(5);
    expect(csv[0].split(',')).toContain('temperature_inc');
    const sql = formatPresets(rows, 'sql', 8);
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS presets');
    expect(sql.match(/INSERT INTO presets/g)).toHaveLength(4);
    expect(formatPresets(rows, 'jsonl', 8).trim().split('\n')).toHaveLength(4);
  });
});
