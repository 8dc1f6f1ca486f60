#include "node/pingwave_relay.h"

#include <algorithm>

namespace nm::node {

PingwaveRelay::PingwaveRelay(int64_t interval_ns) : interval_ns_(std::max<int64_t>(interval_ns, 1)) {}

bool PingwaveRelay::admit(uint64_t origin, uint64_t via, int64_t now_ns) {
  if (auto it = origins_.find(origin); it != origins_.end()) {
    it->second.heard_ns = now_ns;
    return true;
  }
  if (origins_.size() >= kMaxOrigins) return false;
  auto [t, fresh] = tokens_.try_emplace(via);
  if (fresh) t->second.refilled_ns = now_ns;
  double refill = static_cast<double>(now_ns - t->second.refilled_ns) / interval_ns_ * kNewOriginBurst;
  t->second.tokens = std::min<double>(kNewOriginBurst, t->second.tokens + std::max(0.0, refill));
  t->second.refilled_ns = now_ns;
  if (t->second.tokens < 1) return false;
  t->second.tokens -= 1;
  origins_[origin].heard_ns = now_ns;
  return true;
}

bool PingwaveRelay::should_relay(uint64_t origin, uint64_t seq, int64_t now_ns) {
  auto it = origins_.find(origin);
  if (it == origins_.end()) return false;
  Origin& o = it->second;
  int64_t since = now_ns - o.relayed_ns;
  // A lower sequence is relayed only once the origin has been quiet for two intervals: it
  // restarted (0.23 counts from 0 again), or a forged huge sequence went before it.
  bool newer = seq > o.relayed_seq || since >= 2 * interval_ns_;
  if (!newer || since < interval_ns_ / 2) return false;
  o.relayed_seq = seq;
  o.relayed_ns = now_ns;
  return true;
}

void PingwaveRelay::earn_raw(uint64_t received) {
  raw_budget_ = std::min(raw_budget_ + received, kRawBudgetCap);
}

bool PingwaveRelay::spend_raw(uint64_t bytes) {
  if (raw_budget_ < bytes) return false;
  raw_budget_ -= bytes;
  return true;
}

void PingwaveRelay::expire(int64_t now_ns) {
  std::erase_if(origins_, [&](const auto& kv) {
    return now_ns - kv.second.heard_ns > kForgetIntervals * interval_ns_;
  });
}

}  // namespace nm::node
