#include "session/pmtu_search.h"

#include <algorithm>

namespace nm::session {

PmtuSearch::PmtuSearch(uint32_t base, uint32_t ceiling, int64_t now_ns)
    : base_(base),
      ceiling_(std::max(ceiling, base)),
      current_(base),
      last_large_acked_sent_ns_(now_ns),
      last_large_ack_ns_(now_ns) {
  if (ceiling_ > base_) start_search(ceiling_, true);
}

// `high`: the largest size the path may carry; `try_high_first`: probe it before halving.
void PmtuSearch::start_search(uint32_t high, bool try_high_first) {
  searching_ = true;
  high_ = high;
  try_high_ = try_high_first;
  outstanding_ = 0;
  failures_ = 0;
}

void PmtuSearch::finish_search(int64_t now_ns) {
  searching_ = false;
  outstanding_ = 0;
  next_search_ns_ = now_ns + kRaiseIntervalNs;
}

bool PmtuSearch::narrowed() const { return high_ <= current_ || high_ - current_ < kResolution; }

uint32_t PmtuSearch::candidate() const {
  return try_high_ ? high_ : current_ + (high_ - current_ + 1) / 2;
}

uint32_t PmtuSearch::probe_due(int64_t now_ns) {
  if (!searching_ && current_ + kResolution <= ceiling_ && now_ns >= next_search_ns_) start_search(ceiling_, true);
  if (!searching_ || outstanding_ != 0) return 0;
  return candidate();
}

bool PmtuSearch::on_probe_acked(uint32_t size, int64_t now_ns) {
  if (size == outstanding_) {
    outstanding_ = 0;
    failures_ = 0;
    try_high_ = false;
  }
  bool raised = size > current_;
  if (raised) current_ = size;  // whenever it was sent, the path carried it
  if (searching_ && narrowed()) finish_search(now_ns);
  return raised;
}

void PmtuSearch::on_probe_lost(uint32_t size, int64_t now_ns) {
  ++probes_lost_;
  if (size != outstanding_) return;  // from before a restart
  outstanding_ = 0;
  if (++failures_ < kMaxProbes) return;  // a probe can be lost to congestion: try again
  failures_ = 0;
  try_high_ = false;
  high_ = size - 1;
  if (narrowed()) finish_search(now_ns);
}

void PmtuSearch::on_acked(uint32_t size, int64_t sent_ns, int64_t now_ns) {
  if (size <= base_) {
    last_small_acked_sent_ns_ = std::max(last_small_acked_sent_ns_, sent_ns);
    return;
  }
  last_large_acked_sent_ns_ = std::max(last_large_acked_sent_ns_, sent_ns);
  last_large_ack_ns_ = now_ns;
  large_losses_ = 0;
}

void PmtuSearch::on_lost(uint32_t size, int64_t sent_ns) {
  if (size > base_) {
    ++large_losses_;
  } else {
    last_small_lost_sent_ns_ = std::max(last_small_lost_sent_ns_, sent_ns);
  }
}

bool PmtuSearch::black_hole_shown(int64_t now_ns, int64_t min_rtt_ns) {
  // Congestion loses some large datagrams while others get through: their acknowledgements
  // come between the losses. A black hole loses every one of them while small ones (the
  // sender's acknowledgements, a hole check's ping, a probe timeout's) pass:
  //  * no large one has been acknowledged for longer than the path's shortest round trip,
  //  * a small one sent that long after the last large one that arrived has been (send
  //    times: a busy loop that reads acknowledgements late cannot make a hole; a full
  //    queue that drops the few large ones a full window lets out and keeps a small one
  //    still lets the others' acknowledgements come),
  //  * and none sent since was lost (a path that went down loses small ones too: the hole
  //    checks' pings sent while it was down).
  // Not the smoothed RTT: with large datagrams gone, the queue they kept drains, and a ping
  // comes back sooner than the data did.
  if (current_ <= base_ || !small_one_would_show(last_small_acked_sent_ns_, min_rtt_ns) ||
      now_ns - last_large_ack_ns_ <= min_rtt_ns || last_small_lost_sent_ns_ > last_large_acked_sent_ns_)
    return false;
  // The search below the size that vanished starts in its middle, not at its top: the
  // path's new limit is unknown, and the ceiling is tried again only by the search after
  // kRaiseIntervalNs (the path may come back).
  uint32_t vanished = current_;
  current_ = base_;
  ++black_holes_;
  large_losses_ = 0;
  last_large_acked_sent_ns_ = last_large_ack_ns_ = now_ns;  // a hole at the new size: sent from now
  start_search(vanished - 1, false);
  if (narrowed()) finish_search(now_ns);
  return true;
}

bool PmtuSearch::hole_check_due(int64_t oldest_sent_ns, int64_t now_ns, int64_t srtt_ns, int64_t min_rtt_ns,
                                int64_t ack_delay_ns, int64_t max_ack_delay_ns) const {
  if (current_ <= base_ || oldest_sent_ns == INT64_MAX) return false;
  int64_t ping_answer = srtt_ns + max_ack_delay_ns;
  int64_t gap = ping_answer << std::min(unanswered_hole_checks_, kMaxHoleCheckBackoff);
  bool overdue = now_ns - oldest_sent_ns > srtt_ns + ack_delay_ns + srtt_ns / 8;
  return (overdue || small_one_would_show(now_ns, min_rtt_ns)) && now_ns - last_hole_check_ns_ >= gap;
}

}  // namespace nm::session
