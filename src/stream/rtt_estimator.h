// Smoothed RTT and retransmission timeout (RFC 6298), per stream.
#pragma once
#include <algorithm>
#include <cstdint>

namespace nm::stream {

class RttEstimator {
 public:
  static constexpr int64_t kInitialRto = 200'000'000;  // before any sample
  // TCP's floor (Linux tcp_rto_min): a queue filling up raises the RTT faster than the
  // estimator follows, and a timer below it resends packets that were only queued (at 40 ms
  // through a 20 Mbit/s bottleneck, a 10 ms floor resent 1,822 packets, 1,522 of which
  // arrived twice). Gaps are NACKed at once; the timer only covers tail losses.
  static constexpr int64_t kMinRto = 200'000'000;
  static constexpr int64_t kMaxRto = 2'000'000'000;
  static constexpr int64_t kMinResendGuard = 2'000'000;

  void sample(int64_t rtt_ns) {
    if (rtt_ns < 0) return;
    rtt_ns = std::max<int64_t>(rtt_ns, 1);  // 0 would read as "no sample yet"
    if (srtt_ == 0) {
      srtt_ = rtt_ns;
      rttvar_ = rtt_ns / 2;
    } else {
      int64_t err = rtt_ns > srtt_ ? rtt_ns - srtt_ : srtt_ - rtt_ns;
      rttvar_ = (3 * rttvar_ + err) / 4;
      srtt_ = (7 * srtt_ + rtt_ns) / 8;
    }
  }
  int64_t srtt() const { return srtt_; }
  // A NACKed packet re-sent less than this ago is probably still in flight.
  int64_t resend_guard() const { return std::max<int64_t>(srtt_ + 4 * rttvar_, kMinResendGuard); }
  int64_t rto() const {
    if (srtt_ == 0) return kInitialRto;
    return std::clamp(srtt_ + 4 * rttvar_, kMinRto, kMaxRto);
  }

 private:
  int64_t srtt_ = 0;
  int64_t rttvar_ = 0;
};

}  // namespace nm::stream
