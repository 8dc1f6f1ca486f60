#!/usr/bin/env bash
# Runs the netmesh demo: a receiver and a sender against each other on 127.0.0.1, printing
# both sides' stream and node statistics.
#
#   scripts/demo.sh [BUILD_DIR]        (default: build; STREAMS / EVENTS override 3 / 1000;
#                                       SENDER_BIND the sender's socket, 127.0.0.1:0)
#
# SENDER / RECEIVER may name any program with the examples' command line (the C ones in
# BUILD_DIR by default; bindings/cross_test.sh mixes Go, Java and C#). The sender's node id
# comes from a fixed demo identity seed (--print-id); the receiver announces
# "READY <addr> <pubkey-hex> <node-id>" on its first stdout line, which is handed to the
# sender. Exits non-zero if either program failed.
set -euo pipefail

build_dir=${1:-build}
streams=${STREAMS:-3}
events=${EVENTS:-1000}
ready_timeout_s=20
# DEMO ONLY: a fixed, public identity seed, so the sender's node id is known in advance.
seed=0101010101010101010101010101010101010101010101010101010101010101

sender=${SENDER:-$build_dir/examples/c/netmesh_sender}
receiver=${RECEIVER:-$build_dir/examples/c/netmesh_receiver}
for prog in "$sender" "$receiver"; do
  [[ -x $prog ]] || { echo "demo: $prog not found (build with NETMESH_BUILD_EXAMPLES=ON)" >&2; exit 2; }
done

tmp=$(mktemp -d)
receiver_pid=
cleanup() {
  if [[ -n $receiver_pid ]] && kill -0 "$receiver_pid" 2>/dev/null; then kill "$receiver_pid"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

sender_id=$("$sender" --seed "$seed" --print-id)
echo "demo: $sender -> $receiver: sender node id $sender_id; $streams stream(s) x $events event(s)"

: >"$tmp/receiver.out" # exists before the first poll below
"$receiver" --bind 127.0.0.1:0 --peer-id "$sender_id" --streams "$streams" --events "$events" \
  >"$tmp/receiver.out" 2>&1 &
receiver_pid=$!

# Wait for the complete READY line (read fails until the newline is there).
ready=
for ((i = 0; i < ready_timeout_s * 20; i++)); do
  if IFS= read -r ready <"$tmp/receiver.out" && [[ $ready == READY\ * ]]; then break; fi
  ready=
  kill -0 "$receiver_pid" 2>/dev/null || break
  sleep 0.05
done
if [[ -z $ready ]]; then
  if kill -0 "$receiver_pid" 2>/dev/null; then
    echo "demo: receiver did not print READY within ${ready_timeout_s} s" >&2
  else
    echo "demo: receiver exited before printing READY" >&2
  fi
  echo "===== receiver output =====" >&2
  cat "$tmp/receiver.out" >&2
  exit 1
fi
read -r _ addr key id <<<"$ready"

sender_rc=0
"$sender" --seed "$seed" --connect "$addr" --key "$key" --id "$id" --bind "${SENDER_BIND:-127.0.0.1:0}" \
  --streams "$streams" --events "$events" >"$tmp/sender.out" 2>&1 || sender_rc=$?
receiver_rc=0
wait "$receiver_pid" || receiver_rc=$?
receiver_pid=

echo "===== receiver (exit $receiver_rc) ====="
cat "$tmp/receiver.out"
echo "===== sender (exit $sender_rc) ====="
cat "$tmp/sender.out"

if ((sender_rc != 0 || receiver_rc != 0)); then
  echo "demo: FAILED" >&2
  exit 1
fi
echo "demo: OK"
