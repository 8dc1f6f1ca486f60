#include "stream/reorder_buffer.h"

namespace nm::stream {

ReorderBuffer::Offer ReorderBuffer::offer(RxPacket& p) {
  if (p.seq == next_ && ahead_.empty()) {  // the common case: no map node
    ++next_;
    return Offer::kInOrder;
  }
  if (p.seq < next_ || ahead_.count(p.seq)) return Offer::kDuplicate;
  if (p.seq - next_ > kMaxAhead) return Offer::kTooFar;
  uint64_t seq = p.seq;
  bytes_ += p.cost;
  ahead_.emplace(seq, std::move(p));
  return Offer::kAccepted;
}

bool ReorderBuffer::pop_ready(RxPacket& out) {
  auto it = ahead_.begin();
  if (it == ahead_.end() || it->first != next_) return false;
  out = std::move(it->second);
  bytes_ -= out.cost;
  ahead_.erase(it);
  ++next_;
  return true;
}

uint64_t ReorderBuffer::missing_bitmap(uint64_t base) const {
  uint64_t top = highest();
  uint64_t bits = 0;
  auto it = ahead_.lower_bound(base);
  for (uint64_t i = 0; i < 64 && base + i < top; ++i) {
    uint64_t seq = base + i;
    while (it != ahead_.end() && it->first < seq) ++it;
    bool present = seq < next_ || (it != ahead_.end() && it->first == seq);
    if (!present) bits |= uint64_t{1} << i;
  }
  return bits;
}

}  // namespace nm::stream
