#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, then runs two nodes on
# loopback exchanging three streams (one fire-and-forget, two reliable) and prints both
# sides' statistics.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
BUILD_DIR="$build" "$root/scripts/build.sh"
exec "$root/scripts/demo.sh" "$build"
