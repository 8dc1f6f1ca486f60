/*
 * netmesh — encrypted UDP mesh transport, wire-compatible with net-mesh 0.23.
 *
 * C11 API. Conventions:
 *  - Every function but the three string getters returns nm_status (NM_OK = 0, errors < 0).
 *    nm_strerror() names a status; nm_last_error_message() gives this thread's detail for
 *    the last failure.
 *  - Handles (nm_node_t*, nm_stream_t*) are opaque tokens, not pointers to memory: a freed,
 *    stale or foreign handle yields an error, never a crash. Tokens are never reused.
 *  - Handle lifetime: nm_node_free stops the node at once. Afterwards the node handle gives
 *    NM_ERR_INVALID_HANDLE everywhere; stream handles opened on it stay valid *as handles*
 *    until nm_stream_free (which returns NM_OK and must still be called), and every other
 *    call on them returns NM_ERR_SHUTDOWN. Calls blocked on the node or its streams when it
 *    is freed return NM_ERR_SHUTDOWN (or the status they had already reached).
 *  - Pointers passed in (strings, keys, buffers, configs, event arrays) are borrowed for the
 *    duration of the call only: the library never keeps them, so they may be freed or
 *    reused as soon as the call returns. Strings are NUL-terminated.
 *  - Blocking: a call blocks only where its comment says so, and never longer than stated
 *    (give or take scheduling). Calls without such a note take at most a node-wide lock
 *    for a short time; none does network round trips. A blocking call's timeout_ms: -1
 *    waits for ever, 0 does not wait; other negative values are NM_ERR_INVALID_ARGUMENT.
 *  - Every function is thread-safe. The library never calls back into the application;
 *    use blocking receives with timeouts, or poll nm_node_event_fd().
 *
 * ABI stability (from 0.2.0; the library's symbols carry the version node NETMESH_0.2):
 *  - Config structs (nm_node_config_t, nm_stream_config_t, and nm_impairment_t in
 *    netmesh_testing.h) start with uint32_t struct_size. Their *_init function takes the
 *    caller's sizeof, fills struct_size with it and writes defaults. The library then reads
 *    only struct_size bytes: fields a newer library added beyond them keep their defaults,
 *    so a program built against an older (smaller) struct keeps working. A struct_size
 *    smaller than the 0.2.0 layout (or one that does not end on one of its fields, or absurdly large:
 *    an uninitialised struct) is NM_ERR_INVALID_ARGUMENT; so is a larger struct whose
 *    bytes beyond this library's struct are not all zero (the caller set a field this
 *    library does not know: refusing beats silently ignoring it).
 *  - Output structs (stats, routes, peer events) are written through the caller's size
 *    (out_size / elem_size, i.e. sizeof *out): at most that many bytes per struct. A
 *    larger caller struct (a newer header) gets its unknown tail zeroed; a size smaller
 *    than the 0.2.0 layout is NM_ERR_INVALID_ARGUMENT.
 *  - Structs grow only by appending fields at the end (never reordering, resizing or
 *    removing). Their integer fields are fixed-width, never enum-typed (the enums below
 *    are named constants for them), and they have no implicit padding: bytes named
 *    reserved* fill what would be padding. Reserved bytes must be zero in inputs (the *_init functions zero them;
 *    other values are NM_ERR_INVALID_ARGUMENT) and are written as zero in outputs; a later
 *    version may give them a meaning, with zero meaning today's behaviour.
 *  - Sizes and offsets of every struct are checked at build time against one field list
 *    per struct (src/capi/struct_fields.h); tests/abi/ runs a program built against the
 *    frozen 0.2.0 layouts against the current library.
 *
 * Fault injection for tests is in netmesh_testing.h, not here.
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

/* The version of this header; nm_version() returns the library's as "MAJOR.MINOR.PATCH".
 * Within one major version (the SONAME, libnetmesh.so.MAJOR) a program built against an
 * older header runs against a newer library. */
#define NM_VERSION_MAJOR 0
#define NM_VERSION_MINOR 3
#define NM_VERSION_PATCH 0

#define NM_KEY_SIZE 32
#define NM_MAX_EVENT_SIZE 8104    /* largest event in one packet; the limit for 0.23 peers */
#define NM_ADDR_MAX 64            /* room for "[v6 address]:port" plus NUL */
#define NM_MIN_WINDOW_BYTES 8276  /* smallest non-zero window: one full packet and its 84
                                     bytes of overhead (credit is charged per packet) */

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
  NM_ERR_ADDRESS = -12,         /* address could not be parsed, bound, or reached from the
                                   node's socket (an IPv6 peer from an IPv4 bind_addr) */
  NM_ERR_CRYPTO = -13,          /* crypto library failure */
  NM_ERR_INTERNAL = -14
} nm_status;

typedef struct nm_node nm_node_t;     /* opaque */
typedef struct nm_stream nm_stream_t; /* opaque */

/* Named constants for the uint8_t fields of nm_stream_config_t. */
typedef enum nm_reliability { NM_FIRE_AND_FORGET = 0, NM_RELIABLE = 1 } nm_reliability;
typedef enum nm_close_behaviour { NM_DRAIN_THEN_CLOSE = 0, NM_DROP_AND_CLOSE = 1 } nm_close_behaviour;
/* The congestion controller of sessions towards netmesh peers (nm_node_config_t). */
typedef enum nm_congestion_control {
  NM_CC_CUBIC = 0,     /* CUBIC with HyStart++ (RFC 9438, RFC 9406): the default */
  NM_CC_NEW_RENO = 1,  /* NewReno (RFC 9002 §7) */
  NM_CC_BBR = 2        /* BBR v1: paced at its bandwidth estimate; random loss does not slow it */
} nm_congestion_control;

/* Node settings (200 bytes in 0.2.0 on LP64). nm_node_config_init(&c, sizeof c) first,
 * then change fields. */
typedef struct nm_node_config {
  uint32_t struct_size;           /* sizeof the caller's struct: set by nm_node_config_init */
  uint8_t compat_0_23;            /* 0: 1 = behave exactly like a net-mesh 0.23 node (no
                                     netmesh extensions offered or accepted) */
  uint8_t pingwave_ttl;           /* 8: hops our route announcements (pingwaves) travel */
  uint8_t reserved0[2];           /* zero */
  const char* bind_addr;          /* "127.0.0.1:0" by default; "[::]:0" reaches IPv4 and IPv6
                                     peers, "[::1]:0" or "[fe80::1%eth0]:0" IPv6 ones only.
                                     Read during nm_node_new only (borrowed for that call) */
  const char* identity_file;      /* NULL; a path: both keys are loaded from it, or (first
                                     start) saved to it with mode 0600, so the node id and
                                     public key peers know survive restarts. Read during
                                     nm_node_new only (borrowed for that call) */
  uint8_t psk[NM_KEY_SIZE];       /* mesh-wide pre-shared key (required, all-zero refused) */
  uint8_t identity_seed[NM_KEY_SIZE];  /* ed25519 seed; all-zero = random identity */
  uint8_t static_private_key[NM_KEY_SIZE]; /* X25519 key; all-zero = random */
  uint32_t heartbeat_interval_ms; /* 5000 */
  uint32_t handshake_timeout_ms;  /* per attempt, 5000 */
  uint32_t handshake_retries;     /* 3 attempts in all */
  uint32_t session_timeout_ms;    /* 30000: a peer silent for this long is not "active"; > 0 */
  uint32_t stream_idle_timeout_ms;/* 300000: idle streams holding nothing (no unread or
                                     unacknowledged events) are evicted */
  uint32_t max_streams;           /* 4096 per session; beyond, the least recently active of
                                     those holding nothing goes; if none of the 64 oldest
                                     does, a new stream is refused (the peer's packet is
                                     dropped, drop_over_budget; nm_node_open_stream returns
                                     NM_ERR_BACKPRESSURE). 0 = unlimited */
  uint32_t default_window_bytes;  /* 65536: window of streams a peer opens towards us
                                     (0 = unbounded, else at least NM_MIN_WINDOW_BYTES) */
  uint32_t max_event_bytes;       /* 16 MiB: largest event sent or accepted (fragmented
                                     above NM_MAX_EVENT_SIZE, netmesh peers only); > 0 */
  uint32_t drain_timeout_ms;      /* 5000: how long DRAIN_THEN_CLOSE waits for acknowledgements */
  uint32_t suspect_after_ms;      /* 60000: a neighbour without heartbeats is Suspected ... */
  uint32_t fail_after_ms;         /* 90000: ... then Failed; routes through it are dropped */
  uint32_t max_sessions;          /* 1024: sessions plus unconfirmed handshakes; when full, the
                                     oldest unconfirmed one gives way, else handshakes are
                                     refused. 0 = unlimited (no bound: not for public nodes) */
  uint32_t handshake_rate_per_sec;/* 500: msg1s examined per second (each costs an X25519);
                                     beyond, they are dropped unexamined. 0 = unlimited */
  uint32_t reserved1;             /* zero */
  uint64_t session_rate_bytes_per_sec; /* 0 = no cap. Otherwise each session sends at most
                                     this rate. Paced sessions (this cap, or congestion
                                     control towards netmesh peers) share their rate among
                                     backlogged streams in proportion to their fairness_weight
                                     (deficit round robin); a stream queues at most 1 MiB
                                     before backpressure. */
  /* Receive budgets: the memory held for peers — events queued unread (the packets they
   * came in), early packets waiting for a gap, large events in reassembly (each reserves
   * max_event_bytes when it starts, so an event that started can always finish). A data
   * packet that would go beyond either budget is dropped and counted in drop_over_budget
   * (a reliable stream gets it again by retransmission once memory frees, fire-and-forget
   * loses it, as beyond the window). */
  uint64_t max_session_buffer_bytes; /* 32 MiB per session; at least max_event_bytes + 2 full
                                     packets (+ 2 x NM_MIN_WINDOW_BYTES) */
  uint64_t max_buffer_bytes;      /* 256 MiB for all sessions together; at least
                                     max_session_buffer_bytes */
  uint32_t congestion_control;    /* NM_CC_CUBIC (default), NM_CC_NEW_RENO or NM_CC_BBR: the
                                     controller of each session towards a netmesh peer */
  uint32_t reserved2;             /* zero */
  uint32_t auto_direct_ms;        /* 0 (default): off; the application calls
                                     nm_node_connect_direct. Otherwise a session relayed to a
                                     netmesh peer tries for a direct path on its own, as
                                     nm_node_connect_direct(peer, 0, ...) does: when the peer's
                                     hello arrives, then every auto_direct_ms (at least 1000)
                                     while it stays relayed. A try still relayed when the next
                                     is due counts in relay_fallbacks. */
  uint32_t reserved3;             /* zero */
  /* New settings are appended here. */
} nm_node_config_t;

/* Stream settings (12 bytes in 0.2.0). nm_stream_config_init(&c, sizeof c) first. */
typedef struct nm_stream_config {
  uint32_t struct_size;           /* sizeof the caller's struct: set by nm_stream_config_init */
  uint8_t reliability;            /* NM_FIRE_AND_FORGET (default) or NM_RELIABLE */
  uint8_t close_behaviour;        /* NM_DROP_AND_CLOSE (net-mesh's default) or NM_DRAIN_THEN_CLOSE */
  uint8_t fairness_weight;        /* 1; 0 is taken as 1 (as net-mesh) */
  uint8_t reserved0;              /* zero */
  uint32_t window_bytes;          /* 65536; 0 = unbounded (no credit), else at least
                                     NM_MIN_WINDOW_BYTES. Credit is granted as the application
                                     reads, and the receiving side buffers at most this much
                                     unread data: give both ends the same window. */
  /* New settings are appended here. */
} nm_stream_config_t;

/* One event to send (an array element of nm_stream_send*): its layout is fixed for good. */
typedef struct nm_event {
  const void* data;
  size_t len;
} nm_event_t;

/* A stream's counters (208 bytes in 0.2.0); read with nm_stream_stats(s, &st, sizeof st). */
typedef struct nm_stream_stats {
  uint64_t peer_node_id;
  uint64_t stream_id;
  uint8_t active;                  /* 1 while the stream is open */
  uint8_t reliable;                /* 1 for an NM_RELIABLE stream */
  uint8_t recovering;              /* reliable with loss recovery (the peer is netmesh) */
  uint8_t reserved0[5];            /* zero (room for more flags) */
  /* the ten net-mesh contract fields (with active) */
  uint64_t tx_seq;                 /* next sequence number to send (packets sent so far) */
  uint64_t rx_seq;                 /* highest sequence received (0 before any), as net-mesh */
  uint64_t inbound_pending;        /* events received, not yet read */
  uint64_t last_activity_ns;       /* last send/receive, ns since the Unix epoch (as net-mesh) */
  uint64_t backpressure_events;    /* sends refused for lack of credit */
  uint64_t tx_credit_remaining;    /* bytes the stream may still send (UINT64_MAX if unbounded) */
  uint64_t tx_window;              /* window_bytes */
  uint64_t credit_grants_received;
  uint64_t credit_grants_sent;
  /* beyond the contract */
  uint64_t tx_events;
  uint64_t rx_events;
  uint64_t rx_duplicates_dropped;  /* reliable: packets seen twice */
  uint64_t rx_gaps;                /* sequence numbers skipped on arrival */
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
  /* New counters are appended here. */
} nm_stream_stats_t;

/* A node's counters (288 bytes in 0.2.0); read with nm_node_stats(n, &st, sizeof st). */
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
  /* hostile-network defences (SECURITY.md) */
  uint64_t bytes_received;         /* UDP payload bytes taken off the socket */
  uint64_t bytes_sent;             /* UDP payload bytes written to the socket */
  uint64_t forward_refused;        /* routed packets not from a neighbour's proven address, or larger than a packet */
  uint64_t pingwave_origins_refused;  /* new origins beyond a neighbour's allowance */
  uint64_t pingwave_relays_suppressed;/* re-broadcasts of raw pingwaves over their byte budget */
  uint64_t drop_handshake_rate_limited; /* msg1s beyond handshake_rate_per_sec, unexamined */
  uint64_t drop_session_limit;     /* handshakes refused: max_sessions confirmed sessions */
  uint64_t sessions_pruned;        /* unconfirmed sessions expired or evicted, silent ones pruned */
  uint64_t sessions_unconfirmed;   /* now: responder sessions no authenticated packet has confirmed */
  uint64_t responses_deferred;     /* retransmissions, ACKs, probe answers held back by a peer's
                                     response budget (2x what it sent + what it acknowledged) */
  uint64_t drop_over_budget;       /* data beyond max_session_buffer_bytes / max_buffer_bytes,
                                     or for a new stream refused at max_streams */
  uint64_t tx_abandoned_packets;   /* reliable packets unacknowledged when their session was
                                     replaced (the peer re-handshook) or pruned: lost */
  uint64_t tx_refused_unproven_path; /* datagrams not sent to a peer's new address beyond 3x what
                                     arrived from it, before it answered a path challenge (or
                                     after the session left that address unanswered) */
  /* NAT traversal (net-mesh 0.23's traversal stats) */
  uint64_t punches_attempted;      /* introductions acted on: keep-alives sent to a peer */
  uint64_t punches_succeeded;      /* relayed sessions moved to a direct path */
  uint64_t relay_fallbacks;        /* nm_node_connect_direct calls that ended still relayed */
  uint64_t tx_refused_by_network;  /* datagrams the local network stack refused for their
                                     destination (no route, a firewall, a family the socket
                                     cannot reach); the others still went. Since 0.3.0 */
  /* New counters are appended here. */
} nm_node_stats_t;

/* The path to one peer as its session sees it (176 bytes in 0.3.0); read with
 * nm_node_session_stats(n, peer, &st, sizeof st). Round-trip figures are 0 before the
 * first sample: a dialled session has one from its handshake; after that, samples come from
 * session acknowledgements, which netmesh peers exchange (session_acks = 1) and a net-mesh
 * 0.23 peer does not. The flight and loss counters count data datagrams. */
typedef struct nm_session_stats {
  uint64_t peer_node_id;
  uint8_t session_acks;            /* 1: the peer acknowledges datagrams (netmesh) */
  uint8_t routed;                  /* 1: reached through relays */
  uint8_t congestion_control;      /* NM_CC_*: the session's controller (cwnd_bytes is 0 without) */
  uint8_t reserved0[5];            /* zero (room for more flags) */
  uint64_t srtt_ns;                /* smoothed round-trip time (RFC 9002) */
  uint64_t rttvar_ns;              /* its mean deviation */
  uint64_t min_rtt_ns;
  uint64_t latest_rtt_ns;
  uint64_t rtt_samples;            /* the handshake's and one per acknowledgement that gave one */
  uint64_t bytes_in_flight;        /* data datagrams sent, neither acknowledged nor declared lost */
  uint64_t datagrams_in_flight;
  uint64_t datagrams_acked;
  uint64_t datagrams_lost;         /* declared lost: loss_threshold_datagrams later ones acknowledged,
                                      or loss_threshold_rtt_eighths / 8 of the RTT older */
  uint64_t probe_timeouts;         /* nothing acknowledged for a probe timeout with data in flight */
  uint64_t acks_sent;              /* session acknowledgement packets */
  uint64_t acks_received;
  /* congestion control (netmesh peers; 0 towards a 0.23 peer) */
  uint64_t cwnd_bytes;             /* congestion window: bytes the session may have in flight */
  uint64_t pacing_rate_bytes_per_sec; /* 1.25 x cwnd / srtt; with BBR its gain x bandwidth
                                      estimate (or session_rate_bytes_per_sec, if lower) */
  uint64_t max_datagram_bytes;     /* the largest datagram the session sends */
  uint64_t congestion_events;      /* window reductions (at most one per round trip), persistent
                                      congestion included; with BBR, which does not reduce for a
                                      loss, round trips that had losses */
  uint64_t spurious_retransmissions; /* datagrams declared lost that the peer acknowledged later:
                                      their loss was a false alarm, and the reliable data they
                                      carried was resent for nothing (each is in datagrams_lost).
                                      Resends by a stream's own timer are not judged here: the
                                      receiver's rx_duplicates_dropped counts every copy too many */
  /* path MTU discovery (direct sessions between netmesh peers) */
  uint64_t pmtu_probes_sent;       /* padded pings of the size being tried */
  uint64_t pmtu_probes_lost;       /* each is a "no" for its size, not congestion */
  uint64_t pmtu_black_holes;       /* fallbacks to the base size (1200 bytes, 1232 over IPv6): large datagrams stopped arriving */
  /* path migration (direct sessions between netmesh peers): the session follows its peer to a
     new address (NAT rebinding) on its newest authenticated packet, and sends there at most 3x
     what arrived from there until the peer answers a challenge at that address */
  uint64_t path_migrations;        /* moves to a new peer address */
  uint64_t path_validations;       /* new addresses that answered a challenge */
  uint64_t path_reverts;           /* challenges unanswered: back to the last validated address */
  uint64_t path_restarts;          /* new paths (a relayed session gone direct, a validated address
                                      at a new IP; not a new port on the same IP): congestion
                                      window, RTT estimate and path MTU started again (RFC 9000 §9.4) */
  /* reordering (netmesh peers): a loss that proves spurious adapts loss detection to the path */
  uint64_t congestion_events_undone; /* of congestion_events, those whose losses all proved
                                      spurious (the path reordered, nothing was lost): the window
                                      went back to what it was before */
  uint64_t loss_threshold_datagrams; /* later datagrams acknowledged before one is declared lost:
                                      3 (RFC 9002), raised by spurious losses to what the path's
                                      reordering needs (at most 256) */
  uint64_t loss_threshold_rtt_eighths; /* how much older than an acknowledged one, in eighths of
                                      the RTT, a datagram is declared lost: 9, raised by spurious
                                      losses (at most 16) */
  /* New counters are appended here. */
} nm_session_stats_t;

/* A route the node knows (32 bytes in 0.2.0): direct neighbours have metric 1 and
 * next_hop == dest. */
typedef struct nm_route {
  uint64_t dest;
  uint64_t next_hop;
  uint32_t metric;
  uint32_t reserved0;              /* zero (room for route flags) */
  uint64_t age_ns;                 /* since the route was last confirmed */
  /* New fields are appended here. */
} nm_route_t;

/* Named constants for nm_peer_event_t.kind. */
typedef enum nm_peer_event_kind {
  NM_PEER_CONNECTED = 1, /* a session was established (either role, direct or routed) and
                            confirmed: as responder, once the peer's first authenticated
                            packet arrived (SECURITY.md) */
  NM_PEER_SUSPECTED = 2, /* a neighbour missed heartbeats */
  NM_PEER_FAILED = 3,    /* ... for fail_after_ms: routes through it were dropped */
  NM_PEER_RECOVERED = 4  /* a Suspected or Failed neighbour is heard again */
} nm_peer_event_kind;

/* A change in a peer's liveness (24 bytes in 0.2.0). */
typedef struct nm_peer_event {
  uint64_t peer_node_id;
  uint32_t kind;                   /* an nm_peer_event_kind; later versions may add kinds */
  uint32_t reserved0;              /* zero (room for event flags) */
  uint64_t at_ns;                  /* CLOCK_MONOTONIC */
  /* New fields are appended here. */
} nm_peer_event_t;

/* ---- library ---- */

/* "MAJOR.MINOR.PATCH" of the library (static storage; equals NM_VERSION_* of the header
 * the library was built with). */
NM_API const char* nm_version(void);
/* A short name for status (static storage); "unknown status" for a value that is not one. */
NM_API const char* nm_strerror(int32_t status);
/* Detail of the last failing call on this thread ("" if none). The string belongs to the
 * library and stays valid until the next call fails on the same thread. */
NM_API const char* nm_last_error_message(void);

/* ---- node ---- */

/* Writes the defaults into config, sets config->struct_size = config_size and zeroes any
 * bytes beyond this library's struct. Pass sizeof *config. */
NM_API nm_status nm_node_config_init(nm_node_config_t* config, size_t config_size);
/* Creates a node: binds its UDP socket, loads or creates the identity (reading or writing
 * identity_file if set) and starts its loop thread. Blocks for that setup only (file and
 * socket calls, no network traffic). config and its strings are borrowed for the call. */
NM_API nm_status nm_node_new(const nm_node_config_t* config, nm_node_t** out_node);
/* Stops the node and frees its handle (see "Handle lifetime" above): sessions end without a
 * word to peers but the acknowledgements of what arrived and the credit of what was read
 * (so a peer's DRAIN_THEN_CLOSE completes and its credit comes back; unsent and
 * unacknowledged data of our own is dropped: close such streams with DRAIN_THEN_CLOSE
 * first), calls blocked on the node or its streams return NM_ERR_SHUTDOWN, and the event
 * fds must not be used once this returns. Blocks until the node's loop thread has exited
 * (normally well under a millisecond; never waits for the network). Memory still used by
 * calls in flight on other threads goes when the last of them returns. */
NM_API nm_status nm_node_free(nm_node_t* node);
/* The node's X25519 static public key: what initiators pass to nm_node_connect. */
NM_API nm_status nm_node_public_key(nm_node_t* node, uint8_t out_key[NM_KEY_SIZE]);
/* The node id (derived from the ed25519 identity): what peers pass as peer_node_id. */
NM_API nm_status nm_node_id(nm_node_t* node, uint64_t* out_node_id);
/* "ip:port" of the bound socket into buf (NM_ADDR_MAX bytes is always enough). */
NM_API nm_status nm_node_local_addr(nm_node_t* node, char* buf, size_t buf_len);
/* The node's counters, written through out_size = sizeof *out (see "ABI stability"). */
NM_API nm_status nm_node_stats(nm_node_t* node, nm_node_stats_t* out, size_t out_size);
/* A file descriptor that is readable while any stream of the node has unread events, and
 * once the node starts shutting down: poll it, do not close it. Owned by the node, valid
 * until nm_node_free returns. */
NM_API nm_status nm_node_event_fd(nm_node_t* node, int* out_fd);

/* Initiator: handshake with the peer at addr whose X25519 public key and node id are known
 * out of band. NM_ERR_ADDRESS at once if the node's socket cannot reach addr (another
 * family, another host from a loopback bind_addr), NM_ERR_TRANSPORT at once if the local
 * stack refuses to send there (no route). Blocks until the session is up, or up to
 * handshake_timeout_ms x handshake_retries (at least one attempt) when no answer comes; once up, waits up to
 * 250 ms more (2 x the handshake's round trip on a longer path, at most 3 s) for a netmesh
 * peer's capability hello (not with compat_0_23); a net-mesh 0.23 peer sends none. Returns
 * NM_ERR_SHUTDOWN if the node is freed meanwhile. */
NM_API nm_status nm_node_connect(nm_node_t* node, const char* addr,
                                 const uint8_t peer_public_key[NM_KEY_SIZE], uint64_t peer_node_id);
/* Initiator, routed form (wire spec §3.5): the handshake travels behind a routing header
 * to relay_addr, which forwards it towards peer_node_id over the mesh; relay_addr may be
 * the peer itself (how a started net-mesh 0.23 node accepts new peers). The session's
 * traffic follows the mesh's routes (netmesh peers; a 0.23 peer must be the relay).
 * Blocks as nm_node_connect. */
NM_API nm_status nm_node_connect_via(nm_node_t* node, const char* relay_addr,
                                     const uint8_t peer_public_key[NM_KEY_SIZE], uint64_t peer_node_id);
/* Routes known to the node: writes up to capacity entries of elem_size bytes each
 * (elem_size = sizeof *out; see "ABI stability") and sets *out_count to how many exist
 * (capacity 0 and out NULL ask for the count only). */
/* The path to the peer as its session sees it (nm_session_stats_t); NM_ERR_NOT_CONNECTED
 * without a session. Since 0.3.0. */
NM_API nm_status nm_node_session_stats(nm_node_t* node, uint64_t peer_node_id, nm_session_stats_t* out,
                                       size_t out_size);
NM_API nm_status nm_node_routes(nm_node_t* node, nm_route_t* out, size_t capacity, size_t elem_size,
                                size_t* out_count);
/* Next peer event (connected, suspected, failed, recovered), written through
 * out_size = sizeof *out. Blocks up to timeout_ms (0 = just check, -1 = forever) and
 * returns NM_ERR_TIMEOUT if none came. The queue keeps the latest 1024.
 * nm_node_peer_event_fd is readable while it is not empty. */
NM_API nm_status nm_node_next_peer_event(nm_node_t* node, nm_peer_event_t* out, size_t out_size,
                                         int timeout_ms);
/* Readable while peer events are queued. Owned by the node, as nm_node_event_fd. */
NM_API nm_status nm_node_peer_event_fd(nm_node_t* node, int* out_fd);

/* Responder: let peer_node_id handshake with this node from now on (also later
 * re-handshakes). A direct msg1 does not name its sender, so only peers allowed here, by
 * nm_node_accept, or dialled with nm_node_connect can open a session with this node. */
NM_API nm_status nm_node_allow_peer(nm_node_t* node, uint64_t peer_node_id);
/* Responder: nm_node_allow_peer, then wait up to timeout_ms (-1 = forever, 0 = just check)
 * until a session with the peer exists, plus up to 250 ms (2 x the round trip on a longer
 * path, at most 3 s) for a netmesh peer's capability hello once it does (not with
 * compat_0_23). The session may still be unconfirmed (the
 * peer's msg1 arrived, none of its packets yet; a net-mesh 0.23 initiator may stay silent
 * for a heartbeat interval): it is usable for sending, and a replayed msg1 can never make
 * one replace a confirmed session (SECURITY.md). */
NM_API nm_status nm_node_accept(nm_node_t* node, uint64_t peer_node_id, int timeout_ms);

/* ---- NAT traversal (net-mesh 0.23's reflex probe, subprotocol 0x0D00) ---- */

/* What stands between this node and its peers, from the addresses two peers reached
 * directly see our datagrams come from (net-mesh 0.23's NatClass, same numbers). */
typedef enum nm_nat_type {
  NM_NAT_UNKNOWN = 0,   /* not classified yet, or too few answers */
  NM_NAT_OPEN = 1,      /* the peers see one of this host's own addresses and our port */
  NM_NAT_CONE = 2,      /* every peer sees the same public address: one mapping for all */
  NM_NAT_SYMMETRIC = 3  /* each peer sees another address or port: a mapping per destination */
} nm_nat_type;
/* Asks peer_node_id from which "ip:port" it sees this node's datagrams come (our
 * reflexive address: what a NAT on the way made of our socket's address) into buf
 * (NM_ADDR_MAX bytes is enough). The peer must be reached directly (NM_ERR_NOT_CONNECTED
 * through relays); a net-mesh 0.23 peer answers too. The request is repeated up to 3 times
 * within timeout_ms (>= 0, else NM_ERR_INVALID_ARGUMENT); NM_ERR_TIMEOUT without an answer.
 * Since 0.3.0. */
NM_API nm_status nm_node_probe_reflex(nm_node_t* node, uint64_t peer_node_id, int timeout_ms, char* buf,
                                      size_t buf_len);
/* Probes two peers reached directly at once (as net-mesh 0.23's reclassify_nat) and
 * classifies: NM_NAT_OPEN if both see our own address, otherwise (peers on our own network
 * left out) NM_NAT_CONE if the others agree, NM_NAT_SYMMETRIC if not, NM_NAT_UNKNOWN with
 * a single one. Keeps the verdict and the last address seen (nm_node_nat_type,
 * nm_node_reflex_addr). NM_ERR_NOT_CONNECTED with fewer than two direct peers,
 * NM_ERR_TIMEOUT if neither answered (the previous verdict stands). timeout_ms as for
 * nm_node_probe_reflex. Since 0.3.0. */
NM_API nm_status nm_node_classify_nat(nm_node_t* node, int timeout_ms, int* out_nat_type);
/* The last verdict of nm_node_classify_nat (NM_NAT_UNKNOWN before one). Since 0.3.0. */
NM_API nm_status nm_node_nat_type(nm_node_t* node, int* out_nat_type);
/* The reflexive address the last classification saw, into buf ("" before one). Since 0.3.0. */
NM_API nm_status nm_node_reflex_addr(nm_node_t* node, char* buf, size_t buf_len);
/* Moves the session with peer_node_id, reached through relays (nm_node_connect_via), to a
 * direct path through the NATs on the way: coordinator_node_id, a node both reach directly
 * (a public rendezvous node; 0 = the relay the session goes through), times a hole punch (net-mesh 0.23's PunchRequest, introduce,
 * keep-alives, PunchAck), then a path challenge on the punched path moves the session itself
 * (same keys and streams: reliable data goes on exactly once and in order). NM_OK once the
 * session is direct (at once if it already was); NM_ERR_TIMEOUT if not within timeout_ms
 * (behind a symmetric NAT, say): the session stays relayed and working (relay_fallbacks).
 * The peer must be netmesh (NM_ERR_INVALID_ARGUMENT for a 0.23 peer, which would need a new
 * session). Counted in punches_attempted / punches_succeeded. Since 0.3.0. */
NM_API nm_status nm_node_connect_direct(nm_node_t* node, uint64_t peer_node_id, uint64_t coordinator_node_id,
                                        int timeout_ms);

/* ---- streams ---- */

/* Writes the defaults into config, sets config->struct_size = config_size and zeroes any
 * bytes beyond this library's struct. Pass sizeof *config. */
NM_API nm_status nm_stream_config_init(nm_stream_config_t* config, size_t config_size);
/* Opens (or returns the already open) stream stream_id to a connected peer. Local: sends
 * nothing and does not block. Idempotent: the first explicit config wins. config may be
 * NULL for defaults. The handle stays valid until nm_stream_free, also after the stream is
 * closed (sends and receives then return NM_ERR_NOT_CONNECTED, stats still work) or its
 * node freed (everything but nm_stream_free returns NM_ERR_SHUTDOWN). */
NM_API nm_status nm_node_open_stream(nm_node_t* node, uint64_t peer_node_id, uint64_t stream_id,
                                     const nm_stream_config_t* config, nm_stream_t** out_stream);
/* Closes the stream with its close behaviour. Every handle to it becomes stale
 * (NM_ERR_NOT_CONNECTED); with DRAIN_THEN_CLOSE, events already received stay readable
 * through those handles until drained. DROP_AND_CLOSE does not block, and drops what was
 * sent but has not left yet (events waiting for the session's pacer, a large event's
 * fragments still to go) as well as what is unacknowledged; DRAIN_THEN_CLOSE
 * blocks until everything sent is acknowledged, up to drain_timeout_ms (then closes anyway
 * and returns NM_ERR_TIMEOUT). NM_OK only if everything was acknowledged: if the session
 * ends first it returns NM_ERR_NOT_CONNECTED, if the node is freed NM_ERR_SHUTDOWN. */
NM_API nm_status nm_node_close_stream(nm_node_t* node, nm_stream_t* stream);
/* Frees the handle only (the stream stays open for other handles and the peer). Valid on
 * the handles of a closed stream or a freed node, and required for them too. Calls blocked
 * on this handle in another thread (a receive, a blocking send) return
 * NM_ERR_INVALID_HANDLE; what they waited for stays for the stream's other handles. */
NM_API nm_status nm_stream_free(nm_stream_t* stream);

/* Sends events in order, packed into as few packets as fit. Does not block: on
 * NM_ERR_BACKPRESSURE the first *out_sent events went out and the rest did not (out_sent
 * may be NULL). The library copies the events' bytes before returning.
 * Adaptive flush: a send within 20 us of the stream's previous packet (a burst) may leave
 * its last, partly filled packet open for the next sends; the node's own thread sends it
 * as soon as it runs. A send after a quiet moment leaves at once. Credit is charged when
 * an event is accepted either way. */
NM_API nm_status nm_stream_send(nm_stream_t* stream, const nm_event_t* events, size_t count,
                                size_t* out_sent);
/* nm_stream_send, retrying on backpressure up to max_retries times with 5 ms -> 200 ms
 * backoff (woken early when credit arrives): blocks at most the sum of the backoffs,
 * 5+10+20+40+80+160 ms then 200 ms per further retry. */
NM_API nm_status nm_stream_send_with_retry(nm_stream_t* stream, const nm_event_t* events,
                                           size_t count, uint32_t max_retries, size_t* out_sent);
/* nm_stream_send, waiting for credit as long as needed: blocks up to timeout_ms (-1 =
 * forever), then NM_ERR_TIMEOUT with *out_sent events sent. */
NM_API nm_status nm_stream_send_blocking(nm_stream_t* stream, const nm_event_t* events,
                                         size_t count, int timeout_ms, size_t* out_sent);
/* Receives one event into buf. Blocks up to timeout_ms (0 = non-blocking, -1 = forever)
 * for one to arrive, then NM_ERR_TIMEOUT. If buf is too small, returns
 * NM_ERR_BUFFER_TOO_SMALL with *out_len = the event's size and keeps it queued. */
NM_API nm_status nm_stream_recv(nm_stream_t* stream, void* buf, size_t buf_len, size_t* out_len,
                                int timeout_ms);
/* Receives up to max_events events in one call (one lock round trip, one grant decision):
 * their bytes back to back in buf, their sizes in lens[0..*out_count). Waits like
 * nm_stream_recv for the first; takes what is queued after it without waiting. The batch
 * stops before an event that does not fit; if the first does not fit,
 * NM_ERR_BUFFER_TOO_SMALL with its size in lens[0]. */
NM_API nm_status nm_stream_recv_batch(nm_stream_t* stream, void* buf, size_t buf_len, size_t* lens,
                                      size_t max_events, size_t* out_count, int timeout_ms);
/* Named constants for the `which` argument of nm_stream_event_fd. Since 0.3.0. */
typedef enum nm_stream_readiness {
  NM_STREAM_READABLE = 0, /* a receive would not wait: events are queued, or the stream is closed */
  NM_STREAM_WRITABLE = 1  /* a send would not get backpressure: there is credit for a full
                             packet and the stream has less than 1 MiB waiting for its session's
                             pacer, or the stream is closed (the send then fails at once). Once
                             1 MiB was waiting, it is writable again (and a blocking send wakes)
                             when 768 KiB is left, as a socket's writability waits for a good
                             part of its buffer; a send in between is still taken */
} nm_stream_readiness;
/* A file descriptor that is readable exactly while the stream is `which` (and, for both,
 * once the node starts shutting down): what nm_node_event_fd is for the whole node, for one
 * stream, so an event loop can wait for many streams at once without polling them. Poll it,
 * do not read or close it. Opened on the first call for the stream (one eventfd per
 * readiness; NM_ERR_INTERNAL if the process is out of descriptors); valid until this handle
 * is freed. Level-triggered: after it wakes you, call with timeout 0 (nm_stream_recv,
 * nm_stream_send) until NM_ERR_TIMEOUT or NM_ERR_BACKPRESSURE, or until it is no longer
 * readable. Since 0.3.0. */
NM_API nm_status nm_stream_event_fd(nm_stream_t* stream, uint32_t which, int* out_fd);
/* The stream's counters, written through out_size = sizeof *out (see "ABI stability");
 * also after the stream was closed (active = 0). */
NM_API nm_status nm_stream_stats(nm_stream_t* stream, nm_stream_stats_t* out, size_t out_size);
/* Stats of every open stream of the node: writes up to capacity entries of elem_size bytes
 * each (elem_size = sizeof *out) and sets *out_count to the number of streams (call with
 * capacity 0 and out NULL to size the array). */
NM_API nm_status nm_node_all_stream_stats(nm_node_t* node, nm_stream_stats_t* out, size_t capacity,
                                          size_t elem_size, size_t* out_count);
/* net-mesh's stream_id_from_key: xxh3-64 of the key bytes. Needs no node. */
NM_API nm_status nm_stream_id_from_key(const void* key, size_t len, uint64_t* out_stream_id);

#ifdef __cplusplus
}
#endif
#endif /* NETMESH_H */
