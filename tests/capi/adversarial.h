/* The adversarial suite's harness (tests/capi/adversarial_test.c holds the scenarios).
 *
 * Every scenario runs against a fresh *victim* node with:
 *  - a *legitimate* netmesh node (a real node, real UDP on 127.0.0.1) streaming reliable,
 *    sequence-numbered events to it the whole time: a sender thread on the legitimate node,
 *    a receiver thread on the victim checking each event exactly once, in order, intact;
 *  - `neighbours` scripted direct neighbours (tests/support/test_peer.h: real handshake and
 *    session keys). With caps 7 the victim treats one as netmesh but without sealed
 *    pingwaves, like a net-mesh 0.23 neighbour, so raw pingwaves from its address count;
 *    the last `sealed_neighbours` of them announce sealed pingwaves (caps 15) instead.
 * Attacks go out through the adv_send_* functions (from strangers' sockets on other
 * loopback addresses, from a neighbour's own socket, or with a forged source address),
 * paced so the victim's socket buffer never overflows (nothing is lost in the kernel, so
 * every counter can be checked exactly). adv_attack_end settles the victim (all attack
 * datagrams processed and everything they caused sent and received: barrier tokens on
 * two more reliable streams, which queue behind everything sent before them), captures what
 * the neighbours and strangers got back, and checks the live stream progressed.
 *
 * After the scenario function returns, adv_run stops the sender and asserts, for every
 * scenario: the victim is alive, the stream delivered every event sent exactly once and in
 * order (waiting with a deadline for the receiver to catch up), it progressed during each
 * attack window, and the RSS of the process (both nodes) grew by at most rss_growth_mib.
 *
 * Adding a scenario: write `static void my_attack(adv* a)` (adv_attack_begin, send, wait
 * for the counters it should move with ADV_WAIT_VICTIM, adv_attack_end, assert the bound
 * with the adv_snap deltas) and list it in main() as ADV_SCENARIO(my_attack, options...). */
#ifndef NM_ADVERSARIAL_H
#define NM_ADVERSARIAL_H
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "test_peer.h"
#include "test_support.h"

enum {
  ADV_MAX_NEIGHBOURS = 8,
  ADV_MAX_STRANGERS = 8,
  ADV_MAX_RELAY_RECORDS = 4096,
  ADV_SEALED_PINGWAVE_BYTES = 68 + 4 + 72 + 16, /* header + frame length + pingwave + tag */
};

typedef struct adv adv;
typedef void (*adv_scenario_fn)(adv* a);

typedef struct adv_spec {
  adv_scenario_fn fn;
  uint32_t heartbeat_ms;     /* both nodes' heartbeat (and pingwave) interval; 0 = 5000 */
  int neighbours;            /* scripted direct neighbours of the victim (<= 8) */
  int sealed_neighbours;     /* how many of them (the last ones) announce sealed pingwaves */
  uint8_t pingwave_ttl;      /* the victim's pingwave_ttl; 0 = the default (8) */
  uint32_t rss_growth_mib;   /* 0 = 32 (checked without sanitizers only) */
  void (*victim_config)(nm_node_config_t* c); /* the scenario's limits, after the defaults */
  uint32_t live_window_bytes;/* the live stream's window (both ends); 0 = 64 KiB */
} adv_spec;

/* A pingwave the victim sent to a neighbour, raw or sealed, not its own nor the legit node's. */
typedef struct adv_relay {
  uint64_t origin, seq;
  uint8_t ttl, hop_count;
  uint8_t neighbour; /* index */
  uint8_t sealed;
  double at; /* seconds (adv_now) when drained */
} adv_relay;

/* What the victim sent to the scripted neighbours and the strangers, classified. */
typedef struct adv_capture {
  uint64_t datagrams, bytes;             /* everything, neighbours and strangers */
  uint64_t periodic_bytes;               /* heartbeats, hellos and grants, its own pingwaves
                                            and relays of the legit node's pingwaves */
  uint64_t own_pingwaves;                /* the victim's own pingwaves (datagrams) */
  uint64_t relayed, relayed_bytes;       /* pingwaves of other origins (datagrams) */
  uint64_t routed, routed_bytes;         /* "RT" datagrams (forwarded traffic) */
  uint64_t other, other_bytes;           /* anything else sent to a neighbour */
  uint64_t stranger, stranger_bytes;     /* anything sent to a stranger's socket */
  uint64_t per_neighbour[ADV_MAX_NEIGHBOURS]; /* non-periodic datagrams per neighbour */
  uint64_t nb_bytes[ADV_MAX_NEIGHBOURS];          /* everything, per neighbour */
  uint64_t nb_periodic_bytes[ADV_MAX_NEIGHBOURS]; /* of which periodic (as periodic_bytes) */
  /* credit grants (not the hello) among the periodic: frames, and the datagrams carrying them */
  uint64_t grant_frames[ADV_MAX_NEIGHBOURS], grant_datagrams[ADV_MAX_NEIGHBOURS],
      grant_bytes[ADV_MAX_NEIGHBOURS];
} adv_capture;

typedef struct adv_snap {
  double t;
  nm_node_stats_t v;             /* the victim */
  nm_node_stats_t l;             /* the legitimate node */
  adv_capture cap;
  uint64_t attack_datagrams, attack_bytes;  /* sent to the victim by the adv_send_* calls */
  uint64_t stream_sent, stream_received;
  size_t rss;
} adv_snap;

/* What an attack window cost the victim (b -> e). */
typedef struct adv_traffic {
  uint64_t in_bytes, in_datagrams;   /* attack datagrams */
  uint64_t victim_bytes_sent;        /* everything the victim sent */
  uint64_t legit_overhead;           /* of which: stream ACKs/grants/heartbeats to the legit
                                        node and its own pingwaves there */
  uint64_t periodic_overhead;        /* of which: periodic traffic to the neighbours */
  uint64_t caused_bytes;             /* the rest: what the attack made the victim send, by
                                        its own counter (also to addresses nobody watches).
                                        The two nodes' counters are not read atomically: it
                                        may err by a few stream ACKs (ADV_COUNTER_SLACK). */
  uint64_t captured_bytes;           /* non-periodic bytes captured at neighbours + strangers */
  uint64_t sealed_relays;            /* pingwaves (not its own) the victim sealed for the legit node */
  uint64_t observed_bytes;           /* captured + sealed relays: what was seen to arrive (exact) */
} adv_traffic;

struct adv {
  const adv_spec* spec;
  uint8_t psk[NM_KEY_SIZE];
  nm_node_t* victim;
  uint64_t victim_id;
  char victim_addr[NM_ADDR_MAX];
  uint8_t victim_key[NM_KEY_SIZE];
  uint8_t victim_pingwave_ttl;
  nm_node_t* legit;
  uint64_t legit_id;
  char legit_addr[NM_ADDR_MAX];
  int n_neighbours;
  nmt_peer* nb[ADV_MAX_NEIGHBOURS];
  uint64_t nb_id[ADV_MAX_NEIGHBOURS];
  char nb_addr[ADV_MAX_NEIGHBOURS][NM_ADDR_MAX];
  int n_strangers;
  int stranger_fd[ADV_MAX_STRANGERS];
  char stranger_addr[ADV_MAX_STRANGERS][NM_ADDR_MAX];
  /* barriers: reliable streams 78 (legit -> victim) and 79 (victim -> legit) carry tokens */
  nm_stream_t *bar_legit_tx, *bar_victim_rx, *bar_victim_tx, *bar_legit_rx;
  uint64_t barrier_token;
  /* running totals */
  adv_capture cap;
  adv_relay relays[ADV_MAX_RELAY_RECORDS];
  size_t n_relays;
  uint64_t attack_datagrams, attack_bytes, pace_bytes;
  /* baselines for "datagrams the victim took that the legit node did not send" */
  uint64_t base_v_received, base_l_sent;
  int victim_port;
  uint64_t base_kernel_drops; /* the victim socket's, from /proc/net/udp */
  int spoof_unavailable;
  /* the live stream, legit -> victim */
  nm_stream_t* tx;
  nm_stream_t* rx;
  pthread_t sender, receiver;
  atomic_int stop_sender, stop_receiver;
  atomic_int saturate;
  atomic_uint_fast64_t sent, received;
  atomic_int failed;
  char failure[256];
  /* attack windows */
  int windows;
  int usable_checks;
  uint64_t window_sent_at_begin, window_received_at_begin;
  double window_begin;
  size_t rss_ready;
};

/* ---- registration: one line per scenario in main() ---- */
void adv_run(void** state);
int adv_setup(void** state);
int adv_teardown(void** state);
#define ADV_SCENARIO(f, ...) \
  {#f, adv_run, adv_setup, adv_teardown, &(adv_spec){.fn = f, __VA_ARGS__}}

/* ---- attack windows ---- */
void adv_attack_begin(adv* a, adv_snap* before);
/* Settles (see above), waits until the live stream delivered events sent after the window
 * began, snapshots. */
void adv_attack_end(adv* a, adv_snap* after);
adv_traffic adv_traffic_between(const adv* a, const adv_snap* b, const adv_snap* e);
/* Prints the window: traffic, the victim's counters that moved, RSS, stream progress. */
void adv_report(const char* what, const adv* a, const adv_snap* b, const adv_snap* e);

/* ---- sending (all paced, all counted as attack input) ---- */
/* A stranger: a fresh UDP socket on another loopback address (127.0.0.2, .3, ...). */
int adv_stranger(adv* a);
void adv_send_stranger(adv* a, int stranger, const void* data, size_t len);
/* From scripted neighbour i's own socket (what an off-path spoofer of its address sends). */
void adv_send_as_neighbour(adv* a, int i, const void* data, size_t len);
/* With a forged source address (raw socket). 0 sent; -2 not permitted here (no
 * CAP_NET_RAW): the call is then a no-op, and a->spoof_unavailable is set. */
int adv_send_spoofed(adv* a, const char* from_addr, const void* data, size_t len);

/* An unpaced flood (a scenario's own sockets): counts it as attack input. The window's
 * settling then waits until the victim took each datagram or the kernel dropped it. */
void adv_count_input(adv* a, uint64_t datagrams, uint64_t bytes);
/* Datagrams the kernel dropped at the victim's socket (buffer full), since the process began. */
uint64_t adv_victim_kernel_drops(const adv* a);
/* Bytes queued in the victim's socket now (not yet taken by its loop thread). */
uint64_t adv_victim_rx_queue(const adv* a);

/* ---- the live stream ---- */
/* 1: the sender sends batches back to back, as fast as credit allows (throughput
 * measurements: atomic_load(&a->received) over time); 0: paced (the default). */
void adv_live_saturate(adv* a, int on);

/* ---- scripted neighbours ---- */
/* Scripted neighbour i's session still works both ways: an event it sends on a new stream
 * reaches the victim's application, and the application's answer reaches it. Reads the
 * neighbour's socket (what arrives meanwhile is not captured): call it between windows. */
void adv_neighbour_usable(adv* a, int i);

/* ---- observing ---- */
nm_node_stats_t adv_victim_stats(adv* a);
nm_node_stats_t adv_legit_stats(adv* a);
/* Drains what the victim sent to neighbours and strangers into a->cap / a->relays. */
void adv_drain(adv* a);
/* Routes of the victim whose destination satisfies pred (NULL: all). */
size_t adv_count_routes(adv* a, int (*pred)(const adv* a, uint64_t dest, const void* arg),
                        const void* arg);
double adv_now(void);

#define ADV_DEADLINE_S 30.0
/* Waits (deadline ADV_DEADLINE_S) until `cond` holds for the victim's stats in `s`. */
#define ADV_WAIT_VICTIM(a, s, cond)                                                        \
  do {                                                                                     \
    double dl_ = adv_now() + ADV_DEADLINE_S;                                               \
    for (;;) {                                                                             \
      s = adv_victim_stats(a);                                                             \
      if (cond) break;                                                                     \
      if (adv_now() > dl_) fail_msg("%s:%d: timed out waiting for %s", __FILE__, __LINE__, #cond); \
      usleep(1000);                                                                        \
    }                                                                                      \
  } while (0)

#define ADV_D(b, e, field) ((e)->v.field - (b)->v.field) /* victim counter delta */
/* What adv_traffic's counter-based caused_bytes may err by when a stream ACK's flush is
 * counted by one node and not yet by the other (the observed_bytes have no such error). */
#define ADV_COUNTER_SLACK 1024
#endif
