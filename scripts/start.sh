#!/usr/bin/env bash
# Installs what is missing, builds, and starts sagaflow. Until the server (sagaflowd) lands,
# "starting" means the offline tool: validate every sample and draw the order saga.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
bin=${BUILD_DIR:-$root/build}/bin
cd "$root"
"$bin/sagaflow" validate samples/*.json
echo
"$bin/sagaflow" workflow graph samples/order_fulfillment.json --format mermaid
