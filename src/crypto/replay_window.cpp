#include "crypto/replay_window.h"

namespace nm::crypto {

// Bit (c % kSize) records counter c; only counters in [next_ - kSize, next_) are tracked,
// so a slot is cleared whenever the window slides past the counter it last held.

bool ReplayWindow::check(uint64_t counter) const {
  if (counter == UINT64_MAX) return false;  // 0.23 reserves it (next_ would overflow)
  if (counter >= next_) return true;
  if (next_ - 1 - counter >= kSize) return false;
  return !seen(counter);
}

bool ReplayWindow::commit(uint64_t counter) {
  if (!check(counter)) return false;
  if (counter >= next_) {
    if (counter - next_ >= kSize) {
      bits_.fill(0);
    } else {
      for (uint64_t c = next_; c < counter; ++c) {
        bits_[(c % kSize) / 64] &= ~(uint64_t{1} << (c % 64));
      }
    }
    next_ = counter + 1;
  }
  bits_[(counter % kSize) / 64] |= uint64_t{1} << (counter % 64);
  return true;
}

bool ReplayWindow::seen(uint64_t counter) const {
  return (bits_[(counter % kSize) / 64] >> (counter % 64)) & 1;
}

}  // namespace nm::crypto
