#include "session/congestion.h"

#include "session/bbr.h"
#include "session/cubic.h"
#include "session/new_reno.h"

namespace nm::session {

CongestionController::CongestionController(uint64_t max_datagram)
    : mds_(max_datagram), cwnd_(kInitialPackets * max_datagram) {}

void CongestionController::set_max_datagram(uint64_t bytes) {
  mds_ = bytes;
  // The window is bytes the path holds: it stays, except that before the first congestion
  // event the initial window is taken again at the new size (RFC 9002 §7.2).
  if (ssthresh_ == UINT64_MAX) cwnd_ = std::max(cwnd_, kInitialPackets * mds_);
  cwnd_ = std::max(cwnd_, min_window());
}

void CongestionController::on_acked(int64_t now_ns, uint64_t bytes, int64_t sent_ns, const RttStats& rtt,
                                    uint64_t prior_in_flight) {
  // Grow only while the window is what limits the sender: in slow start a flight of half
  // the window, in congestion avoidance one within a few datagrams of it.
  bool limited = in_slow_start() ? 2 * prior_in_flight >= cwnd_ : prior_in_flight + 3 * mds_ >= cwnd_;
  in_flight_ -= std::min(in_flight_, bytes);
  if (in_recovery(sent_ns) || !limited) return;
  grow(now_ns, bytes, sent_ns, rtt);
}

void CongestionController::on_lost(int64_t now_ns, uint64_t bytes, int64_t sent_ns,
                                   uint64_t flight_when_sent, const RttStats& rtt) {
  in_flight_ -= std::min(in_flight_, bytes);
  if (in_recovery(sent_ns)) return;  // the same event: one reduction per round trip
  recovery_start_ns_ = now_ns;
  ++congestion_events_;
  on_congestion_event(now_ns, flight_when_sent, rtt);
}

void CongestionController::on_congestion_event(int64_t now_ns, uint64_t flight_when_sent, const RttStats& rtt) {
  bool queue_full = rtt.has_sample() && rtt.latest() >= rtt.min() + queue_delay_threshold(rtt.min());
  // What the path holds is known from the flight the lost datagram left with (0: unknown).
  bool path_known = queue_full && flight_when_sent > 0;
  bool overshot = in_slow_start() && path_known;
  if (overshot) cwnd_ = std::min(cwnd_, flight_when_sent);
  reduce(now_ns);
  if (path_known) {
    // That flight filled the path and its queue: at the minimum RTT the path alone holds
    // flight x min / latest (the rate it delivered at, over the empty queue's round trip).
    // Cut to less and a queue shallower than 0.4 x the path (beta's 0.7 of path + queue)
    // leaves the link idle while the window climbs back (for seconds at 300 ms). The cut
    // still empties the queue, so flows sharing it keep their shares and converge as before.
    double path = static_cast<double>(flight_when_sent) * static_cast<double>(rtt.min()) /
                  static_cast<double>(rtt.latest());
    cwnd_ = std::max(cwnd_, static_cast<uint64_t>(path));
    ssthresh_ = cwnd_;
  }
  cwnd_ = std::max(cwnd_, min_window());
}

void CongestionController::on_persistent_congestion() {
  ++congestion_events_;
  cwnd_ = min_window();
  recovery_start_ns_ = INT64_MIN;
  collapse();
}

void CongestionController::undo(std::unique_ptr<CongestionController>& cc,
                                std::unique_ptr<CongestionController> earlier) {
  earlier->in_flight_ = cc->in_flight_;
  earlier->congestion_events_ = cc->congestion_events_;
  cc = std::move(earlier);
}

double CongestionController::pacing_rate(const RttStats& rtt) const {
  return 1.25 * static_cast<double>(cwnd_) * 1e9 / static_cast<double>(rtt.smoothed());
}

std::unique_ptr<CongestionController> make_congestion_controller(CongestionAlgorithm algorithm,
                                                                 uint64_t max_datagram) {
  if (algorithm == CongestionAlgorithm::kNewReno) return std::make_unique<NewReno>(max_datagram);
  if (algorithm == CongestionAlgorithm::kBbr) return std::make_unique<Bbr>(max_datagram);
  return std::make_unique<Cubic>(max_datagram);
}

}  // namespace nm::session
