#!/usr/bin/env bash
# Cross-language test: every sender (C, Go, Java, C#) against every receiver over loopback,
# through scripts/demo.sh. Needs the bindings built by their test.sh first.
#
#   bindings/cross_test.sh <build-dir>
set -euo pipefail
build=$(cd "${1:?usage: bindings/cross_test.sh <build-dir>}" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
export NETMESH_CSHARP_DIR=$build/csharp LD_LIBRARY_PATH=$build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

declare -A sender=(
  [c]=$build/examples/c/netmesh_sender [go]=$build/go/examples/sender
  [java]=$repo/examples/java/netmesh_sender [csharp]=$repo/examples/csharp/netmesh_sender)
declare -A receiver=(
  [c]=$build/examples/c/netmesh_receiver [go]=$build/go/examples/receiver
  [java]=$repo/examples/java/netmesh_receiver [csharp]=$repo/examples/csharp/netmesh_receiver)

passed=0 failed=0
for s in c go java csharp; do
  for r in c go java csharp; do
    # The senders bind [::]:0: an IPv4 receiver reached from a dual-stack socket.
    if SENDER=${sender[$s]} RECEIVER=${receiver[$r]} STREAMS=3 EVENTS=300 SENDER_BIND='[::]:0' \
        "$repo/scripts/demo.sh" "$build" >"$build/cross-$s-$r.log" 2>&1; then
      echo "cross: $s -> $r ok"
      passed=$((passed + 1))
    else
      echo "cross: $s -> $r FAILED (log follows)"
      cat "$build/cross-$s-$r.log"
      failed=$((failed + 1))
    fi
  done
done
echo "cross-language: $passed passed, $failed failed"
((failed == 0))
