// The fleet's planning, without a database: cells, sweep and job ids, payload checks, kinds.
import { describe, expect, it } from 'vitest';

import { checkKind, machineKind, payloadProblem, PAYLOAD_VERSION, sweepCells, sweepId, sweepJobs, type SweepSpec } from '../../lib/fleet/plan.js';
import { jobId, queueName } from '../../lib/fleet/queue.js';

const model = { name: 'ggml-tiny.bin', sha256: 'a'.repeat(64), bytes: 100 };
const spec = (over: Partial<SweepSpec> = {}): SweepSpec => ({
  command: 'bench',
  files: [],
  presets: [],
  what: ['encoder'],
  models: [model],
  threads: [1, 2, 4],
  flashAttn: [true, false],
  devices: ['cpu'],
  builds: [],
  repetitions: 3,
  warmup: 1,
  quick: false,
  kinds: ['ka', 'kb'],
  tags: [],
  expireSeconds: 900,
  retryLimit: 2,
  ...over,
});

describe('fleet plan', () => {
  it('expands the cells as bench does: model × device × flash attention × threads; memcpy one per thread count', () => {
    const cells = sweepCells(spec());
    expect(cells.length).toBe(6);
    expect(cells.map((c) => `${c.flash_attn ? 'on' : 'off'}/${c.threads}`)).toEqual(['on/1', 'on/2', 'on/4', 'off/1', 'off/2', 'off/4']);
    const mixed = sweepCells(spec({ what: ['encoder', 'memcpy'], builds: ['native', 'generic'] }));
    // encoder: 2 fa × 3 threads × 2 builds; memcpy: 3 threads × 2 builds, no model
    expect(mixed.length).toBe(12 + 6);
    expect(mixed.filter((c) => c.what === 'memcpy').every((c) => c.model === null && c.device === 'cpu')).toBe(true);
  });

  it('an rtf sweep: model × file × preset × threads on one device; its jobs carry the audio by name and hash', () => {
    const audio = (n: string) => ({ name: n, sha256: 'c'.repeat(64), bytes: 10 });
    const r = spec({ command: 'rtf', files: [audio('a.wav'), audio('b.wav')], presets: ['speed', 'quality'], threads: [1, 2] });
    const cells = sweepCells(r);
    expect(cells.length).toBe(8);
    expect(cells.every((c) => c.what === 'rtf' && c.device === 'cpu' && c.flash_attn === true)).toBe(true);
    expect(cells.map((c) => `${c.file!.name}/${c.preset}/${c.threads}`).slice(0, 4)).toEqual(['a.wav/speed/1', 'a.wav/speed/2', 'a.wav/quality/1', 'a.wav/quality/2']);
    const jobs = sweepJobs(r);
    expect(jobs.every((j) => j.command === 'rtf' && payloadProblem(j) === undefined)).toBe(true);
    // the same cells as a bench sweep are another sweep
    expect(sweepId(r)).not.toBe(sweepId({ ...r, command: 'bench' }));
    expect(payloadProblem({ ...jobs[0], params: { ...jobs[0].params, preset: 'turbo' } })).toMatch(/audio file or preset/);
    expect(payloadProblem({ ...jobs[0], params: { ...jobs[0].params, file: audio('../x.wav') } })).toMatch(/audio file or preset/);
    expect(payloadProblem({ ...jobs[0], params: { ...jobs[0].params, what: 'encoder' } })).toMatch(/malformed \(params\)/);
  });

  it('one job per (cell, kind), each carrying the sweep, its kind and its index', () => {
    const jobs = sweepJobs(spec());
    expect(jobs.length).toBe(12);
    expect(new Set(jobs.map((j) => `${j.kind}/${j.cell}`)).size).toBe(12);
    expect(jobs.every((j) => j.v === PAYLOAD_VERSION && j.sweep === sweepId(spec()) && payloadProblem(j) === undefined)).toBe(true);
  });

  it('a sweep id is the same for the same sweep (kinds in any order) and differs with a tag, a thread count or a model hash', () => {
    const id = sweepId(spec());
    expect(sweepId(spec({ kinds: ['kb', 'ka'] }))).toBe(id);
    expect(sweepId(spec({ tags: ['again'] }))).not.toBe(id);
    expect(sweepId(spec({ threads: [1, 2] }))).not.toBe(id);
    expect(sweepId(spec({ models: [{ ...model, sha256: 'b'.repeat(64) }] }))).not.toBe(id);
  });

  it('job ids are UUIDs, stable per (sweep, kind, cell) and distinct otherwise', () => {
    const a = jobId('s1', 'ka', 0);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(jobId('s1', 'ka', 0)).toBe(a);
    expect(new Set([a, jobId('s1', 'ka', 1), jobId('s1', 'kb', 0), jobId('s2', 'ka', 0)]).size).toBe(4);
    expect(queueName('amd-epyc-2c')).toBe('wp_fleet_amd_epyc_2c');
  });

  it('payload checks: newer versions, unknown commands, malformed params, model names with paths', () => {
    const good = sweepJobs(spec())[0];
    expect(payloadProblem(good)).toBeUndefined();
    expect(payloadProblem(null)).toMatch(/no payload/);
    expect(payloadProblem({ ...good, v: PAYLOAD_VERSION + 1 })).toMatch(/newer whisper-perf/);
    expect(payloadProblem({ ...good, command: 'rm' })).toMatch(/unknown fleet command/);
    expect(payloadProblem({ ...good, params: { ...good.params, threads: 1.5 } })).toMatch(/malformed \(params\)/);
    expect(payloadProblem({ ...good, params: { ...good.params, model: { ...model, name: '../../etc/passwd' } } })).toMatch(/malformed \(model\)/);
    expect(payloadProblem({ ...good, params: { ...good.params, model: { ...model, sha256: 'zz' } } })).toMatch(/malformed \(model\)/);
  });

  it('machine kinds: derived from the CPU, cores, SIMD and GPU; names checked', () => {
    const dev = (type: 'cpu' | 'gpu', description: string) => ({ index: 0, name: 'x', description, type, backend: 'x', memoryFree: 0, memoryTotal: 0 });
    expect(machineKind({ cpuModel: 'AMD EPYC 9R14 96-Core Processor', cores: 2, features: { avx512: true, avx2: true }, devices: [dev('cpu', 'cpu')] })).toBe('amd-epyc-9r14-2c-avx512');
    expect(machineKind({ cpuModel: 'Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz', cores: 16, features: { avx2: true }, devices: [dev('gpu', 'NVIDIA H100 80GB HBM3')] })).toBe('intel-xeon-platinum-8480-16c-avx2-nvidia-h100-80');
    const k = machineKind({ cpuModel: 'x'.repeat(200), cores: 128, features: {}, devices: [] });
    expect(() => checkKind(k)).not.toThrow();
    for (const bad of ['', 'Upper', 'has space', 'under_score', '-lead', 'x'.repeat(49)]) expect(() => checkKind(bad)).toThrow(/machine kind/);
  });
});
