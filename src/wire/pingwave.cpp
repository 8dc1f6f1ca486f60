#include "wire/pingwave.h"

#include "wire/little_endian.h"

namespace nm::wire {
namespace {

bool starts_with_net_magic(std::span<const uint8_t> b) {
  return b.size() >= 2 && b[0] == 0x45 && b[1] == 0x4E;
}

}  // namespace

void Pingwave::encode(uint8_t* out) const {
  put_le<uint64_t>(out + 0, origin_node_id);
  for (size_t i = 8; i < 32; ++i) out[i] = 0;
  put_le<uint64_t>(out + 32, seq);
  out[40] = ttl;
  out[41] = hop_count;
  put_le<uint64_t>(out + 42, origin_timestamp_us);
  put_le<uint64_t>(out + 50, capability_hash);
  put_le<uint32_t>(out + 58, capability_version);
  out[62] = load_level;
  out[63] = health;
  out[64] = gpu;
  out[65] = model_slots;
  out[66] = memory_tier;
  out[67] = tools_bitmap;
  put_le<uint32_t>(out + 68, caps_flags);
}

std::optional<Pingwave> Pingwave::decode(std::span<const uint8_t> bytes) {
  if (!is_pingwave(bytes)) return std::nullopt;
  const uint8_t* in = bytes.data();
  if (in[63] > pingwave_health::kUnknown) return std::nullopt;
  Pingwave pw;
  pw.origin_node_id = get_le<uint64_t>(in + 0);
  pw.seq = get_le<uint64_t>(in + 32);
  pw.ttl = in[40];
  pw.hop_count = in[41];
  pw.origin_timestamp_us = get_le<uint64_t>(in + 42);
  pw.capability_hash = get_le<uint64_t>(in + 50);
  pw.capability_version = get_le<uint32_t>(in + 58);
  pw.load_level = in[62];
  pw.health = in[63];
  pw.gpu = in[64];
  pw.model_slots = in[65];
  pw.memory_tier = in[66];
  pw.tools_bitmap = in[67];
  pw.caps_flags = get_le<uint32_t>(in + 68);
  return pw;
}

bool is_pingwave(std::span<const uint8_t> datagram) {
  return datagram.size() == kPingwaveSize && !starts_with_net_magic(datagram);
}

bool forward(Pingwave& pw) {
  if (pw.ttl == 0) return false;
  --pw.ttl;
  if (pw.hop_count != UINT8_MAX) ++pw.hop_count;
  return true;
}

}  // namespace nm::wire
