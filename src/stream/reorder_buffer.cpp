#include "stream/reorder_buffer.h"

namespace nm::stream {

ReorderBuffer::Place ReorderBuffer::place(uint64_t seq) const {
  if (seq < next_ || ahead_.count(seq)) return Place::kDuplicate;
  if (seq == next_) return Place::kNext;
  if (seq - next_ > kMaxAhead) return Place::kTooFar;
  return Place::kAhead;
}

void ReorderBuffer::hold(RxPacket&& p) {
  bytes_ += p.cost;
  held_ += p.held();
  uint64_t seq = p.seq;
  ahead_.emplace(seq, std::move(p));
}

const RxPacket* ReorderBuffer::ready() const {
  auto it = ahead_.begin();
  return it != ahead_.end() && it->first == next_ ? &it->second : nullptr;
}

bool ReorderBuffer::pop_ready(RxPacket& out) {
  auto it = ahead_.begin();
  if (it == ahead_.end() || it->first != next_) return false;
  out = std::move(it->second);
  bytes_ -= out.cost;
  held_ -= out.held();
  ahead_.erase(it);
  ++next_;
  return true;
}

void ReorderBuffer::clear() {
  ahead_.clear();
  bytes_ = held_ = 0;
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
