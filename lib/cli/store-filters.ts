/** The filter options report, compare and db share, parsed into a ResultFilter. */
import { parseIntList, parseStringList } from '../measure/params.js';
import { WhisperPerfError } from '../errors.js';
import type { ResultFilter } from '../store/types.js';

export const FILTER_OPTIONS = {
  db: { type: 'string' },
  tag: { type: 'string', multiple: true },
  model: { type: 'string', short: 'm', multiple: true },
  host: { type: 'string', multiple: true },
  run: { type: 'string', multiple: true },
  commit: { type: 'string', multiple: true },
  what: { type: 'string', short: 'w' },
  threads: { type: 'string', short: 't' },
  since: { type: 'string' },
  until: { type: 'string' },
} as const;

export const FILTER_HELP = `      --db FILE|URL      the store (default: WHISPER_PERF_DB, else ~/.local/share/whisper-perf/results.db)
      --tag LIST         runs with any of these tags
  -m, --model LIST       results of these models (file name, ggml-NAME.bin name, or path)
      --host LIST        runs made on these hosts
      --run LIST         these run ids (1,4-6)
      --commit LIST      runs at these git commits (a prefix of 4+ hex digits)
  -w, --what LIST        encoder, rtf, memcpy, mulmat ...
  -t, --threads LIST     these thread counts
      --since DATE       runs started on or after DATE (YYYY-MM-DD or an ISO time)
      --until DATE       runs started on or before DATE (a bare date includes that day)
`;

export interface FilterValues {
  tag?: string[];
  model?: string[];
  host?: string[];
  run?: string[];
  commit?: string[];
  what?: string;
  threads?: string;
  since?: string;
  until?: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function date(option: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!DATE.test(v) || Number.isNaN(Date.parse(v))) throw new WhisperPerfError(`${option}: invalid value ${JSON.stringify(v)}: expected YYYY-MM-DD or an ISO 8601 time`, 'USAGE');
  // times with an offset are compared as UTC text, like the stored times
  return v.length > 10 ? new Date(v).toISOString() : v;
}

export function parseFilter(v: FilterValues): ResultFilter {
  const list = (option: string, xs: string[] | undefined) => (xs ?? []).flatMap((x) => parseStringList(option, x));
  const f: ResultFilter = {};
  const tags = list('--tag', v.tag);
  if (tags.length) f.tags = tags;
  const models = list('-m', v.model);
  if (models.length) f.models = models;
  const hosts = list('--host', v.host);
  if (hosts.length) f.hosts = hosts;
  const runs = (v.run ?? []).flatMap((x) => parseIntList('--run', x, { min: 1 }));
  if (runs.length) f.ids = runs;
  const commits = list('--commit', v.commit);
  for (const c of commits) if (!/^[0-9a-f]{4,64}$/i.test(c)) throw new WhisperPerfError(`--commit: invalid value ${JSON.stringify(c)}: 4 to 64 hex digits`, 'USAGE');
  if (commits.length) f.commits = commits;
  if (v.what) f.what = parseStringList('-w', v.what);
  if (v.threads) f.threads = parseIntList('-t', v.threads, { min: 1 });
  f.since = date('--since', v.since);
  f.until = date('--until', v.until);
  if (f.since === undefined) delete f.since;
  if (f.until === undefined) delete f.until;
  return f;
}
