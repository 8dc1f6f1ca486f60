#include "node/failure_detector.h"

#include <algorithm>

namespace nm::node {

FailureDetector::FailureDetector(FailureDetectorConfig config) : config_(config) {
  config_.suspect_after_ns = std::max<int64_t>(config_.suspect_after_ns, 1);
  config_.fail_after_ns = std::max(config_.fail_after_ns, config_.suspect_after_ns);
}

void FailureDetector::add(uint64_t peer, int64_t now_ns) {
  if (peers_.contains(peer)) {
    heartbeat(peer, now_ns);
    return;
  }
  peers_.emplace(peer, Peer{now_ns, State::kHealthy, State::kHealthy});
}

void FailureDetector::remove(uint64_t peer) { peers_.erase(peer); }

void FailureDetector::heartbeat(uint64_t peer, int64_t now_ns) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  it->second.last_heartbeat_ns = std::max(it->second.last_heartbeat_ns, now_ns);
  it->second.state = State::kHealthy;
}

std::vector<FailureDetector::Transition> FailureDetector::check(int64_t now_ns) {
  std::vector<Transition> out;
  for (auto& [id, p] : peers_) {
    p.state = evaluate(p, now_ns);
    if (p.state != p.reported) {
      out.push_back({id, p.reported, p.state});
      p.reported = p.state;
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Transition& a, const Transition& b) { return a.peer < b.peer; });
  return out;
}

FailureDetector::State FailureDetector::state(uint64_t peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? State::kUnknown : it->second.state;
}

FailureDetector::State FailureDetector::evaluate(const Peer& p, int64_t now_ns) const {
  const int64_t elapsed = now_ns - p.last_heartbeat_ns;
  if (elapsed >= config_.fail_after_ns) return State::kFailed;
  if (elapsed >= config_.suspect_after_ns) return State::kSuspected;
  return State::kHealthy;
}

const char* failure_state_name(FailureDetector::State s) {
  switch (s) {
    case FailureDetector::State::kHealthy: return "healthy";
    case FailureDetector::State::kSuspected: return "suspected";
    case FailureDetector::State::kFailed: return "failed";
    case FailureDetector::State::kUnknown: return "unknown";
  }
  return "?";
}

}  // namespace nm::node
