/*
 * nat_node: one node of the NAT test bed (tests/nat/README.md).
 *
 *   nat_node rendezvous --bind IP:PORT --seed R --peer-seeds A,B --time S
 *   nat_node peer --seed A --peer-seed B --rendezvous IP:PORT --rendezvous-seed R
 *                 --role dial|wait [--events N] [--time S] [--direct-after-ms T]
 *                 [--auto-direct MS]
 *   nat_node classify --seed A --rendezvous IP:PORT --rendezvous-seed R
 *                     --rendezvous2 IP:PORT --rendezvous2-seed R2
 *
 * Identities come from small integers (--seed), as in tests/wan/nm_flow.c. Both peers dial
 * the rendezvous node (public); "dial" then reaches "wait" through it (nm_node_connect_via),
 * sends N numbered events on a reliable stream (one per millisecond), and T ms in asks for
 * a direct path (nm_node_connect_direct, 2 s); with --auto-direct, "dial" sets
 * auto_direct_ms instead and only watches (2 s) for its session to go direct on its own.
 * "wait" receives and checks every event
 * (exactly once, in order) and, once it has them all, says so with one event back, which
 * "dial" waits for before it stops (a sent event is only queued). "classify" dials two
 * public nodes and classifies its NAT (nm_node_classify_nat). Each prints one line
 * "RESULT {json}".
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <netmesh.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seeded_identity.h"

#define PSK_BYTE 0x78
#define STREAM_ID 11

static void check(nm_status s, const char* what) {
  if (s == NM_OK) return;
  fprintf(stderr, "nat_node: %s: %s (%s)\n", what, nm_strerror(s), nm_last_error_message());
  exit(1);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void node_config(nm_node_config_t* cfg, uint64_t seed, const char* bind) {
  check(nm_node_config_init(cfg, sizeof *cfg), "nm_node_config_init");
  memset(cfg->psk, PSK_BYTE, NM_KEY_SIZE);
  seed_keys(cfg, seed);
  cfg->bind_addr = bind;
  cfg->heartbeat_interval_ms = 500;
  cfg->handshake_timeout_ms = 1000;
}

static nm_node_t* new_node(uint64_t seed, const char* bind, uint32_t auto_direct_ms) {
  nm_node_config_t cfg;
  node_config(&cfg, seed, bind);
  cfg.auto_direct_ms = auto_direct_ms;
  nm_node_t* n = NULL;
  check(nm_node_new(&cfg, &n), "nm_node_new");
  return n;
}

typedef struct {
  const char* role;
  const char* bind;
  const char* rendezvous;
  const char* rendezvous2;
  uint64_t seed, peer_seed, rendezvous_seed, rendezvous2_seed, peer_seeds[4];
  int n_peer_seeds;
  uint64_t events, time_s, direct_after_ms, auto_direct_ms;
} opts_t;

static void print_stats(nm_node_t* n, uint64_t peer) {
  nm_node_stats_t ns;
  check(nm_node_stats(n, &ns, sizeof ns), "nm_node_stats");
  printf(",\"node\":{\"punches_attempted\":%" PRIu64 ",\"punches_succeeded\":%" PRIu64
         ",\"relay_fallbacks\":%" PRIu64 ",\"datagrams_sent\":%" PRIu64 ",\"datagrams_received\":%" PRIu64
         ",\"drop_handshake_rejected\":%" PRIu64 ",\"drop_unexpected_handshake\":%" PRIu64
         ",\"drop_malformed\":%" PRIu64 ",\"ignored_mesh_packets\":%" PRIu64 "}",
         ns.punches_attempted, ns.punches_succeeded, ns.relay_fallbacks, ns.datagrams_sent, ns.datagrams_received,
         ns.drop_handshake_rejected, ns.drop_unexpected_handshake, ns.drop_malformed, ns.ignored_mesh_packets);
  nm_session_stats_t ss;
  if (peer && nm_node_session_stats(n, peer, &ss, sizeof ss) == NM_OK)
    printf(",\"session\":{\"routed\":%u,\"srtt_ms\":%.3f}", ss.routed, ss.srtt_ns / 1e6);
}

static int run_rendezvous(const opts_t* o) {
  nm_node_t* n = new_node(o->seed, o->bind, 0);
  for (int i = 0; i < o->n_peer_seeds; ++i) {
    uint64_t id;
    uint8_t key[NM_KEY_SIZE];
    check(seeded_identity(o->peer_seeds[i], &id, key), "seeded_identity");
    check(nm_node_allow_peer(n, id), "nm_node_allow_peer");
  }
  printf("READY\n");
  fflush(stdout);
  sleep((unsigned)o->time_s);
  printf("RESULT {\"role\":\"rendezvous\"");
  print_stats(n, 0);
  printf("}\n");
  fflush(stdout);
  return nm_node_free(n) == NM_OK ? 0 : 1;
}

typedef struct {
  nm_stream_t* s;
  uint64_t count;
  nm_status result;
} sender_t;

static void* send_events(void* arg) {
  sender_t* j = arg;
  j->result = NM_OK;
  double start = now_ms();
  for (uint64_t i = 0; i < j->count && j->result == NM_OK; ++i) {
    while (now_ms() < start + (double)i) usleep(200); /* one per millisecond */
    uint64_t ev[32];
    for (size_t w = 0; w < 32; ++w) ev[w] = i;
    nm_event_t e = {ev, sizeof ev};
    j->result = nm_stream_send_blocking(j->s, &e, 1, 10000, NULL);
  }
  return NULL;
}

/* The receiver's word that every event arrived: one event back on the stream. The
 * receiver stops only once the sender's node has acknowledged it (DRAIN_THEN_CLOSE). */
static const char kAllReceived[] = "all received";

static void confirm(nm_stream_t* st) {
  nm_event_t e = {kAllReceived, sizeof kAllReceived};
  check(nm_stream_send_blocking(st, &e, 1, 5000, NULL), "nm_stream_send_blocking (confirmation)");
}

static nm_status await_confirmation(nm_stream_t* st) {
  char buf[sizeof kAllReceived];
  size_t len = 0;
  nm_status s = nm_stream_recv(st, buf, sizeof buf, &len, 10000);
  if (s == NM_OK && (len != sizeof kAllReceived || memcmp(buf, kAllReceived, len) != 0)) s = NM_ERR_INTERNAL;
  return s;
}

static int run_peer(const opts_t* o) {
  nm_node_t* n = new_node(o->seed, o->bind, (uint32_t)o->auto_direct_ms);
  uint64_t r_id, peer_id;
  uint8_t r_key[NM_KEY_SIZE], peer_key[NM_KEY_SIZE];
  check(seeded_identity(o->rendezvous_seed, &r_id, r_key), "seeded_identity");
  check(seeded_identity(o->peer_seed, &peer_id, peer_key), "seeded_identity");
  check(nm_node_connect(n, o->rendezvous, r_key, r_id), "nm_node_connect (rendezvous)");
  int dial = strcmp(o->role, "dial") == 0;
  nm_stream_config_t sc;
  check(nm_stream_config_init(&sc, sizeof sc), "nm_stream_config_init");
  sc.reliability = NM_RELIABLE;
  sc.close_behaviour = NM_DRAIN_THEN_CLOSE;
  nm_stream_t* st = NULL;
  if (!dial) {
    check(nm_node_allow_peer(n, peer_id), "nm_node_allow_peer");
    printf("READY\n");
    fflush(stdout);
    check(nm_node_accept(n, peer_id, (int)(o->time_s * 1000)), "nm_node_accept");
    check(nm_node_open_stream(n, peer_id, STREAM_ID, &sc, &st), "nm_node_open_stream");
    uint64_t got = 0, errors = 0;
    double deadline = now_ms() + (double)o->time_s * 1000;
    while (got < o->events && now_ms() < deadline) {
      uint64_t ev[32];
      size_t len = 0;
      nm_status s = nm_stream_recv(st, ev, sizeof ev, &len, 100);
      if (s == NM_ERR_TIMEOUT) continue;
      check(s, "nm_stream_recv");
      if (len != sizeof ev || ev[0] != got || ev[31] != got) ++errors;
      ++got;
    }
    if (got == o->events) confirm(st);
    printf("RESULT {\"role\":\"wait\",\"events\":%" PRIu64 ",\"order_errors\":%" PRIu64, got, errors);
  } else {
    check(nm_node_connect_via(n, o->rendezvous, peer_key, peer_id), "nm_node_connect_via");
    check(nm_node_open_stream(n, peer_id, STREAM_ID, &sc, &st), "nm_node_open_stream");
    sender_t job = {st, o->events, NM_ERR_INTERNAL};
    pthread_t th;
    pthread_create(&th, NULL, send_events, &job);
    double t = now_ms();
    nm_status direct = NM_ERR_TIMEOUT;
    if (o->auto_direct_ms) { /* the node goes for it on its own: watch, from the connect on */
      for (nm_session_stats_t ss; now_ms() < t + 2000; usleep(5000)) {
        check(nm_node_session_stats(n, peer_id, &ss, sizeof ss), "nm_node_session_stats");
        if (!ss.routed) {
          direct = NM_OK;
          break;
        }
      }
    } else {
      usleep((useconds_t)(o->direct_after_ms * 1000));
      t = now_ms();
      direct = nm_node_connect_direct(n, peer_id, r_id, 2000);
    }
    double took = now_ms() - t;
    pthread_join(th, NULL);
    /* A sent event is queued, not delivered, and nm_node_free stops the node at once: stay
     * until the receiver says it has every event. */
    nm_status confirmed = await_confirmation(st);
    printf("RESULT {\"role\":\"dial\",\"events_sent\":%" PRIu64 ",\"send\":\"%s\",\"confirmed\":\"%s\""
           ",\"connect_direct\":\"%s\",\"connect_direct_ms\":%.1f",
           job.result == NM_OK ? o->events : 0, nm_strerror(job.result), nm_strerror(confirmed),
           nm_strerror(direct), took);
  }
  print_stats(n, peer_id);
  printf("}\n");
  fflush(stdout);
  nm_node_close_stream(n, st); /* waits for what this side sent to be acknowledged */
  nm_stream_free(st);
  return nm_node_free(n) == NM_OK ? 0 : 1;
}

static void dial_public(nm_node_t* n, const char* addr, uint64_t seed) {
  uint64_t id;
  uint8_t key[NM_KEY_SIZE];
  check(seeded_identity(seed, &id, key), "seeded_identity");
  check(nm_node_connect(n, addr, key, id), "nm_node_connect");
}

static int run_classify(const opts_t* o) {
  nm_node_t* n = new_node(o->seed, o->bind, 0);
  dial_public(n, o->rendezvous, o->rendezvous_seed);
  dial_public(n, o->rendezvous2, o->rendezvous2_seed);
  int type = -1;
  nm_status s = nm_node_classify_nat(n, 3000, &type);
  char reflex[NM_ADDR_MAX] = "", local[NM_ADDR_MAX] = "";
  nm_node_reflex_addr(n, reflex, sizeof reflex);
  nm_node_local_addr(n, local, sizeof local);
  static const char* names[] = {"unknown", "open", "cone", "symmetric"};
  printf("RESULT {\"role\":\"classify\",\"status\":\"%s\",\"nat\":\"%s\",\"reflex\":\"%s\",\"local\":\"%s\"}\n",
         nm_strerror(s), type >= 0 && type <= 3 ? names[type] : "?", reflex, local);
  fflush(stdout);
  return nm_node_free(n) == NM_OK ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: see tests/nat/nat_node.c\n");
    return 2;
  }
  opts_t o = {.role = "wait", .bind = "0.0.0.0:0", .events = 3000, .time_s = 10, .direct_after_ms = 500};
  for (int i = 2; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--bind")) o.bind = v;
    else if (!strcmp(k, "--rendezvous")) o.rendezvous = v;
    else if (!strcmp(k, "--role")) o.role = v;
    else if (!strcmp(k, "--seed")) o.seed = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--peer-seed")) o.peer_seed = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--rendezvous-seed")) o.rendezvous_seed = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--rendezvous2")) o.rendezvous2 = v;
    else if (!strcmp(k, "--rendezvous2-seed")) o.rendezvous2_seed = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--peer-seeds"))
      o.n_peer_seeds = sscanf(v, "%" SCNu64 ",%" SCNu64 ",%" SCNu64 ",%" SCNu64, &o.peer_seeds[0],
                              &o.peer_seeds[1], &o.peer_seeds[2], &o.peer_seeds[3]);
    else if (!strcmp(k, "--events")) o.events = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--time")) o.time_s = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--direct-after-ms")) o.direct_after_ms = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--auto-direct")) o.auto_direct_ms = strtoull(v, NULL, 10);
    else {
      fprintf(stderr, "nat_node: unknown option %s\n", k);
      return 2;
    }
  }
  if (!strcmp(argv[1], "rendezvous")) return run_rendezvous(&o);
  if (!strcmp(argv[1], "peer") && o.rendezvous) return run_peer(&o);
  if (!strcmp(argv[1], "classify") && o.rendezvous && o.rendezvous2) return run_classify(&o);
  fprintf(stderr, "nat_node: want rendezvous or peer --rendezvous ADDR\n");
  return 2;
}
