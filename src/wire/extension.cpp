#include "wire/extension.h"

namespace nm::wire {

namespace {
void put64(uint8_t* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t get64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(in[i]) << (8 * i);
  return v;
}
}  // namespace

size_t encode_ext_frame(const ExtFrame& f, uint8_t* out) {
  out[0] = static_cast<uint8_t>(f.type);
  put64(out + 1, f.stream_id);
  put64(out + 9, f.next_expected);
  put64(out + 17, f.highest);
  put64(out + 25, f.base);
  put64(out + 33, f.missing);
  return kExtFrameSize;
}

std::optional<ExtFrame> decode_ext_frame(std::span<const uint8_t> body) {
  if (body.size() != kExtFrameSize) return std::nullopt;
  ExtFrame f;
  f.type = static_cast<ExtType>(body[0]);
  if (f.type != ExtType::kAck && f.type != ExtType::kNack && f.type != ExtType::kCreditProbe)
    return std::nullopt;
  f.stream_id = get64(body.data() + 1);
  f.next_expected = get64(body.data() + 9);
  f.highest = get64(body.data() + 17);
  f.base = get64(body.data() + 25);
  f.missing = get64(body.data() + 33);
  return f;
}

}  // namespace nm::wire
