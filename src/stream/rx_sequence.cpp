#include "stream/rx_sequence.h"

namespace nm::stream {

RxSequence::Verdict RxSequence::record(uint64_t seq, bool dedup, bool detect_restart) {
  if (seq >= next_) {
    uint64_t skipped = seq - next_;
    gaps_ += skipped;
    if (skipped >= kWindow) {
      bits_.reset();
    } else {
      for (uint64_t s = next_; s < seq; ++s) bits_.reset(s % kWindow);
    }
    bits_.set(seq % kWindow);
    next_ = seq + 1;
    return Verdict::kNew;
  }
  if (next_ - seq > kWindow) {  // far behind: the peer restarted the stream
    bits_.reset();
    bits_.set(seq % kWindow);
    next_ = seq + 1;
    return Verdict::kNew;
  }
  if (dedup && seen(seq)) {
    if (!detect_restart || seq >= kRestartSeqs || next_ - 1 <= seq) return Verdict::kDuplicate;
    bits_.reset();
    bits_.set(seq % kWindow);
    next_ = seq + 1;
    return Verdict::kRestart;
  }
  if (!seen(seq) && gaps_ > 0) --gaps_;  // a late packet fills a gap
  bits_.set(seq % kWindow);
  return Verdict::kNew;
}

}  // namespace nm::stream
