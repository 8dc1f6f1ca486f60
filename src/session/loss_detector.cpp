#include "session/loss_detector.h"

#include <algorithm>

namespace nm::session {

namespace {
// The index of the first element numbered `pn` or above, in a queue of increasing numbers.
template <class Queue>
size_t first_from(const Queue& q, uint64_t pn) {
  size_t lo = 0, hi = q.size();
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (q[mid].pn < pn) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}
}  // namespace

std::optional<SentDatagram> LossDetector::on_sent(const SentDatagram& d) {
  std::optional<SentDatagram> given_up;
  if (sent_.size() >= kMaxTracked) {
    trim();
    if (sent_.size() >= kMaxTracked) {  // the front is unresolved after trim()
      declare_lost(sent_.front());
      given_up = sent_.front();
      trim();
    }
  }
  sent_.push_back(SentDatagram(d));
  ++outstanding_;
  last_sent_ns_ = d.sent_ns;
  return given_up;
}

void LossDetector::on_sent_untracked(uint64_t pn, int64_t sent_ns, uint32_t bytes) {
  if (untracked_.size() == kUntrackedRemembered) untracked_.pop_front();
  untracked_.push_back(Untracked{pn, sent_ns, bytes});
}

std::optional<LossDetector::Untracked> LossDetector::newly_acked_untracked(uint64_t largest) const {
  // Entries at or below an earlier frame's largest are gone (on_ack), so one found here was
  // never acknowledged before.
  size_t i = first_from(untracked_, largest);
  if (i < untracked_.size() && untracked_[i].pn == largest) return untracked_[i];
  return std::nullopt;
}

SentDatagram* LossDetector::find(uint64_t pn) {
  // Numbers increase along the queue (with gaps: not every datagram is here).
  size_t lo = first_from(sent_, pn);
  return lo < sent_.size() && sent_[lo].pn == pn ? &sent_[lo] : nullptr;
}

void LossDetector::resolve(SentDatagram& d) {
  d.resolved = true;
  --outstanding_;
}

void LossDetector::declare_lost(SentDatagram& d) {
  resolve(d);
  if (d.pmtu_probe) return;  // a lost probe is an answer about its size, not a loss
  if (recently_lost_.size() == kLostRemembered) recently_lost_.pop_front();
  recently_lost_.push_back(Lost{d.pn, d.sent_ns});
}

void LossDetector::find_spurious(const wire::AckRange& r, int64_t now_ns, const RttStats& rtt,
                                 std::vector<uint64_t>& spurious) {
  for (size_t i = first_from(recently_lost_, r.first);
       i < recently_lost_.size() && recently_lost_[i].pn <= r.last; ++i) {
    if (recently_lost_[i].acked) continue;
    recently_lost_[i].acked = true;
    spurious.push_back(recently_lost_[i].pn);
    adapt_thresholds(recently_lost_[i], now_ns, rtt);
  }
}

// The thresholds become what would have kept that datagram from being declared lost (as
// QUICHE's adaptive thresholds): as many later datagrams as were acknowledged before it
// (the largest so far, this frame not yet counted), and its time to acknowledgement.
void LossDetector::adapt_thresholds(const Lost& spurious, int64_t now_ns, const RttStats& rtt) {
  if (largest_acked_ > spurious.pn)
    packet_threshold_ = std::clamp(largest_acked_ - spurious.pn + 1, packet_threshold_, kMaxPacketThreshold);
  int64_t base = std::max(rtt.latest(), rtt.smoothed());
  if (base <= 0) return;
  int64_t needed = now_ns - spurious.sent_ns;
  while (time_threshold_eighths_ < kMaxTimeThresholdEighths && base * time_threshold_eighths_ / 8 < needed)
    ++time_threshold_eighths_;
}

void LossDetector::trim() {
  while (!sent_.empty() && sent_.front().resolved) sent_.pop_front();
}

void LossDetector::on_ack(const wire::AckFrame& f, int64_t now_ns, RttStats& rtt, AckResult& out) {
  out.acked.clear();
  out.lost.clear();
  out.rtt_sampled = false;
  out.persistent_congestion = false;
  out.spurious.clear();
  out.largest_untracked_bytes = 0;
  if (f.ranges.empty()) return;
  uint64_t largest = f.ranges.front().last;
  std::optional<Untracked> untracked_largest = newly_acked_untracked(largest);
  if (untracked_largest) {
    out.largest_untracked_bytes = untracked_largest->bytes;
    out.largest_untracked_sent_ns = untracked_largest->sent_ns;
  }
  while (!untracked_.empty() && untracked_.front().pn <= largest) untracked_.pop_front();
  // Newly acknowledged datagrams, range by range (each a walk from its lowest number).
  for (const wire::AckRange& r : f.ranges) {
    find_spurious(r, now_ns, rtt, out.spurious);
    for (size_t i = first_from(sent_, r.first); i < sent_.size() && sent_[i].pn <= r.last; ++i) {
      if (sent_[i].resolved) continue;
      resolve(sent_[i]);
      out.acked.push_back(sent_[i]);
    }
  }
  if (out.acked.empty()) return;  // nothing new (a late or repeated frame)
  if (!any_acked_ || largest > largest_acked_) largest_acked_ = largest;
  any_acked_ = true;
  // RTT from the largest number, if this frame newly acknowledged it (with data: out.acked).
  auto newest = std::max_element(out.acked.begin(), out.acked.end(),
                                 [](const SentDatagram& a, const SentDatagram& b) { return a.pn < b.pn; });
  std::optional<int64_t> largest_sent_ns =
      newest->pn == largest                 ? std::optional<int64_t>(newest->sent_ns)
      : untracked_largest ? std::optional<int64_t>(untracked_largest->sent_ns)
                          : std::nullopt;
  if (largest_sent_ns) {
    rtt.on_sample(now_ns - *largest_sent_ns, int64_t{f.ack_delay_us} * 1000, max_ack_delay_ns_);
    out.rtt_sampled = true;
    probes_ = 0;  // the backoff is held until a sample shows the path answers
  }
  detect_lost(now_ns, rtt, out.lost);
  // Persistent congestion: losses spanning several probe timeouts with no acknowledgement
  // of anything sent in between (RFC 9002 §7.6).
  if (out.lost.size() >= 2 && rtt.has_sample()) {
    int64_t span = out.lost.back().sent_ns - out.lost.front().sent_ns;
    int64_t threshold = rtt.pto(max_ack_delay_ns_) * kPersistentCongestionThreshold;
    bool acked_between = std::any_of(out.acked.begin(), out.acked.end(), [&](const SentDatagram& a) {
      return a.sent_ns > out.lost.front().sent_ns && a.sent_ns < out.lost.back().sent_ns;
    });
    out.persistent_congestion = span > threshold && !acked_between;
  }
  trim();
}

void LossDetector::detect_lost(int64_t now_ns, const RttStats& rtt, std::vector<SentDatagram>& lost) {
  loss_time_ns_ = INT64_MAX;
  if (!any_acked_) return;
  int64_t loss_delay = std::max<int64_t>(std::max(rtt.latest(), rtt.smoothed()) * time_threshold_eighths_ / 8,
                                         RttStats::kGranularityNs);
  int64_t lost_before = now_ns - loss_delay;
  for (size_t i = 0; i < sent_.size() && sent_[i].pn < largest_acked_; ++i) {
    SentDatagram& d = sent_[i];
    if (d.resolved) continue;
    if (d.sent_ns <= lost_before || largest_acked_ >= d.pn + packet_threshold_) {
      declare_lost(d);
      lost.push_back(d);
    } else {
      loss_time_ns_ = std::min(loss_time_ns_, d.sent_ns + loss_delay);
    }
  }
}

void LossDetector::declare_lost_above(uint32_t bytes, std::vector<SentDatagram>& lost) {
  for (size_t i = 0; i < sent_.size(); ++i) {
    SentDatagram& d = sent_[i];
    if (d.resolved || d.pmtu_probe || d.bytes <= bytes) continue;
    resolve(d);
    lost.push_back(d);
  }
  trim();
}

void LossDetector::on_loss_timer(int64_t now_ns, const RttStats& rtt, std::vector<SentDatagram>& lost) {
  if (loss_time_ns_ == INT64_MAX || now_ns < loss_time_ns_) return;
  detect_lost(now_ns, rtt, lost);
  trim();
}

int64_t LossDetector::deadline(const RttStats& rtt) const {
  if (loss_time_ns_ != INT64_MAX) return loss_time_ns_;
  if (outstanding_ == 0) return INT64_MAX;
  // Capped before the shift too: a peer that acknowledges hours late gives an RTT sample
  // of hours, and its probe timeout shifted 16 times would wrap into the past.
  int64_t pto = std::min(rtt.pto(max_ack_delay_ns_), kMaxProbeTimeoutNs);
  pto = std::min(pto << probes_, kMaxProbeTimeoutNs);
  return last_sent_ns_ + pto;
}

std::vector<SentDatagram> LossDetector::oldest(size_t max) const {
  std::vector<SentDatagram> out;
  for (size_t i = 0; i < sent_.size() && out.size() < max; ++i)
    if (!sent_[i].resolved) out.push_back(sent_[i]);
  return out;
}

}  // namespace nm::session
