// The profilers' reports, parsed from output recorded on this machine (test/fixtures/hw: perf 6.1
// in a VM without hardware counters, valgrind 3.19 on a small C program) and from perf's documented
// CSV form with counters.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { usesAvx512 } from '../../lib/workloads/profile.js';
import { parseCallgrindAnnotate, parseMassif, parseMemcheck, parsePerfReport, parsePerfStatCsv, perfStatMetrics } from '../../lib/workloads/profile-tools.js';

const fx = (name: string) => readFileSync(join(process.cwd(), 'test', 'fixtures', 'hw', name), 'utf8');

describe('perf stat', () => {
  it('reads software events and marks unsupported hardware counters (recorded in a VM)', () => {
    const lines = parsePerfStatCsv(fx('stat.csv'));
    expect(lines.find((l) => l.event === 'task-clock')).toEqual({ event: 'task-clock', unit: 'msec', value: 10.61 });
    expect(lines.find((l) => l.event === 'page-faults')?.value).toBe(49);
    expect(lines.find((l) => l.event === 'cycles')).toEqual({ event: 'cycles', unit: '', status: 'not supported' });
    const m = perfStatMetrics(lines);
    expect(m.find((x) => x.name === 'task-clock')).toMatchObject({ value: 10.6, unit: 'ms' });
    expect(m.find((x) => x.name === 'instructions')).toMatchObject({ value: 'not supported', note: 'no hardware counter' });
    expect(m.find((x) => x.name === 'IPC')).toBeUndefined();
  });

  it('computes IPC and miss rates where the counters exist', () => {
    const csv = [
      '# started on Fri Nov 27 04:45:07 2026',
      '',
      '2003.51,msec,task-clock:u,2003510000,100.00,1.98,CPUs utilized',
      '6000000000,,cycles:u,2003510000,100.00,2.995,GHz',
      '9000000000,,instructions:u,2003510000,100.00,1.50,insn per cycle',
      '100000000,,cache-references:u,2003510000,100.00,49.913,M/sec',
      '12000000,,cache-misses:u,2003510000,100.00,12.00,of all cache refs',
      '500000000,,branches:u,2003510000,100.00,,',
      '5000000,,branch-misses:u,2003510000,100.00,1.00,of all branches',
    ].join('\n');
    const m = perfStatMetrics(parsePerfStatCsv(csv));
    expect(m.find((x) => x.name === 'IPC')?.value).toBe(1.5);
    expect(m.find((x) => x.name === 'cache misses')).toMatchObject({ value: 12, unit: '%' });
    expect(m.find((x) => x.name === 'branch misses')).toMatchObject({ value: 1, unit: '%' });
    expect(m.find((x) => x.name === 'cycles')?.value).toBe(6e9);
  });
});

describe('perf report', () => {
  it('reads the top functions, without the IPC columns newer perf appends (recorded)', () => {
    expect(parsePerfReport(fx('perf-report.txt'))).toEqual([{ percent: 100, object: 'leak', name: 'main' }]);
  });

  it('keeps C++ names with spaces, sorts and limits', () => {
    const text = [
      '# Overhead  Shared Object      Symbol',
      '    61.20%  whisper_perf.node  [.] ggml_vec_dot_f16',
      '     3.10%  libc.so.6          [.] __memset_avx512_unaligned_erms',
      '    20.05%  whisper_perf.node  [.] ggml_compute_forward_mul_mat(ggml_compute_params const*, ggml_tensor*)',
      '     1.00%  [kernel.kallsyms]  [k] clear_page_erms',
    ].join('\n');
    const top = parsePerfReport(text, 3);
    expect(top.map((f) => f.percent)).toEqual([61.2, 20.05, 3.1]);
    expect(top[1].name).toBe('ggml_compute_forward_mul_mat(ggml_compute_params const*, ggml_tensor*)');
    expect(parsePerfReport(text).at(-1)).toEqual({ percent: 1, object: '[kernel.kallsyms]', name: 'clear_page_erms' });
  });
});

describe('valgrind', () => {
  it('massif: the peak heap and the allocation sites at the peak (recorded)', () => {
    const m = parseMassif(fx('massif.out'));
    expect(m.peakUsefulBytes).toBe(3109136);
    expect(m.peakBytes).toBeGreaterThanOrEqual(3109136);
    expect(m.snapshots).toBeGreaterThan(2);
    expect(m.sites[0]).toEqual({ bytes: 3100000, percent: 99.7, name: 'big (leak.c:6)' });
  });

  it('memcheck: errors, leaks and error kinds (recorded)', () => {
    const m = parseMemcheck(fx('memcheck.txt'));
    expect(m).toMatchObject({ errors: 2, contexts: 2, definitelyLost: 5000, indirectlyLost: 0, possiblyLost: 0, stillReachable: 100000 });
    expect(m.kinds).toEqual([{ kind: 'Conditional jump or move depends on uninitialised value', count: 1 }]);
  });

  it('memcheck: the errors and leaks with a frame in the named object, apart from the rest', () => {
    const log = [
      '==7== Conditional jump or move depends on uninitialised value(s)',
      '==7==    at 0x1: v8::internal::Foo() (in /usr/bin/node)',
      '==7== ',
      '==7== Warning: set address range perms: large range [0xbc78000, 0x2bcb7000) (noaccess)',
      '==7== Invalid read of size 4',
      '==7==    at 0x2: ggml_graph_compute (in /x/build/Release/whisper_perf.node)',
      '==7==    by 0x3: start_thread (pthread_create.c:442)',
      '==7== ',
      '==7== 300 (100 direct, 200 indirect) bytes in 1 blocks are definitely lost in loss record 9 of 12',
      '==7==    at 0x4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)',
      '==7==    by 0x5: whisper_init_state (in /x/build/Release/whisper_perf.node)',
      '==7== ',
      '==7== 64 bytes in 2 blocks are possibly lost in loss record 3 of 12',
      '==7==    at 0x6: calloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)',
      '==7==    by 0x7: node::Start() (in /usr/bin/node)',
      '==7== ',
      '==7== 48 bytes in 1 blocks are possibly lost in loss record 2 of 12',
      '==7==    at 0x8: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)',
      '==7==    by 0x9: Napi::Foo (in /y/not_whisper_perf.node)',
      '==7== ',
      '==7== ERROR SUMMARY: 4 errors from 4 contexts (suppressed: 0 from 0)',
    ].join('\n');
    const m = parseMemcheck(log, 'whisper_perf.node');
    expect(m.errors).toBe(4);
    expect(m.kinds.map((k) => k.kind)).toEqual(['Conditional jump or move depends on uninitialised value', 'Invalid read']);
    expect(m.inObject).toEqual({ object: 'whisper_perf.node', errors: 1, definitelyLost: 100, indirectlyLost: 0, possiblyLost: 0 });
    expect(parseMemcheck(log).inObject).toBeUndefined();
    expect(parseMemcheck(log, 'node').inObject).toMatchObject({ errors: 1, possiblyLost: 64 });
  });

  it('callgrind_annotate: the total and the top functions by self cost (recorded)', () => {
    const c = parseCallgrindAnnotate(fx('callgrind.txt'));
    expect(c.total).toBe(223229056);
    expect(c.functions).toEqual([
      { percent: 98.55, name: 'work', object: 'leak' },
      { percent: 1.39, name: '__memset_avx2_unaligned_erms', object: 'libc.so.6' },
    ]);
  });

  it('callgrind_annotate: keeps C++ scopes in names', () => {
    const text = ['Ir  file:function', '----', '  500 (50.00%)  ???:whisper::detail::run(int) [/x/whisper_perf.node]', '----'].join('\n');
    expect(parseCallgrindAnnotate(text).functions[0]).toEqual({ percent: 50, name: 'whisper::detail::run(int)', object: 'whisper_perf.node' });
  });
});

describe('usesAvx512 (valgrind cannot run AVX-512 code)', () => {
  it('a native build on an AVX-512 CPU, or any build with GGML_AVX512*=ON', () => {
    expect(usesAvx512('native', { GGML_NATIVE: 'ON', GGML_AVX512: 'OFF' }, true)).toBe(true);
    expect(usesAvx512('native', { GGML_NATIVE: 'ON' }, false)).toBe(false);
    expect(usesAvx512('generic+avx2', { GGML_NATIVE: 'OFF', GGML_AVX2: 'ON', GGML_AVX512: 'OFF' }, true)).toBe(false);
    expect(usesAvx512('generic+avx512', { GGML_NATIVE: 'OFF', GGML_AVX512: 'ON' }, false)).toBe(true);
    expect(usesAvx512('generic', { GGML_AVX512_VNNI: 'ON' }, false)).toBe(true);
  });
});
