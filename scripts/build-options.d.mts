// Types for build-options.mjs (used by the unit tests).
export interface Switch {
  env: string;
  cmake: string[];
  doc: string;
}
export const SWITCHES: Record<string, Switch>;
export interface BuildOptions {
  /** CMake definitions, e.g. { GGML_NATIVE: 'ON' } */
  defs: Record<string, string>;
  buildType: string;
  out: string;
  jobs: number | undefined;
  /** the CMake options the caller asked for (switches, environment, -D), before defaults */
  requested: string[];
}
export function resolveBuildOptions(argv?: string[], env?: Record<string, string | undefined>): BuildOptions;
export function cmakeJsArgs(options: BuildOptions, root: string, command?: 'build' | 'configure'): string[];
