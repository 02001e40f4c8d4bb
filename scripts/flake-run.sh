#!/usr/bin/env bash
# The suite's flake check (docs/testing.md): N runs of CI's own command on fresh clones of one
# commit, each with the other core kept busy by a spinning shell, one JSON line per run appended to
# RESULTS. Run again with the same COMMIT and RESULTS, it goes on from the runs RESULTS holds (a
# session that ends loses none). The streak is the run of passes at the end of RESULTS.
#
#   scripts/flake-run.sh COMMIT N RESULTS [KEEP_LOGS_DIR]
#
# Each run: `git clone` of this repository into a new folder, `git checkout COMMIT`, then
# `CI=true bash .ci/run` there (installs what the machine lacks, a throwaway PostgreSQL, the
# REQUIRE switches, `npm install`, `npm test`), beside `while :; do :; done`. The clone is removed
# after the run; its log is kept in KEEP_LOGS_DIR (default: beside RESULTS) when the run failed.
# A run passes when `.ci/run` exits 0 and leaves no process running from its clone ("left" in its
# line counts those it left; they are killed). Stopped (INT or TERM) mid-run, it records nothing for that run and leaves nothing behind: the run
# is a session of its own whose processes are killed, and the throwaway PostgreSQL servers the run
# started (daemons outside that session) are stopped.
set -uo pipefail

if [ $# -lt 3 ]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
commit=$1 n=$2 results=$3
logs=${4:-$(dirname "$results")/flake-logs}
repo=$(cd "$(dirname "$0")/.." && pwd)
full=$(git -C "$repo" rev-parse --verify "$commit^{commit}") || { echo "flake-run: no commit $commit" >&2; exit 2; }
mkdir -p "$(dirname "$results")" "$logs"
touch "$results"
if grep -v -q "\"commit\":\"$full\"" "$results"; then
  echo "flake-run: $results holds runs of another commit; use another file" >&2
  exit 2
fi

hog= run= pg_before=
# the processes a run left running: those whose command line or working folder is in its clone,
# whichever session they are in (a process that detaches itself leaves the run's session)
left_in() {
  local d=$1 p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = "$$" ] && continue
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$d/" || [[ "$(readlink "/proc/$p/cwd" 2>/dev/null)/" == "$d"/* ]]; then echo "$p"; fi
  done
}
# the throwaway servers a run's .ci/run started (scripts/pg-throwaway.sh: a data folder /tmp/wp-pg.*)
pg_dirs() { ls -d /tmp/wp-pg.*/ 2>/dev/null | sort; }
cleanup() {
  [ -n "$hog" ] && kill "$hog" 2>/dev/null
  if [ -n "$run" ]; then
    # the run's own session (setsid below): its shells, npm, node-gyp, vitest and their children
    kill -TERM -- "-$run" 2>/dev/null
    sleep 2
    kill -KILL -- "-$run" 2>/dev/null
    comm -13 <(printf '%s\n' "$pg_before") <(pg_dirs) | while read -r d; do
      [ -n "$d" ] && bash "$repo/scripts/pg-throwaway.sh" stop "${d%/}"
    done
  fi
  if [ -n "${dir:-}" ]; then
    # shellcheck disable=SC2046
    kill -KILL $(left_in "$dir") 2>/dev/null
    rm -rf "$dir"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

done_runs=$(grep -c . "$results")
for ((i = done_runs + 1; i <= n; i++)); do
  dir=$(mktemp -d /tmp/whisper-perf-flake.XXXXXX)
  git clone -q "$repo" "$dir/repo" && git -C "$dir/repo" checkout -q "$full" || { echo "flake-run: clone failed" >&2; exit 2; }
  bash -c 'while :; do :; done' &
  hog=$!
  start=$(date -u +%FT%TZ)
  t0=$(date +%s)
  echo "flake-run: run $i/$n of ${full:0:7} started $start (log $dir/run.log)" >&2
  pg_before=$(pg_dirs)
  # in the background, so that a signal reaches the trap now, not when the run ends
  (cd "$dir/repo" && CI=true exec setsid bash .ci/run) >"$dir/run.log" 2>&1 &
  run=$!
  wait "$run"
  rc=$?
  run=
  t1=$(date +%s)
  kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null; hog=
  # a run that leaves a process behind has failed, whatever its tests said: the process goes on
  # computing into the next run (flake run 1 of 3ab0fc7 left a timed-out test's bench for 12 minutes)
  left_pids=$(left_in "$dir")
  left=$(for p in $left_pids; do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-200; echo; done | grep . | sed 's/["\\]//g' | paste -sd '|' -)
  # shellcheck disable=SC2086
  [ -n "$left_pids" ] && kill -KILL $left_pids 2>/dev/null
  nleft=$(printf '%s' "$left_pids" | grep -c .)
  if [ "$nleft" -gt 0 ]; then echo "flake-run: run $i left $nleft process(es) running, killed now: $left" >&2; fi
  # vitest's summary lines, colours stripped once: "Test Files  N passed (N)", "Tests  N passed | M skipped (K)"
  sed 's/\x1b\[[0-9;]*m//g' "$dir/run.log" >"$dir/plain.log"
  files=$(grep -a -E '^ *Test Files ' "$dir/plain.log" | tail -1 | sed 's/^ *//; s/  */ /g; s/"//g')
  tests=$(grep -a -E '^ *Tests ' "$dir/plain.log" | tail -1 | sed 's/^ *//; s/  */ /g; s/"//g')
  failed=$(grep -a -E '^ *(FAIL|×) ' "$dir/plain.log" | sed 's/^ *//; s/["\\]//g' | head -20 | paste -sd '|' -)
  if [ "$rc" -ne 0 ] || [ "$nleft" -gt 0 ]; then cp "$dir/run.log" "$logs/run-$i-${full:0:7}.log"; fi
  printf '{"run":%d,"commit":"%s","start":"%s","seconds":%d,"rc":%d,"left":%d,"cpu":"%s","files":"%s","tests":"%s","failed":"%s","leftover":"%s"}\n' \
    "$i" "$full" "$start" $((t1 - t0)) "$rc" "$nleft" "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$files" "$tests" "$failed" "$left" >>"$results"
  echo "flake-run: run $i/$n rc=$rc, $nleft process(es) left, in $((t1 - t0)) s" >&2
  rm -rf "$dir"
  dir=
done
# a pass: exit 0 and nothing left running (lines from before "left" was recorded lack it)
streak=$(tac "$results" | awk '!/"rc":0[,}]/ || /"left":[1-9]/ { exit } { n++ } END { print n + 0 }')
echo "flake-run: $(grep -c . "$results") runs in $results, the last $streak passed in a row" >&2
