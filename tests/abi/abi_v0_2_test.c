/*
 * An "old program": compiled against the frozen 0.2.0 declarations (v0_2_api.h, never
 * netmesh.h) and run against the current libnetmesh.so. It creates nodes, connects them,
 * opens streams, exchanges events and reads every kind of output with its own, old struct
 * sizes, and checks
 *  - that the library writes nothing beyond its structs: each struct sits between guard
 *    bytes (0xA5) that must survive every call, also failing ones;
 *  - that fields the old structs do not have take their defaults: the config structs are
 *    followed by 0xA5 garbage where a newer struct would continue, which the library must
 *    not read (it reads struct_size bytes), so the nodes and streams behave as configured;
 *  - that sizes below the 0.2.0 layout are refused (NM_ERR_INVALID_ARGUMENT), untouched.
 * While the current structs are the 0.2.0 ones this mostly checks the size handling; once a
 * struct grows it checks old programs keep working. tests/abi/README.md has the steps.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "v0_2_api.h"

#define GUARD 0xA5
#define GUARDED(T) \
  struct {         \
    uint8_t before[16]; \
    T value;       \
    uint8_t after[64]; \
  }

#define OK(expr)                                                                               \
  do {                                                                                         \
    nm_status s_ = (expr);                                                                     \
    if (s_ != NM_OK) fail_msg("%s -> %s (%s)", #expr, nm_strerror(s_), nm_last_error_message()); \
  } while (0)

static int all_bytes(const uint8_t* p, size_t n, uint8_t v) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != v) return 0;
  return 1;
}
#define FILL(g) memset(&(g), GUARD, sizeof(g))
#define GUARDS_INTACT(g) \
  (all_bytes((g).before, sizeof(g).before, GUARD) && all_bytes((g).after, sizeof(g).after, GUARD))

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A node config as an old program makes it: in a guarded slot whose "after" bytes stay
 * garbage (0xA5) the whole time the library reads the config. */
typedef GUARDED(nm_node_config_t) guarded_config;

static void old_config(guarded_config* g, uint8_t psk) {
  FILL(*g);
  OK(nm_node_config_init(&g->value, sizeof g->value));
  assert_true(GUARDS_INTACT(*g));
  memset(g->value.psk, psk, sizeof g->value.psk);
  g->value.handshake_timeout_ms = 1000;
  g->value.heartbeat_interval_ms = 200;
}

typedef struct {
  nm_node_t* node;
  uint64_t peer;
  nm_status result;
} accept_job;

static void* accept_main(void* arg) {
  accept_job* job = arg;
  job->result = nm_node_accept(job->node, job->peer, 5000);
  return NULL;
}

static void init_writes_only_the_old_struct(void** state) {
  (void)state;
  guarded_config c;
  FILL(c);
  OK(nm_node_config_init(&c.value, sizeof c.value));
  assert_true(GUARDS_INTACT(c));
  assert_int_equal(c.value.struct_size, sizeof c.value);
  assert_string_equal(c.value.bind_addr, "127.0.0.1:0");
  assert_null(c.value.identity_file);
  assert_int_equal(c.value.heartbeat_interval_ms, 5000);
  assert_int_equal(c.value.handshake_retries, 3);
  assert_int_equal(c.value.default_window_bytes, 65536);
  assert_int_equal(c.value.pingwave_ttl, 8);
  assert_int_equal(c.value.max_session_buffer_bytes, 32u << 20);
  assert_true(all_bytes(c.value.reserved0, sizeof c.value.reserved0, 0) && c.value.reserved1 == 0);

  GUARDED(nm_stream_config_t) s;
  FILL(s);
  OK(nm_stream_config_init(&s.value, sizeof s.value));
  assert_true(GUARDS_INTACT(s));
  assert_int_equal(s.value.struct_size, sizeof s.value);
  assert_int_equal(s.value.reliability, NM_FIRE_AND_FORGET);
  assert_int_equal(s.value.close_behaviour, NM_DROP_AND_CLOSE);
  assert_int_equal(s.value.fairness_weight, 1);
  assert_int_equal(s.value.window_bytes, 65536);

  GUARDED(nm_impairment_t) i;
  FILL(i);
  OK(nm_impairment_init(&i.value, sizeof i.value));
  assert_true(GUARDS_INTACT(i));
  assert_int_equal(i.value.struct_size, sizeof i.value);
  assert_true(i.value.loss == 0 && i.value.corrupt == 0);
  assert_int_equal(i.value.rate_queue_limit_us, 200000);
  assert_int_equal(i.value.seed, 1);
}

static void sizes_below_0_2_are_refused_untouched(void** state) {
  (void)state;
  guarded_config c;
  FILL(c);
  assert_int_equal(nm_node_config_init(&c.value, sizeof c.value - 8), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_config_init(&c.value, 4), NM_ERR_INVALID_ARGUMENT);
  assert_true(all_bytes((const uint8_t*)&c, sizeof c, GUARD));

  old_config(&c, 3);
  nm_node_t* n = NULL;
  c.value.struct_size = sizeof c.value - 8;
  assert_int_equal(nm_node_new(&c.value, &n), NM_ERR_INVALID_ARGUMENT);
  c.value.struct_size = 0; /* never initialised */
  assert_int_equal(nm_node_new(&c.value, &n), NM_ERR_INVALID_ARGUMENT);
  c.value.struct_size = sizeof c.value;
  OK(nm_node_new(&c.value, &n));

  GUARDED(nm_node_stats_t) ns;
  FILL(ns);
  assert_int_equal(nm_node_stats(n, &ns.value, sizeof ns.value - 8), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_stats(n, &ns.value, 0), NM_ERR_INVALID_ARGUMENT);
  assert_true(all_bytes((const uint8_t*)&ns, sizeof ns, GUARD));
  GUARDED(nm_route_t) r;
  FILL(r);
  size_t count = 99;
  assert_int_equal(nm_node_routes(n, &r.value, 1, sizeof r.value - 4, &count), NM_ERR_INVALID_ARGUMENT);
  assert_true(all_bytes((const uint8_t*)&r, sizeof r, GUARD));
  GUARDED(nm_peer_event_t) e;
  FILL(e);
  assert_int_equal(nm_node_next_peer_event(n, &e.value, sizeof e.value - 8, 0), NM_ERR_INVALID_ARGUMENT);
  assert_true(all_bytes((const uint8_t*)&e, sizeof e, GUARD));
  GUARDED(nm_impairment_stats_t) is;
  FILL(is);
  assert_int_equal(nm_node_impairment_stats(n, &is.value, sizeof is.value - 8), NM_ERR_INVALID_ARGUMENT);
  assert_true(all_bytes((const uint8_t*)&is, sizeof is, GUARD));
  OK(nm_node_free(n));
}

static void an_old_program_runs(void** state) {
  (void)state;
  assert_int_equal(strncmp(nm_version(), "0.", 2), 0); /* the same major version */

  /* two nodes from old-size configs (garbage after them) */
  guarded_config ca, cb;
  old_config(&ca, 0x42);
  old_config(&cb, 0x42);
  nm_node_t *a = NULL, *b = NULL;
  OK(nm_node_new(&ca.value, &a));
  OK(nm_node_new(&cb.value, &b));
  assert_true(GUARDS_INTACT(ca) && GUARDS_INTACT(cb));
  uint64_t a_id, b_id;
  OK(nm_node_id(a, &a_id));
  OK(nm_node_id(b, &b_id));
  uint8_t key[NM_KEY_SIZE];
  char addr[NM_ADDR_MAX];
  OK(nm_node_public_key(b, key));
  OK(nm_node_local_addr(b, addr, sizeof addr));
  OK(nm_node_allow_peer(b, a_id));
  accept_job job = {b, a_id, NM_ERR_INTERNAL};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, accept_main, &job), 0);
  OK(nm_node_connect(a, addr, key, b_id));
  pthread_join(t, NULL);
  OK(job.result);

  /* a reliable stream from an old-size config (garbage after it) */
  GUARDED(nm_stream_config_t) sc;
  FILL(sc);
  OK(nm_stream_config_init(&sc.value, sizeof sc.value));
  sc.value.reliability = NM_RELIABLE;
  sc.value.window_bytes = 3 * NM_MIN_WINDOW_BYTES;
  nm_stream_t *sa = NULL, *sb = NULL;
  OK(nm_node_open_stream(a, b_id, 7, &sc.value, &sa));
  OK(nm_node_open_stream(b, a_id, 7, &sc.value, &sb));
  assert_true(GUARDS_INTACT(sc));

  /* events both ways, through a lossy link (fault injection with old-size structs) */
  GUARDED(nm_impairment_t) imp;
  FILL(imp);
  OK(nm_impairment_init(&imp.value, sizeof imp.value));
  imp.value.loss = 0.2;
  imp.value.seed = 9;
  OK(nm_node_set_impairment(a, b_id, NM_BOTH_DIRECTIONS, &imp.value));
  assert_true(GUARDS_INTACT(imp));
  const int kEvents = 200;
  for (int i = 0; i < kEvents; ++i) {
    char text[32];
    int len = snprintf(text, sizeof text, "event %d", i);
    nm_event_t ev = {text, (size_t)len};
    OK(nm_stream_send_blocking(sa, &ev, 1, 10000, NULL));
  }
  for (int i = 0; i < kEvents; ++i) {
    char buf[64], want[32];
    size_t n = 0;
    OK(nm_stream_recv(sb, buf, sizeof buf, &n, 10000));
    int len = snprintf(want, sizeof want, "event %d", i);
    assert_int_equal(n, (size_t)len);
    assert_memory_equal(buf, want, n);
  }
  OK(nm_node_set_impairment(a, b_id, NM_BOTH_DIRECTIONS, NULL));

  /* every output with the old sizes */
  GUARDED(nm_stream_stats_t) st;
  FILL(st);
  OK(nm_stream_stats(sa, &st.value, sizeof st.value));
  assert_true(GUARDS_INTACT(st));
  assert_int_equal(st.value.stream_id, 7);
  assert_int_equal(st.value.peer_node_id, b_id);
  assert_int_equal(st.value.active, 1);
  assert_int_equal(st.value.reliable, 1);
  assert_int_equal(st.value.recovering, 1);
  assert_true(all_bytes(st.value.reserved0, sizeof st.value.reserved0, 0));
  assert_int_equal(st.value.tx_window, 3 * NM_MIN_WINDOW_BYTES); /* the old config's window */
  assert_int_equal(st.value.tx_events, kEvents);
  assert_true(st.value.retransmits > 0);

  GUARDED(nm_node_stats_t) ns;
  FILL(ns);
  OK(nm_node_stats(b, &ns.value, sizeof ns.value));
  assert_true(GUARDS_INTACT(ns));
  assert_int_equal(ns.value.sessions, 1);
  assert_true(ns.value.datagrams_received > 0 && ns.value.bytes_received > 0);

  GUARDED(nm_impairment_stats_t) is;
  FILL(is);
  OK(nm_node_impairment_stats(a, &is.value, sizeof is.value));
  assert_true(GUARDS_INTACT(is));
  assert_true(is.value.seen > 0 && is.value.dropped_loss > 0);

  struct {
    uint8_t before[16];
    nm_stream_stats_t value[3];
    uint8_t after[64];
  } all;
  FILL(all);
  size_t count = 0;
  OK(nm_node_all_stream_stats(b, all.value, 3, sizeof all.value[0], &count));
  assert_true(GUARDS_INTACT(all));
  assert_int_equal(count, 1);
  assert_int_equal(all.value[0].stream_id, 7);
  assert_true(all_bytes((const uint8_t*)&all.value[1], 2 * sizeof all.value[0], GUARD)); /* unused */

  struct {
    uint8_t before[16];
    nm_route_t value[2];
    uint8_t after[64];
  } routes;
  double deadline = now_ms() + 10000;
  do { /* a's pingwave makes the route */
    FILL(routes);
    OK(nm_node_routes(b, routes.value, 2, sizeof routes.value[0], &count));
    assert_true(GUARDS_INTACT(routes));
    if (count >= 1) break;
    usleep(10000);
  } while (now_ms() < deadline);
  assert_true(count >= 1);
  assert_int_equal(routes.value[0].dest, a_id);
  assert_int_equal(routes.value[0].next_hop, a_id);
  assert_true(routes.value[0].metric >= 1);
  assert_int_equal(routes.value[0].reserved0, 0);

  GUARDED(nm_peer_event_t) ev;
  FILL(ev);
  OK(nm_node_next_peer_event(b, &ev.value, sizeof ev.value, 5000));
  assert_true(GUARDS_INTACT(ev));
  assert_int_equal(ev.value.kind, NM_PEER_CONNECTED);
  assert_int_equal(ev.value.peer_node_id, a_id);
  assert_int_equal(ev.value.reserved0, 0);

  OK(nm_stream_free(sa));
  OK(nm_stream_free(sb));
  OK(nm_node_free(a));
  OK(nm_node_free(b));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(init_writes_only_the_old_struct),
      cmocka_unit_test(sizes_below_0_2_are_refused_untouched),
      cmocka_unit_test(an_old_program_runs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
