/** `whisper-perf db`: info, runs, import, copy, delete, migrate. */
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';

import { parseIntList } from '../measure/params.js';
import { WhisperPerfError } from '../errors.js';
import { buildViews, renderViews } from '../report/views.js';
import { copyStore } from '../store/copy.js';
import { IMPORT_FORMATS, parseImport, type ImportFormat } from '../store/native-import.js';
import { defaultStoreLocation, displayLocation, openStore } from '../store/open.js';
import { startRun } from '../store/recorder.js';
import { packageVersion } from '../system.js';
import { type CliContext, parse, writeData } from './context.js';
import { parseTags } from './store-options.js';
import { FILTER_OPTIONS, parseFilter } from './store-filters.js';
import { FILTER_HELP } from './store-filters.js';

export const DB_HELP = `usage: whisper-perf db <command> [options]

  db info                      the store's location, schema version, runs and results
  db runs [filters]            the stored runs (-o md|csv|json)
  db import FILE... [--format F] [--tag NAME] [--host NAME]
                               import whisper.cpp's own output, one run per file, marked
                               native: whisper-bench text (-w 0, 1, 2), whisper-cli output
                               (the timing lines), scripts/bench.py CSV; or rows printed by
                               whisper-perf bench -o json. F: whisper-bench, whisper-cli,
                               bench-py, json (default: recognized from the text)
  db copy --to FILE|URL [filters]
                               copy runs into another store (SQLite ↔ PostgreSQL); runs the
                               destination already holds are skipped
  db delete RUN...             delete runs and their results
  db migrate                   apply pending schema migrations and print the version

options:
${FILTER_HELP}  -o, --output FMT       md (default), csv, json
  -h, --help             this help

The store: a SQLite file (WAL mode; default ~/.local/share/whisper-perf/results.db, or
WHISPER_PERF_DB) or a PostgreSQL database (--db postgres://user:pass@host:5432/db).
Exit code 2 for a store that is not one, is newer than this code, is locked or does
not answer, or a run that does not exist.
`;

export async function runDb(argv: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    ctx.stdout(DB_HELP);
    return 0;
  }
  const { values, positionals } = parse(`db ${sub}`, rest, {
    ...FILTER_OPTIONS,
    output: { type: 'string', short: 'o' },
    out: { type: 'string' },
    to: { type: 'string' },
    format: { type: 'string' },
  });
  if (values.help) {
    ctx.stdout(DB_HELP);
    return 0;
  }
  const format = values.output ?? 'md';
  if (!['md', 'csv', 'json'].includes(format)) throw new WhisperPerfError(`-o: invalid value ${JSON.stringify(format)}: expected md, csv or json`, 'USAGE');
  const location = values.db ?? defaultStoreLocation();
  const noPositionals = () => {
    if (positionals.length) throw new WhisperPerfError(`db ${sub}: unexpected argument ${JSON.stringify(positionals[0])}`, 'USAGE');
  };

  switch (sub) {
    case 'info':
    case 'migrate': {
      noPositionals();
      const store = await openStore(location, { create: sub === 'migrate' });
      try {
        const info = await store.info();
        if (format === 'json') writeData(ctx, JSON.stringify(info, null, 2), values.out);
        else {
          const rows: [string, string][] = [
            ['kind', info.kind],
            ['location', info.location],
            ['schema version', `${info.schema_version} (this code knows up to ${info.latest_version})`],
            ['migrated now', info.migrated.length ? info.migrated.join(', ') : 'none'],
            ['runs', String(info.runs)],
            ['results', String(info.results)],
          ];
          writeData(ctx, format === 'csv' ? ['key,value', ...rows.map(([k, v]) => `${k},"${v.replace(/"/g, '""')}"`)].join('\n') : rows.map(([k, v]) => `${k.padEnd(15)} ${v}`).join('\n'), values.out);
        }
      } finally {
        await store.close();
      }
      return 0;
    }
    case 'runs': {
      noPositionals();
      const store = await openStore(location, { create: false });
      try {
        const runs = await store.findRuns(parseFilter(values));
        writeData(ctx, renderViews(buildViews({ runs, results: [] }, ['runs']), format as 'md' | 'csv' | 'json'), values.out);
      } finally {
        await store.close();
      }
      return 0;
    }
    case 'import': {
      if (positionals.length === 0) throw new WhisperPerfError('db import: name the files to import', 'USAGE');
      let fmt: ImportFormat | undefined;
      if (values.format !== undefined) {
        if (!IMPORT_FORMATS.includes(values.format as ImportFormat)) throw new WhisperPerfError(`--format: invalid value ${JSON.stringify(values.format)}: expected ${IMPORT_FORMATS.join(', ')}`, 'USAGE');
        fmt = values.format as ImportFormat;
      }
      const tags = parseTags(values.tag);
      const hosts = values.host ?? [];
      if (hosts.length > 1) throw new WhisperPerfError('db import: --host takes one name (the machine the files came from)', 'USAGE');
      // every file is parsed before anything is stored: a bad one stores nothing
      const parsed = positionals.map((file) => {
        let text: string;
        let mtime: string;
        try {
          text = readFileSync(file, 'utf8');
          mtime = statSync(file).mtime.toISOString();
        } catch (e) {
          throw new WhisperPerfError(`db import: cannot read ${file}: ${(e as Error).message}`, 'USAGE');
        }
        return { file, ...parseImport(text, { format: fmt, timestamp: mtime, name: file }), mtime };
      });
      const store = await openStore(location);
      const out: (string | number)[][] = [];
      try {
        for (const p of parsed) {
          const native = p.format !== 'json';
          const rec = await startRun(store, {
            kind: 'import',
            source: native ? 'native' : 'whisper-perf',
            argv: ['db', 'import', resolve(p.file), ...(fmt ? ['--format', fmt] : [])],
            tags,
            host: hosts[0] ?? (native ? hostname() : String(p.rows[0]?.host ?? hostname())),
            started_at: native ? p.mtime : String(p.rows[0]?.timestamp ?? p.mtime),
            git_commit: p.facts.git_commit ?? null,
            git_dirty: null,
            system: p.facts.system ?? null,
            package_version: native ? null : String(p.rows[0]?.package_version ?? packageVersion()),
            whisper_version: p.facts.whisper_version ?? (native ? null : String(p.rows[0]?.whisper_version ?? '')) ?? null,
          });
          for (const r of p.rows) await rec.record([r]);
          await rec.finish();
          for (const w of p.warnings) ctx.stderr(`whisper-perf: ${p.file}: ${w}\n`);
          out.push([p.file, p.format, rec.id, p.rows.length]);
        }
      } finally {
        await store.close();
      }
      const header = ['file', 'format', 'run', 'rows'];
      if (format === 'json') writeData(ctx, JSON.stringify(out.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]]))), null, 2), values.out);
      else writeData(ctx, renderViews([{ view: 'runs', title: `Imported into ${displayLocation(location)}`, columns: header, rows: out }], format === 'csv' ? 'csv' : 'md'), values.out);
      return 0;
    }
    case 'copy': {
      noPositionals();
      if (!values.to) throw new WhisperPerfError('db copy: --to FILE|URL names the destination store', 'USAGE');
      const from = await openStore(location, { create: false });
      try {
        const to = await openStore(values.to);
        try {
          const r = await copyStore(from, to, parseFilter(values));
          ctx.stderr(`whisper-perf: copied ${r.copied.length} run(s) (${r.copied.reduce((a, c) => a + c.results, 0)} results) to ${displayLocation(values.to)}${r.skipped.length ? `; ${r.skipped.length} already there` : ''}\n`);
          const rows = [...r.copied.map((c) => [c.from, c.to, c.results, 'copied']), ...r.skipped.map((s) => [s, '', '', 'already there'])];
          if (format === 'json') writeData(ctx, JSON.stringify(r, null, 2), values.out);
          else writeData(ctx, renderViews([{ view: 'runs', title: 'Copied runs', columns: ['run', 'new_run', 'results', 'status'], rows }], format === 'csv' ? 'csv' : 'md'), values.out);
        } finally {
          await to.close();
        }
      } finally {
        await from.close();
      }
      return 0;
    }
    case 'delete': {
      if (positionals.length === 0) throw new WhisperPerfError('db delete: name the runs to delete', 'USAGE');
      const ids = positionals.flatMap((p) => parseIntList('db delete', p, { min: 1 }));
      const store = await openStore(location, { create: false });
      try {
        for (const id of ids) if (!(await store.getRun(id))) throw new WhisperPerfError(`db delete: no run ${id} in ${store.location}`, 'NOT_FOUND');
        for (const id of ids) await store.deleteRun(id);
        ctx.stderr(`whisper-perf: deleted run(s) ${ids.join(', ')}\n`);
      } finally {
        await store.close();
      }
      return 0;
    }
    default:
      throw new WhisperPerfError(`db: unknown command ${JSON.stringify(sub)} (expected info, runs, import, copy, delete, migrate)`, 'USAGE');
  }
}
