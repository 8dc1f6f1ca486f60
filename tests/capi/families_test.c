/* IPv4 and IPv6: a node bound to [::] reaches peers of both families and sees IPv4 peers at
 * their IPv4 addresses; a node whose socket cannot reach a peer's family says so at once,
 * before any handshake. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

static nm_node_t* node_at(const char* bind_addr, uint8_t seed) {
  nm_node_config_t c;
  test_config(&c, 0x42);
  c.bind_addr = bind_addr;
  memset(c.identity_seed, seed, sizeof c.identity_seed);
  nm_node_t* n = NULL;
  NM_OK_OR_FAIL(nm_node_new(&c, &n));
  return n;
}

/* `from` dials `to` at addr (`to` accepts on another thread). */
static void dial(nm_node_t* from, nm_node_t* to, const char* addr) {
  test_pair p = {from, to, test_node_id(from), test_node_id(to)};
  test_pair_connect_at(&p, addr);
}

/* The port of a node's local address ("[::]:4711" -> 4711). */
static unsigned port_of(nm_node_t* n) {
  char addr[NM_ADDR_MAX];
  NM_OK_OR_FAIL(nm_node_local_addr(n, addr, sizeof addr));
  const char* colon = strrchr(addr, ':');
  assert_non_null(colon);
  return (unsigned)atoi(colon + 1);
}

/* 300 reliable numbered events from `from` to `to`: each once and in order. */
static void reliable_events(nm_node_t* from, nm_node_t* to, uint64_t stream_id) {
  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.reliability = NM_RELIABLE;
  nm_stream_t *tx, *rx;
  test_pair p = {from, to, test_node_id(from), test_node_id(to)};
  test_open_both(&p, stream_id, &cfg, &tx, &rx);
  test_transfer_numbered(tx, rx, 300);
  NM_OK_OR_FAIL(nm_stream_free(tx));
  NM_OK_OR_FAIL(nm_stream_free(rx));
}

static void a_dual_stack_node_reaches_both_families(void** state) {
  (void)state;
  nm_node_t* dual = node_at("[::]:0", 1);
  nm_node_t* v4 = node_at("127.0.0.1:0", 2);
  nm_node_t* v6 = node_at("[::1]:0", 3);
  nm_node_t* v4_mapped = node_at("127.0.0.1:0", 6);
  char addr[NM_ADDR_MAX];
  /* The IPv4 node dials the dual-stack one at its IPv4 loopback address, another at its
   * IPv4-mapped IPv6 form; the dual-stack node dials the IPv6 one. */
  snprintf(addr, sizeof addr, "127.0.0.1:%u", port_of(dual));
  dial(v4, dual, addr);
  snprintf(addr, sizeof addr, "[::ffff:127.0.0.1]:%u", port_of(dual));
  dial(v4_mapped, dual, addr);
  NM_OK_OR_FAIL(nm_node_local_addr(v6, addr, sizeof addr));
  dial(dual, v6, addr);
  reliable_events(v4, dual, 1);
  reliable_events(dual, v4, 2);
  reliable_events(dual, v6, 3);
  reliable_events(v4_mapped, dual, 4);
  /* Path MTU discovery with DF set runs over both (loopback carries the largest packet). */
  ASSERT_EVENTUALLY(test_session_stats(dual, test_node_id(v4)).max_datagram_bytes == 8192, 5000);
  ASSERT_EVENTUALLY(test_session_stats(dual, test_node_id(v6)).max_datagram_bytes == 8192, 5000);
  /* The dual-stack node sees the IPv4 peer at an IPv4 address (not ::ffff:127.0.0.1): what
   * it reports as the peer's reflexive address is one the peer can use and announce. */
  char seen[NM_ADDR_MAX], expected[NM_ADDR_MAX];
  NM_OK_OR_FAIL(nm_node_probe_reflex(v4, test_node_id(dual), 5000, seen, sizeof seen));
  snprintf(expected, sizeof expected, "127.0.0.1:%u", port_of(v4));
  assert_string_equal(seen, expected);
  NM_OK_OR_FAIL(nm_node_probe_reflex(dual, test_node_id(v6), 5000, seen, sizeof seen));
  snprintf(expected, sizeof expected, "[::1]:%u", port_of(dual));
  assert_string_equal(seen, expected);
  NM_OK_OR_FAIL(nm_node_free(dual));
  NM_OK_OR_FAIL(nm_node_free(v4));
  NM_OK_OR_FAIL(nm_node_free(v6));
  NM_OK_OR_FAIL(nm_node_free(v4_mapped));
}

/* `status` from nm_node_connect at once (the default waits 3 x 5 s for an answer that
 * cannot come), with a message that names the cause. */
static void expect_dial_fails(nm_node_t* n, const char* addr, nm_status status, const char* cause) {
  uint8_t key[NM_KEY_SIZE];
  memset(key, 7, sizeof key);
  double start = test_now_ms();
  assert_int_equal(nm_node_connect(n, addr, key, 12345), status);
  const char* detail = nm_last_error_message();
  if (!strstr(detail, cause) || !strstr(detail, addr)) fail_msg("%s: '%s' lacks '%s'", addr, detail, cause);
  assert_true(test_now_ms() - start < 2000);
  assert_int_equal(test_node_stats(n).datagrams_sent, 0);
}

/* Not even tried: NM_ERR_ADDRESS. */
static void expect_unreachable(nm_node_t* n, const char* addr, const char* cause) {
  expect_dial_fails(n, addr, NM_ERR_ADDRESS, cause);
  assert_int_equal(test_node_stats(n).tx_refused_by_network, 0);
}

static void an_address_the_socket_cannot_reach_is_refused_at_once(void** state) {
  (void)state;
  nm_node_t* v4 = node_at("127.0.0.1:0", 4);
  nm_node_t* v6 = node_at("[::1]:0", 5);
  expect_unreachable(v4, "[::1]:9", "the node's socket is IPv4");
  expect_unreachable(v4, "[2001:db8::1]:9", "bind to [::]:0");
  expect_unreachable(v6, "127.0.0.1:9", "the node's socket is IPv6 only");
  expect_unreachable(v4, "255.255.255.255:9", "not a unicast destination");
  expect_unreachable(v4, "224.0.0.1:9", "not a unicast destination");
  expect_unreachable(v4, "127.0.0.1:0", "not a unicast destination");
  expect_unreachable(v6, "[ff02::1]:9", "not a unicast destination");
  /* Loopback reaches this host only (the default bind_addr is 127.0.0.1:0). */
  expect_unreachable(v4, "192.0.2.1:9", "bound to loopback");
  expect_unreachable(v6, "[2001:db8::1]:9", "bound to loopback");
  NM_OK_OR_FAIL(nm_node_free(v4));
  NM_OK_OR_FAIL(nm_node_free(v6));
}

/* Tried, and refused by the local stack (lo has no link-local route): NM_ERR_TRANSPORT
 * with the system's reason, at once, as TCP's connect fails; the refusal is counted. */
static void a_dial_the_network_refuses_fails_at_once(void** state) {
  (void)state;
  nm_node_t* dual = node_at("[::]:0", 7);
  expect_dial_fails(dual, "[fe80::1%lo]:9", NM_ERR_TRANSPORT, "unreachable");
  assert_int_equal(test_node_stats(dual).tx_refused_by_network, 1);
  NM_OK_OR_FAIL(nm_node_free(dual));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_dual_stack_node_reaches_both_families),
      cmocka_unit_test(an_address_the_socket_cannot_reach_is_refused_at_once),
      cmocka_unit_test(a_dial_the_network_refuses_fails_at_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
