// Types for prebuild-select.mjs (used by the unit tests).
export interface Variant {
  name: string;
  flags: string[];
  args: string[];
}
/** x86-64 variants, best first (scripts/variants.json). */
export const VARIANTS: Variant[];
/** The CPU flags from /proc/cpuinfo (empty where there is none). */
export function cpuFlags(): Set<string>;
/** Every prebuild under <root>/prebuilds/<platform>-<arch>/ that these CPU flags can run, best first. */
export function fittingPrebuilds(root: string, flags?: Set<string>): { path: string; variant: string }[];
/** The best prebuild under <root>/prebuilds/<platform>-<arch>/ that these CPU flags can run. */
export function pickPrebuild(root: string, flags?: Set<string>): { path: string; variant: string } | undefined;
