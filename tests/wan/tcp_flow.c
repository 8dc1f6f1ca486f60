/*
 * tcp_flow: one TCP flow through the WAN bed, measured like nm_flow (tests/wan/README.md).
 *
 *   tcp_flow recv --bind IP:PORT --t0 NS --time S [--grace S]
 *   tcp_flow send --connect IP:PORT --t0 NS --time S [--grace S] [--cc cubic|bbr|reno]
 *                 [--event-bytes B] [--rate-mbit R] [--batch K]
 *
 * The same events as nm_flow (flow_common.h) written back to back on one connection:
 * the receiver checks they arrive in order and exactly once and reports the same goodput
 * series and latency percentiles; the sender reports TCP_INFO (segments out, retransmitted
 * segments and bytes). Congestion control per socket with TCP_CONGESTION.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flow_common.h"

typedef struct {
  int send;
  const char *addr, *cc;
  uint64_t t0, time_s, grace_s, event_bytes, batch;
  double rate_mbit;
} opts_t;

static void die(const char* what) {
  fprintf(stderr, "tcp_flow: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void usage(void) {
  fprintf(stderr,
          "usage: tcp_flow recv --bind IP:PORT --t0 NS --time S [--grace S]\n"
          "       tcp_flow send --connect IP:PORT --t0 NS --time S [--grace S] [--cc NAME]"
          " [--event-bytes B] [--rate-mbit R] [--batch K]\n");
  exit(2);
}

/* "a.b.c.d:port" or "[v6]:port" */
static struct sockaddr_storage parse_addr(const char* s, socklen_t* len) {
  char host[64];
  const char* colon = strrchr(s, ':');
  if (!colon || (size_t)(colon - s) >= sizeof host) usage();
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = 0;
  struct sockaddr_storage st = {0};
  uint16_t port = htons((uint16_t)atoi(colon + 1));
  if (host[0] == '[' && host[strlen(host) - 1] == ']') {
    struct sockaddr_in6* a = (struct sockaddr_in6*)&st;
    host[strlen(host) - 1] = 0;
    a->sin6_family = AF_INET6;
    a->sin6_port = port;
    if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1) usage();
    *len = sizeof *a;
  } else {
    struct sockaddr_in* a = (struct sockaddr_in*)&st;
    a->sin_family = AF_INET;
    a->sin_port = port;
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) usage();
    *len = sizeof *a;
  }
  return st;
}

static int run_recv(const opts_t* o) {
  socklen_t alen;
  struct sockaddr_storage a = parse_addr(o->addr, &alen);
  int ls = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(ls, (struct sockaddr*)&a, alen) != 0) die("bind");
  if (listen(ls, 1) != 0) die("listen");
  printf("READY\n");
  fflush(stdout);
  uint64_t deadline = o->t0 + (o->time_s + o->grace_s) * 1000000000ull;
  struct pollfd p = {.fd = ls, .events = POLLIN};
  int64_t wait_ms = (int64_t)(deadline - mono_ns()) / 1000000;
  if (poll(&p, 1, wait_ms > 1000 ? (int)wait_ms : 1000) <= 0) {
    fprintf(stderr, "tcp_flow: no connection\n");
    return 1;
  }
  int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
  if (s < 0) die("accept");
  close(ls);

  static flow_rx_t rx;
  flow_rx_init(&rx, o->t0);
  size_t cap = 4 << 20, have = 0;
  uint8_t* buf = malloc(cap);
  int eof = 0;
  while (!rx.end_seen && !eof) {
    uint64_t now = mono_ns();
    if (now >= deadline) break;
    struct pollfd q = {.fd = s, .events = POLLIN};
    int r = poll(&q, 1, 100);
    if (r < 0 && errno != EINTR) die("poll");
    if (r <= 0) continue;
    ssize_t n = recv(s, buf + have, cap - have, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      die("recv");
    }
    if (n == 0) eof = 1;
    have += (size_t)n;
    size_t off = 0;
    while (have - off >= FLOW_HDR) {
      flow_hdr_t h;
      memcpy(&h, buf + off, sizeof h);
      if (h.magic != (uint32_t)FLOW_MAGIC || h.len < FLOW_HDR || h.len > cap / 2) {
        rx.corrupt++;
        eof = 1; /* the byte stream lost its framing: nothing after this can be trusted */
        break;
      }
      if (have - off < h.len) break;
      flow_rx_event(&rx, buf + off, h.len, 1);
      off += h.len;
    }
    memmove(buf, buf + off, have - off);
    have -= off;
  }
  printf("RESULT {\"tool\":\"tcp\",\"role\":\"recv\",");
  flow_rx_print(&rx);
  printf("}\n");
  fflush(stdout);
  close(s);
  free(buf);
  return 0;
}

/* Writes len bytes unless the deadline passes first; returns the bytes written. */
static size_t write_until(int s, const uint8_t* p, size_t len, uint64_t deadline) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = send(s, p + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      done += (size_t)n;
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) die("send");
    uint64_t now = mono_ns();
    if (now >= deadline) break;
    struct pollfd q = {.fd = s, .events = POLLOUT};
    uint64_t ms = (deadline - now) / 1000000 + 1;
    poll(&q, 1, ms > 100 ? 100 : (int)ms);
  }
  return done;
}

static int run_send(const opts_t* o) {
  socklen_t alen;
  struct sockaddr_storage a = parse_addr(o->addr, &alen);
  int s = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (o->cc && setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, o->cc, (socklen_t)strlen(o->cc)) != 0)
    die("TCP_CONGESTION");
  uint64_t t_connect = mono_ns();
  if (connect(s, (struct sockaddr*)&a, alen) != 0) die("connect");
  uint64_t t_connected = mono_ns();
  uint64_t end = o->t0 + o->time_s * 1000000000ull;
  uint64_t hard_end = end + o->grace_s * 1000000000ull;
  uint64_t batch = o->rate_mbit > 0 ? 1 : o->batch;
  uint8_t* bufs = malloc(batch * o->event_bytes);
  double interval_ns = o->rate_mbit > 0 ? o->event_bytes * 8.0 * 1000.0 / o->rate_mbit : 0;
  uint64_t seq = 0;
  int stalled = 0;
  uint64_t t_start = mono_ns();
  while (mono_ns() < end) {
    if (interval_ns > 0) {
      uint64_t due = t_start + (uint64_t)(seq * interval_ns);
      if (due >= end) break;
      sleep_until_ns(due);
    }
    uint64_t now = mono_ns();
    for (uint64_t i = 0; i < batch; ++i) flow_fill(bufs + i * o->event_bytes, o->event_bytes, seq + i, now);
    size_t len = batch * o->event_bytes;
    size_t w = write_until(s, bufs, len, hard_end);
    if (w < len) { /* the path stalled for the whole grace: report what went out */
      stalled = 1;
      seq += w / o->event_bytes;
      break;
    }
    seq += batch;
  }
  uint64_t t_stop = mono_ns();
  int end_sent = 0;
  if (!stalled) {
    uint8_t endbuf[FLOW_HDR];
    flow_fill(endbuf, FLOW_HDR, FLOW_END, seq);
    end_sent = write_until(s, endbuf, FLOW_HDR, t_stop + o->grace_s * 1000000000ull) == FLOW_HDR;
  }
  shutdown(s, SHUT_WR);
  /* Drained: the receiver closes once it has read the end marker. */
  int drained = 0;
  uint64_t grace_end = t_stop + o->grace_s * 1000000000ull;
  while (mono_ns() < grace_end) {
    struct pollfd q = {.fd = s, .events = POLLIN};
    if (poll(&q, 1, 100) > 0) {
      char c[256];
      ssize_t n = recv(s, c, sizeof c, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN)) {
        drained = n == 0;
        break;
      }
    }
  }
  uint64_t t_drained = mono_ns();
  struct tcp_info ti;
  socklen_t tl = sizeof ti;
  memset(&ti, 0, sizeof ti);
  getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &tl);
  char cc[32] = "";
  socklen_t cl = sizeof cc;
  getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, cc, &cl);
  printf("RESULT {\"tool\":\"tcp\",\"role\":\"send\",\"cc\":\"%s\",\"events_sent\":%" PRIu64
         ",\"event_bytes\":%" PRIu64 ",\"rate_mbit\":%.3f,\"end_marker_sent\":%d,\"drained\":%d"
         ",\"connect_s\":%.6f,\"connected_s\":%.6f,\"start_s\":%.6f,\"stop_s\":%.6f,\"drained_s\":%.6f"
         ",\"tcp_info\":{\"segs_out\":%u,\"total_retrans\":%u,\"bytes_sent\":%llu,\"bytes_retrans\":%llu"
         ",\"rtt_ms\":%.3f,\"min_rtt_ms\":%.3f,\"snd_cwnd\":%u,\"snd_mss\":%u,\"pmtu\":%u}}\n",
         cc, seq, o->event_bytes, o->rate_mbit, end_sent, drained, rel_s(t_connect, o->t0),
         rel_s(t_connected, o->t0), rel_s(t_start, o->t0), rel_s(t_stop, o->t0),
         rel_s(t_drained, o->t0), ti.tcpi_segs_out, ti.tcpi_total_retrans,
         (unsigned long long)ti.tcpi_bytes_sent, (unsigned long long)ti.tcpi_bytes_retrans,
         ti.tcpi_rtt / 1000.0, ti.tcpi_min_rtt / 1000.0, ti.tcpi_snd_cwnd, ti.tcpi_snd_mss,
         ti.tcpi_pmtu);
  fflush(stdout);
  close(s);
  free(bufs);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) usage();
  opts_t o = {0};
  o.event_bytes = 1024;
  o.batch = 8;
  o.grace_s = 10;
  o.time_s = 10;
  if (!strcmp(argv[1], "send")) o.send = 1;
  else if (strcmp(argv[1], "recv")) usage();
  int have_t0 = 0;
  for (int i = 2; i < argc; ++i) {
    if (i + 1 >= argc) usage();
    const char *k = argv[i], *v = argv[++i];
    if (!strcmp(k, "--bind") || !strcmp(k, "--connect")) o.addr = v;
    else if (!strcmp(k, "--cc")) o.cc = v;
    else if (!strcmp(k, "--t0")) o.t0 = parse_u64_or_die(k, v), have_t0 = 1;
    else if (!strcmp(k, "--time")) o.time_s = parse_u64_or_die(k, v);
    else if (!strcmp(k, "--grace")) o.grace_s = parse_u64_or_die(k, v);
    else if (!strcmp(k, "--event-bytes")) o.event_bytes = parse_u64_or_die(k, v);
    else if (!strcmp(k, "--batch")) o.batch = parse_u64_or_die(k, v);
    else if (!strcmp(k, "--rate-mbit")) o.rate_mbit = atof(v);
    else usage();
  }
  if (!o.addr) usage();
  if (o.event_bytes < FLOW_HDR || o.event_bytes > (1u << 20) || o.batch == 0 || o.batch > 1024) usage();
  if (!have_t0) o.t0 = mono_ns();
  signal(SIGPIPE, SIG_IGN);
  return o.send ? run_send(&o) : run_recv(&o);
}
