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
  // Bounded by the sender's credit window and the receive budget in practice; the hard cap
  // guards a peer that ignores credit (it retransmits what we drop).
  static constexpr uint64_t kMaxAhead = 16384;
  // Where a packet with this sequence number goes: kNext is the next in sequence (the
  // caller releases it itself and calls take_next()), kAhead waits here (hold()).
  enum class Place { kNext, kAhead, kDuplicate, kTooFar };

  Place place(uint64_t seq) const;
  void take_next() { ++next_; }
  void hold(RxPacket&& p);  // place(p.seq) == kAhead
  // The next in-order packet if it waits here, to look at before taking it with pop_ready.
  const RxPacket* ready() const;
  bool pop_ready(RxPacket& out);
  // Drops every waiting packet (the stream was closed: nothing fills their gaps any more).
  void clear();

  uint64_t next_expected() const { return next_; }
  bool has_gaps() const { return !ahead_.empty(); }
  // The highest sequence received (UINT64_MAX, i.e. -1, before any: check next_expected()).
  uint64_t highest() const { return ahead_.empty() ? next_ - 1 : ahead_.rbegin()->first; }
  // Bit i set = seq base+i is missing (only seqs below highest() count as missing).
  uint64_t missing_bitmap(uint64_t base) const;
  size_t buffered() const { return ahead_.size(); }
  uint64_t bytes() const { return bytes_; }  // wire cost of the packets waiting here
  uint64_t held() const { return held_; }    // the memory they pin (RxPacket::held)

 private:
  uint64_t next_ = 0;
  std::map<uint64_t, RxPacket> ahead_;  // seq >= next_
  uint64_t bytes_ = 0;
  uint64_t held_ = 0;
};

}  // namespace nm::stream
