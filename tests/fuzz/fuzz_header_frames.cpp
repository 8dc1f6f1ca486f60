// libFuzzer: the 68-byte header, the compact header of netmesh peers, and the event frames
// behind them (src/wire/header, compact_header, frames).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "wire/compact_header.h"
#include "wire/frames.h"
#include "wire/header.h"

using namespace nm::wire;

// A compact header read from the input states it exactly: re-encoding gives its bytes, and
// header, payload and tag are the whole datagram.
static void check_compact(std::span<const uint8_t> in) {
  Header h;
  if (!decode_compact_header(in, h)) return;
  if (!carries_stream_data(h) || h.event_count > kMaxEventsPerPacket || h.payload_len > kMaxPayloadSize ||
      size_t{h.header_bytes} + h.payload_len + kTagSize != in.size() || h.header_bytes > kCompactMaxSize)
    std::abort();
  uint8_t again[kCompactMaxSize];
  if (encode_compact_header(h, again) != h.header_bytes || std::memcmp(again, in.data(), h.header_bytes) != 0)
    std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  check_compact(in);
  Header h;
  HeaderError e = decode_header(in, h);
  (void)header_error_name(e);
  if (e != HeaderError::kOk) {
    if (size >= kHeaderSize && e == HeaderError::kTooShort) std::abort();
    return 0;
  }
  // Re-encoding a valid header reproduces its 68 bytes exactly.
  uint8_t again[kHeaderSize];
  encode_header(h, again);
  if (std::memcmp(again, data, kHeaderSize) != 0) std::abort();
  if (h.payload_len > kMaxPayloadSize || h.event_count > kMaxEventsPerPacket) std::abort();
  uint8_t aad[kAadSize];
  header_aad(data, aad);
  if (aad[6] != 0) std::abort();
  (void)nonce_counter(h);

  // Frames as the node reads them: everything after the header, up to event_count.
  auto payload = in.subspan(kHeaderSize);
  auto frames = read_frames(payload, h.event_count);
  if (frames.size() > h.event_count) std::abort();
  size_t total = 0;
  for (auto f : frames) {
    if (f.data() < payload.data() || f.data() + f.size() > payload.data() + payload.size()) std::abort();
    total += kFrameOverhead + f.size();
  }
  if (total > payload.size()) std::abort();
  // Re-framing what was read reproduces the consumed prefix.
  std::vector<uint8_t> rebuilt;
  for (auto f : frames) append_frame(rebuilt, f);
  if (rebuilt.size() != total || (total && std::memcmp(rebuilt.data(), payload.data(), total) != 0))
    std::abort();
  return 0;
}
