#include "wire/frames.h"

#include <cstring>

namespace nm::wire {

uint8_t* write_frame(uint8_t* out, std::span<const uint8_t> event) {
  const auto len = static_cast<uint32_t>(event.size());
  for (int i = 0; i < 4; ++i) *out++ = static_cast<uint8_t>(len >> (8 * i));
  if (!event.empty()) std::memcpy(out, event.data(), event.size());
  return out + event.size();
}

void append_frame(std::vector<uint8_t>& payload, std::span<const uint8_t> event) {
  size_t at = payload.size();
  payload.resize(at + kFrameOverhead + event.size());
  write_frame(payload.data() + at, event);
}

std::vector<std::span<const uint8_t>> read_frames(std::span<const uint8_t> payload,
                                                  uint16_t event_count) {
  std::vector<std::span<const uint8_t>> events;
  size_t pos = 0;
  while (events.size() < event_count && payload.size() - pos >= kFrameOverhead) {
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= static_cast<uint32_t>(payload[pos + i]) << (8 * i);
    pos += kFrameOverhead;
    if (payload.size() - pos < len) break;  // truncated frame: 0.23 stops silently
    events.push_back(payload.subspan(pos, len));
    pos += len;
  }
  return events;
}

bool frames_exact(std::span<const uint8_t> payload, uint16_t event_count) {
  size_t pos = 0;
  for (uint16_t i = 0; i < event_count; ++i) {
    if (payload.size() - pos < kFrameOverhead) return false;
    uint32_t len = 0;
    for (int b = 0; b < 4; ++b) len |= static_cast<uint32_t>(payload[pos + b]) << (8 * b);
    pos += kFrameOverhead;
    if (payload.size() - pos < len) return false;
    pos += len;
  }
  return pos == payload.size();
}

size_t pack_until(std::span<const std::span<const uint8_t>> events, size_t first,
                  size_t max_payload, size_t max_events, size_t* payload_bytes) {
  size_t end = first;
  size_t bytes = 0;
  while (end < events.size()) {
    const size_t cost = kFrameOverhead + events[end].size();
    const bool fits = bytes + cost <= max_payload && end - first < max_events;
    // An oversized first event still goes out alone, as in 0.23 (callers reject those earlier).
    if (!fits && end > first) break;
    bytes += cost;
    ++end;
  }
  if (payload_bytes) *payload_bytes = bytes;
  return end;
}

}  // namespace nm::wire
