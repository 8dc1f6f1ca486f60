// One field list per struct of the C ABI (include/netmesh.h, include/netmesh_testing.h),
// in declaration order. The lists are the one place a struct's fields are enumerated:
//
//  - static_asserts below check each list against its C struct: every field listed, in
//    order, with no byte between two fields and none after the last (so no padding hole
//    can hide), and the first versioned (0.2.0) size on a field boundary;
//  - convert.cpp copies the COPY fields between the C structs and the C++ types they map
//    to (node::NodeConfig, stream::StreamConfig, node::ImpairmentConfig,
//    node::ImpairmentCounters), in both directions for configs (the *_init defaults are the
//    C++ defaults), and sized.h validates sizes and reserved bytes from them;
//  - tests/abi/check_fields.py (CTest abi.fields_in_bindings) parses them and fails unless
//    every field is mapped by the Go, Java and C# bindings and mirrored, in order, by
//    tests/interop/netmesh_ctypes.py.
//
// Adding a field: append it to the struct in the header (never in the middle), then here,
// then wherever the build and abi.fields_in_bindings point.
//
// Roles:
//   SIZE      struct_size: the caller's sizeof, set by the *_init function
//   RESERVED  explicit padding: zero in inputs (checked), zero in outputs
//   COPY      a same-named member of the C++ type the struct maps to, copied by the list
//   CONVERT   converted by hand in convert.cpp (different name, type or meaning)
//   NODE      written by src/node itself, which fills this C struct directly
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "netmesh.h"
#include "netmesh_testing.h"

// clang-format off
#define NM_FIELDS_nm_node_config_t(X, T) \
  X(T, SIZE, struct_size)                \
  X(T, COPY, compat_0_23)                \
  X(T, COPY, pingwave_ttl)               \
  X(T, RESERVED, reserved0)              \
  X(T, CONVERT, bind_addr)               \
  X(T, CONVERT, identity_file)           \
  X(T, COPY, psk)                        \
  X(T, COPY, identity_seed)              \
  X(T, COPY, static_private_key)         \
  X(T, COPY, heartbeat_interval_ms)      \
  X(T, COPY, handshake_timeout_ms)       \
  X(T, COPY, handshake_retries)          \
  X(T, COPY, session_timeout_ms)         \
  X(T, COPY, stream_idle_timeout_ms)     \
  X(T, COPY, max_streams)                \
  X(T, CONVERT, default_window_bytes)    \
  X(T, COPY, max_event_bytes)            \
  X(T, COPY, drain_timeout_ms)           \
  X(T, COPY, suspect_after_ms)           \
  X(T, COPY, fail_after_ms)              \
  X(T, COPY, max_sessions)               \
  X(T, COPY, handshake_rate_per_sec)     \
  X(T, RESERVED, reserved1)              \
  X(T, COPY, session_rate_bytes_per_sec) \
  X(T, COPY, max_session_buffer_bytes)   \
  X(T, COPY, max_buffer_bytes)           \
  X(T, CONVERT, congestion_control)      \
  X(T, RESERVED, reserved2)              \
  X(T, COPY, auto_direct_ms)             \
  X(T, RESERVED, reserved3)

#define NM_FIELDS_nm_stream_config_t(X, T) \
  X(T, SIZE, struct_size)                  \
  X(T, CONVERT, reliability)               \
  X(T, CONVERT, close_behaviour)           \
  X(T, COPY, fairness_weight)              \
  X(T, RESERVED, reserved0)                \
  X(T, COPY, window_bytes)

#define NM_FIELDS_nm_stream_stats_t(X, T) \
  X(T, NODE, peer_node_id)                \
  X(T, NODE, stream_id)                   \
  X(T, NODE, active)                      \
  X(T, NODE, reliable)                    \
  X(T, NODE, recovering)                  \
  X(T, RESERVED, reserved0)               \
  X(T, NODE, tx_seq)                      \
  X(T, NODE, rx_seq)                      \
  X(T, NODE, inbound_pending)             \
  X(T, NODE, last_activity_ns)            \
  X(T, NODE, backpressure_events)         \
  X(T, NODE, tx_credit_remaining)         \
  X(T, NODE, tx_window)                   \
  X(T, NODE, credit_grants_received)      \
  X(T, NODE, credit_grants_sent)          \
  X(T, NODE, tx_events)                   \
  X(T, NODE, rx_events)                   \
  X(T, NODE, rx_duplicates_dropped)       \
  X(T, NODE, rx_gaps)                     \
  X(T, NODE, retransmits)                 \
  X(T, NODE, nacks_sent)                  \
  X(T, NODE, nacks_received)              \
  X(T, NODE, tx_unacked_packets)          \
  X(T, NODE, srtt_ns)                     \
  X(T, NODE, rx_buffered_bytes)           \
  X(T, NODE, rx_reorder_packets)          \
  X(T, NODE, rx_incomplete_dropped)       \
  X(T, NODE, rx_oversize_dropped)         \
  X(T, NODE, rx_restarts)

#define NM_FIELDS_nm_node_stats_t(X, T)  \
  X(T, NODE, sessions)                   \
  X(T, NODE, datagrams_received)         \
  X(T, NODE, datagrams_sent)             \
  X(T, NODE, handshakes_completed)       \
  X(T, NODE, heartbeats_sent)            \
  X(T, NODE, heartbeats_received)        \
  X(T, NODE, drop_malformed)             \
  X(T, NODE, drop_unknown_session)       \
  X(T, NODE, drop_auth_failed)           \
  X(T, NODE, drop_replay)                \
  X(T, NODE, drop_handshake_rejected)    \
  X(T, NODE, drop_unexpected_handshake)  \
  X(T, NODE, drop_unknown_subprotocol)   \
  X(T, NODE, drop_bad_grant)             \
  X(T, NODE, drop_unknown_stream)        \
  X(T, NODE, drop_bad_fragment)          \
  X(T, NODE, drop_over_window)           \
  X(T, NODE, grants_clamped)             \
  X(T, NODE, ignored_mesh_packets)       \
  X(T, NODE, pingwaves_sent)             \
  X(T, NODE, pingwaves_received)         \
  X(T, NODE, forwarded)                  \
  X(T, NODE, forward_no_route)           \
  X(T, NODE, forward_ttl_expired)        \
  X(T, NODE, bytes_received)             \
  X(T, NODE, bytes_sent)                 \
  X(T, NODE, forward_refused)            \
  X(T, NODE, pingwave_origins_refused)   \
  X(T, NODE, pingwave_relays_suppressed) \
  X(T, NODE, drop_handshake_rate_limited)\
  X(T, NODE, drop_session_limit)         \
  X(T, NODE, sessions_pruned)            \
  X(T, NODE, sessions_unconfirmed)       \
  X(T, NODE, responses_deferred)         \
  X(T, NODE, drop_over_budget)           \
  X(T, NODE, tx_abandoned_packets)       \
  X(T, NODE, tx_refused_unproven_path)   \
  X(T, NODE, punches_attempted)          \
  X(T, NODE, punches_succeeded)          \
  X(T, NODE, relay_fallbacks)            \
  X(T, NODE, tx_refused_by_network)

#define NM_FIELDS_nm_session_stats_t(X, T) \
  X(T, NODE, peer_node_id)                 \
  X(T, NODE, session_acks)                 \
  X(T, NODE, routed)                       \
  X(T, NODE, congestion_control)           \
  X(T, RESERVED, reserved0)                \
  X(T, NODE, srtt_ns)                      \
  X(T, NODE, rttvar_ns)                    \
  X(T, NODE, min_rtt_ns)                   \
  X(T, NODE, latest_rtt_ns)                \
  X(T, NODE, rtt_samples)                  \
  X(T, NODE, bytes_in_flight)              \
  X(T, NODE, datagrams_in_flight)          \
  X(T, NODE, datagrams_acked)              \
  X(T, NODE, datagrams_lost)               \
  X(T, NODE, probe_timeouts)               \
  X(T, NODE, acks_sent)                    \
  X(T, NODE, acks_received)                \
  X(T, NODE, cwnd_bytes)                   \
  X(T, NODE, pacing_rate_bytes_per_sec)    \
  X(T, NODE, max_datagram_bytes)           \
  X(T, NODE, congestion_events)            \
  X(T, NODE, spurious_retransmissions)     \
  X(T, NODE, pmtu_probes_sent)             \
  X(T, NODE, pmtu_probes_lost)             \
  X(T, NODE, pmtu_black_holes)             \
  X(T, NODE, path_migrations)              \
  X(T, NODE, path_validations)             \
  X(T, NODE, path_reverts)                 \
  X(T, NODE, path_restarts)                \
  X(T, NODE, congestion_events_undone)     \
  X(T, NODE, loss_threshold_datagrams)     \
  X(T, NODE, loss_threshold_rtt_eighths)

#define NM_FIELDS_nm_route_t(X, T) \
  X(T, NODE, dest)                 \
  X(T, NODE, next_hop)             \
  X(T, NODE, metric)               \
  X(T, RESERVED, reserved0)        \
  X(T, NODE, age_ns)

#define NM_FIELDS_nm_peer_event_t(X, T) \
  X(T, NODE, peer_node_id)              \
  X(T, NODE, kind)                      \
  X(T, RESERVED, reserved0)             \
  X(T, NODE, at_ns)

#define NM_FIELDS_nm_impairment_t(X, T) \
  X(T, SIZE, struct_size)               \
  X(T, COPY, drop_above_bytes)          \
  X(T, COPY, burst_enter)               \
  X(T, COPY, burst_exit)                \
  X(T, COPY, loss)                      \
  X(T, COPY, rate_bytes_per_sec)        \
  X(T, COPY, rate_queue_limit_us)       \
  X(T, COPY, delay_us)                  \
  X(T, COPY, jitter_us)                 \
  X(T, COPY, reorder_window_us)         \
  X(T, COPY, reorder)                   \
  X(T, COPY, duplicate)                 \
  X(T, COPY, corrupt)                   \
  X(T, COPY, seed)                      \
  X(T, COPY, drop_below_bytes)          \
  X(T, RESERVED, reserved0)

#define NM_FIELDS_nm_impairment_stats_t(X, T) \
  X(T, COPY, seen)                            \
  X(T, COPY, dropped_loss)                    \
  X(T, COPY, dropped_burst)                   \
  X(T, COPY, dropped_rate)                    \
  X(T, COPY, dropped_oversize)                \
  X(T, COPY, duplicated)                      \
  X(T, COPY, reordered)                       \
  X(T, COPY, delayed)                         \
  X(T, COPY, corrupted)                       \
  X(T, COPY, dropped_undersize)
// clang-format on

namespace nm::capi {

enum class Role { SIZE, RESERVED, COPY, CONVERT, NODE };

struct FieldSpan {
  size_t offset;
  size_t size;
  Role role;
};

// Fields<T>: the list of struct T as data. kFirstSize is T's size in the first versioned
// layout (0.2.0, LP64): callers may pass no less. It never changes once released; when T
// grows, sizeof(T) does and callers between the two are accepted on field boundaries.
template <class T>
struct Fields;

#define NM_FIELD_SPAN(T, role, name) FieldSpan{offsetof(T, name), sizeof(T::name), Role::role},
#define NM_DECLARE_FIELDS(T, first_size)                                   \
  template <>                                                              \
  struct Fields<T> {                                                       \
    static constexpr const char* kName = #T;                               \
    static constexpr FieldSpan kSpans[] = {NM_FIELDS_##T(NM_FIELD_SPAN, T)}; \
    static constexpr size_t kFirstSize = first_size;                       \
  }

// Every field in order, back to back, and nothing after the last one.
template <class T>
constexpr bool laid_out_as_listed() {
  size_t end = 0;
  for (const FieldSpan& f : Fields<T>::kSpans) {
    if (f.offset != end) return false;
    end += f.size;
  }
  return end == sizeof(T);
}

// A size some version of T had: ours, or (older callers) the end of a field, from the
// first versioned layout on. Larger sizes are newer callers'.
template <class T>
constexpr bool is_version_size(size_t size) {
  if (size >= sizeof(T)) return true;
  if (size < Fields<T>::kFirstSize) return false;
  for (const FieldSpan& f : Fields<T>::kSpans)
    if (f.offset + f.size == size) return true;
  return false;
}

template <class T>
constexpr bool has_size_field() {
  return Fields<T>::kSpans[0].role == Role::SIZE && Fields<T>::kSpans[0].offset == 0 &&
         Fields<T>::kSpans[0].size == sizeof(uint32_t);
}

#define NM_CHECK_FIELDS(T)                                                                      \
  static_assert(std::is_standard_layout_v<T> && std::is_trivially_copyable_v<T>);               \
  static_assert(laid_out_as_listed<T>(),                                                        \
                #T " and NM_FIELDS_" #T " disagree: a field missing from the list or out of "   \
                   "order, or a padding hole (make it a reserved field)");                      \
  static_assert(Fields<T>::kFirstSize <= sizeof(T) && is_version_size<T>(Fields<T>::kFirstSize), \
                #T ": the first versioned size must end on a field")

// The 0.2.0 sizes are LP64's; other ABIs have their own first sizes (never released yet).
#if UINTPTR_MAX == UINT64_MAX
inline constexpr size_t kNodeConfigFirstSize = 200;
#else
inline constexpr size_t kNodeConfigFirstSize = sizeof(nm_node_config_t);
#endif

NM_DECLARE_FIELDS(nm_node_config_t, kNodeConfigFirstSize);
NM_DECLARE_FIELDS(nm_stream_config_t, 12);
NM_DECLARE_FIELDS(nm_stream_stats_t, 208);
NM_DECLARE_FIELDS(nm_node_stats_t, 288);
NM_DECLARE_FIELDS(nm_session_stats_t, 176);
NM_DECLARE_FIELDS(nm_route_t, 32);
NM_DECLARE_FIELDS(nm_peer_event_t, 24);
NM_DECLARE_FIELDS(nm_impairment_t, 88);
NM_DECLARE_FIELDS(nm_impairment_stats_t, 72);

NM_CHECK_FIELDS(nm_node_config_t);
NM_CHECK_FIELDS(nm_stream_config_t);
NM_CHECK_FIELDS(nm_stream_stats_t);
NM_CHECK_FIELDS(nm_node_stats_t);
NM_CHECK_FIELDS(nm_session_stats_t);
NM_CHECK_FIELDS(nm_route_t);
NM_CHECK_FIELDS(nm_peer_event_t);
NM_CHECK_FIELDS(nm_impairment_t);
NM_CHECK_FIELDS(nm_impairment_stats_t);

// Configs carry their size first.
static_assert(has_size_field<nm_node_config_t>() && has_size_field<nm_stream_config_t>() &&
              has_size_field<nm_impairment_t>());

}  // namespace nm::capi
