// The receiving side of session acknowledgements (wire/ack_frame.h): which packet numbers
// arrived, and when to say so. Pure logic, time passed in.
//
//  * Every kAckEvery ack-eliciting datagrams are acknowledged at once, and any datagram
//    that arrives out of order (a gap below it, or below the largest) at once: the sender
//    detects loss from it. Others wait at most kMaxAckDelayNs (the recovery tick).
//  * The acknowledgement lists the newest range and, below it, each range until
//    kReportsPerRange acknowledgements have listed it unchanged (as TCP repeats a SACK
//    block in three: a range is 16 bytes on the wire, and listing every gap of the last
//    32 in every acknowledgement made them up to ~600 bytes each, more than an
//    asymmetric link's way back carries), at most kMaxAckRanges. A sender that missed
//    all of those reports takes the datagrams for lost, as in QUIC.
#pragma once
#include <cstdint>
#include <vector>

#include "wire/ack_frame.h"

namespace nm::session {

class AckTracker {
 public:
  static constexpr uint32_t kAckEvery = 2;
  static constexpr int64_t kMaxAckDelayNs = 10'000'000;  // advertised to the sender's RTT
  static constexpr uint32_t kReportsPerRange = 4;

  void on_packet(uint64_t pn, bool ack_eliciting, int64_t now_ns);

  enum class When { kNothing, kLater, kNow };
  When when(int64_t now_ns) const;
  // The acknowledgement of everything recorded, with the delay since the largest arrived.
  wire::AckFrame take(int64_t now_ns);
  bool any() const { return !ranges_.empty(); }
  size_t ranges() const { return ranges_.size(); }  // in the next acknowledgement

 private:
  struct Tracked {
    wire::AckRange range;
    uint32_t reports = 0;  // acknowledgements that listed it as it is
  };
  std::vector<Tracked> ranges_;  // descending
  int64_t largest_at_ns_ = 0;
  int64_t first_unreported_ns_ = 0;
  uint32_t unreported_ = 0;      // ack-eliciting datagrams since the last acknowledgement
  bool reordered_ = false;       // one arrived out of order since then
};

}  // namespace nm::session
