#include "wire/piece.h"

#include <cstring>

#include "wire/header.h"
#include "wire/little_endian.h"

namespace nm::wire {

size_t encode_piece(const Piece& p, uint8_t* out) {
  put_le<uint32_t>(out, p.id);
  put_le<uint16_t>(out + 4, p.total);
  put_le<uint16_t>(out + 6, p.offset);
  std::memcpy(out + kPieceHeader, p.bytes.data(), p.bytes.size());
  return kPieceHeader + p.bytes.size();
}

std::optional<Piece> decode_piece(std::span<const uint8_t> frame) {
  if (frame.size() <= kPieceHeader) return std::nullopt;
  Piece p;
  p.id = get_le<uint32_t>(frame.data());
  p.total = get_le<uint16_t>(frame.data() + 4);
  p.offset = get_le<uint16_t>(frame.data() + 6);
  p.bytes = frame.subspan(kPieceHeader);
  if (p.total < kHeaderSize || p.total > kMaxPacketSize - kTagSize ||
      p.offset + p.bytes.size() > p.total)
    return std::nullopt;
  return p;
}

}  // namespace nm::wire
