// A data packet re-cut to fit a smaller path MTU (netmesh peers with kPmtud). Path MTU
// discovery sizes new packets, but a packet kept for retransmission keeps the size it was
// built with: when the path's size falls (a black hole), such a packet leaves as pieces,
// each the one frame of a subprotocol 0x4E43 packet on the control stream, and the peer
// puts the packet back together and takes it as if it had arrived whole. The packet is
// its 68-byte header (only its data fields are read) then its plaintext payload.
//
//   u32le id       the same for every piece of one transmission of one packet
//   u16le total    the packet's length (header and payload)
//   u16le offset   where this piece's bytes go
//   bytes          at least one
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace nm::wire {

inline constexpr uint16_t kSubprotocolPiece = 0x4E43;
inline constexpr size_t kPieceHeader = 4 + 2 + 2;

struct Piece {
  uint32_t id = 0;
  uint16_t total = 0;
  uint16_t offset = 0;
  std::span<const uint8_t> bytes;
};

// Writes the piece (header and bytes) to `out`; returns its length.
size_t encode_piece(const Piece& p, uint8_t* out);
// nullopt unless the bytes are non-empty and end within `total`, and `total` is a packet's
// length (a header, at most kMaxPacketSize less the tag).
std::optional<Piece> decode_piece(std::span<const uint8_t> frame);

}  // namespace nm::wire
