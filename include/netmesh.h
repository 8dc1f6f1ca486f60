/*
 * netmesh — encrypted UDP mesh transport, wire-compatible with net-mesh 0.23.
 *
 * C11 API. Conventions:
 *  - Every function returns nm_status (NM_OK = 0, errors < 0). nm_strerror() names a
 *    status; nm_last_error_message() gives this thread's detail for the last failure.
 *  - Handles (nm_node_t*, nm_stream_t*) are opaque tokens, not pointers to memory: a freed,
 *    stale or foreign handle yields an error, never a crash.
 *  - Buffers are owned by the caller. Config and stats are plain structs; call the
 *    *_init function to get defaults before changing fields.
 *  - Every function is thread-safe. The library never calls back into the application;
 *    use blocking receives with timeouts, or poll nm_node_event_fd().
 */
#ifndef NETMESH_H
#define NETMESH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(NETMESH_BUILDING)
#define NM_API __attribute__((visibility("default")))
#else
#define NM_API
#endif

#define NM_KEY_SIZE 32
#define NM_MAX_EVENT_SIZE 8104 /* largest event in one packet; the limit for 0.23 peers */
#define NM_ADDR_MAX 64         /* room for "[v6 address]:port" plus NUL */

typedef enum nm_status {
  NM_OK = 0,
  NM_ERR_INVALID_ARGUMENT = -1, /* NULL pointer, bad size, bad config value */
  NM_ERR_INVALID_HANDLE = -2,   /* handle freed, never issued, or of the wrong kind */
  NM_ERR_WRONG_NODE = -3,       /* stream handle belongs to another node */
  NM_ERR_NOT_CONNECTED = -4,    /* no session, or the stream was closed (stale handle) */
  NM_ERR_BACKPRESSURE = -5,     /* the stream's credit window is exhausted: retry later */
  NM_ERR_TRANSPORT = -6,        /* the socket refused the datagram */
  NM_ERR_TIMEOUT = -7,          /* nothing happened within the timeout */
  NM_ERR_HANDSHAKE = -8,        /* the handshake failed (no valid answer: wrong PSK/key?) */
  NM_ERR_EVENT_TOO_LARGE = -9,  /* event longer than the stream allows */
  NM_ERR_BUFFER_TOO_SMALL = -10,/* caller buffer too small; the needed size is reported */
  NM_ERR_SHUTDOWN = -11,        /* the node is shutting down or was freed meanwhile */
  NM_ERR_ADDRESS = -12,         /* address could not be parsed or bound */
  NM_ERR_CRYPTO = -13,          /* crypto library failure */
  NM_ERR_INTERNAL = -14
} nm_status;

typedef struct nm_node nm_node_t;     /* opaque */
typedef struct nm_stream nm_stream_t; /* opaque */

typedef enum nm_reliability { NM_FIRE_AND_FORGET = 0, NM_RELIABLE = 1 } nm_reliability;
typedef enum nm_close_behaviour { NM_DRAIN_THEN_CLOSE = 0, NM_DROP_AND_CLOSE = 1 } nm_close_behaviour;

typedef struct nm_node_config {
  const char* bind_addr;          /* "127.0.0.1:0" by default; "[::1]:0" for IPv6 */
  uint8_t psk[NM_KEY_SIZE];       /* mesh-wide pre-shared key (required, all-zero refused) */
  uint8_t identity_seed[NM_KEY_SIZE];  /* ed25519 seed; all-zero = random identity */
  uint8_t static_private_key[NM_KEY_SIZE]; /* X25519 key; all-zero = random */
  const char* identity_file;      /* NULL; a path: both keys are loaded from it, or (first
                                     start) saved to it with mode 0600, so the node id and
                                     public key peers know survive restarts */
  uint32_t heartbeat_interval_ms; /* 5000 */
  uint32_t handshake_timeout_ms;  /* per attempt, 5000 */
  uint32_t handshake_retries;     /* 3 attempts in all */
  uint32_t session_timeout_ms;    /* 30000: a peer silent for this long is not "active" */
  uint32_t stream_idle_timeout_ms;/* 300000: idle streams are evicted */
  uint32_t max_streams;           /* 4096 per session; beyond, the least recently used goes */
  uint32_t default_window_bytes;  /* 65536: window of streams a peer opens towards us */
  uint32_t max_event_bytes;       /* 16 MiB: largest event sent or accepted (fragmented
                                     above NM_MAX_EVENT_SIZE, netmesh peers only) */
  uint32_t drain_timeout_ms;      /* 5000: how long DRAIN_THEN_CLOSE waits for acknowledgements */
  uint8_t compat_0_23;            /* 0: 1 = behave exactly like a net-mesh 0.23 node (no
                                     netmesh extensions offered or accepted) */
  uint32_t suspect_after_ms;      /* 60000: a neighbour without heartbeats is Suspected ... */
  uint32_t fail_after_ms;         /* 90000: ... then Failed; routes through it are dropped */
  uint8_t pingwave_ttl;           /* 8: hops our route announcements (pingwaves) travel */
  uint64_t session_rate_bytes_per_sec; /* 0 = unpaced. Otherwise each session sends at most
                                     this rate, and its backlogged streams share it in
                                     proportion to their fairness_weight (deficit round robin);
                                     a stream queues at most 1 MiB before backpressure. */
  uint32_t max_sessions;          /* 1024: sessions plus unconfirmed handshakes; when full, the
                                     oldest unconfirmed one gives way, else handshakes are refused */
  uint32_t handshake_rate_per_sec;/* 500: msg1s examined per second (each costs an X25519);
                                     beyond, they are dropped unexamined. 0 = unlimited */
  /* Receive budgets: the memory held for peers — events queued unread (the packets they
   * came in), early packets waiting for a gap, large events in reassembly (each reserves
   * max_event_bytes when it starts, so an event that started can always finish). A data
   * packet that would go beyond either budget is dropped and counted in drop_over_budget
   * (a reliable stream gets it again by retransmission once memory frees, fire-and-forget
   * loses it, as beyond the window). */
  uint64_t max_session_buffer_bytes; /* 32 MiB per session; at least max_event_bytes + 2 full
                                     packets (+ 16552 bytes) */
  uint64_t max_buffer_bytes;      /* 256 MiB for all sessions together; at least
                                     max_session_buffer_bytes */
} nm_node_config_t;

typedef struct nm_stream_config {
  nm_reliability reliability;     /* NM_FIRE_AND_FORGET */
  uint32_t window_bytes;          /* 65536; 0 = unbounded (no credit). Credit is granted as the
                                     application reads, and the receiving side buffers at most
                                     this much unread data: give both ends the same window. */
  uint8_t fairness_weight;        /* 1; 0 is taken as 1 (as net-mesh) */
  nm_close_behaviour close_behaviour; /* NM_DROP_AND_CLOSE (net-mesh's default) */
} nm_stream_config_t;

typedef struct nm_event {
  const void* data;
  size_t len;
} nm_event_t;

typedef struct nm_stream_stats {
  uint64_t peer_node_id;
  uint64_t stream_id;
  uint64_t tx_seq;                 /* next sequence number to send (packets sent so far) */
  uint64_t rx_seq;                 /* highest sequence received (0 before any), as net-mesh */
  uint64_t inbound_pending;        /* events received, not yet read */
  uint64_t last_activity_ns;       /* last send/receive, ns since the Unix epoch (as net-mesh) */
  uint8_t active;                  /* 1 while the stream is open */
  uint64_t backpressure_events;    /* sends refused for lack of credit */
  uint64_t tx_credit_remaining;    /* bytes the stream may still send (UINT64_MAX if unbounded) */
  uint64_t tx_window;              /* window_bytes */
  uint64_t credit_grants_received;
  uint64_t credit_grants_sent;
  /* beyond the ten contract fields */
  uint64_t tx_events;
  uint64_t rx_events;
  uint64_t rx_duplicates_dropped;  /* reliable: packets seen twice */
  uint64_t rx_gaps;                /* sequence numbers skipped on arrival */
  uint8_t reliable;
  uint8_t recovering;              /* reliable with loss recovery (the peer is netmesh) */
  uint64_t retransmits;
  uint64_t nacks_sent;
  uint64_t nacks_received;
  uint64_t tx_unacked_packets;     /* kept for retransmission */
  uint64_t srtt_ns;                /* smoothed round-trip time, 0 before a sample */
  uint64_t rx_buffered_bytes;      /* received, unread */
  uint64_t rx_reorder_packets;     /* early packets waiting for a gap to fill */
  uint64_t rx_incomplete_dropped;  /* fragmented events lost (fire-and-forget) */
  uint64_t rx_oversize_dropped;    /* fragmented events above max_event_bytes */
  uint64_t rx_restarts;            /* a net-mesh 0.23 sender reopened the stream (its sequences
                                      start again at 0): received as new, not as duplicates */
} nm_stream_stats_t;

typedef struct nm_node_stats {
  uint64_t sessions;
  uint64_t datagrams_received;
  uint64_t datagrams_sent;
  uint64_t handshakes_completed;
  uint64_t heartbeats_sent;
  uint64_t heartbeats_received;
  /* drops by reason: nothing hostile crashes the node, everything is counted */
  uint64_t drop_malformed;         /* too short, bad magic/version, length lies */
  uint64_t drop_unknown_session;
  uint64_t drop_auth_failed;       /* AEAD tag did not verify */
  uint64_t drop_replay;
  uint64_t drop_handshake_rejected;/* msg1/msg2 that failed Noise (wrong PSK, key, id) */
  uint64_t drop_unexpected_handshake;
  uint64_t drop_unknown_subprotocol;
  uint64_t drop_bad_grant;
  uint64_t drop_unknown_stream;    /* grants, ACKs, NACKs for streams that do not exist */
  uint64_t drop_bad_fragment;      /* fragments that belong to no event in progress */
  uint64_t drop_over_window;       /* data beyond the receiving stream's credit window */
  uint64_t grants_clamped;         /* grants for more than was ever sent (applied up to it) */
  uint64_t ignored_mesh_packets;   /* keep-alives; pingwaves not from a live neighbour */
  /* mesh */
  uint64_t pingwaves_sent;
  uint64_t pingwaves_received;
  uint64_t forwarded;              /* routed packets relayed for others (never decrypted) */
  uint64_t forward_no_route;
  uint64_t forward_ttl_expired;
  /* fault injection (nm_node_set_impairment), both directions summed */
  uint64_t impair_seen;
  uint64_t impair_dropped_loss;
  uint64_t impair_dropped_burst;
  uint64_t impair_dropped_rate;
  uint64_t impair_dropped_oversize;
  uint64_t impair_duplicated;
  uint64_t impair_reordered;
  uint64_t impair_delayed;
  uint64_t impair_corrupted;
  /* hostile-network defences (SECURITY.md) */
  uint64_t bytes_received;         /* UDP payload bytes taken off the socket */
  uint64_t bytes_sent;             /* UDP payload bytes written to the socket */
  uint64_t forward_refused;        /* routed packets not from a neighbour, or larger than a packet */
  uint64_t pingwave_origins_refused;  /* new origins beyond a neighbour's allowance */
  uint64_t pingwave_relays_suppressed;/* re-broadcasts of raw pingwaves over their byte budget */
  uint64_t drop_handshake_rate_limited; /* msg1s beyond handshake_rate_per_sec, unexamined */
  uint64_t drop_session_limit;     /* handshakes refused: max_sessions confirmed sessions */
  uint64_t sessions_pruned;        /* unconfirmed sessions expired or evicted, silent ones pruned */
  uint64_t sessions_unconfirmed;   /* now: responder sessions no authenticated packet has confirmed */
  uint64_t responses_deferred;     /* retransmissions, ACKs, probe answers held back by a peer's
                                     response budget (2x what it sent + what it acknowledged) */
  uint64_t drop_over_budget;       /* data beyond max_session_buffer_bytes / max_buffer_bytes */
  uint64_t tx_abandoned_packets;   /* reliable packets unacknowledged when their session was
                                     replaced (the peer re-handshook) or pruned: lost */
} nm_node_stats_t;

/* Seeded, reproducible fault injection applied at the node's socket, per peer and per
 * direction. Decisions happen in this order: oversize, burst loss (Gilbert-Elliott), loss,
 * rate limit, delay + jitter, reordering hold, duplication, corruption. */
typedef struct nm_impairment {
  double loss;                  /* P(drop) per datagram */
  double burst_enter;           /* P(good -> bad) per datagram; in bad state all are dropped */
  double burst_exit;            /* P(bad -> good) per datagram */
  double duplicate;             /* P(an extra copy) */
  double reorder;               /* P(held back by up to reorder_window_us) */
  uint32_t reorder_window_us;
  uint32_t delay_us;            /* fixed extra latency */
  uint32_t jitter_us;           /* + uniform [0, jitter_us] */
  uint64_t rate_bytes_per_sec;  /* 0 = unlimited */
  uint32_t rate_queue_limit_us; /* 200000: longer queueing drops */
  double corrupt;               /* P(one byte flipped) */
  uint32_t drop_above_bytes;    /* 0 = off: larger datagrams vanish (MTU black hole) */
  uint64_t seed;                /* 1: same seed, same decisions */
} nm_impairment_t;

/* A route the node knows: direct neighbours have metric 1 and next_hop == dest. */
typedef struct nm_route {
  uint64_t dest;
  uint64_t next_hop;
  uint32_t metric;
  uint64_t age_ns;
} nm_route_t;

typedef enum nm_peer_event_kind {
  NM_PEER_CONNECTED = 1, /* a session was established (either role, direct or routed) and
                            confirmed: as responder, once the peer's first authenticated
                            packet arrived (SECURITY.md) */
  NM_PEER_SUSPECTED = 2, /* a neighbour missed heartbeats */
  NM_PEER_FAILED = 3,    /* ... for fail_after_ms: routes through it were dropped */
  NM_PEER_RECOVERED = 4  /* a Suspected or Failed neighbour is heard again */
} nm_peer_event_kind;

typedef struct nm_peer_event {
  uint64_t peer_node_id;
  nm_peer_event_kind kind;
  uint64_t at_ns; /* CLOCK_MONOTONIC */
} nm_peer_event_t;

typedef enum nm_direction { NM_OUTBOUND = 1, NM_INBOUND = 2, NM_BOTH_DIRECTIONS = 3 } nm_direction;

/* ---- library ---- */
NM_API const char* nm_version(void);
NM_API const char* nm_strerror(nm_status status);
/* Detail of the last failing call on this thread ("" if none). */
NM_API const char* nm_last_error_message(void);

/* ---- node ---- */
NM_API nm_status nm_node_config_init(nm_node_config_t* config);
NM_API nm_status nm_node_new(const nm_node_config_t* config, nm_node_t** out_node);
/* Stops the node; blocked calls on it return NM_ERR_SHUTDOWN. The handle becomes invalid. */
NM_API nm_status nm_node_free(nm_node_t* node);
NM_API nm_status nm_node_public_key(nm_node_t* node, uint8_t out_key[NM_KEY_SIZE]);
NM_API nm_status nm_node_id(nm_node_t* node, uint64_t* out_node_id);
/* "ip:port" of the bound socket into buf (NM_ADDR_MAX bytes is always enough). */
NM_API nm_status nm_node_local_addr(nm_node_t* node, char* buf, size_t buf_len);
NM_API nm_status nm_node_stats(nm_node_t* node, nm_node_stats_t* out);
/* A file descriptor that is readable while any stream of the node has unread events, and
 * once the node starts shutting down. Owned by the node: valid until nm_node_free returns. */
NM_API nm_status nm_node_event_fd(nm_node_t* node, int* out_fd);

/* Initiator: handshake with the peer at addr whose X25519 public key and node id are known
 * out of band. Blocks up to handshake_timeout_ms x handshake_retries. */
NM_API nm_status nm_node_connect(nm_node_t* node, const char* addr,
                                 const uint8_t peer_public_key[NM_KEY_SIZE], uint64_t peer_node_id);
/* Initiator, routed form (wire spec §3.5): the handshake travels behind a routing header
 * to relay_addr, which forwards it towards peer_node_id over the mesh; relay_addr may be
 * the peer itself (how a started net-mesh 0.23 node accepts new peers). The session's
 * traffic follows the mesh's routes (netmesh peers; a 0.23 peer must be the relay). */
NM_API nm_status nm_node_connect_via(nm_node_t* node, const char* relay_addr,
                                     const uint8_t peer_public_key[NM_KEY_SIZE], uint64_t peer_node_id);
/* Routes known to the node: fills up to capacity, *out_count = how many exist. */
NM_API nm_status nm_node_routes(nm_node_t* node, nm_route_t* out, size_t capacity, size_t* out_count);
/* Next peer event (connected, suspected, failed, recovered); timeout_ms as nm_stream_recv.
 * The queue keeps the latest 1024. nm_node_peer_event_fd is readable while it is not empty. */
NM_API nm_status nm_node_next_peer_event(nm_node_t* node, nm_peer_event_t* out, int timeout_ms);
NM_API nm_status nm_node_peer_event_fd(nm_node_t* node, int* out_fd);

/* Responder: let peer_node_id handshake with this node from now on (also later
 * re-handshakes). A direct msg1 does not name its sender, so only peers allowed here, by
 * nm_node_accept, or dialled with nm_node_connect can open a session with this node. */
NM_API nm_status nm_node_allow_peer(nm_node_t* node, uint64_t peer_node_id);
/* Responder: nm_node_allow_peer, then wait up to timeout_ms (-1 = forever, 0 = just check)
 * until a session with the peer exists. The session may still be unconfirmed (the peer's
 * msg1 arrived, none of its packets yet; a net-mesh 0.23 initiator may stay silent for a
 * heartbeat interval): it is usable for sending, and a replayed msg1 can never make one
 * replace a confirmed session (SECURITY.md). */
NM_API nm_status nm_node_accept(nm_node_t* node, uint64_t peer_node_id, int timeout_ms);

/* ---- fault injection (testing) ---- */
NM_API nm_status nm_impairment_init(nm_impairment_t* impairment);
/* Applies `impairment` to datagrams exchanged with peer_node_id (0 = every peer without a
 * setting of its own) in the given directions; NULL removes it. Counted in nm_node_stats. */
NM_API nm_status nm_node_set_impairment(nm_node_t* node, uint64_t peer_node_id,
                                        nm_direction directions, const nm_impairment_t* impairment);

/* ---- streams ---- */
NM_API nm_status nm_stream_config_init(nm_stream_config_t* config);
/* Opens (or returns the already open) stream stream_id to a connected peer. Idempotent: the
 * first explicit config wins. config may be NULL for defaults. Free the handle with
 * nm_stream_free (which does not close the stream). */
NM_API nm_status nm_node_open_stream(nm_node_t* node, uint64_t peer_node_id, uint64_t stream_id,
                                     const nm_stream_config_t* config, nm_stream_t** out_stream);
/* Closes the stream with its close behaviour. Every handle to it becomes stale
 * (NM_ERR_NOT_CONNECTED); with DRAIN_THEN_CLOSE, events already received stay readable
 * through those handles until drained. */
NM_API nm_status nm_node_close_stream(nm_node_t* node, nm_stream_t* stream);
NM_API nm_status nm_stream_free(nm_stream_t* stream);

/* Sends events in order, packed into as few packets as fit. On NM_ERR_BACKPRESSURE the
 * first *out_sent events went out and the rest did not (out_sent may be NULL).
 * Adaptive flush: a send within 20 us of the stream's previous packet (a burst) may leave
 * its last, partly filled packet open for the next sends; the node's own thread sends it
 * as soon as it runs. A send after a quiet moment leaves at once. Credit is charged when
 * an event is accepted either way. */
NM_API nm_status nm_stream_send(nm_stream_t* stream, const nm_event_t* events, size_t count,
                                size_t* out_sent);
/* nm_stream_send, retrying on backpressure up to max_retries times with 5 ms -> 200 ms
 * backoff (woken early when credit arrives). */
NM_API nm_status nm_stream_send_with_retry(nm_stream_t* stream, const nm_event_t* events,
                                           size_t count, uint32_t max_retries, size_t* out_sent);
/* nm_stream_send, waiting for credit as long as needed (timeout_ms, -1 = forever). */
NM_API nm_status nm_stream_send_blocking(nm_stream_t* stream, const nm_event_t* events,
                                         size_t count, int timeout_ms, size_t* out_sent);
/* Receives one event into buf. timeout_ms: 0 = non-blocking, -1 = forever. If buf is too
 * small, returns NM_ERR_BUFFER_TOO_SMALL with *out_len = the event's size and keeps it queued. */
NM_API nm_status nm_stream_recv(nm_stream_t* stream, void* buf, size_t buf_len, size_t* out_len,
                                int timeout_ms);
/* Receives up to max_events events in one call (one lock round trip, one grant decision):
 * their bytes back to back in buf, their sizes in lens[0..*out_count). Waits like
 * nm_stream_recv for the first; takes what is queued after it. The batch stops before an
 * event that does not fit; if the first does not fit, NM_ERR_BUFFER_TOO_SMALL with its
 * size in lens[0]. */
NM_API nm_status nm_stream_recv_batch(nm_stream_t* stream, void* buf, size_t buf_len, size_t* lens,
                                      size_t max_events, size_t* out_count, int timeout_ms);
NM_API nm_status nm_stream_stats(nm_stream_t* stream, nm_stream_stats_t* out);
/* Stats of every open stream of the node: fills up to capacity entries and sets *out_count
 * to the number of streams (call with capacity 0 to size the array). */
NM_API nm_status nm_node_all_stream_stats(nm_node_t* node, nm_stream_stats_t* out, size_t capacity,
                                          size_t* out_count);
/* net-mesh's stream_id_from_key: xxh3-64 of the key bytes. */
NM_API nm_status nm_stream_id_from_key(const void* key, size_t len, uint64_t* out_stream_id);

#ifdef __cplusplus
}
#endif
#endif /* NETMESH_H */
