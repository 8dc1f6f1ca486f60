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

inline constexpr uint16_t kSubprotocolReflex = 0x0D00;
inline constexpr size_t kAddressBlockSize = 19;

// Writes the 19-byte block for an IPv4 or IPv6 address; false for another family.
bool encode_address_block(const sockaddr_storage& addr, uint8_t out[kAddressBlockSize]);
// The address in a 19-byte block; nullopt for another size or an unknown family. (Like
// 0.23, the zeros after an IPv4 address are not checked.)
std::optional<sockaddr_storage> decode_address_block(std::span<const uint8_t> block);

}  // namespace nm::wire
