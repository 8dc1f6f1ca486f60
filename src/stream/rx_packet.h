#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "stream/payload.h"
#include "wire/frames.h"
#include "wire/little_endian.h"

namespace nm::stream {

// What the receiver keeps per packet besides its payload buffer, as charged to the
// receive budget: the shared block, the packet's slot in the inbound queue or its node in
// the reorder map, and the allocator's headers (rx_packet_test checks it covers them).
inline constexpr size_t kPacketBookkeeping = 192;
// What a full packet pins while it is kept.
inline constexpr size_t kFullPacketHeld = Payload::kPacketClass + kPacketBookkeeping;

// A decrypted data packet on its way to the application: one shared (pooled) copy of its
// payload, `events` frames that wire::frames_exact checked on receipt, so walking them
// needs no further checks.
struct RxPacket {
  uint64_t seq = 0;
  SharedPayload data;       // the payload: `events` frames
  uint16_t events = 0;
  uint32_t cost = 0;        // plaintext + 84: the credit the sender was charged
  uint8_t frag_flags = 0;   // see wire::frag
  uint16_t frag_index = 0;
  uint32_t epoch = 0;            // the sender's stream incarnation (0 from a 0.23 peer)
  uint64_t charged_before = 0;   // the sender's cumulative charge before this packet
  bool accounted = false;
  bool may_restart = false;      // the sender has no epochs: see RxSequence::kRestartSeqs        // charged_before is meaningful (netmesh peer)

  // The first event (a fragment's only one); needs events > 0.
  std::span<const uint8_t> first_event() const {
    return {data.data() + wire::kFrameOverhead, wire::get_le<uint32_t>(data.data())};
  }
  // The memory the packet pins while it is kept.
  size_t held() const { return data.capacity() + kPacketBookkeeping; }
};

}  // namespace nm::stream
