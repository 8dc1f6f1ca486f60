#!/usr/bin/env python3
"""Turns bench/results/*.csv into summary tables, ratios, the PNG plot and the generated part
of BENCHMARKS.md (between the BEGIN/END GENERATED markers). Standard library only; the plot
is drawn by gnuplot. Usage: report.py RESULTS_DIR BENCHMARKS_MD"""
import csv
import os
import statistics
import subprocess
import sys
from collections import defaultdict

res, md_path = sys.argv[1], sys.argv[2]
BEGIN, END = "<!-- BEGIN GENERATED (bench/report.py) -->", "<!-- END GENERATED -->"

# ---- aggregate: min / median / max over repetitions
runs = defaultdict(list)
with open(os.path.join(res, "e2e_raw.csv")) as f:
    for r in csv.DictReader(f):
        key = (r["section"], r["system"], r["mode"], int(r["size"]), int(r["streams"]), r["metric"])
        runs[key].append(float(r["value"]))
stat = {k: (min(v), statistics.median(v), max(v), len(v)) for k, v in runs.items()}
with open(os.path.join(res, "summary.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["section", "system", "mode", "size", "streams", "metric", "min", "median", "max", "reps"])
    for k in sorted(stat):
        w.writerow(list(k) + ["%.6g" % x for x in stat[k][:3]] + [stat[k][3]])


def med(section, system, mode, size, streams, metric):
    v = stat.get((section, system, mode, size, streams, metric))
    return v[1] if v else None


def fmt(x, unit=""):
    if x is None:
        return "n/a"
    if abs(x) >= 1e6:
        return "%.2fM%s" % (x / 1e6, unit)
    if abs(x) >= 1e4:
        return "%.0fk%s" % (x / 1e3, unit)
    if abs(x) >= 100:
        return "%.0f%s" % (x, unit)
    if abs(x) >= 10:
        return "%.1f%s" % (x, unit)
    return "%.3g%s" % (x, unit)


def mmm(section, system, mode, size, streams, metric, unit=""):
    v = stat.get((section, system, mode, size, streams, metric))
    if not v:
        return "n/a"
    return "%s (%s–%s)" % (fmt(v[1], unit), fmt(v[0]), fmt(v[2]))


def ratio(a, b):
    return None if a is None or not b else a / b


def rfmt(x):
    return "n/a" if x is None else "%.2fx" % x


SIZES = [64, 1024, 8192, 65536]
SIZE_NAME = {64: "64 B", 1024: "1 KiB", 8192: "8 KiB", 65536: "64 KiB"}
TP_SYSTEMS = [("netmesh", "rel", "netmesh reliable"), ("netmesh", "ff", "netmesh fire-and-forget"),
              ("netmesh_w64k", "rel", "netmesh reliable, default 64 KiB window"),
              ("netmesh_1pc", "rel", "netmesh reliable, one event per send call"),
              ("netmesh_nooffload", "rel", "netmesh reliable, UDP GSO/GRO off"),
              ("udp_packed", "ff", "raw UDP, events packed into 8 KiB datagrams (sendmmsg/recvmmsg)"),
              ("udp_mmsg", "ff", "raw UDP, one datagram per event (sendmmsg/recvmmsg)"),
              ("aead_1core", "-", "libsodium ChaCha20-Poly1305 encrypt+decrypt, 1 core"),
              ("aead_openssl_1core", "-", "OpenSSL ChaCha20-Poly1305 encrypt+decrypt, 1 core"),
              ("enet_rel", "rel", "ENet reliable"), ("enet_unrel", "ff", "ENet unreliable"),
              ("zmq_pushpull", "rel", "ZeroMQ PUSH/PULL (tcp)")]


def udp_limit(size, metric="events_per_s"):
    vals = [med("throughput", s, "ff", size, 1, metric) for s in ("udp_mmsg", "udp_packed")]
    vals = [v for v in vals if v is not None]
    return max(vals) if vals else None


out = []
p = out.append
p(BEGIN)
p("")
machine = os.path.join(res, "machine.txt")
if os.path.exists(machine):
    p("### Machine of this run")
    p("")
    p("```")
    p(open(machine).read().rstrip())
    p("```")
    p("")

p("### Throughput, one stream (median, in brackets min–max over the repetitions)")
p("")
for metric, unit, title in (("events_per_s", "", "events/s"), ("MB_per_s", "", "MB/s (10^6 bytes of event payload)")):
    p("**%s**" % title)
    p("")
    p("| system | " + " | ".join(SIZE_NAME[s] for s in SIZES) + " |")
    p("|---|" + "---|" * len(SIZES))
    for sysname, mode, label in TP_SYSTEMS:
        p("| %s | " % label + " | ".join(mmm("throughput", sysname, mode, s, 1, metric) for s in SIZES) + " |")
    p("")

p("**CPU time per delivered event** (getrusage of the whole process: sender, receiver and "
  "library threads; ns/event)")
p("")
p("| system | " + " | ".join(SIZE_NAME[s] for s in SIZES) + " |")
p("|---|" + "---|" * len(SIZES))
for sysname, mode, label in TP_SYSTEMS:
    p("| %s | " % label + " | ".join(mmm("throughput", sysname, mode, s, 1, "cpu_ns_per_event") for s in SIZES) + " |")
p("")

p("### netmesh throughput as a ratio (of medians, events/s)")
p("")
p("| netmesh mode | size | ÷ raw-UDP limit (best of both) | ÷ AEAD 1 core | ÷ ENet reliable | ÷ ENet unreliable | ÷ ZeroMQ |")
p("|---|---|---|---|---|---|---|")
ratio_rows = []
for mode in ("rel", "ff"):
    for s in SIZES:
        n = med("throughput", "netmesh", mode, s, 1, "events_per_s")
        row = [ratio(n, udp_limit(s)), ratio(n, med("throughput", "aead_1core", "-", s, 1, "events_per_s")),
               ratio(n, med("throughput", "enet_rel", "rel", s, 1, "events_per_s")),
               ratio(n, med("throughput", "enet_unrel", "ff", s, 1, "events_per_s")),
               ratio(n, med("throughput", "zmq_pushpull", "rel", s, 1, "events_per_s"))]
        ratio_rows.append(["throughput", mode, s] + row)
        p("| %s | %s | " % (mode, SIZE_NAME[s]) + " | ".join(rfmt(x) for x in row) + " |")
p("")

p("### Round-trip latency, 64 B ping-pong (µs; median of the repetitions, min–max in brackets)")
p("")
LAT = [("netmesh", "rel", "netmesh reliable"), ("netmesh", "ff", "netmesh fire-and-forget"),
       ("udp", "ff", "raw UDP (blocking sendto/recv)"), ("enet_rel", "rel", "ENet reliable"),
       ("zmq_pair", "rel", "ZeroMQ PAIR (tcp)")]
p("| system | p50 | p99 | p99.9 |")
p("|---|---|---|---|")
for sysname, mode, label in LAT:
    p("| %s | " % label + " | ".join(mmm("latency", sysname, mode, 64, 1, m) for m in ("rtt_p50_us", "rtt_p99_us", "rtt_p999_us")) + " |")
p("")
p("| netmesh mode | percentile | ÷ raw UDP | ÷ ENet | ÷ ZeroMQ |")
p("|---|---|---|---|---|")
for mode in ("rel", "ff"):
    for m in ("rtt_p50_us", "rtt_p99_us", "rtt_p999_us"):
        n = med("latency", "netmesh", mode, 64, 1, m)
        row = [ratio(n, med("latency", "udp", "ff", 64, 1, m)), ratio(n, med("latency", "enet_rel", "rel", 64, 1, m)),
               ratio(n, med("latency", "zmq_pair", "rel", 64, 1, m))]
        ratio_rows.append(["latency_" + m, mode, 64] + row)
        p("| %s | %s | " % (mode, m.split("_")[1]) + " | ".join(rfmt(x) for x in row) + " |")
p("")

p("### Concurrent streams (netmesh reliable, 1 KiB events, 8 per send call, round robin)")
p("")
p("| streams | events/s | MB/s | CPU ns/event | ÷ 1 stream |")
p("|---|---|---|---|---|")
one = med("streams", "netmesh", "rel", 1024, 1, "events_per_s")
for n in (1, 64, 1024, 4096):
    e = med("streams", "netmesh", "rel", 1024, n, "events_per_s")
    ratio_rows.append(["streams", "rel", n, ratio(e, one)])
    p("| %d | %s | %s | %s | %s |" % (n, mmm("streams", "netmesh", "rel", 1024, n, "events_per_s"),
                                       mmm("streams", "netmesh", "rel", 1024, n, "MB_per_s"),
                                       mmm("streams", "netmesh", "rel", 1024, n, "cpu_ns_per_event"), rfmt(ratio(e, one))))
p("")

p("### Handshake (median of 20 connects per repetition, ms)")
p("")
p("| system | what is timed | ms | netmesh ÷ this |")
p("|---|---|---|---|")
nh = med("handshake", "netmesh", "-", 0, 1, "connect_ms_median")
for sysname, what in (("netmesh", "nm_node_connect (Noise handshake + capability hello)"),
                      ("enet_rel", "enet_host_connect until ENET_EVENT_TYPE_CONNECT"),
                      ("zmq_reqrep", "zmq_connect + first REQ/REP round trip (TCP + ZMTP)")):
    p("| %s | %s | %s | %s |" % (sysname, what, mmm("handshake", sysname, "-", 0, 1, "connect_ms_median"),
                                 rfmt(ratio(nh, med("handshake", sysname, "-", 0, 1, "connect_ms_median")))))
p("")

p("### Memory (netmesh; bytes, malloc in-use (mallinfo2) and RSS deltas)")
p("")
p("| what | heap | RSS |")
p("|---|---|---|")
p("| per session end (16 sessions, both ends counted) | %s | %s |" % (
    mmm("memory", "netmesh", "-", 0, 0, "heap_B_per_session_end"), mmm("memory", "netmesh", "-", 0, 0, "rss_B_per_session_end")))
p("| per idle stream (10k opened by the application, no traffic; incl. its C handle) | %s | %s |" % (
    mmm("memory", "netmesh", "-", 0, 10000, "heap_B_per_idle_stream"), mmm("memory", "netmesh", "-", 0, 10000, "rss_B_per_idle_stream")))
p("| per stream after one 1-byte reliable event, both ends (10k) | %s | %s |" % (
    mmm("memory", "netmesh", "-", 0, 10000, "heap_B_per_used_stream_both_ends"),
    mmm("memory", "netmesh", "-", 0, 10000, "rss_B_per_used_stream_both_ends")))
p("")
fp = os.path.join(res, "footprint.csv")
if os.path.exists(fp):
    p("Per-stream breakdown (bench/footprint.cpp):")
    p("")
    p("| item | bytes |")
    p("|---|---|")
    with open(fp) as f:
        for r in csv.DictReader(f):
            p("| %s | %s |" % (r["item"], r["bytes"]))
    p("")

allocs = os.path.join(res, "allocs.csv")
if os.path.exists(allocs):
    p("### Heap allocations per packet, steady state (bench/allocs.c)")
    p("")
    p("malloc/calloc/realloc calls in the whole process (both nodes, all threads) while 64 MiB")
    p("of events go through one stream (1 MiB window, batches read with `nm_stream_recv_batch`),")
    p("after a warm-up transfer of the same size; divided by the data packets sent.")
    p("")
    p("| mode | event size | packets | allocations | per packet |")
    p("|---|---|---|---|---|")
    with open(allocs) as f:
        for r in csv.DictReader(f):
            p("| %s | %s | %s | %s | %.4f |" % (r["mode"], r["size"], r["packets"], r["allocations"],
                                               float(r["allocations_per_packet"])))
    p("")

micro = os.path.join(res, "micro.csv")
if os.path.exists(micro):
    p("### Micro-benchmarks (Google Benchmark, netmesh_core)")
    p("")
    p("| benchmark | ns/iteration (CPU) | throughput |")
    p("|---|---|---|")
    with open(micro) as f:
        lines = f.read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("name,"))
    for r in csv.DictReader(lines[start:]):
        if r.get("error_occurred") == "true":
            continue
        extra = []
        if r.get("bytes_per_second"):
            extra.append("%.0f MB/s" % (float(r["bytes_per_second"]) / 1e6))
        if r.get("items_per_second"):
            extra.append("%s events/s" % fmt(float(r["items_per_second"])))
        p("| %s | %.1f | %s |" % (r["name"].strip('"'), float(r["cpu_time"]), ", ".join(extra)))
    p("")

# ---- issue targets
p("### Issue targets")
p("")
p("| target | measured | verdict |")
p("|---|---|---|")


def verdict(value, limit, higher_better=True):
    if value is None:
        return "not measured"
    ok = value >= limit if higher_better else value <= limit
    if ok:
        return "**met**"
    factor = limit / value if higher_better else value / limit
    return "**missed** (needs %.2fx)" % factor


n64 = med("throughput", "netmesh", "rel", 64, 1, "events_per_s")
enet64 = med("throughput", "enet_rel", "rel", 64, 1, "events_per_s")
r = ratio(n64, enet64)
p("| 64 B reliable, one stream ≥ 3x ENet reliable | %s | %s |" % (rfmt(r), verdict(r, 3.0)))
r = ratio(med("throughput", "netmesh_1pc", "rel", 64, 1, "events_per_s"), enet64)
p("| ... the same with one event per `nm_stream_send_blocking` call (ENet's harness queues one event per `enet_peer_send` and flushes once per batch) | %s | %s |" % (
    rfmt(r), verdict(r, 3.0)))
r = ratio(n64, udp_limit(64))
p("| 64 B reliable, one stream ≥ 50%% of the batched raw-UDP limit (events packed in 8 KiB datagrams) | %s (%s of %s events/s) | %s |" % (
    "n/a" if r is None else "%.1f%%" % (100 * r), fmt(n64), fmt(udp_limit(64)), verdict(r, 0.5)))
a8 = med("throughput", "aead_1core", "-", 8192, 1, "MB_per_s")
o8 = med("throughput", "aead_openssl_1core", "-", 8192, 1, "MB_per_s")
for mode in ("rel", "ff"):
    n8 = med("throughput", "netmesh", mode, 8192, 1, "MB_per_s")
    r = ratio(n8, a8)
    ro = ratio(n8, o8)
    p("| 8 KiB events (%s) ≥ 70%% of single-core AEAD (libsodium; in brackets: of OpenSSL's, which netmesh uses for full packets) | %s (%s) | %s |" % (
        mode, "n/a" if r is None else "%.1f%%" % (100 * r), "n/a" if ro is None else "%.1f%%" % (100 * ro),
        verdict(r, 0.7)))
for mode in ("rel", "ff"):
    r = ratio(med("latency", "netmesh", mode, 64, 1, "rtt_p99_us"), med("latency", "udp", "ff", 64, 1, "rtt_p99_us"))
    p("| RTT p99 (%s) ≤ 2x raw UDP ping-pong | %s | %s |" % (mode, rfmt(r), verdict(r, 2.0, False)))
m = med("memory", "netmesh", "-", 0, 10000, "heap_B_per_idle_stream")
p("| ≤ 512 B per idle stream | %s B | %s |" % (fmt(m), verdict(m, 512, False)))
r = ratio(med("streams", "netmesh", "rel", 1024, 4096, "events_per_s"), one)
p("| 4096 streams lose < 10%% throughput vs 1 | %s of 1-stream | %s |" % (
    "n/a" if r is None else "%.0f%%" % (100 * r), verdict(r, 0.9)))
p("")
p(END)

with open(os.path.join(res, "ratios.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["section", "netmesh_mode", "size_or_streams", "vs_udp_limit_or_vs_1_stream", "vs_aead_or_enet",
                "vs_enet_rel_or_zmq", "vs_enet_unrel", "vs_zmq"])
    for row in ratio_rows:
        w.writerow([x if not isinstance(x, float) else "%.4g" % x for x in row])

# ---- plot: MB/s vs event size
dat = os.path.join(res, "throughput_vs_size.dat")
plot_systems = [t for t in TP_SYSTEMS]
with open(dat, "w") as f:
    f.write("# size " + " ".join(s + "_" + m for s, m, _ in plot_systems) + "\n")
    for s in SIZES:
        vals = [med("throughput", sysname, mode, s, 1, "MB_per_s") for sysname, mode, _ in plot_systems]
        f.write("%d %s\n" % (s, " ".join("NaN" if v is None else "%.3f" % v for v in vals)))
gp = ["set terminal pngcairo size 1100,720 noenhanced" if subprocess.run(
          ["gnuplot", "-e", "set terminal pngcairo"], capture_output=True).returncode == 0
      else "set terminal png size 1100,720",
      "set output '%s'" % os.path.join(res, "throughput_vs_size.png"),
      "set title 'Throughput vs event size, loopback, one stream (median of repetitions)'",
      "set logscale x 2", "set logscale y 10", "set xlabel 'event size (bytes)'",
      "set ylabel 'MB/s of event payload'", "set key below horizontal maxcols 2 width -8 font ',10'", "set grid", "set xrange [48:90000]",
      "set xtics ('64' 64, '1K' 1024, '8K' 8192, '64K' 65536)",
      "plot " + ", ".join("'%s' using 1:%d with linespoints lw 2 title '%s'" % (dat, i + 2, lbl.replace("'", ""))
                          for i, (_, _, lbl) in enumerate(plot_systems))]
subprocess.run(["gnuplot"], input="\n".join(gp), text=True, check=True)

# ---- BENCHMARKS.md: replace the generated block (or append it)
text = open(md_path).read() if os.path.exists(md_path) else "# Benchmarks\n\n"
block = "\n".join(out)
if BEGIN in text and END in text:
    text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
else:
    text = text.rstrip() + "\n\n" + block + "\n"
open(md_path, "w").write(text)
print("report: wrote summary.csv, ratios.csv, throughput_vs_size.png and %s" % md_path)
