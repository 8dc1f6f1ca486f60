#include "session/bbr.h"

#include <algorithm>

namespace nm::session {

Bbr::Bbr(uint64_t max_datagram) : CongestionController(max_datagram) {}

double Bbr::bandwidth() const { return *std::max_element(round_max_.begin(), round_max_.end()); }

double Bbr::pacing_gain() const {
  switch (mode_) {
    case Mode::kStartup: return kHighGain;
    case Mode::kDrain: return kDrainGain;
    case Mode::kProbeBw: return kCycleGains[cycle_index_];
    case Mode::kProbeRtt: return 1;
  }
  return 1;
}

uint64_t Bbr::inflight(double gain) const {
  double bw = bandwidth();
  if (bw == 0 || min_rtt_ns_ == INT64_MAX) return kInitialPackets * mds_;
  // Clamped before the cast (out of range is undefined): a day-long RTT sample times an old
  // bandwidth estimate goes past 2^64.
  double bytes = gain * bw * static_cast<double>(min_rtt_ns_) / 1e9;
  return bytes >= 0x1p62 ? uint64_t{1} << 62 : static_cast<uint64_t>(bytes);
}

double Bbr::pacing_rate(const RttStats& rtt) const {
  if (pacing_rate_ > 0) return pacing_rate_;
  return kHighGain * static_cast<double>(cwnd_) * 1e9 / static_cast<double>(rtt.smoothed());
}

void Bbr::on_rate_sample(int64_t now_ns, const RateSample& s, const RttStats& rtt, bool rtt_sampled) {
  if (s.acked == 0) return;
  uint64_t prior_in_flight = in_flight_ + s.acked;
  bool round_start = start_round(s);
  update_bandwidth(s);
  check_full_pipe(s, round_start);
  if (mode_ == Mode::kStartup && filled_pipe_) {
    mode_ = Mode::kDrain;
    ssthresh_ = inflight(1);  // reported: slow start is over
  }
  if (mode_ == Mode::kDrain && in_flight_ <= inflight(1)) enter_probe_bw(now_ns);
  if (mode_ == Mode::kProbeBw) advance_cycle(now_ns, prior_in_flight);
  update_min_rtt(now_ns, rtt, rtt_sampled, round_start);
  double rate = pacing_gain() * bandwidth();
  // In Startup the rate only rises: an early sample from a few datagrams is not the path.
  if (rate > 0 && (filled_pipe_ || rate > pacing_rate_)) pacing_rate_ = rate;
  set_window(s);
}

bool Bbr::start_round(const RateSample& s) {
  if (s.prior_delivered < next_round_delivered_) return false;
  next_round_delivered_ = s.delivered;
  ++round_;
  return true;
}

void Bbr::update_bandwidth(const RateSample& s) {
  if (s.bytes_per_sec <= 0) return;
  // An interval shorter than the propagation delay is a burst of acknowledgements.
  if (min_rtt_ns_ != INT64_MAX && s.interval_ns < min_rtt_ns_) return;
  // An application-limited sample can only raise the estimate.
  if (s.app_limited && s.bytes_per_sec < bandwidth()) return;
  // Rounds since the last admitted sample leave the window (their slots are the rounds ten
  // before): only admitted samples age it, so application-limited rounds keep the estimate.
  for (uint64_t r = round_; r > filter_round_ && round_ - r < kBandwidthRounds; --r) round_max_[r % kBandwidthRounds] = 0;
  filter_round_ = round_;
  double& slot = round_max_[round_ % kBandwidthRounds];
  slot = std::max(slot, s.bytes_per_sec);
}

void Bbr::check_full_pipe(const RateSample& s, bool round_start) {
  if (filled_pipe_ || !round_start || s.app_limited) return;
  if (bandwidth() >= full_bandwidth_ * kFullBandwidthGrowth) {
    full_bandwidth_ = bandwidth();
    full_bandwidth_rounds_ = 0;
    return;
  }
  if (++full_bandwidth_rounds_ >= kFullBandwidthRounds) filled_pipe_ = true;
}

void Bbr::enter_probe_bw(int64_t now_ns) {
  mode_ = Mode::kProbeBw;
  // Start in a phase other than the draining one, varied by the round count so that flows
  // sharing a bottleneck do not probe in step.
  size_t phase = round_ % (kCycleGains.size() - 1);
  cycle_index_ = phase == 0 ? 0 : phase + 1;
  cycle_start_ns_ = now_ns;
}

void Bbr::advance_cycle(int64_t now_ns, uint64_t prior_in_flight) {
  double gain = kCycleGains[cycle_index_];
  bool full_length = now_ns - cycle_start_ns_ > min_rtt_ns_;
  bool next;
  if (gain > 1) {
    next = full_length && prior_in_flight >= inflight(gain);  // probed with the larger flight
  } else if (gain < 1) {
    next = full_length || prior_in_flight <= inflight(1);  // the queue it made is gone
  } else {
    next = full_length;
  }
  if (!next) return;
  cycle_index_ = (cycle_index_ + 1) % kCycleGains.size();
  cycle_start_ns_ = now_ns;
}

void Bbr::update_min_rtt(int64_t now_ns, const RttStats& rtt, bool rtt_sampled, bool round_start) {
  bool expired = min_rtt_ns_ != INT64_MAX && now_ns > min_rtt_stamp_ns_ + kMinRttWindowNs;
  if (rtt_sampled && (rtt.latest() <= min_rtt_ns_ || expired)) {
    min_rtt_ns_ = rtt.latest();
    min_rtt_stamp_ns_ = now_ns;
  }
  if (expired && mode_ != Mode::kProbeRtt) {
    mode_ = Mode::kProbeRtt;
    window_before_probe_rtt_ = std::max(cwnd_, window_before_probe_rtt_);
    probe_rtt_done_ns_ = 0;
  }
  if (mode_ != Mode::kProbeRtt) return;
  if (probe_rtt_done_ns_ == 0) {
    if (in_flight_ > min_pipe()) return;
    probe_rtt_done_ns_ = now_ns + kProbeRttNs;  // drained: hold it for 200 ms and a round
    probe_rtt_round_done_ = false;
    next_round_delivered_ = 0;  // the next acknowledgement starts that round
    return;
  }
  if (round_start) probe_rtt_round_done_ = true;
  if (!probe_rtt_round_done_ || now_ns < probe_rtt_done_ns_) return;
  min_rtt_stamp_ns_ = now_ns;
  cwnd_ = std::max(cwnd_, window_before_probe_rtt_);
  window_before_probe_rtt_ = 0;
  if (filled_pipe_) {
    enter_probe_bw(now_ns);
  } else {
    mode_ = Mode::kStartup;
  }
}

void Bbr::set_window(const RateSample& s) {
  double gain = mode_ == Mode::kStartup ? kHighGain : kCwndGain;
  // Room for the acknowledgements a receiver holds back, beyond the bandwidth-delay product.
  uint64_t target = inflight(gain) + 3 * mds_;
  if (filled_pipe_) {
    cwnd_ = std::min(cwnd_ + s.acked, target);
  } else if (cwnd_ < target || s.delivered < kInitialPackets * mds_) {
    cwnd_ += s.acked;
  }
  cwnd_ = std::max(cwnd_, min_pipe());
  if (mode_ == Mode::kProbeRtt) cwnd_ = std::min(cwnd_, min_pipe());
}

}  // namespace nm::session
