#!/usr/bin/env bash
# The one command that runs every test: installs what is missing, builds, runs CTest
# (GoogleTest, cmocka, ABI and example checks).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
BUILD_DIR="$build" "$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j 2 --timeout 600
