// Capacity's pure parts: decoders, the memory a stream needs, the memory check, the largest
// real-time N, memory sizes, and the rows' outputs (no addon).
import { describe, expect, it } from 'vitest';

import { capacity, checkCapacityMemory, maxRealtimeStreams, streamMemoryBytes } from '../../lib/workloads/capacity.js';
import { workerExecArgv } from '../../lib/workloads/capacity-cells.js';
import { availableMemory, maxDecoders, parseMemorySize, stateMemory } from '../../lib/memory.js';
import type { BenchRow } from '../../lib/measure/types.js';
import { WhisperPerfError } from '../../lib/errors.js';
import { formatRows } from '../../lib/report/formats.js';

// tiny.en as whisper.cpp 1.9.1 reports it (bytes)
const TINY = { model: 77_110_000, kvSelf: 3_150_000, kvCross: 9_440_000, kvPad: 2_360_000, computeConv: 13_210_000, computeEncode: 17_720_000, computeCross: 3_890_000, computeDecode: 95_910_000, byBuffer: {}, total: 0 };

function errorOf(f: () => unknown): WhisperPerfError | undefined {
  try {
    f();
  } catch (e) {
    return e as WhisperPerfError;
  }
  return undefined;
}

describe('maxDecoders (whisper_full)', () => {
  const greedy = { beamSearch: false, beamSize: 5, bestOf: 5, temperature: 0, temperatureInc: 0.2 };
  it('greedy with fallback can run best-of decoders; without fallback one', () => {
    expect(maxDecoders(greedy)).toBe(5);
    expect(maxDecoders({ ...greedy, temperatureInc: 0 })).toBe(1);
    expect(maxDecoders({ ...greedy, temperatureInc: 0, temperature: 0.4 })).toBe(5);
    expect(maxDecoders({ ...greedy, bestOf: 1 })).toBe(1);
  });
  it('beam search runs the beam at temperature 0, best-of on fallback', () => {
    expect(maxDecoders({ ...greedy, beamSearch: true, beamSize: 8, temperatureInc: 0 })).toBe(8);
    expect(maxDecoders({ ...greedy, beamSearch: true, beamSize: 2, bestOf: 6 })).toBe(6);
  });
});

describe('memory of a stream', () => {
  // the arithmetic on figures given here; test/native/memory.test.ts checks the one-decoder total
  // against the lines whisper.cpp logs for a real new state. The factor for several decoders
  // (n + 2) is whisper_full's (src/whisper.cpp, "overallocate to workaround KV cache
  // fragmentation"), which logs nothing when it reallocates: no log to compare it with.
  it('a state: KV caches (self × decoders + 2 when several) and the four compute buffers', () => {
    const one = stateMemory(TINY, 1);
    expect(one).toMatchObject({ kvSelf: 3_150_000, kvCross: 9_440_000, kvPad: 2_360_000, compute: 130_730_000, known: true });
    expect(one.total).toBe(3_150_000 + 9_440_000 + 2_360_000 + 130_730_000);
    expect(stateMemory(TINY, 5).kvSelf).toBe(3_150_000 * 7);
    expect(stateMemory({}, 1)).toMatchObject({ total: 0, known: false });
  });
  it('a worker also holds the weights (the file size when the log did not say)', () => {
    expect(streamMemoryBytes('states', TINY)).toBe(stateMemory(TINY).total);
    expect(streamMemoryBytes('workers', TINY)).toBe(stateMemory(TINY).total + 77_110_000);
    expect(streamMemoryBytes('workers', { ...TINY, model: undefined }, 1, 75_000_000)).toBe(stateMemory(TINY).total + 75_000_000);
  });
  it('checkCapacityMemory refuses N that do not fit with INVALID_ARGUMENT, saying how many would', () => {
    const per = 150e6;
    expect(() => checkCapacityMemory(4, per, { bytes: 600e6, source: 'freemem' })).not.toThrow();
    const e = errorOf(() => checkCapacityMemory(8, per, { bytes: 1e9, source: 'memory-limit' }));
    expect(e).toBeInstanceOf(WhisperPerfError);
    expect(e!.code).toBe('INVALID_ARGUMENT');
    expect(e!.message).toBe('8 whisper states need 1200 MB (150 MB each) but only 1000 MB is available (--memory-limit); at most 6 fit');
    expect(errorOf(() => checkCapacityMemory(2, per, { bytes: 100e6, source: 'freemem' }, 'workers'))!.message).toMatch(/worker threads with a model each.*free memory/);
    expect(errorOf(() => checkCapacityMemory(0, per, { bytes: 1e9, source: 'freemem' }))!.code).toBe('INVALID_ARGUMENT');
  });
  it('availableMemory: the limit when given, else a positive figure from the OS', () => {
    expect(availableMemory(123)).toEqual({ bytes: 123, source: 'memory-limit' });
    const a = availableMemory();
    expect(a.bytes).toBeGreaterThan(0);
    expect(['freemem', 'cgroup']).toContain(a.source);
  });
  it('parseMemorySize: bytes and binary K/M/G/T', () => {
    expect(parseMemorySize('1024')).toBe(1024);
    expect(parseMemorySize('512M')).toBe(512 * 1024 ** 2);
    expect(parseMemorySize('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseMemorySize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseMemorySize('4 kb')).toBe(4096);
    for (const bad of ['', 'lots', '-1G', '0', '1X']) expect(errorOf(() => parseMemorySize(bad))?.code).toBe('INVALID_ARGUMENT');
  });
});

describe('workerExecArgv', () => {
  it('drops --input-type (node -e only), keeps the rest', () => {
    expect(workerExecArgv(['--input-type=module', '--max-old-space-size=512'])).toEqual(['--max-old-space-size=512']);
    expect(workerExecArgv(['--input-type', 'module', '--enable-source-maps'])).toEqual(['--enable-source-maps']);
    expect(workerExecArgv([])).toEqual([]);
  });
});

describe('maxRealtimeStreams', () => {
  const c = (streams: number, realtimeOk: boolean) => ({ streams, realtimeOk });
  it('the largest N real-time with every smaller N real-time too', () => {
    expect(maxRealtimeStreams([c(1, true), c(2, true), c(4, false), c(8, false)])).toBe(2);
    expect(maxRealtimeStreams([c(4, true), c(1, true), c(2, true)])).toBe(4);
    expect(maxRealtimeStreams([c(1, true), c(2, false), c(4, true)])).toBe(1);
    expect(maxRealtimeStreams([c(1, false), c(2, true)])).toBe(0);
    expect(maxRealtimeStreams([])).toBe(0);
  });
});

describe('capacity() bad input', () => {
  it.each([
    [{ file: 'x.wav', streams: 0 }, 'streams'],
    [{ file: 'x.wav', streams: [] }, 'streams'],
    [{ file: 'x.wav', streams: [1, 1] }, 'each count once'],
    [{ file: 'x.wav', streams: 1, modes: ['threads'] }, 'mode'],
    [{ file: 'x.wav', streams: 1, memoryLimit: -5 }, 'memoryLimit'],
    [{ file: 'x.wav', streams: 1, rounds: 0 }, 'rounds'],
  ])('%j → INVALID_ARGUMENT before anything loads', async (options, text) => {
    await expect(capacity(options as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(text) });
  });
});

describe('capacity rows', () => {
  const base = { what: 'capacity', model: '/m/ggml-tiny.en.bin', model_type: 'tiny', ftype: 'f16', synthetic: true, threads: 1, flash_attn: true, device: 'cpu', repetitions: 1, file: '/a/speech-20s.wav', audio_s: 20, warnings: ['synthetic weights: x'] } as unknown as BenchRow;
  const rows: BenchRow[] = [
    { ...base, capacity_mode: 'states', streams: 1, throughput_x: 5.2, latency_p50_ms: 3800, latency_p95_ms: 3800, realtime_ok: true, max_realtime_streams: 2, peak_rss_mb: 300, wall_s: 3.8 },
    { ...base, capacity_mode: 'states', streams: 2, throughput_x: 6, latency_p50_ms: 6600, latency_p95_ms: 6700, realtime_ok: true, max_realtime_streams: 2, peak_rss_mb: 360, wall_s: 6.7 },
    { ...base, capacity_mode: 'states', streams: 64, max_realtime_streams: 2, error: { code: 'INVALID_ARGUMENT', message: '64 whisper states need 9000 MB' } },
  ];
  it('md: the table, the error, and the largest real-time N', () => {
    const md = formatRows(rows, 'md');
    expect(md).toContain('throughput (audio s / s)');
    expect(md).toContain('6.00×');
    expect(md).toContain('INVALID_ARGUMENT: 64 whisper states need 9000 MB');
    expect(md).toMatch(/- states: \*\*2\*\* concurrent streams of speech-20s\.wav \(20\.0 s\) faster than real time .*peak RSS 360 MB; 1 cell failed/);
    expect(md).toContain('Synthetic weights');
  });
  it('md says so when the largest N measured is still real time', () => {
    const md = formatRows(rows.slice(0, 2), 'md');
    expect(md).toContain('the largest N measured: more may fit (try a larger -n)');
    expect(formatRows(rows, 'md')).not.toContain('more may fit');
  });
  it('csv and json carry the capacity fields', () => {
    const csv = formatRows(rows, 'csv').trim().split('\n');
    const header = csv[0].split(',');
    const i = header.indexOf('max_realtime_streams');
    expect(i).toBeGreaterThan(0);
    expect(csv[1].split(',')[header.indexOf('streams')]).toBe('1');
    expect(JSON.parse(formatRows(rows, 'json'))[1]).toMatchObject({ streams: 2, capacity_mode: 'states', throughput_x: 6 });
  });
});
