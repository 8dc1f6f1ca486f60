/* Streams over a live session: both reliability modes, credit and backpressure, stats,
 * idempotent open, stale handles, close behaviours, bad input. */
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_support.h"

static int setup(void** state) {
  static test_pair p;
  test_pair_connect(&p);
  *state = &p;
  return 0;
}

static int teardown(void** state) {
  test_pair_free(*state);
  return 0;
}

static void expect_event(nm_stream_t* s, const char* text) {
  char buf[256];
  size_t n = 0;
  NM_OK_OR_FAIL(nm_stream_recv(s, buf, sizeof buf, &n, 2000));
  assert_int_equal(n, strlen(text));
  assert_memory_equal(buf, text, n);
}

static void stream_config(nm_stream_config_t* c, nm_reliability r) {
  nm_stream_config_init(c, sizeof *c);
  c->reliability = r;
}

static void exchange_in_mode(test_pair* p, uint64_t id, nm_reliability mode) {
  nm_stream_config_t cfg;
  stream_config(&cfg, mode);
  nm_stream_t *a, *b;
  test_open_both(p, id, &cfg, &a, &b);
  nm_event_t ev[3] = {test_event("one"), test_event("two"), test_event("")};
  size_t sent = 0;
  NM_OK_OR_FAIL(nm_stream_send(a, ev, 3, &sent));
  assert_int_equal(sent, 3);
  expect_event(b, "one");
  expect_event(b, "two");
  expect_event(b, "");
  /* and back */
  nm_event_t back = test_event("reply");
  NM_OK_OR_FAIL(nm_stream_send(b, &back, 1, NULL));
  expect_event(a, "reply");
  nm_stream_stats_t st;
  NM_OK_OR_FAIL(nm_stream_stats(a, &st, sizeof st));
  assert_int_equal(st.reliable, mode == NM_RELIABLE);
  assert_int_equal(st.tx_seq, 1); /* three small events share one packet */
  assert_int_equal(st.rx_seq, 0); /* highest sequence received, as in net-mesh */
  assert_int_equal(st.tx_events, 3);
  assert_int_equal(st.rx_events, 1);
  assert_int_equal(st.active, 1);
  /* nanoseconds since the Unix epoch, as net-mesh: within a minute of the wall clock */
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  double age_s = (double)wall.tv_sec + wall.tv_nsec / 1e9 - (double)st.last_activity_ns / 1e9;
  assert_true(age_s > -60 && age_s < 60);
  nm_stream_free(a);
  nm_stream_free(b);
}

static void fire_and_forget_round_trip(void** state) { exchange_in_mode(*state, 10, NM_FIRE_AND_FORGET); }
static void reliable_round_trip(void** state) { exchange_in_mode(*state, 11, NM_RELIABLE); }

static void many_events_arrive_in_order(void** state) {
  test_pair* p = *state;
  nm_stream_config_t cfg;
  stream_config(&cfg, NM_RELIABLE);
  nm_stream_t *a, *b;
  test_open_both(p, 12, &cfg, &a, &b);
  enum { N = 2000 };
  for (uint32_t i = 0; i < N; ++i) {
    nm_event_t e = {&i, sizeof i};
    NM_OK_OR_FAIL(nm_stream_send_blocking(a, &e, 1, 5000, NULL));
    if (i % 64 == 63) { /* read as we go so credit comes back */
      for (uint32_t j = i - 63; j <= i; ++j) {
        uint32_t got;
        size_t n;
        NM_OK_OR_FAIL(nm_stream_recv(b, &got, sizeof got, &n, 2000));
        assert_int_equal(got, j);
      }
    }
  }
  for (uint32_t j = N - N % 64; j < N; ++j) {
    uint32_t got;
    size_t n;
    NM_OK_OR_FAIL(nm_stream_recv(b, &got, sizeof got, &n, 2000));
    assert_int_equal(got, j);
  }
  nm_stream_stats_t st, sent_st;
  nm_stream_stats(b, &st, sizeof st);
  nm_stream_stats(a, &sent_st, sizeof sent_st);
  /* back-to-back sends share packets (adaptive flush): every packet arrived */
  assert_int_equal(st.rx_events, N);
  assert_true(sent_st.tx_seq >= 1 && sent_st.tx_seq <= N);
  assert_int_equal(st.rx_seq, sent_st.tx_seq - 1);
  assert_int_equal(st.rx_gaps, 0);
  assert_int_equal(st.inbound_pending, 0);
  assert_true(st.credit_grants_sent > 0);
  /* everything was read, so all credit comes back (the last grant is in flight) */
  ASSERT_EVENTUALLY((st = test_stream_stats(a), st.tx_credit_remaining == st.tx_window), 5000);
  assert_true(st.credit_grants_received > 0);
  assert_int_equal(st.tx_credit_remaining, st.tx_window);
  nm_stream_free(a);
  nm_stream_free(b);
}

static void largest_event_and_oversize(void** state) {
  test_pair* p = *state;
  nm_stream_t *a, *b;
  test_open_both(p, 13, NULL, &a, &b);
  static uint8_t big[NM_MAX_EVENT_SIZE + 1];
  for (size_t i = 0; i < sizeof big; ++i) big[i] = (uint8_t)(i * 7);
  nm_event_t max = {big, NM_MAX_EVENT_SIZE};
  NM_OK_OR_FAIL(nm_stream_send(a, &max, 1, NULL));
  static uint8_t got[NM_MAX_EVENT_SIZE + 1];
  size_t n = 0;
  /* a small buffer reports the size and keeps the event */
  assert_int_equal(nm_stream_recv(b, got, 10, &n, 2000), NM_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(n, NM_MAX_EVENT_SIZE);
  NM_OK_OR_FAIL(nm_stream_recv(b, got, sizeof got, &n, 0));
  assert_int_equal(n, NM_MAX_EVENT_SIZE);
  assert_memory_equal(got, big, n);
  /* one byte more no longer fits a packet: between netmesh nodes it is fragmented */
  nm_event_t over = {big, NM_MAX_EVENT_SIZE + 1};
  NM_OK_OR_FAIL(nm_stream_send(a, &over, 1, NULL));
  NM_OK_OR_FAIL(nm_stream_recv(b, got, sizeof got, &n, 2000));
  assert_int_equal(n, NM_MAX_EVENT_SIZE + 1);
  assert_memory_equal(got, big, n);
  nm_stream_stats_t st;
  nm_stream_stats(a, &st, sizeof st);
  assert_int_equal(st.tx_seq, 3); /* 1 + 2 fragments */
  /* above max_event_bytes (16 MiB by default) is refused before anything is sent */
  nm_event_t huge = {big, (16u << 20) + 1}; /* never read: refused on its length */
  size_t sent = 99;
  assert_int_equal(nm_stream_send(a, &huge, 1, &sent), NM_ERR_EVENT_TOO_LARGE);
  assert_int_equal(sent, 0);
  nm_event_t null_data = {NULL, 5};
  assert_int_equal(nm_stream_send(a, &null_data, 1, NULL), NM_ERR_INVALID_ARGUMENT);
  nm_stream_free(a);
  nm_stream_free(b);
}

/* Between netmesh nodes a reliable stream cuts an event of up to two packets at one packet
 * boundary (filling both) instead of fragmenting it: one datagram per event and a bit, not
 * two. Larger events are still fragments; all arrive whole and in order. */
static void reliable_events_of_two_packets_cross_one_boundary(void** state) {
  test_pair* p = *state;
  /* the path's datagram size grows from 1200 bytes first (path MTU discovery) */
  ASSERT_EVENTUALLY(test_session_stats(p->a, p->b_id).max_datagram_bytes == 8192, 5000);
  nm_stream_config_t cfg;
  stream_config(&cfg, NM_RELIABLE);
  cfg.window_bytes = 1 << 20;
  nm_stream_t *a, *b;
  test_open_both(p, 41, &cfg, &a, &b);
  enum { kEvents = 64, kBatch = 8, kSize = NM_MAX_EVENT_SIZE + 100, kLarge = 3 * NM_MAX_EVENT_SIZE };
  static uint8_t data[kBatch][kSize], large[kLarge], got[kLarge];
  nm_event_t ev[kBatch];
  for (int i = 0; i < kBatch; ++i) ev[i] = (nm_event_t){data[i], kSize};
  for (uint32_t n = 0; n < kEvents; n += kBatch) {
    for (uint32_t i = 0; i < kBatch; ++i) memset(data[i], (int)(n + i), kSize);
    NM_OK_OR_FAIL(nm_stream_send_blocking(a, ev, kBatch, 5000, NULL));
    for (uint32_t i = 0; i < kBatch; ++i) {
      size_t len = 0;
      NM_OK_OR_FAIL(nm_stream_recv(b, got, sizeof got, &len, 5000));
      assert_int_equal(len, kSize);
      assert_memory_equal(got, data[i], kSize);
    }
  }
  nm_stream_stats_t st = test_stream_stats(a);
  print_message("%d events of %d bytes in %llu packets\n", kEvents, kSize, (unsigned long long)st.tx_seq + 1);
  assert_true(st.tx_seq + 1 < kEvents * 5 / 4); /* fragments: 2 per event */
  /* three packets' worth: fragments */
  for (size_t i = 0; i < sizeof large; ++i) large[i] = (uint8_t)(i * 13);
  nm_event_t one = {large, sizeof large};
  NM_OK_OR_FAIL(nm_stream_send_blocking(a, &one, 1, 5000, NULL));
  size_t len = 0;
  NM_OK_OR_FAIL(nm_stream_recv(b, got, sizeof got, &len, 5000));
  assert_int_equal(len, sizeof large);
  assert_memory_equal(got, large, len);
  assert_true(test_stream_stats(a).tx_seq >= st.tx_seq + 3);
  nm_stream_free(a);
  nm_stream_free(b);
}

static void backpressure_when_the_receiver_does_not_read(void** state) {
  test_pair* p = *state;
  nm_stream_t *a, *b;
  test_open_both(p, 14, NULL, &a, &b); /* window 65536 */
  static uint8_t kb[1000];
  nm_event_t e = {kb, sizeof kb};
  size_t accepted = 0;
  nm_status s = NM_OK;
  for (int i = 0; i < 200 && s == NM_OK; ++i) {
    s = nm_stream_send(a, &e, 1, NULL);
    if (s == NM_OK) ++accepted;
  }
  assert_int_equal(s, NM_ERR_BACKPRESSURE);
  /* each 1000-byte event costs 4 + 1000 bytes of credit, and each packet 84 more: 60 fit
   * in 65536 one per packet, up to 65 when back-to-back sends share packets */
  assert_true(accepted >= 65536 / 1088 && accepted <= 65536 / 1004);
  nm_stream_stats_t st;
  nm_stream_stats(a, &st, sizeof st);
  assert_int_equal(st.backpressure_events, 1);
  assert_int_equal(st.tx_credit_remaining, 65536 - accepted * 1004 - st.tx_seq * 84);
  assert_true(st.tx_credit_remaining < 1004 + 84); /* the window is used up */
  assert_int_equal(st.tx_window, 65536);
  /* the retry helper gives up after its retries: nobody reads, so no credit comes */
  size_t sent = 7;
  assert_int_equal(nm_stream_send_with_retry(a, &e, 1, 3, &sent), NM_ERR_BACKPRESSURE);
  assert_int_equal(sent, 0);
  ASSERT_EVENTUALLY(test_stream_stats(b).inbound_pending == accepted, 5000); /* nothing dropped */
  assert_int_equal(test_stream_stats(b).credit_grants_sent, 0); /* nothing read, nothing granted */
  /* the reader drains: credit flows back and the blocking helper completes */
  char buf[1000];
  size_t n;
  for (int i = 0; i < 60; ++i) NM_OK_OR_FAIL(nm_stream_recv(b, buf, sizeof buf, &n, 1000));
  NM_OK_OR_FAIL(nm_stream_send_blocking(a, &e, 1, 2000, &sent));
  assert_int_equal(sent, 1);
  NM_OK_OR_FAIL(nm_stream_recv(b, buf, sizeof buf, &n, 2000));
  nm_stream_stats(a, &st, sizeof st);
  assert_true(st.credit_grants_received >= 1);
  nm_stream_free(a);
  nm_stream_free(b);
}

static void send_reports_partial_progress(void** state) {
  test_pair* p = *state;
  nm_stream_t *a, *b;
  test_open_both(p, 15, NULL, &a, &b);
  static uint8_t big[8000];
  nm_event_t ev[10];
  for (int i = 0; i < 10; ++i) ev[i] = (nm_event_t){big, sizeof big};
  size_t sent = 0;
  /* 8084-byte packets: 8 fit in the window, the 9th is refused */
  assert_int_equal(nm_stream_send(a, ev, 10, &sent), NM_ERR_BACKPRESSURE);
  assert_int_equal(sent, 8);
  nm_stream_free(a);
  nm_stream_free(b);
}

static void unbounded_window(void** state) {
  test_pair* p = *state;
  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.window_bytes = 0;
  nm_stream_t *a, *b;
  test_open_both(p, 16, &cfg, &a, &b);
  static uint8_t kb[1000];
  nm_event_t e = {kb, sizeof kb};
  for (int i = 0; i < 200; ++i) NM_OK_OR_FAIL(nm_stream_send(a, &e, 1, NULL));
  nm_stream_stats_t st;
  nm_stream_stats(a, &st, sizeof st);
  assert_true(st.tx_credit_remaining == UINT64_MAX);
  assert_int_equal(st.tx_window, 0);
  ASSERT_EVENTUALLY(test_stream_stats(b).inbound_pending == 200, 5000);
  assert_int_equal(test_stream_stats(b).credit_grants_sent, 0); /* a window-0 receiver never grants */
  nm_stream_free(a);
  nm_stream_free(b);
}

static void open_is_idempotent_first_config_wins(void** state) {
  test_pair* p = *state;
  nm_stream_config_t rel, ff;
  stream_config(&rel, NM_RELIABLE);
  rel.window_bytes = 100000;
  stream_config(&ff, NM_FIRE_AND_FORGET);
  nm_stream_t *s1, *s2;
  NM_OK_OR_FAIL(nm_node_open_stream(p->a, p->b_id, 17, &rel, &s1));
  NM_OK_OR_FAIL(nm_node_open_stream(p->a, p->b_id, 17, &ff, &s2));
  nm_stream_stats_t st;
  nm_stream_stats(s2, &st, sizeof st);
  assert_int_equal(st.reliable, 1);
  assert_int_equal(st.tx_window, 100000);
  /* both handles are the same stream */
  nm_event_t e = test_event("x");
  NM_OK_OR_FAIL(nm_stream_send(s1, &e, 1, NULL));
  NM_OK_OR_FAIL(nm_stream_send(s2, &e, 1, NULL));
  nm_stream_stats(s1, &st, sizeof st);
  assert_int_equal(st.tx_events, 2);
  size_t count = 0;
  NM_OK_OR_FAIL(nm_node_all_stream_stats(p->a, NULL, 0, sizeof(nm_stream_stats_t), &count));
  assert_true(count >= 1);
  nm_stream_free(s1);
  nm_stream_free(s2);
}

/* Whether `node` has a stream `id` (e.g. one the peer started). */
static int stream_exists(nm_node_t* node, uint64_t id) {
  nm_stream_stats_t all[64];
  size_t n = 0;
  NM_OK_OR_FAIL(nm_node_all_stream_stats(node, all, 64, sizeof *all, &n));
  for (size_t i = 0; i < n && i < 64; ++i)
    if (all[i].stream_id == id) return 1;
  return 0;
}

static void peer_started_stream_takes_the_first_explicit_config(void** state) {
  test_pair* p = *state;
  nm_stream_t* a;
  NM_OK_OR_FAIL(nm_node_open_stream(p->a, p->b_id, 18, NULL, &a));
  nm_event_t e = test_event("early");
  NM_OK_OR_FAIL(nm_stream_send(a, &e, 1, NULL));
  /* b auto-creates the stream with defaults when the event arrives */
  ASSERT_EVENTUALLY(stream_exists(p->b, 18), 5000);
  nm_stream_config_t rel;
  stream_config(&rel, NM_RELIABLE);
  nm_stream_t* b;
  NM_OK_OR_FAIL(nm_node_open_stream(p->b, p->a_id, 18, &rel, &b));
  expect_event(b, "early");
  nm_stream_stats_t st;
  nm_stream_stats(b, &st, sizeof st);
  assert_int_equal(st.reliable, 1);
  nm_stream_free(a);
  nm_stream_free(b);
}

static void stale_handle_after_close_and_reopen(void** state) {
  test_pair* p = *state;
  nm_stream_t *old_a, *b;
  test_open_both(p, 19, NULL, &old_a, &b);
  NM_OK_OR_FAIL(nm_node_close_stream(p->a, old_a));
  assert_int_equal(nm_node_close_stream(p->a, old_a), NM_ERR_NOT_CONNECTED);
  nm_stream_t* new_a;
  NM_OK_OR_FAIL(nm_node_open_stream(p->a, p->b_id, 19, NULL, &new_a));
  nm_event_t e = test_event("fresh");
  assert_int_equal(nm_stream_send(old_a, &e, 1, NULL), NM_ERR_NOT_CONNECTED);
  nm_stream_stats_t st;
  nm_stream_stats(old_a, &st, sizeof st);
  assert_int_equal(st.active, 0);
  NM_OK_OR_FAIL(nm_stream_send(new_a, &e, 1, NULL));
  nm_stream_stats(new_a, &st, sizeof st);
  assert_int_equal(st.tx_seq, 1); /* sequence restarts with the new stream */
  expect_event(b, "fresh");
  /* a handle of one node passed to another is refused */
  assert_int_equal(nm_node_close_stream(p->b, new_a), NM_ERR_WRONG_NODE);
  /* a freed handle is invalid, the stream itself stays open */
  NM_OK_OR_FAIL(nm_stream_free(new_a));
  assert_int_equal(nm_stream_send(new_a, &e, 1, NULL), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_stream_free(new_a), NM_ERR_INVALID_HANDLE);
  nm_stream_free(old_a);
  nm_stream_free(b);
}

static void close_behaviours(void** state) {
  test_pair* p = *state;
  nm_stream_config_t drain, drop;
  nm_stream_config_init(&drain, sizeof drain);
  nm_stream_config_init(&drop, sizeof drop);
  drain.close_behaviour = NM_DRAIN_THEN_CLOSE;
  assert_int_equal(drop.close_behaviour, NM_DROP_AND_CLOSE); /* the default */
  nm_stream_t *a1, *b1, *a2, *b2;
  test_open_both(p, 20, &drain, &a1, &b1);
  test_open_both(p, 21, &drop, &a2, &b2);
  nm_event_t ev[2] = {test_event("k1"), test_event("k2")};
  NM_OK_OR_FAIL(nm_stream_send(a1, ev, 2, NULL));
  NM_OK_OR_FAIL(nm_stream_send(a2, ev, 2, NULL));
  ASSERT_EVENTUALLY(test_stream_stats(b1).inbound_pending == 2 && test_stream_stats(b2).inbound_pending == 2, 5000);
  NM_OK_OR_FAIL(nm_node_close_stream(p->b, b1));
  NM_OK_OR_FAIL(nm_node_close_stream(p->b, b2));
  /* drain-then-close: what arrived stays readable, then the handle is stale */
  expect_event(b1, "k1");
  expect_event(b1, "k2");
  char buf[8];
  size_t n;
  assert_int_equal(nm_stream_recv(b1, buf, sizeof buf, &n, 100), NM_ERR_NOT_CONNECTED);
  nm_event_t e = test_event("no");
  assert_int_equal(nm_stream_send(b1, &e, 1, NULL), NM_ERR_NOT_CONNECTED);
  /* drop-and-close: queued events are gone at once */
  assert_int_equal(nm_stream_recv(b2, buf, sizeof buf, &n, 0), NM_ERR_NOT_CONNECTED);
  /* the dropped and drained events were credited back to the sender */
  ASSERT_EVENTUALLY(test_stream_stats(a1).tx_credit_remaining == test_stream_stats(a1).tx_window, 5000);
  ASSERT_EVENTUALLY(test_stream_stats(a2).tx_credit_remaining == test_stream_stats(a2).tx_window, 5000);
  nm_stream_free(a1);
  nm_stream_free(b1);
  nm_stream_free(a2);
  nm_stream_free(b2);
}

static void batch_receive(void** state) {
  test_pair* p = *state;
  nm_stream_t *a, *b;
  test_open_both(p, 25, NULL, &a, &b);
  nm_event_t ev[5] = {test_event("alpha"), test_event("be"), test_event(""), test_event("delta"),
                      test_event("epsilon!")};
  NM_OK_OR_FAIL(nm_stream_send(a, ev, 5, NULL));
  char buf[12];
  size_t lens[8], count = 0;
  /* waits for the first, then takes what fits: "alpha" "be" "" "delta" = 12 bytes */
  NM_OK_OR_FAIL(nm_stream_recv_batch(b, buf, sizeof buf, lens, 8, &count, 2000));
  assert_int_equal(count, 4);
  assert_int_equal(lens[0], 5);
  assert_int_equal(lens[1], 2);
  assert_int_equal(lens[2], 0);
  assert_int_equal(lens[3], 5);
  assert_memory_equal(buf, "alphabedelta", 12);
  /* the next one does not fit a 4-byte buffer: its size is reported, it stays queued */
  assert_int_equal(nm_stream_recv_batch(b, buf, 4, lens, 8, &count, 0), NM_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(count, 0);
  assert_int_equal(lens[0], 8);
  NM_OK_OR_FAIL(nm_stream_recv_batch(b, buf, sizeof buf, lens, 1, &count, 0));
  assert_int_equal(count, 1);
  assert_memory_equal(buf, "epsilon!", 8);
  assert_int_equal(nm_stream_recv_batch(b, buf, sizeof buf, lens, 8, &count, 0), NM_ERR_TIMEOUT);
  assert_int_equal(nm_stream_recv_batch(b, buf, sizeof buf, NULL, 8, &count, 0), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_stream_recv_batch(b, buf, sizeof buf, lens, 0, &count, 0), NM_ERR_INVALID_ARGUMENT);
  nm_stream_free(a);
  nm_stream_free(b);
}

static void recv_timeouts(void** state) {
  test_pair* p = *state;
  nm_stream_t *a, *b;
  test_open_both(p, 22, NULL, &a, &b);
  char buf[8];
  size_t n;
  assert_int_equal(nm_stream_recv(b, buf, sizeof buf, &n, 0), NM_ERR_TIMEOUT);
  assert_int_equal(nm_stream_recv(b, buf, sizeof buf, &n, 50), NM_ERR_TIMEOUT);
  nm_stream_free(a);
  nm_stream_free(b);
}

static void event_fd_signals_pending_events(void** state) {
  (void)state;
  test_pair own; /* the fd covers every stream of a node: start from a quiet one */
  test_pair* p = &own;
  test_pair_connect(p);
  nm_stream_t *a, *b;
  test_open_both(p, 23, NULL, &a, &b);
  int fd = -1;
  NM_OK_OR_FAIL(nm_node_event_fd(p->b, &fd));
  struct pollfd pfd = {fd, POLLIN, 0};
  assert_int_equal(poll(&pfd, 1, 0), 0);
  nm_event_t e = test_event("ping");
  NM_OK_OR_FAIL(nm_stream_send(a, &e, 1, NULL));
  assert_int_equal(poll(&pfd, 1, 2000), 1);
  assert_int_equal(poll(&pfd, 1, 0), 1); /* level-triggered: still readable */
  expect_event(b, "ping");
  assert_int_equal(poll(&pfd, 1, 0), 0);
  nm_stream_free(a);
  nm_stream_free(b);
  test_pair_free(p);
}

static int readable_within(int fd, int timeout_ms) {
  struct pollfd pfd = {fd, POLLIN, 0};
  return poll(&pfd, 1, timeout_ms);
}

static void stream_event_fds_signal_one_stream(void** state) {
  (void)state;
  test_pair own; /* freed at the end: the fds outlive the node */
  test_pair* p = &own;
  test_pair_connect(p);
  nm_stream_t *a1, *b1, *a2, *b2;
  test_open_both(p, 25, NULL, &a1, &b1);
  test_open_both(p, 26, NULL, &a2, &b2);
  int in1 = -1, in2 = -1, out1 = -1, again = -1;
  NM_OK_OR_FAIL(nm_stream_event_fd(b1, NM_STREAM_READABLE, &in1));
  NM_OK_OR_FAIL(nm_stream_event_fd(b2, NM_STREAM_READABLE, &in2));
  NM_OK_OR_FAIL(nm_stream_event_fd(a1, NM_STREAM_WRITABLE, &out1));
  NM_OK_OR_FAIL(nm_stream_event_fd(b1, NM_STREAM_READABLE, &again));
  assert_int_equal(again, in1); /* one fd per stream and readiness */
  assert_true(in1 != in2 && in1 != out1);
  assert_int_equal(nm_stream_event_fd(b1, 7, &again), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_stream_event_fd(b1, NM_STREAM_READABLE, NULL), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(readable_within(in1, 0), 0);
  assert_int_equal(readable_within(in2, 0), 0);
  assert_int_equal(readable_within(out1, 0), 1); /* a fresh window */

  /* an event on stream 26 wakes its fd only */
  nm_event_t e = test_event("two");
  NM_OK_OR_FAIL(nm_stream_send(a2, &e, 1, NULL));
  assert_int_equal(readable_within(in2, 2000), 1);
  assert_int_equal(readable_within(in1, 0), 0);
  expect_event(b2, "two");
  assert_int_equal(readable_within(in2, 0), 0);

  /* the credit window runs out: not writable until the reader's grants come back */
  static uint8_t big[8000];
  nm_event_t ev[10];
  for (int i = 0; i < 10; ++i) ev[i] = (nm_event_t){big, sizeof big};
  size_t sent = 0;
  assert_int_equal(nm_stream_send(a1, ev, 10, &sent), NM_ERR_BACKPRESSURE);
  assert_int_equal(readable_within(out1, 0), 0);
  assert_int_equal(readable_within(in1, 2000), 1);
  char buf[8192];
  size_t n;
  for (size_t i = 0; i < sent; ++i) NM_OK_OR_FAIL(nm_stream_recv(b1, buf, sizeof buf, &n, 2000));
  assert_int_equal(readable_within(in1, 0), 0);
  assert_int_equal(readable_within(out1, 5000), 1);
  NM_OK_OR_FAIL(nm_stream_send(a1, ev, 1, NULL));

  /* closed: a receive would not wait (it reports the close) */
  NM_OK_OR_FAIL(nm_node_close_stream(p->b, b2));
  assert_int_equal(readable_within(in2, 0), 1);
  size_t len;
  assert_int_equal(nm_stream_recv(b2, buf, sizeof buf, &len, 0), NM_ERR_NOT_CONNECTED);

  /* shutdown: both readinesses stay raised until the handle is freed */
  int in_a = -1;
  NM_OK_OR_FAIL(nm_stream_event_fd(a2, NM_STREAM_READABLE, &in_a));
  assert_int_equal(readable_within(in_a, 0), 0);
  NM_OK_OR_FAIL(nm_node_free(p->a));
  assert_int_equal(readable_within(in_a, 0), 1);
  assert_int_equal(readable_within(out1, 0), 1);
  assert_int_equal(nm_stream_recv(a2, buf, sizeof buf, &len, 0), NM_ERR_SHUTDOWN);
  nm_stream_free(a1);
  nm_stream_free(a2);
  nm_stream_free(b1);
  nm_stream_free(b2);
  NM_OK_OR_FAIL(nm_node_free(p->b));
}

static void all_stream_stats_lists_open_streams(void** state) {
  test_pair* p = *state;
  nm_stream_t *a, *b;
  test_open_both(p, 24, NULL, &a, &b);
  size_t count = 0;
  NM_OK_OR_FAIL(nm_node_all_stream_stats(p->a, NULL, 0, sizeof(nm_stream_stats_t), &count));
  nm_stream_stats_t all[64];
  assert_true(count <= 64);
  size_t again = 0;
  NM_OK_OR_FAIL(nm_node_all_stream_stats(p->a, all, 64, sizeof *all, &again));
  assert_int_equal(again, count);
  int found = 0;
  for (size_t i = 0; i < again; ++i) {
    assert_true(all[i].peer_node_id == p->b_id);
    if (all[i].stream_id == 24) found = 1;
  }
  assert_true(found);
  nm_stream_free(a);
  nm_stream_free(b);
}

/* An event between one and two packets, to a peer that reads events cut at a packet
 * boundary, once the path carries 8 KiB datagrams. */
static void open_reliable_on_a_large_path(test_pair* p, uint64_t id, uint64_t window, nm_stream_t** tx,
                                          nm_stream_t** rx) {
  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.reliability = NM_RELIABLE;
  cfg.window_bytes = window;
  test_open_both(p, id, &cfg, tx, rx);
  ASSERT_EVENTUALLY(test_session_stats(p->a, p->b_id).max_datagram_bytes >= 8000, 10000);
}

/* With the smallest window (one packet), such an event goes as fragments: cut at a packet
 * boundary it is charged both packets at once, more than the window ever holds (an audit
 * found the send waiting for ever, spinning). */
static void an_event_over_a_packet_fits_the_smallest_window(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  nm_stream_t *tx, *rx;
  open_reliable_on_a_large_path(&p, 61, NM_MIN_WINDOW_BYTES, &tx, &rx);
  static uint8_t ev[12000], got[12000];
  for (size_t i = 0; i < sizeof ev; ++i) ev[i] = (uint8_t)i;
  nm_event_t e = {ev, sizeof ev};
  size_t sent = 0, n = 0;
  NM_OK_OR_FAIL(nm_stream_send_blocking(tx, &e, 1, 10000, &sent));
  assert_int_equal(sent, 1);
  NM_OK_OR_FAIL(nm_stream_recv(rx, got, sizeof got, &n, 10000));
  assert_int_equal(n, sizeof ev);
  assert_memory_equal(got, ev, sizeof ev);
  nm_stream_free(tx);
  nm_stream_free(rx);
  test_pair_free(&p);
}

/* With credit for one packet but not two left (nobody reads), a blocking send of such an
 * event is taken as fragments rather than retried: it spun, over a million refusals in
 * half a second (an audit). */
static void a_blocking_send_with_one_packet_of_credit_does_not_spin(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  nm_stream_t *tx, *rx;
  open_reliable_on_a_large_path(&p, 62, 65536, &tx, &rx);
  static uint8_t ev[14000];
  nm_event_t e = {ev, sizeof ev};
  for (int i = 0; i < 8; ++i) {
    size_t sent = 0;
    nm_stream_stats_t before = test_stream_stats(tx);
    nm_status s = nm_stream_send_blocking(tx, &e, 1, 300, &sent);
    nm_stream_stats_t after = test_stream_stats(tx);
    if (after.backpressure_events - before.backpressure_events > 1000)
      fail_msg("send %d: %s, %llu refusals in one call", i, nm_strerror(s),
               (unsigned long long)(after.backpressure_events - before.backpressure_events));
    if (s != NM_OK) {
      assert_int_equal(s, NM_ERR_TIMEOUT);
      break;
    }
  }
  nm_stream_free(tx);
  nm_stream_free(rx);
  test_pair_free(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fire_and_forget_round_trip),
      cmocka_unit_test(reliable_round_trip),
      cmocka_unit_test(an_event_over_a_packet_fits_the_smallest_window),
      cmocka_unit_test(a_blocking_send_with_one_packet_of_credit_does_not_spin),
      cmocka_unit_test(many_events_arrive_in_order),
      cmocka_unit_test(largest_event_and_oversize),
      cmocka_unit_test(reliable_events_of_two_packets_cross_one_boundary),
      cmocka_unit_test(backpressure_when_the_receiver_does_not_read),
      cmocka_unit_test(send_reports_partial_progress),
      cmocka_unit_test(unbounded_window),
      cmocka_unit_test(open_is_idempotent_first_config_wins),
      cmocka_unit_test(peer_started_stream_takes_the_first_explicit_config),
      cmocka_unit_test(stale_handle_after_close_and_reopen),
      cmocka_unit_test(close_behaviours),
      cmocka_unit_test(batch_receive),
      cmocka_unit_test(recv_timeouts),
      cmocka_unit_test(event_fd_signals_pending_events),
      cmocka_unit_test(stream_event_fds_signal_one_stream),
      cmocka_unit_test(all_stream_stats_lists_open_streams),
  };
  return cmocka_run_group_tests_name("streams", tests, setup, teardown);
}
