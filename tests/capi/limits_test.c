/* Resource bounds under floods, measured as high-water marks: memory (RSS of this
 * process, which hosts the node) and the node's own queue statistics. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "peer_fixture.h"

typedef struct ctx {
  peer_fixture f;
  uint64_t sent; /* datagrams the peer sent (for pacing) */
  uint64_t received_base;
} ctx;

static nm_node_stats_t g_stats;
static nm_node_stats_t* stats_of(ctx* c) {
  NM_OK_OR_FAIL(nm_node_stats(c->f.node, &g_stats));
  return &g_stats;
}

static void setup(ctx* c, nm_node_config_t* cfg) {
  memset(c, 0, sizeof *c);
  peer_fixture_new(&c->f, cfg);
  peer_fixture_connect(&c->f);
  c->sent = 1; /* the hello */
  c->received_base = stats_of(c)->datagrams_received - 1;
}

static void teardown(ctx* c) { peer_fixture_free(&c->f); }

/* Keeps the peer at most `ahead` datagrams in front of the node (no kernel drops). */
static void pace(ctx* c, uint64_t ahead) {
  uint64_t last = 0;
  for (int idle = 0; idle < 3000; ++idle) { /* 3 s without progress */
    uint64_t got = stats_of(c)->datagrams_received - c->received_base;
    if (got + ahead >= c->sent) return;
    if (got != last) idle = 0;
    last = got;
    usleep(1000);
  }
  fail_msg("node stopped taking datagrams");
}

static void send_data(ctx* c, uint64_t stream, uint64_t seq, uint8_t flags, uint8_t frag_flags,
                      uint16_t frag_index, const void* data, size_t len) {
  static uint8_t plain[8200], d[8400];
  size_t pl = nmt_frame(plain, data, (uint32_t)len);
  nmt_packet p;
  memset(&p, 0, sizeof p);
  p.flags = flags;
  p.stream_id = stream;
  p.sequence = seq;
  p.subnet_id = 1;
  p.event_count = 1;
  p.frag_flags = frag_flags;
  p.fragment_offset = frag_index;
  size_t n = nmt_peer_seal(c->f.peer, &p, plain, pl, d, sizeof d);
  assert_true(n > 0);
  assert_int_equal(nmt_peer_send_raw(c->f.peer, d, n), 0);
  ++c->sent;
  /* stay well inside the node's socket buffer (rmem_max may be as low as 208 KiB) */
  if (len > 1000 ? c->sent % 8 == 0 : c->sent % 256 == 0) pace(c, len > 1000 ? 8 : 512);
}

static size_t mib(size_t bytes) { return bytes >> 20; }

/* Sanitizer runtimes keep freed memory in quarantine and shadow it: RSS means nothing there. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RSS_BOUND(cond) ((void)0)
#else
#define RSS_BOUND(cond) assert_true(cond)
#endif

/* Bogus msg1s (wrong PSK, random bytes, valid-looking lengths) from many source ports:
 * the node keeps no state for any of them. */
static void handshake_flood_keeps_memory_bounded(void** state) {
  (void)state;
  nm_node_config_t cfg;
  test_config(&cfg, 0x42);
  ctx c;
  setup(&c, &cfg);
  uint8_t wrong_psk[NM_KEY_SIZE];
  memset(wrong_psk, 0x17, sizeof wrong_psk);
  nmt_peer* forger = nmt_peer_new();
  nmt_peer_target(forger, c.f.addr, c.f.key, c.f.node_id);
  uint8_t d[256];
  enum { kRounds = 4000 };
  size_t rss_warm = 0;
  nm_node_stats_t* s0 = stats_of(&c);
  uint64_t received0 = s0->datagrams_received,
           refused0 = s0->drop_handshake_rejected + s0->drop_handshake_rate_limited;
  for (int i = 0; i < kRounds; ++i) {
    size_t n = nmt_peer_build_msg1(forger, (i % 2) ? wrong_psk : c.f.psk, (i % 3) ? c.f.key : wrong_psk, d, sizeof d);
    if (i % 2 == 0 && i % 3 != 0) d[80] ^= 1; /* right PSK and key: corrupt the tag */
    assert_int_equal(nmt_send_from_new_port(c.f.addr, d, n), 0);
    if (i % 200 == 199) {
      for (int w = 0; w < 2000 && stats_of(&c)->datagrams_received < received0 + (uint64_t)i + 1; ++w) usleep(1000);
    }
    if (i == kRounds / 4) rss_warm = nmt_rss_bytes();
  }
  for (int w = 0; w < 3000 && stats_of(&c)->datagrams_received < received0 + kRounds; ++w) usleep(1000);
  nm_node_stats_t* s = stats_of(&c);
  assert_int_equal(s->datagrams_received, received0 + kRounds);
  /* Each one is either examined and rejected, or beyond the rate and dropped unexamined. */
  assert_int_equal(s->drop_handshake_rejected + s->drop_handshake_rate_limited, refused0 + kRounds);
  assert_int_equal(s->sessions, 1);
  size_t rss_end = nmt_rss_bytes();
  printf("handshake flood: rss %zu MiB -> %zu MiB over %d msg1s from %d ports\n", mib(rss_warm),
         mib(rss_end), kRounds * 3 / 4, kRounds * 3 / 4);
  RSS_BOUND(rss_end < rss_warm + (4u << 20));
  nmt_peer_free(forger);
  teardown(&c);
}

/* An authenticated peer starting stream after stream: at most max_streams exist (least
 * recently used evicted), and memory does not grow with the number of ids used. */
static void stream_creation_flood_hits_max_streams(void** state) {
  (void)state;
  nm_node_config_t cfg;
  test_config(&cfg, 0x42);
  cfg.max_streams = 64;
  ctx c;
  setup(&c, &cfg);
  /* the app's own stream stays alive when it is recently used */
  nm_stream_t* mine = NULL;
  NM_OK_OR_FAIL(nm_node_open_stream(c.f.node, c.f.peer_id, 1, NULL, &mine));
  enum { kStreams = 200000 };
  size_t rss_warm = 0;
  for (uint64_t i = 0; i < kStreams; ++i) {
    send_data(&c, 1000 + i, 0, 0, 0, 0, "s", 1);
    if (i == 20000) rss_warm = nmt_rss_bytes();
  }
  pace(&c, 0);
  size_t count = 0;
  NM_OK_OR_FAIL(nm_node_all_stream_stats(c.f.node, NULL, 0, &count));
  assert_true(count <= 64);
  size_t rss_end = nmt_rss_bytes();
  printf("stream flood: %d stream ids, %zu open, rss %zu MiB -> %zu MiB\n", kStreams, count,
         mib(rss_warm), mib(rss_end));
  /* the evicted handle is stale, not dangling */
  char buf[8];
  size_t got;
  nm_status st = nm_stream_recv(mine, buf, sizeof buf, &got, 0);
  assert_true(st == NM_ERR_NOT_CONNECTED || st == NM_ERR_TIMEOUT);
  nm_stream_free(mine);
  /* 180000 further ids must not cost memory once the cap is reached */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  if (rss_end > rss_warm + (6u << 20))
    fail_msg("per-stream-id state survives eviction: rss grew %zu MiB after the cap was reached",
             mib(rss_end - rss_warm));
#endif
  teardown(&c);
}

/* A peer that ignores credit: the receiver must not queue more than its window. */
static void inbound_queue_bounded_by_credit_window(void** state) {
  (void)state;
  nm_node_config_t cfg;
  test_config(&cfg, 0x42);
  cfg.default_window_bytes = 65536;
  ctx c;
  setup(&c, &cfg);
  nm_stream_t* s = NULL;
  NM_OK_OR_FAIL(nm_node_open_stream(c.f.node, c.f.peer_id, 5, NULL, &s));
  static uint8_t event[8000];
  memset(event, 'q', sizeof event);
  /* 4 MiB at a window of 64 KiB, never read; fire-and-forget and reliable */
  for (uint64_t i = 0; i < 512; ++i) send_data(&c, 5, i, 0, 0, 0, event, sizeof event);
  for (uint64_t i = 0; i < 512; ++i) send_data(&c, 6, i, 1, 0, 0, event, sizeof event);
  pace(&c, 0);
  nm_stream_stats_t ss;
  NM_OK_OR_FAIL(nm_stream_stats(s, &ss));
  size_t count = 0;
  nm_stream_stats_t all[8];
  NM_OK_OR_FAIL(nm_node_all_stream_stats(c.f.node, all, 8, &count));
  uint64_t worst = 0;
  for (size_t i = 0; i < count && i < 8; ++i) {
    uint64_t held = all[i].rx_buffered_bytes + all[i].rx_reorder_packets * 8000;
    printf("stream %llu: %llu bytes queued, %llu reorder packets\n", (unsigned long long)all[i].stream_id,
           (unsigned long long)all[i].rx_buffered_bytes, (unsigned long long)all[i].rx_reorder_packets);
    if (held > worst) worst = held;
  }
  nm_stream_free(s);
  if (worst > 65536 + 8192)
    fail_msg("inbound queue holds %llu bytes with a 65536-byte window", (unsigned long long)worst);
  teardown(&c);
}

/* Fragments of one event that never ends: reassembly keeps at most max_event_bytes. */
static void reassembly_bounded_by_max_event_bytes(void** state) {
  (void)state;
  nm_node_config_t cfg;
  test_config(&cfg, 0x42);
  cfg.max_event_bytes = 256 * 1024;
  ctx c;
  setup(&c, &cfg);
  nm_stream_t* s = NULL;
  NM_OK_OR_FAIL(nm_node_open_stream(c.f.node, c.f.peer_id, 3, NULL, &s));
  static uint8_t chunk[8104];
  memset(chunk, 'f', sizeof chunk);
  size_t rss_warm = 0;
  enum { kFragments = 8000 }; /* 64 MiB in one "event" */
  for (uint64_t i = 0; i < kFragments; ++i) {
    send_data(&c, 3, i, 0, 0x01, (uint16_t)i, chunk, sizeof chunk);
    if (i == 200) rss_warm = nmt_rss_bytes();
  }
  send_data(&c, 3, kFragments, 0, 0x03, (uint16_t)kFragments, chunk, sizeof chunk);
  pace(&c, 0);
  size_t rss_end = nmt_rss_bytes();
  nm_stream_stats_t ss;
  NM_OK_OR_FAIL(nm_stream_stats(s, &ss));
  printf("reassembly: rss %zu MiB -> %zu MiB, oversize dropped %llu\n", mib(rss_warm), mib(rss_end),
         (unsigned long long)ss.rx_oversize_dropped);
  assert_int_equal(ss.rx_oversize_dropped, 1);
  assert_int_equal(ss.inbound_pending, 0);
  RSS_BOUND(rss_end < rss_warm + (8u << 20));
  /* a fitting fragmented event still goes through */
  for (uint16_t i = 0; i < 4; ++i)
    send_data(&c, 3, kFragments + 1 + i, 0, i == 3 ? 0x03 : 0x01, i, chunk, sizeof chunk);
  static uint8_t buf[4 * 8104];
  size_t got = 0;
  NM_OK_OR_FAIL(nm_stream_recv(s, buf, sizeof buf, &got, 2000));
  assert_int_equal(got, sizeof buf);
  nm_stream_free(s);
  teardown(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(handshake_flood_keeps_memory_bounded),
      cmocka_unit_test(stream_creation_flood_hits_max_streams),
      cmocka_unit_test(inbound_queue_bounded_by_credit_window),
      cmocka_unit_test(reassembly_bounded_by_max_event_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
