#include "session/ack_tracker.h"

#include <algorithm>

namespace nm::session {

void AckTracker::on_packet(uint64_t pn, bool ack_eliciting, int64_t now_ns, int64_t srtt_ns) {
  if (ack_eliciting) {
    if (unreported_ == 0) first_unreported_ns_ = now_ns;
    ++unreported_;
    if (srtt_ns > 0 && now_ns - round_start_ns_ >= srtt_ns) {
      last_round_count_ = now_ns - round_start_ns_ < 2 * srtt_ns ? round_count_ : 0;
      round_start_ns_ = now_ns;
      round_count_ = 0;
    }
    ++round_count_;
  }
  // A range that changes starts its count of reports again: what it gained is news.
  if (ranges_.empty() || pn > ranges_.front().range.last) {
    if (!ranges_.empty() && pn > ranges_.front().range.last + 1) reordered_ = true;  // a gap below it
    largest_at_ns_ = now_ns;
    if (!ranges_.empty() && pn == ranges_.front().range.last + 1) {
      ranges_.front().range.last = pn;
      ranges_.front().reports = 0;
    } else {
      ranges_.insert(ranges_.begin(), Tracked{{pn, pn}});
    }
  } else {
    reordered_ = true;  // below the largest: late, or a duplicate
    // The first range (descending) that does not lie wholly above pn.
    auto it = std::find_if(ranges_.begin(), ranges_.end(), [&](const Tracked& t) { return t.range.first <= pn; });
    if (it != ranges_.end() && pn <= it->range.last) return;  // a duplicate
    it = ranges_.insert(it, Tracked{{pn, pn}});
    // Join the neighbours it touches: ranges never touch (the frame refuses that).
    if (std::next(it) != ranges_.end() && std::next(it)->range.last + 1 == pn) {
      it->range.first = std::next(it)->range.first;
      ranges_.erase(std::next(it));
    }
    if (it != ranges_.begin() && std::prev(it)->range.first == pn + 1) {
      std::prev(it)->range.first = it->range.first;
      std::prev(it)->reports = 0;
      ranges_.erase(it);
    }
  }
  if (ranges_.size() > wire::kMaxAckRanges) ranges_.resize(wire::kMaxAckRanges);
}

AckTracker::When AckTracker::when(int64_t now_ns) const {
  if (unreported_ == 0) return When::kNothing;
  uint32_t every = last_round_count_ >= kLargeFlight ? kAckEveryLargeFlight : kAckEvery;
  if (reordered_ || unreported_ >= every || now_ns - first_unreported_ns_ >= kMaxAckDelayNs)
    return When::kNow;
  return When::kLater;
}

wire::AckFrame AckTracker::take(int64_t now_ns) {
  wire::AckFrame f;
  f.ranges.reserve(ranges_.size());
  for (const Tracked& t : ranges_) f.ranges.push_back(t.range);
  f.ack_delay_us = static_cast<uint32_t>(std::clamp<int64_t>((now_ns - largest_at_ns_) / 1000, 0, UINT32_MAX));
  unreported_ = 0;
  reordered_ = false;
  // Ranges below the newest, reported often enough, are left out from now on.
  if (!ranges_.empty()) {
    auto reported = std::remove_if(ranges_.begin() + 1, ranges_.end(),
                                   [](Tracked& t) { return ++t.reports >= kReportsPerRange; });
    ranges_.erase(reported, ranges_.end());
  }
  return f;
}

}  // namespace nm::session
