// The 72-byte EnhancedPingwave of net-mesh 0.23 (wire spec §0.1, §10): raw, unauthenticated
// topology beacon sent after each heartbeat to every direct peer and re-broadcast by them.
//
//   off size field
//     0   32 origin_id = u64le(origin node_id) || 24 zero bytes
//    32    8 seq (u64le, per origin, +1 per tick)
//    40    1 ttl (0.23 emits ProximityConfig::radius = 3)
//    41    1 hop_count
//    42    8 origin_timestamp_us (u64le, µs since the Unix epoch)
//    50    8 capability_hash (u64le)
//    58    4 capability_version (u32le)
//    62    1 load_level
//    63    1 health (0 Healthy, 1 Degraded, 2 Unhealthy, 3 Unknown; anything else: invalid)
//    64    8 gpu(1) model_slots(1) memory_tier(1) tools_bitmap(1) caps_flags(u32le)
//
// A pingwave is recognised by size alone (exactly 72 bytes, not starting 45 4E), so an
// origin whose node id has low 16 bits 0x4E45 cannot be told apart from a Net packet:
// such a pingwave encodes, but no receiver (0.23 or ours) treats it as one.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace nm::wire {

inline constexpr size_t kPingwaveSize = 72;
inline constexpr uint8_t kPingwaveDefaultTtl = 3;  // 0.23 ProximityConfig::radius

namespace pingwave_health {
inline constexpr uint8_t kHealthy = 0;
inline constexpr uint8_t kDegraded = 1;
inline constexpr uint8_t kUnhealthy = 2;
inline constexpr uint8_t kUnknown = 3;
}  // namespace pingwave_health

struct Pingwave {
  uint64_t origin_node_id = 0;
  uint64_t seq = 0;
  uint8_t ttl = 0;
  uint8_t hop_count = 0;
  uint64_t origin_timestamp_us = 0;
  uint64_t capability_hash = 0;
  uint32_t capability_version = 0;
  uint8_t load_level = 0;
  uint8_t health = pingwave_health::kHealthy;
  uint8_t gpu = 0;
  uint8_t model_slots = 0;
  uint8_t memory_tier = 0;
  uint8_t tools_bitmap = 0;
  uint32_t caps_flags = 0;

  // Writes exactly kPingwaveSize bytes to `out` (the 24 origin padding bytes are zero).
  void encode(uint8_t* out) const;

  // nullopt unless `bytes` is exactly 72 bytes, does not start 45 4E and health <= 3.
  // Like 0.23 (graph_id_to_node_id), the origin is the first 8 bytes of origin_id; the
  // other 24 bytes are not checked.
  static std::optional<Pingwave> decode(std::span<const uint8_t> bytes);

  friend bool operator==(const Pingwave&, const Pingwave&) = default;
};

// Receiver dispatch test (§0.1, §13 step 1): exactly 72 bytes and not starting 45 4E.
// Checked after the 14-byte keep-alive test and before "RT"/"EN".
bool is_pingwave(std::span<const uint8_t> datagram);

// One re-broadcast step, as 0.23's Pingwave::forward: ttl 0 => false (do not forward,
// unchanged); otherwise ttl - 1, hop_count + 1 (saturating at 255) and true.
bool forward(Pingwave& pw);

}  // namespace nm::wire
