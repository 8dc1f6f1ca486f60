/* The mesh: routed handshakes, relaying without decryption, pingwave route discovery,
 * failure detection and rerouting, streams over relays. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_support.h"
#include "netmesh_testing.h"

enum { kMaxNodes = 5 };

static nm_node_t* mesh_node(void) {
  nm_node_config_t c;
  test_config(&c, 0x42);
  c.heartbeat_interval_ms = 100;
  c.suspect_after_ms = 300;
  c.fail_after_ms = 600;
  nm_node_t* n;
  NM_OK_OR_FAIL(nm_node_new(&c, &n));
  return n;
}

/* A direct session between two nodes (a dials b). */
static void link_nodes(nm_node_t* a, nm_node_t* b) {
  uint8_t key[32];
  char addr[NM_ADDR_MAX];
  NM_OK_OR_FAIL(nm_node_allow_peer(b, test_node_id(a)));
  NM_OK_OR_FAIL(nm_node_public_key(b, key));
  NM_OK_OR_FAIL(nm_node_local_addr(b, addr, sizeof addr));
  NM_OK_OR_FAIL(nm_node_connect(a, addr, key, test_node_id(b)));
}

static int route_to(nm_node_t* n, uint64_t dest, nm_route_t* found) {
  nm_route_t routes[32];
  size_t count = 0;
  NM_OK_OR_FAIL(nm_node_routes(n, routes, 32, sizeof *routes, &count));
  for (size_t i = 0; i < count && i < 32; ++i)
    if (routes[i].dest == dest) {
      if (found) *found = routes[i];
      return 1;
    }
  return 0;
}

static void wait_for_route(nm_node_t* n, uint64_t dest, uint32_t metric) {
  nm_route_t r;
  for (int i = 0; i < 300; ++i) {
    if (route_to(n, dest, &r) && r.metric == metric) return;
    usleep(10 * 1000);
  }
  fail_msg("no route of metric %u to %llu", metric, (unsigned long long)dest);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* n reliable events a -> dest over the mesh, checked exactly once and in order. */
static void reliable_transfer(nm_node_t* a, nm_node_t* dest, uint64_t stream_id, uint32_t n) {
  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.reliability = NM_RELIABLE;
  nm_stream_t *tx, *rx;
  NM_OK_OR_FAIL(nm_node_open_stream(a, test_node_id(dest), stream_id, &cfg, &tx));
  NM_OK_OR_FAIL(nm_node_open_stream(dest, test_node_id(a), stream_id, &cfg, &rx));
  uint32_t next = 0;
  for (uint32_t i = 0; i < n; ++i) {
    nm_event_t e = {&i, sizeof i};
    NM_OK_OR_FAIL(nm_stream_send_blocking(tx, &e, 1, 10000, NULL));
    usleep(50); /* not a burst: one packet per event, so every event crosses the relays */
    uint32_t v;
    size_t len;
    while (nm_stream_recv(rx, &v, sizeof v, &len, 0) == NM_OK) assert_int_equal(v, next++);
  }
  while (next < n) {
    uint32_t v;
    size_t len;
    NM_OK_OR_FAIL(nm_stream_recv(rx, &v, sizeof v, &len, 10000));
    assert_int_equal(v, next++);
  }
  uint32_t extra;
  size_t len;
  assert_int_equal(nm_stream_recv(rx, &extra, sizeof extra, &len, 100), NM_ERR_TIMEOUT);
  nm_stream_free(tx);
  nm_stream_free(rx);
}

static void three_node_chain(void** state) {
  (void)state;
  nm_node_t* n[3];
  for (int i = 0; i < 3; ++i) n[i] = mesh_node();
  link_nodes(n[0], n[1]);
  link_nodes(n[1], n[2]);
  /* a reaches c through b: the routed handshake is relayed by b, which cannot read it */
  test_connect_through(n[0], n[1], n[2]);
  reliable_transfer(n[0], n[2], 8, 500);
  reliable_transfer(n[2], n[0], 9, 200); /* and back */
  nm_node_stats_t relay, end;
  nm_node_stats(n[1], &relay, sizeof relay);
  nm_node_stats(n[2], &end, sizeof end);
  assert_true(relay.forwarded >= 700);
  assert_int_equal(relay.drop_auth_failed, 0);
  assert_int_equal(relay.sessions, 2); /* b has no session with the traffic it carries */
  assert_int_equal(end.sessions, 2);
  for (int i = 2; i >= 0; --i) nm_node_free(n[i]);
}

static void five_node_chain_discovers_routes_and_survives_loss(void** state) {
  (void)state;
  nm_node_t* n[kMaxNodes];
  for (int i = 0; i < kMaxNodes; ++i) n[i] = mesh_node();
  for (int i = 0; i + 1 < kMaxNodes; ++i) link_nodes(n[i], n[i + 1]);
  /* pingwaves: a learns e four hops away (metric = hop_count + 2 at the receiver) */
  wait_for_route(n[0], test_node_id(n[4]), 5);
  wait_for_route(n[4], test_node_id(n[0]), 5);
  nm_route_t r;
  assert_true(route_to(n[0], test_node_id(n[4]), &r));
  assert_true(r.next_hop == test_node_id(n[1]));
  test_connect_through(n[0], n[1], n[4]);
  /* 10% loss on both ends' traffic: recovered end to end across three relays */
  nm_impairment_t imp;
  nm_impairment_init(&imp, sizeof imp);
  imp.loss = 0.10;
  imp.seed = 5;
  NM_OK_OR_FAIL(nm_node_set_impairment(n[0], 0, NM_BOTH_DIRECTIONS, &imp));
  reliable_transfer(n[0], n[4], 12, 400);
  nm_stream_stats_t st;
  (void)st;
  nm_impairment_stats_t a;
  NM_OK_OR_FAIL(nm_node_impairment_stats(n[0], &a, sizeof a));
  assert_true(a.dropped_loss > 0);
  for (int i = 1; i < 4; ++i) {
    nm_node_stats_t relay;
    nm_node_stats(n[i], &relay, sizeof relay);
    assert_true(relay.forwarded > 0);
  }
  for (int i = kMaxNodes - 1; i >= 0; --i) nm_node_free(n[i]);
}

typedef struct flow {
  nm_stream_t* tx;
  nm_stream_t* rx;
  uint32_t sent;
  uint32_t received;
} flow;

static void pump(flow* f, uint32_t count) {
  for (uint32_t k = 0; k < count; ++k) {
    nm_event_t e = {&f->sent, sizeof f->sent};
    if (nm_stream_send(f->tx, &e, 1, NULL) == NM_OK) ++f->sent;
  }
  uint32_t v;
  size_t len;
  while (nm_stream_recv(f->rx, &v, sizeof v, &len, 0) == NM_OK) {
    assert_int_equal(v, f->received); /* exactly once, in order, across the reroute */
    ++f->received;
  }
}

static void diamond_reroutes_when_a_relay_dies(void** state) {
  (void)state;
  /*     b
   *   /   \
   *  a     d
   *   \   /
   *     c      */
  nm_node_t *a = mesh_node(), *b = mesh_node(), *c = mesh_node(), *d = mesh_node();
  link_nodes(a, b);
  link_nodes(a, c);
  link_nodes(b, d);
  link_nodes(c, d);
  wait_for_route(a, test_node_id(d), 3);
  wait_for_route(d, test_node_id(a), 3);
  nm_route_t r;
  route_to(a, test_node_id(d), &r);
  nm_node_t* used = r.next_hop == test_node_id(b) ? b : c;
  nm_node_t* other = used == b ? c : b;
  test_connect_through(a, used, d);

  nm_stream_config_t cfg;
  nm_stream_config_init(&cfg, sizeof cfg);
  cfg.reliability = NM_RELIABLE;
  flow f = {0};
  NM_OK_OR_FAIL(nm_node_open_stream(a, test_node_id(d), 30, &cfg, &f.tx));
  NM_OK_OR_FAIL(nm_node_open_stream(d, test_node_id(a), 30, &cfg, &f.rx));
  for (int i = 0; i < 20; ++i) {
    pump(&f, 10);
    usleep(5000);
  }
  assert_true(f.received > 0);

  /* the relay in use dies; a and d detect it (fail_after 600 ms) and take the other path */
  uint64_t dead = test_node_id(used);
  double t0 = now_s();
  nm_node_free(used);
  uint32_t before = f.received;
  double restored = 0;
  while (now_s() - t0 < 5.0) {
    pump(&f, 5);
    if (!restored && f.received > before + 20) restored = now_s() - t0;
    if (restored && f.received >= f.sent && f.sent > before + 200) break;
    usleep(5000);
  }
  printf("  relay died; traffic restored after %.2f s (failure declared at 0.6 s), %u events\n",
         restored, f.received);
  assert_true(restored > 0 && restored < 2.0);
  assert_true(route_to(a, test_node_id(d), &r));
  assert_true(r.next_hop == test_node_id(other));
  /* the failure is reported once fail_after_ms has passed (routes may switch earlier: the
   * other relay's fresher pingwaves win once the dead one's stop coming) */
  nm_peer_event_t ev;
  int failed_seen = 0;
  while (!failed_seen && nm_node_next_peer_event(a, &ev, sizeof ev, 2000) == NM_OK)
    if (ev.kind == NM_PEER_FAILED && ev.peer_node_id == dead) failed_seen = 1;
  assert_true(failed_seen);
  assert_true(now_s() - t0 >= 0.6 - 0.1 - 0.05); /* from the last heartbeat heard */
  /* drain what is still in flight: nothing lost, nothing twice */
  for (int i = 0; i < 200 && f.received < f.sent; ++i) {
    pump(&f, 0);
    usleep(10000);
  }
  assert_int_equal(f.received, f.sent);
  nm_stream_free(f.tx);
  nm_stream_free(f.rx);
  nm_node_free(a);
  nm_node_free(other);
  nm_node_free(d);
}

static void peer_events_report_connect_suspect_fail_recover(void** state) {
  (void)state;
  nm_node_t *a = mesh_node(), *b = mesh_node();
  link_nodes(a, b);
  nm_peer_event_t ev;
  NM_OK_OR_FAIL(nm_node_next_peer_event(a, &ev, sizeof ev, 1000));
  assert_int_equal(ev.kind, NM_PEER_CONNECTED);
  assert_true(ev.peer_node_id == test_node_id(b));
  int fd;
  NM_OK_OR_FAIL(nm_node_peer_event_fd(a, &fd));
  /* b goes silent: all of its datagrams are dropped on the way to a */
  test_lose_all(a, test_node_id(b), NM_INBOUND, 1);
  NM_OK_OR_FAIL(nm_node_next_peer_event(a, &ev, sizeof ev, 2000));
  assert_int_equal(ev.kind, NM_PEER_SUSPECTED);
  NM_OK_OR_FAIL(nm_node_next_peer_event(a, &ev, sizeof ev, 2000));
  assert_int_equal(ev.kind, NM_PEER_FAILED);
  assert_false(route_to(a, test_node_id(b), NULL));
  /* and comes back */
  NM_OK_OR_FAIL(nm_node_set_impairment(a, test_node_id(b), NM_INBOUND, NULL));
  NM_OK_OR_FAIL(nm_node_next_peer_event(a, &ev, sizeof ev, 2000));
  assert_int_equal(ev.kind, NM_PEER_RECOVERED);
  assert_true(route_to(a, test_node_id(b), NULL));
  assert_int_equal(nm_node_next_peer_event(a, &ev, sizeof ev, 0), NM_ERR_TIMEOUT);
  nm_node_free(a);
  nm_node_free(b);
}

static void routed_handshake_straight_to_the_peer(void** state) {
  (void)state;
  /* the degenerate one-hop form a started 0.23 node needs: relay == destination */
  nm_node_t *a = mesh_node(), *b = mesh_node();
  test_connect_through(a, b, b);
  reliable_transfer(a, b, 3, 100);
  nm_node_stats_t sb;
  nm_node_stats(b, &sb, sizeof sb);
  assert_int_equal(sb.sessions, 1);
  assert_int_equal(sb.forwarded, 0);
  nm_node_free(a);
  nm_node_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(routed_handshake_straight_to_the_peer),
      cmocka_unit_test(three_node_chain),
      cmocka_unit_test(five_node_chain_discovers_routes_and_survives_loss),
      cmocka_unit_test(diamond_reroutes_when_a_relay_dies),
      cmocka_unit_test(peer_events_report_connect_suspect_fail_recover),
  };
  return cmocka_run_group_tests_name("mesh", tests, NULL, NULL);
}
