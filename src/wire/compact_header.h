// The compact header of stream data packets between netmesh peers (capability
// kCompactHeader): 0.23's 68-byte header carries many fields a data packet leaves at zero,
// so a 1 KiB event spent 6% of a 1500-byte path on them. Between netmesh peers a data
// packet states only what the receiver reads, in about 16 bytes; a 0.23 peer never gets one.
//
//   0  1  magic 0x6E ("n"): unlike the first bytes of 0.23's datagrams ("EN", "RT", "PH")
//   1  1  bits: frag_flags in the low 4 (fragment, last, span head, span tail),
//         0x10 flags::kReliable, 0x20 flags::kNetmeshData, 0xC0 zero
//   2  4  session_id, its low 32 bits (u32le): the receiver holds them for one session only
//         (session/compact_ids.h) and makes the id whole from them
//   6  4  packet counter, its low 32 bits (u32le): the receiver takes the whole counter
//         nearest the next one it expects (complete_counter, as QUIC's packet numbers);
//         the nonce is the session's prefix || u64le(counter), as 0.23's
//  10     LEB128 varints: stream_id, sequence, epoch (0.23's subnet_id field),
//         charged_before (origin_hash) on fire-and-forget packets only (a reliable packet is
//         never written off as lost, so its receiver has no use for it), event_count
//         then, only for a fragment (frag::kFragment or kLast): u16le fragment_id, u16le
//         fragment_index (an event cut at a packet boundary has none)
//         then the ciphertext (the rest of the datagram but the 16-byte tag) and the tag.
//
// The AAD is the whole compact header. A 72-byte datagram starting 0x6E may also be a 0.23
// pingwave (recognised by size alone): the node reads it as a packet only if its session id
// bits are one of its sessions'.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "wire/extension.h"
#include "wire/header.h"

namespace nm::wire {

inline constexpr uint8_t kCompactMagic = 0x6E;
inline constexpr size_t kCompactFixedSize = 10;
inline constexpr size_t kCompactMaxSize = kCompactFixedSize + 10 + 10 + 5 + 10 + 2 + 4;  // 51

inline bool is_compact(std::span<const uint8_t> datagram) {
  return !datagram.empty() && datagram[0] == kCompactMagic;
}
// A packet with these frag_flags is a fragment of a large event and carries its id and index.
inline bool has_fragment_fields(uint8_t frag_flags) { return frag_flags & (frag::kFragment | frag::kLast); }
// The session id bits of a compact datagram (is_compact, at least kCompactFixedSize bytes).
uint32_t compact_session_bits(std::span<const uint8_t> datagram);
inline uint32_t compact_session_bits(uint64_t session_id) { return static_cast<uint32_t>(session_id); }

// The length of a stream data packet's compact header with these fields (`fragment`:
// has_fragment_fields; `charged_before`: none on a reliable packet).
size_t compact_header_size(uint64_t stream_id, uint64_t sequence, uint32_t epoch,
                           std::optional<uint64_t> charged_before, uint16_t event_count, bool fragment);

// Writes h as a compact header (nonce counter from h.nonce; of session_id and a reliable
// packet's origin_hash, what the layout above states) and returns its length, or 0 if h is
// not a stream data packet a compact header can state (a field or flag it leaves out is
// set): the packet then takes the 68-byte header.
size_t encode_compact_header(const Header& h, uint8_t* out);

// Reads a compact header from the start of a datagram into h: the fields above, payload_len
// (the datagram's rest but the tag), subprotocol 0, version 1 and header_bytes; session_id
// holds the low 32 bits (the receiver makes it whole from the session that holds them);
// the nonce's prefix is left 0 (the receiver takes it from its session keys) and its
// counter holds the low 32 bits (complete_counter makes it whole). False if the datagram is
// shorter than its header and tag, a bit it does not define is set, a varint runs past
// it, overflows its field or is longer than needed, the payload exceeds kMaxPayloadSize,
// or event_count exceeds kMaxEventsPerPacket.
bool decode_compact_header(std::span<const uint8_t> datagram, Header& h);

// Makes the counter of a compact header read by decode_compact_header whole: the counter
// with those low 32 bits nearest `next_expected`, the receiver's next counter (RFC 9000
// §A.3). A sender is never 2^31 datagrams ahead of what its peer has seen; a counter
// completed wrong fails the AEAD. A 0.23 header's counter is whole already.
void complete_counter(Header& h, uint64_t next_expected);

// The AAD of a packet whose header (0.23's or compact) is the first header_len bytes of
// `header`: a compact header is its own AAD; 0.23's is reduced into `scratch`.
std::span<const uint8_t> packet_aad(const uint8_t* header, size_t header_len, uint8_t (&scratch)[kAadSize]);

// A Net packet's header, compact (by its first bytes) or 0.23's (and then validated as
// 0.23 does).
bool decode_any_header(std::span<const uint8_t> datagram, Header& h);

}  // namespace nm::wire
