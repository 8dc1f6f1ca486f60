// End-to-end benchmark driver: netmesh (public C API, libnetmesh.so) side by side with raw
// UDP (sendmmsg/recvmmsg), libsodium ChaCha20-Poly1305 alone, ENet and ZeroMQ, all on
// loopback in this one process, so every ratio comes from one run on one machine.
//
//   netmesh_e2e [--out FILE] [--duration SEC] [--reps N] [--samples N] [--only SECTION,...]
//
// Writes one CSV row per repetition: section,system,mode,size,streams,metric,rep,value.
// bench/report.py turns that into min/median/max tables and ratios.
#include <arpa/inet.h>
#include <enet/enet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "netmesh.h"

namespace {

using Clock = std::chrono::steady_clock;
double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// How long a receiver has heard nothing since the sender stopped: it gives up after a
// limit (lost fire-and-forget events never come).
struct Silence {
  Clock::time_point since{};
  void reset() { since = {}; }
  bool longer_than(Clock::duration limit) {
    if (since == Clock::time_point{}) since = Clock::now();
    return Clock::now() - since > limit;
  }
};

// ---------------------------------------------------------------- options and output

struct Options {
  std::string out = "e2e_raw.csv";
  double duration = 1.0;  // seconds of sending per throughput repetition
  int reps = 5;
  int samples = 5000;     // round trips per latency repetition
  std::set<std::string> only;
  size_t size = 0;        // 0 = every event size
  // netmesh's credit window in the one-stream throughput runs: the same in-flight budget
  // as the ENet harness (which keeps at most 1 MiB undelivered). 0 = unbounded.
  uint64_t window = 1 << 20;
  bool want(const std::string& s) const { return only.empty() || only.count(s); }
} opt;

FILE* out_csv = nullptr;

void emit(const char* section, const char* system, const char* mode, size_t size, size_t streams,
          const char* metric, int rep, double value) {
  fprintf(out_csv, "%s,%s,%s,%zu,%zu,%s,%d,%.6g\n", section, system, mode, size, streams, metric,
          rep, value);
  fflush(out_csv);
  fprintf(stderr, "  %-10s %-14s %-5s size=%-6zu streams=%-5zu %-18s rep=%d %.6g\n", section,
          system, mode, size, streams, metric, rep, value);
}

[[noreturn]] void die(const char* what) {
  fprintf(stderr, "fatal: %s\n", what);
  exit(2);
}

void nm_check(nm_status s, const char* what) {
  if (s == NM_OK) return;
  fprintf(stderr, "fatal: %s: %s (%s)\n", what, nm_strerror(s), nm_last_error_message());
  exit(2);
}

double cpu_seconds() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_stime.tv_sec + 1e-6 * (r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

const size_t kSizes[] = {64, 1024, 8192, 65536};
const size_t kStreamCounts[] = {1, 64, 1024, 4096};

// Events per send call: about 64 KiB per batch (one event at 64 KiB).
size_t batch_for(size_t size) { return std::max<size_t>(1, 65536 / size); }

// A throughput measurement: the sender runs for opt.duration, the receiver counts what is
// delivered; time runs from the first send to the last delivery.
struct Tp {
  uint64_t events = 0;
  double seconds = 0;
  double cpu = 0;
};

void emit_tp(const char* system, const char* mode, size_t size, size_t streams, int rep,
             const Tp& r, const char* section = "throughput") {
  double eps = r.seconds > 0 ? r.events / r.seconds : 0;
  emit(section, system, mode, size, streams, "events_per_s", rep, eps);
  emit(section, system, mode, size, streams, "MB_per_s", rep, eps * size / 1e6);
  emit(section, system, mode, size, streams, "cpu_ns_per_event", rep,
       r.events ? r.cpu * 1e9 / r.events : 0);
}

// Runs warm-up (not reported) then opt.reps measured repetitions of `one`.
void repeat(const std::function<Tp()>& one, const char* system, const char* mode, size_t size,
            size_t streams, const char* section = "throughput") {
  double saved = opt.duration;
  opt.duration = std::min(0.3, saved);
  one();
  opt.duration = saved;
  for (int rep = 0; rep < opt.reps; ++rep) emit_tp(system, mode, size, streams, rep, one(), section);
}

struct Latency {
  std::vector<double> us;
};

void emit_latency(const char* system, const char* mode, int rep, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) { return us[std::min(us.size() - 1, static_cast<size_t>(p * us.size()))]; };
  emit("latency", system, mode, 64, 1, "rtt_p50_us", rep, pct(0.50));
  emit("latency", system, mode, 64, 1, "rtt_p99_us", rep, pct(0.99));
  emit("latency", system, mode, 64, 1, "rtt_p999_us", rep, pct(0.999));
}

// ---------------------------------------------------------------- netmesh

struct NmPair {
  nm_node_t* a = nullptr;  // sender / initiator
  nm_node_t* b = nullptr;  // receiver / responder
  uint64_t ida = 0, idb = 0;
};

nm_node_t* nm_new_node(uint32_t max_streams) {
  nm_node_config_t c;
  nm_check(nm_node_config_init(&c, sizeof c), "config_init");
  memset(c.psk, 0x42, sizeof c.psk);
  c.max_streams = max_streams;
  nm_node_t* n = nullptr;
  nm_check(nm_node_new(&c, &n), "nm_node_new");
  return n;
}

void nm_connect(NmPair& p) {
  uint8_t pk[NM_KEY_SIZE];
  char addr[NM_ADDR_MAX];
  nm_check(nm_node_id(p.a, &p.ida), "id");
  nm_check(nm_node_id(p.b, &p.idb), "id");
  nm_check(nm_node_public_key(p.b, pk), "public_key");
  nm_check(nm_node_local_addr(p.b, addr, sizeof addr), "local_addr");
  nm_check(nm_node_allow_peer(p.b, p.ida), "allow_peer");
  nm_check(nm_node_connect(p.a, addr, pk, p.idb), "connect");
  nm_check(nm_node_accept(p.b, p.ida, 5000), "accept");
}

NmPair nm_pair(uint32_t max_streams = 4096) {
  NmPair p;
  p.a = nm_new_node(max_streams);
  p.b = nm_new_node(max_streams);
  nm_connect(p);
  return p;
}

void nm_free_pair(NmPair& p) {
  nm_node_free(p.a);
  nm_node_free(p.b);
}

nm_stream_config_t nm_cfg(bool reliable) {
  nm_stream_config_t c;
  nm_stream_config_init(&c, sizeof c);
  c.reliability = reliable ? NM_RELIABLE : NM_FIRE_AND_FORGET;
  return c;
}

// One stream, events of `size` bytes sent in batches with nm_stream_send_blocking.
void netmesh_throughput(const char* system, bool reliable, size_t size, uint64_t window,
                        size_t per_call = 0) {
  nm_stream_config_t cfg = nm_cfg(reliable);
  cfg.window_bytes = window;
  std::vector<uint8_t> payload(size, 0x5a);
  std::vector<nm_event_t> batch(per_call ? per_call : batch_for(size), nm_event_t{payload.data(), size});

  // Fresh nodes (and so fresh loop threads) per repetition: on 2 vCPUs the scheduler's
  // placement of the four busy threads decides a lot, and it sticks for a node's life, so
  // repetitions on one pair would all sample the same placement.
  auto one = [&]() -> Tp {
    NmPair p = nm_pair();
    nm_stream_t *tx = nullptr, *rx = nullptr;
    nm_check(nm_node_open_stream(p.b, p.ida, 1, &cfg, &rx), "open rx");
    nm_check(nm_node_open_stream(p.a, p.idb, 1, &cfg, &tx), "open tx");
    std::atomic<bool> sending{true};
    std::atomic<uint64_t> sent{0};
    uint64_t delivered = 0;
    Clock::time_point last = Clock::now();
    std::thread receiver([&] {
      std::vector<uint8_t> buf(std::max<size_t>(size, 65536));
      std::vector<size_t> lens(buf.size() / size);
      Silence quiet;
      for (;;) {
        size_t got = 0;
        nm_status s = nm_stream_recv_batch(rx, buf.data(), buf.size(), lens.data(), lens.size(),
                                           &got, 20);
        if (s == NM_OK) {
          delivered += got;
          last = Clock::now();
          continue;
        }
        if (s != NM_ERR_TIMEOUT) nm_check(s, "recv");
        if (sending) continue;
        if (reliable && delivered >= sent) break;
        // Fire-and-forget (or a stuck reliable stream): stop after 200 ms of silence.
        if (quiet.longer_than(std::chrono::milliseconds(reliable ? 3000 : 200))) break;
      }
    });
    double cpu0 = cpu_seconds();
    auto t0 = Clock::now();
    auto end = t0 + std::chrono::duration<double>(opt.duration);
    while (Clock::now() < end) {
      size_t n = 0;
      nm_status s = nm_stream_send_blocking(tx, batch.data(), batch.size(), 100, &n);
      sent += n;
      if (s != NM_OK && s != NM_ERR_TIMEOUT) nm_check(s, "send");
    }
    sending = false;
    receiver.join();
    Tp r;
    r.events = delivered;
    r.seconds = secs(last - t0);
    r.cpu = cpu_seconds() - cpu0;
    nm_stream_free(tx);
    nm_stream_free(rx);
    nm_free_pair(p);
    return r;
  };
  repeat(one, system, reliable ? "rel" : "ff", size, 1);
}

// Many streams: 1 KiB reliable events, 8 per send call, round robin over the streams; the
// receiver scans its stream handles (the API has no "next readable stream" call).
void netmesh_streams(size_t nstreams) {
  const size_t size = 1024, per_call = 8;
  NmPair p = nm_pair(static_cast<uint32_t>(std::max<size_t>(nstreams, 4096)));
  nm_stream_config_t cfg = nm_cfg(true);
  std::vector<nm_stream_t*> tx(nstreams), rx(nstreams);
  for (size_t i = 0; i < nstreams; ++i) {
    nm_check(nm_node_open_stream(p.b, p.ida, i + 1, &cfg, &rx[i]), "open rx");
    nm_check(nm_node_open_stream(p.a, p.idb, i + 1, &cfg, &tx[i]), "open tx");
  }
  int efd = -1;
  nm_check(nm_node_event_fd(p.b, &efd), "event_fd");
  std::vector<uint8_t> payload(size, 0x5a);
  std::vector<nm_event_t> batch(per_call, nm_event_t{payload.data(), size});

  auto one = [&]() -> Tp {
    std::atomic<bool> sending{true};
    std::atomic<uint64_t> sent{0};
    uint64_t delivered = 0;
    Clock::time_point last = Clock::now();
    std::thread receiver([&] {
      std::vector<uint8_t> buf(size + 64);
      Silence quiet;
      for (;;) {
        bool any = false;
        for (size_t i = 0; i < nstreams; ++i) {
          size_t len = 0;
          while (nm_stream_recv(rx[i], buf.data(), buf.size(), &len, 0) == NM_OK) {
            ++delivered;
            any = true;
          }
        }
        if (any) {
          last = Clock::now();
          quiet.reset();
          continue;
        }
        if (!sending && delivered >= sent) break;
        if (!sending) {
          if (quiet.longer_than(std::chrono::seconds(3))) break;
        }
        pollfd pf{efd, POLLIN, 0};
        poll(&pf, 1, 1);
      }
    });
    double cpu0 = cpu_seconds();
    auto t0 = Clock::now();
    auto end = t0 + std::chrono::duration<double>(opt.duration);
    size_t i = 0, stalled = 0;
    while (Clock::now() < end) {
      size_t n = 0;
      nm_status s = nm_stream_send(tx[i], batch.data(), batch.size(), &n);
      sent += n;
      if (s != NM_OK && s != NM_ERR_BACKPRESSURE) nm_check(s, "send");
      stalled = n == 0 ? stalled + 1 : 0;
      if (stalled >= nstreams) {
        // Every stream is out of credit: wait on this one (woken early when credit returns).
        size_t m = 0;
        nm_status w = nm_stream_send_blocking(tx[i], batch.data(), batch.size(), 5, &m);
        if (w != NM_OK && w != NM_ERR_TIMEOUT && w != NM_ERR_BACKPRESSURE) nm_check(w, "send");
        sent += m;
        stalled = 0;
      }
      i = (i + 1) % nstreams;
    }
    sending = false;
    receiver.join();
    Tp r;
    r.events = delivered;
    r.seconds = secs(last - t0);
    r.cpu = cpu_seconds() - cpu0;
    return r;
  };
  repeat(one, "netmesh", "rel", size, nstreams, "streams");
  for (size_t i = 0; i < nstreams; ++i) {
    nm_stream_free(tx[i]);
    nm_stream_free(rx[i]);
  }
  nm_free_pair(p);
}

void netmesh_latency(bool reliable) {
  NmPair p = nm_pair();
  nm_stream_config_t cfg = nm_cfg(reliable);
  nm_stream_t *sa = nullptr, *sb = nullptr;
  nm_check(nm_node_open_stream(p.b, p.ida, 7, &cfg, &sb), "open b");
  nm_check(nm_node_open_stream(p.a, p.idb, 7, &cfg, &sa), "open a");
  std::atomic<bool> run{true};
  std::thread echo([&] {
    uint8_t buf[256];
    while (run) {
      size_t len = 0;
      if (nm_stream_recv(sb, buf, sizeof buf, &len, 50) != NM_OK) continue;
      nm_event_t e{buf, len};
      nm_stream_send_blocking(sb, &e, 1, 1000, nullptr);
    }
  });
  uint8_t msg[64] = {1}, buf[256];
  for (int rep = -1; rep < opt.reps; ++rep) {
    std::vector<double> us;
    int n = rep < 0 ? 500 : opt.samples;
    for (int i = 0; i < n; ++i) {
      nm_event_t e{msg, sizeof msg};
      auto t0 = Clock::now();
      nm_check(nm_stream_send_blocking(sa, &e, 1, 1000, nullptr), "ping");
      size_t len = 0;
      if (nm_stream_recv(sa, buf, sizeof buf, &len, 1000) != NM_OK) continue;  // lost (ff)
      us.push_back(secs(Clock::now() - t0) * 1e6);
    }
    if (rep >= 0) emit_latency("netmesh", reliable ? "rel" : "ff", rep, us);
  }
  run = false;
  echo.join();
  nm_stream_free(sa);
  nm_stream_free(sb);
  nm_free_pair(p);
}

void netmesh_handshake() {
  const int per_rep = 20;
  for (int rep = 0; rep < opt.reps; ++rep) {
    std::vector<double> ms;
    for (int i = 0; i < per_rep; ++i) {
      NmPair p;
      p.a = nm_new_node(4096);
      p.b = nm_new_node(4096);
      uint8_t pk[NM_KEY_SIZE];
      char addr[NM_ADDR_MAX];
      nm_node_id(p.a, &p.ida);
      nm_node_id(p.b, &p.idb);
      nm_node_public_key(p.b, pk);
      nm_node_local_addr(p.b, addr, sizeof addr);
      nm_node_allow_peer(p.b, p.ida);
      auto t0 = Clock::now();
      nm_check(nm_node_connect(p.a, addr, pk, p.idb), "connect");
      ms.push_back(secs(Clock::now() - t0) * 1e3);
      nm_free_pair(p);
    }
    std::sort(ms.begin(), ms.end());
    emit("handshake", "netmesh", "-", 0, 1, "connect_ms_median", rep, ms[ms.size() / 2]);
  }
}

size_t heap_in_use() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}
size_t rss_bytes() {
  long pages = 0, rss = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
  fclose(f);
  return static_cast<size_t>(rss) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

void netmesh_memory() {
  const size_t kPeers = 16, kStreams = 10000;
  for (int rep = 0; rep < opt.reps; ++rep) {
    // Sessions: one node dials kPeers nodes; the delta covers both ends of every session.
    {
      nm_node_t* hub = nm_new_node(4096);
      std::vector<NmPair> pairs(kPeers);
      for (auto& p : pairs) {
        p.a = hub;
        p.b = nm_new_node(4096);
      }
      malloc_trim(0);
      size_t h0 = heap_in_use(), r0 = rss_bytes();
      for (auto& p : pairs) nm_connect(p);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // hellos settle
      size_t h1 = heap_in_use(), r1 = rss_bytes();
      emit("memory", "netmesh", "-", 0, 0, "heap_B_per_session_end", rep,
           (static_cast<double>(h1) - h0) / (2.0 * kPeers));
      emit("memory", "netmesh", "-", 0, 0, "rss_B_per_session_end", rep,
           (static_cast<double>(r1) - r0) / (2.0 * kPeers));
      for (auto& p : pairs) nm_node_free(p.b);
      nm_node_free(hub);
    }
    // Idle streams: kStreams opened by the application on one end, no traffic.
    {
      NmPair p = nm_pair(0);
      nm_stream_config_t cfg = nm_cfg(true);
      std::vector<nm_stream_t*> s(kStreams), r(kStreams);
      malloc_trim(0);
      size_t h0 = heap_in_use(), r0 = rss_bytes();
      for (size_t i = 0; i < kStreams; ++i)
        nm_check(nm_node_open_stream(p.a, p.idb, i + 1, &cfg, &s[i]), "open");
      size_t h1 = heap_in_use(), r1 = rss_bytes();
      emit("memory", "netmesh", "-", 0, kStreams, "heap_B_per_idle_stream", rep,
           (static_cast<double>(h1) - h0) / kStreams);
      emit("memory", "netmesh", "-", 0, kStreams, "rss_B_per_idle_stream", rep,
           (static_cast<double>(r1) - r0) / kStreams);
      // One 1-byte reliable event per stream, read on the other end, acknowledged: what an
      // idle stream costs on both ends once it has carried traffic.
      uint8_t one = 1, buf[16];
      nm_event_t e{&one, 1};
      for (size_t i = 0; i < kStreams; ++i) {
        nm_check(nm_node_open_stream(p.b, p.ida, i + 1, &cfg, &r[i]), "open rx");
        nm_check(nm_stream_send_blocking(s[i], &e, 1, 5000, nullptr), "send");
      }
      for (size_t i = 0; i < kStreams; ++i) {
        size_t len = 0;
        nm_check(nm_stream_recv(r[i], buf, sizeof buf, &len, 5000), "recv");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // ACKs settle
      size_t h2 = heap_in_use(), r2 = rss_bytes();
      emit("memory", "netmesh", "-", 0, kStreams, "heap_B_per_used_stream_both_ends", rep,
           (static_cast<double>(h2) - h0) / kStreams);
      emit("memory", "netmesh", "-", 0, kStreams, "rss_B_per_used_stream_both_ends", rep,
           (static_cast<double>(r2) - r0) / kStreams);
      for (size_t i = 0; i < kStreams; ++i) {
        nm_stream_free(s[i]);
        nm_stream_free(r[i]);
      }
      nm_free_pair(p);
    }
  }
}

// ---------------------------------------------------------------- raw UDP

int udp_socket(sockaddr_in* bound) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket");
  int sz = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("bind");
  socklen_t len = sizeof *bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(bound), &len);
  timeval tv{0, 50000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// packed = false: one event per datagram (a 64 KiB event as 8 datagrams of 8 KiB).
// packed = true: events framed (u32 length + bytes) into datagrams of up to 8192 bytes, as
// netmesh packs them, without header or crypto.
void udp_throughput(bool packed, size_t size) {
  sockaddr_in sa{}, ra{};
  int sfd = udp_socket(&sa), rfd = udp_socket(&ra);
  const size_t kChunk = 8192;
  const size_t chunks = size > kChunk ? size / kChunk : 1;  // datagrams per event
  const size_t per_dgram = packed && size <= kChunk ? std::max<size_t>(1, kChunk / (size + 4)) : 1;
  const size_t dgram = chunks > 1 ? kChunk : per_dgram * (size + (packed ? 4 : 0));
  const size_t kBatch = 64;
  std::vector<uint8_t> tx(kBatch * dgram, 0x5a);
  // Chunked events: the first 8 bytes carry (event number, chunk index).
  auto one = [&]() -> Tp {
    std::atomic<bool> sending{true};
    uint64_t delivered = 0;
    Clock::time_point last = Clock::now();
    std::thread receiver([&] {
      const size_t kRx = 64;
      std::vector<uint8_t> buf(kRx * 65536);
      mmsghdr m[kRx];
      iovec iov[kRx];
      uint32_t cur_event = UINT32_MAX, have = 0;
      Silence quiet;
      for (;;) {
        for (size_t i = 0; i < kRx; ++i) {
          iov[i] = {buf.data() + i * 65536, 65536};
          memset(&m[i], 0, sizeof m[i]);
          m[i].msg_hdr.msg_iov = &iov[i];
          m[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(rfd, m, kRx, MSG_WAITFORONE, nullptr);
        if (n <= 0) {
          if (sending) continue;
          if (quiet.longer_than(std::chrono::milliseconds(200))) break;
          continue;
        }
        for (int i = 0; i < n; ++i) {
          if (chunks == 1) {
            delivered += m[i].msg_len / (dgram / per_dgram);
          } else {
            uint32_t ev, idx;
            memcpy(&ev, iov[i].iov_base, 4);
            memcpy(&idx, static_cast<uint8_t*>(iov[i].iov_base) + 4, 4);
            if (ev != cur_event) {
              cur_event = ev;
              have = 0;
            }
            if (idx == have) ++have;
            if (have == chunks) ++delivered;
          }
        }
        last = Clock::now();
      }
    });
    mmsghdr m[kBatch];
    iovec iov[kBatch];
    double cpu0 = cpu_seconds();
    auto t0 = Clock::now();
    auto end = t0 + std::chrono::duration<double>(opt.duration);
    uint32_t ev = 0, idx = 0;
    while (Clock::now() < end) {
      for (size_t i = 0; i < kBatch; ++i) {
        uint8_t* d = tx.data() + i * dgram;
        if (chunks > 1) {
          memcpy(d, &ev, 4);
          memcpy(d + 4, &idx, 4);
          if (++idx == chunks) {
            idx = 0;
            ++ev;
          }
        }
        iov[i] = {d, dgram};
        memset(&m[i], 0, sizeof m[i]);
        m[i].msg_hdr.msg_name = &ra;
        m[i].msg_hdr.msg_namelen = sizeof ra;
        m[i].msg_hdr.msg_iov = &iov[i];
        m[i].msg_hdr.msg_iovlen = 1;
      }
      size_t done = 0;
      while (done < kBatch) {
        int n = sendmmsg(sfd, m + done, kBatch - done, 0);
        if (n <= 0) break;
        done += n;
      }
    }
    sending = false;
    receiver.join();
    Tp r;
    r.events = delivered;
    r.seconds = secs(last - t0);
    r.cpu = cpu_seconds() - cpu0;
    return r;
  };
  repeat(one, packed ? "udp_packed" : "udp_mmsg", "ff", size, 1);
  close(sfd);
  close(rfd);
}

void udp_latency() {
  sockaddr_in ca{}, ea{};
  int cfd = udp_socket(&ca), efd = udp_socket(&ea);
  std::atomic<bool> run{true};
  std::thread echo([&] {
    uint8_t buf[256];
    while (run) {
      sockaddr_in from{};
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(efd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n > 0) sendto(efd, buf, n, 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  });
  uint8_t msg[64] = {1}, buf[256];
  for (int rep = -1; rep < opt.reps; ++rep) {
    std::vector<double> us;
    int n = rep < 0 ? 500 : opt.samples;
    for (int i = 0; i < n; ++i) {
      auto t0 = Clock::now();
      sendto(cfd, msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&ea), sizeof ea);
      if (recv(cfd, buf, sizeof buf, 0) != sizeof msg) continue;
      us.push_back(secs(Clock::now() - t0) * 1e6);
    }
    if (rep >= 0) emit_latency("udp", "ff", rep, us);
  }
  run = false;
  echo.join();
  close(cfd);
  close(efd);
}

// ---------------------------------------------------------------- libsodium alone

// Encrypt + decrypt (with a 56-byte AAD like netmesh's) of one message of `size` bytes,
// repeated on this one thread: the single-core crypto limit.
void aead_limit(size_t size) {
  std::vector<uint8_t> m(size, 0x5a), c(size);
  uint8_t key[32], nonce[12] = {}, aad[56] = {}, tag[16];
  randombytes_buf(key, sizeof key);
  auto one = [&]() -> Tp {
    double cpu0 = cpu_seconds();
    auto t0 = Clock::now();
    auto end = t0 + std::chrono::duration<double>(opt.duration);
    uint64_t n = 0;
    while (Clock::now() < end) {
      for (int k = 0; k < 16; ++k, ++n) {
        memcpy(nonce, &n, 8);
        crypto_aead_chacha20poly1305_ietf_encrypt_detached(c.data(), tag, nullptr, m.data(), size,
                                                           aad, sizeof aad, nullptr, nonce, key);
        if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(m.data(), nullptr, c.data(), size,
                                                               tag, aad, sizeof aad, nonce, key) != 0)
          die("aead");
      }
    }
    Tp r;
    r.events = n;
    r.seconds = secs(Clock::now() - t0);
    r.cpu = cpu_seconds() - cpu0;
    return r;
  };
  repeat(one, "aead_1core", "-", size, 1);
}

// The same with OpenSSL's ChaCha20-Poly1305 (what netmesh uses for payloads >= 1 KiB).
void aead_limit_openssl(size_t size) {
  std::vector<uint8_t> m(size, 0x5a), c(size + 16);
  uint8_t key[32], nonce[12] = {}, aad[56] = {}, tag[16];
  randombytes_buf(key, sizeof key);
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  if (!cipher) return;  // no such cipher in this OpenSSL: no row
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex2(enc, cipher, nullptr, nullptr, nullptr);
  EVP_DecryptInit_ex2(dec, cipher, nullptr, nullptr, nullptr);
  auto one = [&]() -> Tp {
    double cpu0 = cpu_seconds();
    auto t0 = Clock::now();
    auto end = t0 + std::chrono::duration<double>(opt.duration);
    uint64_t n = 0;
    int len = 0;
    while (Clock::now() < end) {
      for (int k = 0; k < 16; ++k, ++n) {
        memcpy(nonce, &n, 8);
        EVP_EncryptInit_ex2(enc, nullptr, key, nonce, nullptr);
        EVP_EncryptUpdate(enc, nullptr, &len, aad, sizeof aad);
        EVP_EncryptUpdate(enc, c.data(), &len, m.data(), static_cast<int>(size));
        EVP_EncryptFinal_ex(enc, c.data() + len, &len);
        EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_AEAD_GET_TAG, 16, tag);
        EVP_DecryptInit_ex2(dec, nullptr, key, nonce, nullptr);
        EVP_DecryptUpdate(dec, nullptr, &len, aad, sizeof aad);
        EVP_DecryptUpdate(dec, m.data(), &len, c.data(), static_cast<int>(size));
        EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_AEAD_SET_TAG, 16, tag);
        if (EVP_DecryptFinal_ex(dec, m.data() + len, &len) != 1) die("openssl aead");
      }
    }
    Tp r;
    r.events = n;
    r.seconds = secs(Clock::now() - t0);
    r.cpu = cpu_seconds() - cpu0;
    return r;
  };
  repeat(one, "aead_openssl_1core", "-", size, 1);
  EVP_CIPHER_CTX_free(enc);
  EVP_CIPHER_CTX_free(dec);
  EVP_CIPHER_free(cipher);
}

// ---------------------------------------------------------------- ENet

ENetHost* enet_server(ENetAddress* addr) {
  ENetAddress a{};
  enet_address_set_host_ip(&a, "127.0.0.1");
  a.port = 0;
  ENetHost* h = enet_host_create(&a, 4, 2, 0, 0);
  if (!h) die("enet_host_create");
  enet_socket_get_address(h->socket, addr);
  enet_address_set_host_ip(addr, "127.0.0.1");
  return h;
}

// Client connects; both hosts are serviced here until the connection is up.
ENetPeer* enet_link(ENetHost* client, ENetHost* server, const ENetAddress& to, ENetPeer** server_peer) {
  ENetPeer* peer = enet_host_connect(client, &to, 2, 0);
  bool c = false, s = false;
  ENetEvent ev;
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while ((!c || !s) && Clock::now() < deadline) {
    while (enet_host_service(client, &ev, 1) > 0)
      if (ev.type == ENET_EVENT_TYPE_CONNECT) c = true;
    while (enet_host_service(server, &ev, 1) > 0)
      if (ev.type == ENET_EVENT_TYPE_CONNECT) {
        s = true;
        if (server_peer) *server_peer = ev.peer;
      }
  }
  if (!c || !s) die("enet connect");
  return peer;
}

// reliable: ENET_PACKET_FLAG_RELIABLE on channel 0; else unsequenced-free unreliable packets.
// The sender keeps at most 1 MiB of events not yet delivered (ENet queues without bound).
void enet_throughput(bool reliable, size_t size) {
  ENetAddress saddr{};
  ENetHost* server = enet_server(&saddr);
  ENetHost* client = enet_host_create(nullptr, 1, 2, 0, 0);
  ENetPeer* peer = enet_link(client, server, saddr, nullptr);
  std::vector<uint8_t> payload(size, 0x5a);
  const size_t batch = batch_for(size);
  const uint64_t max_in_flight = std::max<uint64_t>(2, (1u << 20) / size);
  auto one = [&]() -> Tp {
    std::atomic<bool> sending{true};
    std::atomic<uint64_t> delivered{0};
    uint64_t sent = 0;
    Clock::time_point last = Clock::now();
    std::thread receiver([&] {
      ENetEvent ev;
      Silence quiet;
      for (;;) {
        int r = enet_host_service(server, &ev, 1);
        if (r > 0) {
          if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
            if (ev.packet->dataLength == size) ++delivered;
            enet_packet_destroy(ev.packet);
            last = Clock::now();
            quiet.reset();
          }
          continue;
        }
        if (sending) continue;
        if (reliable && delivered >= sent) break;
        if (quiet.longer_than(std::chrono::milliseconds(reliable ? 3000 : 200))) break;
      }
    });
    double cpu0 = cpu_seconds();
    auto t0 = Clock::now();
    auto end = t0 + std::chrono::duration<double>(opt.duration);
    ENetEvent ev;
    auto service = [&](int timeout) {
      while (enet_host_service(client, &ev, timeout) > 0) timeout = 0;
    };
    while (Clock::now() < end) {
      if (sent - delivered < max_in_flight) {
        for (size_t i = 0; i < batch; ++i) {
          ENetPacket* pk = enet_packet_create(payload.data(), size,
                                              reliable ? ENET_PACKET_FLAG_RELIABLE : 0);
          if (enet_peer_send(peer, 0, pk) != 0) {
            enet_packet_destroy(pk);
            break;
          }
          ++sent;
        }
        service(0);
      } else {
        service(1);
      }
    }
    // Keep servicing (retransmissions, ACKs) until the receiver is done.
    std::atomic<bool> done{false};
    std::thread pump([&] {
      while (!done) service(1);
    });
    sending = false;
    receiver.join();
    done = true;
    pump.join();
    Tp r;
    r.events = delivered;
    r.seconds = secs(last - t0);
    r.cpu = cpu_seconds() - cpu0;
    return r;
  };
  repeat(one, reliable ? "enet_rel" : "enet_unrel", reliable ? "rel" : "ff", size, 1);
  enet_peer_reset(peer);
  enet_host_destroy(client);
  enet_host_destroy(server);
}

void enet_latency() {
  ENetAddress saddr{};
  ENetHost* server = enet_server(&saddr);
  ENetHost* client = enet_host_create(nullptr, 1, 2, 0, 0);
  ENetPeer* peer = enet_link(client, server, saddr, nullptr);
  std::atomic<bool> run{true};
  std::thread echo([&] {
    ENetEvent ev;
    while (run) {
      if (enet_host_service(server, &ev, 5) <= 0) continue;
      if (ev.type != ENET_EVENT_TYPE_RECEIVE) continue;
      ENetPacket* back = enet_packet_create(ev.packet->data, ev.packet->dataLength,
                                            ENET_PACKET_FLAG_RELIABLE);
      enet_peer_send(ev.peer, 0, back);
      enet_packet_destroy(ev.packet);
      enet_host_flush(server);
    }
  });
  uint8_t msg[64] = {1};
  for (int rep = -1; rep < opt.reps; ++rep) {
    std::vector<double> us;
    int n = rep < 0 ? 500 : opt.samples;
    for (int i = 0; i < n; ++i) {
      auto t0 = Clock::now();
      enet_peer_send(peer, 0, enet_packet_create(msg, sizeof msg, ENET_PACKET_FLAG_RELIABLE));
      enet_host_flush(client);
      ENetEvent ev;
      bool got = false;
      while (!got && Clock::now() - t0 < std::chrono::seconds(1)) {
        if (enet_host_service(client, &ev, 1) > 0 && ev.type == ENET_EVENT_TYPE_RECEIVE) {
          enet_packet_destroy(ev.packet);
          got = true;
        }
      }
      if (got) us.push_back(secs(Clock::now() - t0) * 1e6);
    }
    if (rep >= 0) emit_latency("enet_rel", "rel", rep, us);
  }
  run = false;
  echo.join();
  enet_peer_reset(peer);
  enet_host_destroy(client);
  enet_host_destroy(server);
}

void enet_handshake() {
  const int per_rep = 20;
  for (int rep = 0; rep < opt.reps; ++rep) {
    std::vector<double> ms;
    for (int i = 0; i < per_rep; ++i) {
      ENetAddress saddr{};
      ENetHost* server = enet_server(&saddr);
      ENetHost* client = enet_host_create(nullptr, 1, 2, 0, 0);
      std::atomic<bool> run{true};
      std::thread srv([&] {
        ENetEvent ev;
        while (run) enet_host_service(server, &ev, 1);
      });
      auto t0 = Clock::now();
      ENetPeer* peer = enet_host_connect(client, &saddr, 2, 0);
      ENetEvent ev;
      while (Clock::now() - t0 < std::chrono::seconds(5))
        if (enet_host_service(client, &ev, 1) > 0 && ev.type == ENET_EVENT_TYPE_CONNECT) break;
      ms.push_back(secs(Clock::now() - t0) * 1e3);
      run = false;
      srv.join();
      enet_peer_reset(peer);
      enet_host_destroy(client);
      enet_host_destroy(server);
    }
    std::sort(ms.begin(), ms.end());
    emit("handshake", "enet_rel", "-", 0, 1, "connect_ms_median", rep, ms[ms.size() / 2]);
  }
}

// ---------------------------------------------------------------- ZeroMQ

void* zctx = nullptr;

std::string zmq_bind_any(void* s) {
  if (zmq_bind(s, "tcp://127.0.0.1:*") != 0) die("zmq_bind");
  char ep[256];
  size_t len = sizeof ep;
  zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len);
  return ep;
}

void zmq_throughput(size_t size) {
  void* pull = zmq_socket(zctx, ZMQ_PULL);
  void* push = zmq_socket(zctx, ZMQ_PUSH);
  int to = 50;
  zmq_setsockopt(pull, ZMQ_RCVTIMEO, &to, sizeof to);
  int linger = 0;
  zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
  zmq_setsockopt(pull, ZMQ_LINGER, &linger, sizeof linger);
  std::string ep = zmq_bind_any(pull);
  if (zmq_connect(push, ep.c_str()) != 0) die("zmq_connect");
  std::vector<uint8_t> payload(size, 0x5a), buf(size + 64);
  auto one = [&]() -> Tp {
    std::atomic<bool> sending{true};
    std::atomic<uint64_t> sent{0};
    uint64_t delivered = 0;
    Clock::time_point last = Clock::now();
    std::thread receiver([&] {
      Silence quiet;
      for (;;) {
        int n = zmq_recv(pull, buf.data(), buf.size(), 0);
        if (n >= 0) {
          ++delivered;
          last = Clock::now();
          quiet.reset();
          continue;
        }
        if (sending) continue;
        if (delivered >= sent) break;
        if (quiet.longer_than(std::chrono::seconds(3))) break;
      }
    });
    double cpu0 = cpu_seconds();
    auto t0 = Clock::now();
    auto end = t0 + std::chrono::duration<double>(opt.duration);
    const size_t batch = batch_for(size);
    while (Clock::now() < end) {
      for (size_t i = 0; i < batch; ++i)
        if (zmq_send(push, payload.data(), size, 0) == static_cast<int>(size)) ++sent;
    }
    sending = false;
    receiver.join();
    Tp r;
    r.events = delivered;
    r.seconds = secs(last - t0);
    r.cpu = cpu_seconds() - cpu0;
    return r;
  };
  repeat(one, "zmq_pushpull", "rel", size, 1);
  zmq_close(push);
  zmq_close(pull);
}

void zmq_latency() {
  void* a = zmq_socket(zctx, ZMQ_PAIR);
  void* b = zmq_socket(zctx, ZMQ_PAIR);
  int to = 50, linger = 0;
  zmq_setsockopt(b, ZMQ_RCVTIMEO, &to, sizeof to);
  zmq_setsockopt(a, ZMQ_LINGER, &linger, sizeof linger);
  zmq_setsockopt(b, ZMQ_LINGER, &linger, sizeof linger);
  int ato = 1000;
  zmq_setsockopt(a, ZMQ_RCVTIMEO, &ato, sizeof ato);
  std::string ep = zmq_bind_any(b);
  zmq_connect(a, ep.c_str());
  std::atomic<bool> run{true};
  std::thread echo([&] {
    uint8_t buf[256];
    while (run) {
      int n = zmq_recv(b, buf, sizeof buf, 0);
      if (n > 0) zmq_send(b, buf, n, 0);
    }
  });
  uint8_t msg[64] = {1}, buf[256];
  for (int rep = -1; rep < opt.reps; ++rep) {
    std::vector<double> us;
    int n = rep < 0 ? 500 : opt.samples;
    for (int i = 0; i < n; ++i) {
      auto t0 = Clock::now();
      zmq_send(a, msg, sizeof msg, 0);
      if (zmq_recv(a, buf, sizeof buf, 0) != sizeof msg) continue;
      us.push_back(secs(Clock::now() - t0) * 1e6);
    }
    if (rep >= 0) emit_latency("zmq_pair", "rel", rep, us);
  }
  run = false;
  echo.join();
  zmq_close(a);
  zmq_close(b);
}

// Connect + first REQ/REP round trip (ZMTP handshake over TCP included).
void zmq_handshake() {
  const int per_rep = 20;
  for (int rep = 0; rep < opt.reps; ++rep) {
    std::vector<double> ms;
    for (int i = 0; i < per_rep; ++i) {
      void* rep_s = zmq_socket(zctx, ZMQ_REP);
      void* req = zmq_socket(zctx, ZMQ_REQ);
      int linger = 0;
      zmq_setsockopt(rep_s, ZMQ_LINGER, &linger, sizeof linger);
      zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof linger);
      std::string ep = zmq_bind_any(rep_s);
      std::thread srv([&] {
        uint8_t b[16];
        int n = zmq_recv(rep_s, b, sizeof b, 0);
        if (n >= 0) zmq_send(rep_s, b, n, 0);
      });
      uint8_t m = 1, b[16];
      auto t0 = Clock::now();
      zmq_connect(req, ep.c_str());
      zmq_send(req, &m, 1, 0);
      zmq_recv(req, b, sizeof b, 0);
      ms.push_back(secs(Clock::now() - t0) * 1e3);
      srv.join();
      zmq_close(req);
      zmq_close(rep_s);
    }
    std::sort(ms.begin(), ms.end());
    emit("handshake", "zmq_reqrep", "-", 0, 1, "connect_ms_median", rep, ms[ms.size() / 2]);
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) die("missing option value");
      return argv[++i];
    };
    if (a == "--out") opt.out = next();
    else if (a == "--duration") opt.duration = atof(next());
    else if (a == "--reps") opt.reps = atoi(next());
    else if (a == "--samples") opt.samples = atoi(next());
    else if (a == "--size") opt.size = strtoul(next(), nullptr, 10);
    else if (a == "--window") opt.window = strtoull(next(), nullptr, 10);
    else if (a == "--only") {
      std::string s = next();
      size_t pos = 0;
      while (pos <= s.size()) {
        size_t c = s.find(',', pos);
        if (c == std::string::npos) c = s.size();
        opt.only.insert(s.substr(pos, c - pos));
        pos = c + 1;
      }
    } else {
      fprintf(stderr, "usage: %s [--out FILE] [--duration SEC] [--reps N] [--samples N] "
                      "[--size BYTES] [--window BYTES] [--only crypto,udp,netmesh,enet,zmq,latency,streams,handshake,memory]\n", argv[0]);
      return 2;
    }
  }
  if (sodium_init() < 0) die("sodium_init");
  if (enet_initialize() != 0) die("enet_initialize");
  zctx = zmq_ctx_new();
  out_csv = fopen(opt.out.c_str(), "w");
  if (!out_csv) die("cannot open output");
  fprintf(out_csv, "section,system,mode,size,streams,metric,rep,value\n");

  auto sized = [](size_t s) { return opt.size == 0 || opt.size == s; };
  if (opt.want("crypto"))
    for (size_t s : kSizes)
      if (sized(s)) {
        aead_limit(s);
        aead_limit_openssl(s);
      }
  if (opt.want("udp"))
    for (size_t s : kSizes) {
      if (!sized(s)) continue;
      udp_throughput(false, s);
      if (s <= 1024) udp_throughput(true, s);  // packing changes nothing from 8 KiB up
    }
  if (opt.want("netmesh"))
    for (size_t s : kSizes) {
      if (!sized(s)) continue;
      netmesh_throughput("netmesh", true, s, opt.window);
      netmesh_throughput("netmesh", false, s, opt.window);
      netmesh_throughput("netmesh_w64k", true, s, 65536);  // the default window, for contrast
      // One event per call, as ENet's harness queues them: the adaptive flush at work.
      if (s <= 1024) netmesh_throughput("netmesh_1pc", true, s, opt.window, 1);
      // What UDP GSO/GRO bring: the same run with the offloads off (read at socket open).
      setenv("NETMESH_DISABLE_UDP_OFFLOAD", "1", 1);
      netmesh_throughput("netmesh_nooffload", true, s, opt.window);
      unsetenv("NETMESH_DISABLE_UDP_OFFLOAD");
    }
  if (opt.want("enet"))
    for (size_t s : kSizes) {
      if (!sized(s)) continue;
      enet_throughput(true, s);
      enet_throughput(false, s);
    }
  if (opt.want("zmq"))
    for (size_t s : kSizes)
      if (sized(s)) zmq_throughput(s);
  if (opt.want("latency")) {
    udp_latency();
    netmesh_latency(true);
    netmesh_latency(false);
    enet_latency();
    zmq_latency();
  }
  if (opt.want("streams"))
    for (size_t n : kStreamCounts) netmesh_streams(n);
  if (opt.want("handshake")) {
    netmesh_handshake();
    enet_handshake();
    zmq_handshake();
  }
  if (opt.want("memory")) netmesh_memory();

  fclose(out_csv);
  enet_deinitialize();
  zmq_ctx_term(zctx);
  return 0;
}
