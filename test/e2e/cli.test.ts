// The CLI as a user runs it: a child process on the compiled package.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

import { describe, expect, inject, it } from 'vitest';

import type { BenchRow } from '../../lib/measure/types.js';
import { cliRunner } from '../fixtures/cli.js';

const tiny = inject('tinyModel');
const tmp = mkdtempSync(join(tmpdir(), 'wp-cli-'));

const run = cliRunner({ WHISPER_PERF_CACHE: join(tmp, 'cache') });

describe('whisper-perf --help', () => {
  it('every command has help that names its options', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['bench', 'sysinfo', 'models']) expect(top.stdout).toContain(c);
    const bench = await run(['bench', '--help']);
    expect(bench.code).toBe(0);
    for (const o of ['--model', '--threads', '--repetitions', '--fa', '--device', '--output', '--out', '--delay', '--what']) expect(bench.stdout).toContain(o);
    expect((await run(['sysinfo', '-h'])).stdout).toContain('usage: whisper-perf sysinfo');
    expect((await run(['models', '--help'])).stdout).toContain('models synth SIZE');
  });

  it('an unknown command or option is a one-line usage error with exit code 2', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const o = await run(['bench', '--bogus']);
    expect(o.code).toBe(2);
    expect(o.stderr).toContain('--bogus');
  });
});

describe('whisper-perf bench', () => {
  it('-m MODEL -t 1,2 -r 3 -o json yields two rows with every field', async () => {
    const r = await run(['bench', '-m', tiny, '-t', '1,2', '-r', '3', '-o', 'json', '--quick', '--warmup', '0']);
    expect(r.stderr).not.toMatch(/cell failed/);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as BenchRow[];
    expect(rows).toHaveLength(2);
    expect(rows.map((x) => x.threads)).toEqual([1, 2]);
    for (const row of rows) {
      expect(row).toMatchObject({ model: tiny, model_type: 'tiny', ftype: 'f16', synthetic: true, flash_attn: true, device: 'cpu', repetitions: 3 });
      for (const k of ['load_ms', 'encode_ms', 'decode_ms', 'batchd_ms', 'prompt_ms'] as const) {
        const s = row[k]!;
        for (const f of ['median', 'mean', 'sd', 'min', 'max', 'ci95'] as const) expect(typeof s[f]).toBe('number');
        expect(s.samples).toHaveLength(3);
        expect(s.min).toBeLessThanOrEqual(s.median);
        expect(s.median).toBeLessThanOrEqual(s.max);
      }
      expect(row.cold?.encode_ms).toBeGreaterThan(0);
      expect(row.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(row.whisper_version).toBe('1.9.1');
      expect(row.build.options).toHaveProperty('GGML_NATIVE');
      expect(row.cpu_model.length).toBeGreaterThan(0);
      expect(Array.isArray(row.cpu_features)).toBe(true);
      expect(row.node_version).toBe(process.version);
      expect(row.package_version).toMatch(/^\d+\.\d+\.\d+/);
      expect(row.encoder_gflops).toBeGreaterThan(0);
      expect(row.warnings.some((w) => w.includes('synthetic'))).toBe(true);
    }
  });

  it('a failed cell is reported in its row, the sweep goes on, and the exit code is 1', async () => {
    const r = await run(['bench', '-m', tiny, '--device', 'cpu,7', '-t', '2', '-r', '1', '--quick', '--warmup', '0', '-o', 'json']);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as BenchRow[];
    expect(rows.map((x) => x.device)).toEqual(['cpu', '7']);
    expect(rows[0].error).toBeUndefined();
    expect(rows[0].encode_ms!.median).toBeGreaterThan(0);
    expect(rows[1].error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('device 7') });
    expect(rows[1].encode_ms).toBeUndefined();
    expect(r.stderr).toContain('cell failed');
  });

  it.each([
    [['-t', '1-'], '1-'],
    [['-t', '8-1'], '8-1'],
    [['-t', '0'], '0'],
    [['-r', '0'], '0'],
    [['-m', 'README.md'], 'README.md'],
    [['-m', `${tiny},/nonexistent/x.bin`], '/nonexistent/x.bin'],
    [['-o', 'xml'], 'xml'],
    [['--fa', 'maybe'], 'maybe'],
    [['--device', 'gpu'], 'gpu'],
  ])('bad input %j: one line naming the value, exit 2, nothing written to --out', async (args, value) => {
    const out = join(tmp, `out-${Math.random().toString(36).slice(2)}.json`);
    const r = await run(['bench', ...args, '--out', out]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(value);
    expect(existsSync(out)).toBe(false);
  });

  it('--what memcpy gives structured rows; --out gets the data and stdout stays empty', async () => {
    const out = join(tmp, 'mem.json');
    const r = await run(['bench', '-w', 'memcpy', '-t', '1', '-r', '1', '-o', 'json', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const rows = JSON.parse(readFileSync(out, 'utf8')) as BenchRow[];
    expect(rows[0].what).toBe('memcpy');
    expect(rows[0].memcpy_gbps!.median).toBeGreaterThan(0);
  });

  it('--what mulmat gives one row per type and size of whisper-bench -w 2, each with its GFLOPS', async () => {
    const r = await run(['bench', '-w', 'mulmat', '-t', '2', '-r', '1', '--warmup', '0', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as (BenchRow & { mulmat_type: string; mulmat_size: number; mulmat_gflops: { median: number } })[];
    // whisper_bench_ggml_mul_mat_str: 7 types × sizes 64 … 4096
    expect(new Set(rows.map((x) => x.mulmat_type))).toEqual(new Set(['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'F16', 'F32']));
    expect([...new Set(rows.map((x) => x.mulmat_size))].sort((a, b) => a - b)).toEqual([64, 128, 256, 512, 1024, 2048, 4096]);
    expect(rows.length).toBe(49);
    for (const x of rows) {
      expect(x).toMatchObject({ what: 'mulmat', threads: 2 });
      // whisper.cpp prints one decimal: beside a busy core a 64 × 64 product at 2 threads has read
      // 0.0 (slower than 0.05 GFLOPS); such a row must say so. From 256 up, 0.0 would take over 0.67 s a run
      if (x.mulmat_size >= 256) expect(x.mulmat_gflops.median).toBeGreaterThan(0);
      if (x.mulmat_gflops.median === 0) expect(x.warnings.join(' ')).toMatch(/printed 0\.0 GFLOPS, below whisper\.cpp's one-decimal resolution/);
      else expect(x.mulmat_gflops.median).toBeGreaterThan(0);
    }
    // the limit only stops a hang. Beside a busy core this took 122–136 s on an AMD EPYC, and up to
    // 230 s with more load; on an Intel Xeon (model 167) 390 s alone and 1292 s in a flake run, and
    // 2007 s on model 207. Its F32 rows are why: whisper.cpp fills the matrices with the bytes i &
    // 0x3F, floats near 1e-34 whose products underflow, and that CPU takes a slow path for each (1.6
    // GFLOPS at every size, against 147–199 for F16 from 1024 up; a plain dot product of that data ran
    // 6.6 times faster with flush-to-zero on)
  }, 3_600_000);
});

describe('whisper-perf models and sysinfo', () => {
  it('models synth writes a model that models info validates as synthetic', async () => {
    const p = join(tmp, 'tiny-seed7.bin');
    const s = await run(['models', 'synth', 'tiny.en', '-o', p, '--seed', '7']);
    expect(s.code).toBe(0);
    expect(s.stdout.trim()).toBe(p);
    const i = await run(['models', 'info', p, '-o', 'json']);
    expect(i.code).toBe(0);
    expect(JSON.parse(i.stdout)).toMatchObject({ modelType: 'tiny', synthetic: true, multilingual: false });
    expect((await run(['models', 'synth', 'enormous'])).code).toBe(2);
  });

  it('models download fetches from a loopback server given by --base-url', async () => {
    const body = readFileSync(tiny).subarray(0, 1 << 20);
    const server = createServer((req, res) => {
      if (req.url?.endsWith('/ggml-tiny.en.bin')) {
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models`;
      const { createHash } = await import('node:crypto');
      const sha1 = createHash('sha1').update(body).digest('hex');
      const r = await run(['models', 'download', 'tiny.en', '--dir', join(tmp, 'dl'), '--base-url', url, '--sha1', sha1]);
      expect(r.stderr).toContain('verified');
      expect(r.code).toBe(0);
      expect(readFileSync(r.stdout.trim()).equals(body)).toBe(true);
      const bad = await run(['models', 'download', 'tiny.en', '--dir', join(tmp, 'dl2'), '--base-url', url, '--sha1', '0'.repeat(40)]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('CHECKSUM_MISMATCH');
    } finally {
      server.close();
    }
  });

  it('sysinfo -o json describes the machine and the build', async () => {
    const r = await run(['sysinfo', '-o', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.system.cores).toBeGreaterThan(0);
    expect(j.build.whisperVersion).toBe('1.9.1');
  });
});

describe('the package', () => {
  it("resolves `import 'whisper-perf'` to the compiled API with its types (package self-reference)", () => {
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "const w = await import('whisper-perf'); console.log(JSON.stringify([typeof w.loadModel, typeof w.benchmark, typeof w.systemInfo, typeof w.buildInfo, w.version, w.whisperVersion()]))"],
      { encoding: 'utf8', cwd: process.cwd() },
    );
    expect(r.status, r.stderr).toBe(0);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(JSON.parse(r.stdout)).toEqual(['function', 'function', 'function', 'function', pkg.version, '1.9.1']);
    expect(existsSync(join(process.cwd(), pkg.exports['.'].types))).toBe(true);
  });
});
