#!/usr/bin/env bash
# Configures (once) and builds sagaflow into build/ (binaries in build/bin/).
# BUILD_DIR and CMAKE_ARGS may be set to build elsewhere or with other options.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  # shellcheck disable=SC2086
  cmake -S "$root" -B "$build_dir" "${generator[@]}" ${CMAKE_ARGS:-} >/dev/null
fi
cmake --build "$build_dir" -j"$(nproc)"
