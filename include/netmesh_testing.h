/*
 * netmesh testing API: seeded, reproducible fault injection at a node's socket.
 *
 * For tests, benchmarks and demos of loss recovery; not needed to use netmesh. It is part
 * of libnetmesh.so and follows the conventions and the ABI rules of netmesh.h (struct_size
 * first in nm_impairment_t, output structs written through the caller's size).
 */
#ifndef NETMESH_TESTING_H
#define NETMESH_TESTING_H

#include "netmesh.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Named constants for the directions argument of nm_node_set_impairment (a bit set). */
typedef enum nm_direction { NM_OUTBOUND = 1, NM_INBOUND = 2, NM_BOTH_DIRECTIONS = 3 } nm_direction;

/* Fault injection applied at the node's socket, per peer and per direction (88 bytes in
 * 0.2.0, 96 in 0.3.0). nm_impairment_init(&imp, sizeof imp) first. Decisions happen in this
 * order: oversize, undersize, burst loss (Gilbert-Elliott), loss, rate limit, delay +
 * jitter, reordering hold, duplication, corruption. */
typedef struct nm_impairment {
  uint32_t struct_size;         /* sizeof the caller's struct: set by nm_impairment_init */
  uint32_t drop_above_bytes;    /* 0 = off: larger datagrams vanish (MTU black hole) */
  double burst_enter;           /* P(good -> bad) per datagram; in bad state all are dropped */
  double burst_exit;            /* P(bad -> good) per datagram */
  double loss;                  /* P(drop) per datagram */
  uint64_t rate_bytes_per_sec;  /* 0 = unlimited */
  uint32_t rate_queue_limit_us; /* 200000: longer queueing drops */
  uint32_t delay_us;            /* fixed extra latency */
  uint32_t jitter_us;           /* + uniform [0, jitter_us] */
  uint32_t reorder_window_us;
  double reorder;               /* P(held back by up to reorder_window_us) */
  double duplicate;             /* P(an extra copy) */
  double corrupt;               /* P(one byte flipped) */
  uint64_t seed;                /* 1: same seed, same decisions */
  uint32_t drop_below_bytes;    /* 0 = off: shorter datagrams vanish (control traffic such as
                                   hellos, heartbeats and acknowledgements, not data). Since 0.3.0 */
  uint32_t reserved0;           /* zero */
  /* New settings are appended here. */
} nm_impairment_t;

/* What the impairments of a node did, both directions and every peer summed (72 bytes in
 * 0.2.0); read with nm_node_impairment_stats(n, &st, sizeof st). */
typedef struct nm_impairment_stats {
  uint64_t seen;                /* datagrams that went through an impairment */
  uint64_t dropped_loss;
  uint64_t dropped_burst;
  uint64_t dropped_rate;        /* by the rate limit, or because the node already holds 64 MiB
                                   of delayed datagrams */
  uint64_t dropped_oversize;
  uint64_t duplicated;
  uint64_t reordered;
  uint64_t delayed;
  uint64_t corrupted;
  uint64_t dropped_undersize;   /* by drop_below_bytes. Since 0.3.0 */
  /* New counters are appended here. */
} nm_impairment_stats_t;

/* Writes the defaults (nothing impaired, seed 1) into impairment, sets
 * impairment->struct_size = impairment_size and zeroes any bytes beyond this library's
 * struct. Pass sizeof *impairment. */
NM_API nm_status nm_impairment_init(nm_impairment_t* impairment, size_t impairment_size);
/* Applies impairment to datagrams exchanged with peer_node_id (0 = every peer without a
 * setting of its own) in the given directions (NM_OUTBOUND, NM_INBOUND or
 * NM_BOTH_DIRECTIONS; anything else is NM_ERR_INVALID_ARGUMENT); NULL removes it. The
 * struct is copied: it is borrowed for the call only. Does not block. Counted in
 * nm_node_impairment_stats. */
NM_API nm_status nm_node_set_impairment(nm_node_t* node, uint64_t peer_node_id, uint32_t directions,
                                        const nm_impairment_t* impairment);
/* The impairment counters, written through out_size = sizeof *out (see "ABI stability" in
 * netmesh.h). Does not block. */
NM_API nm_status nm_node_impairment_stats(nm_node_t* node, nm_impairment_stats_t* out, size_t out_size);

#ifdef __cplusplus
}
#endif
#endif /* NETMESH_TESTING_H */
