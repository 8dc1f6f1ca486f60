// BBR (draft-cardwell-iccrg-bbr-congestion-control, version 1): a model-based controller.
// It estimates the path's bottleneck bandwidth (the highest delivery rate of the last ten
// round trips) and its propagation delay (the lowest RTT of the last ten seconds), paces at
// a gain times that bandwidth, and keeps about two bandwidth-delay products in flight.
// Random loss does not shrink it: on a lossy long path (5% at 200 ms) a loss-based
// controller collapses, BBR keeps the rate it measures.
//
//  * Startup: pacing and window gain 2/ln 2, until the bandwidth stops growing by a quarter
//    for three rounds (the pipe is full); Drain then empties the queue Startup made.
//  * ProbeBW: a cycle of eight min-RTT phases paced at 1.25, 0.75, then 1 x bandwidth, to
//    find more bandwidth and give back the queue that probing made.
//  * ProbeRTT: when the minimum RTT is ten seconds old, four datagrams in flight for 200 ms
//    and a round, so the queue drains and the propagation delay is measured again.
// A round trip ends when a datagram sent after the previous round ended is acknowledged.
#pragma once
#include <array>

#include "session/congestion.h"

namespace nm::session {

class Bbr : public CongestionController {
 public:
  static constexpr double kHighGain = 2.885;  // 2 / ln 2: doubles the rate each round
  static constexpr double kDrainGain = 1 / kHighGain;
  static constexpr double kCwndGain = 2;
  static constexpr std::array<double, 8> kCycleGains = {1.25, 0.75, 1, 1, 1, 1, 1, 1};
  static constexpr int kBandwidthRounds = 10;
  static constexpr int64_t kMinRttWindowNs = 10'000'000'000;
  static constexpr int64_t kProbeRttNs = 200'000'000;
  static constexpr uint64_t kMinPipePackets = 4;
  static constexpr int kFullBandwidthRounds = 3;
  static constexpr double kFullBandwidthGrowth = 1.25;

  enum class Mode : uint8_t { kStartup, kDrain, kProbeBw, kProbeRtt };

  explicit Bbr(uint64_t max_datagram);
  CongestionAlgorithm algorithm() const override { return CongestionAlgorithm::kBbr; }
  std::unique_ptr<CongestionController> clone() const override { return std::make_unique<Bbr>(*this); }
  void on_rate_sample(int64_t now_ns, const RateSample& sample, const RttStats& rtt, bool rtt_sampled) override;
  double pacing_rate(const RttStats& rtt) const override;

  Mode mode() const { return mode_; }
  double bandwidth() const;  // bytes per second; 0 before the first sample
  int64_t min_rtt() const { return min_rtt_ns_; }

 protected:
  // The model sets the window (on_rate_sample); acknowledgements and losses do not.
  void grow(int64_t, uint64_t, int64_t, const RttStats&) override {}
  void reduce(int64_t) override {}
  void on_congestion_event(int64_t, uint64_t, const RttStats&) override {}
  void collapse() override {}  // after persistent congestion the window grows back to the model's

 private:
  double pacing_gain() const;
  // The smallest window: what ProbeRTT keeps in flight.
  uint64_t min_pipe() const { return kMinPipePackets * mds_; }
  // Bytes in flight for `gain` bandwidth-delay products (the initial window without a model).
  uint64_t inflight(double gain) const;
  bool start_round(const RateSample& s);
  void update_bandwidth(const RateSample& s);
  void check_full_pipe(const RateSample& s, bool round_start);
  void advance_cycle(int64_t now_ns, uint64_t prior_in_flight);
  void enter_probe_bw(int64_t now_ns);
  void update_min_rtt(int64_t now_ns, const RttStats& rtt, bool rtt_sampled, bool round_start);
  void set_window(const RateSample& s);

  Mode mode_ = Mode::kStartup;
  // Bandwidth: the highest sample of each of the last kBandwidthRounds rounds.
  std::array<double, kBandwidthRounds> round_max_{};
  uint64_t round_ = 0;
  uint64_t filter_round_ = 0;  // the round of the last sample admitted
  uint64_t next_round_delivered_ = 0;
  // Startup ends when the bandwidth stops growing.
  bool filled_pipe_ = false;
  double full_bandwidth_ = 0;
  int full_bandwidth_rounds_ = 0;
  // ProbeBW's gain cycle.
  size_t cycle_index_ = 0;
  int64_t cycle_start_ns_ = 0;
  // Propagation delay and ProbeRTT.
  int64_t min_rtt_ns_ = INT64_MAX;
  int64_t min_rtt_stamp_ns_ = 0;
  int64_t probe_rtt_done_ns_ = 0;  // 0: ProbeRTT has not yet drained to its window
  bool probe_rtt_round_done_ = false;
  uint64_t window_before_probe_rtt_ = 0;
  double pacing_rate_ = 0;  // 0 until the first bandwidth sample
};

}  // namespace nm::session
