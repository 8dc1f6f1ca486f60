#include "session/ack_tracker.h"

#include <algorithm>

namespace nm::session {

void AckTracker::on_packet(uint64_t pn, bool ack_eliciting, int64_t now_ns) {
  if (ack_eliciting) {
    if (unreported_ == 0) first_unreported_ns_ = now_ns;
    ++unreported_;
  }
  if (ranges_.empty() || pn > ranges_.front().last) {
    if (!ranges_.empty() && pn > ranges_.front().last + 1) reordered_ = true;  // a gap below it
    largest_at_ns_ = now_ns;
    if (!ranges_.empty() && pn == ranges_.front().last + 1) {
      ranges_.front().last = pn;
    } else {
      ranges_.insert(ranges_.begin(), wire::AckRange{pn, pn});
    }
  } else {
    reordered_ = true;  // below the largest: late, or a duplicate
    // The first range (descending) that does not lie wholly above pn.
    auto it = std::find_if(ranges_.begin(), ranges_.end(), [&](const wire::AckRange& r) { return r.first <= pn; });
    if (it != ranges_.end() && pn <= it->last) return;  // a duplicate
    it = ranges_.insert(it, wire::AckRange{pn, pn});
    // Join the neighbours it touches: ranges never touch (the frame refuses that).
    if (std::next(it) != ranges_.end() && std::next(it)->last + 1 == pn) {
      it->first = std::next(it)->first;
      ranges_.erase(std::next(it));
    }
    if (it != ranges_.begin() && std::prev(it)->first == pn + 1) {
      std::prev(it)->first = it->first;
      ranges_.erase(it);
    }
  }
  if (ranges_.size() > wire::kMaxAckRanges) ranges_.resize(wire::kMaxAckRanges);
}

AckTracker::When AckTracker::when(int64_t now_ns) const {
  if (unreported_ == 0) return When::kNothing;
  if (reordered_ || unreported_ >= kAckEvery || now_ns - first_unreported_ns_ >= kMaxAckDelayNs)
    return When::kNow;
  return When::kLater;
}

wire::AckFrame AckTracker::take(int64_t now_ns) {
  wire::AckFrame f;
  f.ranges = ranges_;
  f.ack_delay_us = static_cast<uint32_t>(std::clamp<int64_t>((now_ns - largest_at_ns_) / 1000, 0, UINT32_MAX));
  unreported_ = 0;
  reordered_ = false;
  return f;
}

}  // namespace nm::session
