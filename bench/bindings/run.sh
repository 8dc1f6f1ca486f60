#!/usr/bin/env bash
# Per-language throughput (issue 16): the same flow (flow.c: two nodes in one process on
# loopback, a reliable stream with a 1 MiB window, batches sent with the blocking send and
# received with the batch receive; a quarter as many events again first, as an untimed
# warm-up) in C and through the Go, Java and C# bindings, in
# rounds (the languages' order rotates each round), against a Release build of the library.
# Prints each language's median events/s and its median ratio to C's in the same round.
#
#   bash bench/bindings/run.sh        BENCH_REPS rounds (default 5)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build-bench
out=$build/bindings-bench
reps=${BENCH_REPS:-5}
export PATH=$PATH:/usr/local/go/bin

echo "== building the library (Release, $build) and the four programs"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNETMESH_BUILD_BENCH=OFF \
  -DNETMESH_BUILD_TESTS=OFF -DNETMESH_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target netmesh >/dev/null
rm -rf "$out"
mkdir -p "$out/java" "$out/csharp"
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$root/include" "$here/flow.c" -o "$out/flow_c" \
  -L"$build" -lnetmesh -Wl,-rpath,"$build" -lpthread
cmake --install "$build" --prefix "$out/prefix" >/dev/null
# (CGO_CFLAGS names the prefix: Go's cache does not key cgo packages on pkg-config's output.)
(cd "$here/go" && PKG_CONFIG_PATH=$(dirname "$(find "$out/prefix" -name netmesh.pc -print -quit)") \
  CGO_CFLAGS="-O2 -g -I$out/prefix/include" \
  GOFLAGS=-mod=mod GOPROXY=off go build -o "$out/flow_go" .)
mvn -q -B -f "$root/bindings/java/pom.xml" -Dnetmesh.lib.dir="$build" -DskipTests package
jar=$root/bindings/java/target/netmesh-0.3.0.jar
javac -d "$out/java" -cp "$jar" "$here/java/Flow.java"
bash "$root/bindings/csharp/build.sh" "$build" >/dev/null
cp "$build/csharp/Netmesh.dll" "$out/csharp/"
mcs -nologo -langversion:7.2 -r:"$out/csharp/Netmesh.dll" -out:"$out/csharp/Flow.exe" "$here/csharp/Flow.cs"

run() { # LANG EVENTS SIZE BATCH
  case $1 in
  c) "$out/flow_c" "$2" "$3" "$4" ;;
  go) "$out/flow_go" "$2" "$3" "$4" ;;
  java) java -cp "$out/java:$jar" Flow "$2" "$3" "$4" ;;
  csharp) mono "$out/csharp/Flow.exe" "$2" "$3" "$4" ;;
  esac | awk '/^RESULT/ { print $7 }'
}

csv=$root/bench/results/bindings.csv
echo "round,size,batch,lang,events_per_sec" >"$csv"
langs=(c go java csharp)
for ((r = 1; r <= reps; ++r)); do
  for spec in "64 64 10000000" "8192 8 150000"; do
    read -r size batch events <<<"$spec"
    for ((k = 0; k < 4; ++k)); do
      lang=${langs[$(((k + r) % 4))]}
      eps=$(run "$lang" "$events" "$size" "$batch")
      echo "$r,$size,$batch,$lang,$eps" >>"$csv"
      echo "round $r: $lang $size B x $batch: $eps events/s"
    done
  done
done
python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {}
for r in rows:
    by.setdefault((int(r["size"]), r["lang"]), {})[r["round"]] = float(r["events_per_sec"])
print("\n| events | language | events/s (median) | x C (median of rounds) |")
print("|---|---|---|---|")
for size in sorted({k[0] for k in by}):
    c = by[(size, "c")]
    for lang in ["c", "go", "java", "csharp"]:
        v = by[(size, lang)]
        ratios = [v[k] / c[k] for k in v if k in c]
        print(f"| {size} B, batches of {'64' if size == 64 else '8'} | {lang} | {statistics.median(v.values()):,.0f} | {statistics.median(ratios):.2f} |")
PY
