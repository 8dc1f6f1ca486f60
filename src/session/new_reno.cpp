#include "session/new_reno.h"

namespace nm::session {

void NewReno::grow(int64_t, uint64_t bytes, int64_t, const RttStats&) {
  if (in_slow_start()) {
    cwnd_ += bytes;
    return;
  }
  acked_in_window_ += bytes;
  if (acked_in_window_ >= cwnd_) {
    acked_in_window_ -= cwnd_;
    cwnd_ += growth_unit();
  }
}

void NewReno::reduce(int64_t) {
  ssthresh_ = std::max(cwnd_ / 2, min_window());
  cwnd_ = ssthresh_;
  acked_in_window_ = 0;
}

}  // namespace nm::session
