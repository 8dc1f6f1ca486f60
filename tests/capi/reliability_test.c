/* Loss recovery, consumption-driven credit, large events and the 0.23 fallback, under
 * seeded fault injection. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netmesh_testing.h"
#include "peer_fixture.h"
#include "test_support.h"

/* ---- a transfer: one sender thread, one reader thread, on stream 1 of a fresh pair ---- */

typedef struct transfer {
  test_pair p;
  nm_stream_t* tx;
  nm_stream_t* rx;
  uint32_t events;
  size_t event_size; /* >= 4: the first 4 bytes carry the index */
  unsigned spacing_us; /* pause between sends: > 20 µs sends every event in its own packet */
  /* results */
  nm_status send_result;
  uint32_t received;
  uint32_t out_of_order;
  uint32_t duplicates;
  uint32_t corrupt;
  uint8_t* seen;
  _Atomic int sender_done; /* written by the sender thread, polled by the reader */
  int reliable;
} transfer;

static void* transfer_sender(void* arg) {
  transfer* t = arg;
  uint8_t* buf = calloc(1, t->event_size);
  t->send_result = NM_OK;
  for (uint32_t i = 0; i < t->events && t->send_result == NM_OK; ++i) {
    memcpy(buf, &i, 4);
    for (size_t k = 4; k < t->event_size; ++k) buf[k] = (uint8_t)(i + k);
    nm_event_t e = {buf, t->event_size};
    t->send_result = nm_stream_send_blocking(t->tx, &e, 1, 20000, NULL);
    if (t->spacing_us) usleep(t->spacing_us);
  }
  free(buf);
  t->sender_done = 1;
  return NULL;
}

static void* transfer_reader(void* arg) {
  transfer* t = arg;
  uint8_t* buf = malloc(t->event_size + 1);
  int64_t last = -1;
  int idle = 0;
  /* fire-and-forget: what is lost stays lost, so stop 1 s after the sender; reliable:
   * everything must come, the sender's last packets may still be in flight. A lost tail
   * waits for the retransmission timer, which starts at 200 ms (kMinRto) and backs off to
   * 2 s (kMaxRto): at 30% loss both ways a dozen tries (about 20 s) can be needed. */
  int idle_limit = t->reliable ? 300 : 10;
  while (t->received < t->events && idle < idle_limit) {
    size_t n = 0;
    nm_status s = nm_stream_recv(t->rx, buf, t->event_size + 1, &n, 100);
    if (s == NM_ERR_TIMEOUT) {
      if (t->sender_done) ++idle;
      continue;
    }
    if (s != NM_OK || n != t->event_size) {
      ++t->corrupt;
      continue;
    }
    uint32_t i;
    memcpy(&i, buf, 4);
    int ok = i < t->events;
    for (size_t k = 4; ok && k < t->event_size; ++k) ok = buf[k] == (uint8_t)(i + k);
    if (!ok) {
      ++t->corrupt;
      continue;
    }
    if (t->seen[i]) ++t->duplicates;
    t->seen[i] = 1;
    if ((int64_t)i < last) ++t->out_of_order;
    last = i;
    ++t->received;
  }
  free(buf);
  return NULL;
}

static void transfer_setup(transfer* t, nm_reliability mode, uint32_t window) {
  memset(t, 0, sizeof *t);
  /* The drain tests wait for acknowledgement, not for a deadline: under 30% loss each way a
   * busy machine's inflated round trips back the probe timeouts off past the default 5 s (a
   * fresh-clone run under ASan and stress-ng timed out there once). */
  nm_node_config_t c;
  test_config(&c, 0x42);
  c.drain_timeout_ms = 60000;
  test_pair_connect_with(&t->p, &c, &c);
  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.reliability = mode;
  cfg.window_bytes = window;
  cfg.close_behaviour = NM_DRAIN_THEN_CLOSE;  /* the drain tests close through it */
  t->reliable = mode == NM_RELIABLE;
  test_open_both(&t->p, 1, &cfg, &t->tx, &t->rx);
}

static void transfer_run(transfer* t, uint32_t events, size_t event_size, unsigned spacing_us) {
  t->spacing_us = spacing_us;
  t->events = events;
  t->event_size = event_size;
  t->seen = calloc(events, 1);
  pthread_t s, r;
  pthread_create(&r, NULL, transfer_reader, t);
  pthread_create(&s, NULL, transfer_sender, t);
  pthread_join(s, NULL);
  pthread_join(r, NULL);
}

static void transfer_teardown(transfer* t) {
  free(t->seen);
  nm_stream_free(t->tx);
  nm_stream_free(t->rx);
  test_pair_free(&t->p);
}

/* Impairs everything a's side of the pair sends and receives: data one way, ACKs, NACKs
 * and grants the other. */
static void impair_both_ways(transfer* t, const nm_impairment_t* imp) {
  NM_OK_OR_FAIL(nm_node_set_impairment(t->p.a, 0, NM_BOTH_DIRECTIONS, imp));
}

/* 10% loss, 5% duplicates and 10% reordered (by up to 3 ms), both ways. */
static void impair_with_faults(transfer* t, uint64_t seed) {
  nm_impairment_t imp;
  nm_impairment_init(&imp, sizeof imp);
  imp.loss = 0.10;
  imp.duplicate = 0.05;
  imp.reorder = 0.10;
  imp.reorder_window_us = 3000;
  imp.seed = seed;
  impair_both_ways(t, &imp);
}

/* ---- the grid ---- */

static const double kLoss[] = {0.0, 0.01, 0.10, 0.30};

static void grid_cell(nm_reliability mode, double loss, int dup, int reorder, int delay, uint64_t seed) {
  transfer t;
  transfer_setup(&t, mode, 65536);
  nm_impairment_t imp;
  nm_impairment_init(&imp, sizeof imp);
  imp.loss = loss;
  imp.duplicate = dup ? 0.05 : 0;
  imp.reorder = reorder ? 0.10 : 0;
  imp.reorder_window_us = 3000;
  imp.delay_us = delay ? 1000 : 0;
  imp.jitter_us = delay ? 1000 : 0;
  imp.seed = seed;
  impair_both_ways(&t, &imp);
  const uint32_t n = 400;
  transfer_run(&t, n, 64, 50); /* a packet per event: loss hits single events */

  nm_impairment_stats_t ia;
  nm_node_impairment_stats(t.p.a, &ia, sizeof ia);
  nm_stream_stats_t tx, rx;
  nm_stream_stats(t.tx, &tx, sizeof tx);
  nm_stream_stats(t.rx, &rx, sizeof rx);
  printf("  %-8s loss %4.0f%% dup %d reorder %d delay %d: sent %s, got %u/%u, ooo %u, dup %u, "
         "retransmits %llu, nacks %llu, lost credit ok, injected drops %llu\n",
         mode == NM_RELIABLE ? "reliable" : "ff", loss * 100, dup, reorder, delay,
         nm_strerror(t.send_result), t.received, n, t.out_of_order, t.duplicates,
         (unsigned long long)tx.retransmits, (unsigned long long)rx.nacks_sent,
         (unsigned long long)(ia.dropped_loss));
  assert_int_equal(t.send_result, NM_OK); /* never stalls: credit always comes back */
  assert_int_equal(t.corrupt, 0);
  assert_int_equal(t.duplicates, 0); /* network duplicates are suppressed in both modes */
  if (mode == NM_RELIABLE) {
    assert_int_equal(t.received, n); /* exactly once ... */
    assert_int_equal(t.out_of_order, 0); /* ... and in order */
    assert_true(tx.recovering);
    if (loss > 0) assert_true(tx.retransmits > 0);
  } else {
    if (!reorder && !delay) assert_int_equal(t.out_of_order, 0);
    if (loss == 0) assert_int_equal(t.received, n);
    if (loss >= 0.10) assert_true(t.received < n); /* loss is real ... */
    assert_true(t.received >= n * (1 - loss) * 0.6); /* ... and bounded */
  }
  transfer_teardown(&t);
}

static void grid(nm_reliability mode) {
  uint64_t seed = 1;
  for (size_t l = 0; l < sizeof kLoss / sizeof kLoss[0]; ++l)
    for (int dup = 0; dup < 2; ++dup)
      for (int reorder = 0; reorder < 2; ++reorder)
        for (int delay = 0; delay < 2; ++delay) grid_cell(mode, kLoss[l], dup, reorder, delay, seed++);
}

static void reliable_grid(void** state) {
  (void)state;
  grid(NM_RELIABLE);
}

static void fire_and_forget_grid(void** state) {
  (void)state;
  grid(NM_FIRE_AND_FORGET);
}

/* ---- adaptive flush: back-to-back sends share packets, also under faults ---- */

static void bursts_share_packets_and_survive_faults(void** state) {
  (void)state;
  for (int mode = 0; mode < 2; ++mode) {
    transfer t;
    transfer_setup(&t, mode ? NM_RELIABLE : NM_FIRE_AND_FORGET, 65536);
    impair_with_faults(&t, 77);
    const uint32_t n = 20000;
    transfer_run(&t, n, 64, 0); /* one event per call, as fast as the sender can */
    nm_stream_stats_t tx;
    nm_stream_stats(t.tx, &tx, sizeof tx);
    printf("  %s: %u events in %llu packets, got %u, retransmits %llu\n", mode ? "reliable" : "ff",
           n, (unsigned long long)tx.tx_seq, t.received, (unsigned long long)tx.retransmits);
    assert_int_equal(t.send_result, NM_OK);
    assert_int_equal(tx.tx_events, n);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    /* Events shared packets. A send joins the open packet when it comes within 20 us of the
     * last one, a matter of speed: under a sanitizer's runtime one call can take longer. */
    assert_true(tx.tx_seq < n / 2);
#endif
    assert_int_equal(t.corrupt, 0);
    assert_int_equal(t.duplicates, 0);
    if (mode) {
      assert_int_equal(t.received, n);
      assert_int_equal(t.out_of_order, 0);
      assert_true(tx.retransmits > 0);
    } else {
      assert_true(t.received < n);
      assert_true(t.received >= n * 0.9 * 0.6);
    }
    transfer_teardown(&t);
  }
}

/* ---- events cut at packet boundaries: packets leave full, events arrive whole ---- */

typedef struct spans {
  nm_stream_t* tx;
  nm_stream_t* rx;
  uint32_t events;
  size_t fixed_size; /* 0: sizes from 4 to max_size, varying */
  size_t max_size;
  nm_status send_result;
  uint32_t received; /* in order, intact */
  uint32_t bad;      /* wrong size, content or place */
} spans;

static size_t span_size(const spans* t, uint32_t i) {
  return t->fixed_size ? t->fixed_size : 4 + (size_t)((i * 2654435761u) % (t->max_size - 3));
}

static void span_fill(uint8_t* b, uint32_t i, size_t len) {
  memcpy(b, &i, 4);
  for (size_t k = 4; k < len; ++k) b[k] = (uint8_t)(i * 7 + k);
}

static void* spans_sender(void* arg) {
  spans* t = arg;
  enum { kBatch = 16 };
  uint8_t* bufs = malloc(kBatch * t->max_size);
  nm_event_t ev[kBatch];
  t->send_result = NM_OK;
  for (uint32_t i = 0; i < t->events && t->send_result == NM_OK; i += kBatch) {
    uint32_t count = t->events - i < kBatch ? t->events - i : kBatch;
    for (uint32_t j = 0; j < count; ++j) {
      size_t len = span_size(t, i + j);
      span_fill(bufs + j * t->max_size, i + j, len);
      ev[j] = (nm_event_t){bufs + j * t->max_size, len};
    }
    t->send_result = nm_stream_send_blocking(t->tx, ev, count, 20000, NULL);
  }
  free(bufs);
  return NULL;
}

static void spans_run(spans* t) {
  pthread_t s;
  pthread_create(&s, NULL, spans_sender, t);
  uint8_t* buf = malloc(t->max_size + 1);
  uint8_t* want = malloc(t->max_size);
  for (int idle = 0; t->received + t->bad < t->events && idle < 300;) {
    size_t n = 0;
    nm_status st = nm_stream_recv(t->rx, buf, t->max_size + 1, &n, 100);
    if (st == NM_ERR_TIMEOUT) {
      ++idle;
      continue;
    }
    idle = 0;
    uint32_t i = t->received;
    size_t len = span_size(t, i);
    span_fill(want, i, len);
    if (st == NM_OK && n == len && memcmp(buf, want, len) == 0) {
      ++t->received;
    } else {
      ++t->bad;
    }
  }
  pthread_join(s, NULL);
  free(buf);
  free(want);
}

static void events_cut_at_packet_boundaries_arrive_whole(void** state) {
  (void)state;
  static const char* const kCase[] = {"clean", "faults", "faults, large"};
  for (int faults = 0; faults < 3; ++faults) {
    transfer t;
    transfer_setup(&t, NM_RELIABLE, 1 << 20);
    spans sp = {.tx = t.tx, .rx = t.rx};
    if (faults == 1) {
      /* Every cut point of events from 4 to 1,100 bytes, under loss, duplication and
       * reordering both ways. */
      impair_with_faults(&t, 21);
      sp.events = 6000;
      sp.max_size = 1100;
    } else if (faults == 2) {
      /* Events from 4 to 16,000 bytes under the same faults: cut at one boundary up to two
       * packets' payload (of whichever datagram size path MTU discovery has reached),
       * fragments above, small ones packed, all in one stream. */
      impair_with_faults(&t, 22);
      sp.events = 600;
      sp.max_size = 16000;
    } else {
      /* 5,000-byte events in loopback's 8 KiB datagrams: one per packet if events were
       * never cut, 1.6 when packets leave full. */
      nm_session_stats_t ss;
      ASSERT_EVENTUALLY((nm_node_session_stats(t.p.a, t.p.b_id, &ss, sizeof ss), ss.max_datagram_bytes == 8192),
                        5000);
      sp.events = 3000;
      sp.fixed_size = sp.max_size = 5000;
    }
    spans_run(&sp);
    nm_stream_stats_t tx;
    nm_stream_stats(t.tx, &tx, sizeof tx);
    printf("  %s: %u events in %llu packets, got %u whole and in order, %u bad, retransmits %llu\n",
           kCase[faults], sp.events, (unsigned long long)tx.tx_seq, sp.received, sp.bad,
           (unsigned long long)tx.retransmits);
    if (sp.send_result != NM_OK || sp.received != sp.events) test_print_transfer_state(&t.p, t.tx, t.rx);
    assert_int_equal(sp.send_result, NM_OK);
    assert_int_equal(sp.bad, 0);
    assert_int_equal(sp.received, sp.events);
    /* Packets left full, whatever the machine's speed: the events of one call share them. */
    if (!faults) assert_true(tx.tx_seq < sp.events * 4 / 5);
    transfer_teardown(&t);
  }
}

/* ---- flow control on consumption ---- */

/* Sends `e` until the window refuses it: how many went. */
static size_t send_until_backpressure(nm_stream_t* tx, const nm_event_t* e) {
  size_t sent = 0;
  while (nm_stream_send(tx, e, 1, NULL) == NM_OK) ++sent;
  return sent;
}

/* Sends `e`, waiting up to `ms` for credit: 1 if it went, 0 if no credit came. */
static size_t send_one_within(nm_stream_t* tx, const nm_event_t* e, int ms) {
  size_t n = 0;
  nm_status s = nm_stream_send_blocking(tx, e, 1, ms, &n);
  assert_true(s == NM_OK || s == NM_ERR_TIMEOUT);
  return n;
}

static void slow_reader_holds_the_sender_at_its_window(void** state) {
  (void)state;
  transfer t;
  transfer_setup(&t, NM_RELIABLE, 65536);
  static uint8_t kb[1000];
  nm_event_t e = {kb, sizeof kb};
  /* An event alone in its packet costs 1088 bytes of credit. One that joins a packet still
   * waiting for the pacer costs only its frame (1004), and may be cut there, its credit
   * then coming back with the next event read: on a busy machine sends 50 us apart do share
   * packets. So the checks are the window's invariant, whatever the packing: the sender is
   * never more events ahead of the reader than the window holds at 1004 bytes each. */
  const size_t most_ahead = 65536 / 1004;
  size_t sent = 0, read = 0;
  nm_status s;
  while ((s = nm_stream_send(t.tx, &e, 1, NULL)) == NM_OK) {
    ++sent;
    usleep(50);
  }
  assert_int_equal(s, NM_ERR_BACKPRESSURE);
  assert_in_range(sent, 65536 / 1088, most_ahead);
  /* the reader takes one event at a time; the sender only ever gets that much back
   * (grants are batched, but a stalled sender's probe fetches what was read) */
  char buf[1000];
  size_t n;
  for (int round = 0; round < 20; ++round) {
    NM_OK_OR_FAIL(nm_stream_recv(t.rx, buf, sizeof buf, &n, 2000));
    ++read;
    usleep(50);
    /* a short wait: this read's credit may come only with the next one's */
    sent += send_one_within(t.tx, &e, 200);
    sent += send_until_backpressure(t.tx, &e);
    assert_true(sent - read <= most_ahead);
    nm_stream_stats_t rx;
    nm_stream_stats(t.rx, &rx, sizeof rx);
    /* memory on the receiving side stays within the window */
    assert_true(rx.rx_buffered_bytes <= 65536);
    assert_true(rx.inbound_pending <= most_ahead);
  }
  /* what was read does come back: a packet holds at most 8 such events, so within 9 more
   * reads one whole packet's credit (at least 1088 bytes) is released */
  size_t sent_before = sent;
  for (int more = 0; more < 9 && sent == sent_before; ++more) {
    NM_OK_OR_FAIL(nm_stream_recv(t.rx, buf, sizeof buf, &n, 2000));
    ++read;
    sent += send_one_within(t.tx, &e, 1000);
  }
  assert_true(sent > sent_before);
  sent += send_until_backpressure(t.tx, &e);
  assert_true(sent - read <= most_ahead);
  nm_stream_stats_t tx;
  nm_stream_stats(t.tx, &tx, sizeof tx);
  assert_true(tx.backpressure_events >= 1);
  assert_true(tx.tx_credit_remaining < 1088); /* still held at the window */
  transfer_teardown(&t);
}

/* ---- large events ---- */

static void sixteen_mib_events_under_loss(void** state) {
  (void)state;
  for (int mode = 0; mode < 2; ++mode) {
    transfer t;
    transfer_setup(&t, mode ? NM_RELIABLE : NM_FIRE_AND_FORGET, 65536);
    nm_impairment_t imp;
    nm_impairment_init(&imp, sizeof imp);
    imp.loss = mode ? 0.05 : 0.0005; /* fire-and-forget: some events must survive */
    imp.seed = 42;
    impair_both_ways(&t, &imp);
    const size_t size = 16u << 20;
    transfer_run(&t, 3, size, 0);
    nm_stream_stats_t rx;
    nm_stream_stats(t.rx, &rx, sizeof rx);
    printf("  %s: %u of 3 16-MiB events, %llu incomplete dropped\n", mode ? "reliable" : "ff",
           t.received, (unsigned long long)rx.rx_incomplete_dropped);
    if (mode && t.received != 3) test_print_transfer_state(&t.p, t.tx, t.rx);
    assert_int_equal(t.send_result, NM_OK);
    assert_int_equal(t.corrupt, 0);
    if (mode) {
      assert_int_equal(t.received, 3);
      assert_int_equal(t.out_of_order, 0);
    } else {
      /* what arrives is whole; what lost a fragment is dropped whole and counted */
      assert_int_equal(t.received + rx.rx_incomplete_dropped, 3);
    }
    transfer_teardown(&t);
  }
}

static void max_event_bytes_is_enforced_on_both_sides(void** state) {
  (void)state;
  nm_node_config_t small;
  test_config(&small, 0x42);
  small.max_event_bytes = 100000;
  static uint8_t big[200000];
  nm_event_t e = {big, sizeof big};
  nm_stream_t *a, *b;
  test_pair p;
  /* the sender refuses what exceeds its own limit */
  test_pair_connect_with(&p, &small, NULL);
  test_open_both(&p, 5, NULL, &a, &b);
  assert_int_equal(nm_stream_send(a, &e, 1, NULL), NM_ERR_EVENT_TOO_LARGE);
  nm_stream_free(a);
  nm_stream_free(b);
  test_pair_free(&p);
  /* the receiver drops (and counts) what exceeds its limit, and the stream goes on */
  test_pair_connect_with(&p, NULL, &small);
  test_open_both(&p, 5, NULL, &a, &b);
  NM_OK_OR_FAIL(nm_stream_send_blocking(a, &e, 1, 5000, NULL));
  nm_event_t after = test_event("after");
  NM_OK_OR_FAIL(nm_stream_send_blocking(a, &after, 1, 5000, NULL));
  char buf[16];
  size_t n;
  NM_OK_OR_FAIL(nm_stream_recv(b, buf, sizeof buf, &n, 5000));
  assert_int_equal(n, 5);
  nm_stream_stats_t st;
  nm_stream_stats(b, &st, sizeof st);
  assert_int_equal(st.rx_oversize_dropped, 1);
  nm_stream_free(a);
  nm_stream_free(b);
  test_pair_free(&p);
}

/* ---- close ---- */

static void drain_then_close_waits_for_acknowledgement(void** state) {
  (void)state;
  transfer t;
  transfer_setup(&t, NM_RELIABLE, 0);
  nm_impairment_t imp;
  nm_impairment_init(&imp, sizeof imp);
  imp.loss = 0.3;
  imp.seed = 7;
  impair_both_ways(&t, &imp);
  static uint8_t ev[100];
  for (uint32_t i = 0; i < 200; ++i) {
    memcpy(ev, &i, 4);
    nm_event_t e = {ev, sizeof ev};
    NM_OK_OR_FAIL(nm_stream_send(t.tx, &e, 1, NULL));
  }
  /* returns once every packet was acknowledged, despite 30% loss both ways */
  NM_OK_OR_FAIL(nm_node_close_stream(t.p.a, t.tx));
  nm_stream_stats_t rx;
  nm_stream_stats(t.rx, &rx, sizeof rx);
  assert_int_equal(rx.inbound_pending, 200);
  for (uint32_t i = 0; i < 200; ++i) {
    size_t n;
    NM_OK_OR_FAIL(nm_stream_recv(t.rx, ev, sizeof ev, &n, 0));
    uint32_t got;
    memcpy(&got, ev, 4);
    assert_int_equal(got, i);
  }
  transfer_teardown(&t);
}

static void reopened_stream_is_not_confused_with_the_old_one(void** state) {
  (void)state;
  transfer t;
  transfer_setup(&t, NM_RELIABLE, 65536);
  nm_event_t e = test_event("old");
  for (int i = 0; i < 50; ++i) NM_OK_OR_FAIL(nm_stream_send(t.tx, &e, 1, NULL));
  NM_OK_OR_FAIL(nm_node_close_stream(t.p.a, t.tx));
  nm_stream_t* again;
  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.reliability = NM_RELIABLE;
  NM_OK_OR_FAIL(nm_node_open_stream(t.p.a, t.p.b_id, 1, &cfg, &again));
  nm_event_t fresh = test_event("new");
  for (int i = 0; i < 5; ++i) NM_OK_OR_FAIL(nm_stream_send(again, &fresh, 1, NULL));
  char buf[8];
  size_t n;
  for (int i = 0; i < 55; ++i) {
    NM_OK_OR_FAIL(nm_stream_recv(t.rx, buf, sizeof buf, &n, 2000));
    assert_memory_equal(buf, i < 50 ? "old" : "new", 3);
  }
  /* Nothing else: seq 0..4 again were neither dropped as duplicates of the old stream (the
   * loop above got them) nor delivered twice. (Duplicates dropped are not asserted: a slow
   * host makes retransmissions that arrive twice, and they are rightly dropped.) */
  assert_int_equal(nm_stream_recv(t.rx, buf, sizeof buf, &n, 200), NM_ERR_TIMEOUT);
  nm_stream_free(again);
  transfer_teardown(&t);
}

typedef struct late_open {
  test_pair* p;
  nm_status result;
} late_open;

static void* send_1000_reliable(void* arg) {
  late_open* job = arg;
  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.reliability = NM_RELIABLE;
  nm_stream_t* s;
  job->result = nm_node_open_stream(job->p->a, job->p->b_id, 2, &cfg, &s);
  for (uint32_t i = 0; i < 1000 && job->result == NM_OK; i += 8) {
    nm_event_t ev[8];
    uint32_t v[8];
    for (int k = 0; k < 8; ++k) {
      v[k] = i + k;
      ev[k] = (nm_event_t){&v[k], 4};
    }
    job->result = nm_stream_send_blocking(s, ev, 8, 10000, NULL);
  }
  nm_stream_free(s);
  return NULL;
}

static void stream_opened_while_packets_arrive(void** state) {
  (void)state;
  /* The peer starts a reliable stream; we open it only after packets (and the peer's
   * retransmissions of packets we did not yet acknowledge) arrive: delivery stays
   * exactly once and in order. */
  for (int delay_us = 500; delay_us <= 4000; delay_us += 700) {
    test_pair p;
    test_pair_connect(&p);
    late_open job = {&p, NM_OK};
    pthread_t t;
    pthread_create(&t, NULL, send_1000_reliable, &job);
    usleep(delay_us);
    nm_stream_t* b;
    NM_OK_OR_FAIL(nm_node_open_stream(p.b, p.a_id, 2, NULL, &b));
    for (uint32_t i = 0; i < 1000; ++i) {
      uint32_t v;
      size_t n;
      NM_OK_OR_FAIL(nm_stream_recv(b, &v, sizeof v, &n, 5000));
      assert_int_equal(v, i);
    }
    uint32_t extra;
    size_t n;
    assert_int_equal(nm_stream_recv(b, &extra, sizeof extra, &n, 200), NM_ERR_TIMEOUT);
    pthread_join(t, NULL);
    assert_int_equal(job.result, NM_OK);
    nm_stream_free(b);
    test_pair_free(&p);
  }
}

/* ---- a node that speaks only net-mesh 0.23 ---- */

static void compat_peer_gets_only_0_23(void** state) {
  (void)state;
  nm_node_config_t c;
  test_config(&c, 0x42);
  c.compat_0_23 = 1;
  nm_node_t* old_node;
  NM_OK_OR_FAIL(nm_node_new(&c, &old_node));
  nm_node_t* a = test_node(0x42);
  uint64_t a_id, old_id;
  nm_node_id(a, &a_id);
  nm_node_id(old_node, &old_id);
  assert_int_equal(nm_node_accept(old_node, a_id, 0), NM_ERR_TIMEOUT);
  uint8_t key[32];
  char addr[NM_ADDR_MAX];
  nm_node_public_key(old_node, key);
  nm_node_local_addr(old_node, addr, sizeof addr);
  NM_OK_OR_FAIL(nm_node_connect(a, addr, key, old_id));
  NM_OK_OR_FAIL(nm_node_accept(old_node, a_id, 1000));

  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.reliability = NM_RELIABLE;
  nm_stream_t *tx, *rx;
  NM_OK_OR_FAIL(nm_node_open_stream(a, old_id, 3, &cfg, &tx));
  NM_OK_OR_FAIL(nm_node_open_stream(old_node, a_id, 3, &cfg, &rx));
  /* no fragmentation towards 0.23: the largest event is one packet */
  static uint8_t big[NM_MAX_EVENT_SIZE + 1];
  nm_event_t over = {big, sizeof big};
  assert_int_equal(nm_stream_send(tx, &over, 1, NULL), NM_ERR_EVENT_TOO_LARGE);
  assert_true(strstr(nm_last_error_message(), "0.23") != NULL);
  nm_event_t max = {big, NM_MAX_EVENT_SIZE};
  NM_OK_OR_FAIL(nm_stream_send(tx, &max, 1, NULL));
  size_t n;
  NM_OK_OR_FAIL(nm_stream_recv(rx, big, sizeof big, &n, 2000));
  assert_int_equal(n, NM_MAX_EVENT_SIZE);
  /* reliable is 0.23's reliable: no retransmission state, no extension traffic */
  nm_stream_stats_t st;
  nm_stream_stats(tx, &st, sizeof st);
  assert_int_equal(st.recovering, 0);
  assert_int_equal(st.tx_unacked_packets, 0);
  nm_node_stats_t ns;
  nm_node_stats(old_node, &ns, sizeof ns);
  assert_int_equal(ns.drop_unknown_subprotocol, 0); /* nothing 0.23 does not know was sent */
  nm_stream_free(tx);
  nm_stream_free(rx);
  nm_node_free(a);
  nm_node_free(old_node);
}

/* ---- the retransmission timer behind session acknowledgements ---- */

/* A packet whose datagram the session acknowledged but whose stream acknowledgement never
 * comes (the peer's stream did not keep it: pieces of it were put together too late, or
 * its ACK was lost) is sent again by the stream's timer, though nothing in flight wakes
 * the pacer. (The resend waited in the queue for ever, and a sender out of credit behind
 * it with it: 7 runs in about 480 of this suite's two fault cases beside stress-ng.) */
static void a_packet_only_the_session_acknowledged_is_sent_again(void** state) {
  (void)state;
  peer_fixture f;
  peer_fixture_new(&f, NULL);
  /* session acknowledgements without the release on them: only a stream ACK releases a
   * packet */
  assert_int_equal(nmt_peer_handshake(f.peer, f.psk, NMT_CAP_ALL | NMT_CAP_SESSION_ACK, 2000), 0);
  NM_OK_OR_FAIL(nm_node_accept(f.node, f.peer_id, 2000));
  ASSERT_EVENTUALLY(test_session_stats(f.node, f.peer_id).cwnd_bytes > 0, 5000);
  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.reliability = NM_RELIABLE;
  nm_stream_t* s;
  NM_OK_OR_FAIL(nm_node_open_stream(f.node, f.peer_id, 9, &cfg, &s));
  nm_event_t e = test_event("only once?");
  NM_OK_OR_FAIL(nm_stream_send(s, &e, 1, NULL));
  nmt_received r;
  do {
    assert_int_equal(nmt_peer_recv(f.peer, &r, 5000, 1), 0);
  } while (r.stream_id != 9);
  uint64_t seq = r.sequence;
  assert_int_equal(nmt_peer_send_session_ack(f.peer, r.packet_number, r.packet_number), 0);
  ASSERT_EVENTUALLY(test_session_stats(f.node, f.peer_id).datagrams_acked >= 1, 5000);
  /* nothing is in flight now; the packet comes again, once its timer expires */
  double deadline = test_now_ms() + 5000;
  int again = 0;
  while (!again && test_now_ms() < deadline)
    again = nmt_peer_recv(f.peer, &r, 100, 1) == 0 && r.stream_id == 9 && r.sequence == seq;
  assert_true(again);
  assert_true(test_stream_stats(s).retransmits >= 1);
  nm_stream_free(s);
  peer_fixture_free(&f);
}

static void impairment_arguments(void** state) {
  (void)state;
  nm_node_t* n = test_node(1);
  nm_impairment_t imp;
  nm_impairment_init(&imp, sizeof imp);
  assert_int_equal(imp.seed, 1);
  imp.loss = 1.5;
  assert_int_equal(nm_node_set_impairment(n, 0, NM_OUTBOUND, &imp), NM_ERR_INVALID_ARGUMENT);
  imp.loss = 0.5;
  assert_int_equal(nm_node_set_impairment(n, 0, 0, &imp), NM_ERR_INVALID_ARGUMENT);
  NM_OK_OR_FAIL(nm_node_set_impairment(n, 0, NM_OUTBOUND, &imp));
  NM_OK_OR_FAIL(nm_node_set_impairment(n, 0, NM_OUTBOUND, NULL));
  assert_int_equal(nm_impairment_init(NULL, sizeof(nm_impairment_t)), NM_ERR_INVALID_ARGUMENT);
  nm_node_free(n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(impairment_arguments),
      cmocka_unit_test(reliable_grid),
      cmocka_unit_test(fire_and_forget_grid),
      cmocka_unit_test(bursts_share_packets_and_survive_faults),
      cmocka_unit_test(events_cut_at_packet_boundaries_arrive_whole),
      cmocka_unit_test(slow_reader_holds_the_sender_at_its_window),
      cmocka_unit_test(sixteen_mib_events_under_loss),
      cmocka_unit_test(max_event_bytes_is_enforced_on_both_sides),
      cmocka_unit_test(a_packet_only_the_session_acknowledged_is_sent_again),
      cmocka_unit_test(drain_then_close_waits_for_acknowledgement),
      cmocka_unit_test(reopened_stream_is_not_confused_with_the_old_one),
      cmocka_unit_test(stream_opened_while_packets_arrive),
      cmocka_unit_test(compat_peer_gets_only_0_23),
  };
  if (getenv("NM_TEST_FILTER")) cmocka_set_test_filter(getenv("NM_TEST_FILTER"));
  return cmocka_run_group_tests_name("reliability", tests, NULL, NULL);
}
