/** The --help texts of report, compare and db. */
import { FILTER_HELP } from './store-filters.js';

export const REPORT_HELP = `usage: whisper-perf report [options]

Reports on the stored results: runs, the fastest configuration per model, the best
thread count per model, mean and best RTF per model × threads, the stage breakdown,
memory per model, and the history of a metric over runs.

options:
${FILTER_HELP}      --view LIST        runs, fastest, threads, rtf, stages, memory, history, results
                         (default: all but results; -o csv takes one view, default results)
      --metric NAME      the metric of the history view and chart (default encode_ms)
  -o, --output FMT       md (default), csv, json
      --out FILE         write the report to FILE instead of stdout (atomically)
      --html FILE        write a self-contained HTML page with charts to FILE (opens offline)
  -h, --help             this help

Exit code 2 when the store is missing, not a store, newer than this code, locked, or
does not answer.
`;

export const COMPARE_HELP = `usage: whisper-perf compare BASE CAND [options]

Compares two sets of stored results metric by metric. The unit is the run: a run is
one process, and on a VM two processes of the same binary differ by up to 10%, so the
spread of one run's own samples says nothing about the next run. Each run's figure is
its median; a side's figure is the geometric mean of its runs; the 95% interval of
CAND / BASE is over runs, its width set by the spread between runs of one
configuration: the sides' own (a tag naming several runs), or the store's repeated
runs of any configuration on the same host (same build variant and parameters).
Verdicts against --threshold: slower (the whole interval beyond +threshold), faster,
no change (the whole interval within ±threshold), inconclusive (otherwise). With one
run per side and no repeated runs in the store nothing can be said: every metric is
inconclusive. For a gate that decides, run both builds interleaved: whisper-perf ab.

BASE and CAND are each:
  N, run:N           a stored run
  tag:NAME, NAME     the runs with that tag (each run one unit)
  commit:HEX, HEX    the runs at that git commit (a prefix of 4+ hex digits)
  FILE.json          rows printed by whisper-perf bench -o json (or jsonl): one run

Rows are matched on their parameters (what, model, device, flash attention, threads,
file, preset ...). A parameter with one value on each side that differs (threads 2
against 1, two builds) is the change under test: it is printed and left out of the
match.

options:
      --db FILE|URL      the store (default: WHISPER_PERF_DB, else ~/.local/share/whisper-perf/results.db)
      --threshold PCT    smallest change called a change (default 5%; 0.05 works too)
      --alpha P          significance level of the within-run test printed for reference (default 0.05)
      --metric LIST      only these metrics (default: every statistic both sides have)
  -m, --model LIST       only these models
  -w, --what LIST        only these kinds of rows (encoder, rtf ...)
      --latest           a tag or commit naming several runs: use only its newest run
  -o, --output FMT       md (default; a table to paste into a pull request), csv, json
      --out FILE         write it to FILE instead of stdout
  -h, --help             this help

Exit codes: 0 no metric is slower and none inconclusive, 1 a metric is slower (the
gate fails), 3 none slower but some inconclusive, 2 a usage error: a run, tag or
commit that does not exist, two sides that share no metric, a store that cannot be read.

A gate over stored runs needs repeated runs (each bench is one process):
  for i in 1 2 3; do whisper-perf bench --db "$DB" --tag "pr-$PR" -r 5; done
  whisper-perf compare tag:main "tag:pr-$PR" --db "$DB" -o md > compare.md
`;

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
