// Puts back together the data packets a peer re-cut into pieces (wire/piece.h). Bounded:
// a few packets at a time, a new one displacing the oldest (a piece lost for good leaves
// its packet incomplete; the sender retransmits it under a new id), each at most one
// packet; overlapping or inconsistent pieces are refused.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "wire/piece.h"

namespace nm::session {

class PieceReassembly {
 public:
  static constexpr size_t kSlots = 8;
  static constexpr size_t kMaxPieces = 16;  // per packet (a path MTU of 1200 needs 8)

  enum class Result { kIncomplete, kComplete, kRefused };
  // On kComplete, whole() is the packet until the next call (decrypted bytes the caller
  // may read in place, as a packet that arrived whole).
  Result add(const wire::Piece& piece);
  std::span<uint8_t> whole() { return whole_; }

 private:
  struct Slot {
    uint32_t id = 0;
    uint16_t total = 0;
    uint64_t age = 0;  // 0: free
    size_t received = 0;
    std::vector<std::pair<uint16_t, uint16_t>> ranges;  // offset, length
    std::vector<uint8_t> bytes;
  };
  Slot& slot_for(const wire::Piece& piece);

  std::vector<Slot> slots_;  // allocated on first use
  uint64_t clock_ = 0;
  std::vector<uint8_t> whole_;
};

}  // namespace nm::session
