// A session's round-trip estimate (RFC 9002 §5). Every sample is unambiguous: it comes from
// the acknowledgement of one datagram, identified by its packet number (a retransmission
// travels in a new datagram with a new number). The first sample can be the handshake's
// (msg1 sent -> msg2 received). Pure logic, time in nanoseconds passed in.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace nm::session {

class RttStats {
 public:
  static constexpr int64_t kInitialRttNs = 333'000'000;  // RFC 9002 before any sample
  static constexpr int64_t kGranularityNs = 1'000'000;   // timer granularity

  // One sample: `latest` from sending the datagram to its acknowledgement, `ack_delay` the
  // time the peer held the acknowledgement (trusted up to max_ack_delay).
  void on_sample(int64_t latest_ns, int64_t ack_delay_ns, int64_t max_ack_delay_ns) {
    if (latest_ns <= 0) latest_ns = 1;
    latest_ = latest_ns;
    if (!has_sample()) {
      min_ = smoothed_ = latest_ns;
      var_ = latest_ns / 2;
      return;
    }
    min_ = std::min(min_, latest_ns);
    int64_t ack_delay = std::clamp<int64_t>(ack_delay_ns, 0, max_ack_delay_ns);
    // An ack delay that would take the sample below the minimum is not believed.
    int64_t adjusted = latest_ns >= min_ + ack_delay ? latest_ns - ack_delay : latest_ns;
    var_ = (3 * var_ + std::llabs(smoothed_ - adjusted)) / 4;
    smoothed_ = (7 * smoothed_ + adjusted) / 8;
  }

  bool has_sample() const { return smoothed_ != 0; }
  int64_t smoothed() const { return has_sample() ? smoothed_ : kInitialRttNs; }
  int64_t rttvar() const { return has_sample() ? var_ : kInitialRttNs / 2; }
  int64_t min() const { return has_sample() ? min_ : kInitialRttNs; }
  int64_t latest() const { return has_sample() ? latest_ : kInitialRttNs; }
  // Probe timeout before backoff (RFC 9002 §6.2.1).
  int64_t pto(int64_t max_ack_delay_ns) const {
    return smoothed() + std::max(4 * rttvar(), kGranularityNs) + max_ack_delay_ns;
  }

 private:
  int64_t latest_ = 0, min_ = 0, smoothed_ = 0, var_ = 0;
};

}  // namespace nm::session
