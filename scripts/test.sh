#!/usr/bin/env bash
# The one command that runs every test: installs what is missing, builds, runs CTest
# (GoogleTest, cmocka, ABI and example checks).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
BUILD_DIR="$build" "$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j 2 --timeout 600
# Short libFuzzer runs (clang; FUZZ_SECONDS per target, 0 skips). Long runs: tests/fuzz/run.sh.
if [ "${FUZZ_SECONDS:-20}" != 0 ]; then
  (cd "$root" && cmake --preset fuzz -DNETMESH_FUZZ_SECONDS="${FUZZ_SECONDS:-20}" >/dev/null)
  cmake --build "$root/build-fuzz" --target netmesh_fuzzers -j "$(nproc)"
  ctest --test-dir "$root/build-fuzz" -L fuzz --output-on-failure -j 2
fi
