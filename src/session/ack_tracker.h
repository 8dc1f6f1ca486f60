// The receiving side of session acknowledgements (wire/ack_frame.h): which packet numbers
// arrived, and when to say so. Pure logic, time passed in.
//
//  * Every kAckEvery ack-eliciting datagrams are acknowledged at once, and any datagram
//    that arrives out of order (a gap below it, or below the largest) at once: the sender
//    detects loss from it. Others wait at most kMaxAckDelayNs (the recovery tick).
//  * The acknowledgement lists the newest kMaxAckRanges ranges (older ones were reported
//    before; a sender missing them takes the datagrams for lost, as in QUIC).
#pragma once
#include <cstdint>
#include <vector>

#include "wire/ack_frame.h"

namespace nm::session {

class AckTracker {
 public:
  static constexpr uint32_t kAckEvery = 2;
  static constexpr int64_t kMaxAckDelayNs = 10'000'000;  // advertised to the sender's RTT

  void on_packet(uint64_t pn, bool ack_eliciting, int64_t now_ns);

  enum class When { kNothing, kLater, kNow };
  When when(int64_t now_ns) const;
  // The acknowledgement of everything recorded, with the delay since the largest arrived.
  wire::AckFrame take(int64_t now_ns);
  bool any() const { return !ranges_.empty(); }
  size_t ranges() const { return ranges_.size(); }  // in the next acknowledgement

 private:
  std::vector<wire::AckRange> ranges_;  // descending
  int64_t largest_at_ns_ = 0;
  int64_t first_unreported_ns_ = 0;
  uint32_t unreported_ = 0;      // ack-eliciting datagrams since the last acknowledgement
  bool reordered_ = false;       // one arrived out of order since then
};

}  // namespace nm::session
