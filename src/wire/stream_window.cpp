#include "wire/stream_window.h"

namespace nm::wire {

void encode_grant(const Grant& g, uint8_t* out) {
  for (size_t i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(g.stream_id >> (8 * i));
    out[8 + i] = static_cast<uint8_t>(g.total_consumed >> (8 * i));
  }
}

bool decode_grant(std::span<const uint8_t> frame, Grant& out) {
  if (frame.size() != kGrantSize) return false;
  Grant g;
  for (size_t i = 0; i < 8; ++i) {
    g.stream_id |= static_cast<uint64_t>(frame[i]) << (8 * i);
    g.total_consumed |= static_cast<uint64_t>(frame[8 + i]) << (8 * i);
  }
  out = g;
  return true;
}

}  // namespace nm::wire
