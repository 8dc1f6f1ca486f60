/* Path migration: a session follows its peer to a new address (a NAT rebinding, a new IP)
 * without losing or duplicating reliable events, a new address gets at most 3x what arrived
 * from it until it answers a challenge, and a new IP is a new path: congestion control and
 * the RTT estimate start again there (a new port on the same IP keeps them).
 *
 * Between the nodes sits a user-space NAT (user_nat.h). (The netns test bed, tests/nat,
 * rebinds a kernel NAT with a conntrack flush.) */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"
#include "user_nat.h"

/* a and b through the NAT, and a reliable stream between them. */
typedef struct nat_pair {
  test_pair p;
  user_nat nat;
  nm_stream_t *on_a, *on_b;
} nat_pair;

static void nat_pair_up(nat_pair* t) {
  test_pair_new(&t->p, NULL, NULL);
  user_nat_start(&t->nat, t->p.b);
  char inside[64];
  snprintf(inside, sizeof inside, "127.0.0.1:%d", user_nat_port_of(t->nat.inside));
  test_pair_connect_at(&t->p, inside);
  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.reliability = NM_RELIABLE;
  test_open_both(&t->p, 7, &cfg, &t->on_a, &t->on_b);
}

static void nat_pair_down(nat_pair* t) {
  nm_stream_free(t->on_a);
  nm_stream_free(t->on_b);
  user_nat_stop(&t->nat);
  test_pair_free(&t->p);
}

enum { kEvents = 3000 };

static void rebind_at_a_third(uint32_t i, void* arg) {
  if (i == kEvents / 3) atomic_store(&((user_nat*)arg)->rebind, 1);
}

static void move_to_another_ip_at_a_third(uint32_t i, void* arg) {
  if (i == kEvents / 3) atomic_store(&((user_nat*)arg)->rebind, 2); /* 127.0.0.2 */
}

static void steal_at_a_third(uint32_t i, void* arg) {
  if (i == kEvents / 3) atomic_store(&((user_nat*)arg)->steal, 1);
}

/* The NAT'd side sends; b follows it to the new address (its ACKs would go nowhere
 * otherwise). `move`: what happens to a's address a third of the way in. */
static void moving_under_the_sender(nat_pair* t, nm_stream_t* from, nm_stream_t* to, void (*move)(uint32_t, void*)) {
  test_sender job = {from, kEvents, NM_ERR_INTERNAL};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, test_send_numbered, &job), 0);
  test_expect_numbered(to, kEvents, move, &t->nat);
  pthread_join(th, NULL);
  assert_int_equal(job.result, NM_OK);
  ASSERT_EVENTUALLY(test_session_stats(t->p.b, t->p.a_id).path_validations == 1, 5000);
  nm_session_stats_t b = test_session_stats(t->p.b, t->p.a_id);
  assert_int_equal(b.path_migrations, 1);
  assert_int_equal(b.path_reverts, 0);
}

static void rebinding_under_the_sender(nat_pair* t, nm_stream_t* from, nm_stream_t* to) {
  moving_under_the_sender(t, from, to, rebind_at_a_third);
  /* A NAT rebinding keeps the IP: the same path, its window and RTT estimate kept. */
  assert_int_equal(test_session_stats(t->p.b, t->p.a_id).path_restarts, 0);
}

static void a_rebinding_sender_keeps_its_stream(void** state) {
  (void)state;
  nat_pair t;
  nat_pair_up(&t);
  rebinding_under_the_sender(&t, t.on_a, t.on_b);
  nat_pair_down(&t);
}

/* b sends to the NAT'd side: its data goes to the dead port until a's acknowledgements
 * arrive from the new one; what was lost there is recovered. */
static void a_rebinding_receiver_keeps_its_stream(void** state) {
  (void)state;
  nat_pair t;
  nat_pair_up(&t);
  rebinding_under_the_sender(&t, t.on_b, t.on_a);
  nat_pair_down(&t);
}

/* a moves to another IP mid-stream (127.0.0.2: a device that changed networks). b follows
 * it, and once the new address answers its challenge, takes it for a new path: congestion
 * window and RTT estimate start again (RFC 9000 §9.4), and nothing of the stream is lost. */
static void a_sender_at_a_new_ip_gets_a_fresh_path(void** state) {
  (void)state;
  nat_pair t;
  nat_pair_up(&t);
  moving_under_the_sender(&t, t.on_a, t.on_b, move_to_another_ip_at_a_third);
  assert_int_equal(test_session_stats(t.p.b, t.p.a_id).path_restarts, 1);
  assert_int_equal(test_session_stats(t.p.a, t.p.b_id).path_restarts, 0); /* a's view of b: unchanged */
  nat_pair_down(&t);
}

/* An attacker who gets one of a's datagrams to b first, from its own address (any datagram,
 * or only one of `subprotocol`): b moves to it, but sends there at most 3x that datagram
 * until it answers a challenge (it never does); a's next datagram brings b back, and
 * nothing of the stream is lost. */
static void thief_takes_one_of_as_datagrams(int subprotocol) {
  nat_pair t;
  nat_pair_up(&t);
  atomic_store(&t.nat.steal_subprotocol, subprotocol);
  test_sender job = {t.on_b, kEvents, NM_ERR_INTERNAL}; /* b sends bulk: the most to aim */
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, test_send_numbered, &job), 0);
  test_expect_numbered(t.on_a, kEvents, steal_at_a_third, &t.nat);
  pthread_join(th, NULL);
  assert_int_equal(job.result, NM_OK);
  ASSERT_EVENTUALLY(atomic_load(&t.nat.stolen_bytes) > 0, 5000);
  nm_session_stats_t b = test_session_stats(t.p.b, t.p.a_id);
  assert_true(b.path_migrations >= 1); /* to the thief, and back */
  assert_int_equal(b.path_validations, 0);
  assert_true(atomic_load(&t.nat.attacker_received_bytes) <= 3 * atomic_load(&t.nat.stolen_bytes));
  nat_pair_down(&t);
}

static void a_stolen_datagram_buys_the_thief_little(void** state) {
  (void)state;
  thief_takes_one_of_as_datagrams(0);
}

/* The datagram a thief most likely gets from a receiver: a session ACK (subprotocol
 * 0x4E41). It is authentic, so b takes its acknowledgements; its source moves b no further
 * than any other stolen datagram does. */
static void a_stolen_session_ack_buys_the_thief_little(void** state) {
  (void)state;
  thief_takes_one_of_as_datagrams(0x4E41);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_rebinding_sender_keeps_its_stream),
      cmocka_unit_test(a_rebinding_receiver_keeps_its_stream),
      cmocka_unit_test(a_sender_at_a_new_ip_gets_a_fresh_path),
      cmocka_unit_test(a_stolen_datagram_buys_the_thief_little),
      cmocka_unit_test(a_stolen_session_ack_buys_the_thief_little),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
