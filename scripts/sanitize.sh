#!/usr/bin/env bash
# Builds sagaflow with a sanitizer and runs the GoogleTest suites under it (docs/DEVELOPMENT.md,
# "Sanitizers").
#
#   scripts/sanitize.sh asan [CTEST_ARGS...]   # ASan + UBSan + LeakSanitizer, in build-asan/
#   scripts/sanitize.sh tsan [CTEST_ARGS...]   # ThreadSanitizer, in build-tsan/
#
# Every process of the run -- test binaries, and the sagaflowd / sagaflow / trip-worker /
# crash-child binaries they spawn, all built with the same sanitizer -- writes its sanitizer
# reports to BUILD_DIR/sanitizer-reports/<kind>.<exe>.<pid> (log_path) rather than to stderr,
# so a report inside a spawned sagaflowd is not lost when a test deletes the server's temp dir
# and its log. The run fails when ctest fails OR when that directory is not empty; the reports
# are printed at the end. A process with a report also exits with status 66.
#
# Environment:
#   BUILD_DIR       build directory (default build-asan/ or build-tsan/ at the repository root)
#   SANITIZE_TESTS  test binaries to build and run, space-separated (default: all of them for
#                   asan; for tsan, those without gRPC)
#   BUILD_JOBS      build parallelism (default 2); the build runs under `nice -n 10`
#   CTEST_JOBS      ctest parallelism (default 2)
#   CTEST_TIMEOUT   per-test timeout in seconds (default 900; sanitizers are 2-15x slower)
#   SANITIZE_NO_BUILD=1  skip the build step (run what is built)
# Extra arguments go to ctest (e.g. -R 'ChaosTest' or --repeat until-fail:3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  echo "usage: $0 asan|tsan [ctest args...]" >&2
  exit 2
}
[[ $# -ge 1 ]] || usage
kind=$1
shift
case $kind in
  asan) option=-DSAGAFLOW_SANITIZE=ON ;;
  tsan) option=-DSAGAFLOW_TSAN=ON ;;
  *) usage ;;
esac

build_dir=${BUILD_DIR:-$root/build-$kind}
build_jobs=${BUILD_JOBS:-2}
ctest_jobs=${CTEST_JOBS:-2}
ctest_timeout=${CTEST_TIMEOUT:-900}
case $kind in
  asan) default_tests="common_test dsl_test activities_test engine_test persistence_test schedules_test cli_test server_test reliability_test" ;;
  # Not the binaries that run gRPC: Debian's gRPC is not built with TSan, and the gRPC C++
  # headers (instrumented, in our binaries) hand calls between threads through libgrpc's
  # atomics, which TSan cannot see, so every server test reports races inside gRPC's own call
  # handling (docs/DEVELOPMENT.md, "Sanitizers"). SANITIZE_TESTS can still name them.
  tsan) default_tests="common_test dsl_test activities_test engine_test persistence_test schedules_test" ;;
esac
tests=${SANITIZE_TESTS:-$default_tests}
supp=$root/scripts/sanitizers

# --- Build.
if [[ ${SANITIZE_NO_BUILD:-0} != 1 ]]; then
  generator=()
  if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
  if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    nice -n 10 cmake -S "$root" -B "$build_dir" "${generator[@]}" "$option" \
      -DSAGAFLOW_BUILD_BENCH=OFF >/dev/null
  fi
  build_start=$(date +%s)
  # Only the chosen test binaries and what they run (their CMake dependencies).
  # shellcheck disable=SC2086
  nice -n 10 cmake --build "$build_dir" -j"$build_jobs" --target $tests
  echo "sanitize.sh: build took $(($(date +%s) - build_start))s"
fi

# --- Sanitizer options, for every process of the run.
reports=$build_dir/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
# Shared by all sanitizers: reports to files named after the executable, a distinct exit status.
common="log_path=$reports/$kind:log_exe_name=1:exitcode=66"
case $kind in
  asan)
    export ASAN_OPTIONS="$common:halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_init_order=1:check_initialization_order=1:detect_stack_use_after_return=1"
    export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="$common:print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp"
    ;;
  tsan)
    export TSAN_OPTIONS="$common:halt_on_error=1:second_deadlock_stack=1:history_size=4:suppressions=$supp/tsan.supp:print_suppressions=0"
    ;;
esac
echo "sanitize.sh: ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS }${LSAN_OPTIONS:+LSAN_OPTIONS=$LSAN_OPTIONS }${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS }${TSAN_OPTIONS:+TSAN_OPTIONS=$TSAN_OPTIONS}"

# --- Run: one ctest label per test binary (tests/CMakeLists.txt).
label="^($(echo "$tests" | xargs | tr ' ' '|'))\$"
run_start=$(date +%s)
status=0
ctest --test-dir "$build_dir" --output-on-failure -j"$ctest_jobs" --timeout "$ctest_timeout" \
  -L "$label" "$@" || status=$?
echo "sanitize.sh: $kind tests ($tests) took $(($(date +%s) - run_start))s, ctest status $status"

# --- Reports from any process, including children whose logs the tests removed.
shopt -s nullglob
found=("$reports"/*)
if [[ ${#found[@]} -gt 0 ]]; then
  echo "sanitize.sh: ${#found[@]} sanitizer report file(s) in $reports:" >&2
  for f in "${found[@]}"; do
    echo "===== $f" >&2
    cat "$f" >&2
  done
  [[ $status -ne 0 ]] || status=1
else
  echo "sanitize.sh: no sanitizer reports"
fi
exit "$status"
