import { describe, expect, it } from 'vitest';

import { cellKey, cellKeyOfRow } from '../../lib/measure/cells.js';
import { higherIsBetter, metricsOf, paramsOf } from '../../lib/store/metrics.js';
import { encoderRow, mulmatRow } from '../fixtures/rows.js';
import { rtfRow } from '../fixtures/store.js';

const R = (r: unknown) => r as Record<string, unknown> & { what: string };

describe('what a row measured, under which parameters', () => {
  it('parameters: what, settings and other strings/booleans; never provenance or results', () => {
    expect(paramsOf(R(encoderRow()))).toEqual({ what: 'encoder', device: 'cpu', flash_attn: 'true', model: 'ggml-base.en.bin', threads: '2' });
    expect(paramsOf(R(rtfRow('/m/ggml-tiny.bin', 4, [0.1, 0.2, 0.3])))).toEqual({ what: 'rtf', audio_s: '30', device: 'cpu', file: 'speech-30s.wav', flash_attn: 'true', model: 'ggml-tiny.bin', preset: 'balanced', threads: '4' });
    expect(paramsOf(R(mulmatRow()))).toMatchObject({ what: 'mulmat', mulmat_type: 'Q8_0', mulmat_size: '256' });
  });

  it('metrics: every Stat with its samples, every figure; parameters and provenance left out', () => {
    const m = metricsOf(R(rtfRow('/m/ggml-tiny.bin', 4, [0.1, 0.2, 0.3])));
    const names = m.map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['load_ms', 'encode_ms', 'rtf', 'rtfx', 'process_s', 'peak_rss_mb', 'cpu_pct', 'encoder_gflops']));
    expect(names).not.toContain('threads');
    expect(names).not.toContain('audio_s');
    expect(names).not.toContain('memory_bytes');
    expect(names).not.toContain('cpu_cores');
    const rtf = m.find((x) => x.name === 'rtf')!;
    expect(rtf).toMatchObject({ n: 3, median: 0.2, value: 0.2, samples: [0.1, 0.2, 0.3] });
    expect(m.find((x) => x.name === 'peak_rss_mb')).toMatchObject({ value: 312.5, n: null, samples: null });
  });

  it('direction: rates are better higher, times, RTF and memory lower', () => {
    for (const k of ['memcpy_gbps', 'mulmat_gflops', 'encoder_gflops', 'rtfx', 'speedup', 'efficiency']) expect(higherIsBetter(k), k).toBe(true);
    for (const k of ['encode_ms', 'rtf', 'process_s', 'peak_rss_mb', 'cpu_pct', 'wer', 'first_segment_ms']) expect(higherIsBetter(k), k).toBe(false);
  });

  it("a row's cell key is the key the engine skips on --resume", () => {
    const r = encoderRow();
    expect(cellKeyOfRow(R(r))).toBe(cellKey({ what: 'encoder', model: r.model, device: r.device, flash_attn: r.flash_attn, threads: r.threads }));
    const m = mulmatRow();
    expect(cellKeyOfRow(R(m))).toBe(cellKey({ what: 'mulmat', model: '', device: 'cpu', flash_attn: false, threads: m.threads }));
    expect(cellKeyOfRow(R({ ...m, mulmat_size: 512 }))).toBe(cellKeyOfRow(R(m)));
    expect(cellKeyOfRow(R(rtfRow('/m/a.bin', 1, [1])))).not.toBe(cellKeyOfRow(R({ ...rtfRow('/m/a.bin', 1, [1]), preset: 'speed' })));
  });
});
