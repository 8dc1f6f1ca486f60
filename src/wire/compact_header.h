// The compact header of stream data packets between netmesh peers (capability
// kCompactHeader): 0.23's 68-byte header carries many fields a data packet leaves at zero,
// so a 1 KiB event spent 6% of a 1500-byte path on them. Between netmesh peers a data
// packet states only what the receiver reads, in about 25 bytes; a 0.23 peer never gets one.
//
//   0  2  magic, wire bytes "nm" (6E 6D): unlike "EN", "RT" and "PH"
//   2  1  flags (0.23's flag bits)
//   3  1  frag_flags
//   4  8  session_id (u64le)
//  12  6  packet counter (u48le): the nonce is the session's prefix || u64le(counter), as 0.23's
//  18     LEB128 varints: stream_id, sequence, epoch (0.23's subnet_id field), charged_before
//         (origin_hash), event_count
//         then, only if frag_flags != 0: u16le fragment_id, u16le fragment_index
//         then the ciphertext (the rest of the datagram but the 16-byte tag) and the tag.
//
// The AAD is the whole compact header. A 72-byte datagram starting "nm" may also be a 0.23
// pingwave (recognised by size alone): the node reads it as a packet only if its session id
// is one of its sessions'.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/header.h"

namespace nm::wire {

inline constexpr uint8_t kCompactMagic[2] = {0x6E, 0x6D};
inline constexpr size_t kCompactFixedSize = 18;
inline constexpr size_t kCompactMaxSize = kCompactFixedSize + 10 + 10 + 5 + 10 + 2 + 4;  // 59
inline constexpr uint64_t kCompactMaxCounter = (uint64_t{1} << 48) - 1;

inline bool is_compact(std::span<const uint8_t> datagram) {
  return datagram.size() >= 2 && datagram[0] == kCompactMagic[0] && datagram[1] == kCompactMagic[1];
}
// The session id of a compact datagram (is_compact, at least kCompactFixedSize bytes).
uint64_t compact_session_id(std::span<const uint8_t> datagram);

// The length of a stream data packet's compact header with these fields.
size_t compact_header_size(uint64_t stream_id, uint64_t sequence, uint32_t epoch, uint64_t charged_before,
                           uint16_t event_count, bool fragment);

// Writes h as a compact header (nonce counter from h.nonce) and returns its length, or 0 if
// h is not a stream data packet a compact header can state (a field it leaves out is set,
// or the counter is above 48 bits): the packet then takes the 68-byte header.
size_t encode_compact_header(const Header& h, uint8_t* out);

// Reads a compact header from the start of a datagram into h: the fields above, payload_len
// (the datagram's rest but the tag), subprotocol 0, version 1 and header_bytes; the nonce's
// prefix is left 0 (the receiver takes it from its session keys). False if the datagram is
// shorter than its header and tag, a varint runs past it or overflows its field, the
// payload exceeds kMaxPayloadSize, or event_count exceeds kMaxEventsPerPacket.
bool decode_compact_header(std::span<const uint8_t> datagram, Header& h);

// The AAD of a packet whose header (0.23's or compact) is the first header_len bytes of
// `header`: a compact header is its own AAD; 0.23's is reduced into `scratch`.
std::span<const uint8_t> packet_aad(const uint8_t* header, size_t header_len, uint8_t (&scratch)[kAadSize]);

// A Net packet's header, compact (by its first bytes) or 0.23's (and then validated as
// 0.23 does).
bool decode_any_header(std::span<const uint8_t> datagram, Header& h);

}  // namespace nm::wire
