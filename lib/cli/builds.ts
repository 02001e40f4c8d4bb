/** `whisper-perf builds`: the addon builds found (build* folders and prebuilds) with their build info. */
import { checkLoads, listBuilds, type AddonBuild } from '../workloads/builds.js';
import { WhisperPerfError } from '../errors.js';
import type { AbsentBackend } from '../system.js';
import { buildOptionsSummary } from '../report/hardware.js';
import { mdTable } from '../report/table.js';
import { CliContext, parse, writeData } from './context.js';

export const BUILDS_HELP = `usage: whisper-perf builds [options]

Lists the addon builds found: every build[-NAME]/<type>/whisper_perf.node of the package (each
made by \`npm run build:native -- --out DIR ...\`) and every x86-64-level prebuild, with
the build info beside it (whisper-perf-build.json): variant, instruction sets, build
type, backends, whisper.cpp version. Each is test-loaded in a child process.

Names (what \`bench --build\` takes): build-X/ is X (build-generic → generic); build/
goes by its variant (native) or "default"; a prebuild is its level (x86-64-v3, v3).
A folder name or a path to a .node file works too.

options:
  -o, --output FMT   md (default) or json
      --out FILE     write the data to FILE instead of stdout (atomically)
      --no-check     do not test-load the builds
  -h, --help         this help

The devices column lists ggml's devices other than the CPU; a GPU backend compiled in that
found no device says why in the status column.

Exit code 1 when a build does not load.
`;

export interface BuildListing extends AddonBuild {
  /** whisper.cpp version reported by the addon when loaded in a child process; absent with --no-check */
  loads?: { ok: boolean; version?: string; error?: string; devices?: string[]; absent?: AbsentBackend[] };
  /** the notable options, as the bench table shows them */
  summary: string;
}

export async function runBuilds(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('builds', argv, {
    output: { type: 'string', short: 'o' },
    out: { type: 'string' },
    'no-check': { type: 'boolean' },
  });
  if (values.help) {
    ctx.stdout(BUILDS_HELP);
    return 0;
  }
  if (positionals.length) throw new WhisperPerfError(`builds: unexpected argument ${JSON.stringify(positionals[0])}`, 'USAGE');
  const format = values.output ?? 'md';
  if (format !== 'md' && format !== 'json') throw new WhisperPerfError(`builds: -o: invalid value ${JSON.stringify(format)}: expected md or json`, 'USAGE');
  const builds: BuildListing[] = listBuilds().map((b) => ({
    ...b,
    summary: buildOptionsSummary(b.info ? { variant: b.variant, build_type: b.buildType, backends: b.backends, compiler: b.info.compiler ?? '', sanitizer: b.info.sanitizer === 'ON', options: b.info.options ?? {} } : undefined),
    ...(values['no-check'] || !b.fits ? {} : { loads: checkLoads(b.path) }),
  }));
  if (format === 'json') {
    writeData(ctx, JSON.stringify(builds, null, 2), values.out);
  } else if (builds.length === 0) {
    writeData(ctx, 'No addon builds found: build one with `npm run build:native` (or `npm run build:native -- --out build-generic --no-native` for a second variant).\n', values.out);
  } else {
    const table = mdTable(
      ['build', 'also', 'folder', 'variant', 'options', 'type', 'backends', 'devices', 'whisper.cpp', 'status'],
      builds.map((b) => [
        b.name + (b.isDefault ? ' *' : ''),
        b.aliases.join(', '),
        b.dir,
        b.variant,
        b.summary,
        b.buildType,
        b.backends.join(', '),
        b.loads?.devices?.join(', ') || (b.loads?.ok ? 'CPU' : ''),
        b.loads?.version ?? b.info?.pin?.whisperVersion ?? '',
        b.problem ?? (b.loads && !b.loads.ok ? `does not load: ${b.loads.error}` : b.loads?.absent?.length ? b.loads.absent.map((a) => `no ${a.backend} device: ${a.reason}`).join('; ') : 'ok'),
      ]),
    );
    writeData(ctx, `${table}\n* the build loaded when WHISPER_PERF_ADDON is not set. Compare them: whisper-perf bench --build ${builds.slice(0, 2).map((b) => b.name).join(',')}\n`, values.out);
  }
  return builds.some((b) => b.loads && !b.loads.ok) ? 1 : 0;
}
