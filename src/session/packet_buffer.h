// A datagram being built: header, plaintext written in place, then encrypted with its tag;
// with room in front for a routing header when the peer is reached through relays.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "wire/header.h"

namespace nm::session {

struct PacketBuffer {
  static constexpr size_t kHeadroom = 18;  // wire::kRoutingHeaderSize

  std::array<uint8_t, kHeadroom + wire::kMaxPacketSize> storage;
  size_t len = 0;            // the Net packet's length once sealed
  size_t head = kHeadroom;   // where the datagram starts: 0 once a routing header is in front

  uint8_t* bytes() { return storage.data() + kHeadroom; }  // the Net packet
  uint8_t* payload() { return bytes() + wire::kHeaderSize; }
  static constexpr size_t payload_capacity() { return wire::kMaxPayloadSize; }

  void prepend_routing_header(const uint8_t* routing_header) {
    std::memcpy(storage.data(), routing_header, kHeadroom);
    head = 0;
  }
  const uint8_t* datagram() const { return storage.data() + head; }
  size_t datagram_len() const { return len + kHeadroom - head; }
};

}  // namespace nm::session
