// Receiver side of reliable recovery: packets are released strictly in sequence order,
// once each; early packets wait here and the gaps are reported in NACKs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>

#include "stream/rx_packet.h"

namespace nm::stream {

class ReorderBuffer {
 public:
  // Bounded by the sender's credit window in practice; the hard cap guards a peer that
  // ignores credit (it retransmits what we drop).
  static constexpr uint64_t kMaxAhead = 16384;
  enum class Offer { kAccepted, kDuplicate, kTooFar };

  Offer offer(RxPacket&& p);
  // Moves the next in-order packet to `out`.
  bool pop_ready(RxPacket& out);

  uint64_t next_expected() const { return next_; }
  bool has_gaps() const { return !ahead_.empty(); }
  // Bit i set = seq next_expected+1+i is missing (below the highest buffered seq).
  uint64_t missing_bitmap() const;
  size_t buffered() const { return ahead_.size(); }

 private:
  uint64_t next_ = 0;
  std::map<uint64_t, RxPacket> ahead_;  // seq >= next_
};

}  // namespace nm::stream
