// Credit for fire-and-forget packets that never arrive. Without it every lost packet
// leaks its cost from the sender's window for good (0.23's behaviour). Each netmesh data
// packet carries the sender's cumulative charge before it, so once a gap can no longer be
// explained by reordering, the exact cost of the missing packets is known and returned.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>

namespace nm::stream {

class LossLedger {
 public:
  static constexpr uint64_t kReorderSeqs = 32;           // a gap this far behind is loss
  static constexpr int64_t kReorderNs = 20'000'000;      // or a gap this old
  static constexpr size_t kMaxAhead = 4096;

  // Records an arriving packet. false: it was already written off as lost (its credit went
  // back then) or is a duplicate, so it must not be credited again.
  bool on_arrival(uint64_t seq, uint64_t charged_before, uint32_t cost, int64_t now_ns);
  // Writes off the gaps reordering can no longer explain; returns the credit they carried.
  uint64_t settle(int64_t now_ns);
  // Every seq below has arrived or was written off.
  uint64_t next_seq() const { return next_seq_; }
  bool pending() const { return !ahead_.empty(); }  // gaps not settled yet

 private:
  struct Ahead {
    uint64_t charged_before;
    uint32_t cost;
    int64_t arrived_ns;
  };
  void advance();

  uint64_t next_seq_ = 0;         // every seq below is received or written off
  uint64_t charged_through_ = 0;  // the sender's cumulative charge up to next_seq_
  std::map<uint64_t, Ahead> ahead_;
};

}  // namespace nm::stream
