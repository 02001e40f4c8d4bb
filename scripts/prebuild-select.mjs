// Chooses the prebuilt CPU variant for this machine. Prebuilds are self-contained
// .node files, one per x86-64 level, named whisper-perf.<variant>.node in
// prebuilds/<platform>-<arch>/; the best level the CPU supports wins.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** x86-64 variants, best first, with the CPU flags each needs and its build switches. */
export const VARIANTS = JSON.parse(readFileSync(new URL('./variants.json', import.meta.url), 'utf8'));

export function cpuFlags() {
  try {
    const m = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return new Set(m ? m[1].trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

/** Every prebuild under <root>/prebuilds/<platform>-<arch>/ that these CPU flags can run, best first. */
export function fittingPrebuilds(root, flags = cpuFlags()) {
  const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  return VARIANTS.filter((v) => v.flags.every((f) => flags.has(f)))
    .map((v) => ({ path: join(dir, `whisper-perf.${v.name}.node`), variant: v.name }))
    .filter((p) => existsSync(p.path));
}

export function pickPrebuild(root, flags = cpuFlags()) {
  return fittingPrebuilds(root, flags)[0];
}
