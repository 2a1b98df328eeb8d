#!/usr/bin/env bash
# Installs what is missing, builds, and starts sagaflowd on its embedded RocksDB store in the
# foreground (Ctrl-C or SIGTERM stops it gracefully). Flags are passed on to sagaflowd; the
# defaults listen on 127.0.0.1:7600 and keep data in ./sagaflow-data (docs/SERVER.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
bin=${BUILD_DIR:-$root/build}/bin
cd "$root"
exec "$bin/sagaflowd" --data-dir "${SAGAFLOW_DATA_DIR:-$root/sagaflow-data}" "$@"
