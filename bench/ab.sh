#!/usr/bin/env bash
# Loopback throughput of two builds side by side, in alternating pairs (A B A B ...), so a
# ratio compares runs minutes apart on the same machine under the same load:
#   bench/ab.sh <build-dir-A> <build-dir-B> [pairs (8)] [sizes ("64 1024 8192")]
# Each build dir is a bench build (bench/run.sh's: -DNETMESH_BUILD_BENCH=ON, Release).
# Prints, per workload, the median of A and of B and the ratio A/B (events/s and CPU ns
# per event, as bench/netmesh_e2e measures them).
set -euo pipefail
a="${1:?usage: ab.sh <build-A> <build-B> [pairs] [sizes]}"
b="${2:?usage: ab.sh <build-A> <build-B> [pairs] [sizes]}"
pairs="${3:-8}"
sizes="${4:-64 1024 8192}"
out="$(mktemp -d /tmp/netmesh-ab.XXXXXX)"
for i in $(seq 1 "$pairs"); do
  for size in $sizes; do
    for side in B A; do
      dir=$a
      [[ $side == B ]] && dir=$b
      "$dir/bench/netmesh_e2e" --only netmesh --size "$size" --duration 1 --reps 1 \
        --out "$out/$side-$size-$i.csv" >/dev/null 2>&1
    done
  done
done
python3 - "$out" <<'PY'
import collections, csv, glob, statistics, sys
vals = collections.defaultdict(lambda: collections.defaultdict(list))
for f in glob.glob(sys.argv[1] + "/*.csv"):
    side = f.rsplit("/", 1)[1].split("-")[0]
    for r in csv.DictReader(open(f)):
        if r["section"] == "throughput" and r["metric"] != "MB_per_s":
            vals[(r["system"], r["mode"], int(r["size"]), r["metric"])][side].append(float(r["value"]))
print(f"{'workload':36} {'A':>12} {'B':>12} {'A/B':>6}")
for key in sorted(vals):
    a, b = vals[key]["A"], vals[key]["B"]
    if a and b:
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{' '.join(map(str, key)):36} {ma:12.1f} {mb:12.1f} {ma / mb:6.3f}")
PY
echo "(raw: $out)"
