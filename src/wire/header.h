// The 68-byte Net packet header of net-mesh 0.23 (wire spec §4, §5).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

namespace nm::wire {

inline constexpr size_t kHeaderSize = 68;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kAadSize = 56;
inline constexpr size_t kMaxPacketSize = 8192;
inline constexpr size_t kMaxPayloadSize = kMaxPacketSize - kHeaderSize - kTagSize;  // 8108
inline constexpr size_t kMaxEventsPerPacket = kMaxPayloadSize / 4;                 // 2027
inline constexpr size_t kPacketOverhead = kHeaderSize + kTagSize;                   // 84: credit cost
// The credit of a full-size packet and its overhead: no packet costs more, so a window
// must hold at least this much (the smallest non-zero window, NM_MIN_WINDOW_BYTES).
inline constexpr uint64_t kMaxPacketCredit = kMaxPacketSize + kPacketOverhead;  // 8276
inline constexpr uint16_t kMagic = 0x4E45;  // wire bytes "EN"
inline constexpr uint8_t kVersion = 1;

namespace flags {
inline constexpr uint8_t kReliable = 0x01;
inline constexpr uint8_t kNack = 0x02;
inline constexpr uint8_t kPriority = 0x04;
inline constexpr uint8_t kFin = 0x08;
inline constexpr uint8_t kHandshake = 0x10;
inline constexpr uint8_t kHeartbeat = 0x20;
// Netmesh only, on data packets: the sender uses netmesh's data fields (recovery, fragments,
// epochs, capability::kDataFields). The receiver reads them from this bit, not from the
// sender's hello, which may not have arrived yet: a lost hello must not make it take
// fragments for events or a recovered stream for a 0.23 one. Sent only to a peer whose
// hello said it is netmesh, so a 0.23 node never sees it.
inline constexpr uint8_t kNetmeshData = 0x40;
}  // namespace flags

inline constexpr uint64_t kControlStreamId = UINT64_MAX;
inline constexpr uint16_t kSubprotocolData = 0x0000;
inline constexpr uint16_t kSubprotocolStreamWindow = 0x0B00;

struct Header {
  uint8_t version = kVersion;
  uint8_t flags = 0;
  uint8_t priority = 0;
  uint8_t hop_ttl = 0;
  uint8_t hop_count = 0;
  uint8_t frag_flags = 0;
  uint16_t subprotocol_id = 0;
  uint16_t channel_hash = 0;
  uint8_t nonce[12] = {};
  uint64_t session_id = 0;
  uint64_t stream_id = 0;
  uint64_t sequence = 0;
  uint64_t origin_hash = 0;
  uint32_t subnet_id = 0;
  uint16_t fragment_id = 0;
  uint16_t fragment_offset = 0;
  uint16_t payload_len = 0;
  uint16_t event_count = 0;
  // Not a field: how many bytes the header took on the wire (kHeaderSize, or a compact
  // header's length, wire/compact_header.h), so the payload and the AAD are found.
  uint16_t header_bytes = kHeaderSize;
};

enum class HeaderError {
  kOk,
  kTooShort,        // fewer than 68 bytes
  kBadMagic,        // bytes 0..2 != 45 4E
  kBadVersion,      // version != 1
  kPayloadTooLong,  // payload_len > 8108
  kTooManyEvents,   // event_count > 2027
};

// A data packet of a stream (not a handshake, heartbeat or control-stream packet).
inline bool carries_stream_data(const Header& h) {
  return !(h.flags & (flags::kHandshake | flags::kHeartbeat)) && h.subprotocol_id == kSubprotocolData &&
         h.stream_id != kControlStreamId;
}

// Writes exactly kHeaderSize bytes (magic included) to `out`.
void encode_header(const Header& h, uint8_t* out);

// Parses the first 68 bytes of `bytes` and applies 0.23's NetHeader::validate.
HeaderError decode_header(std::span<const uint8_t> bytes, Header& out);

// AAD = header[0..12) with byte 6 (hop_count) zeroed, then header[24..68): 56 bytes.
void header_aad(const uint8_t* encoded_header, uint8_t* out_aad);

// The nonce is prefix(4) || u64le(counter); these read/write the counter part.
uint64_t nonce_counter(const Header& h);
void set_nonce(Header& h, uint32_t prefix, uint64_t counter);

const char* header_error_name(HeaderError e);

}  // namespace nm::wire
