#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store tests: a fresh data directory in /tmp, listening
# on 127.0.0.1 only, on a free port, with a password (so a wrong one can be refused).
#
#   eval "$(scripts/pg-throwaway.sh start)"   # exports WHISPER_PERF_TEST_PG and WHISPER_PERF_PG_DIR
#   scripts/pg-throwaway.sh stop "$WHISPER_PERF_PG_DIR"
#
# As root, the server runs as the `postgres` system user (PostgreSQL refuses to run as root).
set -euo pipefail

bindir() {
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  command -v initdb >/dev/null && dirname "$(readlink -f "$(command -v initdb)")" && return
  echo "pg-throwaway: PostgreSQL server binaries (initdb, pg_ctl) not found; apt-get install postgresql" >&2
  exit 1
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    BIN=$(bindir)
    DIR=$(mktemp -d /tmp/wp-pg.XXXXXX)
    chmod 755 "$DIR"
    PASS=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$PASS" > "$DIR/pw"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$DIR"
    PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
    as_pg "$BIN/initdb" -D "$DIR/data" -U wp --pwfile="$DIR/pw" --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
      || { cat "$DIR/initdb.log" >&2; exit 1; }
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$DIR -c fsync=off -c max_connections=50" start >/dev/null \
      || { cat "$DIR/server.log" >&2; exit 1; }
    PGPASSWORD="$PASS" "$BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U wp -d postgres -c 'CREATE DATABASE whisper_perf' >/dev/null
    echo "export WHISPER_PERF_TEST_PG=postgres://wp:$PASS@127.0.0.1:$PORT/whisper_perf"
    echo "export WHISPER_PERF_PG_DIR=$DIR"
    ;;
  stop)
    DIR=${2:-${WHISPER_PERF_PG_DIR:-}}
    [ -n "$DIR" ] && [ -d "$DIR/data" ] || exit 0
    BIN=$(bindir)
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
