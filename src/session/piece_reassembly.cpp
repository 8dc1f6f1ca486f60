#include "session/piece_reassembly.h"

#include <algorithm>
#include <cstring>

namespace nm::session {

PieceReassembly::Slot& PieceReassembly::slot_for(const wire::Piece& piece) {
  if (slots_.empty()) slots_.resize(kSlots);
  Slot* oldest = &slots_[0];
  for (Slot& s : slots_) {
    if (s.age != 0 && s.id == piece.id) return s;
    if (s.age < oldest->age) oldest = &s;
  }
  *oldest = Slot{};
  oldest->id = piece.id;
  oldest->total = piece.total;
  oldest->bytes.resize(piece.total);
  return *oldest;
}

PieceReassembly::Result PieceReassembly::add(const wire::Piece& piece) {
  Slot& s = slot_for(piece);
  s.age = ++clock_;
  size_t begin = piece.offset, end = piece.offset + piece.bytes.size();
  bool overlaps = std::any_of(s.ranges.begin(), s.ranges.end(), [&](const auto& r) {
    return begin < size_t{r.first} + r.second && r.first < end;
  });
  if (piece.total != s.total || overlaps || s.ranges.size() == kMaxPieces) {
    s = Slot{};  // a packet told two ways is no packet
    return Result::kRefused;
  }
  std::memcpy(s.bytes.data() + begin, piece.bytes.data(), piece.bytes.size());
  s.ranges.emplace_back(piece.offset, static_cast<uint16_t>(piece.bytes.size()));
  s.received += piece.bytes.size();
  if (s.received < s.total) return Result::kIncomplete;
  whole_.swap(s.bytes);
  s = Slot{};
  return Result::kComplete;
}

}  // namespace nm::session
