#!/usr/bin/env bash
# Runs a netmesh sender against a receiver on 127.0.0.1, any mix of C and C# (scripts/demo.sh,
# with the programs chosen by language):
#
#   examples/csharp/demo.sh [C_BUILD_DIR]     (default: build)
#   SENDER=cs|c RECEIVER=cs|c   (default: both cs)
#   NETMESH_CSHARP_DIR          C# build output (default: <repo>/build/csharp)
#   STREAMS / EVENTS            override 3 / 1000
#
# Exits non-zero if either program failed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
c_build=${1:-build}
streams=${STREAMS:-3}
events=${EVENTS:-1000}
ready_timeout_s=10
# DEMO ONLY: a fixed, public identity seed, so the sender's node id is known in advance.
seed=0101010101010101010101010101010101010101010101010101010101010101

pick() { # pick <cs|c> <sender|receiver>
  case $1 in
    cs) echo "$here/netmesh_$2" ;;
    c) echo "$c_build/examples/c/netmesh_$2" ;;
    *) echo "demo: language must be cs or c, not '$1'" >&2; exit 2 ;;
  esac
}
sender=$(pick "${SENDER:-cs}" sender)
receiver=$(pick "${RECEIVER:-cs}" receiver)

tmp=$(mktemp -d)
receiver_pid=
cleanup() {
  if [[ -n $receiver_pid ]] && kill -0 "$receiver_pid" 2>/dev/null; then kill "$receiver_pid"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

sender_id=$("$sender" --seed "$seed" --print-id)
echo "demo: ${SENDER:-cs} sender (node id $sender_id) -> ${RECEIVER:-cs} receiver; $streams stream(s) x $events event(s)"

: >"$tmp/receiver.out"
"$receiver" --bind 127.0.0.1:0 --peer-id "$sender_id" --streams "$streams" --events "$events" \
  >"$tmp/receiver.out" 2>&1 &
receiver_pid=$!

# Wait for the complete READY line (read fails until the newline is there). Mono needs a
# moment to start, hence polling rather than a fixed sleep.
ready=
for ((i = 0; i < ready_timeout_s * 20; i++)); do
  if IFS= read -r ready <"$tmp/receiver.out" && [[ $ready == READY\ * ]]; then break; fi
  ready=
  kill -0 "$receiver_pid" 2>/dev/null || break
  sleep 0.05
done
if [[ -z $ready ]]; then
  echo "demo: receiver printed no READY line within ${ready_timeout_s} s" >&2
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
