// NewReno (RFC 9002 §7, Appendix B): slow start doubles the window every round trip;
// congestion avoidance adds one datagram per window acknowledged; a congestion event halves it.
#pragma once
#include "session/congestion.h"

namespace nm::session {

class NewReno : public CongestionController {
 public:
  using CongestionController::CongestionController;
  CongestionAlgorithm algorithm() const override { return CongestionAlgorithm::kNewReno; }
  std::unique_ptr<CongestionController> clone() const override { return std::make_unique<NewReno>(*this); }

 protected:
  void grow(int64_t now_ns, uint64_t bytes, int64_t sent_ns, const RttStats& rtt) override;
  void reduce(int64_t now_ns) override;

 private:
  uint64_t acked_in_window_ = 0;  // congestion avoidance: bytes towards the next datagram
};

}  // namespace nm::session
