// A session's congestion controller: how many bytes may be in flight, over all its
// streams, retransmissions included (RFC 9002 §7). The credit windows of streams stay flow
// control only. Pure logic: time in nanoseconds passed in, no sockets.
//
// The window starts at kInitialPackets datagrams and never goes below kMinimumPackets. A
// congestion event (a lost datagram) shrinks it at most once per round trip: losses of
// datagrams sent before the current recovery period began are part of the same event.
// Slow start overshoots: by the time a loss is seen the window has grown for a round trip
// past what the path held. When slow start ends in a loss with the queue full (the RTT
// risen by HyStart++'s threshold), the reduction starts from the flight when the lost
// datagram left, not from the window grown since (else the next round overflows again).
// A reduction with the queue full, in slow start or after, stops at what the path holds
// without its queue: a queue shallower than 0.4 x the path would else leave the link idle
// while the window climbs back (a 50 ms queue on a 300 ms path: for seconds).
// Persistent congestion (RFC 9002 §7.6) collapses it to the minimum. The window grows only
// while the sender uses it (not when the application is what limits the rate).
//
// That is the loss-based controllers' part (CUBIC, NewReno). A model-based one (BBR) sets
// the window and the pacing rate from delivery rate samples instead (on_rate_sample,
// pacing_rate) and takes a congestion event as no reason to shrink.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>

#include "session/delivery_rate.h"
#include "session/rtt_stats.h"

namespace nm::session {

enum class CongestionAlgorithm : uint8_t { kCubic = 0, kNewReno = 1, kBbr = 2 };

// How far the RTT must rise above its minimum to say a queue is building (HyStart++'s
// threshold, RFC 9406 §4.2: an eighth of the minimum, within [4, 16] ms).
inline int64_t queue_delay_threshold(int64_t min_rtt_ns) {
  return std::clamp<int64_t>(min_rtt_ns / 8, 4'000'000, 16'000'000);
}

class CongestionController {
 public:
  static constexpr uint64_t kInitialPackets = 10;
  static constexpr uint64_t kMinimumPackets = 2;
  static constexpr uint64_t kTcpSegmentBytes = 1460;  // see growth_unit()

  explicit CongestionController(uint64_t max_datagram);
  virtual ~CongestionController() = default;

  uint64_t window() const { return cwnd_; }
  uint64_t in_flight() const { return in_flight_; }
  // With nothing in flight one datagram always may go, however large: a packet built before
  // the datagram size fell (it leaves in pieces) must not wait for a window it exceeds.
  bool can_send(uint64_t bytes) const { return in_flight_ == 0 || in_flight_ + bytes <= cwnd_; }
  // What the window has room for beyond the flight (0 when full).
  uint64_t room() const { return cwnd_ - std::min(cwnd_, in_flight_); }
  bool in_slow_start() const { return cwnd_ < ssthresh_; }
  uint64_t ssthresh() const { return ssthresh_; }
  uint64_t max_datagram() const { return mds_; }
  // The path's datagram size changed (path MTU discovery): the window keeps its bytes
  // (before any loss, at least the initial window at the new size; at least the minimum).
  void set_max_datagram(uint64_t bytes);

  void on_sent(uint64_t bytes) { in_flight_ += bytes; }
  // A datagram sent at sent_ns was acknowledged. `prior_in_flight`: the bytes in flight
  // before the acknowledgement that carries it was processed (all datagrams one
  // acknowledgement covers are judged against the same flight).
  void on_acked(int64_t now_ns, uint64_t bytes, int64_t sent_ns, const RttStats& rtt,
                uint64_t prior_in_flight);
  // A datagram sent at sent_ns was declared lost. `flight_when_sent`: the bytes in flight
  // once it had left (0 if unknown); `rtt` tells whether the bottleneck queue was full.
  void on_lost(int64_t now_ns, uint64_t bytes, int64_t sent_ns, uint64_t flight_when_sent = 0,
               const RttStats& rtt = RttStats());
  void on_persistent_congestion();
  // Whether the loss of a datagram sent at sent_ns would start a congestion event (not sent
  // within the current recovery period).
  bool starts_congestion_event(int64_t sent_ns) const { return !in_recovery(sent_ns); }
  // Once an acknowledgement's datagrams are in (acknowledged and lost): its delivery rate
  // sample, and whether it brought an RTT sample.
  virtual void on_rate_sample(int64_t /*now_ns*/, const RateSample& /*sample*/, const RttStats& /*rtt*/,
                              bool /*rtt_sampled*/) {}
  // The rate the session's datagrams leave at, bytes per second: by default 1.25 x cwnd / srtt.
  virtual double pacing_rate(const RttStats& rtt) const;
  // A datagram left the flight without being acknowledged or lost (its stream went away).
  void on_discarded(uint64_t bytes) { in_flight_ -= std::min(in_flight_, bytes); }

  virtual CongestionAlgorithm algorithm() const = 0;
  // A copy of the whole state, to go back to with undo().
  virtual std::unique_ptr<CongestionController> clone() const = 0;
  // Puts back the state `earlier` (a clone of `cc`) had: the losses since were not
  // congestion (a path MTU black hole lost them to their size, or they proved spurious).
  // The flight and the count of congestion events stay as they are.
  static void undo(std::unique_ptr<CongestionController>& cc, std::unique_ptr<CongestionController> earlier);
  // Window reductions so far: one per congestion event, persistent congestion included.
  uint64_t congestion_events() const { return congestion_events_; }

 protected:
  // How the window grows after `bytes` were acknowledged, outside recovery.
  virtual void grow(int64_t now_ns, uint64_t bytes, int64_t sent_ns, const RttStats& rtt) = 0;
  // A congestion event (the first loss of a recovery period): by default the loss-based
  // response, reduce() from the window (or from the flight if slow start overshot).
  virtual void on_congestion_event(int64_t now_ns, uint64_t flight_when_sent, const RttStats& rtt);
  // The window after a congestion event (sets ssthresh_ and cwnd_).
  virtual void reduce(int64_t now_ns) = 0;
  virtual void collapse() {}  // persistent congestion: forget the state of the last epoch

  uint64_t min_window() const { return kMinimumPackets * mds_; }
  // What congestion avoidance adds per round trip (Reno) and scales CUBIC's curve by: a
  // TCP segment, not a datagram, so a session with large datagrams (8 KiB between netmesh
  // nodes until path MTU discovery) grows no faster than the TCP flows it shares a path with.
  uint64_t growth_unit() const { return std::min<uint64_t>(mds_, kTcpSegmentBytes); }

  uint64_t mds_;
  uint64_t cwnd_;
  uint64_t ssthresh_ = UINT64_MAX;
  uint64_t in_flight_ = 0;
  int64_t recovery_start_ns_ = INT64_MIN;

 private:
  uint64_t congestion_events_ = 0;
  bool in_recovery(int64_t sent_ns) const { return sent_ns <= recovery_start_ns_; }
};

std::unique_ptr<CongestionController> make_congestion_controller(CongestionAlgorithm algorithm,
                                                                 uint64_t max_datagram);

}  // namespace nm::session
