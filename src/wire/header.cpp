#include "wire/header.h"

#include "wire/little_endian.h"

namespace nm::wire {

void encode_header(const Header& h, uint8_t* out) {
  put_le<uint16_t>(out + 0, kMagic);
  out[2] = h.version;
  out[3] = h.flags;
  out[4] = h.priority;
  out[5] = h.hop_ttl;
  out[6] = h.hop_count;
  out[7] = h.frag_flags;
  put_le(out + 8, h.subprotocol_id);
  put_le(out + 10, h.channel_hash);
  for (size_t i = 0; i < 12; ++i) out[12 + i] = h.nonce[i];
  put_le(out + 24, h.session_id);
  put_le(out + 32, h.stream_id);
  put_le(out + 40, h.sequence);
  put_le(out + 48, h.origin_hash);
  put_le(out + 56, h.subnet_id);
  put_le(out + 60, h.fragment_id);
  put_le(out + 62, h.fragment_offset);
  put_le(out + 64, h.payload_len);
  put_le(out + 66, h.event_count);
}

HeaderError decode_header(std::span<const uint8_t> bytes, Header& out) {
  if (bytes.size() < kHeaderSize) return HeaderError::kTooShort;
  const uint8_t* in = bytes.data();
  if (get_le<uint16_t>(in) != kMagic) return HeaderError::kBadMagic;

  Header h;
  h.version = in[2];
  h.flags = in[3];
  h.priority = in[4];
  h.hop_ttl = in[5];
  h.hop_count = in[6];
  h.frag_flags = in[7];
  h.subprotocol_id = get_le<uint16_t>(in + 8);
  h.channel_hash = get_le<uint16_t>(in + 10);
  for (size_t i = 0; i < 12; ++i) h.nonce[i] = in[12 + i];
  h.session_id = get_le<uint64_t>(in + 24);
  h.stream_id = get_le<uint64_t>(in + 32);
  h.sequence = get_le<uint64_t>(in + 40);
  h.origin_hash = get_le<uint64_t>(in + 48);
  h.subnet_id = get_le<uint32_t>(in + 56);
  h.fragment_id = get_le<uint16_t>(in + 60);
  h.fragment_offset = get_le<uint16_t>(in + 62);
  h.payload_len = get_le<uint16_t>(in + 64);
  h.event_count = get_le<uint16_t>(in + 66);

  // NetHeader::validate, in the same order as 0.23.
  if (h.version != kVersion) return HeaderError::kBadVersion;
  if (h.payload_len > kMaxPayloadSize) return HeaderError::kPayloadTooLong;
  if (h.event_count > kMaxEventsPerPacket) return HeaderError::kTooManyEvents;
  out = h;
  return HeaderError::kOk;
}

void header_aad(const uint8_t* encoded_header, uint8_t* out_aad) {
  // The nonce (12..24) is bound by the AEAD itself; hop_count is rewritten by forwarders.
  for (size_t i = 0; i < 12; ++i) out_aad[i] = encoded_header[i];
  out_aad[6] = 0;
  for (size_t i = 24; i < kHeaderSize; ++i) out_aad[i - 12] = encoded_header[i];
}

uint64_t nonce_counter(const Header& h) { return get_le<uint64_t>(h.nonce + 4); }

void set_nonce(Header& h, uint32_t prefix, uint64_t counter) {
  put_le(h.nonce, prefix);
  put_le(h.nonce + 4, counter);
}

const char* header_error_name(HeaderError e) {
  switch (e) {
    case HeaderError::kOk: return "ok";
    case HeaderError::kTooShort: return "too short";
    case HeaderError::kBadMagic: return "bad magic";
    case HeaderError::kBadVersion: return "bad version";
    case HeaderError::kPayloadTooLong: return "payload too long";
    case HeaderError::kTooManyEvents: return "too many events";
  }
  return "unknown";
}

}  // namespace nm::wire
