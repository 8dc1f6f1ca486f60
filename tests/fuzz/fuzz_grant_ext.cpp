// libFuzzer: StreamWindow grants and netmesh extension (ACK/NACK/probe) frames, alone and
// as read from a payload of frames (src/wire/stream_window, extension).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "wire/extension.h"
#include "wire/frames.h"
#include "wire/stream_window.h"

using namespace nm::wire;

static void check_one(std::span<const uint8_t> body) {
  Grant g;
  if (decode_grant(body, g)) {
    if (body.size() != kGrantSize) std::abort();
    uint8_t again[kGrantSize];
    encode_grant(g, again);
    if (std::memcmp(again, body.data(), kGrantSize) != 0) std::abort();
  }
  if (auto f = decode_ext_frame(body)) {
    if (body.size() != kExtFrameSize) std::abort();
    uint8_t again[kExtFrameSize];
    if (encode_ext_frame(*f, again) != kExtFrameSize) std::abort();
    if (std::memcmp(again, body.data(), kExtFrameSize) != 0) std::abort();
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  check_one(in);
  if (size < 2) return 0;
  // As the node does: frames of a control packet, each decoded as a grant / ext frame.
  uint16_t count = static_cast<uint16_t>(data[0] | data[1] << 8);
  for (auto f : read_frames(in.subspan(2), count)) check_one(f);
  return 0;
}
