// net-mesh 0.23's NAT traversal messages (tests/interop/FINDINGS.md §5). They ride ordinary
// session packets: flags 0, the subprotocol id also as the stream id, one event per packet
// (a receiver reads every event). Integers inside them are BIG-endian, unlike the rest of
// the wire.
//
// Reflex probe (0x0D00, "mesh-native STUN"): an empty event asks the peer from which address
// our datagrams arrive; the answer is one 19-byte address block:
//   family (4 or 6) ‖ 16-byte address (IPv4 in the first 4, then zeros) ‖ port (u16 BE)
#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace nm::wire {

//
// Rendezvous (0x0D01): A asks a coordinator R that has sessions with A and B to introduce
// them; R tells both the other's address and a time (Unix ms) to punch; each sends three
// keep-alives to the other's address then, and acknowledges (through R) when the other's
// keep-alive arrives from exactly that address. Bodies (kind byte first):
//   PunchRequest   01 ‖ target u64 ‖ requester's own address block           28 bytes
//   PunchIntroduce 02 ‖ peer u64 ‖ peer's address block ‖ fire_at_ms u64      36 bytes
//   PunchAck       03 ‖ from u64 ‖ to u64 ‖ punch_id u32 (always 0 in 0.23)    21 bytes
// The keep-alive is raw UDP, not a session packet, and LITTLE-endian:
//   50 48 ("PH") ‖ sender node id u64 ‖ punch_id u32                          14 bytes
inline constexpr uint16_t kSubprotocolReflex = 0x0D00;
inline constexpr uint16_t kSubprotocolRendezvous = 0x0D01;
inline constexpr size_t kAddressBlockSize = 19;
inline constexpr size_t kKeepAliveSize = 14;

struct PunchRequest {
  uint64_t target = 0;
  sockaddr_storage self_reflex{};
};
struct PunchIntroduce {
  uint64_t peer = 0;
  sockaddr_storage peer_reflex{};
  uint64_t fire_at_ms = 0;
};
struct PunchAck {
  uint64_t from = 0, to = 0;
  uint32_t punch_id = 0;
};
struct RendezvousMessage {
  enum class Kind : uint8_t { kRequest = 1, kIntroduce = 2, kAck = 3 } kind = Kind::kRequest;
  PunchRequest request;
  PunchIntroduce introduce;
  PunchAck ack;
};
inline constexpr size_t kRendezvousMaxSize = 36;
// Writes the body and returns its size (0 if an address cannot be encoded).
size_t encode_rendezvous(const RendezvousMessage& m, uint8_t out[kRendezvousMaxSize]);
// nullopt for an unknown kind, a size that is not the kind's, or a bad address block.
std::optional<RendezvousMessage> decode_rendezvous(std::span<const uint8_t> body);

void encode_keepalive(uint64_t sender, uint8_t out[kKeepAliveSize]);
// The sender's node id, if `datagram` is a keep-alive.
std::optional<uint64_t> decode_keepalive(std::span<const uint8_t> datagram);

// Writes the 19-byte block for an IPv4 or IPv6 address; false for another family.
bool encode_address_block(const sockaddr_storage& addr, uint8_t out[kAddressBlockSize]);
// The address in a 19-byte block; nullopt for another size or an unknown family. (Like
// 0.23, the zeros after an IPv4 address are not checked.)
std::optional<sockaddr_storage> decode_address_block(std::span<const uint8_t> block);

}  // namespace nm::wire
