/*
 * FROZEN: the struct layouts of netmesh 0.2.0 (the first versioned ABI), copied from
 * include/netmesh.h and include/netmesh_testing.h of that release. Never edit this file:
 * it is what a program built against the 0.2.0 headers has compiled in. tests/abi/README.md
 * says what to do when a struct grows.
 *
 * NM_V0_2(name) names the types: the real names for abi_v0_2_test.c (an "old program"),
 * prefixed names for layout_check.c, which compares them with the current headers. Each
 * struct comes with its frozen field list, NM_V0_2_FIELDS_<struct>(X).
 */
#ifndef NETMESH_ABI_V0_2_STRUCTS_H
#define NETMESH_ABI_V0_2_STRUCTS_H

#include <stddef.h>
#include <stdint.h>

#ifndef NM_V0_2
#define NM_V0_2(name) name
#endif

typedef struct NM_V0_2(nm_node_config) {
  uint32_t struct_size;
  uint8_t compat_0_23;
  uint8_t pingwave_ttl;
  uint8_t reserved0[2];
  const char* bind_addr;
  const char* identity_file;
  uint8_t psk[32];
  uint8_t identity_seed[32];
  uint8_t static_private_key[32];
  uint32_t heartbeat_interval_ms;
  uint32_t handshake_timeout_ms;
  uint32_t handshake_retries;
  uint32_t session_timeout_ms;
  uint32_t stream_idle_timeout_ms;
  uint32_t max_streams;
  uint32_t default_window_bytes;
  uint32_t max_event_bytes;
  uint32_t drain_timeout_ms;
  uint32_t suspect_after_ms;
  uint32_t fail_after_ms;
  uint32_t max_sessions;
  uint32_t handshake_rate_per_sec;
  uint32_t reserved1;
  uint64_t session_rate_bytes_per_sec;
  uint64_t max_session_buffer_bytes;
  uint64_t max_buffer_bytes;
} NM_V0_2(nm_node_config_t);
#define NM_V0_2_FIELDS_nm_node_config_t(X)                                                 \
  X(struct_size) X(compat_0_23) X(pingwave_ttl) X(reserved0) X(bind_addr) X(identity_file) \
  X(psk) X(identity_seed) X(static_private_key) X(heartbeat_interval_ms)                   \
  X(handshake_timeout_ms) X(handshake_retries) X(session_timeout_ms)                       \
  X(stream_idle_timeout_ms) X(max_streams) X(default_window_bytes) X(max_event_bytes)      \
  X(drain_timeout_ms) X(suspect_after_ms) X(fail_after_ms) X(max_sessions)                 \
  X(handshake_rate_per_sec) X(reserved1) X(session_rate_bytes_per_sec)                     \
  X(max_session_buffer_bytes) X(max_buffer_bytes)

typedef struct NM_V0_2(nm_stream_config) {
  uint32_t struct_size;
  uint8_t reliability;
  uint8_t close_behaviour;
  uint8_t fairness_weight;
  uint8_t reserved0;
  uint32_t window_bytes;
} NM_V0_2(nm_stream_config_t);
#define NM_V0_2_FIELDS_nm_stream_config_t(X) \
  X(struct_size) X(reliability) X(close_behaviour) X(fairness_weight) X(reserved0) X(window_bytes)

typedef struct NM_V0_2(nm_stream_stats) {
  uint64_t peer_node_id;
  uint64_t stream_id;
  uint8_t active;
  uint8_t reliable;
  uint8_t recovering;
  uint8_t reserved0[5];
  uint64_t tx_seq;
  uint64_t rx_seq;
  uint64_t inbound_pending;
  uint64_t last_activity_ns;
  uint64_t backpressure_events;
  uint64_t tx_credit_remaining;
  uint64_t tx_window;
  uint64_t credit_grants_received;
  uint64_t credit_grants_sent;
  uint64_t tx_events;
  uint64_t rx_events;
  uint64_t rx_duplicates_dropped;
  uint64_t rx_gaps;
  uint64_t retransmits;
  uint64_t nacks_sent;
  uint64_t nacks_received;
  uint64_t tx_unacked_packets;
  uint64_t srtt_ns;
  uint64_t rx_buffered_bytes;
  uint64_t rx_reorder_packets;
  uint64_t rx_incomplete_dropped;
  uint64_t rx_oversize_dropped;
  uint64_t rx_restarts;
} NM_V0_2(nm_stream_stats_t);
#define NM_V0_2_FIELDS_nm_stream_stats_t(X)                                                    \
  X(peer_node_id) X(stream_id) X(active) X(reliable) X(recovering) X(reserved0) X(tx_seq)      \
  X(rx_seq) X(inbound_pending) X(last_activity_ns) X(backpressure_events)                      \
  X(tx_credit_remaining) X(tx_window) X(credit_grants_received) X(credit_grants_sent)          \
  X(tx_events) X(rx_events) X(rx_duplicates_dropped) X(rx_gaps) X(retransmits) X(nacks_sent)   \
  X(nacks_received) X(tx_unacked_packets) X(srtt_ns) X(rx_buffered_bytes) X(rx_reorder_packets) \
  X(rx_incomplete_dropped) X(rx_oversize_dropped) X(rx_restarts)

typedef struct NM_V0_2(nm_node_stats) {
  uint64_t sessions;
  uint64_t datagrams_received;
  uint64_t datagrams_sent;
  uint64_t handshakes_completed;
  uint64_t heartbeats_sent;
  uint64_t heartbeats_received;
  uint64_t drop_malformed;
  uint64_t drop_unknown_session;
  uint64_t drop_auth_failed;
  uint64_t drop_replay;
  uint64_t drop_handshake_rejected;
  uint64_t drop_unexpected_handshake;
  uint64_t drop_unknown_subprotocol;
  uint64_t drop_bad_grant;
  uint64_t drop_unknown_stream;
  uint64_t drop_bad_fragment;
  uint64_t drop_over_window;
  uint64_t grants_clamped;
  uint64_t ignored_mesh_packets;
  uint64_t pingwaves_sent;
  uint64_t pingwaves_received;
  uint64_t forwarded;
  uint64_t forward_no_route;
  uint64_t forward_ttl_expired;
  uint64_t bytes_received;
  uint64_t bytes_sent;
  uint64_t forward_refused;
  uint64_t pingwave_origins_refused;
  uint64_t pingwave_relays_suppressed;
  uint64_t drop_handshake_rate_limited;
  uint64_t drop_session_limit;
  uint64_t sessions_pruned;
  uint64_t sessions_unconfirmed;
  uint64_t responses_deferred;
  uint64_t drop_over_budget;
  uint64_t tx_abandoned_packets;
} NM_V0_2(nm_node_stats_t);
#define NM_V0_2_FIELDS_nm_node_stats_t(X)                                                       \
  X(sessions) X(datagrams_received) X(datagrams_sent) X(handshakes_completed) X(heartbeats_sent) \
  X(heartbeats_received) X(drop_malformed) X(drop_unknown_session) X(drop_auth_failed)          \
  X(drop_replay) X(drop_handshake_rejected) X(drop_unexpected_handshake)                        \
  X(drop_unknown_subprotocol) X(drop_bad_grant) X(drop_unknown_stream) X(drop_bad_fragment)      \
  X(drop_over_window) X(grants_clamped) X(ignored_mesh_packets) X(pingwaves_sent)               \
  X(pingwaves_received) X(forwarded) X(forward_no_route) X(forward_ttl_expired)                 \
  X(bytes_received) X(bytes_sent) X(forward_refused) X(pingwave_origins_refused)                \
  X(pingwave_relays_suppressed) X(drop_handshake_rate_limited) X(drop_session_limit)            \
  X(sessions_pruned) X(sessions_unconfirmed) X(responses_deferred) X(drop_over_budget)          \
  X(tx_abandoned_packets)

typedef struct NM_V0_2(nm_route) {
  uint64_t dest;
  uint64_t next_hop;
  uint32_t metric;
  uint32_t reserved0;
  uint64_t age_ns;
} NM_V0_2(nm_route_t);
#define NM_V0_2_FIELDS_nm_route_t(X) X(dest) X(next_hop) X(metric) X(reserved0) X(age_ns)

typedef struct NM_V0_2(nm_peer_event) {
  uint64_t peer_node_id;
  uint32_t kind;
  uint32_t reserved0;
  uint64_t at_ns;
} NM_V0_2(nm_peer_event_t);
#define NM_V0_2_FIELDS_nm_peer_event_t(X) X(peer_node_id) X(kind) X(reserved0) X(at_ns)

typedef struct NM_V0_2(nm_impairment) {
  uint32_t struct_size;
  uint32_t drop_above_bytes;
  double burst_enter;
  double burst_exit;
  double loss;
  uint64_t rate_bytes_per_sec;
  uint32_t rate_queue_limit_us;
  uint32_t delay_us;
  uint32_t jitter_us;
  uint32_t reorder_window_us;
  double reorder;
  double duplicate;
  double corrupt;
  uint64_t seed;
} NM_V0_2(nm_impairment_t);
#define NM_V0_2_FIELDS_nm_impairment_t(X)                                                    \
  X(struct_size) X(drop_above_bytes) X(burst_enter) X(burst_exit) X(loss) X(rate_bytes_per_sec) \
  X(rate_queue_limit_us) X(delay_us) X(jitter_us) X(reorder_window_us) X(reorder) X(duplicate) \
  X(corrupt) X(seed)

typedef struct NM_V0_2(nm_impairment_stats) {
  uint64_t seen;
  uint64_t dropped_loss;
  uint64_t dropped_burst;
  uint64_t dropped_rate;
  uint64_t dropped_oversize;
  uint64_t duplicated;
  uint64_t reordered;
  uint64_t delayed;
  uint64_t corrupted;
} NM_V0_2(nm_impairment_stats_t);
#define NM_V0_2_FIELDS_nm_impairment_stats_t(X)                                               \
  X(seen) X(dropped_loss) X(dropped_burst) X(dropped_rate) X(dropped_oversize) X(duplicated) \
  X(reordered) X(delayed) X(corrupted)

/* nm_event_t is frozen for good and not versioned. */
typedef struct NM_V0_2(nm_event) {
  const void* data;
  size_t len;
} NM_V0_2(nm_event_t);

#endif /* NETMESH_ABI_V0_2_STRUCTS_H */
