/* Thread safety: many threads on one node, and freeing a node under blocked callers. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "netmesh_testing.h"
#include "test_support.h"

enum { kThreads = 4, kEventsPerThread = 3000 };

typedef struct worker {
  test_pair* p;
  uint64_t stream_id;
  nm_status result;
  uint64_t sum;
} worker;

static void* sender_main(void* arg) {
  worker* w = arg;
  nm_stream_t* s = NULL;
  w->result = nm_node_open_stream(w->p->a, w->p->b_id, w->stream_id, NULL, &s);
  for (uint32_t i = 1; i <= kEventsPerThread && w->result == NM_OK; ++i) {
    nm_event_t e = {&i, sizeof i};
    w->result = nm_stream_send_blocking(s, &e, 1, 10000, NULL);
  }
  nm_stream_free(s);
  return NULL;
}

static void* receiver_main(void* arg) {
  worker* w = arg;
  nm_stream_t* s = NULL;
  w->result = nm_node_open_stream(w->p->b, w->p->a_id, w->stream_id, NULL, &s);
  for (uint32_t i = 1; i <= kEventsPerThread && w->result == NM_OK; ++i) {
    uint32_t v = 0;
    size_t n = 0;
    w->result = nm_stream_recv(s, &v, sizeof v, &n, 10000);
    if (w->result == NM_OK && v != i) w->result = NM_ERR_INTERNAL; /* out of order */
    w->sum += v;
  }
  nm_stream_free(s);
  return NULL;
}

static void concurrent_streams_from_many_threads(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  worker senders[kThreads], receivers[kThreads];
  pthread_t ts[kThreads], tr[kThreads];
  for (int i = 0; i < kThreads; ++i) {
    receivers[i] = (worker){&p, 100 + i, NM_OK, 0};
    senders[i] = (worker){&p, 100 + i, NM_OK, 0};
    pthread_create(&tr[i], NULL, receiver_main, &receivers[i]);
  }
  for (int i = 0; i < kThreads; ++i) pthread_create(&ts[i], NULL, sender_main, &senders[i]);
  for (int i = 0; i < kThreads; ++i) {
    pthread_join(ts[i], NULL);
    pthread_join(tr[i], NULL);
    assert_int_equal(senders[i].result, NM_OK);
    assert_int_equal(receivers[i].result, NM_OK);
    assert_true(receivers[i].sum == (uint64_t)kEventsPerThread * (kEventsPerThread + 1) / 2);
  }
  /* concurrent senders share one TX counter: the wire order must stay inside the replay
   * window, or the receiver would drop packets as replays */
  nm_node_stats_t st;
  nm_node_stats(p.b, &st, sizeof st);
  assert_int_equal(st.drop_replay, 0);
  assert_int_equal(st.drop_auth_failed, 0);
  test_pair_free(&p);
}

typedef struct blocked {
  nm_stream_t* s;
  nm_status result;
  atomic_int done;
} blocked;

static void* blocked_recv_main(void* arg) {
  blocked* b = arg;
  char buf[16];
  size_t n;
  b->result = nm_stream_recv(b->s, buf, sizeof buf, &n, -1);
  atomic_store(&b->done, 1);
  return NULL;
}

static void* blocked_send_main(void* arg) {
  blocked* b = arg;
  static char payload[1000];
  static nm_event_t ev[4096];
  for (int i = 0; i < 4096; ++i) ev[i] = (nm_event_t){payload, sizeof payload};
  size_t sent;
  b->result = nm_stream_send_blocking(b->s, ev, 4096, -1, &sent); /* 4 MB: beyond the window */
  atomic_store(&b->done, 1);
  return NULL;
}

/* nm_stream_free wakes the calls blocked on that handle (they went on waiting, and a
 * receive later took an event through the freed handle: an audit's find). The events stay
 * for the stream's other handles. */
static void stream_free_wakes_calls_blocked_on_the_handle(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  nm_stream_t *a, *b, *b2, *bulk_a, *bulk_b;
  test_open_both(&p, 7, NULL, &a, &b); /* b waits for an event here */
  NM_OK_OR_FAIL(nm_node_open_stream(p.b, p.a_id, 7, NULL, &b2)); /* a second handle */
  test_open_both(&p, 8, NULL, &bulk_a, &bulk_b); /* bulk_a waits for credit here */
  blocked receiver = {b, NM_OK, 0}, sender = {bulk_a, NM_OK, 0};
  pthread_t tr, ts;
  pthread_create(&tr, NULL, blocked_recv_main, &receiver);
  pthread_create(&ts, NULL, blocked_send_main, &sender);
  /* The sender ran out of credit (b's side does not read): it waits. */
  ASSERT_EVENTUALLY(test_stream_stats(bulk_a).backpressure_events > 0, 5000);
  NM_OK_OR_FAIL(nm_stream_free(bulk_a));
  ASSERT_EVENTUALLY(atomic_load(&sender.done), 5000);
  assert_int_equal(sender.result, NM_ERR_INVALID_HANDLE);
  /* The receiver's handle: freed while it waits (or before it began: the same answer). */
  NM_OK_OR_FAIL(nm_stream_free(b));
  ASSERT_EVENTUALLY(atomic_load(&receiver.done), 5000);
  assert_int_equal(receiver.result, NM_ERR_INVALID_HANDLE);
  pthread_join(tr, NULL);
  pthread_join(ts, NULL);
  /* The stream is still there for its other handle. */
  nm_event_t e = test_event("after");
  NM_OK_OR_FAIL(nm_stream_send(a, &e, 1, NULL));
  char buf[16];
  size_t n;
  NM_OK_OR_FAIL(nm_stream_recv(b2, buf, sizeof buf, &n, 2000));
  assert_int_equal(n, 5);
  nm_stream_free(a);
  nm_stream_free(b2);
  nm_stream_free(bulk_b);
  test_pair_free(&p);
}

static void free_wakes_blocked_callers(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  nm_stream_t *a, *b;
  test_open_both(&p, 7, NULL, &a, &b);
  blocked bl = {b, NM_OK, 0};
  pthread_t t;
  pthread_create(&t, NULL, blocked_recv_main, &bl);
  usleep(100 * 1000);
  NM_OK_OR_FAIL(nm_node_free(p.b));
  pthread_join(t, NULL);
  assert_int_equal(bl.result, NM_ERR_SHUTDOWN);
  /* the stream handle outlives its node safely */
  nm_stream_stats_t st;
  assert_int_equal(nm_stream_stats(b, &st, sizeof st), NM_ERR_SHUTDOWN);
  nm_event_t e = test_event("x");
  assert_int_equal(nm_stream_send(b, &e, 1, NULL), NM_ERR_SHUTDOWN);
  NM_OK_OR_FAIL(nm_stream_free(b));
  nm_stream_free(a);
  NM_OK_OR_FAIL(nm_node_free(p.a));
}

typedef struct closing {
  nm_node_t* node;
  nm_stream_t* stream;
  nm_status result;
} closing;

static void* close_main(void* arg) {
  closing* c = arg;
  c->result = nm_node_close_stream(c->node, c->stream);
  return NULL;
}

/* A DRAIN_THEN_CLOSE close waiting for acknowledgements when its node is freed returns
 * NM_ERR_SHUTDOWN, not NM_OK: what it sent was never acknowledged (an audit found NM_OK). */
static void free_during_a_drain_close_is_not_ok(void** state) {
  (void)state;
  nm_node_config_t ca;
  test_config(&ca, 0x42);
  ca.drain_timeout_ms = 60000; /* the free, not the timeout, ends the wait */
  test_pair p;
  test_pair_new(&p, &ca, NULL);
  test_pair_connect_at(&p, NULL);
  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.reliability = NM_RELIABLE;
  cfg.close_behaviour = NM_DRAIN_THEN_CLOSE;
  nm_stream_t *tx, *rx;
  test_open_both(&p, 8, &cfg, &tx, &rx);
  test_lose_all(p.a, p.b_id, NM_OUTBOUND, 1);
  nm_event_t e = test_event("never acknowledged");
  NM_OK_OR_FAIL(nm_stream_send(tx, &e, 1, NULL));
  closing c = {p.a, tx, NM_ERR_INTERNAL};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, close_main, &c), 0);
  ASSERT_EVENTUALLY(test_stream_stats(tx).active == 0, 5000); /* the close is draining */
  NM_OK_OR_FAIL(nm_node_free(p.a));
  pthread_join(t, NULL);
  assert_int_equal(c.result, NM_ERR_SHUTDOWN);
  nm_stream_free(tx);
  nm_stream_free(rx);
  NM_OK_OR_FAIL(nm_node_free(p.b));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(concurrent_streams_from_many_threads),
      cmocka_unit_test(free_wakes_blocked_callers),
      cmocka_unit_test(stream_free_wakes_calls_blocked_on_the_handle),
      cmocka_unit_test(free_during_a_drain_close_is_not_ok),
  };
  return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
