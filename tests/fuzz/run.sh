#!/usr/bin/env bash
# Runs the libFuzzer targets for <seconds> each, from the committed seeds
# (tests/fuzz/corpus/<target>, read only) plus a working corpus in <build>/fuzz-corpus/<target>.
# Crashes land in <build>/fuzz-artifacts/<target>/ and fail the run.
#   tests/fuzz/run.sh <seconds-per-target> [build-dir (default: build-fuzz)] [target...]
# Builds <build> with the fuzz preset first if it has no fuzzers yet.
# A long run, one target for an hour:  tests/fuzz/run.sh 3600 build-fuzz mesh
# (overnight, all cores:  JOBS=$(nproc) tests/fuzz/run.sh 28800; see tests/fuzz/README.md)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${1:?usage: run.sh <seconds-per-target> [build-dir] [target...]}"
build="${2:-$root/build-fuzz}"
shift $(( $# >= 2 ? 2 : 1 ))
targets=("$@")
((${#targets[@]})) || targets=(header_frames grant_ext node_receive handshake mesh)
if [ ! -x "$build/tests/fuzz/fuzz_${targets[0]}" ]; then
  (cd "$root" && cmake --preset fuzz -B "$build" >/dev/null)
  cmake --build "$build" --target netmesh_fuzzers -j "$(nproc)"
fi
# Leak checks stay off: the fixtures keep live nodes (threads, sockets) for the whole run.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
jobs="${JOBS:-1}"
status=0
for t in "${targets[@]}"; do
  work="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t/"
  mkdir -p "$work" "$artifacts"
  echo "=== fuzz_$t: ${seconds}s"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=3072 -max_len=9000
        -artifact_prefix="$artifacts" -print_final_stats=1)
  ((jobs > 1)) && args+=(-fork="$jobs" -ignore_crashes=0)
  if ! "$build/tests/fuzz/fuzz_$t" "${args[@]}" "$work" "$here/corpus/$t" 2>"$build/fuzz-$t.log"; then
    echo "fuzz_$t FAILED; log: $build/fuzz-$t.log; artifacts: $artifacts" >&2
    tail -60 "$build/fuzz-$t.log" >&2
    status=1
  else
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)" "$build/fuzz-$t.log" || true
    grep -E "cov: [0-9]+ ft: [0-9]+" "$build/fuzz-$t.log" | tail -1 || true  # final coverage
  fi
done
exit $status
