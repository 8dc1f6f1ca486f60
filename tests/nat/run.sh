#!/usr/bin/env bash
# The NAT test bed (issue 17): netmesh nodes behind a Linux NAT (nftables masquerade in a
# router namespace), driven by the WAN bed's flow tool (tests/wan/nm_flow.c).
#
#   nmnat-a (private)            nmnat-r (NAT router)                 nmnat-b (public)
#   a0 10.78.1.2/24 ==veth== r0 10.78.1.1 | r1 10.78.0.1 ==veth== b0 10.78.0.2/24
#                                masquerade out of r1, ports fully random
#
#   bash tests/nat/run.sh                 every case
#   bash tests/nat/run.sh rebind          one case
#   NAT_CTEST=1 bash tests/nat/run.sh     the CTest case nat.bed: exit 77 (skipped) without
#                                         root, netns, nft or conntrack
#
# Cases:
#   rebind  a sends a reliable stream to b; mid-stream the router forgets its mappings
#           (conntrack -F), so a's next datagram leaves from a new public port (the
#           masquerade picks ports at random). b must follow a there (path migration, with a
#           challenge) and every event must arrive exactly once and in order.
#
# Everything lives in namespaces named nmnat-*, created here and always deleted on exit;
# addresses are private (10.78.0.0/16). Settings: NAT_BIN (build/tests/wan), NAT_TIME (8 s).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAT_BIN=${NAT_BIN:-$here/../../build/tests/wan}
NAT_TIME=${NAT_TIME:-8}
NAT_CTEST=${NAT_CTEST:-0}
NS_A=nmnat-a NS_R=nmnat-r NS_B=nmnat-b
ADDR_A=10.78.1.2 ADDR_B=10.78.0.2 PORT_B=47000

log() { echo "[nat $(date +%H:%M:%S)] $*" >&2; }
skip() {
  echo "nat: SKIPPED ($1)"
  exit 77
}
can_run() {
  [[ $(id -u) -eq 0 ]] || { echo "not root"; return 1; }
  local tool
  for tool in ip nft conntrack jq timeout flock; do
    command -v "$tool" >/dev/null || { echo "no $tool"; return 1; }
  done
  ip netns add nmnat-probe$$ 2>/dev/null || { echo "cannot create a network namespace"; return 1; }
  ip netns del nmnat-probe$$
}
if ! why=$(can_run); then
  [[ "$NAT_CTEST" == 1 ]] && skip "$why"
  echo "nat: cannot run: $why" >&2
  exit 2
fi
[[ -x "$NAT_BIN/nmwan_nm_flow" ]] || { echo "nat: $NAT_BIN/nmwan_nm_flow not built (scripts/build.sh)" >&2; exit 2; }

exec 9>/tmp/nmnat-bed.lock
flock -w 600 9 || { echo "nat: another bed holds /tmp/nmnat-bed.lock" >&2; exit 2; }

TMP=$(mktemp -d /tmp/nmnat-run.XXXXXX)
bed_down() {
  local ns pid
  for ns in $NS_A $NS_R $NS_B; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}
cleanup() {
  bed_down
  [[ -n "${NAT_KEEP:-}" ]] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

bed_up() {
  bed_down
  local ns
  for ns in $NS_A $NS_R $NS_B; do ip netns add "$ns" && in_ns "$ns" ip link set lo up; done
  ip link add a0 netns $NS_A type veth peer name r0 netns $NS_R
  ip link add b0 netns $NS_B type veth peer name r1 netns $NS_R
  in_ns $NS_A ip addr add $ADDR_A/24 dev a0
  in_ns $NS_R ip addr add 10.78.1.1/24 dev r0
  in_ns $NS_R ip addr add 10.78.0.1/24 dev r1
  in_ns $NS_B ip addr add $ADDR_B/24 dev b0
  in_ns $NS_A ip link set a0 up
  in_ns $NS_R ip link set r0 up
  in_ns $NS_R ip link set r1 up
  in_ns $NS_B ip link set b0 up
  in_ns $NS_A ip route add default via 10.78.1.1
  # b has no route to 10.78.1.0/24: it can only answer the NAT's public address.
  in_ns $NS_R sysctl -qw net.ipv4.ip_forward=1
  in_ns $NS_R nft -f - <<'EOF'
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "r1" masquerade fully-random
  }
}
table ip filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    iifname "r0" oifname "r1" accept
    iifname "r1" oifname "r0" ct state established,related accept
  }
}
EOF
}

# The source port b sees for a: the router's current mapping of a's flow.
mapped_port() {
  in_ns $NS_R conntrack -L -p udp --orig-src $ADDR_A 2>/dev/null |
    sed -n 's/.*src=10.78.0.2 dst=10.78.0.1 sport=[0-9]* dport=\([0-9]*\).*/\1/p' | head -1
}

FAILS=0
judge() { # judge NAME OK(0/1) DETAIL
  if [[ "$2" == 1 ]]; then
    echo "PASS $1: $3"
  else
    echo "FAIL $1: $3"
    FAILS=$((FAILS + 1))
  fi
}

case_rebind() {
  bed_up
  local t0 flow=$NAT_BIN/nmwan_nm_flow
  t0=$(in_ns $NS_B "$flow" now)
  in_ns $NS_B timeout $((NAT_TIME + 20)) "$flow" recv --bind $ADDR_B:$PORT_B --seed 2 --peer-seed 1 \
    --t0 "$t0" --time "$NAT_TIME" --grace 10 >"$TMP/recv" 2>"$TMP/rerr" &
  local recv_pid=$! i
  for i in $(seq 1 300); do # the receiver prints READY once it listens
    grep -q '^READY' "$TMP/recv" 2>/dev/null && break
    sleep 0.05
  done
  in_ns $NS_A timeout $((NAT_TIME + 20)) "$flow" send --connect $ADDR_B:$PORT_B --seed 1 --peer-seed 2 \
    --t0 "$t0" --time "$NAT_TIME" --grace 10 --rate-mbit 20 >"$TMP/send" 2>"$TMP/serr" &
  local send_pid=$!
  # Flush once the flow runs (a mapping exists), then check the port did change.
  local before="" after=""
  for i in $(seq 1 100); do
    before=$(mapped_port)
    [[ -n "$before" ]] && break
    sleep 0.05
  done
  sleep $((NAT_TIME / 3))
  in_ns $NS_R conntrack -F >/dev/null 2>&1
  log "rebind: conntrack flushed (a was at port ${before:-?})"
  for i in $(seq 1 100); do
    after=$(mapped_port)
    [[ -n "$after" ]] && break
    sleep 0.05
  done
  wait "$send_pid"
  wait "$recv_pid"
  local r s
  r=$(sed -n 's/^RESULT //p' "$TMP/recv")
  s=$(sed -n 's/^RESULT //p' "$TMP/send")
  if [[ -z "$r" || -z "$s" ]]; then
    judge rebind 0 "no RESULT (recv: $(tail -1 "$TMP/rerr"), send: $(tail -1 "$TMP/serr"))"
    return
  fi
  local sent events order gaps dups migr valid
  sent=$(jq -r .events_sent <<<"$s")
  events=$(jq -r .events <<<"$r")
  order=$(jq -r '.order_errors + .late_or_dup + .corrupt + .gaps' <<<"$r")
  migr=$(jq -r .session.path_migrations <<<"$r")
  valid=$(jq -r .session.path_validations <<<"$r")
  echo "rebind: port $before -> $after; $events of $sent events, order/dup/corrupt/gap errors $order;" \
    "b's session: $migr migrations, $valid validations; series $(jq -c .series_bytes <<<"$r")"
  judge rebind.port_changed "$([[ -n "$before" && -n "$after" && "$before" != "$after" ]] && echo 1 || echo 0)" \
    "the router mapped a to port $before, then $after"
  judge rebind.exactly_once "$([[ "$events" == "$sent" && "$order" == 0 && "$(jq -r .end_seen <<<"$r")" == 1 ]] && echo 1 || echo 0)" \
    "$events of $sent events, each once and in order (errors $order)"
  judge rebind.followed "$([[ "$migr" -ge 1 && "$valid" -ge 1 ]] && echo 1 || echo 0)" \
    "b moved to the new port ($migr) and a answered the challenge there ($valid)"
}

CASES=(rebind)
[[ $# -gt 0 ]] && CASES=("$@")
for c in "${CASES[@]}"; do
  declare -F "case_$c" >/dev/null || { echo "nat: no case $c (cases: rebind)" >&2; exit 2; }
  "case_$c"
done
[[ $FAILS -eq 0 ]] || exit 1
