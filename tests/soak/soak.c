/* Soak: N reliable events through 10% loss + 5% duplication + reordering (both ways),
 * delivered exactly once and in order, with bounded memory. Prints what it measured.
 *
 *   netmesh_soak [events=1000000] [event_bytes=32] [batch=64] [seed=1]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netmesh.h"
#include "netmesh_testing.h"

#define CHECK(expr)                                                                              \
  do {                                                                                           \
    nm_status s_ = (expr);                                                                       \
    if (s_ != NM_OK) {                                                                           \
      fprintf(stderr, "soak: %s -> %s (%s)\n", #expr, nm_strerror(s_), nm_last_error_message()); \
      exit(1);                                                                                   \
    }                                                                                            \
  } while (0)

typedef struct soak {
  nm_stream_t* tx;
  nm_stream_t* rx;
  uint64_t events;
  size_t event_bytes;
  size_t batch;
  uint64_t received;
  uint64_t errors;
  uint64_t peak_rx_buffered;
  uint64_t peak_reorder;
  uint64_t peak_unacked;
} soak;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  return kib;
}

static void fill(uint8_t* ev, size_t len, uint64_t i) {
  memcpy(ev, &i, 8);
  for (size_t k = 8; k < len; ++k) ev[k] = (uint8_t)(i * 31 + k);
}

static void* sender_main(void* arg) {
  soak* s = arg;
  uint8_t* buf = malloc(s->batch * s->event_bytes);
  nm_event_t* ev = malloc(s->batch * sizeof *ev);
  for (uint64_t i = 0; i < s->events;) {
    size_t n = s->events - i < s->batch ? (size_t)(s->events - i) : s->batch;
    for (size_t k = 0; k < n; ++k) {
      fill(buf + k * s->event_bytes, s->event_bytes, i + k);
      ev[k] = (nm_event_t){buf + k * s->event_bytes, s->event_bytes};
    }
    size_t sent = 0;
    CHECK(nm_stream_send_blocking(s->tx, ev, n, 60000, &sent));
    i += n;
    nm_stream_stats_t st;
    nm_stream_stats(s->tx, &st, sizeof st);
    if (st.tx_unacked_packets > s->peak_unacked) s->peak_unacked = st.tx_unacked_packets;
  }
  free(buf);
  free(ev);
  return NULL;
}

int main(int argc, char** argv) {
  soak s = {0};
  s.events = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
  s.event_bytes = argc > 2 ? strtoul(argv[2], NULL, 10) : 32;
  s.batch = argc > 3 ? strtoul(argv[3], NULL, 10) : 64;
  uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
  if (s.event_bytes < 8) s.event_bytes = 8;

  nm_node_config_t c;
  nm_node_config_init(&c, sizeof c);
  memset(c.psk, 0x42, sizeof c.psk);
  nm_node_t *a, *b;
  CHECK(nm_node_new(&c, &a));
  CHECK(nm_node_new(&c, &b));
  uint64_t a_id, b_id;
  uint8_t key[NM_KEY_SIZE];
  char addr[NM_ADDR_MAX];
  CHECK(nm_node_id(a, &a_id));
  CHECK(nm_node_id(b, &b_id));
  CHECK(nm_node_public_key(b, key));
  CHECK(nm_node_local_addr(b, addr, sizeof addr));
  CHECK(nm_node_allow_peer(b, a_id));
  CHECK(nm_node_connect(a, addr, key, b_id));

  nm_impairment_t imp;
  nm_impairment_init(&imp, sizeof imp);
  imp.loss = 0.10;
  imp.duplicate = 0.05;
  imp.reorder = 0.10;
  imp.reorder_window_us = 2000;
  imp.seed = seed;
  CHECK(nm_node_set_impairment(a, 0, NM_BOTH_DIRECTIONS, &imp));

  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.reliability = NM_RELIABLE;
  CHECK(nm_node_open_stream(a, b_id, 1, &cfg, &s.tx));
  CHECK(nm_node_open_stream(b, a_id, 1, &cfg, &s.rx));

  double t0 = now_s();
  pthread_t sender;
  pthread_create(&sender, NULL, sender_main, &s);
  uint8_t* got = malloc(s.event_bytes);
  uint8_t* want = malloc(s.event_bytes);
  for (uint64_t i = 0; i < s.events; ++i) {
    size_t n = 0;
    CHECK(nm_stream_recv(s.rx, got, s.event_bytes, &n, 60000));
    fill(want, s.event_bytes, i);
    if (n != s.event_bytes || memcmp(got, want, n) != 0) {
      uint64_t seen;
      memcpy(&seen, got, 8);
      fprintf(stderr, "soak: event %llu: got event %llu (%zu bytes)\n", (unsigned long long)i,
              (unsigned long long)seen, n);
      return 1;
    }
    ++s.received;
    if ((i & 1023) == 0) {
      nm_stream_stats_t st;
      nm_stream_stats(s.rx, &st, sizeof st);
      if (st.rx_buffered_bytes > s.peak_rx_buffered) s.peak_rx_buffered = st.rx_buffered_bytes;
      if (st.rx_reorder_packets > s.peak_reorder) s.peak_reorder = st.rx_reorder_packets;
    }
  }
  pthread_join(sender, NULL);
  double elapsed = now_s() - t0;
  size_t n;
  nm_status extra = nm_stream_recv(s.rx, got, s.event_bytes, &n, 300);

  nm_stream_stats_t tx, rx;
  nm_impairment_stats_t ia;
  nm_stream_stats(s.tx, &tx, sizeof tx);
  nm_stream_stats(s.rx, &rx, sizeof rx);
  nm_node_impairment_stats(a, &ia, sizeof ia);
  printf("soak: %llu events of %zu B delivered exactly once and in order in %.1f s (%.0f events/s)\n",
         (unsigned long long)s.received, s.event_bytes, elapsed, s.received / elapsed);
  printf("soak: injected: %llu datagrams seen, %llu dropped, %llu duplicated, %llu reordered\n",
         (unsigned long long)ia.seen, (unsigned long long)ia.dropped_loss,
         (unsigned long long)ia.duplicated, (unsigned long long)ia.reordered);
  printf("soak: packets sent %llu, retransmits %llu, NACKs sent %llu, duplicates suppressed %llu\n",
         (unsigned long long)tx.tx_seq, (unsigned long long)tx.retransmits,
         (unsigned long long)rx.nacks_sent, (unsigned long long)rx.rx_duplicates_dropped);
  printf("soak: peak: receiver queue %llu B, reorder buffer %llu packets, sender unacked %llu "
         "packets, process RSS %ld KiB\n",
         (unsigned long long)s.peak_rx_buffered, (unsigned long long)s.peak_reorder,
         (unsigned long long)s.peak_unacked, peak_rss_kib());
  int ok = extra == NM_ERR_TIMEOUT && s.received == s.events && tx.retransmits > 0 &&
           rx.rx_duplicates_dropped > 0 && s.peak_rx_buffered <= 65536;
  nm_stream_free(s.tx);
  nm_stream_free(s.rx);
  nm_node_free(a);
  nm_node_free(b);
  free(got);
  free(want);
  printf("soak: %s\n", ok ? "1 passed, 0 failed" : "0 passed, 1 failed");
  return ok ? 0 : 1;
}
