# shellcheck shell=bash
# The WAN test bed (tests/wan/README.md): sourced by tests/wan/run.sh, not run by itself.
#
#   nmwan-a (senders)         nmwan-r (the path)              nmwan-b (receivers)
#   a0 10.77.0.1/24 ==veth== r0 [delay_line: L2 bridge] r1 ==veth== b0 10.77.0.2/24
#                 tbf on r1 (the bottleneck, a -> b)   nftables loss on b0 (and a0) ingress
#
# The bottleneck is a router's drop-tail queue: the delay line forwards a -> b frames into
# r1, whose tbf drops them when full (delay_line counts drop_bottleneck). Not on a0: there
# the senders' own qdisc would hold TCP back through TCP Small Queues, without a loss,
# while UDP filled the queue (a TCP flow then starves at cwnd 126 with 0 retransmissions).
#
# Everything lives in namespaces named nmwan-*, created here and deleted by wan_bed_down;
# interfaces are created inside them (never in the host's namespace), addresses are private
# (10.77.0.0/24). The caller installs `trap wan_bed_down EXIT` (run.sh does).
#
# Settings (environment, read when wan_bed_up runs):
#   WAN_MTU (1500)  WAN_RATE_MBIT (20)  WAN_BURST (32kb)  WAN_QUEUE_MS (50: tbf latency)
#   WAN_RATE_BA_MBIT (unset: none): a second bottleneck b -> a (an asymmetric access link)
#   WAN_IP (4; 6: the flows and pings use fd77::1 and fd77::2 on the same veths)

WAN_NS_A=nmwan-a
WAN_NS_R=nmwan-r
WAN_NS_B=nmwan-b
WAN_ADDR_A=10.77.0.1
WAN_ADDR_B=10.77.0.2
WAN_ADDR6_A=fd77::1
WAN_ADDR6_B=fd77::2
WAN_MAC_A=02:77:00:00:00:01
WAN_MAC_B=02:77:00:00:00:02
WAN_DELAY_PID=""
WAN_DELAY_OUT=""
WAN_LOG=${WAN_LOG:-/dev/null}

wan_log() { echo "[wan $(date +%H:%M:%S)] $*" >&2; }

# Fails unless this process can build the bed: root, `ip netns`, tc, nft, ethtool.
wan_bed_can_run() {
  [[ $(id -u) -eq 0 ]] || { echo "not root"; return 1; }
  command -v ip >/dev/null || { echo "no ip (iproute2)"; return 1; }
  ip netns list >/dev/null 2>&1 || { echo "ip netns unavailable"; return 1; }
  local probe=nmwan-probe$$
  ip netns add "$probe" 2>/dev/null || { echo "cannot create a network namespace"; return 1; }
  ip netns del "$probe"
  return 0
}

# Processes still running inside our namespaces (ours: only this bed starts any there).
wan_ns_pids() {
  local ns
  for ns in "$WAN_NS_A" "$WAN_NS_R" "$WAN_NS_B"; do
    ip netns pids "$ns" 2>/dev/null || true
  done
}

# Deletes the namespaces (their veths, qdiscs and nftables go with them) after ending the
# processes left in them, by pid. Safe to call at any time, any number of times.
wan_bed_down() {
  local pids pid ns
  if [[ -n "$WAN_DELAY_PID" ]]; then
    kill -TERM "$WAN_DELAY_PID" 2>/dev/null || true
    # Callers read this function's output through $(...): in that subshell `wait` does not
    # wait (the delay line is not its child), so poll until it has exited and printed its
    # line (bounded), else the counters could be read half written.
    for _ in {1..100}; do
      kill -0 "$WAN_DELAY_PID" 2>/dev/null || break
      sleep 0.05
    done
    wait "$WAN_DELAY_PID" 2>/dev/null || true
    WAN_DELAY_PID=""
  fi
  pids=$(wan_ns_pids)
  if [[ -n "$pids" ]]; then
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.3
    for pid in $(wan_ns_pids); do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  for ns in "$WAN_NS_A" "$WAN_NS_R" "$WAN_NS_B"; do
    ip netns del "$ns" 2>/dev/null || true
  done
  return 0
}

# Turns off every offload on a veth, so each frame the delay line sees is a real frame of at
# most MTU bytes with a valid checksum.
wan_offloads_off() {
  local ns=$1 dev=$2
  ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null 2>&1 ||
    { wan_log "ethtool -K $dev failed in $ns"; return 1; }
}

# Builds namespaces, veths, addresses, offloads, the tbf bottleneck. No delay line yet.
wan_bed_up() {
  local mtu=${WAN_MTU:-1500} rate=${WAN_RATE_MBIT:-20} burst=${WAN_BURST:-32kb}
  local queue=${WAN_QUEUE_MS:-50} ns
  wan_bed_down
  for ns in "$WAN_NS_A" "$WAN_NS_R" "$WAN_NS_B"; do
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up || return 1
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ||
      return 1
  done
  ip -n "$WAN_NS_A" link add a0 type veth peer name r0 netns "$WAN_NS_R" || return 1
  ip -n "$WAN_NS_B" link add b0 type veth peer name r1 netns "$WAN_NS_R" || return 1
  ip -n "$WAN_NS_A" link set a0 address "$WAN_MAC_A" mtu "$mtu" up || return 1
  ip -n "$WAN_NS_B" link set b0 address "$WAN_MAC_B" mtu "$mtu" up || return 1
  ip -n "$WAN_NS_R" link set r0 mtu "$mtu" up || return 1
  ip -n "$WAN_NS_R" link set r1 mtu "$mtu" up || return 1
  wan_offloads_off "$WAN_NS_A" a0 && wan_offloads_off "$WAN_NS_R" r0 &&
    wan_offloads_off "$WAN_NS_R" r1 && wan_offloads_off "$WAN_NS_B" b0 || return 1
  ip -n "$WAN_NS_A" addr add "$WAN_ADDR_A/24" dev a0 || return 1
  ip -n "$WAN_NS_B" addr add "$WAN_ADDR_B/24" dev b0 || return 1
  # Static neighbours: no ARP through the delay line, nothing but the flows on the path.
  ip -n "$WAN_NS_A" neigh replace "$WAN_ADDR_B" lladdr "$WAN_MAC_B" dev a0 nud permanent || return 1
  ip -n "$WAN_NS_B" neigh replace "$WAN_ADDR_A" lladdr "$WAN_MAC_A" dev b0 nud permanent || return 1
  if [[ ${WAN_IP:-4} == 6 ]]; then wan_ipv6_up || return 1; fi
  # The bottleneck, a -> b: a drop-tail tbf queue of `queue` ms at `rate`, in the path.
  tc -n "$WAN_NS_R" qdisc add dev r1 root tbf rate "${rate}mbit" burst "$burst" latency "${queue}ms" ||
    return 1
  # The way back, b -> a (acknowledgements), narrower on an asymmetric link (ADSL, cable,
  # cellular uplinks): the same queue in time, at WAN_RATE_BA_MBIT.
  if [[ -n "${WAN_RATE_BA_MBIT:-}" ]]; then
    tc -n "$WAN_NS_R" qdisc add dev r0 root tbf rate "${WAN_RATE_BA_MBIT}mbit" burst 8kb latency "${queue}ms" ||
      return 1
  fi
  # PLPMTUD for TCP (Linux probes after a black hole); it is per namespace.
  ip netns exec "$WAN_NS_A" sysctl -qw net.ipv4.tcp_mtu_probing="${WAN_TCP_MTU_PROBING:-1}" || return 1
  wan_log "bed up: mtu $mtu, tbf ${rate}mbit burst $burst latency ${queue}ms${WAN_RATE_BA_MBIT:+, b -> a ${WAN_RATE_BA_MBIT}mbit}"
}

# IPv6 on the two ends (WAN_IP=6): static addresses and neighbours, no duplicate address
# detection, router solicitations or autoconfiguration, so that the path carries only the
# flows (and an MLD report or two as the addresses come up).
wan_ipv6_up() {
  wan_ipv6_end "$WAN_NS_A" a0 "$WAN_ADDR6_A" "$WAN_ADDR6_B" "$WAN_MAC_B" &&
    wan_ipv6_end "$WAN_NS_B" b0 "$WAN_ADDR6_B" "$WAN_ADDR6_A" "$WAN_MAC_A"
}
wan_ipv6_end() { # NS DEV ADDR PEER_ADDR PEER_MAC
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
    "net.ipv6.conf.$2.disable_ipv6=0" "net.ipv6.conf.$2.accept_dad=0" "net.ipv6.conf.$2.accept_ra=0" \
    "net.ipv6.conf.$2.router_solicitations=0" "net.ipv6.conf.$2.autoconf=0" || return 1
  ip -n "$1" addr add "$3/64" dev "$2" nodad || return 1
  ip -n "$1" neigh replace "$4" lladdr "$5" dev "$2" nud permanent
}

# The receiver's address for a flow on PORT, in the bed's family: "ip:port" or "[ip6]:port".
wan_dest() {
  if [[ ${WAN_IP:-4} == 6 ]]; then echo "[$WAN_ADDR6_B]:$1"; else echo "$WAN_ADDR_B:$1"; fi
}

# Random loss per IP packet, in per mille (0..1000), with nftables in a netdev ingress chain:
# on b0 (a -> b, the data direction) and, with dir=both, on a0 too (b -> a).
# frag_only=1 drops only IP fragments (frag-off & 0x3fff != 0; IPv6: a fragment header),
# every one of them when permille is 1000.
wan_loss() {
  local permille=$1 dir=${2:-fwd} frag_only=${3:-0} ns dev match rule
  match=""
  if [[ "$frag_only" == 1 ]]; then
    match="ip frag-off & 0x3fff != 0 "
    [[ ${WAN_IP:-4} == 6 ]] && match="exthdr frag exists "
  fi
  if ((permille >= 1000)); then rule="${match}counter drop"; else rule="${match}numgen random mod 1000 < $permille counter drop"; fi
  local targets=("$WAN_NS_B:b0")
  [[ "$dir" == both ]] && targets+=("$WAN_NS_A:a0")
  for t in "${targets[@]}"; do
    ns=${t%%:*}
    dev=${t##*:}
    ip netns exec "$ns" nft -f - <<EOF || return 1
table netdev nmwan
delete table netdev nmwan
table netdev nmwan {
  chain ingress_$dev {
    type filter hook ingress device "$dev" priority 0; policy accept;
    $rule
  }
}
EOF
  done
  wan_log "loss: $rule on ${targets[*]}"
}

# Packets the loss rules dropped so far: "b0 a0" (0 where there is no rule).
wan_loss_counters() {
  local out="" t n
  for t in "$WAN_NS_B:b0" "$WAN_NS_A:a0"; do
    n=$(ip netns exec "${t%%:*}" nft list table netdev nmwan 2>/dev/null |
      sed -n 's/.*counter packets \([0-9]*\) .*/\1/p' | head -1)
    out+="${n:-0} "
  done
  echo "${out% }"
}

# Starts the delay line in nmwan-r: one-way delay in ms (float ok) each direction, extra
# arguments passed through (--drop-above N --armed 0). Waits for READY.
wan_delay_start() {
  local one_way_ms=$1
  shift
  local us
  us=$(awk -v m="$one_way_ms" 'BEGIN { printf "%d", m * 1000 }')
  WAN_DELAY_OUT=$(mktemp "${WAN_TMP:-/tmp}/nmwan-delay.XXXXXX")
  ip netns exec "$WAN_NS_R" "$WAN_BIN/nmwan_delay_line" --if-a r0 --if-b r1 --delay-us "$us" \
    --rt "${WAN_DELAY_RT:-10}" "$@" >"$WAN_DELAY_OUT" 2>>"$WAN_LOG" &
  WAN_DELAY_PID=$!
  for _ in {1..50}; do
    grep -q READY "$WAN_DELAY_OUT" 2>/dev/null && return 0
    kill -0 "$WAN_DELAY_PID" 2>/dev/null || break
    sleep 0.1
  done
  wan_log "delay line did not start"
  return 1
}

# Stops the delay line; prints its DELAYLINE json line.
wan_delay_stop() {
  if [[ -n "$WAN_DELAY_PID" ]]; then
    kill -TERM "$WAN_DELAY_PID" 2>/dev/null || true
    # Callers read this function's output through $(...): in that subshell `wait` does not
    # wait (the delay line is not its child), so poll until it has exited and printed its
    # line (bounded), else the counters could be read half written.
    for _ in {1..100}; do
      kill -0 "$WAN_DELAY_PID" 2>/dev/null || break
      sleep 0.05
    done
    wait "$WAN_DELAY_PID" 2>/dev/null || true
    WAN_DELAY_PID=""
  fi
  [[ -n "$WAN_DELAY_OUT" ]] && sed -n 's/^DELAYLINE //p' "$WAN_DELAY_OUT"
  rm -f "$WAN_DELAY_OUT"
  WAN_DELAY_OUT=""
}

# Signals the delay line now: 1 arms its black hole (or, started with --stall-us, begins a
# stall), 0 disarms the black hole.
wan_signal_delay_line() {
  [[ -n "$WAN_DELAY_PID" ]] || return 1
  if [[ "$1" == 1 ]]; then kill -USR1 "$WAN_DELAY_PID"; else kill -USR2 "$WAN_DELAY_PID"; fi
}

# RTT through the bed with ping (count, interval): prints "min avg max" in ms, or fails.
wan_ping() {
  local count=${1:-5} interval=${2:-0.2} out
  local dest=$WAN_ADDR_B
  [[ ${WAN_IP:-4} == 6 ]] && dest=$WAN_ADDR6_B
  out=$(ip netns exec "$WAN_NS_A" ping -n -q -c "$count" -i "$interval" -W 3 "$dest" 2>&1) || return 1
  echo "$out" | sed -n 's#.*= \([0-9.]*\)/\([0-9.]*\)/\([0-9.]*\)/.*#\1 \2 \3#p'
}

# Full setup for one case, with bounded retries (setup only, never a measurement):
# bed, delay line, then a ping whose RTT must be within [rtt, rtt + slack] ms.
#   wan_setup RTT_MS [delay_line args...]
wan_setup() {
  local rtt=$1
  shift
  local attempt got
  for attempt in 1 2 3; do
    if wan_bed_up && wan_delay_start "$(awk -v r="$rtt" 'BEGIN { print r / 2 }')" "$@"; then
      got=$(wan_ping 5 0.2) || got=""
      if [[ -n "$got" ]] && awk -v g="$got" -v r="$rtt" -v s="${WAN_PING_SLACK_MS:-15}" \
        'BEGIN { split(g, a, " "); exit !(a[1] >= r * 0.98 && a[3] <= r + s) }'; then
        # shellcheck disable=SC2034 # read by run.sh
        WAN_PING_RTT="$got"
        wan_log "path ready: RTT min/avg/max $got ms (target $rtt)"
        return 0
      fi
      wan_log "setup attempt $attempt: ping RTT '$got' ms, wanted $rtt"
    else
      wan_log "setup attempt $attempt failed"
    fi
    wan_delay_stop >/dev/null
    wan_bed_down
    sleep 1
  done
  return 1
}
