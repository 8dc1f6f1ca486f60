#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "stream/payload.h"

namespace nm::stream {

// A decrypted data packet on its way to the application. Its events are views into one
// shared (pooled) copy of the payload.
struct RxPacket {
  uint64_t seq = 0;
  SharedPayload data;       // the payload and its event slices
  uint32_t cost = 0;        // plaintext + 84: the credit the sender was charged
  uint8_t frag_flags = 0;   // see wire::frag
  uint16_t frag_index = 0;
  uint32_t epoch = 0;            // the sender's stream incarnation (0 from a 0.23 peer)
  uint64_t charged_before = 0;   // the sender's cumulative charge before this packet
  bool accounted = false;        // charged_before is meaningful (netmesh peer)

  const std::vector<EventSlice>& events() const { return data.slices(); }
  std::span<const uint8_t> event(size_t i) const {
    return {data.data() + events()[i].offset, events()[i].len};
  }
};

}  // namespace nm::stream
