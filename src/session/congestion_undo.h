// Undoing a window reduction whose losses all proved spurious: every datagram declared lost
// in that congestion event was acknowledged after all (the path reordered it past the loss
// thresholds, or an acknowledgement came late), so nothing was lost and the controller goes
// back to the state it had before the event, as Linux TCP undoes a reduction that DSACKs
// show spurious. Without it a path that reorders 1% of its packets cuts the window as often
// as one that loses 1%. Pure bookkeeping around a copy of the controller.
#pragma once
#include <cstdint>
#include <memory>

#include "session/congestion.h"
#include "session/loss_detector.h"

namespace nm::session {

class CongestionUndo {
 public:
  // `d` was declared lost and is about to be given to `cc` as congestion.
  void before_loss(const CongestionController& cc, const SentDatagram& d) {
    if (cc.algorithm() == CongestionAlgorithm::kBbr) return;  // BBR does not reduce for a loss
    if (cc.starts_congestion_event(d.sent_ns)) {
      before_ = cc.clone();
      first_pn_ = d.pn;
      losses_ = spurious_ = 0;
    }
    if (before_) ++losses_;
  }
  // An acknowledgement showed the loss of datagram `pn` spurious. Once every loss of the
  // latest event has, returns the controller as it was before the event (else null).
  std::unique_ptr<CongestionController> on_spurious(uint64_t pn) {
    if (!before_ || pn < first_pn_ || ++spurious_ < losses_) return nullptr;
    return std::move(before_);
  }
  // The controller was replaced or reset (persistent congestion, a black hole's undo, a
  // new path): the saved state no longer precedes it.
  void forget() { before_.reset(); }

 private:
  std::unique_ptr<CongestionController> before_;
  uint64_t first_pn_ = 0;  // the event's first loss: losses are declared in increasing numbers
  uint64_t losses_ = 0;    // declared lost in the event so far
  uint64_t spurious_ = 0;  // of those, acknowledged later
};

}  // namespace nm::session
