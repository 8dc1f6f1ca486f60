#include "session/sender.h"

namespace nm::session {

double Sender::burst() const { return std::max<double>(2 * kQuantum, rate_ * kBurstNs / 1e9); }

void Sender::backlogged(uint64_t stream) {
  if (turns_.try_emplace(stream).second) active_.push_back(stream);
}

bool Sender::refill(int64_t now_ns) {
  if (active_.empty()) {
    was_idle_ = true;
    return false;
  }
  if (was_idle_) {
    tokens_ = burst();  // an idle session starts a backlog with a full bucket
  } else {
    tokens_ = std::min(burst(), tokens_ + rate_ * static_cast<double>(now_ns - refilled_ns_) / 1e9);
  }
  was_idle_ = false;
  refilled_ns_ = now_ns;
  return true;
}

}  // namespace nm::session
