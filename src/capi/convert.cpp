#include "capi/convert.h"

#include <array>
#include <cstring>
#include <string>
#include <type_traits>

#include "capi/struct_fields.h"
#include "wire/address.h"
#include "node/status.h"
#include "wire/header.h"

namespace nm::capi {

namespace {

using node::fail;

constexpr const char* kDefaultBindAddr = "127.0.0.1:0";
constexpr uint32_t kMaxFragmentedEvent = 65535u * NM_MAX_EVENT_SIZE;  // fragment index is a u16

static_assert(wire::kMaxPacketCredit == NM_MIN_WINDOW_BYTES);
static_assert(static_cast<int>(session::CongestionAlgorithm::kCubic) == NM_CC_CUBIC &&
              static_cast<int>(session::CongestionAlgorithm::kNewReno) == NM_CC_NEW_RENO &&
              static_cast<int>(session::CongestionAlgorithm::kBbr) == NM_CC_BBR);

// One COPY field: same type on both sides, but for flags (uint8_t in C, bool in C++) and
// keys (uint8_t[N] in C, std::array in C++). Anything else is a compile error: a field
// whose type differs is CONVERT, not COPY.
template <class D, class S>
void assign(D& d, const S& s) {
  if constexpr (std::is_same_v<D, S>) {
    d = s;
  } else if constexpr (std::is_same_v<D, bool> && std::is_same_v<S, uint8_t>) {
    d = s != 0;
  } else if constexpr (std::is_same_v<D, uint8_t> && std::is_same_v<S, bool>) {
    d = s ? 1 : 0;
  } else {
    static_assert(sizeof(D) == 0, "a COPY field needs the same type on both sides");
  }
}
template <size_t N>
void assign(std::array<uint8_t, N>& d, const uint8_t (&s)[N]) {
  std::memcpy(d.data(), s, N);
}
template <size_t N>
void assign(uint8_t (&d)[N], const std::array<uint8_t, N>& s) {
  std::memcpy(d, s.data(), N);
}

// X-macro bodies: COPY fields copied from `from` to `to`; other roles skipped.
#define NM_COPY_FIELD_SIZE(name)
#define NM_COPY_FIELD_RESERVED(name)
#define NM_COPY_FIELD_CONVERT(name)
#define NM_COPY_FIELD_NODE(name)
#define NM_COPY_FIELD_COPY(name) assign(to.name, from.name);
#define NM_COPY_FIELD(T, role, name) NM_COPY_FIELD_##role(name)

template <class From, class To>
void copy_fields(const From& from, To& to);

#define NM_DEFINE_COPY(C, Cpp)                                                         \
  template <>                                                                          \
  [[maybe_unused]] void copy_fields(const C& from, Cpp& to) { NM_FIELDS_##C(NM_COPY_FIELD, C) } \
  template <>                                                                          \
  [[maybe_unused]] void copy_fields(const Cpp& from, C& to) { NM_FIELDS_##C(NM_COPY_FIELD, C) }

NM_DEFINE_COPY(nm_node_config_t, node::NodeConfig)
NM_DEFINE_COPY(nm_stream_config_t, stream::StreamConfig)
NM_DEFINE_COPY(nm_impairment_t, node::ImpairmentConfig)
NM_DEFINE_COPY(nm_impairment_stats_t, node::ImpairmentCounters)

template <class C>
C zeroed() {
  C c;
  std::memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  return c;
}

nm_node_config_t make_default_node_config() {
  const node::NodeConfig cpp;
  nm_node_config_t c = zeroed<nm_node_config_t>();
  copy_fields(cpp, c);
  // CONVERT fields
  c.bind_addr = kDefaultBindAddr;
  c.identity_file = nullptr;
  c.default_window_bytes = cpp.inbound_stream.window_bytes;
  c.congestion_control = static_cast<uint32_t>(cpp.congestion_control);
  return c;
}

nm_stream_config_t make_default_stream_config() {
  const stream::StreamConfig cpp;
  nm_stream_config_t c = zeroed<nm_stream_config_t>();
  copy_fields(cpp, c);
  // CONVERT fields
  c.reliability = cpp.reliable ? NM_RELIABLE : NM_FIRE_AND_FORGET;
  c.close_behaviour =
      cpp.close == stream::CloseBehaviour::kDropAndClose ? NM_DROP_AND_CLOSE : NM_DRAIN_THEN_CLOSE;
  return c;
}

nm_impairment_t make_default_impairment() {
  nm_impairment_t c = zeroed<nm_impairment_t>();
  copy_fields(node::ImpairmentConfig{}, c);
  return c;
}

}  // namespace

const nm_node_config_t& default_node_config() {
  static const nm_node_config_t c = make_default_node_config();
  return c;
}

const nm_stream_config_t& default_stream_config() {
  static const nm_stream_config_t c = make_default_stream_config();
  return c;
}

const nm_impairment_t& default_impairment() {
  static const nm_impairment_t c = make_default_impairment();
  return c;
}

nm_status to_node_config(const nm_node_config_t& c, node::NodeConfig& cfg) {
  std::string bind = c.bind_addr ? c.bind_addr : kDefaultBindAddr;  // CONVERT fields first
  if (!wire::parse_address(bind, cfg.bind_addr))
    return fail(NM_ERR_ADDRESS, "cannot parse bind_addr '" + bind + "'");
  cfg.identity_file = c.identity_file ? c.identity_file : "";
  cfg.inbound_stream.window_bytes = c.default_window_bytes;
  if (c.congestion_control > NM_CC_BBR)
    return fail(NM_ERR_INVALID_ARGUMENT, "congestion_control must be NM_CC_CUBIC, NM_CC_NEW_RENO or NM_CC_BBR");
  cfg.congestion_control = static_cast<session::CongestionAlgorithm>(c.congestion_control);
  if (c.heartbeat_interval_ms == 0 || c.handshake_timeout_ms == 0 || c.session_timeout_ms == 0)
    return fail(NM_ERR_INVALID_ARGUMENT,
                "heartbeat_interval_ms, handshake_timeout_ms and session_timeout_ms must be > 0");
  // 0 would refuse every event but the empty one.
  if (c.max_event_bytes == 0) return fail(NM_ERR_INVALID_ARGUMENT, "max_event_bytes must be > 0");
  // Each try costs the relay two introductions and both peers a punch.
  if (c.auto_direct_ms != 0 && c.auto_direct_ms < 1000)
    return fail(NM_ERR_INVALID_ARGUMENT, "auto_direct_ms must be 0 (off) or >= 1000");
  if (c.default_window_bytes != 0 && c.default_window_bytes < NM_MIN_WINDOW_BYTES)
    return fail(NM_ERR_INVALID_ARGUMENT,
                "default_window_bytes must be 0 or >= " + std::to_string(NM_MIN_WINDOW_BYTES));
  if (c.max_event_bytes > kMaxFragmentedEvent)
    return fail(NM_ERR_INVALID_ARGUMENT, "max_event_bytes above " + std::to_string(kMaxFragmentedEvent));
  if (c.suspect_after_ms == 0 || c.fail_after_ms < c.suspect_after_ms)
    return fail(NM_ERR_INVALID_ARGUMENT, "need 0 < suspect_after_ms <= fail_after_ms");
  // A session must hold one largest event (its reservation) and still take packets.
  uint64_t session_floor = uint64_t{c.max_event_bytes} + 2 * wire::kMaxPacketCredit;
  if (c.max_session_buffer_bytes < session_floor)
    return fail(NM_ERR_INVALID_ARGUMENT,
                "max_session_buffer_bytes must be at least max_event_bytes + 2 full packets (" +
                    std::to_string(session_floor) + ")");
  if (c.max_buffer_bytes < c.max_session_buffer_bytes)
    return fail(NM_ERR_INVALID_ARGUMENT, "max_buffer_bytes must be at least max_session_buffer_bytes");
  copy_fields(c, cfg);
  return NM_OK;
}

nm_status to_stream_config(const nm_stream_config_t& c, stream::StreamConfig& s) {
  if (c.reliability != NM_FIRE_AND_FORGET && c.reliability != NM_RELIABLE)
    return fail(NM_ERR_INVALID_ARGUMENT, "reliability must be NM_FIRE_AND_FORGET or NM_RELIABLE");
  if (c.close_behaviour != NM_DRAIN_THEN_CLOSE && c.close_behaviour != NM_DROP_AND_CLOSE)
    return fail(NM_ERR_INVALID_ARGUMENT, "close_behaviour must be DRAIN_THEN_CLOSE or DROP_AND_CLOSE");
  if (c.window_bytes != 0 && c.window_bytes < NM_MIN_WINDOW_BYTES)
    return fail(NM_ERR_INVALID_ARGUMENT, "window_bytes must be 0 or at least one full packet (" +
                                             std::to_string(NM_MIN_WINDOW_BYTES) + ")");
  copy_fields(c, s);
  if (s.fairness_weight == 0) s.fairness_weight = 1;  // net-mesh clamps 0 to 1
  // CONVERT fields
  s.reliable = c.reliability == NM_RELIABLE;
  s.close = c.close_behaviour == NM_DROP_AND_CLOSE ? stream::CloseBehaviour::kDropAndClose
                                                   : stream::CloseBehaviour::kDrainThenClose;
  return NM_OK;
}

nm_status to_impairment(const nm_impairment_t& c, node::ImpairmentConfig& out) {
  for (double p : {c.loss, c.burst_enter, c.burst_exit, c.duplicate, c.reorder, c.corrupt})
    if (!(p >= 0.0 && p <= 1.0)) return fail(NM_ERR_INVALID_ARGUMENT, "probabilities must be in [0, 1]");
  copy_fields(c, out);
  return NM_OK;
}

nm_impairment_stats_t to_impairment_stats(const node::ImpairmentCounters& counters) {
  nm_impairment_stats_t s;
  std::memset(&s, 0, sizeof s);
  copy_fields(counters, s);
  return s;
}

}  // namespace nm::capi
