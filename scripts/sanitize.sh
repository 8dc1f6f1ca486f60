#!/usr/bin/env bash
# Sanitizer runs of the C++ (GoogleTest) and C (cmocka) suites — not bindings, not interop:
#   build-asan: ASan + UBSan (leaks included), build-tsan: TSan.
# Usage: scripts/sanitize.sh [asan|tsan]...   (default: both). Extra ctest args via CTEST_ARGS.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
kinds=("$@")
((${#kinds[@]})) || kinds=(asan tsan)
status=0
for kind in "${kinds[@]}"; do
  case "$kind" in
    asan|tsan) ;;
    *) echo "unknown sanitizer '$kind' (asan or tsan)" >&2; exit 2 ;;
  esac
  echo "=== $kind: configure + build (build-$kind)"
  (cd "$root" && cmake --preset "$kind" >/dev/null)
  cmake --build "$root/build-$kind" -j "$(nproc)"
  echo "=== $kind: ctest"
  # The exports check inspects the exported symbols, which sanitizer runtimes change; the
  # other abi.* tests (the frozen 0.2.0 program among them) run. Bindings and consumers load
  # the library into Go, Java and Mono processes, where a sanitizer runtime cannot come first.
  (cd "$root" && ctest --preset "$kind" -E '^(abi\.exported_symbols_are_nm_only|(soak|interop|bindings|consumer)\.)' ${CTEST_ARGS:-}) || status=1
done
exit $status
