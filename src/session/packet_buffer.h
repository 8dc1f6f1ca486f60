// A datagram being built: header, plaintext written in place, then encrypted with its tag.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

#include "wire/header.h"

namespace nm::session {

struct PacketBuffer {
  std::array<uint8_t, wire::kMaxPacketSize> bytes;
  size_t len = 0;  // total datagram length once sealed

  uint8_t* payload() { return bytes.data() + wire::kHeaderSize; }
  static constexpr size_t payload_capacity() { return wire::kMaxPayloadSize; }
};

}  // namespace nm::session
