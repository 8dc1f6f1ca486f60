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
  auto [it, fresh] = tokens_.try_emplace(via);
  Tokens& t = it->second;
  if (fresh) t.refilled_ns = now_ns;
  refill(t, now_ns);
  if (t.tokens < 1 || t.held >= kMaxOriginsPerNeighbour) return false;
  t.tokens -= 1;
  ++t.held;
  Origin& o = origins_[origin];
  o.via = via;
  o.heard_ns = now_ns;
  return true;
}

void PingwaveRelay::refill(Tokens& t, int64_t now_ns) const {
  double earned = static_cast<double>(now_ns - t.refilled_ns) / interval_ns_ * kNewOriginBurst;
  t.tokens = std::min<double>(kNewOriginBurst, t.tokens + std::max(0.0, earned));
  t.refilled_ns = now_ns;
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
    if (now_ns - kv.second.heard_ns <= kForgetIntervals * interval_ns_) return false;
    if (auto t = tokens_.find(kv.second.via); t != tokens_.end()) --t->second.held;
    return true;
  });
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    refill(it->second, now_ns);
    it = it->second.held == 0 && it->second.tokens >= kNewOriginBurst ? tokens_.erase(it) : std::next(it);
  }
}

}  // namespace nm::node
