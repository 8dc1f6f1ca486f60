// A datagram being built: header, plaintext written in place, then encrypted with its tag;
// with room in front for a routing header when the peer is reached through relays.
//
// Encryption is deferred: Session::stamp writes the header and arms the buffer with the
// key and nonce, and seal() encrypts later. The node stamps under its lock (the TX counter
// is session state) and seals after releasing it, so the AEAD never blocks other threads.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "crypto/noise.h"
#include "wire/header.h"

namespace nm::session {

struct PacketBuffer {
  static constexpr size_t kHeadroom = 18;  // wire::kRoutingHeaderSize

  std::array<uint8_t, kHeadroom + wire::kMaxPacketSize> storage;
  size_t len = 0;            // the Net packet's length once sealed
  size_t header_len = wire::kHeaderSize;  // a compact header is shorter (Session::stamp)
  size_t head = kHeadroom;   // where the datagram starts: 0 once a routing header is in front

  uint8_t* bytes() { return storage.data() + kHeadroom; }  // the Net packet
  uint8_t* payload() { return bytes() + header_len; }
  static constexpr size_t payload_capacity() { return wire::kMaxPayloadSize; }

  void prepend_routing_header(const uint8_t* routing_header) {
    std::memcpy(storage.data(), routing_header, kHeadroom);
    head = 0;
  }
  const uint8_t* datagram() const { return storage.data() + head; }
  size_t datagram_len() const { return len + kHeadroom - head; }

  // Armed by Session::stamp; seal() encrypts the payload and disarms (a no-op for packets
  // that are not encrypted, such as handshakes). The plaintext is at payload(), or at
  // `plaintext` (kept alive by the caller until seal()): then the encryption itself
  // copies it in, and nothing is copied before.
  void arm(const crypto::Key32& key, const uint8_t nonce[12], const uint8_t* plaintext = nullptr);
  void seal();
  void reset();  // back to an empty, unarmed buffer (the bytes are not cleared)

 private:
  bool armed_ = false;
  const uint8_t* plaintext_ = nullptr;
  crypto::Key32 key_{};
  uint8_t nonce_[12]{};
};

// Buffers are recycled through a process-wide free list: a datagram on the hot path costs
// neither a malloc nor clearing 8 KiB.
struct PacketRelease {
  void operator()(PacketBuffer* p) const noexcept;
};
using PacketPtr = std::unique_ptr<PacketBuffer, PacketRelease>;
PacketPtr acquire_packet();

}  // namespace nm::session
