#include "wire/stream_window.h"

#include "wire/little_endian.h"

namespace nm::wire {

void encode_grant(const Grant& g, uint8_t* out) {
  put_le(out, g.stream_id);
  put_le(out + 8, g.total_consumed);
}

bool decode_grant(std::span<const uint8_t> frame, Grant& out) {
  if (frame.size() != kGrantSize) return false;
  out.stream_id = get_le<uint64_t>(frame.data());
  out.total_consumed = get_le<uint64_t>(frame.data() + 8);
  return true;
}

}  // namespace nm::wire
