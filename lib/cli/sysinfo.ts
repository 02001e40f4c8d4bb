/** `whisper-perf sysinfo`: the machine and the build. */
import { WhisperPerfError } from '../errors.js';
import { buildInfo, systemInfo } from '../system.js';
import { CliContext, parse } from './context.js';

export const SYSINFO_HELP = `usage: whisper-perf sysinfo [options]

Prints the machine (CPU model, cores, memory, whisper.cpp's CPU features, ggml devices
with their memory) and the addon's build (whisper.cpp version and pin, compiler, build
type, variant, backends, GGML options).

options:
  -o, --output FMT   md (default) or json
  -h, --help         this help
`;

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

export async function runSysinfo(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse('sysinfo', argv, { output: { type: 'string', short: 'o' } });
  if (values.help) {
    ctx.stdout(SYSINFO_HELP);
    return 0;
  }
  if (positionals.length) throw new WhisperPerfError(`sysinfo: unexpected argument ${JSON.stringify(positionals[0])}`, 'USAGE');
  const format = values.output ?? 'md';
  if (format !== 'md' && format !== 'json') throw new WhisperPerfError(`sysinfo: -o: invalid value ${JSON.stringify(format)}: expected md or json`, 'USAGE');
  const system = systemInfo();
  const build = buildInfo();
  if (format === 'json') {
    ctx.stdout(JSON.stringify({ system, build }, null, 2) + '\n');
    return 0;
  }
  const features = Object.entries(system.features).filter(([, v]) => v).map(([k]) => k.toUpperCase());
  const lines = [
    '| field | value |',
    '| --- | --- |',
    `| CPU | ${system.cpuModel} |`,
    `| cores | ${system.cores} logical, ${system.physicalCores} physical |`,
    `| memory | ${gib(system.memoryBytes)} (${gib(system.freeMemoryBytes)} free) |`,
    `| OS | ${system.os} |`,
    `| Node | ${system.nodeVersion} |`,
    `| CPU features (this build) | ${features.join(' ')} |`,
    ...system.devices.map((d) => `| device ${d.index} | ${d.backend} ${d.type}: ${d.description} (${gib(d.memoryTotal)}) |`),
    ...system.absentBackends.map((a) => `| ${a.backend} | no device: ${a.reason.replaceAll('|', '\\|')} |`),
    `| whisper.cpp | ${build.whisperVersion} (${build.pin.package}@${build.pin.version}) |`,
    `| build | ${build.buildType}, ${build.variant}, ${build.compiler} |`,
    `| backends | ${build.backends.join(', ')} |`,
    `| addon | ${build.addonPath} |`,
  ];
  ctx.stdout(lines.join('\n') + '\n');
  for (const w of build.warnings) ctx.stderr(`warning: ${w}\n`);
  return 0;
}
