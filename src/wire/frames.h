// Event frames: u32le(len) || bytes, concatenated in a packet payload (wire spec §6).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace nm::wire {

inline constexpr size_t kFrameOverhead = 4;
inline constexpr size_t kMaxEventSize = 8108 - kFrameOverhead;  // 8104: one event alone in a packet

// Writes one frame at `out` (room for 4 + event.size() bytes) and returns its end.
uint8_t* write_frame(uint8_t* out, std::span<const uint8_t> event);
// Appends one frame to `payload`.
void append_frame(std::vector<uint8_t>& payload, std::span<const uint8_t> event);

// Reads up to `event_count` frames from `payload` as 0.23 does: stops silently at the
// first truncated frame, ignores trailing bytes. Views point into `payload`.
std::vector<std::span<const uint8_t>> read_frames(std::span<const uint8_t> payload,
                                                  uint16_t event_count);
// The same into `out` (cleared first; its capacity is reused, so the receive path allocates
// nothing per packet).
void read_frames(std::span<const uint8_t> payload, uint16_t event_count,
                 std::vector<std::span<const uint8_t>>& out);

// True iff `frames` (read_frames of `payload`) are exactly `event_count` frames filling
// `payload` to its last byte (what every 0.23 and netmesh sender produces; anything else is
// a forged or broken packet).
bool frames_exact(std::span<const uint8_t> payload, std::span<const std::span<const uint8_t>> frames,
                  uint16_t event_count);

}  // namespace nm::wire
