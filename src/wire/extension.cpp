#include "wire/extension.h"

#include "wire/little_endian.h"

namespace nm::wire {

size_t encode_ext_frame(const ExtFrame& f, uint8_t* out) {
  out[0] = static_cast<uint8_t>(f.type);
  put_le<uint64_t>(out + 1, f.stream_id);
  put_le<uint64_t>(out + 9, f.next_expected);
  put_le<uint64_t>(out + 17, f.highest);
  put_le<uint64_t>(out + 25, f.base);
  put_le<uint64_t>(out + 33, f.missing);
  return kExtFrameSize;
}

std::optional<ExtFrame> decode_ext_frame(std::span<const uint8_t> body) {
  if (body.size() != kExtFrameSize) return std::nullopt;
  ExtFrame f;
  f.type = static_cast<ExtType>(body[0]);
  if (body[0] < static_cast<uint8_t>(ExtType::kAck) || body[0] > static_cast<uint8_t>(ExtType::kPathResponse))
    return std::nullopt;
  f.stream_id = get_le<uint64_t>(body.data() + 1);
  f.next_expected = get_le<uint64_t>(body.data() + 9);
  f.highest = get_le<uint64_t>(body.data() + 17);
  f.base = get_le<uint64_t>(body.data() + 25);
  f.missing = get_le<uint64_t>(body.data() + 33);
  return f;
}

}  // namespace nm::wire
