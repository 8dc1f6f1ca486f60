// CUBIC (RFC 9438) with HyStart++ (RFC 9406), the default congestion controller.
//
//  * Slow start grows the window by what was acknowledged. HyStart++ watches the round
//    trip: when a round's minimum RTT rises by a threshold over the previous round's (the
//    bottleneck queue starts to fill), slow start turns conservative (a quarter of the
//    growth) for a few rounds and then ends, instead of overshooting into loss.
//  * After a congestion event the window is cut to beta = 0.7 of itself and grows along
//    the cubic W(t) = C (t - K)^3 + W_max, flat around the window where the loss happened;
//    never slower than a Reno flow would (the Reno-friendly estimate).
#pragma once
#include "session/congestion.h"

namespace nm::session {

class Cubic : public CongestionController {
 public:
  static constexpr double kC = 0.4;      // segments / s^3
  static constexpr double kBeta = 0.7;
  // HyStart++ (RFC 9406 §4.3)
  static constexpr int kRttSamples = 8;
  static constexpr uint64_t kCssGrowthDivisor = 4;
  static constexpr int kCssRounds = 5;

  using CongestionController::CongestionController;
  CongestionAlgorithm algorithm() const override { return CongestionAlgorithm::kCubic; }
  std::unique_ptr<CongestionController> clone() const override { return std::make_unique<Cubic>(*this); }
  bool in_conservative_slow_start() const { return css_rounds_ >= 0; }

 protected:
  void grow(int64_t now_ns, uint64_t bytes, int64_t sent_ns, const RttStats& rtt) override;
  void reduce(int64_t now_ns) override;
  void collapse() override;

 private:
  void slow_start(int64_t now_ns, uint64_t bytes, int64_t sent_ns, const RttStats& rtt);
  void avoid_congestion(int64_t now_ns, uint64_t bytes, const RttStats& rtt);
  double w_cubic(double t_s) const;  // bytes

  // Congestion avoidance epoch.
  double w_max_ = 0;            // bytes: the window at the last congestion event
  double k_s_ = 0;              // seconds for the cubic to return to w_max_
  int64_t epoch_start_ns_ = 0;  // 0: the epoch starts at the next acknowledgement
  double w_est_ = 0;            // the Reno-friendly estimate, bytes
  // HyStart++: rounds end when a datagram sent after the round began is acknowledged.
  int64_t round_began_ns_ = INT64_MIN;
  int64_t last_round_min_rtt_ = INT64_MAX;
  int64_t round_min_rtt_ = INT64_MAX;
  int round_samples_ = 0;
  int css_rounds_ = -1;         // >= 0: in conservative slow start, rounds so far
  int64_t css_baseline_rtt_ = INT64_MAX;
};

}  // namespace nm::session
