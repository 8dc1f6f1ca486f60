#include "wire/frames.h"

#include <cstring>

#include "wire/little_endian.h"

namespace nm::wire {

uint8_t* write_frame(uint8_t* out, std::span<const uint8_t> event) {
  put_le(out, static_cast<uint32_t>(event.size()));
  out += kFrameOverhead;
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
  read_frames(payload, event_count, events);
  return events;
}

void read_frames(std::span<const uint8_t> payload, uint16_t event_count,
                 std::vector<std::span<const uint8_t>>& events) {
  events.clear();
  size_t pos = 0;
  while (events.size() < event_count && payload.size() - pos >= kFrameOverhead) {
    uint32_t len = get_le<uint32_t>(payload.data() + pos);
    pos += kFrameOverhead;
    if (payload.size() - pos < len) break;  // truncated frame: 0.23 stops silently
    events.push_back(payload.subspan(pos, len));
    pos += len;
  }
}

bool frames_exact(std::span<const uint8_t> payload, std::span<const std::span<const uint8_t>> frames,
                  uint16_t event_count) {
  if (frames.size() != event_count) return false;
  size_t used = 0;
  for (auto f : frames) used += kFrameOverhead + f.size();
  return used == payload.size();
}

}  // namespace nm::wire
