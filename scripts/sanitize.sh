#!/usr/bin/env bash
# Runs the addon under AddressSanitizer + UndefinedBehaviorSanitizer, ThreadSanitizer and valgrind
# memcheck, and prints one summary line per tool on stdout (logs go to stderr and to the log folder).
#
#   scripts/sanitize.sh [asan] [tsan] [valgrind]        (default: all three; npm run test:sanitize)
#
# asan      build-asan/ (npm run build:native -- --sanitize address), built when missing; the native
#           tests (test/native/*.test.ts) and the fuzz suites (test/fuzz/*.test.ts, when present)
#           through vitest, in a Node that is not instrumented: libasan is preloaded into it.
# tsan      build-tsan/ (--sanitize thread: ggml's pthreads pool, not OpenMP), the same tests with
#           libtsan preloaded, under `setarch -R` (see below).
# valgrind  build-valgrind/ (a generic AVX2 RelWithDebInfo build: valgrind cannot run AVX-512 code,
#           and -march=native here would emit it), test/sanitize/exercise.mjs under memcheck (vitest
#           as a whole under valgrind would take hours).
#
# Environment: SANITIZE_JOBS (build jobs, default 2), SANITIZE_TESTS (test files instead of the
# native and fuzz ones, space-separated), SANITIZE_LOGS (log folder, default .cache/sanitize),
# SANITIZE_TSAN_TESTS (the tsan run's files; default: states, workers, executor),
# SANITIZE_TEST_TIMEOUT (ms per test, default 900000: an instrumented encode takes 20-50 s),
# SANITIZE_VITEST_ARGS (more vitest arguments, e.g. "-t states").
# Exit status: 1 when any tool found an error in the addon (a frame in binding/ or vendor
# whisper.cpp/ggml code) or a test failed under it; the reports are in <logs>/<tool>/addon-reports.txt.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${SANITIZE_JOBS:-2}"
logs="${SANITIZE_LOGS:-$root/.cache/sanitize}"
supp="$root/scripts/sanitize"
tools=("$@")
[ ${#tools[@]} -eq 0 ] && tools=(asan tsan valgrind)

log() { printf '[sanitize] %s\n' "$*" >&2; }

tests() {
  if [ -n "${SANITIZE_TESTS:-}" ]; then
    echo "$SANITIZE_TESTS"
  elif [ "$tool" = tsan ]; then
    # TSan: the files where threads meet (whisper states on their own compute threads, the addon in
    # worker_threads, the executor's queue and dispose), not all of them: ggml's thread pool under
    # TSan spins 10-50x slower, and on 2 cores the whole set would take most of an hour.
    echo "${SANITIZE_TSAN_TESTS:-test/native/states.test.ts test/native/workers.test.ts test/native/executor.test.ts}"
  else
    # the fuzz suites are optional: a glob that matches nothing adds nothing
    shopt -s nullglob
    echo test/native/*.test.ts test/fuzz/*.test.ts
  fi
}

build() { # build KIND DIR ARGS... : builds DIR unless its addon exists
  local addon="$2/RelWithDebInfo/whisper_perf.node"
  if [ ! -f "$addon" ]; then
    log "building $2 (several minutes)"
    npm run --silent build:native -- "${@:3}" --out "$2" -j "$jobs" >&2 || { log "build of $2 failed"; return 1; }
  fi
  echo "$root/$addon"
}

# vitest with the runtime preloaded: the parent and its forked workers inherit LD_PRELOAD and
# *SAN_OPTIONS, so every process that loads the addon has the runtime it was linked against
# loaded first. The parent and Node itself are not instrumented: they only get the allocator (ASan)
# or the interceptors (TSan).
run_vitest() { # run_vitest DIR PREFIX...
  local dir="$1"
  shift
  # shellcheck disable=SC2046
  # the reports come on the workers' stderr (UBSan in a Node host ignores log_path): keep it all
  "$@" node node_modules/vitest/vitest.mjs run $(tests) ${SANITIZE_VITEST_ARGS:-} \
    --testTimeout="${SANITIZE_TEST_TIMEOUT:-900000}" --hookTimeout="${SANITIZE_TEST_TIMEOUT:-900000}" \
    --reporter=default --reporter=json --outputFile.json="$dir/vitest.json" 2>&1 | tee "$dir/output.log" >&2
}

status=0
for tool in "${tools[@]}"; do
  dir="$logs/$tool"
  rm -rf "$dir" && mkdir -p "$dir"
  case "$tool" in
    asan)
      addon="$(build asan build-asan --sanitize address)" || { status=1; continue; }
      log "asan: $(tests) with $addon"
      # detect_leaks=0: LeakSanitizer at the exit of a whole Node process lists V8's and Node's own
      # never-freed allocations by the hundred, and a suppression by module would hide the addon's
      # too (every stack passes through node). Leaks are checked by valgrind below (definitely lost,
      # with the addon in the allocation stack) and by test/native/leaks.test.ts (live contexts and
      # RSS over many loads).
      WHISPER_PERF_ADDON="$addon" \
        LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
        ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:log_path=$dir/asan" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp" \
        run_vitest "$dir" env
      ;;
    tsan)
      addon="$(build tsan build-tsan --sanitize thread)" || { status=1; continue; }
      log "tsan: $(tests) with $addon"
      # setarch -R: GCC 12's TSan maps its shadow at fixed addresses and stops with "unexpected
      # memory mapping" when the kernel randomizes mmap over more bits (vm.mmap_rnd_bits > 28 on
      # newer kernels); without address randomization the layout always fits.
      WHISPER_PERF_ADDON="$addon" \
        LD_PRELOAD="$(gcc -print-file-name=libtsan.so)" \
        TSAN_OPTIONS="suppressions=$supp/tsan.supp:print_suppressions=1:halt_on_error=0:second_deadlock_stack=1:history_size=4:report_signal_unsafe=0:log_path=$dir/tsan" \
        run_vitest "$dir" setarch "$(uname -m)" -R env
      ;;
    valgrind)
      addon="$(build valgrind build-valgrind --no-native --relwithdebinfo -DWHISPER_PERF_NATIVE_BENCH=OFF)" || { status=1; continue; }
      log "valgrind: test/sanitize/exercise.mjs with $addon (slow: 20-100x)"
      # --errors-for-leak-kinds=definite: a block nobody points to any more is an error; "possibly
      # lost" are V8's interior pointers, "still reachable" what the process holds at exit.
      WHISPER_PERF_ADDON="$addon" valgrind --tool=memcheck --trace-children=no --child-silent-after-fork=yes \
        --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
        --num-callers=40 --suppressions="$supp/valgrind.supp" --xml=yes --xml-file="$dir/memcheck.%p.xml" \
        --log-file="$dir/memcheck.%p.log" \
        node test/sanitize/exercise.mjs >"$dir/exercise.out" 2>"$dir/exercise.err"
      cat "$dir/exercise.err" >&2
      ;;
    *)
      log "unknown tool: $tool (asan, tsan or valgrind)"
      status=2
      continue
      ;;
  esac
  node "$supp/summarize.mjs" "$tool" "$dir" "$addon" || status=1
done
exit "$status"
