// StreamWindow credit grant: one 16-byte frame u64le stream_id || u64le total_consumed,
// carried on stream u64::MAX with subprotocol 0x0B00 (wire spec §9).
#pragma once
#include <cstdint>
#include <span>

namespace nm::wire {

inline constexpr size_t kGrantSize = 16;
// Grants one StreamWindow packet can carry (each in a u32-length frame). netmesh batches
// answers to credit probes; to a 0.23 peer it sends one grant per packet, as 0.23 does.
inline constexpr size_t kMaxGrantsPerPacket = 8108 / (4 + kGrantSize);

struct Grant {
  uint64_t stream_id = 0;
  uint64_t total_consumed = 0;
};

void encode_grant(const Grant& g, uint8_t* out);
// Exactly 16 bytes, like 0.23's StreamWindow::decode (15 or 17 are rejected).
bool decode_grant(std::span<const uint8_t> frame, Grant& out);

}  // namespace nm::wire
