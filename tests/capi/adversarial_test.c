/* The adversarial suite ("Hostile networks"): a live victim node attacked through real
 * sockets from other addresses while a legitimate node streams to it. Each scenario asserts
 * the bound it defends; the harness (adversarial.h) adds, for every scenario: no crash, the
 * live stream delivered everything exactly once and in order and progressed during the
 * attack, and RSS stayed bounded. Output lines give each window's bytes in / caused bytes
 * out and the victim counters that moved. */
#define _GNU_SOURCE /* sendmmsg */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adversarial.h"
#include "netmesh_testing.h"

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
  NM_OK_OR_FAIL(nm_node_routes(a->victim, before_routes, 64, sizeof *before_routes, &routes_before));
  adv_snap b, e;
  adv_attack_begin(a, &b);
  nm_stream_config_t c;
  nm_stream_t* s = NULL;
  const uint64_t ids[] = {900, 77 /* the live stream */};
  for (size_t k = 0; k < 2; ++k) {
    nm_stream_config_init(&c, sizeof c);
    c.reliability = 7;
    EXPECT_QUICK_INVALID(nm_node_open_stream(a->victim, a->legit_id, ids[k], &c, &s));
    nm_stream_config_init(&c, sizeof c);
    c.close_behaviour = (uint8_t)-3;
    EXPECT_QUICK_INVALID(nm_node_open_stream(a->victim, a->legit_id, ids[k], &c, &s));
    EXPECT_QUICK_INVALID(nm_node_open_stream(a->legit, a->victim_id, ids[k], &c, &s));
  }
  assert_null(s);
  nm_impairment_t imp;
  nm_impairment_init(&imp, sizeof imp);
  const int dirs[] = {9, 0, -1, 4};
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_QUICK_INVALID(nm_node_set_impairment(a->victim, a->legit_id, (uint32_t)dirs[k], &imp));
    EXPECT_QUICK_INVALID(nm_node_set_impairment(a->victim, 0, (uint32_t)dirs[k], NULL));
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
  NM_OK_OR_FAIL(nm_node_routes(a->victim, NULL, 0, sizeof(nm_route_t), &routes_after));
  assert_int_equal(routes_after, routes_before);
  nm_peer_event_t ev;
  while (nm_node_next_peer_event(a->victim, &ev, sizeof ev, 0) == NM_OK)
    assert_true(ev.peer_node_id != a->victim_id);
  /* the live stream is still the reliable one it was */
  nm_stream_stats_t ss;
  NM_OK_OR_FAIL(nm_stream_stats(a->rx, &ss, sizeof ss));
  assert_int_equal(ss.reliable, 1);
  assert_int_equal(ss.active, 1);
}


/* ---- 5. replayed handshakes (SECURITY.md, "Replayed and forged handshakes") ---- */

enum { kDirectMsg1 = 68 + 48, kRoutedMsg1 = 18 + 68 + 56, kRoutedMsg2 = 18 + 68 + 48 };

/* An unconfirmed session's life: short enough to watch it expire, long enough that a
 * window (two barriers) never outlasts it, also under the sanitizers on a loaded machine. */
enum { kReplayTimeoutMs = 1000 };
static void replay_config(nm_node_config_t* c) { c->session_timeout_ms = kReplayTimeoutMs; }

/* Sends the captured msg1 from a stranger, forged as the neighbour's and the legitimate
 * node's addresses, and from the neighbour's own socket; returns how many went out. */
static uint64_t replay_everywhere(adv* a, int stranger, const uint8_t* msg1, size_t n) {
  uint64_t sent = 0;
  adv_send_stranger(a, stranger, msg1, n);
  ++sent;
  if (adv_send_spoofed(a, a->nb_addr[0], msg1, n) == 0) ++sent;
  if (adv_send_spoofed(a, a->legit_addr, msg1, n) == 0) ++sent;
  adv_send_as_neighbour(a, 0, msg1, n);
  return sent + 1;
}

/* A refused replay: counted, nothing sent anywhere, nothing made, the live session as it was.
 * "Nothing sent" is what arrived at the neighbours and strangers (exact), and the victim's
 * own byte counter (caused_bytes, within the slack); the harness's count of sealed relays to
 * the legitimate node (observed_bytes) is left out: with 100 ms heartbeats a pingwave of the
 * victim's own can fall between the two nodes' counters at the window's start. */
static void assert_replays_refused(adv* a, const adv_snap* b, const adv_snap* e, uint64_t replays) {
  adv_traffic t = adv_traffic_between(a, b, e);
  assert_int_equal(ADV_D(b, e, drop_replay), replays);
  assert_int_equal(ADV_D(b, e, handshakes_completed), 0);
  assert_int_equal(ADV_D(b, e, drop_handshake_rejected), 0);
  assert_int_equal(e->v.sessions, b->v.sessions);
  assert_int_equal(e->v.sessions_unconfirmed, 0);
  assert_int_equal(t.captured_bytes, 0); /* not even msg2, to nobody (see above) */
  assert_true(t.caused_bytes <= ADV_COUNTER_SLACK);
  assert_legit_untouched(b, e);
}

/* A scripted neighbour's msg1, captured: (a) replayed from a stranger and forged as the
 * neighbour: refused by the replay cache, nothing sent; (b) a valid msg1 that is not in the
 * cache (built by the neighbour, never sent by it) from a stranger: answered once with one
 * msg2 no larger than itself, the session stays pending beside the live one and expires
 * after session_timeout_ms; (c) after 65 newer real handshakes of the neighbour, the first
 * msg1 again: still refused. The live session keeps working both ways throughout. */
static void replayed_msg1_cannot_take_over_a_session(adv* a) {
  uint8_t first[256], fresh[256];
  size_t fn = nmt_peer_last_msg1(a->nb[0], first, sizeof first); /* made the live session */
  assert_int_equal(fn, kDirectMsg1);
  int st = adv_stranger(a), st2 = adv_stranger(a);
  adv_snap b, e;

  /* (a) */
  adv_attack_begin(a, &b);
  uint64_t replays = replay_everywhere(a, st, first, fn);
  adv_attack_end(a, &e);
  adv_report("replayed msg1 of the live session", a, &b, &e);
  assert_replays_refused(a, &b, &e, replays);
  adv_neighbour_usable(a, 0);

  /* (b) */
  size_t nn = nmt_peer_build_msg1(a->nb[0], a->psk, a->victim_key, fresh, sizeof fresh);
  assert_int_equal(nn, kDirectMsg1);
  adv_attack_begin(a, &b);
  double t_sent = adv_now();
  adv_send_stranger(a, st, fresh, nn);
  adv_send_stranger(a, st2, fresh, nn); /* the same again: answered once */
  adv_attack_end(a, &e);
  adv_report("valid msg1 not in the replay cache", a, &b, &e);
  adv_traffic t = adv_traffic_between(a, &b, &e);
  uint64_t msg2s = e.cap.stranger - b.cap.stranger, msg2_bytes = e.cap.stranger_bytes - b.cap.stranger_bytes;
  printf("    msg2s to the strangers %llu (%llu B) for %llu B in; unconfirmed %llu\n",
         (unsigned long long)msg2s, (unsigned long long)msg2_bytes, (unsigned long long)t.in_bytes,
         (unsigned long long)e.v.sessions_unconfirmed);
  assert_int_equal(ADV_D(&b, &e, handshakes_completed), 1);
  assert_int_equal(ADV_D(&b, &e, drop_replay), 1);
  assert_int_equal(msg2s, 1);
  assert_true(msg2_bytes <= nn);                 /* no larger than the msg1 */
  assert_int_equal(t.captured_bytes, msg2_bytes); /* and nothing else, anywhere */
  assert_true(t.caused_bytes <= msg2_bytes + ADV_COUNTER_SLACK);
  assert_int_equal(e.v.sessions, b.v.sessions); /* it waits as pending ... */
  assert_int_equal(e.v.sessions_unconfirmed, 1);
  assert_legit_untouched(&b, &e);
  adv_neighbour_usable(a, 0); /* ... beside the live session, which keeps working */
  nm_node_stats_t s;
  ADV_WAIT_VICTIM(a, s, s.sessions_unconfirmed == 0);
  double lived = adv_now() - t_sent;
  printf("    the unconfirmed session was pruned after %.0f ms (session_timeout_ms %d)\n", lived * 1000,
         kReplayTimeoutMs);
  assert_int_equal(s.sessions_pruned, e.v.sessions_pruned + 1);
  assert_int_equal(s.sessions, e.v.sessions);
  assert_true(lived * 1000 >= kReplayTimeoutMs);
  adv_neighbour_usable(a, 0);

  /* (b2) A valid msg1 padded as a netmesh initiator pads it (104 bytes of payload), from
   * an allowed peer with no session yet, sent from a stranger's address: it buys msg2 and
   * the responder's hello, no more bytes than came in, and nothing more while the session
   * stays unconfirmed (until it is pruned). */
  nmt_peer* fresh_peer = nmt_peer_new();
  assert_int_equal(nmt_peer_target(fresh_peer, a->victim_addr, a->victim_key, a->victim_id), 0);
  NM_OK_OR_FAIL(nm_node_allow_peer(a->victim, nmt_peer_id(fresh_peer)));
  uint8_t padded[512];
  size_t pn = nmt_peer_build_padded_msg1(fresh_peer, a->psk, a->victim_key, 104, padded, sizeof padded);
  assert_int_equal(pn, kDirectMsg1 + 104);
  adv_attack_begin(a, &b);
  adv_send_stranger(a, st, padded, pn);
  ADV_WAIT_VICTIM(a, s, s.handshakes_completed == e.v.handshakes_completed + 1);
  ADV_WAIT_VICTIM(a, s, s.sessions_unconfirmed == 0 && s.sessions == e.v.sessions); /* pruned */
  adv_attack_end(a, &e);
  adv_report("valid padded msg1", a, &b, &e);
  t = adv_traffic_between(a, &b, &e);
  msg2s = e.cap.stranger - b.cap.stranger;
  msg2_bytes = e.cap.stranger_bytes - b.cap.stranger_bytes;
  printf("    to the stranger: %llu datagrams (%llu B) for %llu B in\n", (unsigned long long)msg2s,
         (unsigned long long)msg2_bytes, (unsigned long long)t.in_bytes);
  assert_int_equal(msg2s, 2);                     /* msg2 and one hello, never repeated */
  assert_true(msg2_bytes <= pn);                  /* no larger than the msg1 */
  assert_int_equal(t.captured_bytes, msg2_bytes); /* and nothing else, anywhere */
  assert_legit_untouched(&b, &e);
  nmt_peer_free(fresh_peer);
  adv_neighbour_usable(a, 0);

  /* (c) */
  enum { kNewer = 65 };
  nm_node_stats_t before = adv_victim_stats(a);
  for (int k = 0; k < kNewer; ++k)
    if (nmt_peer_handshake(a->nb[0], a->psk, NMT_CAP_ALL, 3000) != 0) fail_msg("re-handshake %d failed", k);
  adv_count_input(a, 2 * kNewer, 0); /* msg1 + hello each (not attack bytes) */
  ADV_WAIT_VICTIM(a, s, s.handshakes_completed == before.handshakes_completed + kNewer &&
                            s.sessions_unconfirmed == 0);
  adv_neighbour_usable(a, 0);
  adv_attack_begin(a, &b);
  replays = replay_everywhere(a, st, first, fn);
  replays += replay_everywhere(a, st2, fresh, nn);
  adv_attack_end(a, &e);
  adv_report("first msg1 after 65 newer handshakes", a, &b, &e);
  assert_replays_refused(a, &b, &e, replays);
  adv_neighbour_usable(a, 0);
}

/* ---- 6. msg1 flood against CPU ---- */

typedef struct flooder {
  int fd[2];
  struct sockaddr_in to;
  uint8_t header[68];
  double rate;
  atomic_int stop;
  int realtime;
  uint64_t sent;
  double t0, t1;
} flooder;

static void* flood_main(void* arg) {
  flooder* f = arg;
  enum { kBatch = 64 };
  static _Thread_local uint8_t d[kBatch][kDirectMsg1];
  struct mmsghdr m[kBatch];
  struct iovec iov[kBatch];
  memset(m, 0, sizeof m);
  for (int i = 0; i < kBatch; ++i) {
    memcpy(d[i], f->header, sizeof f->header);
    iov[i] = (struct iovec){d[i], kDirectMsg1};
    m[i].msg_hdr.msg_iov = &iov[i];
    m[i].msg_hdr.msg_iovlen = 1;
    m[i].msg_hdr.msg_name = &f->to;
    m[i].msg_hdr.msg_namelen = sizeof f->to;
  }
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  /* An attacker floods from its own machine: here the flooder must not be the thread the
   * scheduler starves on a loaded 2-core box (it sleeps between its small batches, so a
   * real-time priority costs nobody more CPU than the flood itself). Best effort. */
  struct sched_param sp = {.sched_priority = 1};
  f->realtime = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
  f->t0 = adv_now();
  while (!atomic_load(&f->stop)) {
    uint64_t due = (uint64_t)((adv_now() - f->t0) * f->rate);
    if (due <= f->sent) {
      usleep(500);
      continue;
    }
    size_t n = due - f->sent < kBatch ? (size_t)(due - f->sent) : kBatch;
    for (size_t i = 0; i < n; ++i) /* a fresh random "ephemeral key" and tag each time */
      for (size_t k = 68; k < kDirectMsg1; k += 8) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy(d[i] + k, &x, 8);
      }
    int r = sendmmsg(f->fd[(f->sent / kBatch) % 2], m, (unsigned)n, 0);
    if (r > 0) f->sent += (uint64_t)r;
  }
  f->t1 = adv_now();
  return NULL;
}

static int by_value(const void* x, const void* y) {
  double a = *(const double*)x, b = *(const double*)y;
  return (a > b) - (a < b);
}

static double median(const double* v, int n) {
  double sorted[32];
  memcpy(sorted, v, (size_t)n * sizeof *v);
  qsort(sorted, (size_t)n, sizeof *sorted, by_value);
  return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/* Events per second the live stream delivers over `secs`. */
static double live_rate(adv* a, double secs) {
  uint64_t r0 = atomic_load(&a->received);
  double t0 = adv_now(), t;
  while ((t = adv_now()) < t0 + secs) usleep(5000);
  return (double)(atomic_load(&a->received) - r0) / (t - t0);
}

enum { kFloodRate = 25000, kFloodRounds = 6 };
static const double kFloodWindowS = 0.25;

/* Forged direct msg1s (the right header and size, random bytes) at 25,000/s from two
 * strangers while the live stream runs flat out (batches of 64 events, a 1 MiB window): the
 * live stream's throughput in 6 windows of 0.25 s without the flood and 6 with it,
 * alternating. On a shared 2-core machine single windows swing by 10x either way (other
 * processes; a socket buffer full while the victim's thread waits for a core costs the live
 * stream retransmission timeouts), so the check is the flood's best window against the
 * median window without it (and 6 more of each if that looks like a failure): the flood
 * cannot hold the stream below half its usual rate. A window without the flood starts once
 * the victim has taken every msg1 of the last one (what a flood leaves queued is its cost). Without the
 * rate limit the flooded windows are at 3-5 %. Bounds also: at most handshake_rate_per_sec msg1s examined (exact),
 * the rest dropped unexamined (counted), nothing sent to anyone. */
static void msg1_flood(adv* a, int allowed, int assert_ratio) {
  for (int i = 1; i < allowed; ++i) NM_OK_OR_FAIL(nm_node_allow_peer(a->victim, invented_id(0xA110, (uint64_t)i)));
  flooder f;
  memset(&f, 0, sizeof f);
  f.fd[0] = a->stranger_fd[adv_stranger(a)];
  f.fd[1] = a->stranger_fd[adv_stranger(a)];
  f.rate = kFloodRate;
  f.to.sin_family = AF_INET;
  f.to.sin_port = htons((uint16_t)a->victim_port);
  inet_pton(AF_INET, "127.0.0.1", &f.to.sin_addr);
  nmt_peer* forger = nmt_peer_new();
  uint8_t tmpl[256];
  assert_int_equal(nmt_peer_build_msg1(forger, a->psk, a->victim_key, tmpl, sizeof tmpl), kDirectMsg1);
  memcpy(f.header, tmpl, sizeof f.header);
  nmt_peer_free(forger);

  double unloaded[2 * kFloodRounds], loaded[2 * kFloodRounds], rate[2 * kFloodRounds];
  double best_u = 0, best_l = 0, min_rate = 1e12, flood_time = 0, backlog_s = 0;
  int rounds = 0;
  uint64_t flood_sent = 0;
  uint64_t drops0 = adv_victim_kernel_drops(a);
  adv_snap b, e;
  adv_attack_begin(a, &b);
  adv_live_saturate(a, 1);
  (void)live_rate(a, 0.2); /* warm up */
  /* A second set of rounds only if the first looks like a failure: another process may
   * have taken the CPU in just the flooded windows (the flood without its defence costs
   * 95 %, which no retry hides). */
  double usual_u = 0;
  for (int set = 0; set < 2 && (set == 0 || (assert_ratio && best_l < 0.5 * usual_u)); ++set) {
    for (int k = 0; k < kFloodRounds; ++k, ++rounds) {
      unloaded[rounds] = live_rate(a, kFloodWindowS);
      pthread_t t;
      f.sent = 0;
      atomic_store(&f.stop, 0);
      assert_int_equal(pthread_create(&t, NULL, flood_main, &f), 0);
      (void)live_rate(a, 0.05); /* the token bucket's burst goes first */
      loaded[rounds] = live_rate(a, kFloodWindowS);
      atomic_store(&f.stop, 1);
      pthread_join(t, NULL);
      /* what the flood left queued is its cost too: the next window starts once the victim
       * took (or the kernel dropped) every msg1 of it */
      double flood_end = adv_now();
      for (;;) {
        nm_node_stats_t v = adv_victim_stats(a);
        uint64_t done = v.drop_handshake_rate_limited - b.v.drop_handshake_rate_limited +
                        v.drop_handshake_rejected - b.v.drop_handshake_rejected +
                        adv_victim_kernel_drops(a) - drops0;
        if (done >= flood_sent + f.sent) break;
        if (adv_now() > flood_end + ADV_DEADLINE_S)
          fail_msg("the victim had not taken %llu of the flood's msg1s %.0f s after it",
                   (unsigned long long)(flood_sent + f.sent - done), ADV_DEADLINE_S);
        usleep(1000);
      }
      if (adv_now() - flood_end > backlog_s) backlog_s = adv_now() - flood_end;
      (void)live_rate(a, 0.05);
      rate[rounds] = (double)f.sent / (f.t1 - f.t0);
      flood_sent += f.sent;
      flood_time += f.t1 - f.t0;
      if (unloaded[rounds] > best_u) best_u = unloaded[rounds];
      if (loaded[rounds] > best_l) best_l = loaded[rounds];
      if (rate[rounds] < min_rate) min_rate = rate[rounds];
    }
    usual_u = median(unloaded, rounds);
  }
  adv_live_saturate(a, 0);
  adv_count_input(a, flood_sent, flood_sent * kDirectMsg1);
  adv_attack_end(a, &e);
  uint64_t kernel_drops = adv_victim_kernel_drops(a) - drops0;
  adv_report(allowed > 1 ? "msg1 flood, 64 allowed peers" : "msg1 flood, 1 allowed peer", a, &b, &e);
  printf("    live stream, events/s without / with the flood:");
  for (int r = 0; r < rounds; ++r) printf(" %.2fM/%.2fM", unloaded[r] / 1e6, loaded[r] / 1e6);
  printf("\n    flooded best %.0f vs unflooded median %.0f = %.2f (best %.0f, median flooded %.0f);"
         " flood %.0f msg1/s (each window at least %.0f%s; %llu sent, %llu dropped by the kernel;"
         " its backlog gone %.0f ms after it)\n",
         best_l, usual_u, best_l / usual_u, best_u, median(loaded, rounds), (double)flood_sent / flood_time,
         min_rate, f.realtime ? ", real-time priority" : "", (unsigned long long)flood_sent,
         (unsigned long long)kernel_drops, backlog_s * 1000);
  adv_traffic t = adv_traffic_between(a, &b, &e);
  uint64_t limited = ADV_D(&b, &e, drop_handshake_rate_limited), examined = ADV_D(&b, &e, drop_handshake_rejected);
  double span = e.t - b.t;
  printf("    examined %llu (%.0f/s, the rate allows 500/s + a burst of 500), dropped unexamined %llu\n",
         (unsigned long long)examined, (double)examined / span, (unsigned long long)limited);
  assert_true((double)flood_sent / flood_time >= 20000);
  if (assert_ratio && best_l < 0.5 * usual_u)
    fail_msg("the flood took the live stream from %.0f to %.0f events/s", usual_u, best_l);
  assert_true(limited > 0);
  assert_true(limited + examined <= flood_sent);
  assert_true(limited + examined + kernel_drops >= flood_sent); /* every one is accounted for */
  assert_true(examined <= 500 * span + 500 + 1);
  assert_int_equal(ADV_D(&b, &e, handshakes_completed), 0);
  assert_int_equal(t.captured_bytes, 0);
  assert_true(t.caused_bytes <= ADV_COUNTER_SLACK);
  assert_legit_untouched(&b, &e);
}

/* The live stream's share under the flood is asserted in release builds only: under a
 * sanitizer every packet of the stream costs several times its release cost while the
 * flooder's does not, so the ratio measures the sanitizer (ASan under a CPU hog: 0.33). The
 * defence itself (the rate limit, every msg1 accounted for) is asserted in every build. */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
enum { kAssertFloodRatio = 1 };
#else
enum { kAssertFloodRatio = 0 };
#endif
static void msg1_flood_with_64_allowed_peers(adv* a) { msg1_flood(a, 64, kAssertFloodRatio); }
static void msg1_flood_with_1_allowed_peer(adv* a) { msg1_flood(a, 1, 0); }

/* ---- 7. routed handshakes with invented node ids (PSK holder) ---- */

enum { kRoutedMaxSessions = 64 };
static void routed_flood_config(nm_node_config_t* c) {
  c->max_sessions = kRoutedMaxSessions;
  c->handshake_rate_per_sec = 0; /* every msg1 is examined */
}

/* A PSK holder's routed msg1s from one address, each claiming a new invented node id (half
 * as direct dials, hop_count 0, half as if relayed), after 4 claiming a neighbour's id. Each
 * is answered (msg2 only, 134 <= 142 bytes); sessions plus unconfirmed handshakes never exceed
 * max_sessions (the oldest unconfirmed gives way, counted); the confirmed sessions stay; for
 * several heartbeat intervals the unconfirmed sessions get nothing (no heartbeats, hellos,
 * pingwaves). */
static void routed_handshakes_with_invented_ids(adv* a) {
  enum { kIds = 3000, kClaims = 4 };
  const uint64_t confirmed = 1 + (uint64_t)a->n_neighbours;
  uint8_t d[256];
  int st = adv_stranger(a);
  uint64_t most_held = 0, most_sessions = 0;
  adv_snap b, e;
  adv_attack_begin(a, &b);
  for (int k = 0; k < kClaims; ++k) {
    size_t n = nmt_routed_msg1(a->psk, a->victim_key, a->victim_id, a->nb_id[0], 0, d, sizeof d);
    assert_int_equal(n, kRoutedMsg1);
    adv_send_stranger(a, st, d, n);
  }
  for (uint64_t i = 0; i < kIds; ++i) {
    size_t n = nmt_routed_msg1(a->psk, a->victim_key, a->victim_id, invented_id(0x207ED, i), (uint8_t)(i % 2),
                               d, sizeof d);
    assert_int_equal(n, kRoutedMsg1);
    adv_send_stranger(a, st, d, n);
    if (i % 50 == 49) {
      nm_node_stats_t s = adv_victim_stats(a);
      /* sessions + pending = the confirmed ones + every unconfirmed one */
      uint64_t held = confirmed + s.sessions_unconfirmed;
      if (held > most_held) most_held = held;
      if (s.sessions > most_sessions) most_sessions = s.sessions;
      if (held > kRoutedMaxSessions || s.sessions > kRoutedMaxSessions)
        fail_msg("%llu sessions, %llu unconfirmed: above max_sessions %d", (unsigned long long)s.sessions,
                 (unsigned long long)s.sessions_unconfirmed, kRoutedMaxSessions);
    }
  }
  /* three heartbeat ticks with a full table of unconfirmed sessions */
  nm_node_stats_t s0 = adv_victim_stats(a), s;
  ADV_WAIT_VICTIM(a, s, s.heartbeats_sent >= s0.heartbeats_sent + 3 * confirmed);
  adv_attack_end(a, &e);
  adv_report("routed msg1s with invented ids", a, &b, &e);
  adv_traffic t = adv_traffic_between(a, &b, &e);
  uint64_t accepted = ADV_D(&b, &e, handshakes_completed);
  uint64_t to_stranger = e.cap.stranger - b.cap.stranger, to_stranger_bytes = e.cap.stranger_bytes - b.cap.stranger_bytes;
  uint64_t gave_way = ADV_D(&b, &e, sessions_pruned) + ADV_D(&b, &e, drop_session_limit);
  printf("    answered %llu: %llu datagrams (%llu B) to the source; held at most %llu (sessions %llu),"
         " now %llu sessions, %llu unconfirmed; gave way %llu\n",
         (unsigned long long)accepted, (unsigned long long)to_stranger, (unsigned long long)to_stranger_bytes,
         (unsigned long long)most_held, (unsigned long long)most_sessions, (unsigned long long)e.v.sessions,
         (unsigned long long)e.v.sessions_unconfirmed, (unsigned long long)gave_way);
  assert_int_equal(accepted, kIds + kClaims);
  assert_int_equal(to_stranger, accepted);                   /* msg2s, nothing else */
  assert_int_equal(to_stranger_bytes, accepted * kRoutedMsg2);
  assert_true(to_stranger_bytes <= t.in_bytes);
  assert_int_equal(t.captured_bytes, to_stranger_bytes);     /* and nothing to anyone else */
  assert_true(t.caused_bytes <= to_stranger_bytes + ADV_COUNTER_SLACK);
  assert_true(e.v.sessions <= kRoutedMaxSessions);
  assert_int_equal(confirmed + e.v.sessions_unconfirmed, kRoutedMaxSessions); /* full, ... */
  assert_int_equal(gave_way, accepted - (kRoutedMaxSessions - confirmed));   /* ... the rest counted */
  assert_legit_untouched(&b, &e);
  for (int i = 0; i < a->n_neighbours; ++i) adv_neighbour_usable(a, i);
}

/* ---- 8. NACK and credit-probe amplification (PSK holder) ---- */

enum { kNackPackets = 64, kNackEvent = 8000, kNackDatagram = kNackEvent + 4 + 84 };
enum { kHelloEarned = 2 * 256 }; /* the budget its hello (set-up) earned: 2 x its bytes */

/* Seals a control packet (stream u64::MAX) of `count` frames from neighbour 0 into d. */
static size_t control_packet(adv* a, uint16_t subprotocol, const uint8_t* plain, size_t len, uint16_t count,
                             uint8_t* d, size_t cap) {
  nmt_packet p;
  memset(&p, 0, sizeof p);
  p.subprotocol_id = subprotocol;
  p.stream_id = UINT64_MAX;
  p.sequence = nmt_peer_next_counter(a->nb[0]);
  p.event_count = count;
  size_t n = nmt_peer_seal(a->nb[0], &p, plain, len, d, cap);
  assert_true(n > 0);
  return n;
}

/* The victim's application sends 64 events of 8000 bytes on a reliable stream to a scripted
 * neighbour, which never acknowledges anything and for 2 s NACKs all 64 as missing (one
 * 129-byte packet every ~250 us). Bound: what the victim sends it beyond the original
 * transmissions (and its heartbeats) <= 2 x the bytes it sent + the bytes it acknowledged
 * (none) + the initial allowance (64 KiB) + what its hello earned. */
static void nack_flood_cannot_amplify(adv* a) {
  const uint64_t stream = 900;
  nm_stream_config_t sc;
  nm_stream_config_init(&sc, sizeof sc);
  sc.reliability = NM_RELIABLE;
  sc.window_bytes = 1u << 20; /* all 64 go out at once */
  nm_stream_t* h = NULL;
  NM_OK_OR_FAIL(nm_node_open_stream(a->victim, a->nb_id[0], stream, &sc, &h));
  static uint8_t payload[kNackEvent];
  memset(payload, 'n', sizeof payload);
  nm_event_t ev[kNackPackets];
  for (int i = 0; i < kNackPackets; ++i) ev[i] = (nm_event_t){payload, sizeof payload};
  uint8_t plain[64], d[256];
  size_t pl = nmt_ext_frame_full(plain, 2, stream, 0, kNackPackets - 1, 0, ~(uint64_t)0);
  adv_snap b, e;
  adv_attack_begin(a, &b);
  size_t sent = 0;
  NM_OK_OR_FAIL(nm_stream_send(h, ev, kNackPackets, &sent));
  assert_int_equal(sent, kNackPackets);
  nm_stream_stats_t ss;
  /* all 64 are out (the last may have waited, open, for the loop thread): else a NACK of
   * seq 63 would name a packet not yet sent, and be refused as malformed */
  for (double dl = adv_now() + ADV_DEADLINE_S;; usleep(500)) {
    NM_OK_OR_FAIL(nm_stream_stats(h, &ss, sizeof ss));
    if (ss.tx_seq == kNackPackets) break;
    if (adv_now() > dl) fail_msg("the victim sent %llu of %d packets", (unsigned long long)ss.tx_seq, kNackPackets);
  }
  uint64_t nacks = 0;
  for (double t0 = adv_now(); adv_now() - t0 < 2.0; ++nacks) {
    size_t n = control_packet(a, 0x4E4D, plain, pl, 1, d, sizeof d);
    adv_send_as_neighbour(a, 0, d, n);
    usleep(250);
  }
  adv_attack_end(a, &e);
  NM_OK_OR_FAIL(nm_stream_stats(h, &ss, sizeof ss));
  nm_stream_free(h);
  adv_report("NACK flood", a, &b, &e);
  uint64_t in = e.attack_bytes - b.attack_bytes;
  uint64_t to_peer = e.cap.nb_bytes[0] - b.cap.nb_bytes[0];
  uint64_t periodic = e.cap.nb_periodic_bytes[0] - b.cap.nb_periodic_bytes[0];
  uint64_t originals = ss.tx_seq * kNackDatagram;
  uint64_t responses = to_peer - periodic - originals;
  uint64_t bound = 2 * in + 0 + 65536 + kHelloEarned;
  printf("    %llu NACKs (%llu B): the victim sent the peer %llu B = originals %llu (%llu packets) + periodic"
         " %llu + responses %llu (%llu retransmissions); bound 2 x %llu + acknowledged 0 + 65536 + %d ="
         " %llu (%.2f of it)\n",
         (unsigned long long)nacks, (unsigned long long)in, (unsigned long long)to_peer,
         (unsigned long long)originals, (unsigned long long)ss.tx_seq, (unsigned long long)periodic,
         (unsigned long long)responses, (unsigned long long)ss.retransmits, (unsigned long long)in,
         kHelloEarned, (unsigned long long)bound, (double)responses / (double)bound);
  assert_int_equal(ss.tx_seq, kNackPackets);
  assert_true(ss.retransmits * kNackDatagram <= bound); /* by the victim's own count ... */
  assert_true(to_peer >= periodic + originals);
  assert_true(responses <= bound);                      /* ... and by what arrived */
  assert_true(ss.retransmits * kNackDatagram <= responses);
  assert_true(ADV_D(&b, &e, responses_deferred) > 0);
  assert_int_equal(ADV_D(&b, &e, drop_malformed), 0);
  assert_legit_untouched(&b, &e);
}

/* The neighbour starts 128 streams towards the victim (one event each, never read), then
 * for 1 s sends a packet of 128 credit probes (one per stream) every ~1 ms. The victim
 * answers a stream's probe at most once per 10 ms, all answers to a packet in one grant
 * packet: grant frames <= 128 x (span / 10 ms + 1), answer packets <= probe packets, answer
 * bytes <= 2 x probe bytes. */
static void credit_probe_flood_is_answered_in_batches(adv* a) {
  enum { kStreams = 128 };
  const uint64_t first = 2000;
  for (uint64_t k = 0; k < kStreams; ++k) {
    nmt_packet p;
    memset(&p, 0, sizeof p);
    p.stream_id = first + k;
    p.subnet_id = 1;
    const void* evs[1] = {"x"};
    size_t lens[1] = {1};
    assert_int_equal(nmt_peer_send_events(a->nb[0], &p, evs, lens, 1), 0);
    adv_count_input(a, 1, 68 + 4 + 1 + 16);
  }
  static nm_stream_stats_t all[kStreams + 16];
  for (double dl = adv_now() + ADV_DEADLINE_S;; usleep(1000)) {
    size_t n = 0, count = 0;
    NM_OK_OR_FAIL(nm_node_all_stream_stats(a->victim, all, kStreams + 16, sizeof *all, &n));
    for (size_t i = 0; i < n && i < kStreams + 16; ++i) count += all[i].peer_node_id == a->nb_id[0];
    if (count == kStreams) break;
    if (adv_now() > dl) fail_msg("the neighbour's streams did not appear (%zu of %d)", count, kStreams);
  }
  static uint8_t plain[kStreams * 45], d[8300];
  size_t pl = 0;
  for (uint64_t k = 0; k < kStreams; ++k) pl += nmt_ext_frame(plain + pl, 3, first + k, 0, 0);
  adv_snap b, e;
  adv_attack_begin(a, &b);
  uint64_t probes = 0;
  for (double t0 = adv_now(); adv_now() - t0 < 1.0; ++probes) {
    size_t n = control_packet(a, 0x4E4D, plain, pl, kStreams, d, sizeof d);
    adv_send_as_neighbour(a, 0, d, n);
    usleep(1000);
  }
  adv_attack_end(a, &e);
  adv_report("credit probe flood", a, &b, &e);
  double span = e.t - b.t;
  uint64_t in = e.attack_bytes - b.attack_bytes;
  uint64_t grants = e.cap.grant_frames[0] - b.cap.grant_frames[0];
  uint64_t answers = e.cap.grant_datagrams[0] - b.cap.grant_datagrams[0];
  uint64_t answer_bytes = e.cap.grant_bytes[0] - b.cap.grant_bytes[0];
  uint64_t grant_bound = kStreams * (uint64_t)(span / 0.010 + 1);
  printf("    %llu probe packets of %d (%llu B) over %.2f s: %llu grants (bound %llu) in %llu packets"
         " (%llu B, %.3f of in)\n",
         (unsigned long long)probes, kStreams, (unsigned long long)in, span, (unsigned long long)grants,
         (unsigned long long)grant_bound, (unsigned long long)answers, (unsigned long long)answer_bytes,
         (double)answer_bytes / (double)in);
  assert_true(grants > 0);
  assert_true(grants <= grant_bound);   /* once per 10 ms per stream */
  assert_true(answers <= probes);       /* batched: one packet answers a packet */
  assert_true(answer_bytes <= 2 * in);
  assert_int_equal(ADV_D(&b, &e, drop_unknown_stream), 0);
  assert_int_equal(ADV_D(&b, &e, drop_malformed), 0);
  assert_legit_untouched(&b, &e);
  adv_neighbour_usable(a, 0);
}

/* ---- 9. a PSK holder holding every receive limit open ---- */

static void small_budgets(nm_node_config_t* c) {
  c->max_session_buffer_bytes = 4u << 20;
  c->max_buffer_bytes = 8u << 20;
  c->max_event_bytes = 1u << 20;
  c->max_streams = 256;
}

/* What the process may gain while one peer floods the victim, from the formula at the top of
 * src/session/rx_budget.h (as tests/capi/limits_test.c): the session's budget, the fixed cost
 * of max_streams streams with receive state (at most 4 KiB each), the payload pools' most
 * (process-wide, 7.2 MiB) and allocator slack. */
enum { kStreamFixedBytes = 4096, kPoolBytes = 7536640, kAllocatorSlack = 2u << 20 };

static void seal_and_send(adv* a, uint64_t stream, uint64_t seq, uint8_t frag_flags, uint16_t frag_index,
                          const uint8_t* plain, size_t len, uint16_t events) {
  static uint8_t d[8400];
  nmt_packet p;
  memset(&p, 0, sizeof p);
  p.stream_id = stream;
  p.sequence = seq;
  p.subnet_id = 1;
  p.event_count = events;
  p.frag_flags = frag_flags;
  p.fragment_offset = frag_index;
  size_t n = nmt_peer_seal(a->nb[0], &p, plain, len, d, sizeof d);
  assert_true(n > 0);
  adv_send_as_neighbour(a, 0, d, n);
}

/* With small budgets (4 MiB per session, 8 MiB in all, events of at most 1 MiB, 256 streams),
 * a scripted neighbour uses 20,000 stream ids, starts large events on 64 streams and never
 * finishes them (32 fragments of 8104 bytes each: 16 MiB), and sends 8 packets of 2,027
 * empty events (a window's worth) on 192 more (12 MiB), never read. Bounds: at most
 * max_streams streams; what its streams hold within its budget (the rest dropped, counted);
 * RSS growth within the rx_budget.h formula; the live stream (another session) unaffected.
 * (A million stream ids stay in tests/capi/limits_test.c: 14 s on this machine, minutes
 * under the sanitizers.) */
static void psk_holder_holds_every_receive_limit_open(adv* a) {
  enum { kIds = 20000, kLarge = 64, kFragments = 32, kEmpty = 192, kEmptyPackets = 8, kEvents = 2027 };
  nm_node_config_t cfg;
  nm_node_config_init(&cfg, sizeof cfg);
  small_budgets(&cfg);
  static uint8_t frame[8], chunk[8104 + 4], empties[kEvents * 4];
  size_t fl = nmt_frame(frame, "s", 1);
  memset(chunk, 'f', sizeof chunk);
  size_t cl = nmt_frame(chunk, chunk + 4, 8104);
  adv_snap b, e;
  adv_attack_begin(a, &b);
  for (uint64_t i = 0; i < kIds; ++i) seal_and_send(a, 100000 + i, 0, 0, 0, frame, fl, 1);
  for (uint16_t f = 0; f < kFragments; ++f)
    for (uint64_t s = 0; s < kLarge; ++s) seal_and_send(a, 1000 + s, f, 0x01, f, chunk, cl, 1);
  for (uint64_t p = 0; p < kEmptyPackets; ++p)
    for (uint64_t s = 0; s < kEmpty; ++s) seal_and_send(a, 2000 + s, p, 0, 0, empties, sizeof empties, kEvents);
  adv_attack_end(a, &e);
  adv_report("PSK holder holding every receive limit", a, &b, &e);
  static nm_stream_stats_t all[1024];
  size_t n = 0, streams = 0;
  NM_OK_OR_FAIL(nm_node_all_stream_stats(a->victim, all, 1024, sizeof *all, &n));
  uint64_t queued_bytes = 0, empty_packets = 0;
  for (size_t i = 0; i < n && i < 1024; ++i) {
    if (all[i].peer_node_id != a->nb_id[0]) continue;
    ++streams;
    queued_bytes += all[i].rx_buffered_bytes;
    if (all[i].stream_id >= 2000 && all[i].stream_id < 2000 + kEmpty) empty_packets += all[i].inbound_pending / kEvents;
  }
  size_t bound = cfg.max_session_buffer_bytes + (size_t)cfg.max_streams * kStreamFixedBytes + kPoolBytes +
                 kAllocatorSlack;
  long growth = (long)e.rss - (long)b.rss;
  printf("    %zu streams of the peer (max_streams %u), %llu packets of empty events kept (%.1f MiB),"
         " %llu bytes of events queued; RSS %+.1f MiB (bound %.1f MiB); drop_over_budget %llu\n",
         streams, cfg.max_streams, (unsigned long long)empty_packets, (double)empty_packets * 8192 / (1 << 20),
         (unsigned long long)queued_bytes, (double)growth / (1 << 20), (double)bound / (1 << 20),
         (unsigned long long)ADV_D(&b, &e, drop_over_budget));
  assert_true(streams <= cfg.max_streams);
  assert_true(ADV_D(&b, &e, drop_over_budget) > 0);
  assert_true(empty_packets * 8192 + queued_bytes <= cfg.max_session_buffer_bytes);
  assert_int_equal(ADV_D(&b, &e, drop_malformed), 0);
  assert_legit_untouched(&b, &e);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  if (growth > (long)bound) fail_msg("RSS grew by %.1f MiB (bound %.1f MiB)", (double)growth / (1 << 20), (double)bound / (1 << 20));
#endif
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
      ADV_SCENARIO(replayed_msg1_cannot_take_over_a_session, .neighbours = 1, .heartbeat_ms = 100,
                   .victim_config = replay_config),
      ADV_SCENARIO(msg1_flood_with_64_allowed_peers, .live_window_bytes = 1u << 20),
      ADV_SCENARIO(msg1_flood_with_1_allowed_peer, .live_window_bytes = 1u << 20),
      ADV_SCENARIO(routed_handshakes_with_invented_ids, .neighbours = 2, .heartbeat_ms = 100,
                   .victim_config = routed_flood_config),
      ADV_SCENARIO(nack_flood_cannot_amplify, .neighbours = 1),
      ADV_SCENARIO(credit_probe_flood_is_answered_in_batches, .neighbours = 1),
      ADV_SCENARIO(psk_holder_holds_every_receive_limit_open, .neighbours = 1, .victim_config = small_budgets),
  };
  /* NM_TEST_FILTER=<glob> runs some scenarios only */
  if (getenv("NM_TEST_FILTER")) cmocka_set_test_filter(getenv("NM_TEST_FILTER"));
  return cmocka_run_group_tests_name("adversarial", tests, NULL, NULL);
}
