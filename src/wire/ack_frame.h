// The session acknowledgement between netmesh nodes (README, "Protocol"): which datagrams
// of the session arrived, by packet number, as QUIC's ACK frame (RFC 9000 §19.3). A
// datagram's packet number is its nonce counter: unique per datagram and direction, so a
// retransmission (a new datagram) is told apart from the original and every RTT sample is
// unambiguous. Carried as the one frame of a subprotocol 0x4E41 packet on the control
// stream, only to peers whose hello has the capability.
//
//   u64le largest        the largest packet number received
//   u32le ack_delay_us   how long the receiver held this acknowledgement since `largest` arrived
//   u16le range_count    ranges that follow (at least 1)
//   range_count x { u64le gap, u64le length }
//       the first range: gap 0, `length` packet numbers received ending at `largest`;
//       each next range: `gap` numbers missing below the previous range, then `length`
//       received. Lengths are at least 1.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace nm::wire {

inline constexpr uint16_t kSubprotocolAck = 0x4E41;
inline constexpr size_t kMaxAckRanges = 32;
inline constexpr size_t kAckFrameHeader = 8 + 4 + 2;
inline constexpr size_t kAckRangeSize = 16;

struct AckRange {
  uint64_t first;  // lowest packet number of the range
  uint64_t last;   // highest (inclusive)
  friend bool operator==(const AckRange&, const AckRange&) = default;
};

struct AckFrame {
  uint32_t ack_delay_us = 0;
  std::vector<AckRange> ranges;  // descending, disjoint, not adjacent; at most kMaxAckRanges
  friend bool operator==(const AckFrame&, const AckFrame&) = default;
};

size_t ack_frame_size(const AckFrame& f);
// Writes the frame body; returns its size (ack_frame_size).
size_t encode_ack_frame(const AckFrame& f, uint8_t* out);
// nullopt on any inconsistency: wrong length, no range, a range that is empty, overlaps,
// touches the previous one or goes below 0, more than kMaxAckRanges ranges.
std::optional<AckFrame> decode_ack_frame(std::span<const uint8_t> body);

}  // namespace nm::wire
