import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { Stat } from '../../lib/measure/types.js';
import { detectFormat, parseCsv, parseImport } from '../../lib/store/native-import.js';
import { encoderRow } from '../fixtures/rows.js';

const fixture = (name: string) => readFileSync(join(process.cwd(), 'test', 'fixtures', 'native', name), 'utf8');
const st = (r: Record<string, unknown>, k: string) => r[k] as Stat;

describe('import: whisper-bench', () => {
  // captured from this repository's whisper-bench (build/Release/whisper-bench-native -t 1)
  const text = fixture('whisper-bench-t1.txt');

  it('one run: an encoder row with whisper-bench per-run timings, marked native', () => {
    expect(detectFormat(text)).toBe('whisper-bench');
    const r = parseImport(text, { timestamp: '2025-05-01T00:00:00.000Z' });
    expect(r.rows).toHaveLength(1);
    const row = r.rows[0];
    expect(row).toMatchObject({ what: 'encoder', model: '.cache/test/synthetic/ggml-tiny.en-f16-seed0.bin', model_type: 'tiny', ftype: 'f16', threads: 1, cpu_cores: 2, flash_attn: true, device: 'cpu', native: true, source: 'whisper-bench', timestamp: '2025-05-01T00:00:00.000Z', synthetic: true });
    expect(st(row, 'encode_ms').samples).toEqual([1511.94]);
    expect(st(row, 'decode_ms').median).toBeCloseTo(5974.6 / 256, 5);
    expect(st(row, 'batchd_ms').median).toBeCloseTo(4293.44 / 320, 5);
    expect(st(row, 'prompt_ms').median).toBeCloseTo(8417.36 / 4096, 5);
    expect(st(row, 'load_ms').median).toBe(263.02);
    expect(row.cpu_features).toContain('avx2');
    expect(r.facts.system).toMatchObject({ cores: 2 });
  });

  it('several runs in one log: split per run; repeats of a configuration become samples', () => {
    const t2 = text.replace('n_threads = 1 / 2', 'n_threads = 2 / 2').replace('1511.94 ms per run', '801.00 ms per run').replace('encode time =  1511.94 ms', 'encode time =   801.00 ms');
    const again = text.replace(/1511\.94/g, '1500.00');
    const r = parseImport([text, t2, again].join('\n'));
    expect(r.rows.map((x) => x.threads)).toEqual([1, 2]);
    expect(st(r.rows[0], 'encode_ms').samples).toEqual([1511.94, 1500]);
    expect(r.rows[0].repetitions).toBe(2);
    expect(st(r.rows[1], 'encode_ms').samples).toEqual([801]);
  });

  it('memcpy and mul_mat output (-w 1, -w 2)', () => {
    const mem = 'system_info: n_threads = 2 / 2 | CPU : AVX2 = 1 |\nmemcpy:    9.50 GB/s (heat-up)\nmemcpy:   10.25 GB/s ( 1 thread)\nmemcpy:   10.50 GB/s ( 1 thread)\nmemcpy:   18.75 GB/s ( 2 thread)\nsum:    -5120000.000000\n';
    const m = parseImport(mem);
    expect(m.rows).toHaveLength(1);
    expect(m.rows[0]).toMatchObject({ what: 'memcpy', threads: 2, native: true });
    expect(st(m.rows[0], 'memcpy_gbps').samples).toEqual([18.75]);
    const mm = 'system_info: n_threads = 2 / 2 | CPU : AVX2 = 1 |\n  64 x   64: Q4_0     5.1 GFLOPS (128 runs) | Q4_1     4.9 GFLOPS (128 runs)\n  64 x   64: Q5_0     4.5 GFLOPS (128 runs) | Q5_1     4.4 GFLOPS (128 runs) | Q8_0     6.0 GFLOPS (128 runs)\n  64 x   64: F16      7.5 GFLOPS (128 runs) | F32      3.2 GFLOPS (128 runs)\n';
    const g = parseImport(mm);
    expect(g.rows.map((x) => x.mulmat_type)).toEqual(['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'F16', 'F32']);
    expect(st(g.rows[5], 'mulmat_gflops').median).toBe(7.5);
  });
});

describe('import: whisper-cli', () => {
  it("a run's timing lines: an rtf row (process time = total − load, over the audio's duration)", () => {
    const text = fixture('whisper-cli.txt');
    expect(detectFormat(text)).toBe('whisper-cli');
    const row = parseImport(text).rows[0];
    expect(row).toMatchObject({ what: 'rtf', model: 'models/ggml-base.en.bin', model_type: 'base', file: 'samples/jfk.wav', audio_s: 11, threads: 4, processors: 1, beam_size: 5, best_of: 5, language: 'en', task: 'transcribe', native: true, source: 'whisper-cli' });
    expect(st(row, 'process_s').median).toBeCloseTo((797.23 - 87.23) / 1000, 6);
    expect(st(row, 'rtf').median).toBeCloseTo(0.71 / 11, 6);
    expect(st(row, 'rtfx').median).toBeCloseTo(11 / 0.71, 4);
    expect(st(row, 'encode_ms').median).toBe(512.4);
    expect(st(row, 'sample_ms').median).toBe(31.18);
  });
});

describe('import: bench.py CSV', () => {
  it('one rtf row per line, the commit and hardware kept', () => {
    const text = fixture('bench-py.csv');
    expect(detectFormat(text)).toBe('bench-py');
    const r = parseImport(text);
    expect(r.rows.map((x) => [x.model, x.threads])).toEqual([
      ['ggml-tiny.en.bin', 4],
      ['ggml-tiny.en.bin', 2],
      ['ggml-base.en.bin', 4],
    ]);
    expect(r.rows[0]).toMatchObject({ what: 'rtf', audio_s: 11, processors: 1, commit: 'a1b2c3d', hardware: 'CPU', native: true, source: 'bench.py' });
    expect(st(r.rows[0], 'rtf').median).toBeCloseTo((260.1 - 40.5) / 1000 / 11, 6);
    expect(st(r.rows[0], 'encode_ms').median).toBe(150.3);
    expect(r.facts.git_commit).toBe('a1b2c3d');
  });

  it('reads RFC 4180 quoting', () => {
    expect(parseCsv('a,b\n"x, ""y""",2\r\n')).toEqual([
      ['a', 'b'],
      ['x, "y"', '2'],
    ]);
  });
});

describe('import: whisper-perf JSON and bad input', () => {
  it('rows from bench -o json or jsonl come in as they are', () => {
    const rows = [encoderRow(), { ...encoderRow(), threads: 4 }];
    expect(parseImport(JSON.stringify(rows, null, 2)).rows).toEqual(rows);
    expect(parseImport(rows.map((r) => JSON.stringify(r)).join('\n')).rows).toEqual(rows);
  });

  it('text of no known format, or with no results: a usage error naming the file', () => {
    expect(() => parseImport('hello world', { name: 'notes.txt' })).toThrow(/notes\.txt: not a format whisper-perf imports/);
    expect(() => parseImport('[{"x": 1}]', { name: 'x.json' })).toThrow(/not a whisper-perf row/);
    expect(() => parseImport('system_info: n_threads = 1 / 2 |\n', { format: 'whisper-bench', name: 'b.txt' })).toThrow(/no results found/);
  });
});
