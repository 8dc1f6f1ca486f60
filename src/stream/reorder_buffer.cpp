#include "stream/reorder_buffer.h"

namespace nm::stream {

ReorderBuffer::Offer ReorderBuffer::offer(RxPacket&& p) {
  if (p.seq < next_ || ahead_.count(p.seq)) return Offer::kDuplicate;
  if (p.seq - next_ > kMaxAhead) return Offer::kTooFar;
  uint64_t seq = p.seq;
  ahead_.emplace(seq, std::move(p));
  return Offer::kAccepted;
}

bool ReorderBuffer::pop_ready(RxPacket& out) {
  auto it = ahead_.begin();
  if (it == ahead_.end() || it->first != next_) return false;
  out = std::move(it->second);
  ahead_.erase(it);
  ++next_;
  return true;
}

uint64_t ReorderBuffer::missing_bitmap() const {
  if (ahead_.empty()) return 0;
  uint64_t highest = ahead_.rbegin()->first;
  uint64_t bits = 0;
  for (uint64_t i = 0; i < 64 && next_ + 1 + i < highest; ++i)
    if (!ahead_.count(next_ + 1 + i)) bits |= uint64_t{1} << i;
  return bits;
}

}  // namespace nm::stream
