#!/usr/bin/env bash
# shellcheck disable=SC2317 # case_* functions, cleanup and the hook are called by name
# The WAN test bed runner (tests/wan/README.md): netmesh and TCP flows through namespaces, a
# tbf bottleneck and a user-space delay line (bed.sh), one markdown table row per flow.
#
#   bash tests/wan/run.sh table          every case, then the whole table
#   bash tests/wan/run.sh CASE...        some cases (names: bash tests/wan/run.sh list)
#   WAN_TARGETS=1 bash tests/wan/run.sh table
#                                        also judges issue 15's targets at full strength
#                                        (PASS/FAIL per target, exit 1 if any fails)
#   WAN_CTEST=1 bash tests/wan/run.sh    the CTest case wan.bed: issue 15's targets with
#                                        margins; exit 77 (skipped) without root and netns
#
# Settings: WAN_BIN (build/tests/wan), WAN_TIME (15 s per flow), WAN_FAIR_TIME (30 s for two
# flows), WAN_GRACE (5 s to drain after a flow), WAN_NM_SEND_ARGS (more arguments for every
# netmesh sender, e.g. "--trace-ms 100": with WAN_KEEP=1 the trace stays in LABEL.serr), and
# bed.sh's WAN_RATE_MBIT etc.
# Every flow process runs under `timeout`; the namespaces are deleted on exit, always.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WAN_BIN=${WAN_BIN:-$here/../../build/tests/wan}
WAN_TIME=${WAN_TIME:-15}
WAN_FAIR_TIME=${WAN_FAIR_TIME:-30}
WAN_GRACE=${WAN_GRACE:-5}
WAN_CTEST=${WAN_CTEST:-0}
WAN_TARGETS=${WAN_TARGETS:-0}
RATE=${WAN_RATE_MBIT:-20}
# shellcheck source=tests/wan/bed.sh
source "$here/bed.sh"

CASES=(rtt40 lat40 rtt200 rtt300 loss1 loss5_rtt200 reorder40 asym40 stall40 outage40 vs_cubic cubic_vs_cubic nm_vs_nm
  mtu1280_fragdrop blackhole mtu1280_fragdrop_v6 blackhole_v6)

skip() {
  echo "wan: SKIPPED ($1)"
  exit 77
}

if [[ "$WAN_CTEST" == 1 ]]; then
  why=$(wan_bed_can_run) || skip "$why"
  for tool in tc nft ethtool ping jq timeout flock; do
    command -v "$tool" >/dev/null || skip "no $tool"
  done
fi
for tool in nmwan_delay_line nmwan_nm_flow nmwan_tcp_flow; do
  [[ -x "$WAN_BIN/$tool" ]] || { echo "wan: $WAN_BIN/$tool not built (scripts/build.sh)" >&2; exit 2; }
done

# One bed per machine: the namespace names are fixed, so a second run would tear down ours.
# Taken before the cleanup is armed: a run that does not get the bed must not tear it down.
exec 9>/tmp/nmwan-bed.lock
if ! flock -w "${WAN_LOCK_WAIT_S:-120}" 9; then
  [[ "$WAN_CTEST" == 1 ]] && skip "another WAN bed run holds /tmp/nmwan-bed.lock"
  echo "wan: another WAN bed run holds /tmp/nmwan-bed.lock" >&2
  exit 1
fi

WAN_TMP=$(mktemp -d /tmp/nmwan-run.XXXXXX)
WAN_LOG=$WAN_TMP/bed.log
FLOW_PIDS=() # every flow process started (its `timeout`, which passes TERM on)
cleanup() {
  local pid
  for pid in "${FLOW_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  wan_bed_down
  [[ -n "${WAN_KEEP:-}" ]] || rm -rf "$WAN_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { "$WAN_BIN/nmwan_nm_flow" now; }
calc() { awk "BEGIN { print ($*) }"; } # parenthesised: a bare `>` would redirect
is_true() { awk "BEGIN { exit !($*) }"; }

# ---- flows -------------------------------------------------------------------------------
# The flows of the next run_flows, started together: "nm LABEL WINDOW [sender args]" or
# "tcp LABEL CC [sender args]". LABEL names the flow in the table and its files.
FLOWS=()
HOOK=""     # a function run_flows calls with t0 once the senders run (signal_delay_line)

# Waits (bounded) until a flow process printed READY; fails if it died or the time ran out.
await_ready() {
  local out=$1 pid=$2 deadline=$((SECONDS + 15))
  while ((SECONDS < deadline)); do
    grep -q '^READY' "$out" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# Runs FLOWS for TIME seconds from a common t0: receivers in nmwan-b, then senders in
# nmwan-a at t0. Each writes $WAN_TMP/LABEL.{recv,send}. Every process is bounded by
# timeout (time + grace + margin), so a stuck flow cannot hang the run.
run_flows() {
  local time=$1 grace=$WAN_GRACE i kind label param rest t0 left pid
  local bound=$((time + 2 * grace + 20)) pids=() extra=()
  t0=$(($(now_ns) + 2000000000)) # time for the receivers to start
  local common=(--t0 "$t0" --time "$time" --grace "$grace")
  for i in "${!FLOWS[@]}"; do
    read -r kind label param rest <<<"${FLOWS[$i]}"
    rm -f "$WAN_TMP/$label".*
    if [[ $kind == nm ]]; then
      timeout -k 2 "$bound" ip netns exec "$WAN_NS_B" "$WAN_BIN/nmwan_nm_flow" recv \
        --bind "$(wan_dest $((7000 + i)))" --seed $((2 * i + 2)) --peer-seed $((2 * i + 1)) \
        --window "$param" "${common[@]}" >"$WAN_TMP/$label.recv" 2>"$WAN_TMP/$label.rerr" &
    else
      timeout -k 2 "$bound" ip netns exec "$WAN_NS_B" "$WAN_BIN/nmwan_tcp_flow" recv \
        --bind "$(wan_dest $((8000 + i)))" "${common[@]}" >"$WAN_TMP/$label.recv" \
        2>"$WAN_TMP/$label.rerr" &
    fi
    pid=$!
    pids+=("$pid")
    FLOW_PIDS+=("$pid")
    await_ready "$WAN_TMP/$label.recv" "$pid" || wan_log "receiver $label did not start"
  done
  left=$(((t0 - $(now_ns)) / 1000000))
  if ((left > 0)); then sleep "$(calc "$left / 1000")"; else wan_log "receivers late by $((-left)) ms"; fi
  for i in "${!FLOWS[@]}"; do
    read -r kind label param rest <<<"${FLOWS[$i]}"
    read -ra extra <<<"$rest"
    if [[ $kind == nm ]]; then
      timeout -k 2 "$bound" ip netns exec "$WAN_NS_A" "$WAN_BIN/nmwan_nm_flow" send \
        --connect "$(wan_dest $((7000 + i)))" --seed $((2 * i + 1)) --peer-seed $((2 * i + 2)) \
        --window "$param" "${common[@]}" "${extra[@]}" ${WAN_NM_SEND_ARGS:-} >"$WAN_TMP/$label.send" \
        2>"$WAN_TMP/$label.serr" &
    else
      timeout -k 2 "$bound" ip netns exec "$WAN_NS_A" "$WAN_BIN/nmwan_tcp_flow" send \
        --connect "$(wan_dest $((8000 + i)))" --cc "$param" "${common[@]}" "${extra[@]}" \
        >"$WAN_TMP/$label.send" 2>"$WAN_TMP/$label.serr" &
    fi
    pids+=($!)
    FLOW_PIDS+=($!)
  done
  [[ -n "$HOOK" ]] && "$HOOK" "$t0"
  for pid in "${pids[@]}"; do
    wait "$pid" || wan_log "a flow process exited with status $? (124: its timeout)"
  done
}

# Measures one finished flow: sets G (goodput Mbit/s over [0, TIME) s from t0), GF (goodput
# over [FROM, TIME)), RT (retransmitted %: netmesh packets, TCP bytes), P50, P99 (event
# latency ms), OK (1: every event arrived intact and in order) and STATUS (words).
measure() {
  local label=$1 time=$2 from=${3:-0} line
  line=$(cat "$WAN_TMP/$label.recv" "$WAN_TMP/$label.send" 2>/dev/null | sed -n 's/^RESULT //p' |
    jq -rs --argjson T "$time" --argjson F "$from" '
      def mbit(a; b): ([.series_bytes[a:b][]] | add // 0) * 8 / (b - a) / 1e6;
      def pct(a; b): if b > 0 then 100 * a / b else 0 end;
      def ms: if . < 0 then "-" else (. * 10 | round / 10) end;
      (map(select(.role == "recv"))[0]) as $r | (map(select(.role == "send"))[0]) as $s |
      if $r == null or $s == null then "0\t0\t-\t-\t-\t0\tno result (see the log)" else
        ($r | mbit(0; $T)) as $g | ($r | mbit($F; $T)) as $gf |
        (if $s.tool == "nm" then pct($s.stream.retransmits; $s.stream.tx_seq)
         else pct($s.tcp_info.bytes_retrans; $s.tcp_info.bytes_sent) end) as $rt |
        ($r.corrupt == 0 and $r.order_errors == 0 and $r.late_or_dup == 0) as $intact |
        ($intact and $r.end_seen == 1 and $r.events == $r.sent_events) as $ok |
        [$g, $gf, $rt, ($r.lat_ms.p50 | ms), ($r.lat_ms.p99 | ms), (if $ok then 1 else 0 end),
         (if ($intact | not) then "CORRUPT or OUT OF ORDER"
          elif $ok then "all \($r.events) in order by \($r.last_s * 10 | round / 10) s"
          else "\($r.events) of \($s.events_sent) by the deadline" end)] | @tsv end')
  IFS=$'\t' read -r G GF RT P50 P99 OK STATUS <<<"$line"
  if [[ -z "$line" || "$STATUS" == no\ result* ]]; then
    G=0 GF=0 RT=0 P50=- P99=- OK=0 STATUS="no result"
    tail -n 3 "$WAN_TMP/$label".{rerr,serr} >&2 2>/dev/null
  fi
}

# ---- the table ---------------------------------------------------------------------------
ROWS=()
NOTES=()
declare -A GP GPF RTX LAT99 # per label, for Jain and the targets

header() {
  echo "| case | path | flow | goodput Mbit/s | share | retx % | p50 ms | p99 ms | Jain | delivered |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
}

# Measures the flows just run and prints a row each (Jain over them when there are two).
rows() {
  local case=$1 path=$2 time=$3 from=$4 label jain="" row
  shift 4
  if (($# == 2)); then
    measure "$1" "$time" "$from"
    local a=$G
    measure "$2" "$time" "$from"
    jain=$(calc "($a + $G) > 0 ? ($a + $G)^2 / (2 * ($a^2 + $G^2)) : 0")
    jain=$(printf '%.3f' "$jain")
  fi
  for label in "$@"; do
    measure "$label" "$time" "$from"
    GP[$label]=$G GPF[$label]=$GF RTX[$label]=$RT LAT99[$label]=$P99
    row=$(printf '| %s | %s | %s | %.1f | %.0f%% | %.0f | %s | %s | %s | %s |' "$case" "$path" \
      "$label" "$G" "$(calc "100 * $G / $RATE")" "$RT" "$P50" "$P99" "${jain:--}" "$STATUS")
    [[ "$from" != 0 ]] && row="${row% |}; from ${from} s on: $(printf '%.1f' "$GF") Mbit/s |"
    ROWS+=("$row")
    echo "$row"
  done
  JAIN=${jain:-0}
}

# Runs one flow alone and adds its row (with its goodput from FROM s on, if given).
single() {
  local case=$1 path=$2 time=$3 spec=$4 from=${5:-0}
  FLOWS=("$spec")
  run_flows "$time"
  rows "$case" "$path" "$time" "$from" "$(awk '{ print $2 }' <<<"$spec")"
}

# Runs two flows together and adds their rows (with Jain).
pair() {
  local case=$1 path=$2 time=$3
  FLOWS=("$4" "$5")
  run_flows "$time"
  rows "$case" "$path" "$time" 0 "$(awk '{ print $2 }' <<<"$4")" "$(awk '{ print $2 }' <<<"$5")"
}

# ---- issue 15's targets (WAN_TARGETS=1) ---------------------------------------------------
# Judged at full strength here (wan.bed asserts them with margins). Each prints PASS/FAIL;
# the run exits 1 if any failed.
TARGET_FAILS=0
target() { # NAME VALUE OP LIMIT
  local verdict=PASS line
  is_true "$2 $3 $4" || { verdict=FAIL; TARGET_FAILS=$((TARGET_FAILS + 1)); }
  line=$(printf 'target %s: %.4g %s %.4g %s' "$1" "$2" "$3" "$4" "$verdict")
  NOTES+=("$line")
  echo "$line"
}
targets() {
  [[ "$WAN_TARGETS" == 1 ]] || return 0
  case $1 in
  rtt40 | rtt200 | rtt300)
    # From t0 (connect and slow start included), and once the flow is under way: TCP's
    # own 19.1 Mbit/s in the issue's table is its steady state (its framing ceiling).
    target "$1.netmesh_share_pct" "$(calc "100 * ${GP[nm-1MiB]} / $RATE")" '>=' 90
    target "$1.netmesh_share_from_${STEADY_FROM}s_pct" "$(calc "100 * ${GPF[nm-1MiB]} / $RATE")" '>=' 90
    target "$1.netmesh_retx_pct" "${RTX[nm-1MiB]}" '<=' 5
    # The same with a window that is not what limits the flow (as TCP's is not).
    target "$1.netmesh_4MiB_share_pct" "$(calc "100 * ${GP[nm-4MiB]} / $RATE")" '>=' 90
    target "$1.netmesh_4MiB_share_from_${STEADY_FROM}s_pct" "$(calc "100 * ${GPF[nm-4MiB]} / $RATE")" '>=' 90
    start_bound_note "$1" nm-4MiB "${1#rtt}" ;;
  lat40) # under the bottleneck rate: p99 event latency within 2 RTT
    target "$1.netmesh_p99_ms" "${LAT99[nm-paced10]/-/1e9}" '<=' 80 ;;
  loss1) target "$1.netmesh_vs_cubic_mbit" "${GP[nm-1MiB]}" '>=' "${GP[tcp-cubic]}" ;;
  loss5_rtt200) target "$1.netmesh_bbr_vs_half_bbr_mbit" "${GP[nm-bbr]}" '>=' "$(calc "${GP[tcp-bbr]} / 2")" ;;
  vs_cubic | nm_vs_nm) target "$1.jain" "$JAIN" '>=' 0.9 ;;
  mtu1280_fragdrop*) target "$1.netmesh_share_pct" "$(calc "100 * ${GP[nm-1MiB]} / $RATE")" '>=' 90 ;;
  blackhole*) target "$1.netmesh_share_after_pct" "$(calc "100 * ${GPF[nm-1MiB]} / $RATE")" '>=' 90 ;;
  esac
}

# What a share from t0 can be at most for a sender that starts from 10 datagrams of 1,200
# bytes, as RFC 9002 asks (tests/wan/README.md, "From t0 at 200 and 300 ms"): until it is
# connected, for half a round trip more, and for the round trips of doubling from 12 KB to
# the path's bandwidth-delay product the link is idle but for the one BDP those rounds carry;
# the rest of the flow runs at LABEL's own share from STEADY_FROM on (its framing ceiling).
start_bound_note() { # CASE LABEL RTT_MS (LABEL ran for WAN_TIME)
  local connected rtt_s bdp doublings idle bound fmt line
  connected=$(sed -n 's/^RESULT //p' "$WAN_TMP/$2.send" 2>/dev/null | jq -r '.connected_s // empty')
  [[ -n "$connected" ]] || return 0
  rtt_s=$(calc "$3 / 1000")
  bdp=$(calc "$RATE * 1e6 / 8 * $rtt_s")
  doublings=$(calc "log($bdp / 12000) / log(2)")
  idle=$(calc "$connected + $rtt_s / 2 + ($doublings - 1) * $rtt_s")
  bound=$(calc "100 * ${GPF[$2]} / $RATE * ($WAN_TIME - $idle) / $WAN_TIME")
  fmt="note %s: from t0, a start from 10 datagrams doubling each round trip reaches at most %.1f%% in %s s"
  fmt+=" (connected at %.2f s, %.1f doublings to the %.0f KB path, then %s's %.1f%% from %s s on)"
  # shellcheck disable=SC2059 # the format is built above
  line=$(printf "$fmt" "$1" "$bound" "$WAN_TIME" "$connected" "$doublings" "$(calc "$bdp / 1000")" "$2" \
    "$(calc "100 * ${GPF[$2]} / $RATE")" "$STEADY_FROM")
  NOTES+=("$line")
  echo "$line"
}

# ---- cases -------------------------------------------------------------------------------
NM1M="1048576"
NM4M="4194304" # more than twice what the 300 ms path holds (see case_rtt)
NM64K="65536"

STEADY_FROM=5 # s: past connect and slow start on every RTT of the bed
# RTT: one flow at a time: netmesh with a 1 MiB, a 4 MiB and a 64 KiB window, with BBR, TCP
# Cubic. A reliable flow keeps sending through a loss only if its window holds the path's
# flight plus what arrives in the round trip the repair takes: at 300 ms (875 KB in the
# path and its queue) 1 MiB does not, and the sender waits for credit after each loss. TCP
# here may advertise up to net.ipv4.tcp_rmem's 32 MiB.
case_rtt() {
  local case=$1 rtt=$2
  wan_setup "$rtt" || return 1
  single "$case" "$rtt ms" "$WAN_TIME" "nm nm-1MiB $NM1M" "$STEADY_FROM"
  single "$case" "$rtt ms" "$WAN_TIME" "nm nm-4MiB $NM4M" "$STEADY_FROM"
  single "$case" "$rtt ms" "$WAN_TIME" "nm nm-64KiB $NM64K"
  single "$case" "$rtt ms" "$WAN_TIME" "nm nm-bbr $NM1M --cc bbr" "$STEADY_FROM"
  single "$case" "$rtt ms" "$WAN_TIME" "tcp tcp-cubic cubic" "$STEADY_FROM"
}
case_rtt40() { case_rtt rtt40 40; }
case_rtt200() { case_rtt rtt200 200; }
case_rtt300() { case_rtt rtt300 300; }

case_lat40() { # event latency when the sender stays under the bottleneck (10 of 20 Mbit/s)
  wan_setup 40 || return 1
  single lat40 "40 ms, paced 10 Mbit/s" "$WAN_TIME" "nm nm-paced10 $NM1M --rate-mbit 10"
  single lat40 "40 ms, paced 10 Mbit/s" "$WAN_TIME" "tcp tcp-paced10 cubic --rate-mbit 10"
}

case_loss1() {
  wan_setup 40 || return 1
  wan_loss 10 fwd || return 1
  single loss1 "40 ms, 1% loss" "$WAN_TIME" "nm nm-1MiB $NM1M"
  single loss1 "40 ms, 1% loss" "$WAN_TIME" "nm nm-bbr $NM1M --cc bbr"
  single loss1 "40 ms, 1% loss" "$WAN_TIME" "tcp tcp-cubic cubic"
}

case_loss5_rtt200() {
  local p="200 ms, 5% loss"
  wan_setup 200 || return 1
  wan_loss 50 fwd || return 1
  single loss5_rtt200 "$p" "$WAN_TIME" "nm nm-1MiB $NM1M"
  single loss5_rtt200 "$p" "$WAN_TIME" "nm nm-64KiB $NM64K"
  single loss5_rtt200 "$p" "$WAN_TIME" "nm nm-bbr $NM1M --cc bbr"
  single loss5_rtt200 "$p" "$WAN_TIME" "tcp tcp-cubic cubic"
  single loss5_rtt200 "$p" "$WAN_TIME" "tcp tcp-bbr bbr"
}

# Reordering without loss: 1% of the frames a -> b are held 5 ms longer than the rest, so
# the ~8 frames behind each (at the bottleneck's rate) overtake it. Nothing is lost.
# WAN_REORDER="PCT MS [RTT]" changes the share, the hold and the round trip.
case_reorder40() {
  local pct ms rtt
  read -r pct ms rtt <<<"${WAN_REORDER:-1 5 40}"
  rtt=${rtt:-40}
  local p="$rtt ms, $pct% reordered by $ms ms"
  wan_setup "$rtt" --reorder-pct "$pct" --reorder-us "$(calc "$ms * 1000")" || return 1
  single reorder40 "$p" "$WAN_TIME" "nm nm-1MiB $NM1M" "$STEADY_FROM"
  single reorder40 "$p" "$WAN_TIME" "nm nm-bbr $NM1M --cc bbr" "$STEADY_FROM"
  single reorder40 "$p" "$WAN_TIME" "tcp tcp-cubic cubic" "$STEADY_FROM"
}

# An asymmetric access link: the way back (b -> a, where acknowledgements travel) carries
# 1 Mbit/s, a twentieth of the way there (WAN_ASYM_BA_MBIT changes it).
case_asym40() {
  local ba=${WAN_ASYM_BA_MBIT:-1}
  local p="40 ms, b -> a ${ba} Mbit/s"
  WAN_RATE_BA_MBIT=$ba wan_setup 40 || return 1
  single asym40 "$p" "$WAN_TIME" "nm nm-1MiB $NM1M" "$STEADY_FROM"
  single asym40 "$p" "$WAN_TIME" "tcp tcp-cubic cubic" "$STEADY_FROM"
}

case_vs_cubic() {
  wan_setup 40 || return 1
  pair vs_cubic "40 ms" "$WAN_FAIR_TIME" "nm nm-1MiB $NM1M" "tcp tcp-cubic cubic"
}

case_cubic_vs_cubic() { # the reference for vs_cubic: what two Cubic flows share
  wan_setup 40 || return 1
  pair cubic_vs_cubic "40 ms" "$WAN_FAIR_TIME" "tcp tcp-cubic cubic" "tcp tcp-cubic2 cubic"
}

case_nm_vs_nm() {
  wan_setup 40 || return 1
  pair nm_vs_nm "40 ms" "$WAN_FAIR_TIME" "nm nm-1MiB $NM1M" "nm nm-1MiB-2 $NM1M"
}

# A 1280-byte MTU, and the path drops every IP fragment (CASE [PATH-SUFFIX]).
fragdrop() {
  local p="40 ms, MTU 1280, fragments dropped${2:-}"
  WAN_MTU=1280 wan_setup 40 || return 1
  wan_loss 1000 both 1 || return 1
  single "$1" "$p" "$WAN_TIME" "nm nm-1MiB $NM1M"
  single "$1" "$p" "$WAN_TIME" "tcp tcp-cubic cubic"
}
case_mtu1280_fragdrop() { fragdrop mtu1280_fragdrop; }
# The same over IPv6: 1232 bytes of UDP payload fit; IPv6 routers never fragment, so only
# the sender could (IPV6_DONTFRAG, or netmesh's IPV6_PMTUDISC_PROBE, keeps it from that).
case_mtu1280_fragdrop_v6() { WAN_IP=6 fragdrop mtu1280_fragdrop_v6 ", IPv6"; }

# Runs each flow alone on a fresh path (SETUP-ARGUMENTS for wan_setup 40), signals the delay
# line (SIGUSR1) a third of the way into the flow, and adds the goodput from that moment on.
# CASE PATH SETUP-ARGUMENTS FLOW-SPEC...
signalled_mid_flow() {
  local case=$1 p=$2 setup=$3 spec
  shift 3
  ARM_S=$((WAN_TIME / 3))
  for spec in "$@"; do
    # shellcheck disable=SC2086 # the setup arguments are words
    wan_setup 40 $setup || return 1
    FLOWS=("$spec")
    HOOK=signal_delay_line
    run_flows "$WAN_TIME"
    HOOK=""
    rows "$case" "$p" "$WAN_TIME" "$ARM_S" "$(awk '{ print $2 }' <<<"$spec")"
    bed_note "$case"
  done
}
signal_delay_line() {
  local at=$(($1 + ARM_S * 1000000000)) left
  left=$(((at - $(now_ns)) / 1000000))
  ((left > 0)) && sleep "$(calc "$left / 1000")"
  wan_signal_delay_line 1 && wan_log "delay line signalled (black hole armed, or the stall begun)"
}

# A PMTU black hole: from a third of the flow on, the delay line drops every frame whose
# IP packet exceeds 1280 bytes, without ICMP.
case_blackhole() { blackhole blackhole; }
case_blackhole_v6() { WAN_IP=6 blackhole blackhole_v6 ", IPv6"; }
blackhole() { # CASE [PATH-SUFFIX]
  signalled_mid_flow "$1" "40 ms, black hole >1280 B from $((WAN_TIME / 3)) s${2:-}" \
    "--drop-above 1280 --armed 0" "nm nm-1MiB $NM1M" "tcp tcp-cubic cubic"
}

# A stall: a third of the way into the flow the path delivers nothing, either way, for
# WAN_STALL_MS (1000) ms, then all it held at once (a handover, a radio outage with
# link-layer buffering, a route change): what is held beyond the bottleneck's queue is lost.
case_stall40() {
  local ms=${WAN_STALL_MS:-1000}
  signalled_mid_flow stall40 "40 ms, stalled $ms ms at $((WAN_TIME / 3)) s" "--stall-us $((ms * 1000))" \
    "nm nm-1MiB $NM1M" "nm nm-bbr $NM1M --cc bbr" "tcp tcp-cubic cubic"
}
# An outage: the same, but what the path would have delivered meanwhile is lost (a link
# down: a roam without buffering, a cable pulled and plugged back).
case_outage40() {
  local ms=${WAN_STALL_MS:-1000}
  signalled_mid_flow outage40 "40 ms, down $ms ms at $((WAN_TIME / 3)) s" \
    "--stall-us $((ms * 1000)) --stall-drops 1" \
    "nm nm-1MiB $NM1M" "nm nm-bbr $NM1M --cc bbr" "tcp tcp-cubic cubic"
}

# Records what the delay line saw during a case: a late or dropping delay line is a bed
# fault, not the flows' (sets BED_DROPS, BED_LATE_MS).
bed_note() {
  local json
  json=$(wan_delay_stop)
  BED_DROPS=$(jq -r '.ab.drop_queue_full + .ba.drop_queue_full + .kernel_drops_a + .kernel_drops_b' \
    <<<"$json" 2>/dev/null) || BED_DROPS='?'
  BED_LATE_MS=$(jq -r '[.ab.late_max_us, .ba.late_max_us] | max / 100 | round / 10' <<<"$json" 2>/dev/null) ||
    BED_LATE_MS='?'
  local tail_drops
  tail_drops=$(jq -r '.ab.drop_bottleneck' <<<"$json" 2>/dev/null) || tail_drops='?'
  NOTES+=("$1: ping RTT min/avg/max ${WAN_PING_RTT:-?} ms; delay line: ${BED_DROPS:-?} frames dropped, frames late by at most ${BED_LATE_MS:-?} ms; the bottleneck's full queue dropped ${tail_drops:-?}")
}

run_case() {
  local c=$1
  wan_log "case $c"
  GP=() GPF=() RTX=() LAT99=() JAIN=0 # no target may read an earlier case's numbers
  if "case_$c"; then
    targets "$c"
  else
    ROWS+=("| $c | setup failed | | | | | | | | |")
    echo "${ROWS[-1]}"
    tail -n 5 "$WAN_LOG" >&2
    [[ "$WAN_TARGETS" == 1 ]] && NOTES+=("$c: not measured, its targets FAIL") &&
      TARGET_FAILS=$((TARGET_FAILS + 1))
  fi
  [[ $c != blackhole* && $c != stall* && $c != outage* ]] && bed_note "$c" # those note each flow's path
  wan_bed_down
}

# ---- wan.bed (WAN_CTEST=1): issue 15's targets with margins, on a busy machine ------------
# Each check names the issue's target beside the margin it asserts; the margins are what a
# 2-core machine with both cores busy keeps (tests/wan/README.md, "What wan.bed asserts").
FAILS=0
check() { # DESCRIPTION CONDITION...
  local what=$1
  shift
  if is_true "$*"; then echo "wan.bed: ok   $what"; else
    echo "wan.bed: FAIL $what"
    FAILS=$((FAILS + 1))
  fi
}
bed_or_fail() { # WHAT SETUP-COMMAND...: a bed that cannot be built fails the test
  local what=$1
  shift
  "$@" || { echo "wan.bed: FAIL the $what bed could not be built (log below)"; cat "$WAN_LOG"; exit 1; }
}
mbit() { printf %.1f "$1"; }
check_full_rate() { # WHERE: the last flow from STEADY_FROM on, its retransmissions, its delivery
  check "netmesh at $1 from ${STEADY_FROM} s on: $(mbit "$GF") Mbit/s >= 80% (issue 15: 90%)" "$GF >= 0.8 * $RATE"
  check "netmesh at $1: $(mbit "$RT")% of packets retransmitted <= 5%" "$RT <= 5"
  check "netmesh at $1: every event intact and in order ($STATUS)" "$OK == 1"
}
share() { calc "100 * $1 / $RATE"; }

ctest_fragdrop() { # PATH-PREFIX LABEL-SUFFIX, in the bed's family (WAN_IP)
  WAN_MTU=1280 bed_or_fail "${1}MTU-1280" wan_setup 40
  bed_or_fail "${1}MTU-1280" wan_loss 1000 both 1
  single wan.bed "40 ms, MTU 1280, fragments dropped${1:+, ${1%, }}" 15 "nm nm-mtu1280$2 $NM1M"
  check "netmesh over ${1}MTU 1280 without fragments: $(printf %.0f "$(share "$G")")% of the bottleneck >= 80% (issue 15: full goodput)" "$G >= 0.8 * $RATE"
  check "netmesh over ${1}MTU 1280 without fragments: every event intact and in order ($STATUS)" "$OK == 1"
  bed_note wan.bed
  wan_bed_down
}

ctest_main() {
  local avg cubic bbr
  header
  # The bed itself: the path's RTT, and TCP fills the bottleneck.
  bed_or_fail "40 ms" wan_setup 40
  avg=$(wan_ping 10 0.1 | awk '{ print $2 }')
  check "ping RTT avg ${avg:-none} ms within [39.2, 50] (target 40)" "${avg:-0} >= 39.2 && ${avg:-0} <= 50"
  single wan.bed "40 ms" 10 "tcp tcp-cubic cubic"
  check "TCP Cubic $(mbit "$G") Mbit/s >= 70% of ${RATE} Mbit/s" "$G >= 0.7 * $RATE"
  # One netmesh flow at 40 ms (issue 15: >= 90% of the bottleneck, <= 5% retransmitted).
  single wan.bed "40 ms" 15 "nm nm-1MiB $NM1M" "$STEADY_FROM"
  check_full_rate "40 ms"
  # Event latency under the bottleneck rate (issue 15: p99 <= 2 x RTT).
  single wan.bed "40 ms, paced 10 Mbit/s" 10 "nm nm-paced10 $NM1M --rate-mbit 10"
  if [[ -z "${WAN_SANITIZED:-}" ]]; then
    check "netmesh paced at 10 Mbit/s: p99 event latency $P99 ms <= 100 (issue 15: 80, 2 x RTT)" "${P99/-/1e9} <= 100"
  else
    echo "wan.bed: (not judged in a sanitizer build, $WAN_SANITIZED) netmesh paced at 10 Mbit/s: p99 event latency $P99 ms"
  fi
  # Sharing (issue 15: Jain >= 0.9 over 30 s).
  pair wan.bed "40 ms" 20 "nm nm-1MiB $NM1M" "tcp tcp-cubic cubic"
  check "netmesh vs TCP Cubic over 20 s: Jain $JAIN >= 0.8 (issue 15: 0.9 over 30 s)" "$JAIN >= 0.8"
  pair wan.bed "40 ms" 20 "nm nm-1MiB $NM1M" "nm nm-1MiB-2 $NM1M"
  check "netmesh vs netmesh over 20 s: Jain $JAIN >= 0.8 (issue 15: 0.9 over 30 s)" "$JAIN >= 0.8"
  bed_note wan.bed
  check "the delay line dropped no frame (${BED_DROPS})" "${BED_DROPS:-1} == 0"
  wan_bed_down
  # 1% random loss (issue 15: >= Cubic's goodput, judged by WAN_TARGETS). One run at random
  # loss is too variable to assert a ratio (netmesh 3.3-4.9 Mbit/s in over 40 runs and 2.1 once,
  # Cubic 3.2-4.3; tests/wan/README.md): asserted is that the flow does not collapse, and
  # delivers.
  bed_or_fail "1% loss" wan_setup 40
  bed_or_fail "1% loss" wan_loss 10 fwd
  single wan.bed "40 ms, 1% loss" 15 "tcp tcp-cubic cubic"
  cubic=$G
  single wan.bed "40 ms, 1% loss" 15 "nm nm-1MiB $NM1M"
  check "netmesh at 1% loss: $(mbit "$G") Mbit/s >= 1 Mbit/s, no collapse (TCP Cubic: $(mbit "$cubic"); issue 15: >= Cubic's)" "$G >= 1"
  check "netmesh at 1% loss: every event intact and in order ($STATUS)" "$OK == 1"
  wan_bed_down
  # Reordering without loss (1% of the frames held 5 ms): before the loss thresholds adapted
  # and spurious reductions were undone, netmesh fell to 25% of the link here (TCP: 95%).
  bed_or_fail "reordering" wan_setup 40 --reorder-pct 1 --reorder-us 5000
  single wan.bed "40 ms, 1% reordered by 5 ms" 15 "nm nm-reorder $NM1M" "$STEADY_FROM"
  check "netmesh with 1% of its packets reordered by 5 ms, from ${STEADY_FROM} s on: $(mbit "$GF") Mbit/s >= 80% (as without reordering)" "$GF >= 0.8 * $RATE"
  check "netmesh with reordering: every event intact and in order ($STATUS)" "$OK == 1"
  wan_bed_down
  # A 1280-byte MTU that drops every IP fragment (issue 15: full goodput): only datagrams
  # sized by path MTU discovery get through (8 KiB ones never did). Over IPv4, then IPv6
  # (whose own socket options keep IP from fragmenting).
  WAN_IP=4 ctest_fragdrop "" ""
  WAN_IP=6 ctest_fragdrop "IPv6, " "-v6"
  # A 1280-byte black hole from 5 s on (issue 15: full goodput after it appears).
  ARM_S=5
  bed_or_fail "black hole" wan_setup 40 --drop-above 1280 --armed 0
  FLOWS=("nm nm-blackhole $NM1M")
  HOOK=signal_delay_line
  run_flows 15
  HOOK=""
  rows wan.bed "40 ms, black hole > 1280 B from ${ARM_S} s" 15 "$ARM_S" nm-blackhole
  check "netmesh after a 1280-byte black hole: $(mbit "$GF") Mbit/s >= 75% (issue 15: full goodput)" "$GF >= 0.75 * $RATE"
  check "netmesh through the black hole: every event intact and in order ($STATUS)" "$OK == 1"
  bed_note wan.bed
  wan_bed_down
  # 200 ms (issue 15: >= 90% of the bottleneck), with a window the flow is not limited by.
  bed_or_fail "200 ms" wan_setup 200
  single wan.bed "200 ms" 15 "nm nm-4MiB $NM4M" "$STEADY_FROM"
  check_full_rate "200 ms"
  # And with 5% random loss, where loss-based controllers collapse (issue 15: netmesh with
  # BBR >= half of TCP BBR's goodput).
  bed_or_fail "200 ms, 5% loss" wan_loss 50 fwd
  single wan.bed "200 ms, 5% loss" 15 "tcp tcp-bbr bbr"
  bbr=$G
  single wan.bed "200 ms, 5% loss" 15 "nm nm-bbr $NM1M --cc bbr"
  check "netmesh with BBR at 200 ms, 5% loss: $(mbit "$G") Mbit/s >= 0.35 x TCP BBR's $(mbit "$bbr") (issue 15: 0.5 x)" "$G >= 0.35 * $bbr"
  check "netmesh with BBR at 200 ms, 5% loss: $(mbit "$G") Mbit/s >= 25% of the bottleneck" "$G >= 0.25 * $RATE"
  check "netmesh with BBR at 200 ms, 5% loss: every event intact and in order ($STATUS)" "$OK == 1"
  bed_note wan.bed
  wan_bed_down
  # 300 ms (issue 15: >= 90%), with the 1 MiB window: about 1.2 x the path's flight, so a
  # loss's repair also holds back credit, and a cut too deep leaves the link idle for seconds.
  bed_or_fail "300 ms" wan_setup 300
  single wan.bed "300 ms" 15 "nm nm-1MiB $NM1M" "$STEADY_FROM"
  check_full_rate "300 ms (1 MiB window)"
  bed_note wan.bed
  printf '%s\n' "${NOTES[@]}"
  ((FAILS == 0)) || { echo "wan.bed: $FAILS check(s) failed; bed log:"; cat "$WAN_LOG"; exit 1; }
  echo "wan.bed: passed"
}

if [[ "$WAN_CTEST" == 1 ]]; then
  ctest_main
  exit 0
fi

usage() {
  echo "usage: bash tests/wan/run.sh table | list | CASE... (WAN_TARGETS=1: judge issue 15's targets)" >&2
  exit 2
}
(($# > 0)) || usage
why=$(wan_bed_can_run) || { echo "wan: cannot build the bed: $why" >&2; exit 77; }
selected=()
for a in "$@"; do
  case $a in
  table) selected+=("${CASES[@]}") ;;
  list) printf '%s\n' "${CASES[@]}"; exit 0 ;;
  *) [[ " ${CASES[*]} " == *" $a "* ]] || usage; selected+=("$a") ;;
  esac
done
header
for c in "${selected[@]}"; do run_case "$c"; done
echo
echo "rate ${RATE} Mbit/s, $(date -u '+%Y-%m-%d %H:%M UTC'), load: $(uptime | sed 's/.*load average: //')"
header
printf '%s\n' "${ROWS[@]}"
echo
printf -- '- %s\n' "${NOTES[@]}"
if [[ "$WAN_TARGETS" == 1 ]] && ((TARGET_FAILS > 0)); then
  echo "$TARGET_FAILS target(s) of issue 15 not met"
  exit 1
fi
exit 0
