/* The adversarial suite's harness: see adversarial.h. */
#include "adversarial.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
  kLiveStream = 77,
  kBarrierToVictim = 78,
  kBarrierToLegit = 79,
  kStreamPad = 48,           /* events are 16 + (n % 48) bytes */
  kPaceDatagrams = 64,       /* attack datagrams the victim may have queued, at most ... */
  kPaceBytes = 64 * 1024,    /* ... and bytes (rmem_max may be as low as 208 KiB) */
  kProgressEvents = 10,      /* events sent after a window began that must arrive */
};
static const int kSenderGapUs = 250; /* the live stream: about 2-4k events/s */

double adv_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

nm_node_stats_t adv_victim_stats(adv* a) {
  nm_node_stats_t s;
  NM_OK_OR_FAIL(nm_node_stats(a->victim, &s, sizeof s));
  return s;
}

nm_node_stats_t adv_legit_stats(adv* a) {
  nm_node_stats_t s;
  NM_OK_OR_FAIL(nm_node_stats(a->legit, &s, sizeof s));
  return s;
}

/* ---- the live stream ---- */

static uint64_t mix64(uint64_t x) { /* splitmix64: the event's check word */
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

static size_t make_event(uint64_t n, uint8_t* buf) {
  uint64_t check = mix64(n);
  memcpy(buf, &n, 8);
  memcpy(buf + 8, &check, 8);
  size_t pad = n % kStreamPad;
  for (size_t i = 0; i < pad; ++i) buf[16 + i] = (uint8_t)(n * 131 + i);
  return 16 + pad;
}

/* The first failure of either stream thread, for the main thread to report. */
static pthread_mutex_t failure_mu = PTHREAD_MUTEX_INITIALIZER;
static void stream_fail(adv* a, const char* fmt, ...) {
  pthread_mutex_lock(&failure_mu);
  if (!atomic_load(&a->failed)) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->failure, sizeof a->failure, fmt, ap);
    va_end(ap);
    atomic_store(&a->failed, 1); /* after the text: readers check the flag first */
  }
  pthread_mutex_unlock(&failure_mu);
}

enum { kSaturateBatch = 64 }; /* events per send call while saturating */

static void* sender_main(void* arg) {
  adv* a = arg;
  static _Thread_local uint8_t buf[kSaturateBatch][16 + kStreamPad];
  nm_event_t ev[kSaturateBatch];
  for (uint64_t n = 0; !atomic_load(&a->stop_sender);) {
    /* paced: one event, then a pause; saturating: batches back to back (credit permitting) */
    size_t count = atomic_load(&a->saturate) ? kSaturateBatch : 1;
    for (size_t i = 0; i < count; ++i) ev[i] = (nm_event_t){buf[i], make_event(n + i, buf[i])};
    size_t sent = 0;
    nm_status s = nm_stream_send_blocking(a->tx, ev, count, 20000, &sent);
    if (s != NM_OK) {
      stream_fail(a, "sender: events %llu..+%zu: %s (%s)", (unsigned long long)n, count, nm_strerror(s),
                  nm_last_error_message());
      break;
    }
    n += count;
    atomic_store(&a->sent, n);
    if (count == 1) sleep_us(kSenderGapUs);
  }
  return NULL;
}

enum { kRecvBatch = 256 };

static void* receiver_main(void* arg) {
  adv* a = arg;
  static _Thread_local uint8_t buf[kRecvBatch * (16 + kStreamPad)];
  static _Thread_local size_t lens[kRecvBatch];
  uint8_t want[16 + kStreamPad];
  uint64_t next = 0;
  while (!atomic_load(&a->stop_receiver)) {
    size_t count = 0;
    nm_status s = nm_stream_recv_batch(a->rx, buf, sizeof buf, lens, kRecvBatch, &count, 20);
    if (s == NM_ERR_TIMEOUT) continue;
    if (s != NM_OK) {
      stream_fail(a, "receiver: after %llu events: %s (%s)", (unsigned long long)next, nm_strerror(s),
                  nm_last_error_message());
      break;
    }
    const uint8_t* e = buf;
    for (size_t i = 0; i < count; e += lens[i], ++i) {
      size_t len = lens[i];
      uint64_t n = 0;
      if (len >= 8) memcpy(&n, e, 8);
      size_t wl = make_event(next, want);
      if (n != next) {
        stream_fail(a, "receiver: expected event %llu, got %llu (%s)", (unsigned long long)next,
                    (unsigned long long)n, n < next ? "duplicate or reordered" : "gap");
        return NULL;
      }
      if (len != wl || memcmp(e, want, wl) != 0) {
        stream_fail(a, "receiver: event %llu corrupted (%zu bytes)", (unsigned long long)n, len);
        return NULL;
      }
      ++next;
    }
    atomic_store(&a->received, next);
  }
  return NULL;
}

void adv_live_saturate(adv* a, int on) { atomic_store(&a->saturate, on); }

/* ---- set-up ---- */

static void node_config(const adv_spec* spec, nm_node_config_t* c) {
  test_config(c, 0x42);
  c->heartbeat_interval_ms = spec->heartbeat_ms ? spec->heartbeat_ms : 5000;
  c->handshake_timeout_ms = 2000;
}

static int udp_socket_on(const char* ip, char* addr_out) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &sa.sin_addr);
  assert_int_equal(bind(fd, (struct sockaddr*)&sa, sizeof sa), 0);
  int size = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  socklen_t len = sizeof sa;
  getsockname(fd, (struct sockaddr*)&sa, &len);
  if (addr_out) snprintf(addr_out, NM_ADDR_MAX, "%s:%u", ip, (unsigned)ntohs(sa.sin_port));
  return fd;
}

static void send_to(int fd, const char* addr, const void* data, size_t len) {
  char host[NM_ADDR_MAX];
  snprintf(host, sizeof host, "%s", addr);
  char* colon = strrchr(host, ':');
  assert_non_null(colon);
  *colon = 0;
  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)atoi(colon + 1));
  assert_int_equal(inet_pton(AF_INET, host, &to.sin_addr), 1);
  ssize_t n = sendto(fd, data, len, 0, (struct sockaddr*)&to, sizeof to);
  if (n != (ssize_t)len) fail_msg("sendto %s (%zu bytes): %s", addr, len, strerror(errno));
}

int adv_setup(void** state) {
  const adv_spec* spec = *state;
  adv* a = calloc(1, sizeof *a);
  assert_non_null(a);
  a->spec = spec;
  for (int i = 0; i < ADV_MAX_STRANGERS; ++i) a->stranger_fd[i] = -1;
  *state = a;

  nm_node_config_t vc, lc;
  node_config(spec, &vc);
  if (spec->pingwave_ttl) vc.pingwave_ttl = spec->pingwave_ttl;
  a->victim_pingwave_ttl = vc.pingwave_ttl;
  node_config(spec, &lc);
  if (spec->victim_config) spec->victim_config(&vc);
  memcpy(a->psk, vc.psk, sizeof a->psk);
  NM_OK_OR_FAIL(nm_node_new(&vc, &a->victim));
  NM_OK_OR_FAIL(nm_node_new(&lc, &a->legit));
  NM_OK_OR_FAIL(nm_node_id(a->victim, &a->victim_id));
  NM_OK_OR_FAIL(nm_node_id(a->legit, &a->legit_id));
  NM_OK_OR_FAIL(nm_node_public_key(a->victim, a->victim_key));
  NM_OK_OR_FAIL(nm_node_local_addr(a->victim, a->victim_addr, sizeof a->victim_addr));
  NM_OK_OR_FAIL(nm_node_local_addr(a->legit, a->legit_addr, sizeof a->legit_addr));

  /* the legitimate node dials the victim */
  test_dial(a->legit, a->legit_id, a->victim, a->victim_id, a->victim_key, a->victim_addr);

  /* scripted neighbours */
  assert_true(spec->neighbours >= 0 && spec->neighbours <= ADV_MAX_NEIGHBOURS);
  a->n_neighbours = spec->neighbours;
  for (int i = 0; i < a->n_neighbours; ++i) {
    nmt_peer* p = nmt_peer_new();
    assert_non_null(p);
    a->nb[i] = p;
    a->nb_id[i] = nmt_peer_id(p);
    snprintf(a->nb_addr[i], NM_ADDR_MAX, "127.0.0.1:%d", nmt_peer_port(p));
    assert_int_equal(nmt_peer_target(p, a->victim_addr, a->victim_key, a->victim_id), 0);
    NM_OK_OR_FAIL(nm_node_allow_peer(a->victim, a->nb_id[i]));
    uint64_t caps = i >= a->n_neighbours - spec->sealed_neighbours ? NMT_CAP_ALL | 8u : NMT_CAP_ALL;
    assert_int_equal(nmt_peer_handshake(p, a->psk, caps, 3000), 0);
    NM_OK_OR_FAIL(nm_node_accept(a->victim, a->nb_id[i], 3000));
  }
  nm_node_stats_t vs = adv_victim_stats(a);
  assert_int_equal(vs.sessions, (uint64_t)a->n_neighbours + 1);

  /* the live stream, and the barrier streams */
  nm_stream_config_t sc;
  nm_stream_config_init(&sc, sizeof sc);
  sc.reliability = NM_RELIABLE;
  nm_stream_config_t live = sc;
  if (spec->live_window_bytes) live.window_bytes = spec->live_window_bytes;
  NM_OK_OR_FAIL(nm_node_open_stream(a->legit, a->victim_id, kBarrierToVictim, &sc, &a->bar_legit_tx));
  NM_OK_OR_FAIL(nm_node_open_stream(a->victim, a->legit_id, kBarrierToVictim, &sc, &a->bar_victim_rx));
  NM_OK_OR_FAIL(nm_node_open_stream(a->victim, a->legit_id, kBarrierToLegit, &sc, &a->bar_victim_tx));
  NM_OK_OR_FAIL(nm_node_open_stream(a->legit, a->victim_id, kBarrierToLegit, &sc, &a->bar_legit_rx));
  NM_OK_OR_FAIL(nm_node_open_stream(a->legit, a->victim_id, kLiveStream, &live, &a->tx));
  NM_OK_OR_FAIL(nm_node_open_stream(a->victim, a->legit_id, kLiveStream, &live, &a->rx));
  assert_int_equal(pthread_create(&a->receiver, NULL, receiver_main, a), 0);
  assert_int_equal(pthread_create(&a->sender, NULL, sender_main, a), 0);
  double dl = adv_now() + ADV_DEADLINE_S;
  while (atomic_load(&a->received) < 100) {
    if (atomic_load(&a->failed)) fail_msg("live stream: %s", a->failure);
    if (adv_now() > dl) fail_msg("live stream did not start");
    usleep(1000);
  }
  adv_drain(a);
  nm_node_stats_t ls = adv_legit_stats(a);
  vs = adv_victim_stats(a);
  a->base_l_sent = ls.datagrams_sent;
  a->base_v_received = vs.datagrams_received;
  a->victim_port = atoi(strrchr(a->victim_addr, ':') + 1);
  a->base_kernel_drops = adv_victim_kernel_drops(a);
  a->rss_ready = nmt_rss_bytes();
  return 0;
}

static void stop_threads(adv* a) {
  if (a->sender) {
    atomic_store(&a->stop_sender, 1);
    pthread_join(a->sender, NULL);
    a->sender = 0;
  }
  if (a->receiver) {
    atomic_store(&a->stop_receiver, 1);
    pthread_join(a->receiver, NULL);
    a->receiver = 0;
  }
}

int adv_teardown(void** state) {
  adv* a = *state;
  if (!a) return 0;
  stop_threads(a);
  nm_stream_t* handles[] = {a->tx, a->rx, a->bar_legit_tx, a->bar_victim_rx, a->bar_victim_tx, a->bar_legit_rx};
  for (size_t i = 0; i < sizeof handles / sizeof handles[0]; ++i)
    if (handles[i]) nm_stream_free(handles[i]);
  if (a->victim) nm_node_free(a->victim);
  if (a->legit) nm_node_free(a->legit);
  for (int i = 0; i < ADV_MAX_NEIGHBOURS; ++i)
    if (a->nb[i]) nmt_peer_free(a->nb[i]);
  for (int i = 0; i < ADV_MAX_STRANGERS; ++i)
    if (a->stranger_fd[i] >= 0) close(a->stranger_fd[i]);
  free(a);
  *state = NULL;
  return 0;
}

void adv_run(void** state) {
  adv* a = *state;
  double t0 = adv_now();
  a->spec->fn(a);
  double t_attack = adv_now() - t0;
  if (a->windows == 0) fail_msg("the scenario opened no attack window (adv_attack_begin/end)");
  /* the victim survived and the stream delivered everything, once, in order */
  (void)adv_victim_stats(a);
  atomic_store(&a->stop_sender, 1);
  pthread_join(a->sender, NULL);
  a->sender = 0;
  uint64_t sent = atomic_load(&a->sent);
  double dl = adv_now() + ADV_DEADLINE_S;
  while (atomic_load(&a->received) < sent && !atomic_load(&a->failed)) {
    if (adv_now() > dl)
      fail_msg("live stream: %llu of %llu events delivered after %.0f s",
               (unsigned long long)atomic_load(&a->received), (unsigned long long)sent, ADV_DEADLINE_S);
    usleep(1000);
  }
  /* nothing more may arrive (a duplicate would fail the receiver's check) */
  usleep(100 * 1000);
  atomic_store(&a->stop_receiver, 1);
  pthread_join(a->receiver, NULL);
  a->receiver = 0;
  if (atomic_load(&a->failed)) fail_msg("live stream: %s", a->failure);
  assert_int_equal(atomic_load(&a->received), sent);
  size_t rss = nmt_rss_bytes();
  long growth_kib = ((long)rss - (long)a->rss_ready) / 1024;
  printf("  [%s] %.2f s, live stream %llu events exactly once in order, RSS %+ld KiB\n",
         "done", t_attack, (unsigned long long)sent, growth_kib);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  /* sanitizer runtimes quarantine and shadow memory: RSS means nothing there */
  uint32_t limit = a->spec->rss_growth_mib ? a->spec->rss_growth_mib : 32;
  if (growth_kib > (long)limit * 1024) fail_msg("RSS grew by %ld KiB (bound %u MiB)", growth_kib, limit);
#endif
}

/* ---- sending ---- */

/* Attack datagrams the victim has taken off its socket: all it received since set-up
 * minus what the legitimate node sent it (the only other sender). */
static uint64_t foreign_processed(adv* a, const nm_node_stats_t* l, const nm_node_stats_t* v) {
  uint64_t legit = l->datagrams_sent - a->base_l_sent;
  uint64_t all = v->datagrams_received - a->base_v_received;
  return all > legit ? all - legit : 0;
}

/* The victim socket's line in /proc/net/udp: "sl local_address rem_address st
 * tx_queue:rx_queue ... drops", the address as hex (0100007F:PORT for 127.0.0.1). */
static int victim_socket(const adv* a, uint64_t* drops, uint64_t* rx_queue) {
  FILE* f = fopen("/proc/net/udp", "r");
  if (!f) return 0;
  char line[512], want[32];
  snprintf(want, sizeof want, "0100007F:%04X", (unsigned)a->victim_port);
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    char local[64];
    unsigned long long rxq = 0;
    if (sscanf(line, " %*[0-9]: %63s %*s %*x %*x:%llx", local, &rxq) != 2 || strcmp(local, want) != 0)
      continue;
    char *tok, *last = NULL, *save = NULL;
    for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) last = tok;
    *drops = last ? strtoull(last, NULL, 10) : 0;
    *rx_queue = rxq;
    found = 1;
  }
  fclose(f);
  return found;
}

uint64_t adv_victim_kernel_drops(const adv* a) {
  uint64_t drops = 0, rx_queue = 0;
  victim_socket(a, &drops, &rx_queue);
  return drops;
}

uint64_t adv_victim_rx_queue(const adv* a) {
  uint64_t drops = 0, rx_queue = 0;
  victim_socket(a, &drops, &rx_queue);
  return rx_queue;
}

void adv_count_input(adv* a, uint64_t datagrams, uint64_t bytes) {
  a->attack_datagrams += datagrams;
  a->attack_bytes += bytes;
}

/* Pacing: waits until the victim has taken all attack datagrams but `slack` off its
 * socket, or the kernel dropped them (only an unpaced flood overflows its buffer), or its
 * socket is found empty twice in a row (nothing left to wait for: the kernel counts a
 * dropped GSO batch of the legit node's as one drop). Best effort (the legit node counts a
 * datagram only after sending it, so the estimate can run a few ahead or behind): it gives
 * up after a few seconds without failing; the barriers, not this, decide when an attack
 * has been processed. */
static void wait_processed(adv* a, uint64_t slack) {
  uint64_t target = a->attack_datagrams > slack ? a->attack_datagrams - slack : 0;
  double dl = adv_now() + 5.0;
  for (int empty = 0;;) {
    nm_node_stats_t l = adv_legit_stats(a);
    nm_node_stats_t v = adv_victim_stats(a);
    uint64_t drops = 0, rx_queue = 1;
    int known = victim_socket(a, &drops, &rx_queue);
    uint64_t dropped = drops - a->base_kernel_drops;
    if (foreign_processed(a, &l, &v) + dropped >= target || adv_now() > dl) return;
    empty = known && rx_queue == 0 ? empty + 1 : 0;
    if (empty >= 2) return;
    usleep(500);
  }
}

static void paced(adv* a, size_t len) {
  a->attack_datagrams++;
  a->attack_bytes += len;
  a->pace_bytes += len;
  if (a->attack_datagrams % (kPaceDatagrams / 2) == 0 || a->pace_bytes >= kPaceBytes / 2) {
    a->pace_bytes = 0;
    uint64_t slack = len >= kPaceBytes / kPaceDatagrams ? kPaceBytes / len / 2 : kPaceDatagrams / 2;
    wait_processed(a, slack);
  }
}

int adv_stranger(adv* a) {
  assert_true(a->n_strangers < ADV_MAX_STRANGERS);
  int i = a->n_strangers++;
  char ip[32];
  snprintf(ip, sizeof ip, "127.0.0.%d", 2 + i);
  a->stranger_fd[i] = udp_socket_on(ip, a->stranger_addr[i]);
  return i;
}

void adv_send_stranger(adv* a, int i, const void* data, size_t len) {
  send_to(a->stranger_fd[i], a->victim_addr, data, len);
  paced(a, len);
}

void adv_send_as_neighbour(adv* a, int i, const void* data, size_t len) {
  assert_true(i >= 0 && i < a->n_neighbours);
  assert_int_equal(nmt_peer_send_raw(a->nb[i], data, len), 0);
  paced(a, len);
}

int adv_send_spoofed(adv* a, const char* from_addr, const void* data, size_t len) {
  if (a->spoof_unavailable) return -2;
  int r = nmt_send_spoofed(from_addr, a->victim_addr, data, len);
  if (r == -2) {
    a->spoof_unavailable = 1;
    printf("  (no CAP_NET_RAW: datagrams with a forged source address are skipped)\n");
    return -2;
  }
  assert_int_equal(r, 0);
  paced(a, len);
  return 0;
}

/* ---- scripted neighbours ---- */

void adv_neighbour_usable(adv* a, int i) {
  assert_true(i >= 0 && i < a->n_neighbours);
  int k = a->usable_checks++;
  uint64_t stream = 5000 + (uint64_t)k;
  char msg[32], reply[32], buf[64];
  int n = snprintf(msg, sizeof msg, "usable %d", k);
  int rn = snprintf(reply, sizeof reply, "still here %d", k);
  nm_stream_t* h = NULL;
  NM_OK_OR_FAIL(nm_node_open_stream(a->victim, a->nb_id[i], stream, NULL, &h));
  nmt_packet p;
  memset(&p, 0, sizeof p);
  p.stream_id = stream;
  p.subnet_id = 1; /* the stream's epoch */
  p.event_count = 1;
  const void* ev[1] = {msg};
  size_t lens[1] = {(size_t)n};
  assert_int_equal(nmt_peer_send_events(a->nb[i], &p, ev, lens, 1), 0);
  adv_count_input(a, 1, 68 + 4 + (uint64_t)n + 16);
  size_t got = 0;
  nm_status s = nm_stream_recv(h, buf, sizeof buf, &got, (int)(ADV_DEADLINE_S * 1000));
  if (s != NM_OK) fail_msg("neighbour %d's event did not reach the victim: %s", i, nm_strerror(s));
  assert_int_equal(got, (size_t)n);
  assert_memory_equal(buf, msg, (size_t)n);
  nm_event_t e = {reply, (size_t)rn};
  NM_OK_OR_FAIL(nm_stream_send(h, &e, 1, NULL));
  if (nmt_peer_expect_event(a->nb[i], stream, reply, (size_t)rn, (int)(ADV_DEADLINE_S * 1000)) != 0)
    fail_msg("the victim's answer did not reach neighbour %d", i);
  nm_stream_free(h);
}

/* ---- observing ---- */

static int classify_neighbour_datagram(adv* a, int i, const uint8_t* d, size_t n) {
  /* returns 1 if periodic (the victim's own business), 0 if caused by something else */
  double now = adv_now();
  if (n == 72 && !(d[0] == 0x45 && d[1] == 0x4E)) { /* a raw pingwave */
    uint64_t origin, seq;
    memcpy(&origin, d, 8);
    memcpy(&seq, d + 32, 8);
    if (origin == a->victim_id) {
      a->cap.own_pingwaves++;
      return 1;
    }
    if (origin == a->legit_id) return 1;
    a->cap.relayed++;
    a->cap.relayed_bytes += n;
    if (a->n_relays < ADV_MAX_RELAY_RECORDS)
      a->relays[a->n_relays++] = (adv_relay){origin, seq, d[40], d[41], (uint8_t)i, 0, now};
    return 0;
  }
  if (n >= 2 && d[0] == 0x52 && d[1] == 0x54) {
    a->cap.routed++;
    a->cap.routed_bytes += n;
    return 0;
  }
  static nmt_received r; /* 8 KiB: not on the stack (drained on the main thread only) */
  if (nmt_peer_open(a->nb[i], d, n, &r) == 0) {
    if (r.flags & 0x20) return 1;                                 /* heartbeat */
    if (r.stream_id == UINT64_MAX && r.subprotocol_id == 0x0B00) {         /* hello, grants */
      uint64_t grants = 0;
      size_t off = 0;
      for (uint16_t k = 0; k < r.event_count && off + 4 + 16 <= r.plaintext_len; ++k, off += 4 + 16) {
        uint64_t stream;
        memcpy(&stream, r.plaintext + off + 4, 8);
        if (stream != 0x014853454D54454EULL) ++grants; /* not the capability hello */
      }
      if (grants) {
        a->cap.grant_frames[i] += grants;
        a->cap.grant_datagrams[i]++;
        a->cap.grant_bytes[i] += n;
      }
      return 1;
    }
    if (r.stream_id == UINT64_MAX && r.subprotocol_id == 0x4E50) {         /* sealed pingwaves */
      int own = 0, other = 0;
      size_t off = 0;
      for (uint16_t k = 0; k < r.event_count && off + 4 <= r.plaintext_len; ++k) {
        uint32_t fl;
        memcpy(&fl, r.plaintext + off, 4);
        off += 4;
        if (fl != 72 || off + 72 > r.plaintext_len) break;
        const uint8_t* pw = r.plaintext + off;
        off += 72;
        uint64_t origin, seq;
        memcpy(&origin, pw, 8);
        memcpy(&seq, pw + 32, 8);
        if (origin == a->victim_id) {
          own = 1;
        } else if (origin != a->legit_id) {
          other = 1;
          if (a->n_relays < ADV_MAX_RELAY_RECORDS)
            a->relays[a->n_relays++] = (adv_relay){origin, seq, pw[40], pw[41], (uint8_t)i, 1, now};
        }
      }
      if (own) a->cap.own_pingwaves++;
      if (other) {
        a->cap.relayed++;
        a->cap.relayed_bytes += n;
        return 0;
      }
      return 1;
    }
  }
  a->cap.other++;
  a->cap.other_bytes += n;
  return 0;
}

void adv_drain(adv* a) {
  static uint8_t buf[65536];
  for (int i = 0; i < a->n_neighbours; ++i) {
    int n;
    while ((n = nmt_peer_recv_datagram(a->nb[i], buf, sizeof buf, 0)) >= 0) {
      a->cap.datagrams++;
      a->cap.bytes += (uint64_t)n;
      a->cap.nb_bytes[i] += (uint64_t)n;
      if (classify_neighbour_datagram(a, i, buf, (size_t)n)) {
        a->cap.periodic_bytes += (uint64_t)n;
        a->cap.nb_periodic_bytes[i] += (uint64_t)n;
      } else {
        a->cap.per_neighbour[i]++;
      }
    }
  }
  for (int i = 0; i < a->n_strangers; ++i) {
    ssize_t n;
    while ((n = recv(a->stranger_fd[i], buf, sizeof buf, MSG_DONTWAIT)) >= 0) {
      a->cap.datagrams++;
      a->cap.bytes += (uint64_t)n;
      a->cap.stranger++;
      a->cap.stranger_bytes += (uint64_t)n;
    }
  }
}

/* A token from `from` over `tx` arrives at `rx`. Everything sent to that node before the
 * token (by anyone) has been taken off its socket and processed when the token is read. */
static void barrier(adv* a, nm_stream_t* tx, nm_stream_t* rx, const char* what) {
  uint64_t token = ++a->barrier_token;
  nm_event_t ev = {&token, sizeof token};
  NM_OK_OR_FAIL(nm_stream_send_blocking(tx, &ev, 1, (int)(ADV_DEADLINE_S * 1000), NULL));
  double dl = adv_now() + ADV_DEADLINE_S;
  for (;;) {
    uint64_t got = 0;
    size_t len = 0;
    nm_status s = nm_stream_recv(rx, &got, sizeof got, &len, 100);
    if (s == NM_OK && len == sizeof got && got == token) return;
    if (s != NM_OK && s != NM_ERR_TIMEOUT) fail_msg("barrier to the %s: %s", what, nm_strerror(s));
    if (adv_now() > dl) fail_msg("barrier to the %s: no token in %.0f s", what, ADV_DEADLINE_S);
  }
}

/* Everything sent to the victim so far has been processed, and everything that caused
 * has been sent: the victim's loop sends what a batch caused before it takes the next
 * batch, and the second token left after the first arrived, so it is in a later batch. */
static void settle(adv* a) {
  wait_processed(a, 0);
  barrier(a, a->bar_legit_tx, a->bar_victim_rx, "victim");
  barrier(a, a->bar_legit_tx, a->bar_victim_rx, "victim");
}

/* The legit node has processed everything the victim sent before this call. */
static nm_node_stats_t legit_barrier(adv* a) {
  barrier(a, a->bar_victim_tx, a->bar_legit_rx, "legitimate node");
  return adv_legit_stats(a);
}

static void snapshot(adv* a, adv_snap* s, int settled_end) {
  memset(s, 0, sizeof *s);
  if (settled_end) {
    /* victim first, then the legit node behind a barrier: the legit node has received at
     * least what the victim counted as sent to it (the error only ever favours the victim:
     * a few stream ACKs sent in between count as stream overhead) */
    settle(a);
    s->v = adv_victim_stats(a);
    s->l = legit_barrier(a);
  } else {
    /* the legit node first: it has received at most what the victim counted by then */
    settle(a);
    s->l = adv_legit_stats(a);
    s->v = adv_victim_stats(a);
  }
  adv_drain(a);
  s->t = adv_now();
  s->cap = a->cap;
  s->attack_datagrams = a->attack_datagrams;
  s->attack_bytes = a->attack_bytes;
  s->stream_sent = atomic_load(&a->sent);
  s->stream_received = atomic_load(&a->received);
  s->rss = nmt_rss_bytes();
}

void adv_attack_begin(adv* a, adv_snap* before) {
  if (atomic_load(&a->failed)) fail_msg("live stream: %s", a->failure);
  snapshot(a, before, 0);
  a->window_begin = before->t;
  a->window_sent_at_begin = before->stream_sent;
  a->window_received_at_begin = before->stream_received;
}

void adv_attack_end(adv* a, adv_snap* after) {
  snapshot(a, after, 1);
  /* the live stream kept going: events sent after the attack began arrive */
  uint64_t want = a->window_sent_at_begin + kProgressEvents;
  double dl = adv_now() + ADV_DEADLINE_S;
  while (atomic_load(&a->received) < want) {
    if (atomic_load(&a->failed)) fail_msg("live stream: %s", a->failure);
    if (adv_now() > dl)
      fail_msg("live stream stalled by the attack: %llu received, %llu sent before it began",
               (unsigned long long)atomic_load(&a->received), (unsigned long long)a->window_sent_at_begin);
    usleep(1000);
  }
  if (atomic_load(&a->failed)) fail_msg("live stream: %s", a->failure);
  a->windows++;
}

adv_traffic adv_traffic_between(const adv* a, const adv_snap* b, const adv_snap* e) {
  (void)a;
  adv_traffic t;
  memset(&t, 0, sizeof t);
  t.in_datagrams = e->attack_datagrams - b->attack_datagrams;
  t.in_bytes = e->attack_bytes - b->attack_bytes;
  t.victim_bytes_sent = e->v.bytes_sent - b->v.bytes_sent;
  /* to the legit node: all it received minus the pingwaves the victim sealed for it, plus
   * those of them that were the victim's own (every tick, one per neighbour: those the
   * neighbours did not get went to the legit node) */
  uint64_t legit_in = e->l.bytes_received - b->l.bytes_received;
  uint64_t legit_pw = e->l.pingwaves_received - b->l.pingwaves_received;
  uint64_t own_pw = e->v.pingwaves_sent - b->v.pingwaves_sent;
  uint64_t own_pw_nb = e->cap.own_pingwaves - b->cap.own_pingwaves;
  uint64_t own_pw_legit = own_pw > own_pw_nb ? own_pw - own_pw_nb : 0;
  uint64_t legit_pw_bytes = legit_pw * ADV_SEALED_PINGWAVE_BYTES;
  uint64_t legit_non_pw = legit_in > legit_pw_bytes ? legit_in - legit_pw_bytes : 0;
  t.legit_overhead = legit_non_pw + own_pw_legit * ADV_SEALED_PINGWAVE_BYTES;
  t.periodic_overhead = e->cap.periodic_bytes - b->cap.periodic_bytes;
  uint64_t overhead = t.legit_overhead + t.periodic_overhead;
  t.caused_bytes = t.victim_bytes_sent > overhead ? t.victim_bytes_sent - overhead : 0;
  t.captured_bytes = (e->cap.bytes - b->cap.bytes) - t.periodic_overhead;
  t.sealed_relays = legit_pw > own_pw_legit ? legit_pw - own_pw_legit : 0;
  t.observed_bytes = t.captured_bytes + t.sealed_relays * ADV_SEALED_PINGWAVE_BYTES;
  return t;
}

/* Every uint64_t counter of nm_node_stats_t, by name. */
#define ADV_STATS_FIELDS(X)                                                                    \
  X(sessions) X(datagrams_received) X(datagrams_sent) X(handshakes_completed) X(heartbeats_sent) \
  X(heartbeats_received) X(drop_malformed) X(drop_unknown_session) X(drop_auth_failed)         \
  X(drop_replay) X(drop_handshake_rejected) X(drop_unexpected_handshake)                        \
  X(drop_unknown_subprotocol) X(drop_bad_grant) X(drop_unknown_stream) X(drop_bad_fragment)     \
  X(drop_over_window) X(grants_clamped) X(ignored_mesh_packets) X(pingwaves_sent)               \
  X(pingwaves_received) X(forwarded) X(forward_no_route) X(forward_ttl_expired)                 \
  X(bytes_received) X(bytes_sent) X(forward_refused) X(pingwave_origins_refused)                \
  X(pingwave_relays_suppressed) X(drop_handshake_rate_limited) X(drop_session_limit) X(sessions_pruned) \
  X(responses_deferred) X(drop_over_budget)

void adv_report(const char* what, const adv* a, const adv_snap* b, const adv_snap* e) {
  adv_traffic t = adv_traffic_between(a, b, e);
  printf("  %s: in %llu B / %llu dgrams; victim sent %llu B (stream %llu, periodic %llu, caused %llu"
         " = %.3f of in; observed %llu = %llu at neighbours/strangers + %llu sealed relays);"
         " %.0f ms, stream +%llu events, RSS %+ld KiB\n",
         what, (unsigned long long)t.in_bytes, (unsigned long long)t.in_datagrams,
         (unsigned long long)t.victim_bytes_sent, (unsigned long long)t.legit_overhead,
         (unsigned long long)t.periodic_overhead, (unsigned long long)t.caused_bytes,
         t.in_bytes ? (double)t.caused_bytes / (double)t.in_bytes : 0.0,
         (unsigned long long)t.observed_bytes, (unsigned long long)t.captured_bytes,
         (unsigned long long)t.sealed_relays, (e->t - b->t) * 1000,
         (unsigned long long)(e->stream_received - b->stream_received),
         ((long)e->rss - (long)b->rss) / 1024);
  printf("    victim:");
#define ADV_PRINT(f)                                                                           \
  {                                                                                            \
    uint64_t d_ = e->v.f - b->v.f;                                                             \
    if (d_ && strcmp(#f, "datagrams_received") && strcmp(#f, "datagrams_sent") &&              \
        strcmp(#f, "bytes_received") && strcmp(#f, "bytes_sent"))                             \
      printf(" %s +%llu", #f, (unsigned long long)d_);                                         \
  }
  ADV_STATS_FIELDS(ADV_PRINT)
#undef ADV_PRINT
  printf("\n");
}

size_t adv_count_routes(adv* a, int (*pred)(const adv* a, uint64_t dest, const void* arg), const void* arg) {
  size_t count = 0;
  NM_OK_OR_FAIL(nm_node_routes(a->victim, NULL, 0, sizeof(nm_route_t), &count));
  nm_route_t* routes = calloc(count + 64, sizeof *routes);
  assert_non_null(routes);
  size_t n = 0;
  NM_OK_OR_FAIL(nm_node_routes(a->victim, routes, count + 64, sizeof *routes, &n));
  size_t matched = 0;
  for (size_t i = 0; i < n && i < count + 64; ++i)
    if (!pred || pred(a, routes[i].dest, arg)) ++matched;
  free(routes);
  return matched;
}
