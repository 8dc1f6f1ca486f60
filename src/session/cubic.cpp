#include "session/cubic.h"

#include <cmath>

namespace nm::session {

void Cubic::grow(int64_t now_ns, uint64_t bytes, int64_t sent_ns, const RttStats& rtt) {
  if (in_slow_start()) {
    slow_start(now_ns, bytes, sent_ns, rtt);
  } else {
    avoid_congestion(now_ns, bytes, rtt);
  }
}

void Cubic::slow_start(int64_t now_ns, uint64_t bytes, int64_t sent_ns, const RttStats& rtt) {
  if (sent_ns >= round_began_ns_) {  // sent once the current round began: a new round
    if (in_conservative_slow_start() && ++css_rounds_ >= kCssRounds) {
      ssthresh_ = cwnd_;  // HyStart++: slow start ends here
      css_rounds_ = -1;
      avoid_congestion(now_ns, bytes, rtt);
      return;
    }
    round_began_ns_ = now_ns;
    last_round_min_rtt_ = round_min_rtt_;
    round_min_rtt_ = INT64_MAX;
    round_samples_ = 0;
  }
  round_min_rtt_ = std::min(round_min_rtt_, rtt.latest());
  ++round_samples_;
  if (!in_conservative_slow_start()) {
    if (round_samples_ >= kRttSamples && round_min_rtt_ != INT64_MAX && last_round_min_rtt_ != INT64_MAX) {
      // The queue is building.
      if (round_min_rtt_ >= last_round_min_rtt_ + queue_delay_threshold(last_round_min_rtt_)) {
        css_baseline_rtt_ = round_min_rtt_;
        css_rounds_ = 0;
      }
    }
  } else if (round_min_rtt_ < css_baseline_rtt_) {
    css_rounds_ = -1;  // a false alarm: back to slow start
  }
  cwnd_ += in_conservative_slow_start() ? bytes / kCssGrowthDivisor : bytes;
}

double Cubic::w_cubic(double t_s) const {
  double d = t_s - k_s_;
  return kC * d * d * d * static_cast<double>(growth_unit()) + w_max_;
}

void Cubic::avoid_congestion(int64_t now_ns, uint64_t bytes, const RttStats& rtt) {
  double cwnd = static_cast<double>(cwnd_);
  if (epoch_start_ns_ == 0) {
    epoch_start_ns_ = now_ns;
    if (cwnd < w_max_) {
      k_s_ = std::cbrt((w_max_ - cwnd) / static_cast<double>(growth_unit()) / kC);
    } else {
      k_s_ = 0;
      w_max_ = cwnd;
    }
    w_est_ = cwnd;
  }
  double t = static_cast<double>(now_ns - epoch_start_ns_) / 1e9;
  double target = std::clamp(w_cubic(t + static_cast<double>(rtt.smoothed()) / 1e9), cwnd, 1.5 * cwnd);
  // Reno-friendly: what a Reno flow with the same loss rate would reach (RFC 9438 §4.3).
  double alpha = w_est_ >= w_max_ ? 1.0 : 3 * (1 - kBeta) / (1 + kBeta);
  w_est_ += alpha * static_cast<double>(bytes) * static_cast<double>(growth_unit()) / cwnd;
  double next = w_cubic(t) < w_est_ ? w_est_ : cwnd + (target - cwnd) * static_cast<double>(bytes) / cwnd;
  cwnd_ = static_cast<uint64_t>(std::max(next, cwnd));
}

void Cubic::reduce(int64_t) {
  double cwnd = static_cast<double>(cwnd_);
  // Fast convergence: a flow losing before its last maximum yields bandwidth to newcomers.
  w_max_ = cwnd < w_max_ ? cwnd * (1 + kBeta) / 2 : cwnd;
  ssthresh_ = std::max(static_cast<uint64_t>(cwnd * kBeta), min_window());
  cwnd_ = ssthresh_;
  epoch_start_ns_ = 0;
  css_rounds_ = -1;
}

void Cubic::collapse() {
  epoch_start_ns_ = 0;
  w_max_ = 0;
  css_rounds_ = -1;
}

}  // namespace nm::session
