// Receive-side sequence tracking: highest seq seen, gaps, and (for reliable streams)
// duplicate suppression over the last 1024 sequence numbers.
#pragma once
#include <bitset>
#include <cstdint>

namespace nm::stream {

class RxSequence {
 public:
  static constexpr uint64_t kWindow = 1024;
  // A sender without stream epochs (net-mesh 0.23) starts again at 0 when it reopens a
  // stream, and nothing on its wire says so: one of the first kRestartSeqs sequences seen
  // again, after later ones, is that restart (its first packets may be lost). The price is
  // a network duplicate of one of those first packets, arriving late, delivered once more
  // (0.23 itself delivers every duplicate).
  static constexpr uint64_t kRestartSeqs = 8;
  enum class Verdict { kNew, kDuplicate, kRestart };

  // Records `seq`. With dedup off every packet is new (FireAndForget delivers duplicates,
  // as 0.23 does); with dedup on a seq seen in the window is a duplicate, unless
  // `detect_restart` and it looks like the restart above. A seq more than a window behind
  // means the sender reopened the stream: tracking restarts there.
  Verdict record(uint64_t seq, bool dedup, bool detect_restart = false);

  uint64_t next_seq() const { return next_; }  // highest seen + 1
  uint64_t gaps() const { return gaps_; }

 private:
  bool seen(uint64_t seq) const { return bits_.test(seq % kWindow); }
  uint64_t next_ = 0;
  uint64_t gaps_ = 0;
  std::bitset<kWindow> bits_;  // bit (s % 1024) set if s in [next-1024, next) arrived
};

}  // namespace nm::stream
