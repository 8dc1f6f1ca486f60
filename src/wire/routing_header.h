// The 18-byte routing header that prefixes a routed Net packet (wire spec §0.1, §3.5, §12).
//
//   off size field
//     0    2 magic 0x5452 LE (wire bytes 52 54, "RT")
//     2    1 ttl        (16 for handshakes, 8 for routed data)
//     3    1 hop_count  (each forwarder +1, saturating)
//     4    1 flags      (low nibble only; 0.23 masks the high nibble off; MeshNode sends 0)
//     5    1 reserved   (written 0, ignored on receipt)
//     6    4 src_id     u32le = lo32(sender node_id)
//    10    8 dest_id    u64le = full destination node_id
//
// Not authenticated: every field is a claim by whoever sent the datagram.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "wire/header.h"

namespace nm::wire {

inline constexpr size_t kRoutingHeaderSize = 18;
inline constexpr uint16_t kRoutingMagic = 0x5452;  // wire bytes "RT"
inline constexpr uint8_t kDefaultHandshakeTtl = 16;
inline constexpr uint8_t kDefaultDataTtl = 8;
inline constexpr uint8_t kMaxHops = 16;  // MAX_HOPS: also the pingwave install cap (§10)
// A routed datagram must carry at least a full Net header after the routing header (§13).
inline constexpr size_t kMinRoutedDatagramSize = kRoutingHeaderSize + kHeaderSize;  // 86

namespace routing_flags {
inline constexpr uint8_t kControl = 0x01;
inline constexpr uint8_t kRequiresAck = 0x02;
inline constexpr uint8_t kPriority = 0x04;
inline constexpr uint8_t kEndOfStream = 0x08;
inline constexpr uint8_t kKnownMask = 0x0F;
}  // namespace routing_flags

struct RoutingHeader {
  uint8_t ttl = 0;
  uint8_t hop_count = 0;
  uint8_t flags = 0;
  uint32_t src_id = 0;   // lo32 of the sender's node id
  uint64_t dest_id = 0;  // full destination node id

  // Writes exactly kRoutingHeaderSize bytes to `out` (magic, reserved byte 0; the flags
  // high nibble is masked off so what is written always decodes to the same value).
  void encode(uint8_t* out) const;

  // Parses the first 18 bytes of `bytes`: nullopt if fewer than 18 bytes or the magic is
  // not 52 54. Flags high nibble masked off, reserved byte ignored (as 0.23).
  static std::optional<RoutingHeader> decode(std::span<const uint8_t> bytes);

  friend bool operator==(const RoutingHeader&, const RoutingHeader&) = default;
};

// One forwarding step: ttl 0 => false (drop, header unchanged); otherwise ttl - 1,
// hop_count + 1 (saturating at 255) and true.
bool forward(RoutingHeader& h);

// The 32-bit "routing id" of a node (§1): lo32(node_id), what src_id carries.
inline constexpr uint32_t routing_id(uint64_t node_id) { return static_cast<uint32_t>(node_id); }

// Dispatch test of §13 step 1: length >= 86 and starts with 52 54. (The 72-byte pingwave
// and 14-byte keep-alive checks come first in the receiver; see is_pingwave.)
bool is_routed_datagram(std::span<const uint8_t> datagram);

}  // namespace nm::wire
