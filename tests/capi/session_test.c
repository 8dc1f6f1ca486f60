/* Handshakes, wrong credentials, heartbeats, re-handshake. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

static void handshake_establishes_a_session(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  nm_node_stats_t sa, sb;
  NM_OK_OR_FAIL(nm_node_stats(p.a, &sa, sizeof sa));
  NM_OK_OR_FAIL(nm_node_stats(p.b, &sb, sizeof sb));
  assert_int_equal(sa.sessions, 1);
  assert_int_equal(sb.sessions, 1);
  assert_int_equal(sa.handshakes_completed, 1);
  assert_int_equal(sb.handshakes_completed, 1);
  /* accept on an existing session returns at once */
  NM_OK_OR_FAIL(nm_node_accept(p.b, p.a_id, 0));
  test_pair_free(&p);
}

static void accept_registered_before_connect(void** state) {
  (void)state;
  /* accept() registers the peer even when it times out, so the handshake that follows
   * is answered and a later accept() sees the session. */
  nm_node_t* a = test_node(7);
  nm_node_t* b = test_node(7);
  uint64_t a_id, b_id;
  nm_node_id(a, &a_id);
  nm_node_id(b, &b_id);
  assert_int_equal(nm_node_accept(b, a_id, 0), NM_ERR_TIMEOUT);
  uint8_t key[32];
  char addr[NM_ADDR_MAX];
  nm_node_public_key(b, key);
  nm_node_local_addr(b, addr, sizeof addr);
  NM_OK_OR_FAIL(nm_node_connect(a, addr, key, b_id));
  NM_OK_OR_FAIL(nm_node_accept(b, a_id, 1000));
  nm_node_free(a);
  nm_node_free(b);
}

/* Connect with some credential wrong: the initiator reports a failed handshake and the
 * responder counts the rejected msg1; neither side gets a session. */
static void expect_rejected(uint8_t psk_a, uint8_t psk_b, int wrong_key, int wrong_id) {
  nm_node_t* a = test_node(psk_a);
  nm_node_t* b = test_node(psk_b);
  uint64_t a_id, b_id;
  nm_node_id(a, &a_id);
  nm_node_id(b, &b_id);
  NM_OK_OR_FAIL(nm_node_allow_peer(b, a_id));
  uint8_t key[32];
  char addr[NM_ADDR_MAX];
  nm_node_public_key(b, key);
  if (wrong_key) key[0] ^= 1;
  nm_node_local_addr(b, addr, sizeof addr);
  assert_int_equal(nm_node_connect(a, addr, key, wrong_id ? b_id + 1 : b_id), NM_ERR_HANDSHAKE);
  assert_true(strstr(nm_last_error_message(), "attempt") != NULL);
  nm_node_stats_t sa, sb;
  nm_node_stats(a, &sa, sizeof sa);
  nm_node_stats(b, &sb, sizeof sb);
  assert_int_equal(sa.sessions, 0);
  assert_int_equal(sb.sessions, 0);
  assert_int_equal(sb.drop_handshake_rejected, 2); /* one per attempt */
  assert_int_equal(nm_node_accept(b, a_id, 0), NM_ERR_TIMEOUT);
  nm_node_free(a);
  nm_node_free(b);
}

static void wrong_psk_is_rejected(void** state) {
  (void)state;
  expect_rejected(0x42, 0x43, 0, 0);
}

static void wrong_responder_key_is_rejected(void** state) {
  (void)state;
  expect_rejected(0x42, 0x42, 1, 0);
}

static void wrong_node_id_is_rejected(void** state) {
  (void)state;
  expect_rejected(0x42, 0x42, 0, 1);
}

static void unknown_initiator_is_not_answered(void** state) {
  (void)state;
  /* b never allowed a: a direct msg1 names nobody, so b cannot and does not answer */
  nm_node_t* a = test_node(0x42);
  nm_node_t* b = test_node(0x42);
  uint64_t b_id;
  nm_node_id(b, &b_id);
  uint8_t key[32];
  char addr[NM_ADDR_MAX];
  nm_node_public_key(b, key);
  nm_node_local_addr(b, addr, sizeof addr);
  assert_int_equal(nm_node_connect(a, addr, key, b_id), NM_ERR_HANDSHAKE);
  nm_node_stats_t sb;
  nm_node_stats(b, &sb, sizeof sb);
  assert_int_equal(sb.drop_unexpected_handshake, 2);
  assert_int_equal(sb.sessions, 0);
  nm_node_free(a);
  nm_node_free(b);
}

static void connect_to_nobody_times_out(void** state) {
  (void)state;
  nm_node_t* a = test_node(1);
  nm_node_t* b = test_node(1);
  char addr[NM_ADDR_MAX];
  uint8_t key[32];
  nm_node_local_addr(b, addr, sizeof addr);
  nm_node_public_key(b, key);
  nm_node_free(b); /* its port is closed now */
  assert_int_equal(nm_node_connect(a, addr, key, 99), NM_ERR_HANDSHAKE);
  nm_node_free(a);
}

static void heartbeats_flow_both_ways(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  /* the heartbeat interval is 200 ms in tests */
  ASSERT_EVENTUALLY(test_node_stats(p.a).heartbeats_sent >= 2 && test_node_stats(p.b).heartbeats_received >= 2 &&
                        test_node_stats(p.b).heartbeats_sent >= 2 && test_node_stats(p.a).heartbeats_received >= 2,
                    10000);
  nm_node_stats_t sa = test_node_stats(p.a), sb = test_node_stats(p.b);
  assert_int_equal(sa.drop_auth_failed + sb.drop_auth_failed, 0);
  assert_int_equal(sa.drop_replay + sb.drop_replay, 0);
  test_pair_free(&p);
}

static void rehandshake_replaces_the_session(void** state) {
  (void)state;
  test_pair p;
  test_pair_connect(&p);
  nm_stream_t *sa, *sb;
  test_open_both(&p, 4, NULL, &sa, &sb);
  /* The initiator connects again: both sides install a fresh session and old stream
   * handles are stale. */
  uint8_t key[32];
  char addr[NM_ADDR_MAX];
  nm_node_public_key(p.b, key);
  nm_node_local_addr(p.b, addr, sizeof addr);
  NM_OK_OR_FAIL(nm_node_connect(p.a, addr, key, p.b_id));
  nm_event_t e = test_event("late");
  assert_int_equal(nm_stream_send(sa, &e, 1, NULL), NM_ERR_NOT_CONNECTED);
  nm_node_stats_t st;
  nm_node_stats(p.b, &st, sizeof st);
  assert_int_equal(st.handshakes_completed, 2);
  assert_int_equal(st.sessions, 1);
  /* new streams work over the new session */
  nm_stream_t *na, *nb;
  test_open_both(&p, 4, NULL, &na, &nb);
  NM_OK_OR_FAIL(nm_stream_send(na, &e, 1, NULL));
  char buf[16];
  size_t n;
  NM_OK_OR_FAIL(nm_stream_recv(nb, buf, sizeof buf, &n, 2000));
  assert_int_equal(n, 4);
  nm_stream_free(sa);
  nm_stream_free(sb);
  nm_stream_free(na);
  nm_stream_free(nb);
  test_pair_free(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(handshake_establishes_a_session),
      cmocka_unit_test(accept_registered_before_connect),
      cmocka_unit_test(wrong_psk_is_rejected),
      cmocka_unit_test(wrong_responder_key_is_rejected),
      cmocka_unit_test(wrong_node_id_is_rejected),
      cmocka_unit_test(unknown_initiator_is_not_answered),
      cmocka_unit_test(connect_to_nobody_times_out),
      cmocka_unit_test(heartbeats_flow_both_ways),
      cmocka_unit_test(rehandshake_replaces_the_session),
  };
  return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
