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

size_t varint_size(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

}  // namespace

size_t compact_header_size(uint64_t stream_id, uint64_t sequence, uint32_t epoch, uint64_t charged_before,
                           uint16_t event_count, bool fragment) {
  return kCompactFixedSize + varint_size(stream_id) + varint_size(sequence) + varint_size(epoch) +
         varint_size(charged_before) + varint_size(event_count) + (fragment ? 4 : 0);
}

uint64_t compact_session_id(std::span<const uint8_t> datagram) { return get_le<uint64_t>(datagram.data() + 4); }

size_t encode_compact_header(const Header& h, uint8_t* out) {
  uint64_t counter = nonce_counter(h);
  bool fragment = h.frag_flags != 0;
  if (!carries_stream_data(h) || counter > kCompactMaxCounter || h.priority != 0 || h.hop_ttl != 0 ||
      h.hop_count != 0 || h.channel_hash != 0 || h.version != kVersion ||
      (!fragment && (h.fragment_id != 0 || h.fragment_offset != 0)))
    return 0;
  out[0] = kCompactMagic[0];
  out[1] = kCompactMagic[1];
  out[2] = h.flags;
  out[3] = h.frag_flags;
  put_le(out + 4, h.session_id);
  for (size_t i = 0; i < 6; ++i) out[12 + i] = static_cast<uint8_t>(counter >> (8 * i));
  size_t n = kCompactFixedSize;
  n += put_varint(h.stream_id, out + n);
  n += put_varint(h.sequence, out + n);
  n += put_varint(h.subnet_id, out + n);
  n += put_varint(h.origin_hash, out + n);
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
  Header h;
  h.flags = in[2];
  h.frag_flags = in[3];
  h.session_id = get_le<uint64_t>(in + 4);
  uint64_t counter = 0;
  for (size_t i = 0; i < 6; ++i) counter |= uint64_t{in[12 + i]} << (8 * i);
  set_nonce(h, 0, counter);
  const uint8_t* p = in + kCompactFixedSize;
  uint64_t epoch = 0, events = 0;
  if (!get_varint(p, end, UINT64_MAX, h.stream_id) || !get_varint(p, end, UINT64_MAX, h.sequence) ||
      !get_varint(p, end, UINT32_MAX, epoch) || !get_varint(p, end, UINT64_MAX, h.origin_hash) ||
      !get_varint(p, end, kMaxEventsPerPacket, events))
    return false;
  h.subnet_id = static_cast<uint32_t>(epoch);
  h.event_count = static_cast<uint16_t>(events);
  if (h.frag_flags != 0) {
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

std::span<const uint8_t> packet_aad(const uint8_t* header, size_t header_len, uint8_t (&scratch)[kAadSize]) {
  if (header_len != kHeaderSize) return {header, header_len};
  header_aad(header, scratch);
  return scratch;
}

bool decode_any_header(std::span<const uint8_t> datagram, Header& h) {
  return is_compact(datagram) ? decode_compact_header(datagram, h) : decode_header(datagram, h) == HeaderError::kOk;
}

}  // namespace nm::wire
