#!/usr/bin/env bash
# The one command that runs every test: installs what is missing, builds, runs CTest
# (GoogleTest, cmocka, ABI, examples, soak, the Go/Java/C# bindings and the cross-language
# matrix, interop with a real net-mesh 0.23 node), then a Clang build that checks the lock
# rules (-Wthread-safety), then the C and C++ suites under ASan+UBSan and TSan (SANITIZE=0
# skips), then short libFuzzer runs (FUZZ_SECONDS=0 skips).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
BUILD_DIR="$build" "$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j 2 --timeout 900
# The lock rules (GUARDED_BY / REQUIRES in src/node) checked by Clang's thread safety
# analysis: any violation fails this build.
(cd "$root" && cmake --preset clang-tsa >/dev/null)
cmake --build "$root/build-clang-tsa" -j "$(nproc)"
if [ "${SANITIZE:-1}" != 0 ]; then
  "$root/scripts/sanitize.sh" asan tsan
fi
# Short libFuzzer runs (clang; FUZZ_SECONDS per target, 0 skips). Long runs: tests/fuzz/run.sh.
if [ "${FUZZ_SECONDS:-20}" != 0 ]; then
  (cd "$root" && cmake --preset fuzz -DNETMESH_FUZZ_SECONDS="${FUZZ_SECONDS:-20}" >/dev/null)
  cmake --build "$root/build-fuzz" --target netmesh_fuzzers -j "$(nproc)"
  ctest --test-dir "$root/build-fuzz" -L fuzz --output-on-failure -j 2
fi
