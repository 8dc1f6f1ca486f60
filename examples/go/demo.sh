#!/usr/bin/env bash
# Runs a netmesh demo receiver and sender against each other on 127.0.0.1 (modelled on
# scripts/demo.sh), with any pair of programs that follow the examples' protocol:
#
#   examples/go/demo.sh SENDER RECEIVER      (STREAMS / EVENTS override 3 / 1000)
#
# e.g. a Go sender against the C receiver:
#   examples/go/demo.sh build/go-examples/sender build/examples/c/netmesh_receiver
# The sender's node id comes from a fixed demo seed (--print-id); the receiver's first
# stdout line "READY <addr> <pubkey-hex> <node-id>" is handed to the sender.
set -euo pipefail

sender=${1:?usage: demo.sh SENDER RECEIVER}
receiver=${2:?usage: demo.sh SENDER RECEIVER}
streams=${STREAMS:-3}
events=${EVENTS:-1000}
ready_timeout_s=10
# DEMO ONLY: a fixed, public identity seed, so the sender's node id is known in advance.
seed=0101010101010101010101010101010101010101010101010101010101010101

tmp=$(mktemp -d)
receiver_pid=
cleanup() {
  if [[ -n $receiver_pid ]] && kill -0 "$receiver_pid" 2>/dev/null; then kill "$receiver_pid"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

sender_id=$("$sender" --seed "$seed" --print-id)
echo "demo: $(basename "$sender") -> $(basename "$receiver"): sender node id $sender_id;" \
  "$streams stream(s) x $events event(s)"

: >"$tmp/receiver.out"
"$receiver" --bind 127.0.0.1:0 --peer-id "$sender_id" --streams "$streams" --events "$events" \
  >"$tmp/receiver.out" 2>&1 &
receiver_pid=$!

ready=
for ((i = 0; i < ready_timeout_s * 20; i++)); do
  if IFS= read -r ready <"$tmp/receiver.out" && [[ $ready == READY\ * ]]; then break; fi
  ready=
  kill -0 "$receiver_pid" 2>/dev/null || break
  sleep 0.05
done
if [[ -z $ready ]]; then
  echo "demo: receiver did not print READY" >&2
  cat "$tmp/receiver.out" >&2
  exit 1
fi
read -r _ addr key id <<<"$ready"

sender_rc=0
"$sender" --seed "$seed" --connect "$addr" --key "$key" --id "$id" \
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
