/**
 * Every process of every `ab` side runs a copy of its build written for it, removed after the block.
 * How an addon file came into the page cache changes how fast its code runs: here a .node just
 * written by the linker decoded about 30% slower than byte-identical copies of it, or than itself
 * once dropped from the cache and read back (docs/store.md). A gate compares builds that were just
 * linked, or one just linked against one that was not, so a side on its own file would carry how
 * that file was written into the comparison, a bias no number of blocks averages away. A fresh copy
 * per process draws the file's placement anew each time, like the process's, and the interval then
 * holds whatever it changes.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { WhisperPerfError } from '../errors.js';
import { buildInfo, processAlive } from '../system.js';
import { resolveBuilds } from '../workloads/builds.js';

/** An addon to copy: the file, and the build info that goes beside each copy. */
export interface AddonSource {
  path: string;
  info: unknown;
}

/**
 * The addon a side runs: its build (a `builds` name, a folder or a .node file), or without one the
 * loader's own choice (WHISPER_PERF_ADDON, else the first candidate that loads).
 */
export function addonSource(build: string | undefined): AddonSource {
  let name = build;
  if (name === undefined) {
    try {
      name = buildInfo().addonPath;
    } catch (e) {
      throw new WhisperPerfError(`ab: no addon build here to measure: ${(e as Error).message}`, 'NATIVE_UNAVAILABLE', { cause: e });
    }
  }
  const [b] = resolveBuilds([name]);
  return { path: b.path, info: b.info };
}

/** Writes a copy of the addon into `dir` (made here), its build info beside it; returns the copy's path. */
export function copyAddon(src: AddonSource, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'whisper_perf.node');
  copyFileSync(src.path, file);
  writeFileSync(join(dir, 'whisper-perf-build.json'), JSON.stringify(src.info));
  return file;
}

const PREFIX = 'whisper-perf-ab-';
/** A run's folder: the prefix, the pid of the process that made it, and mkdtemp's suffix. */
const RUN_FOLDER = new RegExp(`^${PREFIX}(\\d+)-`);

/**
 * A new folder for one `ab` run's copies, named after this process (whisper-perf-ab-PID-XXXXXX in
 * the temporary folder): the run removes it as it ends, and a run that could not (killed) leaves it
 * to the next, which removes every such folder whose process is gone.
 */
export function copiesFolder(root: string = tmpdir()): string {
  let names: string[] = [];
  try {
    names = readdirSync(root);
  } catch {
    // no listing: nothing to tidy
  }
  for (const name of names) {
    const pid = RUN_FOLDER.exec(name)?.[1];
    if (pid === undefined || processAlive(Number(pid))) continue;
    try {
      rmSync(join(root, name), { recursive: true, force: true });
    } catch {
      // another user's, or in use: left alone
    }
  }
  return mkdtempSync(join(root, `${PREFIX}${process.pid}-`));
}
