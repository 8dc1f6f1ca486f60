// The receiving side of session acknowledgements (wire/ack_frame.h): which packet numbers
// arrived, and when to say so. Pure logic, time passed in.
//
//  * Every kAckEvery ack-eliciting datagrams are acknowledged at once (as TCP's delayed
//    ACK), every kAckEveryLargeFlight while the last round trip brought kLargeFlight or
//    more, and any datagram that arrives out of order (a gap below it, or below the
//    largest) at once: the sender detects loss from it. Others wait at most
//    kMaxAckDelayNs (the recovery tick). Fewer acknowledgements halve what goes back,
//    which on an asymmetric link is the limit (a 1 Mbit/s way back: 86% of the link
//    forward at every 2nd, 92% at every 4th); a small flight keeps every 2nd, for its
//    clock (at 1% loss, flights of ~15 datagrams, every 4th cost about a tenth).
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
  static constexpr uint32_t kAckEveryLargeFlight = 4;
  static constexpr uint32_t kLargeFlight = 32;  // ack-eliciting datagrams in a round trip
  static constexpr int64_t kMaxAckDelayNs = 10'000'000;  // advertised to the sender's RTT
  static constexpr uint32_t kReportsPerRange = 4;

  // srtt_ns: the session's smoothed round trip, to count the datagrams of one (0: unknown,
  // every kAckEvery).
  void on_packet(uint64_t pn, bool ack_eliciting, int64_t now_ns, int64_t srtt_ns = 0);

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
  // Ack-eliciting arrivals counted per round trip: the flight the peer keeps out.
  int64_t round_start_ns_ = 0;
  uint32_t round_count_ = 0;
  uint32_t last_round_count_ = 0;  // in the last whole round trip (0 after an idle one)
};

}  // namespace nm::session
