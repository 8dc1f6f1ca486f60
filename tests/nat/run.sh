#!/usr/bin/env bash
# The NAT test bed (issue 17): netmesh nodes behind Linux NATs (nftables masquerade in router
# namespaces) and a public segment, in network namespaces (tests/nat/README.md).
#
#   nmnat-a 10.78.1.2 ==veth== nmnat-n1 [NAT] 10.78.0.11 ==+
#                                                         |  nmnat-p: bridge 10.78.0.2
#   nmnat-c 10.78.2.2 ==veth== nmnat-n2 [NAT] 10.78.0.12 ==+  (the rendezvous node, or a
#                                                              public receiver)
#
#   bash tests/nat/run.sh                 every case
#   bash tests/nat/run.sh cone            some cases (rebind classify cone symmetric)
#   NAT_CTEST=1 bash tests/nat/run.sh     the CTest case nat.bed: exit 77 (skipped) without
#                                         root, netns, nft or conntrack
#
# Cases:
#   rebind     a sends a reliable stream to a public node; mid-stream n1 forgets its mappings
#              (conntrack -F) and its masquerade picks ports at random, so a's next datagram
#              leaves from a new public port. The public node must follow a there (path
#              migration, with a challenge) and every event arrive exactly once and in order.
#   classify   a (behind a port-keeping NAT), c (behind a port-per-destination NAT) and a
#              node on the public segment classify their NATs through two public nodes:
#              cone, symmetric and open.
#   cone       both NATs keep a flow's port for every destination (plain masquerade); a
#              reaches c through the rendezvous node, then asks for a direct path: it must be
#              direct within 2 s, and the stream go on exactly once and in order.
#   symmetric  n1 maps each destination to a random port (masquerade random-fully): the punch
#              cannot work; the session must stay relayed and every event still arrive.
#
# The routers drop unsolicited inbound datagrams before conntrack keeps them (as home
# routers do), and let in only replies to what went out (address- and port-dependent
# filtering): a punch is needed for any direct path. Everything lives in namespaces named
# nmnat-*, created here and always deleted on exit; addresses are private (10.78.0.0/16).
# Settings: NAT_BIN (build/tests/wan), NAT_NODE (build/tests/nat/nmnat_node), NAT_TIME (8 s).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAT_BIN=${NAT_BIN:-$here/../../build/tests/wan}
NAT_NODE=${NAT_NODE:-$here/../../build/tests/nat/nmnat_node}
NAT_TIME=${NAT_TIME:-8}
NAT_CTEST=${NAT_CTEST:-0}
NS_A=nmnat-a NS_N1=nmnat-n1 NS_P=nmnat-p NS_N2=nmnat-n2 NS_C=nmnat-c
ALL_NS="$NS_A $NS_N1 $NS_P $NS_N2 $NS_C"
ADDR_A=10.78.1.2 ADDR_C=10.78.2.2 ADDR_P=10.78.0.2 ADDR_N1=10.78.0.11 PORT_P=47000

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
for tool in "$NAT_BIN/nmwan_nm_flow" "$NAT_NODE"; do
  [[ -x "$tool" ]] || { echo "nat: $tool not built (scripts/build.sh)" >&2; exit 2; }
done

exec 9>/tmp/nmnat-bed.lock
flock -w 600 9 || { echo "nat: another bed holds /tmp/nmnat-bed.lock" >&2; exit 2; }

TMP=$(mktemp -d /tmp/nmnat-run.XXXXXX)
bed_down() {
  local ns pid
  for ns in $ALL_NS; do
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

# A router namespace: private side IN_IF, public side OUT_IF, masquerade out of OUT_IF with
# MASQ_FLAGS ("" keeps ports: one mapping for every destination; "fully-random": a new
# random port per flow).
router_up() { # router_up NS IN_IF IN_ADDR OUT_IF OUT_ADDR MASQ_FLAGS
  local ns=$1
  in_ns "$ns" ip addr add "$3/24" dev "$2"
  in_ns "$ns" ip addr add "$5/24" dev "$4"
  in_ns "$ns" ip link set "$2" up
  in_ns "$ns" ip link set "$4" up
  in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1
  in_ns "$ns" nft -f - <<EOF
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "$4" masquerade $6
  }
}
table ip filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    iifname "$2" oifname "$4" accept
    iifname "$4" oifname "$2" ct state established,related accept
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "$4" ct state new drop
  }
}
EOF
}

bed_up() { # bed_up N1_MASQ_FLAGS N2_MASQ_FLAGS
  bed_down
  local ns
  for ns in $ALL_NS; do ip netns add "$ns" && in_ns "$ns" ip link set lo up; done
  ip link add a0 netns $NS_A type veth peer name n1a netns $NS_N1
  ip link add c0 netns $NS_C type veth peer name n2c netns $NS_N2
  ip link add n1p netns $NS_N1 type veth peer name p1 netns $NS_P
  ip link add n2p netns $NS_N2 type veth peer name p2 netns $NS_P
  in_ns $NS_P ip link add br0 type bridge
  in_ns $NS_P ip link set p1 master br0
  in_ns $NS_P ip link set p2 master br0
  for ns in p1 p2 br0; do in_ns $NS_P ip link set "$ns" up; done
  in_ns $NS_P ip addr add $ADDR_P/24 dev br0
  in_ns $NS_A ip addr add $ADDR_A/24 dev a0
  in_ns $NS_C ip addr add $ADDR_C/24 dev c0
  in_ns $NS_A ip link set a0 up
  in_ns $NS_C ip link set c0 up
  in_ns $NS_A ip route add default via 10.78.1.1
  in_ns $NS_C ip route add default via 10.78.2.1
  # The public side has no route to 10.78.1.0/24 or 10.78.2.0/24: only the NATs' addresses.
  router_up $NS_N1 n1a 10.78.1.1 n1p $ADDR_N1 "$1"
  router_up $NS_N2 n2c 10.78.2.1 n2p 10.78.0.12 "$2"
}

# The source port the public side sees for a: n1's current mapping of a's flow.
mapped_port() {
  in_ns $NS_N1 conntrack -L -p udp --orig-src $ADDR_A 2>/dev/null |
    sed -n "s/.*src=$ADDR_P dst=$ADDR_N1 sport=[0-9]* dport=\([0-9]*\).*/\1/p" | head -1
}

# Waits (at most SECONDS) until FILE has a line starting with WORD: a process is ready, or done.
await_line() { # await_line WORD FILE SECONDS
  local deadline=$((SECONDS + $3))
  until grep -q "^$1" "$2" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
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
  bed_up fully-random fully-random
  local t0 flow=$NAT_BIN/nmwan_nm_flow
  t0=$(in_ns $NS_P "$flow" now)
  in_ns $NS_P timeout $((NAT_TIME + 20)) "$flow" recv --bind $ADDR_P:$PORT_P --seed 2 --peer-seed 1 \
    --t0 "$t0" --time "$NAT_TIME" --grace 10 >"$TMP/recv" 2>"$TMP/rerr" &
  local recv_pid=$! i
  await_line READY "$TMP/recv" 15 # the receiver prints READY once it listens
  in_ns $NS_A timeout $((NAT_TIME + 20)) "$flow" send --connect $ADDR_P:$PORT_P --seed 1 --peer-seed 2 \
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
  in_ns $NS_N1 conntrack -F >/dev/null 2>&1
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

# a (behind n1) reaches c (behind n2) through the rendezvous node r, streams 3,000 reliable
# events to it, and half a second in asks r for a direct path (2 s at most); or, with
# AUTO_MS, sets auto_direct_ms and only watches for 2 s (its node asks on its own, again
# every AUTO_MS while relayed: each try that failed is a relay fallback).
punch() { # punch NAME N1_MASQ_FLAGS EXPECT(direct|relayed) [AUTO_MS]
  local name=$1 want=$3 auto=${4:-}
  local how=(--direct-after-ms 500)
  [[ -n "$auto" ]] && how=(--auto-direct "$auto")
  bed_up "$2" ""
  local node=$NAT_NODE r_addr=$ADDR_P:47100
  in_ns $NS_P timeout 30 "$node" rendezvous --bind $r_addr --seed 3 --peer-seeds 1,2 --time 15 \
    >"$TMP/$name.r" 2>"$TMP/$name.rerr" &
  local r_pid=$! i
  await_line READY "$TMP/$name.r" 15
  in_ns $NS_C timeout 30 "$node" peer --seed 2 --peer-seed 1 --rendezvous $r_addr --rendezvous-seed 3 \
    --role wait --events 3000 --time 20 >"$TMP/$name.c" 2>"$TMP/$name.cerr" &
  local c_pid=$!
  await_line READY "$TMP/$name.c" 15
  in_ns $NS_A timeout 30 "$node" peer --seed 1 --peer-seed 2 --rendezvous $r_addr --rendezvous-seed 3 \
    --role dial --events 3000 "${how[@]}" >"$TMP/$name.a" 2>"$TMP/$name.aerr"
  wait "$c_pid"
  kill "$r_pid" 2>/dev/null
  wait "$r_pid" 2>/dev/null
  local ra rc
  ra=$(sed -n 's/^RESULT //p' "$TMP/$name.a")
  rc=$(sed -n 's/^RESULT //p' "$TMP/$name.c")
  if [[ -z "$ra" || -z "$rc" ]]; then
    judge "$name" 0 "no RESULT (a: $(tail -1 "$TMP/$name.aerr"), c: $(tail -1 "$TMP/$name.cerr"))"
    return
  fi
  echo "$name: a $ra"
  echo "$name: c $rc"
  local status ms routed_a routed_c events errors sent confirmed
  status=$(jq -r .connect_direct <<<"$ra")
  ms=$(jq -r .connect_direct_ms <<<"$ra")
  routed_a=$(jq -r .session.routed <<<"$ra")
  routed_c=$(jq -r .session.routed <<<"$rc")
  sent=$(jq -r .events_sent <<<"$ra")
  events=$(jq -r .events <<<"$rc")
  errors=$(jq -r .order_errors <<<"$rc")
  confirmed=$(jq -r .confirmed <<<"$ra")
  judge "$name.exactly_once" "$([[ "$sent" == 3000 && "$confirmed" == ok && "$events" == 3000 && "$errors" == 0 ]] &&
    echo 1 || echo 0)" "$events of $sent events arrived, each once and in order (errors $errors; confirmed: $confirmed)"
  if [[ "$want" == direct ]]; then
    judge "$name.direct_within_2s" "$([[ "$status" == ok && "$routed_a" == 0 && "$routed_c" == 0 ]] &&
      awk -v m="$ms" 'BEGIN { exit !(m <= 2000) }' && echo 1 || echo 0)" \
      "connect_direct $status in $ms ms; sessions routed: a $routed_a, c $routed_c"
  else
    # One fallback per connect_direct; with auto_direct_ms 1000, at least the first try's
    # (counted when the second is due, a second in) within the 3 s of the stream.
    local fallbacks
    fallbacks=$(jq -r .node.relay_fallbacks <<<"$ra")
    judge "$name.stays_relayed" "$([[ "$status" != ok && "$routed_a" == 1 && "$routed_c" == 1 ]] &&
      { [[ -z "$auto" && "$fallbacks" == 1 ]] || [[ -n "$auto" && "$fallbacks" -ge 1 ]]; } && echo 1 || echo 0)" \
      "direct: $status after $ms ms; sessions routed: a $routed_a, c $routed_c; relay fallbacks $fallbacks"
  fi
}

# Reflexive addresses and NAT types behind real NATs: a behind n1 (keeps ports), c behind n2
# (a random port per destination), and a node on the public segment itself, each asking two
# public nodes (net-mesh 0.23's reclassify_nat over two peers).
case_classify() {
  bed_up "" fully-random
  local node=$NAT_NODE r1=$ADDR_P:47100 r2=$ADDR_P:47101 i ns who
  for i in 1 2; do
    in_ns $NS_P timeout 20 "$node" rendezvous --bind "$([[ $i == 1 ]] && echo $r1 || echo $r2)" --seed $((2 + i)) \
      --peer-seeds 6,7,8 --time 10 >"$TMP/classify.r$i" 2>&1 &
  done
  await_line READY "$TMP/classify.r1" 15
  await_line READY "$TMP/classify.r2" 15
  for who in a:$NS_A:6 c:$NS_C:7 p:$NS_P:8; do
    IFS=: read -r name ns seed <<<"$who"
    in_ns "$ns" timeout 20 "$node" classify --seed "$seed" --rendezvous $r1 --rendezvous-seed 3 \
      --rendezvous2 $r2 --rendezvous2-seed 4 >"$TMP/classify.$name" 2>"$TMP/classify.$name.err" &
  done
  for who in a c p; do # each within 20 s (3 s of probing at most)
    await_line RESULT "$TMP/classify.$who" 20
  done
  local ra rc rp
  ra=$(sed -n 's/^RESULT //p' "$TMP/classify.a")
  rc=$(sed -n 's/^RESULT //p' "$TMP/classify.c")
  rp=$(sed -n 's/^RESULT //p' "$TMP/classify.p")
  echo "classify: a $ra"
  echo "classify: c $rc"
  echo "classify: p $rp"
  judge classify.cone "$([[ "$(jq -r .nat <<<"$ra")" == cone && "$(jq -r .reflex <<<"$ra")" == $ADDR_N1:* ]] && echo 1 || echo 0)" \
    "behind a port-keeping NAT: $(jq -r '.nat + " at " + .reflex' <<<"$ra" 2>/dev/null)"
  judge classify.symmetric "$([[ "$(jq -r .nat <<<"$rc")" == symmetric ]] && echo 1 || echo 0)" \
    "behind a NAT with a port per destination: $(jq -r '.nat + " at " + .reflex' <<<"$rc" 2>/dev/null)"
  judge classify.open "$([[ "$(jq -r .nat <<<"$rp")" == open && "$(jq -r .reflex <<<"$rp")" == "$ADDR_P:$(jq -r .local <<<"$rp" | sed 's/.*://')" ]] && echo 1 || echo 0)" \
    "on the public segment: $(jq -r '.nat + " at " + .reflex' <<<"$rp" 2>/dev/null)"
}

case_cone() { punch cone "" direct; }
case_symmetric() { punch symmetric fully-random relayed; }
case_auto_cone() { punch auto_cone "" direct 1000; }
case_auto_symmetric() { punch auto_symmetric fully-random relayed 1000; }

CASES=(rebind classify cone symmetric auto_cone auto_symmetric)
RUN=("${CASES[@]}")
[[ $# -gt 0 ]] && RUN=("$@")
for c in "${RUN[@]}"; do
  declare -F "case_$c" >/dev/null || { echo "nat: no case $c (cases: ${CASES[*]})" >&2; exit 2; }
  "case_$c"
done
[[ $FAILS -eq 0 ]] || exit 1
