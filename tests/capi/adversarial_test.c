/* The adversarial suite ("Hostile networks"): a live victim node attacked through real
 * sockets from other addresses while a legitimate node streams to it. Each scenario asserts
 * the bound it defends; the harness (adversarial.h) adds, for every scenario: no crash, the
 * live stream delivered everything exactly once and in order and progressed during the
 * attack, and RSS stayed bounded. Output lines give each window's bytes in / caused bytes
 * out and the victim counters that moved. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "adversarial.h"

static uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/* An invented node id: non-zero, and its first wire bytes are not "EN" (a 72-byte datagram
 * starting 45 4E is a Net packet, not a pingwave). */
static uint64_t invented_id(uint64_t salt, uint64_t i) {
  uint64_t id = mix(salt * 1000003 + i);
  if ((id & 0xFFFF) == 0x4E45 || id == 0) id ^= 0x10001;
  return id;
}

/* Drop counters of a node that mean "something arrived that should not have". */
static uint64_t legit_drops(const nm_node_stats_t* s) {
  return s->drop_malformed + s->drop_unknown_session + s->drop_auth_failed + s->drop_replay +
         s->drop_handshake_rejected + s->drop_unexpected_handshake + s->drop_unknown_subprotocol +
         s->forward_refused + s->forward_no_route + s->forward_ttl_expired + s->forwarded +
         s->ignored_mesh_packets;
}

/* The legit node received nothing but the victim's ordinary traffic. */
static void assert_legit_untouched(const adv_snap* b, const adv_snap* e) {
  assert_int_equal(legit_drops(&e->l) - legit_drops(&b->l), 0);
}

/* ---- 1. the former heap overflow in handle_routed ---- */

/* Routed datagrams for a direct neighbour with 9,000 and 8,292 bytes behind the routing
 * header (more than a packet): from a stranger, from neighbours' addresses (also the
 * destination's own), and from the legitimate node's address (forged source). Each is
 * refused and counted; nothing is forwarded; no neighbour receives anything. */
static void oversized_routed_datagram_to_a_neighbour(adv* a) {
  static uint8_t inner[9000], d[9100];
  memset(inner, 0xA5, sizeof inner);
  inner[0] = 0x45; /* looks like a Net packet */
  inner[1] = 0x4E;
  inner[2] = 1;
  int st = adv_stranger(a);
  const size_t sizes[] = {9000, 8292};
  const uint64_t dests[] = {a->legit_id, a->nb_id[0], a->nb_id[1]};
  uint64_t expected = 0;
  adv_snap b, e;
  adv_attack_begin(a, &b);
  for (int round = 0; round < 20; ++round)
    for (size_t k = 0; k < 2; ++k)
      for (size_t t = 0; t < 3; ++t) {
        size_t n = nmt_routed(d, sizeof d, 8, 0, (uint32_t)a->nb_id[0], dests[t], inner, sizes[k]);
        assert_true(n == 18 + sizes[k]);
        adv_send_stranger(a, st, d, n);
        adv_send_as_neighbour(a, 0, d, n); /* for t == 1: to itself, from its own address */
        adv_send_as_neighbour(a, 1, d, n);
        expected += 3;
        if (adv_send_spoofed(a, a->legit_addr, d, n) == 0) ++expected;
      }
  adv_attack_end(a, &e);
  adv_report("oversized routed", a, &b, &e);
  adv_traffic t = adv_traffic_between(a, &b, &e);
  assert_int_equal(ADV_D(&b, &e, forward_refused), expected);
  assert_int_equal(ADV_D(&b, &e, drop_malformed), 0);
  assert_int_equal(ADV_D(&b, &e, forwarded), 0);
  assert_int_equal(e.cap.routed, b.cap.routed);          /* no neighbour got a routed datagram */
  assert_int_equal(t.observed_bytes, 0);                 /* nor anything else, nor the stranger */
  assert_true(t.caused_bytes <= ADV_COUNTER_SLACK);
  assert_legit_untouched(&b, &e);
}

/* ---- 2. open relay ---- */

/* 500 well-formed routed datagrams (a real sealed Net packet behind a routing header with
 * TTL left) for the victim's neighbours, from a stranger's address: none is forwarded,
 * all are counted, and the victim sends nothing because of them. */
static void no_open_relay_for_strangers(adv* a) {
  int st = adv_stranger(a);
  uint8_t plain[64], inner[256], d[512];
  size_t pl = nmt_frame(plain, "relay me", 8);
  adv_snap b, e;
  adv_attack_begin(a, &b);
  for (int i = 0; i < 500; ++i) {
    nmt_packet p;
    memset(&p, 0, sizeof p);
    p.stream_id = 5;
    p.sequence = (uint64_t)i;
    p.event_count = 1;
    size_t in = nmt_peer_seal(a->nb[0], &p, plain, pl, inner, sizeof inner);
    assert_true(in > 0);
    uint64_t dest = i % 2 ? a->legit_id : a->nb_id[1];
    size_t n = nmt_routed(d, sizeof d, 8, 0, (uint32_t)a->nb_id[0], dest, inner, in);
    adv_send_stranger(a, st, d, n);
  }
  adv_attack_end(a, &e);
  adv_report("open relay", a, &b, &e);
  adv_traffic t = adv_traffic_between(a, &b, &e);
  assert_int_equal(ADV_D(&b, &e, forwarded), 0);
  assert_int_equal(ADV_D(&b, &e, forward_refused), 500);
  assert_int_equal(ADV_D(&b, &e, drop_malformed), 0);
  assert_int_equal(t.observed_bytes, 0);
  assert_true(t.caused_bytes <= ADV_COUNTER_SLACK); /* bytes out <= bytes in: here nothing */
  assert_legit_untouched(&b, &e);
}

/* ---- 3. pingwave amplification ---- */

typedef struct origin_set {
  uint64_t salt;
  uint64_t count;
} origin_set;

static int is_invented(const adv* a, uint64_t dest, const void* arg) {
  (void)a;
  const origin_set* o = arg;
  for (uint64_t i = 0; i < o->count; ++i)
    if (invented_id(o->salt, i) == dest) return 1;
  return 0;
}

/* 500 forged pingwaves with distinct invented origins and TTL 255 from one raw (0.23-like)
 * neighbour's address. Bounds: the victim sends at most the bytes it received because of
 * them; at most the neighbour's new-origin allowance (32, refilled at 32 per interval) of
 * routes; relayed copies carry at most the victim's own pingwave TTL; refusals counted.
 * The heartbeat interval is 10 s, so the allowance barely refills during the flood; the
 * victim's periodic traffic in the window (if a tick falls in it) is measured at the
 * neighbours and subtracted (adv_traffic.periodic_overhead), as are the live stream's ACKs. */
static void pingwave_flood_of_invented_origins(adv* a) {
  const origin_set origins = {0xF100D, 500};
  uint8_t pw[72];
  adv_snap b, e;
  adv_attack_begin(a, &b);
  for (uint64_t i = 0; i < origins.count; ++i) {
    nmt_pingwave(pw, invented_id(origins.salt, i), 1, 255, 0);
    adv_send_as_neighbour(a, 0, pw, sizeof pw);
  }
  adv_attack_end(a, &e);
  size_t routes = adv_count_routes(a, is_invented, &origins);
  adv_report("pingwave flood, distinct origins", a, &b, &e);
  adv_traffic t = adv_traffic_between(a, &b, &e);
  double elapsed = e.t - b.t + 0.1; /* the route read came a little after e.t */
  uint64_t allowance = 32 + (uint64_t)(elapsed * 1000.0 / a->spec->heartbeat_ms * 32 + 1);
  uint64_t refused = ADV_D(&b, &e, pingwave_origins_refused);
  uint64_t admitted = origins.count - refused;
  printf("    routes from forged origins %zu, admitted %llu (allowance %llu), relayed copies %llu"
         " (%llu B) + %llu sealed to the legit node\n",
         routes, (unsigned long long)admitted, (unsigned long long)allowance,
         (unsigned long long)(e.cap.relayed - b.cap.relayed),
         (unsigned long long)(e.cap.relayed_bytes - b.cap.relayed_bytes),
         (unsigned long long)(e.l.pingwaves_received - b.l.pingwaves_received));
  /* the legit node's own pingwaves count too: at most one per tick */
  uint64_t received = ADV_D(&b, &e, pingwaves_received);
  assert_true(received >= origins.count);
  assert_true(received <= origins.count + (e.l.pingwaves_sent - b.l.pingwaves_sent));
  assert_true(refused <= origins.count);
  assert_true(refused >= origins.count - allowance); /* counted */
  assert_true(admitted <= allowance);
  assert_true(routes <= admitted);
  assert_true(t.caused_bytes <= t.in_bytes + ADV_COUNTER_SLACK); /* never amplified */
  assert_true(t.observed_bytes <= t.in_bytes);
  for (size_t i = 0; i < a->n_relays; ++i) {
    if (a->relays[i].at < b.t) continue;
    if (a->relays[i].ttl > a->victim_pingwave_ttl)
      fail_msg("relayed pingwave of %llx carries TTL %u > the victim's %u",
               (unsigned long long)a->relays[i].origin, a->relays[i].ttl, a->victim_pingwave_ttl);
    assert_true(a->relays[i].neighbour != 0); /* never back where it came from */
  }
}

/* A few invented origins, each once (all within the new-origin allowance, so each is
 * admitted and would be relayed to every other neighbour: 3 x 72 bytes raw + 160 sealed
 * for each 72 received): the relays stop at the raw bytes received. */
static void pingwave_relays_stay_within_raw_bytes_received(adv* a) {
  const origin_set origins = {0xB0D6E7, 24};
  uint8_t pw[72];
  adv_snap b, e;
  adv_attack_begin(a, &b);
  for (uint64_t i = 0; i < origins.count; ++i) {
    nmt_pingwave(pw, invented_id(origins.salt, i), 1, 3, 0);
    adv_send_as_neighbour(a, 0, pw, sizeof pw);
  }
  adv_attack_end(a, &e);
  size_t routes = adv_count_routes(a, is_invented, &origins);
  adv_report("pingwaves within the allowance", a, &b, &e);
  adv_traffic t = adv_traffic_between(a, &b, &e);
  uint64_t sealed = e.l.pingwaves_received - b.l.pingwaves_received;
  printf("    routes %zu, relayed %llu B raw + %llu sealed to the legit node, %llu suppressed\n", routes,
         (unsigned long long)(e.cap.relayed_bytes - b.cap.relayed_bytes), (unsigned long long)sealed,
         (unsigned long long)ADV_D(&b, &e, pingwave_relays_suppressed));
  assert_int_equal(routes, origins.count);
  assert_int_equal(ADV_D(&b, &e, pingwave_origins_refused), 0);
  assert_true(t.caused_bytes <= t.in_bytes + ADV_COUNTER_SLACK);
  assert_true(t.observed_bytes <= t.in_bytes);
  assert_true(ADV_D(&b, &e, pingwave_relays_suppressed) > 0); /* the budget did bind */
}

/* One invented origin, 500 times with increasing seq over about a second: re-broadcast at
 * most once per half heartbeat interval (to each other neighbour). */
static void pingwave_same_origin_repeated(adv* a) {
  const uint64_t origin = invented_id(0x5A3E, 0);
  const double half = a->spec->heartbeat_ms / 2000.0;
  uint8_t pw[72];
  adv_snap b, e;
  adv_attack_begin(a, &b);
  double t0 = adv_now();
  for (uint64_t seq = 1; seq <= 500; ++seq) {
    nmt_pingwave(pw, origin, seq, 255, 0);
    adv_send_as_neighbour(a, 0, pw, sizeof pw);
    usleep(2000);
  }
  adv_attack_end(a, &e);
  double span = e.t - t0;
  uint64_t bound = 1 + (uint64_t)(span / half);
  uint64_t per_nb[ADV_MAX_NEIGHBOURS] = {0};
  for (size_t i = 0; i < a->n_relays; ++i)
    if (a->relays[i].origin == origin) {
      assert_true(a->relays[i].ttl <= a->victim_pingwave_ttl);
      per_nb[a->relays[i].neighbour]++;
    }
  adv_report("pingwave, one origin x500", a, &b, &e);
  adv_traffic t = adv_traffic_between(a, &b, &e);
  printf("    relays per neighbour over %.2f s (bound %llu):", span, (unsigned long long)bound);
  for (int k = 0; k < a->n_neighbours; ++k) printf(" %llu", (unsigned long long)per_nb[k]);
  printf("\n");
  assert_int_equal(per_nb[0], 0);
  for (int k = 1; k < a->n_neighbours; ++k) {
    assert_true(per_nb[k] >= 1); /* it is a real origin now: relayed, but ... */
    assert_true(per_nb[k] <= bound); /* ... at most once per half interval */
  }
  assert_true(t.caused_bytes <= t.in_bytes + ADV_COUNTER_SLACK);
  assert_true(t.observed_bytes <= t.in_bytes);
}

/* Raw pingwaves forged with the address of a netmesh neighbour, which seals its own: from
 * the legitimate node's address (forged source), and from a scripted neighbour that
 * announced sealed pingwaves. Ignored entirely: counted, no route, nothing relayed. */
static void raw_pingwaves_from_a_sealing_neighbour_are_ignored(adv* a) {
  const origin_set origins = {0x5EA1, 400};
  uint8_t pw[72];
  uint64_t sent = 0;
  adv_snap b, e;
  adv_attack_begin(a, &b);
  for (uint64_t i = 0; i < origins.count; ++i) {
    nmt_pingwave(pw, invented_id(origins.salt, i), 1, 255, 0);
    if (i % 2 == 0) {
      if (adv_send_spoofed(a, a->legit_addr, pw, sizeof pw) == 0) ++sent;
    } else {
      adv_send_as_neighbour(a, a->n_neighbours - 1, pw, sizeof pw); /* the sealing one */
      ++sent;
    }
  }
  adv_attack_end(a, &e);
  size_t routes = adv_count_routes(a, is_invented, &origins);
  adv_report("raw pingwaves from sealing neighbours", a, &b, &e);
  adv_traffic t = adv_traffic_between(a, &b, &e);
  assert_int_equal(ADV_D(&b, &e, ignored_mesh_packets), sent);
  assert_int_equal(ADV_D(&b, &e, pingwave_origins_refused), 0);
  assert_true(ADV_D(&b, &e, pingwaves_received) <= e.l.pingwaves_sent - b.l.pingwaves_sent);
  assert_int_equal(routes, 0);
  assert_int_equal(e.cap.relayed, b.cap.relayed);
  assert_int_equal(t.observed_bytes, 0);
  assert_true(t.caused_bytes <= ADV_COUNTER_SLACK);
}

/* ---- 4. the C API ---- */

static double timed_status(nm_status* out, nm_status s, double t0) {
  *out = s;
  return adv_now() - t0;
}

#define EXPECT_QUICK_INVALID(call)                                                            \
  do {                                                                                        \
    nm_status st_;                                                                            \
    double took_ = timed_status(&st_, (call), adv_now());                                     \
    if (st_ != NM_ERR_INVALID_ARGUMENT)                                                       \
      fail_msg("%s -> %s, want NM_ERR_INVALID_ARGUMENT", #call, nm_strerror(st_));            \
    if (took_ > 0.5) fail_msg("%s took %.2f s (no handshake may be attempted)", #call, took_);  \
  } while (0)

/* Out-of-range enum values are refused (not undefined behaviour: the ASan+UBSan run of
 * this suite would abort), also on the live stream's own id; a node cannot dial itself,
 * directly or routed (via itself or via a neighbour), and no session or route appears. */
static void c_api_bad_enums_and_self_connect(adv* a) {
  nm_route_t before_routes[64];
  size_t routes_before = 0, routes_after = 0;
  NM_OK_OR_FAIL(nm_node_routes(a->victim, before_routes, 64, &routes_before));
  adv_snap b, e;
  adv_attack_begin(a, &b);
  nm_stream_config_t c;
  nm_stream_t* s = NULL;
  const uint64_t ids[] = {900, 77 /* the live stream */};
  for (size_t k = 0; k < 2; ++k) {
    nm_stream_config_init(&c);
    c.reliability = (nm_reliability)7;
    EXPECT_QUICK_INVALID(nm_node_open_stream(a->victim, a->legit_id, ids[k], &c, &s));
    nm_stream_config_init(&c);
    c.close_behaviour = (nm_close_behaviour)-3;
    EXPECT_QUICK_INVALID(nm_node_open_stream(a->victim, a->legit_id, ids[k], &c, &s));
    EXPECT_QUICK_INVALID(nm_node_open_stream(a->legit, a->victim_id, ids[k], &c, &s));
  }
  assert_null(s);
  nm_impairment_t imp;
  nm_impairment_init(&imp);
  const int dirs[] = {9, 0, -1, 4};
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_QUICK_INVALID(nm_node_set_impairment(a->victim, a->legit_id, (nm_direction)dirs[k], &imp));
    EXPECT_QUICK_INVALID(nm_node_set_impairment(a->victim, 0, (nm_direction)dirs[k], NULL));
  }
  uint8_t legit_key[NM_KEY_SIZE];
  NM_OK_OR_FAIL(nm_node_public_key(a->legit, legit_key));
  EXPECT_QUICK_INVALID(nm_node_connect(a->victim, a->victim_addr, a->victim_key, a->victim_id));
  EXPECT_QUICK_INVALID(nm_node_connect(a->victim, a->victim_addr, legit_key, a->victim_id));
  EXPECT_QUICK_INVALID(nm_node_connect(a->victim, a->legit_addr, a->victim_key, a->legit_id));
  EXPECT_QUICK_INVALID(nm_node_connect_via(a->victim, a->victim_addr, a->victim_key, a->victim_id));
  EXPECT_QUICK_INVALID(nm_node_connect_via(a->victim, a->legit_addr, a->victim_key, a->victim_id));
  adv_attack_end(a, &e);
  adv_report("C API misuse", a, &b, &e);
  assert_int_equal(e.v.sessions, b.v.sessions);
  assert_int_equal(ADV_D(&b, &e, handshakes_completed), 0);
  NM_OK_OR_FAIL(nm_node_routes(a->victim, NULL, 0, &routes_after));
  assert_int_equal(routes_after, routes_before);
  nm_peer_event_t ev;
  while (nm_node_next_peer_event(a->victim, &ev, 0) == NM_OK)
    assert_true(ev.peer_node_id != a->victim_id);
  /* the live stream is still the reliable one it was */
  nm_stream_stats_t ss;
  NM_OK_OR_FAIL(nm_stream_stats(a->rx, &ss));
  assert_int_equal(ss.reliable, 1);
  assert_int_equal(ss.active, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      ADV_SCENARIO(oversized_routed_datagram_to_a_neighbour, .neighbours = 2),
      ADV_SCENARIO(no_open_relay_for_strangers, .neighbours = 2),
      ADV_SCENARIO(pingwave_flood_of_invented_origins, .neighbours = 4, .heartbeat_ms = 10000),
      ADV_SCENARIO(pingwave_relays_stay_within_raw_bytes_received, .neighbours = 4,
                   .heartbeat_ms = 10000),
      ADV_SCENARIO(pingwave_same_origin_repeated, .neighbours = 4, .heartbeat_ms = 400),
      ADV_SCENARIO(raw_pingwaves_from_a_sealing_neighbour_are_ignored, .neighbours = 2,
                   .sealed_neighbours = 1),
      ADV_SCENARIO(c_api_bad_enums_and_self_connect, .neighbours = 1),
  };
  return cmocka_run_group_tests_name("adversarial", tests, NULL, NULL);
}
