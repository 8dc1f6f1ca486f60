#include "stream/loss_ledger.h"

namespace nm::stream {

bool LossLedger::on_arrival(uint64_t seq, uint64_t charged_before, uint32_t cost, int64_t now_ns) {
  if (seq == next_seq_ && ahead_.empty()) {  // in order: nothing to remember
    charged_through_ = charged_before + cost;
    ++next_seq_;
    return true;
  }
  if (seq < next_seq_ || ahead_.count(seq)) return false;
  ahead_.emplace(seq, Ahead{charged_before, cost, now_ns});
  advance();
  return true;
}

void LossLedger::advance() {
  for (auto it = ahead_.begin(); it != ahead_.end() && it->first == next_seq_; it = ahead_.erase(it)) {
    charged_through_ = it->second.charged_before + it->second.cost;
    ++next_seq_;
  }
}

uint64_t LossLedger::settle(int64_t now_ns) {
  uint64_t lost = 0;
  while (!ahead_.empty()) {
    auto first = ahead_.begin();
    uint64_t highest = ahead_.rbegin()->first;
    bool explained = highest - next_seq_ < kReorderSeqs && now_ns - first->second.arrived_ns < kReorderNs &&
                     ahead_.size() < kMaxAhead;
    if (explained) break;
    // Everything between next_seq_ and the first packet that did arrive is gone.
    if (first->second.charged_before > charged_through_)
      lost += first->second.charged_before - charged_through_;
    next_seq_ = first->first;
    charged_through_ = first->second.charged_before;
    advance();
  }
  return lost;
}

}  // namespace nm::stream
