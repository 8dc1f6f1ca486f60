#include "wire/routing_header.h"

#include "wire/little_endian.h"

namespace nm::wire {
void RoutingHeader::encode(uint8_t* out) const {
  put_le<uint16_t>(out + 0, kRoutingMagic);
  out[2] = ttl;
  out[3] = hop_count;
  out[4] = static_cast<uint8_t>(flags & routing_flags::kKnownMask);
  out[5] = 0;
  put_le<uint32_t>(out + 6, src_id);
  put_le<uint64_t>(out + 10, dest_id);
}

std::optional<RoutingHeader> RoutingHeader::decode(std::span<const uint8_t> bytes) {
  if (bytes.size() < kRoutingHeaderSize) return std::nullopt;
  const uint8_t* in = bytes.data();
  if (get_le<uint16_t>(in) != kRoutingMagic) return std::nullopt;
  RoutingHeader h;
  h.ttl = in[2];
  h.hop_count = in[3];
  h.flags = static_cast<uint8_t>(in[4] & routing_flags::kKnownMask);
  h.src_id = get_le<uint32_t>(in + 6);
  h.dest_id = get_le<uint64_t>(in + 10);
  return h;
}

bool forward(RoutingHeader& h) {
  if (h.ttl == 0) return false;
  --h.ttl;
  if (h.hop_count != UINT8_MAX) ++h.hop_count;
  return true;
}

bool is_routed_datagram(std::span<const uint8_t> datagram) {
  return datagram.size() >= kMinRoutedDatagramSize && datagram[0] == 0x52 && datagram[1] == 0x54;
}

}  // namespace nm::wire
