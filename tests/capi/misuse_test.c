/* C API misuse, meant to run under ASan/UBSan and TSan (scripts/sanitize.sh): double
 * frees, use after free, handles of another node or kind, calls racing nm_node_free, and
 * many threads hammering one node with every call at once. Nothing may crash; every
 * misuse must yield its documented status. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"
#include "netmesh_testing.h"

static void double_free_is_an_error(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  nm_stream_t* s = NULL;
  NM_OK_OR_FAIL(nm_node_open_stream(p.a, p.b_id, 1, NULL, &s));
  NM_OK_OR_FAIL(nm_stream_free(s));
  assert_int_equal(nm_stream_free(s), NM_ERR_INVALID_HANDLE);
  nm_node_t* b = p.b;
  NM_OK_OR_FAIL(nm_node_free(p.a));
  assert_int_equal(nm_node_free(p.a), NM_ERR_INVALID_HANDLE);
  NM_OK_OR_FAIL(nm_node_free(b));
  assert_int_equal(nm_node_free(b), NM_ERR_INVALID_HANDLE);
}

static void use_after_free_is_an_error(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  nm_stream_t *s = NULL, *closed = NULL;
  NM_OK_OR_FAIL(nm_node_open_stream(p.a, p.b_id, 1, NULL, &s));
  NM_OK_OR_FAIL(nm_node_open_stream(p.a, p.b_id, 2, NULL, &closed));
  NM_OK_OR_FAIL(nm_node_close_stream(p.a, closed));
  nm_event_t e = {"x", 1};
  char buf[8];
  size_t n;
  /* a closed stream: stale, not dangling */
  assert_int_equal(nm_stream_send(closed, &e, 1, NULL), NM_ERR_NOT_CONNECTED);
  assert_int_equal(nm_node_close_stream(p.a, closed), NM_ERR_NOT_CONNECTED);
  NM_OK_OR_FAIL(nm_stream_free(closed));
  assert_int_equal(nm_stream_send(closed, &e, 1, NULL), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_stream_recv(closed, buf, sizeof buf, &n, 0), NM_ERR_INVALID_HANDLE);

  NM_OK_OR_FAIL(nm_node_free(p.a));
  /* the node's handle is dead for every call */
  uint8_t key[NM_KEY_SIZE];
  uint64_t id;
  char addr[NM_ADDR_MAX];
  nm_node_stats_t st;
  int fd;
  size_t count;
  nm_stream_t* s2 = NULL;
  assert_int_equal(nm_node_public_key(p.a, key), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_node_id(p.a, &id), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_node_local_addr(p.a, addr, sizeof addr), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_node_stats(p.a, &st, sizeof st), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_node_event_fd(p.a, &fd), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_node_connect(p.a, "127.0.0.1:9", key, 1), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_node_allow_peer(p.a, 1), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_node_accept(p.a, 1, 0), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_node_open_stream(p.a, p.b_id, 3, NULL, &s2), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_node_all_stream_stats(p.a, NULL, 0, sizeof(nm_stream_stats_t), &count), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_node_close_stream(p.a, s), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_node_set_impairment(p.a, 0, NM_BOTH_DIRECTIONS, NULL), NM_ERR_INVALID_HANDLE);
  /* its stream handles report the shutdown */
  nm_stream_stats_t ss;
  assert_int_equal(nm_stream_send(s, &e, 1, NULL), NM_ERR_SHUTDOWN);
  assert_int_equal(nm_stream_recv(s, buf, sizeof buf, &n, 0), NM_ERR_SHUTDOWN);
  assert_int_equal(nm_stream_stats(s, &ss, sizeof ss), NM_ERR_SHUTDOWN);
  NM_OK_OR_FAIL(nm_stream_free(s));
  NM_OK_OR_FAIL(nm_node_free(p.b));
}

static void stream_of_another_node_is_refused(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  nm_stream_t *on_a = NULL, *on_b = NULL;
  test_open_both(&p, 4, NULL, &on_a, &on_b);
  assert_int_equal(nm_node_close_stream(p.b, on_a), NM_ERR_WRONG_NODE);
  assert_int_equal(nm_node_close_stream(p.a, on_b), NM_ERR_WRONG_NODE);
  /* handles of the wrong kind and forged tokens */
  assert_int_equal(nm_node_close_stream(p.a, (nm_stream_t*)p.a), NM_ERR_INVALID_HANDLE);
  nm_node_stats_t st;
  assert_int_equal(nm_node_stats((nm_node_t*)on_a, &st, sizeof st), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_node_stats((nm_node_t*)(uintptr_t)0x1234, &st, sizeof st), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_stream_free((nm_stream_t*)p.b), NM_ERR_INVALID_HANDLE);
  assert_int_equal(nm_node_free((nm_node_t*)on_b), NM_ERR_INVALID_HANDLE);
  /* both still work */
  nm_event_t e = {"ok", 2};
  char buf[8];
  size_t n;
  NM_OK_OR_FAIL(nm_stream_send(on_a, &e, 1, NULL));
  NM_OK_OR_FAIL(nm_stream_recv(on_b, buf, sizeof buf, &n, 2000));
  nm_stream_free(on_a);
  nm_stream_free(on_b);
  test_pair_free(&p);
}

/* ---- concurrency ---- */

typedef struct hammer {
  test_pair* p;
  nm_node_t* node;
  uint64_t peer;
  int index;
  atomic_int* stop;
  nm_status last;
  unsigned long calls;
} hammer;

static int acceptable(nm_status s) {
  return s == NM_OK || s == NM_ERR_SHUTDOWN || s == NM_ERR_INVALID_HANDLE || s == NM_ERR_NOT_CONNECTED ||
         s == NM_ERR_TIMEOUT || s == NM_ERR_BACKPRESSURE || s == NM_ERR_BUFFER_TOO_SMALL;
}

static void* hammer_main(void* arg) {
  hammer* h = arg;
  nm_stream_t* s = NULL;
  char buf[64];
  size_t n;
  nm_event_t e = {"hammer", 6};
  while (!atomic_load(h->stop)) {
    nm_status r = NM_OK;
    uint64_t sid = 1 + (h->calls % 3); /* threads share stream ids on purpose */
    switch ((h->calls + (unsigned long)h->index) % 9) {
      case 0: if (!s) r = nm_node_open_stream(h->node, h->peer, sid, NULL, &s); break;
      case 1: if (s) r = nm_stream_send(s, &e, 1, NULL); break;
      case 2: if (s) r = nm_stream_recv(s, buf, sizeof buf, &n, 1); break;
      case 3: { nm_node_stats_t st; r = nm_node_stats(h->node, &st, sizeof st); break; }
      case 4: { nm_stream_stats_t all[4]; r = nm_node_all_stream_stats(h->node, all, 4, sizeof *all, &n); break; }
      case 5: if (s && h->calls % 27 == 5) r = nm_node_close_stream(h->node, s); break;
      case 6: if (s && h->calls % 18 == 6) { r = nm_stream_free(s); s = NULL; } break;
      case 7: if (s) { nm_stream_stats_t ss; r = nm_stream_stats(s, &ss, sizeof ss); } break;
      case 8: { int fd; r = nm_node_event_fd(h->node, &fd); break; }
    }
    if (!acceptable(r)) {
      h->last = r;
      break;
    }
    ++h->calls;
  }
  if (s) nm_stream_free(s);
  return NULL;
}

enum { kHammers = 8 };

static void run_hammers(int free_midway) {
  test_pair p;
  test_pair_connect(&p);
  atomic_int stop = 0;
  hammer hs[kHammers];
  pthread_t t[kHammers];
  for (int i = 0; i < kHammers; ++i) {
    int on_a = i % 2 == 0;
    hs[i] = (hammer){&p, on_a ? p.a : p.b, on_a ? p.b_id : p.a_id, i, &stop, NM_OK, 0};
    pthread_create(&t[i], NULL, hammer_main, &hs[i]);
  }
  usleep(400 * 1000);
  if (free_midway) {
    /* both nodes go away under the callers' feet */
    NM_OK_OR_FAIL(nm_node_free(p.a));
    usleep(50 * 1000);
    NM_OK_OR_FAIL(nm_node_free(p.b));
    usleep(100 * 1000);
  }
  atomic_store(&stop, 1);
  unsigned long calls = 0;
  for (int i = 0; i < kHammers; ++i) {
    pthread_join(t[i], NULL);
    calls += hs[i].calls;
    if (hs[i].last != NM_OK) fail_msg("thread %d got %s", i, nm_strerror(hs[i].last));
  }
  assert_true(calls > 100);
  if (!free_midway) test_pair_free(&p);
}

static void many_threads_every_call_at_once(void** state) {
  (void)state;
  run_hammers(0);
}

static void calls_racing_node_free(void** state) {
  (void)state;
  run_hammers(1);
}

typedef struct racer {
  nm_node_t* node;
  nm_status result;
} racer;

static void* free_racer(void* arg) {
  racer* r = arg;
  r->result = nm_node_free(r->node);
  return NULL;
}

static void concurrent_double_free_frees_once(void** state) {
  (void)state;
  for (int round = 0; round < 5; ++round) {
    nm_node_t* n = test_node(0x42);
    racer rs[4];
    pthread_t t[4];
    for (int i = 0; i < 4; ++i) {
      rs[i] = (racer){n, NM_ERR_INTERNAL};
      pthread_create(&t[i], NULL, free_racer, &rs[i]);
    }
    int ok = 0;
    for (int i = 0; i < 4; ++i) {
      pthread_join(t[i], NULL);
      if (rs[i].result == NM_OK) ++ok;
      else assert_int_equal(rs[i].result, NM_ERR_INVALID_HANDLE);
    }
    assert_int_equal(ok, 1);
  }
}

static void* connect_to_nowhere(void* arg) {
  racer* r = arg;
  uint8_t key[NM_KEY_SIZE];
  memset(key, 9, sizeof key);
  r->result = nm_node_connect(r->node, "127.0.0.1:9", key, 77);
  return NULL;
}

static void* accept_forever(void* arg) {
  racer* r = arg;
  r->result = nm_node_accept(r->node, 78, -1);
  return NULL;
}

static void free_during_handshake_and_accept(void** state) {
  (void)state;
  nm_node_t* n = test_node(0x42);
  racer c = {n, NM_OK}, a = {n, NM_OK};
  pthread_t tc, ta;
  pthread_create(&tc, NULL, connect_to_nowhere, &c);
  pthread_create(&ta, NULL, accept_forever, &a);
  ASSERT_EVENTUALLY(test_node_stats(n).datagrams_sent >= 1, 5000); /* connect is waiting for msg2 */
  NM_OK_OR_FAIL(nm_node_free(n));
  pthread_join(tc, NULL);
  pthread_join(ta, NULL);
  assert_int_equal(c.result, NM_ERR_SHUTDOWN);
  /* accept was waiting (woken: SHUTDOWN) or, on a slow start, came after the free */
  assert_true(a.result == NM_ERR_SHUTDOWN || a.result == NM_ERR_INVALID_HANDLE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(double_free_is_an_error),
      cmocka_unit_test(use_after_free_is_an_error),
      cmocka_unit_test(stream_of_another_node_is_refused),
      cmocka_unit_test(many_threads_every_call_at_once),
      cmocka_unit_test(calls_racing_node_free),
      cmocka_unit_test(concurrent_double_free_frees_once),
      cmocka_unit_test(free_during_handshake_and_accept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
