/* Resource bounds under floods, measured as high-water marks: memory (RSS of this
 * process, which hosts the node) and the node's own queue statistics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "peer_fixture.h"

typedef struct ctx {
  peer_fixture f;
  nmt_peer* sender; /* the peer send_packet sends from (f.peer unless changed) */
  uint64_t sent; /* datagrams the peer sent (for pacing) */
  uint64_t received_base;
} ctx;

static nm_node_stats_t g_stats;
static nm_node_stats_t* stats_of(ctx* c) {
  NM_OK_OR_FAIL(nm_node_stats(c->f.node, &g_stats, sizeof g_stats));
  return &g_stats;
}

static void setup(ctx* c, nm_node_config_t* cfg) {
  memset(c, 0, sizeof *c);
  peer_fixture_new(&c->f, cfg);
  peer_fixture_connect(&c->f);
  c->sender = c->f.peer;
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

/* Seals and sends one data packet of `len` plaintext bytes holding `events` frames, keeping
 * the peer within the node's socket buffer (rmem_max may be as low as 208 KiB). */
static void send_packet(ctx* c, uint64_t stream, uint64_t seq, uint8_t flags, uint8_t frag_flags,
                        uint16_t frag_index, const uint8_t* plain, size_t len, uint16_t events) {
  static uint8_t d[8400];
  nmt_packet p;
  memset(&p, 0, sizeof p);
  p.flags = flags;
  p.stream_id = stream;
  p.sequence = seq;
  p.subnet_id = 1;
  p.event_count = events;
  p.frag_flags = frag_flags;
  p.fragment_offset = frag_index;
  size_t n = nmt_peer_seal(c->sender, &p, plain, len, d, sizeof d);
  assert_true(n > 0);
  assert_int_equal(nmt_peer_send_raw(c->sender, d, n), 0);
  ++c->sent;
  if (len > 1000 ? c->sent % 8 == 0 : c->sent % 256 == 0) pace(c, len > 1000 ? 8 : 512);
}

/* One event per packet. */
static void send_data(ctx* c, uint64_t stream, uint64_t seq, uint8_t flags, uint8_t frag_flags,
                      uint16_t frag_index, const void* data, size_t len) {
  static uint8_t plain[8200];
  size_t pl = nmt_frame(plain, data, (uint32_t)len);
  send_packet(c, stream, seq, flags, frag_flags, frag_index, plain, pl, 1);
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
  NM_OK_OR_FAIL(nm_node_all_stream_stats(c.f.node, NULL, 0, sizeof(nm_stream_stats_t), &count));
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
  NM_OK_OR_FAIL(nm_stream_stats(s, &ss, sizeof ss));
  size_t count = 0;
  nm_stream_stats_t all[8];
  NM_OK_OR_FAIL(nm_node_all_stream_stats(c.f.node, all, 8, sizeof *all, &count));
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
  NM_OK_OR_FAIL(nm_stream_stats(s, &ss, sizeof ss));
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

/* ---- A peer holding every receive limit open at once (the budgets of
 * src/session/rx_budget.h). Small limits make the bound tight: 4 MiB per session, events of
 * at most 1 MiB, 256 streams. ---- */

static void budget_config(nm_node_config_t* cfg) {
  test_config(cfg, 0x42);
  cfg->max_session_buffer_bytes = 4u << 20;
  cfg->max_event_bytes = 1u << 20;
  cfg->max_streams = 256;
}

/* What the process may gain while one peer floods the node, from the formula at the top of
 * src/session/rx_budget.h: the session's budget, the fixed cost of max_streams streams with
 * receive state (at most 4 KiB each), the payload pools' most (process-wide, 7.2 MiB) and
 * allocator slack. */
enum { kStreamFixedBytes = 4096, kPoolBytes = 7536640, kAllocatorSlack = 2u << 20 };
static size_t rss_bound(const nm_node_config_t* cfg) {
  return cfg->max_session_buffer_bytes + (size_t)cfg->max_streams * kStreamFixedBytes + kPoolBytes +
         kAllocatorSlack;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t over_budget(ctx* c) { return stats_of(c)->drop_over_budget; }

/* Sum of unread events and bytes over the node's streams. */
static void pending(ctx* c, uint64_t* events, uint64_t* bytes, size_t* streams) {
  static nm_stream_stats_t all[512];
  size_t n = 0;
  NM_OK_OR_FAIL(nm_node_all_stream_stats(c->f.node, all, 512, sizeof *all, &n));
  *events = *bytes = 0;
  for (size_t i = 0; i < n && i < 512; ++i) {
    *events += all[i].inbound_pending;
    *bytes += all[i].rx_buffered_bytes;
  }
  *streams = n;
}

/* (1) Large events started on every stream and never finished: without budgets each stream
 * pins up to max_event_bytes in reassembly (256 MiB here). With them a start is admitted only
 * when max_event_bytes can be reserved for it, and every event that started can finish. */
static void unfinished_events_stay_within_session_budget(void** state) {
  (void)state;
  nm_node_config_t cfg;
  budget_config(&cfg);
  ctx c;
  setup(&c, &cfg);
  static uint8_t chunk[8104];
  memset(chunk, 'f', sizeof chunk);
  enum { kStreams = 256, kFragments = 128 }; /* + a last one: 129 x 8104 <= 1 MiB */
  size_t rss0 = nmt_rss_bytes();
  double t0 = now_s();
  for (uint16_t f = 0; f < kFragments; ++f)
    for (uint64_t s = 0; s < kStreams; ++s) send_data(&c, 100 + s, f, 0, 0x01, f, chunk, sizeof chunk);
  pace(&c, 0);
  double t1 = now_s();
  size_t rss1 = nmt_rss_bytes();
  uint64_t dropped = over_budget(&c);
  printf("unfinished events: %d streams x %d fragments in %.2f s, rss %zu -> %zu MiB (+%.1f MiB, "
         "bound %.1f MiB), drop_over_budget %llu\n",
         kStreams, kFragments, t1 - t0, mib(rss0), mib(rss1), (double)(rss1 - rss0) / (1 << 20),
         (double)rss_bound(&cfg) / (1 << 20), (unsigned long long)dropped);
  RSS_BOUND(rss1 < rss0 + rss_bound(&cfg));
  assert_true(dropped > 0);
  /* The events that started all finish, though the budget is full. */
  for (uint64_t s = 0; s < kStreams; ++s)
    send_data(&c, 100 + s, kFragments, 0, 0x03, kFragments, chunk, sizeof chunk);
  pace(&c, 0);
  uint64_t events, bytes;
  size_t streams;
  pending(&c, &events, &bytes, &streams);
  printf("unfinished events: %llu completed (%llu bytes unread)\n", (unsigned long long)events,
         (unsigned long long)bytes);
  assert_true(events >= 1);
  assert_int_equal(bytes, events * (kFragments + 1) * sizeof chunk);
  assert_true(bytes <= cfg.max_session_buffer_bytes);
  /* Read them: the memory frees and a new event goes through. */
  static uint8_t buf[(kFragments + 1) * 8104];
  for (uint64_t s = 0; s < kStreams; ++s) {
    nm_stream_t* h = NULL;
    NM_OK_OR_FAIL(nm_node_open_stream(c.f.node, c.f.peer_id, 100 + s, NULL, &h));
    size_t got = 0;
    nm_status st = nm_stream_recv(h, buf, sizeof buf, &got, 0);
    if (st == NM_OK) assert_int_equal(got, sizeof buf);
    else assert_int_equal(st, NM_ERR_TIMEOUT);
    nm_stream_free(h);
  }
  nm_stream_t* fresh = NULL;
  NM_OK_OR_FAIL(nm_node_open_stream(c.f.node, c.f.peer_id, 7, NULL, &fresh));
  for (uint16_t i = 0; i <= kFragments; ++i)
    send_data(&c, 7, i, 0, i == kFragments ? 0x03 : 0x01, i, chunk, sizeof chunk);
  size_t got = 0;
  NM_OK_OR_FAIL(nm_stream_recv(fresh, buf, sizeof buf, &got, 5000));
  assert_int_equal(got, sizeof buf);
  nm_stream_free(fresh);
  teardown(&c);
}

/* (2) Packets of 2,027 zero-length events (8 KiB of frame headers) on every stream, never
 * read: the sender pays 8,192 bytes of credit per packet. Kept per event (40 bytes each)
 * that was 10x what the window allows; kept per packet it is the packet, within budget. */
static void empty_events_cost_what_their_packets_cost(void** state) {
  (void)state;
  nm_node_config_t cfg;
  budget_config(&cfg);
  ctx c;
  setup(&c, &cfg);
  enum { kStreams = 256, kPackets = 9, kEvents = 2027 }; /* 9 packets fill the 64 KiB window */
  static uint8_t plain[kEvents * 4]; /* 2,027 frames of length 0 */
  size_t rss0 = nmt_rss_bytes();
  double t0 = now_s();
  for (uint64_t p = 0; p < kPackets; ++p)
    for (uint64_t s = 0; s < kStreams; ++s) send_packet(&c, 100 + s, p, 0, 0, 0, plain, sizeof plain, kEvents);
  pace(&c, 0);
  double t1 = now_s();
  size_t rss1 = nmt_rss_bytes();
  uint64_t events, bytes;
  size_t streams;
  pending(&c, &events, &bytes, &streams);
  uint64_t dropped = over_budget(&c);
  printf("empty events: %d packets of %d in %.2f s, %llu events unread on %zu streams, rss %zu -> "
         "%zu MiB (+%.1f MiB, bound %.1f MiB), drop_over_budget %llu\n",
         kStreams * kPackets, kEvents, t1 - t0, (unsigned long long)events, streams, mib(rss0),
         mib(rss1), (double)(rss1 - rss0) / (1 << 20), (double)rss_bound(&cfg) / (1 << 20),
         (unsigned long long)dropped);
  RSS_BOUND(rss1 < rss0 + rss_bound(&cfg));
  assert_int_equal(events % kEvents, 0);
  assert_int_equal(bytes, 0);
  assert_true(dropped > 0);
  assert_int_equal(events / kEvents + dropped, kStreams * kPackets);
  /* The events read back one batch at a time, each of size 0. */
  for (uint64_t s = 0; s < kStreams; ++s) {
    nm_stream_t* h = NULL;
    NM_OK_OR_FAIL(nm_node_open_stream(c.f.node, c.f.peer_id, 100 + s, NULL, &h));
    static size_t lens[1000];
    uint8_t buf[1];
    size_t got = 0, total = 0;
    while (nm_stream_recv_batch(h, buf, sizeof buf, lens, 1000, &got, 0) == NM_OK) {
      for (size_t i = 0; i < got; ++i) assert_int_equal(lens[i], 0);
      total += got;
    }
    assert_int_equal(total % kEvents, 0);
    events -= total;
    nm_stream_free(h);
  }
  assert_int_equal(events, 0);
  teardown(&c);
}

/* (4) Two peers flooding at once: each session stays within its own budget, both together
 * within the node's (6 MiB here: one session and a half). */
static void sessions_share_the_node_budget(void** state) {
  (void)state;
  nm_node_config_t cfg;
  budget_config(&cfg);
  cfg.max_buffer_bytes = 6u << 20;
  ctx c;
  setup(&c, &cfg);
  nmt_peer* second = nmt_peer_new();
  assert_int_equal(nmt_peer_target(second, c.f.addr, c.f.key, c.f.node_id), 0);
  NM_OK_OR_FAIL(nm_node_allow_peer(c.f.node, nmt_peer_id(second)));
  assert_int_equal(nmt_peer_handshake(second, c.f.psk, NMT_CAP_ALL, 2000), 0);
  NM_OK_OR_FAIL(nm_node_accept(c.f.node, nmt_peer_id(second), 2000));
  c.sent += 2; /* its msg1 and hello */
  enum { kStreams = 100, kPackets = 6, kEvents = 2027, kTotal = 2 * kStreams * kPackets };
  static uint8_t plain[kEvents * 4];
  nmt_peer* peers[2] = {c.f.peer, second};
  for (int i = 0; i < 2; ++i) {
    c.sender = peers[i];
    for (uint64_t p = 0; p < kPackets; ++p)
      for (uint64_t s = 0; s < kStreams; ++s) send_packet(&c, 100 + s, p, 0, 0, 0, plain, sizeof plain, kEvents);
  }
  /* Every packet ends up queued or dropped over budget. */
  static nm_stream_stats_t all[2 * kStreams];
  uint64_t kept[2] = {0, 0}, dropped = 0;
  for (int wait = 0; wait < 5000; ++wait) {
    size_t n = 0;
    NM_OK_OR_FAIL(nm_node_all_stream_stats(c.f.node, all, 2 * kStreams, sizeof *all, &n));
    kept[0] = kept[1] = 0;
    for (size_t i = 0; i < n && i < 2 * kStreams; ++i)
      kept[all[i].peer_node_id == c.f.peer_id ? 0 : 1] += all[i].inbound_pending / kEvents;
    dropped = over_budget(&c);
    if (kept[0] + kept[1] + dropped == kTotal) break;
    usleep(1000);
  }
  printf("two sessions: %d packets each, kept %llu + %llu (%.1f + %.1f MiB of payload), dropped %llu\n",
         kTotal / 2, (unsigned long long)kept[0], (unsigned long long)kept[1],
         (double)kept[0] * sizeof plain / (1 << 20), (double)kept[1] * sizeof plain / (1 << 20),
         (unsigned long long)dropped);
  assert_int_equal(kept[0] + kept[1] + dropped, kTotal);
  /* The first session filled its own budget; the second got what the node had left. */
  assert_true(kept[0] * sizeof plain <= cfg.max_session_buffer_bytes);
  assert_true(kept[0] * sizeof plain > cfg.max_session_buffer_bytes / 2);
  assert_true(kept[1] > 0 && kept[1] < kept[0]);
  assert_true((kept[0] + kept[1]) * sizeof plain <= cfg.max_buffer_bytes);
  nmt_peer_free(second);
  teardown(&c);
}

/* (3) A million stream ids, one packet each, at the default max_streams: every packet past
 * the cap evicts the least recently used stream. That must not cost a scan of the streams. */
static void million_stream_ids_cost_flat_time(void** state) {
  (void)state;
  nm_node_config_t cfg;
  test_config(&cfg, 0x42); /* max_streams 4096 */
  ctx c;
  setup(&c, &cfg);
  enum { kIds = 1000000, kPhase = 100000 };
  double start = now_s(), phase_start = start, first = 0, last = 0;
  for (uint64_t i = 0; i < kIds; ++i) {
    send_data(&c, 1000 + i, 0, 0, 0, 0, "s", 1);
    if ((i + 1) % kPhase == 0) {
      pace(&c, 0); /* fails the test if the node stops taking datagrams for 3 s */
      double t = now_s();
      if (i + 1 == kPhase) first = t - phase_start;
      last = t - phase_start;
      phase_start = t;
    }
  }
  double total = now_s() - start;
  size_t count = 0;
  NM_OK_OR_FAIL(nm_node_all_stream_stats(c.f.node, NULL, 0, sizeof(nm_stream_stats_t), &count));
  printf("stream ids: %d packets in %.2f s, %.2f us/packet (first 100k %.2f, last 100k %.2f), "
         "%zu streams\n",
         kIds, total, total * 1e6 / kIds, first * 1e6 / kPhase, last * 1e6 / kPhase, count);
  assert_int_equal(count, cfg.max_streams);
  assert_int_equal(stats_of(&c)->datagrams_received - c.received_base, c.sent);
  teardown(&c);
}

int main(void) {
  /* NM_TEST_FILTER=<glob> runs some cases only (each in a fresh process: the RSS figures
   * of one case are then its own). */
  if (getenv("NM_TEST_FILTER")) cmocka_set_test_filter(getenv("NM_TEST_FILTER"));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(handshake_flood_keeps_memory_bounded),
      cmocka_unit_test(stream_creation_flood_hits_max_streams),
      cmocka_unit_test(inbound_queue_bounded_by_credit_window),
      cmocka_unit_test(reassembly_bounded_by_max_event_bytes),
      cmocka_unit_test(unfinished_events_stay_within_session_budget),
      cmocka_unit_test(empty_events_cost_what_their_packets_cost),
      cmocka_unit_test(sessions_share_the_node_budget),
      cmocka_unit_test(million_stream_ids_cost_flat_time),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
