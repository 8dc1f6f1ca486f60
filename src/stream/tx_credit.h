// Sender side of the byte-credit window (wire spec §9): a packet costs plaintext + 84 bytes;
// the receiver's cumulative StreamWindow grants give credit back.
#pragma once
#include <algorithm>
#include <cstdint>

namespace nm::stream {

class TxCredit {
 public:
  explicit TxCredit(uint32_t window) : window_(window), credit_(window) {}

  bool unbounded() const { return window_ == 0; }
  uint64_t window() const { return window_; }
  uint64_t remaining() const { return unbounded() ? UINT64_MAX : credit_; }

  // Charges `cost` if the window allows it.
  bool try_acquire(uint64_t cost) {
    if (unbounded()) return true;
    if (credit_ < cost) return false;
    credit_ -= cost;
    sent_ += cost;
    return true;
  }
  enum class Grant { kStale, kApplied, kClamped };
  // 0.23's apply_authoritative_grant: grants are cumulative; stale or inflated totals are
  // clamped so a peer can never push credit above the window.
  Grant apply_grant(uint64_t total_consumed) {
    if (unbounded()) return Grant::kStale;
    bool inflated = total_consumed > sent_;
    uint64_t tc = std::min(total_consumed, sent_);
    if (tc <= max_seen_) return inflated ? Grant::kClamped : Grant::kStale;
    credit_ = std::min<uint64_t>(credit_ + (tc - max_seen_), window_);
    max_seen_ = tc;
    return inflated ? Grant::kClamped : Grant::kApplied;
  }

 private:
  uint64_t window_;
  uint64_t credit_;
  uint64_t sent_ = 0;      // bytes charged so far
  uint64_t max_seen_ = 0;  // highest total_consumed applied
};

}  // namespace nm::stream
