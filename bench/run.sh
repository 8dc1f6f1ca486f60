#!/usr/bin/env bash
# Reproducible benchmarks: netmesh side by side with raw UDP, libsodium, ENet and ZeroMQ,
# all measured in this one run on this machine. Usage: bash bench/run.sh
#   BENCH_DURATION  seconds per throughput repetition (default 1)
#   BENCH_REPS      repetitions per result (default 5, at least 5 for the published tables)
#   BENCH_PROFILE=0 skips the perf profiles (results/profile_*.txt)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="$root/bench"
results="$bench/results"
build="$root/build-bench"
duration="${BENCH_DURATION:-1}"
reps="${BENCH_REPS:-5}"
mkdir -p "$results"

# 1. Debian packages, only those missing.
missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$pkg")
done < "$bench/packages.txt"
if ((${#missing[@]})); then
  echo "== installing: ${missing[*]}"
  sudo_cmd=(); [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi

# 2. Separate Release build.
echo "== building ($build)"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNETMESH_BUILD_BENCH=ON \
  -DNETMESH_BUILD_TESTS=OFF -DNETMESH_BUILD_EXAMPLES=OFF > "$results/cmake.log"
cmake --build "$build" -j"$(nproc)" --target netmesh_e2e netmesh_micro netmesh_footprint netmesh_allocs

# 3. The machine.
{
  echo "cpu:      $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
  echo "cores:    $(nproc) online ($(lscpu | sed -n 's/^Thread(s) per core: *//p') thread(s) per core)"
  echo "memory:   $(free -g | awk '/^Mem:/{print $2}') GiB"
  echo "kernel:   $(uname -sr)"
  echo "virt:     $(lscpu | sed -n 's/^Hypervisor vendor: *//p') $(lscpu | sed -n 's/^Virtualization type: *//p')"
  echo "compiler: $(c++ --version | head -1)"
  echo "udp buf:  rmem_max=$(cat /proc/sys/net/core/rmem_max) wmem_max=$(cat /proc/sys/net/core/wmem_max)"
  echo "libs:     $(dpkg-query -W -f='${Package} ${Version}, ' libsodium23 libenet7 libzmq5 libuv1 libbenchmark1debian 2>/dev/null | sed 's/, $//')"
  echo "run:      $(date -u +%Y-%m-%dT%H:%MZ), duration ${duration}s x ${reps} repetitions, netmesh $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet -- src include 2>/dev/null || echo ' (+ uncommitted src changes)')"
} > "$results/machine.txt"
cat "$results/machine.txt"

# 4. Micro-benchmarks (Google Benchmark), CSV.
echo "== micro-benchmarks"
"$build/bench/netmesh_micro" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.2 --benchmark_format=csv 2>/dev/null \
  | awk -F, 'NR==1 || $1 ~ /_median"?$/' | sed 's/_median"/"/; s/_median,/,/' > "$results/micro.csv"
"$build/bench/netmesh_footprint" > "$results/footprint.csv"
"$build/bench/netmesh_allocs" 64 1024 8192 65536 > "$results/allocs.csv"

# 5. End to end, all systems in one process.
echo "== end to end (${duration}s x ${reps})"
"$build/bench/netmesh_e2e" --out "$results/e2e_raw.csv" --duration "$duration" --reps "$reps" \
  --samples 5000 2> "$results/e2e.log"

# 6. Profiles of the missed targets (software cpu-clock: this VM has no PMU counters).
if [[ "${BENCH_PROFILE:-1}" != 0 ]] && command -v perf > /dev/null; then
  echo "== profiles"
  profile() {  # name, e2e arguments...: inclusive time of the library's functions
    local name="$1"; shift
    perf record -q -e cpu-clock -F 1000 --call-graph dwarf,16384 -o "$results/perf.data" -- \
      "$build/bench/netmesh_e2e" --out /dev/null --reps 1 "$@" > /dev/null 2>&1 || true
    perf report -i "$results/perf.data" --children --sort symbol --stdio -g none --percent-limit 1 \
      2> /dev/null | grep -E '^ +[0-9]' | sed 's/ *$//; s/ *- *- *$//' \
      | grep -E 'nm::|nm_|sodium|malloc|_int_free|memmove|sendto|recvmmsg|futex|epoll' \
      | head -45 > "$results/profile_$name.txt" || true
    rm -f "$results/perf.data" "$results/perf.data.old"
  }
  profile throughput_64B_reliable --only netmesh --size 64 --duration 1
  profile throughput_8KiB --only netmesh --size 8192 --duration 1
  profile latency --only latency --samples 3000
fi

# 7. Tables, ratios, plot, BENCHMARKS.md.
python3 "$bench/report.py" "$results" "$root/BENCHMARKS.md"
