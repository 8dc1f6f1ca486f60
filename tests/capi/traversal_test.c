/* NAT traversal through the C API: reflex probes (the address a peer sees us at) and the
 * NAT classification, directly on loopback and behind user-space NATs (user_nat.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"
#include "user_nat.h"

/* Three nodes: a dials b and c. */
typedef struct trio {
  test_pair ab;
  nm_node_t* c;
  uint64_t c_id;
} trio;

static void dial(nm_node_t* from, uint64_t from_id, nm_node_t* to, uint64_t to_id, const char* via) {
  test_pair p = {from, to, from_id, to_id};
  test_pair_connect_at(&p, via);
}

static void trio_up(trio* t) {
  test_pair_new(&t->ab, NULL, NULL);
  t->c = test_node(0x42);
  NM_OK_OR_FAIL(nm_node_id(t->c, &t->c_id));
}

static void trio_down(trio* t) {
  NM_OK_OR_FAIL(nm_node_free(t->c));
  test_pair_free(&t->ab);
}

static void a_peer_sees_our_own_address_on_loopback(void** state) {
  (void)state;
  trio t;
  trio_up(&t);
  dial(t.ab.a, t.ab.a_id, t.ab.b, t.ab.b_id, NULL);
  char mine[NM_ADDR_MAX], seen[NM_ADDR_MAX];
  NM_OK_OR_FAIL(nm_node_local_addr(t.ab.a, mine, sizeof mine));
  NM_OK_OR_FAIL(nm_node_probe_reflex(t.ab.a, t.ab.b_id, 2000, seen, sizeof seen));
  assert_string_equal(seen, mine);
  /* The probes are spread over the timeout: "forever" is refused (it was taken as 0). */
  int nat = -1;
  assert_int_equal(nm_node_probe_reflex(t.ab.a, t.ab.b_id, -1, seen, sizeof seen), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_classify_nat(t.ab.a, -1, &nat), NM_ERR_INVALID_ARGUMENT);
  /* Either side may ask. */
  NM_OK_OR_FAIL(nm_node_local_addr(t.ab.b, mine, sizeof mine));
  NM_OK_OR_FAIL(nm_node_probe_reflex(t.ab.b, t.ab.a_id, 2000, seen, sizeof seen));
  assert_string_equal(seen, mine);

  int type = -1;
  NM_OK_OR_FAIL(nm_node_nat_type(t.ab.a, &type));
  assert_int_equal(type, NM_NAT_UNKNOWN);
  NM_OK_OR_FAIL(nm_node_reflex_addr(t.ab.a, seen, sizeof seen));
  assert_string_equal(seen, "");
  /* One peer is too few to classify. */
  assert_int_equal(nm_node_classify_nat(t.ab.a, 2000, &type), NM_ERR_NOT_CONNECTED);
  dial(t.ab.a, t.ab.a_id, t.c, t.c_id, NULL);
  NM_OK_OR_FAIL(nm_node_classify_nat(t.ab.a, 2000, &type));
  assert_int_equal(type, NM_NAT_OPEN); /* 127.0.0.1 is one of this host's addresses */
  NM_OK_OR_FAIL(nm_node_nat_type(t.ab.a, &type));
  assert_int_equal(type, NM_NAT_OPEN);
  NM_OK_OR_FAIL(nm_node_local_addr(t.ab.a, mine, sizeof mine));
  NM_OK_OR_FAIL(nm_node_reflex_addr(t.ab.a, seen, sizeof seen));
  assert_string_equal(seen, mine);
  trio_down(&t);
}

/* Behind a NAT, the peer sees the NAT's outside port; behind one NAT per peer (a new
 * mapping for each destination), the node is behind a symmetric NAT. */
static void behind_a_mapping_per_destination_is_symmetric(void** state) {
  (void)state;
  trio t;
  trio_up(&t);
  user_nat to_b, to_c;
  user_nat_start(&to_b, t.ab.b);
  user_nat_start(&to_c, t.c);
  char via[64], seen[NM_ADDR_MAX], expect[64];
  snprintf(via, sizeof via, "127.0.0.1:%d", user_nat_port_of(to_b.inside));
  dial(t.ab.a, t.ab.a_id, t.ab.b, t.ab.b_id, via);
  snprintf(via, sizeof via, "127.0.0.1:%d", user_nat_port_of(to_c.inside));
  dial(t.ab.a, t.ab.a_id, t.c, t.c_id, via);

  NM_OK_OR_FAIL(nm_node_probe_reflex(t.ab.a, t.ab.b_id, 2000, seen, sizeof seen));
  snprintf(expect, sizeof expect, "127.0.0.1:%d", user_nat_port_of(atomic_load(&to_b.outside)));
  assert_string_equal(seen, expect);
  int type = -1;
  NM_OK_OR_FAIL(nm_node_classify_nat(t.ab.a, 2000, &type));
  assert_int_equal(type, NM_NAT_SYMMETRIC);
  /* After a rebinding the peer sees the new port. */
  atomic_store(&to_b.rebind, 1);
  NM_OK_OR_FAIL(nm_node_probe_reflex(t.ab.a, t.ab.b_id, 2000, seen, sizeof seen));
  snprintf(expect, sizeof expect, "127.0.0.1:%d", user_nat_port_of(atomic_load(&to_b.outside)));
  assert_string_equal(seen, expect);
  user_nat_stop(&to_b);
  user_nat_stop(&to_c);
  trio_down(&t);
}

enum { kEvents = 4000 };

typedef struct upgrade_job {
  nm_node_t* node;
  uint64_t peer, coordinator;
  nm_status result;
} upgrade_job;

static void* upgrade(void* arg) {
  upgrade_job* j = arg;
  j->result = nm_node_connect_direct(j->node, j->peer, j->coordinator, 5000);
  return NULL;
}

struct upgrade_start {
  pthread_t* thread;
  upgrade_job* job;
};

static void upgrade_at_a_quarter(uint32_t i, void* arg) {
  struct upgrade_start* u = arg;
  if (i == kEvents / 4) assert_int_equal(pthread_create(u->thread, NULL, upgrade, u->job), 0);
}

/* a and b, each with a direct session with r, and a's session with b through r. */
typedef struct relayed {
  nm_node_t *a, *b, *r;
  uint64_t a_id, b_id, r_id;
} relayed;

static void relayed_up(relayed* t, nm_node_t* a) {
  t->a = a;
  t->b = test_node(0x42);
  t->r = test_node(0x42);
  NM_OK_OR_FAIL(nm_node_id(t->a, &t->a_id));
  NM_OK_OR_FAIL(nm_node_id(t->b, &t->b_id));
  NM_OK_OR_FAIL(nm_node_id(t->r, &t->r_id));
  dial(t->a, t->a_id, t->r, t->r_id, NULL);
  dial(t->b, t->b_id, t->r, t->r_id, NULL);
  NM_OK_OR_FAIL(nm_node_allow_peer(t->b, t->a_id));
  test_connect_through(t->a, t->r, t->b);
}

/* A reliable stream a -> b (id 9). */
static void relayed_stream(relayed* t, nm_stream_t** tx, nm_stream_t** rx) {
  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.reliability = NM_RELIABLE;
  test_pair p = {t->a, t->b, t->a_id, t->b_id};
  test_open_both(&p, 9, &cfg, tx, rx);
}

static void relayed_down(relayed* t) {
  NM_OK_OR_FAIL(nm_node_free(t->a));
  NM_OK_OR_FAIL(nm_node_free(t->b));
  NM_OK_OR_FAIL(nm_node_free(t->r));
}

/* a and b reach each other through r; a reliable stream a -> b is moved, mid-stream, to the
 * direct path r coordinates a punch for: every event arrives once and in order, and both
 * sessions end direct. */
static void a_relayed_session_moves_to_the_punched_path(void** state) {
  (void)state;
  relayed t;
  relayed_up(&t, test_node(0x42));
  nm_node_t *a = t.a, *b = t.b;
  uint64_t a_id = t.a_id, b_id = t.b_id, r_id = t.r_id;
  ASSERT_EVENTUALLY(nm_node_session_stats(b, a_id, &(nm_session_stats_t){0}, sizeof(nm_session_stats_t)) == NM_OK,
                    5000);
  assert_int_equal(test_session_stats(a, b_id).routed, 1);
  nm_stream_t *tx, *rx;
  relayed_stream(&t, &tx, &rx);
  test_sender job = {tx, kEvents, NM_ERR_INTERNAL};
  pthread_t sender, upgrader;
  assert_int_equal(pthread_create(&sender, NULL, test_send_numbered, &job), 0);
  upgrade_job up = {a, b_id, 0, NM_ERR_INTERNAL}; /* 0: the relay, r */
  struct upgrade_start start = {&upgrader, &up};
  test_expect_numbered(rx, kEvents, upgrade_at_a_quarter, &start);
  pthread_join(sender, NULL);
  pthread_join(upgrader, NULL);
  assert_int_equal(job.result, NM_OK);
  NM_OK_OR_FAIL(up.result);
  assert_int_equal(test_session_stats(a, b_id).routed, 0);
  ASSERT_EVENTUALLY(test_session_stats(b, a_id).routed == 0, 5000);
  nm_node_stats_t sa = test_node_stats(a), sb = test_node_stats(b);
  assert_true(sa.punches_attempted >= 1 && sb.punches_attempted >= 1);
  assert_true(sa.punches_succeeded == 1 && sb.punches_succeeded == 1);
  assert_int_equal(sa.relay_fallbacks, 0);
  /* The direct path is a new one: its window and RTT estimate start afresh, on both sides. */
  assert_int_equal(test_session_stats(a, b_id).path_restarts, 1);
  assert_int_equal(test_session_stats(b, a_id).path_restarts, 1);
  /* Already direct: at once. */
  NM_OK_OR_FAIL(nm_node_connect_direct(a, b_id, r_id, 0));
  nm_stream_free(tx);
  nm_stream_free(rx);
  relayed_down(&t);
}

/* With auto_direct_ms set, a relayed session goes direct on its own: nobody calls
 * nm_node_connect_direct. Only a has the setting; a stream opened while relayed keeps
 * working across the move. */
static void auto_direct_moves_a_relayed_session_on_its_own(void** state) {
  (void)state;
  nm_node_config_t cfg;
  test_config(&cfg, 0x42);
  cfg.auto_direct_ms = 1000;
  nm_node_t* auto_node = NULL;
  NM_OK_OR_FAIL(nm_node_new(&cfg, &auto_node));
  relayed t;
  relayed_up(&t, auto_node);
  nm_node_t *a = t.a, *b = t.b;
  uint64_t a_id = t.a_id, b_id = t.b_id;
  ASSERT_EVENTUALLY(test_node_stats(a).punches_succeeded == 1, 10000);
  assert_int_equal(test_session_stats(a, b_id).routed, 0);
  ASSERT_EVENTUALLY(test_session_stats(b, a_id).routed == 0, 5000);
  assert_int_equal(test_node_stats(a).relay_fallbacks, 0);
  nm_stream_t *tx, *rx;
  relayed_stream(&t, &tx, &rx);
  test_transfer_numbered(tx, rx, 500);
  nm_stream_free(tx);
  nm_stream_free(rx);
  relayed_down(&t);
}

static void misuse_gets_errors(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  char buf[NM_ADDR_MAX];
  int type;
  assert_int_equal(nm_node_probe_reflex(p.a, 12345, 100, buf, sizeof buf), NM_ERR_NOT_CONNECTED);
  assert_int_equal(nm_node_probe_reflex(p.a, p.b_id, 100, NULL, 0), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_probe_reflex(p.a, p.b_id, 2000, buf, 4), NM_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(nm_node_probe_reflex(NULL, p.b_id, 100, buf, sizeof buf), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_classify_nat(p.a, 100, NULL), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_nat_type(p.a, NULL), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_reflex_addr(p.a, NULL, 0), NM_ERR_INVALID_ARGUMENT);
  assert_int_equal(nm_node_connect_direct(p.a, 12345, p.b_id, 100), NM_ERR_NOT_CONNECTED);
  NM_OK_OR_FAIL(nm_node_connect_direct(p.a, p.b_id, 12345, 100)); /* direct already */
  assert_int_equal(nm_node_nat_type(NULL, &type), NM_ERR_INVALID_ARGUMENT);
  nm_node_config_t cfg;
  test_config(&cfg, 0x42);
  cfg.auto_direct_ms = 999; /* a punch more than once a second: refused */
  nm_node_t* n = NULL;
  assert_int_equal(nm_node_new(&cfg, &n), NM_ERR_INVALID_ARGUMENT);
  assert_null(n);
  test_pair_free(&p);
}

typedef struct waiting_upgrade {
  nm_node_t* node;
  uint64_t peer, coordinator;
  nm_status result;
  atomic_int done;
} waiting_upgrade;

static void* upgrade_without_timeout(void* arg) {
  waiting_upgrade* j = arg;
  j->result = nm_node_connect_direct(j->node, j->peer, j->coordinator, -1);
  atomic_store(&j->done, 1);
  return NULL;
}

/* nm_node_connect_direct waiting for a punch (through a coordinator, c, that cannot
 * introduce b: none comes) returns NM_OK as soon as the session goes direct another way, a
 * direct dial here (an audit found it waiting until the node was freed). */
static void connect_direct_ends_when_the_session_goes_direct_another_way(void** state) {
  (void)state;
  relayed t;
  relayed_up(&t, test_node(0x42));
  nm_node_t* c = test_node(0x42);
  uint64_t c_id = test_node_id(c);
  dial(t.a, t.a_id, c, c_id, NULL);
  assert_int_equal(test_session_stats(t.a, t.b_id).routed, 1);
  uint64_t refused_before = test_node_stats(c).drop_malformed;
  waiting_upgrade up = {t.a, t.b_id, c_id, NM_ERR_INTERNAL, 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, upgrade_without_timeout, &up), 0);
  ASSERT_EVENTUALLY(test_node_stats(c).drop_malformed > refused_before, 5000); /* c got the request */
  dial(t.a, t.a_id, t.b, t.b_id, NULL);
  assert_int_equal(test_session_stats(t.a, t.b_id).routed, 0);
  ASSERT_EVENTUALLY(atomic_load(&up.done), 5000);
  pthread_join(th, NULL);
  NM_OK_OR_FAIL(up.result);
  NM_OK_OR_FAIL(nm_node_free(c));
  relayed_down(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_peer_sees_our_own_address_on_loopback),
      cmocka_unit_test(behind_a_mapping_per_destination_is_symmetric),
      cmocka_unit_test(a_relayed_session_moves_to_the_punched_path),
      cmocka_unit_test(auto_direct_moves_a_relayed_session_on_its_own),
      cmocka_unit_test(connect_direct_ends_when_the_session_goes_direct_another_way),
      cmocka_unit_test(misuse_gets_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
