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
  // kInOrder: `p` is the next packet and nothing waits: it is not stored (the caller
  // releases it now). kAccepted: moved in to wait for the gap before it.
  enum class Offer { kInOrder, kAccepted, kDuplicate, kTooFar };

  Offer offer(RxPacket& p);
  // Moves the next in-order packet to `out`.
  bool pop_ready(RxPacket& out);

  uint64_t next_expected() const { return next_; }
  bool has_gaps() const { return !ahead_.empty(); }
  uint64_t highest() const { return ahead_.empty() ? next_ - 1 : ahead_.rbegin()->first; }
  // Bit i set = seq base+i is missing (only seqs below highest() count as missing).
  uint64_t missing_bitmap(uint64_t base) const;
  size_t buffered() const { return ahead_.size(); }
  uint64_t bytes() const { return bytes_; }  // wire cost of the packets waiting here

 private:
  uint64_t next_ = 0;
  std::map<uint64_t, RxPacket> ahead_;  // seq >= next_
  uint64_t bytes_ = 0;
};

}  // namespace nm::stream
