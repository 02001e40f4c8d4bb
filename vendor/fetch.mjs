#!/usr/bin/env node
// Materializes the pinned whisper.cpp tree into vendor/whisper.cpp.
// The tarball comes from the npm registry (via `npm pack`), its sha512 is checked
// against vendor/pin.json, and only the pinned sub-path is unpacked. Idempotent:
// a tree whose stamp matches the pin is left alone.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pin = JSON.parse(readFileSync(join(here, 'pin.json'), 'utf8'));
const dest = join(here, 'whisper.cpp');
const stampFile = join(dest, '.whisper-perf-pin');
const stamp = `${pin.package}@${pin.version} ${pin.integrity}`;
const log = (m) => process.stderr.write(`[vendor] ${m}\n`);

export function verifyIntegrity(buf, integrity) {
  const [algo, expected] = [integrity.slice(0, integrity.indexOf('-')), integrity.slice(integrity.indexOf('-') + 1)];
  const actual = createHash(algo).update(buf).digest('base64');
  return actual === expected;
}

function npmCommand() {
  // Inside an npm lifecycle script npm_execpath names npm's own CLI: use the same npm.
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.js$/.test(execpath)) return [process.execPath, [execpath]];
  return ['npm', []];
}

function main() {
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp) {
    log(`whisper.cpp ${pin.whisperVersion} already present (${pin.package}@${pin.version})`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'whisper-perf-vendor-'));
  try {
    log(`fetching ${pin.package}@${pin.version} from the npm registry`);
    const [cmd, pre] = npmCommand();
    const out = execFileSync(cmd, [...pre, 'pack', `${pin.package}@${pin.version}`, '--json', '--pack-destination', work], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
    });
    const files = readdirSync(work).filter((f) => f.endsWith('.tgz'));
    if (files.length !== 1) throw new Error(`npm pack produced ${files.length} tarballs: ${out}`);
    const tgz = join(work, files[0]);
    if (!verifyIntegrity(readFileSync(tgz), pin.integrity)) {
      throw new Error(`integrity mismatch for ${files[0]}: expected ${pin.integrity}`);
    }
    log('integrity verified; unpacking ' + pin.subpath);
    const unpack = join(work, 'unpack');
    mkdirSync(unpack);
    execFileSync('tar', ['-xzf', tgz, '-C', unpack, pin.subpath], { stdio: 'inherit' });
    rmSync(dest, { recursive: true, force: true });
    renameSync(join(unpack, pin.subpath), dest);
    writeFileSync(stampFile, stamp + '\n');
    log(`whisper.cpp ${pin.whisperVersion} ready in vendor/whisper.cpp`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try { main(); } catch (e) { log(`error: ${e.message}`); process.exit(1); }
}
