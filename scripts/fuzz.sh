#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) in build-fuzz/ and fuzzes the DSL
# front end, seeded with samples/. Not part of CI. Usage: scripts/fuzz.sh [SECONDS] [JOBS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-300}
jobs=${2:-2}
"$root/scripts/setup.sh" --with-fuzz
build=$root/build-fuzz
if [[ ! -f $build/CMakeCache.txt ]]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSAGAFLOW_BUILD_FUZZ=ON \
    -DSAGAFLOW_BUILD_TESTS=OFF -DSAGAFLOW_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$build" -j2 --target dsl_fuzz
corpus=$root/fuzz-corpus/dsl
mkdir -p "$corpus" "$root/fuzz-corpus/artifacts"
cp -n "$root"/samples/*.json "$corpus"/ 2>/dev/null || true
cd "$root/fuzz-corpus"
"$build/bin/dsl_fuzz" "$corpus" -dict="$root/fuzz/dsl.dict" -max_len=16384 -timeout=10 \
  -rss_limit_mb=2048 -max_total_time="$seconds" -jobs="$jobs" -workers="$jobs" \
  -artifact_prefix="$root/fuzz-corpus/artifacts/" -print_final_stats=1
