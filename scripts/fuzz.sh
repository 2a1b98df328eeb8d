#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) in build-fuzz/ and runs them: the DSL
# front end (dsl_fuzz, seeded with samples/) and the stored-record and token decoders
# (records_fuzz, seeded by records_seeds plus fuzz/seeds/records/). Not part of CI.
# Usage: scripts/fuzz.sh [SECONDS] [JOBS] [TARGET]
#   SECONDS per target (default 300), JOBS parallel fuzzing processes (default 2),
#   TARGET dsl_fuzz, records_fuzz or all (default all: each for SECONDS, one after the other).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-300}
jobs=${2:-2}
target=${3:-all}
case $target in
  dsl_fuzz) targets=(dsl_fuzz) ;;
  records_fuzz) targets=(records_fuzz) ;;
  all) targets=(dsl_fuzz records_fuzz) ;;
  *) echo "usage: $0 [SECONDS] [JOBS] [dsl_fuzz|records_fuzz|all]" >&2; exit 2 ;;
esac
"$root/scripts/setup.sh" --with-fuzz
build=$root/build-fuzz
if [[ ! -f $build/CMakeCache.txt ]]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSAGAFLOW_BUILD_FUZZ=ON \
    -DSAGAFLOW_BUILD_TESTS=OFF -DSAGAFLOW_BUILD_BENCH=OFF >/dev/null
fi
build_targets=("${targets[@]}")
[[ " ${targets[*]} " == *" records_fuzz "* ]] && build_targets+=(records_seeds)
cmake --build "$build" -j2 --target "${build_targets[@]}"
mkdir -p "$root/fuzz-corpus/artifacts"
cd "$root/fuzz-corpus"
common=(-timeout=10 -rss_limit_mb=2048 -max_total_time="$seconds" -jobs="$jobs"
  -workers="$jobs" -artifact_prefix="$root/fuzz-corpus/artifacts/" -print_final_stats=1)

for t in "${targets[@]}"; do
  echo "fuzz.sh: $t for ${seconds}s, $jobs job(s)" >&2
  case $t in
    dsl_fuzz)
      corpus=$root/fuzz-corpus/dsl
      mkdir -p "$corpus"
      cp -n "$root"/samples/*.json "$corpus"/ 2>/dev/null || true
      "$build/bin/dsl_fuzz" "$corpus" -dict="$root/fuzz/dsl.dict" -max_len=16384 "${common[@]}"
      ;;
    records_fuzz)
      corpus=$root/fuzz-corpus/records
      mkdir -p "$corpus"
      # Generated seeds (states of the sample workflows, tokens, listings) and the checked-in
      # regression inputs. Entropic scheduling is off: with this target's ~50k features per
      # input, libFuzzer 14 spends most of its time in UpdateFeatureFrequency otherwise.
      "$build/bin/records_seeds" "$corpus" >&2
      cp -n "$root"/fuzz/seeds/records/* "$corpus"/ 2>/dev/null || true
      "$build/bin/records_fuzz" "$corpus" -max_len=16384 -entropic=0 "${common[@]}"
      ;;
  esac
done
