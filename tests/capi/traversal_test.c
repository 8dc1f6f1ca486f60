/* NAT traversal through the C API: reflex probes (the address a peer sees us at) and the
 * NAT classification, directly on loopback and behind user-space NATs (user_nat.h). */
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
  assert_int_equal(nm_node_nat_type(NULL, &type), NM_ERR_INVALID_ARGUMENT);
  test_pair_free(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_peer_sees_our_own_address_on_loopback),
      cmocka_unit_test(behind_a_mapping_per_destination_is_symmetric),
      cmocka_unit_test(misuse_gets_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
