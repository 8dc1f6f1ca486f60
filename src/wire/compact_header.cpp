#include "wire/compact_header.h"

#include "wire/little_endian.h"

namespace nm::wire {

namespace {

size_t put_varint(uint64_t v, uint8_t* out) {
  size_t n = 0;
  for (; v >= 0x80; v >>= 7) out[n++] = static_cast<uint8_t>(v | 0x80);
  out[n++] = static_cast<uint8_t>(v);
  return n;
}

// False if it runs past `end`, does not fit `max`, or is not the shortest encoding (one
// header, one byte string: the fuzzer re-encodes what it reads).
bool get_varint(const uint8_t*& in, const uint8_t* end, uint64_t max, uint64_t& v) {
  v = 0;
  for (unsigned shift = 0; in < end && shift < 64; shift += 7) {
    uint8_t b = *in++;
    uint64_t part = uint64_t{b & 0x7Fu};
    if (shift == 63 && part > 1) return false;  // beyond 64 bits
    v |= part << shift;
    if (!(b & 0x80)) return (b != 0 || shift == 0) && v <= max;
  }
  return false;
}

// Byte 1: frag_flags in the low nibble, then the two flags a data packet may carry.
constexpr uint8_t kFragBits = 0x0F;
constexpr uint8_t kReliableBit = 0x10;
constexpr uint8_t kNetmeshDataBit = 0x20;
constexpr uint8_t kStatedFlags = flags::kReliable | flags::kNetmeshData;

size_t varint_size(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

}  // namespace

size_t compact_header_size(uint64_t stream_id, uint64_t sequence, uint32_t epoch,
                           std::optional<uint64_t> charged_before, uint16_t event_count, bool fragment) {
  return kCompactFixedSize + varint_size(stream_id) + varint_size(sequence) + varint_size(epoch) +
         (charged_before ? varint_size(*charged_before) : 0) + varint_size(event_count) + (fragment ? 4 : 0);
}

uint32_t compact_session_bits(std::span<const uint8_t> datagram) { return get_le<uint32_t>(datagram.data() + 2); }

size_t encode_compact_header(const Header& h, uint8_t* out) {
  uint64_t counter = nonce_counter(h);
  bool fragment = has_fragment_fields(h.frag_flags);
  if (!carries_stream_data(h) || h.priority != 0 || h.hop_ttl != 0 ||
      h.hop_count != 0 || h.channel_hash != 0 || h.version != kVersion || (h.flags & ~kStatedFlags) ||
      (h.frag_flags & ~kFragBits) || (!fragment && (h.fragment_id != 0 || h.fragment_offset != 0)))
    return 0;
  out[0] = kCompactMagic;
  out[1] = static_cast<uint8_t>(h.frag_flags | (h.flags & flags::kReliable ? kReliableBit : 0) |
                                (h.flags & flags::kNetmeshData ? kNetmeshDataBit : 0));
  put_le(out + 2, compact_session_bits(h.session_id));
  put_le(out + 6, static_cast<uint32_t>(counter));
  size_t n = kCompactFixedSize;
  n += put_varint(h.stream_id, out + n);
  n += put_varint(h.sequence, out + n);
  n += put_varint(h.subnet_id, out + n);
  if (!(h.flags & flags::kReliable)) n += put_varint(h.origin_hash, out + n);
  n += put_varint(h.event_count, out + n);
  if (fragment) {
    put_le(out + n, h.fragment_id);
    put_le(out + n + 2, h.fragment_offset);
    n += 4;
  }
  return n;
}

bool decode_compact_header(std::span<const uint8_t> datagram, Header& out) {
  if (datagram.size() < kCompactFixedSize + kTagSize || !is_compact(datagram)) return false;
  const uint8_t* in = datagram.data();
  const uint8_t* end = in + datagram.size() - kTagSize;  // the header ends before the tag
  const uint8_t bits = in[1];
  if (bits & ~(kFragBits | kReliableBit | kNetmeshDataBit)) return false;
  Header h;
  h.flags = static_cast<uint8_t>((bits & kReliableBit ? flags::kReliable : 0) |
                                 (bits & kNetmeshDataBit ? flags::kNetmeshData : 0));
  h.frag_flags = bits & kFragBits;
  h.session_id = get_le<uint32_t>(in + 2);
  set_nonce(h, 0, get_le<uint32_t>(in + 6));
  const uint8_t* p = in + kCompactFixedSize;
  uint64_t epoch = 0, events = 0;
  const bool charged = !(bits & kReliableBit);
  if (!get_varint(p, end, UINT64_MAX, h.stream_id) || !get_varint(p, end, UINT64_MAX, h.sequence) ||
      !get_varint(p, end, UINT32_MAX, epoch) || (charged && !get_varint(p, end, UINT64_MAX, h.origin_hash)) ||
      !get_varint(p, end, kMaxEventsPerPacket, events))
    return false;
  h.subnet_id = static_cast<uint32_t>(epoch);
  h.event_count = static_cast<uint16_t>(events);
  if (has_fragment_fields(h.frag_flags)) {
    if (end - p < 4) return false;
    h.fragment_id = get_le<uint16_t>(p);
    h.fragment_offset = get_le<uint16_t>(p + 2);
    p += 4;
  }
  size_t payload = static_cast<size_t>(end - p);
  if (payload > kMaxPayloadSize || !carries_stream_data(h)) return false;
  h.payload_len = static_cast<uint16_t>(payload);
  h.header_bytes = static_cast<uint16_t>(p - in);
  out = h;
  return true;
}

void complete_counter(Header& h, uint64_t next_expected) {
  if (h.header_bytes == kHeaderSize) return;
  constexpr uint64_t kWindow = uint64_t{1} << 32, kHalf = kWindow / 2;
  uint64_t counter = (next_expected & ~(kWindow - 1)) | (nonce_counter(h) & (kWindow - 1));
  if (counter + kHalf <= next_expected) {
    counter += kWindow;
  } else if (counter > next_expected + kHalf && counter >= kWindow) {
    counter -= kWindow;
  }
  set_nonce(h, 0, counter);
}

std::span<const uint8_t> packet_aad(const uint8_t* header, size_t header_len, uint8_t (&scratch)[kAadSize]) {
  if (header_len != kHeaderSize) return {header, header_len};
  header_aad(header, scratch);
  return scratch;
}

bool decode_any_header(std::span<const uint8_t> datagram, Header& h) {
  return is_compact(datagram) ? decode_compact_header(datagram, h) : decode_header(datagram, h) == HeaderError::kOk;
}

}  // namespace nm::wire
