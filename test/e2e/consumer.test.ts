// The package as users get it: the working tree packed (with the prebuilds `npm test`'s pretest
// just brought up to date), installed into a throwaway project outside the repository with every
// compiler and CMake on PATH replaced by a trap, type-checked strictly against its declarations,
// and run under Node 20, 22 and 24.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { fittingPrebuilds, VARIANTS } from '../../scripts/prebuild-select.mjs';
import { nodeBinary } from '../fixtures/node-versions.js';

const repo = process.cwd();
const tiny = inject('tinyModel');
const cacheDir = inject('cacheDir');
const MAJORS = [20, 22, 24];
const TOOLS = ['cmake', 'c++', 'g++', 'gcc', 'cc', 'clang', 'clang++', 'make', 'ninja'];

let work: string;
let app: string;
let trapLog: string;
let trapPath: string;
let tarball: string;
let packed: { size: number; unpackedSize: number; files: { path: string; size: number }[] };
let installMs: number;
let installOut: SpawnSyncReturns<string>;
const nodes = new Map<number, string>();

function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; nodeDir?: string; path?: string; timeout?: number } = {}) {
  const path = opts.path ?? [opts.nodeDir, trapPath, process.env.PATH].filter(Boolean).join(delimiter);
  return spawnSync(cmd, args, {
    cwd: opts.cwd ?? app,
    encoding: 'utf8',
    timeout: opts.timeout ?? 300_000,
    env: { ...process.env, PATH: path, WHISPER_PERF_CACHE: join(work, 'cache'), ...opts.env },
  });
}

const trapped = () => (existsSync(trapLog) ? readFileSync(trapLog, 'utf8') : '');
const expectedVariant = () => fittingPrebuilds(join(app, 'node_modules', 'whisper-perf'))[0]?.variant;

beforeAll(() => {
  // the prebuilds must be those of this tree: pretest makes them; a stale one would test old code
  const dir = join(repo, 'prebuilds', `${process.platform}-${process.arch}`);
  const sources = ['CMakeLists.txt', 'vendor/pin.json', 'cmake/build-info.cmake', ...readdirNames(join(repo, 'binding')).map((f) => `binding/${f}`)];
  const newest = Math.max(...sources.map((f) => statSync(join(repo, f)).mtimeMs));
  for (const v of VARIANTS) {
    const f = join(dir, `whisper-perf.${v.name}.node`);
    if (!existsSync(f) || statSync(f).mtimeMs < newest) throw new Error(`${f} is missing or older than the addon's sources: run npm test (its pretest builds them) or npm run prebuilds`);
  }

  work = mkdtempSync(join(tmpdir(), 'wp-consumer-'));
  // every compiler and build tool answers with a note in trap.log and a failure
  trapPath = join(work, 'trap-bin');
  trapLog = join(work, 'trap.log');
  mkdirSync(trapPath);
  for (const t of TOOLS) writeFileSync(join(trapPath, t), `#!/bin/sh\necho "${t} $*" >> '${trapLog}'\nexit 1\n`, { mode: 0o755 });

  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
  if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
  const info = JSON.parse(pack.stdout)[0];
  packed = info;
  tarball = join(work, info.filename);

  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'wp-consumer', version: '1.0.0', private: true, type: 'module', allowScripts: { 'whisper-perf': true } }, null, 2));
  const t0 = performance.now();
  installOut = run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts']);
  installMs = performance.now() - t0;
  process.stderr.write(`[consumer] tarball ${(info.size / 1e6).toFixed(2)} MB, ${info.files.length} files; install ${(installMs / 1000).toFixed(1)} s\n`);
  for (const m of MAJORS) nodes.set(m, nodeBinary(m, cacheDir));
}, 900_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function readdirNames(dir: string): string[] {
  return spawnSync('ls', [dir], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
}

describe('the packed package', () => {
  it('holds what the install and a source build need, and no tests, fixtures or whisper.cpp sources', () => {
    const files = packed.files.map((f) => f.path);
    for (const v of VARIANTS) expect(files).toContain(`prebuilds/linux-x64/whisper-perf.${v.name}.node`);
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'scripts/install.mjs', 'scripts/build-native.mjs', 'vendor/pin.json', 'vendor/fetch.mjs', 'CMakeLists.txt', 'cmake/build-info.cmake', 'binding/addon.cc']) {
      expect(files).toContain(f);
    }
    const strays = files.filter((f) => /^(test|bench|examples|lib|vendor\/whisper\.cpp|build[^/]*|\.ci|\.cache)\//.test(f) || f.endsWith('.map') || f.endsWith('.tsbuildinfo'));
    expect(strays).toEqual([]);
    expect(packed.size).toBeLessThanOrEqual(15e6);
  });

  it('configures a source build from the installed files alone', () => {
    // the class of bug that broke the first packed install: CMake naming a file that is not shipped
    const pkg = join(app, 'node_modules', 'whisper-perf');
    const copy = join(work, 'source-check');
    cpSync(pkg, copy, { recursive: true });
    symlinkSync(join(repo, 'vendor', 'whisper.cpp'), join(copy, 'vendor', 'whisper.cpp'));
    symlinkSync(join(app, 'node_modules'), join(copy, 'node_modules'));
    const r = spawnSync(process.execPath, [join(copy, 'scripts', 'build-native.mjs'), '--configure-only', '--out', join(work, 'source-build')], { cwd: copy, encoding: 'utf8', timeout: 300_000 });
    expect(r.stderr).not.toMatch(/Cannot find source file|CMake Error/);
    expect(r.status).toBe(0);
  });
});

describe('installed in another project', () => {
  it('installs from its prebuild without a compiler, CMake or the whisper.cpp sources', () => {
    expect(installOut.stderr + installOut.stdout).toContain('using prebuild');
    expect(installOut.status).toBe(0);
    expect(trapped()).toBe('');
    const pkg = join(app, 'node_modules', 'whisper-perf');
    expect(existsSync(join(pkg, 'build'))).toBe(false);
    expect(existsSync(join(pkg, 'vendor', 'whisper.cpp'))).toBe(false);
    // the store drivers and the chart library are optional peers: a service that never opens a store does not get them
    for (const d of ['better-sqlite3', 'pg', 'chart.js']) expect(existsSync(join(app, 'node_modules', d))).toBe(false);
  });

  it('type-checks a strict TypeScript service against the published declarations (no skipLibCheck)', () => {
    const fixture = join(repo, 'test', 'fixtures', 'consumer');
    copyFileSync(join(fixture, 'service.ts'), join(app, 'service.ts'));
    copyFileSync(join(fixture, 'service.cjs'), join(app, 'service.cjs'));
    const ts = JSON.parse(readFileSync(join(fixture, 'tsconfig.json'), 'utf8'));
    ts.compilerOptions.typeRoots = [join(repo, 'node_modules', '@types')];
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(ts, null, 2));
    const r = run(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(existsSync(join(app, 'out', 'service.js'))).toBe(true);
  });

  for (const major of MAJORS) {
    describe(`on Node ${major}`, () => {
      const node = () => nodes.get(major)!;
      const nodeDir = () => dirname(node());

      it('runs the typed service on the prebuild that fits this CPU', () => {
        const r = run(node(), [join('out', 'service.js'), tiny], { nodeDir: nodeDir() });
        expect(r.stderr).not.toMatch(/Error/);
        expect(r.status).toBe(0);
        const out = JSON.parse(r.stdout);
        expect(out.node.startsWith(`v${major}.`)).toBe(true);
        const variant = expectedVariant();
        expect(variant).toBeDefined();
        expect(out.addonPath).toBe(join(app, 'node_modules', 'whisper-perf', 'prebuilds', 'linux-x64', `whisper-perf.${variant}.node`));
        expect(out.rows).toBe(1);
        expect(out.encodeMedian).toBeGreaterThan(0);
        expect(out.encodeMs).toBeGreaterThan(0);
        expect(out.missingModelCode).toBe('MODEL_NOT_FOUND');
        // subpath exports: whisper-perf/stats computes, whisper-perf/store says its driver is missing
        expect(out.median).toBe(2);
        expect(out.storeWithoutDriver).toBe('STORE_UNAVAILABLE');
      });

      it('serves a CommonJS service through import()', () => {
        const r = run(node(), ['service.cjs', tiny], { nodeDir: nodeDir() });
        expect(r.status).toBe(0);
        const out = JSON.parse(r.stdout);
        expect(out.node.startsWith(`v${major}.`)).toBe(true);
        expect(out.encodeMs).toBeGreaterThan(0);
        expect(out.variant).toMatch(/^generic\+/);
      });

      it('runs `whisper-perf bench --quick` from the project', () => {
        const r = run(join(app, 'node_modules', '.bin', 'whisper-perf'), ['bench', '--quick', '-m', tiny, '-t', '1'], { nodeDir: nodeDir() });
        expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/encode/);
        expect(r.stdout.split('\n').filter((l) => l.startsWith('|')).length).toBeGreaterThanOrEqual(3);
      });
    });
  }

  it('says in one line how to get a store driver that is not installed', () => {
    const r = run(join(app, 'node_modules', '.bin', 'whisper-perf'), ['db', 'migrate', '--db', join(work, 'r.db')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/the SQLite store needs better-sqlite3, which is not installed: npm install better-sqlite3/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});

describe('bad installs', () => {
  it('a corrupted prebuild is passed over at load for the next level this CPU runs', () => {
    const pkg = join(work, 'corrupt', 'node_modules', 'whisper-perf');
    cpSync(join(app, 'node_modules', 'whisper-perf'), pkg, { recursive: true });
    const [best, next] = fittingPrebuilds(pkg);
    expect(next).toBeDefined();
    writeFileSync(best.path, 'not an ELF file');
    const r = run(process.execPath, ['--input-type=module', '-e', `const w = await import(${JSON.stringify(join(pkg, 'dist', 'index.js'))}); console.log(w.buildInfo().addonPath)`]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(next.path);
  });

  it('an install whose prebuilds do not load and that has no compiler fails in one line that says what to do', () => {
    const pkg = join(work, 'broken', 'node_modules', 'whisper-perf');
    cpSync(join(app, 'node_modules', 'whisper-perf'), pkg, { recursive: true });
    for (const p of fittingPrebuilds(pkg)) writeFileSync(p.path, 'not an ELF file');
    // a PATH with node alone: no CMake, no compiler
    const bare = join(work, 'bare-bin');
    mkdirSync(bare);
    symlinkSync(process.execPath, join(bare, 'node'));
    const r = run(process.execPath, [join(pkg, 'scripts', 'install.mjs')], { path: bare });
    expect(r.status).toBe(1);
    const last = r.stderr.trim().split('\n').at(-1) ?? '';
    expect(last).toMatch(/^\[whisper-perf\] error: .*does not load.*building from source needs CMake ≥ 3\.15 and a C\+\+17 compiler: install them/);
    expect(existsSync(join(pkg, 'vendor', 'whisper.cpp'))).toBe(false);
  });

  it('a store driver built for another Node says so in one line (better-sqlite3 of this repository under Node 24)', () => {
    const r = run(nodes.get(24)!, [join(repo, 'dist', 'cli', 'main.js'), 'db', 'migrate', '--db', join(work, 'r24.db')], { cwd: repo });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/better-sqlite3 was built for another Node\.js .*npm rebuild better-sqlite3/);
  });
});
