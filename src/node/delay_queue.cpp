#include "node/delay_queue.h"

namespace nm::node {

DelayQueue::Pushed DelayQueue::push(DelayedDatagram&& d) {
  MutexLock lk(mu_);
  if (bytes_ + d.bytes.size() > kMaxBytes) return Pushed::kFull;
  bytes_ += d.bytes.size();
  d.order = next_order_++;
  bool earliest = q_.empty() || d.due_ns < q_.top().due_ns;
  q_.push(std::move(d));
  return earliest ? Pushed::kEarliest : Pushed::kQueued;
}

std::optional<DelayedDatagram> DelayQueue::pop_due(int64_t now_ns) {
  MutexLock lk(mu_);
  if (q_.empty() || q_.top().due_ns > now_ns) return std::nullopt;
  // priority_queue::top is const; the element is moved out right before pop() discards it.
  DelayedDatagram d = std::move(const_cast<DelayedDatagram&>(q_.top()));
  q_.pop();
  bytes_ -= d.bytes.size();
  return d;
}

std::optional<int64_t> DelayQueue::next_due() {
  MutexLock lk(mu_);
  if (q_.empty()) return std::nullopt;
  return q_.top().due_ns;
}

}  // namespace nm::node
