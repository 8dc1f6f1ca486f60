#include "wire/ack_frame.h"

#include "wire/little_endian.h"

namespace nm::wire {

size_t ack_frame_size(const AckFrame& f) { return kAckFrameHeader + f.ranges.size() * kAckRangeSize; }

size_t encode_ack_frame(const AckFrame& f, uint8_t* out) {
  uint8_t* w = out;
  put_le<uint64_t>(w, f.ranges.empty() ? 0 : f.ranges[0].last);
  put_le<uint32_t>(w + 8, f.ack_delay_us);
  put_le<uint16_t>(w + 12, static_cast<uint16_t>(f.ranges.size()));
  w += kAckFrameHeader;
  uint64_t below = f.ranges.empty() ? 0 : f.ranges[0].last + 1;  // one above the first range
  for (const AckRange& r : f.ranges) {
    put_le<uint64_t>(w, below - 1 - r.last);  // 0 for the first range
    put_le<uint64_t>(w + 8, r.last - r.first + 1);
    w += kAckRangeSize;
    below = r.first;
  }
  return static_cast<size_t>(w - out);
}

std::optional<AckFrame> decode_ack_frame(std::span<const uint8_t> body) {
  if (body.size() < kAckFrameHeader) return std::nullopt;
  uint64_t largest = get_le<uint64_t>(body.data());
  AckFrame f;
  f.ack_delay_us = get_le<uint32_t>(body.data() + 8);
  uint16_t count = get_le<uint16_t>(body.data() + 12);
  if (count == 0 || count > kMaxAckRanges || body.size() != kAckFrameHeader + count * kAckRangeSize)
    return std::nullopt;
  uint64_t top = largest;  // the highest number the next range may reach
  for (uint16_t i = 0; i < count; ++i) {
    const uint8_t* r = body.data() + kAckFrameHeader + i * kAckRangeSize;
    uint64_t gap = get_le<uint64_t>(r), length = get_le<uint64_t>(r + 8);
    if (length == 0 || (i == 0 && gap != 0) || (i > 0 && gap == 0)) return std::nullopt;
    if (gap > top) return std::nullopt;
    uint64_t last = top - gap;
    if (length - 1 > last) return std::nullopt;  // would go below 0
    uint64_t first = last - (length - 1);
    f.ranges.push_back({first, last});
    if (first == 0 && i + 1 < count) return std::nullopt;
    top = first - 1;
  }
  return f;
}

}  // namespace nm::wire
