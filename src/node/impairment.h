// Seeded, reproducible network impairment (loss, burst loss, rate limit, delay, jitter,
// reordering, duplication, corruption) for one peer and one direction. Pure logic: no
// sockets, no threads, no clock reads -- the caller passes now_ns and applies the result.
//
// Order of decisions for each datagram offered to decide():
//   1. oversize   len > drop_above_bytes (when set)            -> dropped_oversize
//      undersize  len < drop_below_bytes (when set)            -> dropped_undersize
//   2. burst      Gilbert-Elliott: step the good/bad chain once,
//                 then drop if the chain is in the bad state    -> dropped_burst
//   3. loss       independent drop with probability `loss`      -> dropped_loss
//   4. rate       serialisation through a bottleneck link of rate_bytes_per_sec; a datagram
//                 that would queue longer than rate_queue_limit_us is dropped (it does not
//                 occupy the link)                               -> dropped_rate
//   5. delay      + delay_us + uniform [0, jitter_us] of propagation delay
//   6. reorder    with probability `reorder`, an extra hold in (0, reorder_window_us]
//                                                               -> reordered
//   7. duplicate  with probability `duplicate`, a second delivery at the first one's time
//                 plus its own uniform [0, duplicate_jitter_us]  -> duplicated
//   8. corrupt    for each delivery independently, with probability `corrupt`, one byte at a
//                 uniform offset is XORed with a uniform non-zero value -> corrupted
// A dropped datagram stops at its step and draws no further random numbers.
//
// Determinism: the same config (seed included) and the same sequence of decide() arguments
// give the same decisions. A probability of 0 draws no random number at all, so the default
// config is a zero-cost pass-through. Probabilities outside [0,1] act as clamped (NaN = 0).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace nm::node {

struct ImpairmentConfig {
  double loss = 0;               // independent drop probability [0,1]
  double burst_enter = 0;        // Gilbert-Elliott: P(good->bad) per datagram
  double burst_exit = 0;         // P(bad->good) per datagram (in bad state every datagram is dropped)
  double duplicate = 0;          // P(an extra copy is delivered)
  double reorder = 0;            // P(a datagram is held back by a random delay in (0, reorder_window_us])
  uint32_t reorder_window_us = 0;
  uint32_t delay_us = 0;         // fixed extra latency for every datagram
  uint32_t jitter_us = 0;        // + uniform random [0, jitter_us]
  uint64_t rate_bytes_per_sec = 0;        // 0 = unlimited; token bucket / serialisation delay
  uint32_t rate_queue_limit_us = 200000;  // a datagram that would wait longer than this in the rate queue is dropped
  double corrupt = 0;            // P(one random byte is XORed with a random non-zero value)
  uint32_t drop_above_bytes = 0; // 0 = off; datagrams longer than this are dropped (MTU blackhole)
  uint32_t drop_below_bytes = 0; // 0 = off; datagrams shorter than this are dropped (control traffic)
  uint64_t seed = 1;             // same seed + same sequence of decide() calls => same decisions
  // Extra: the duplicate copy lands up to this much after the original, so copies are not
  // always back-to-back (real duplication comes from retransmitting links or routing loops).
  uint32_t duplicate_jitter_us = 100;

  bool enabled() const;  // any impairment configured
};

struct ImpairmentCounters {
  uint64_t seen = 0, dropped_loss = 0, dropped_burst = 0, dropped_rate = 0, dropped_oversize = 0,
           duplicated = 0, reordered = 0, delayed = 0, corrupted = 0, dropped_undersize = 0;
};

struct Delivery {
  int64_t at_ns;          // when to deliver (>= now)
  bool corrupt;           // flip one byte
  size_t corrupt_offset;  // < len
  uint8_t corrupt_xor;    // != 0
};

// xoshiro256** seeded through splitmix64: fast, small state, good statistics, and -- unlike
// std:: distributions -- the same output on every standard library.
class ImpairmentRng {
 public:
  explicit ImpairmentRng(uint64_t seed);
  uint64_t next();
  double uniform();                  // [0, 1)
  uint64_t below(uint64_t n);        // [0, n), n > 0
  bool chance(double p) { return p > 0 && (p >= 1 || uniform() < p); }

 private:
  std::array<uint64_t, 4> s_;
};

class Impairment {
 public:
  explicit Impairment(const ImpairmentConfig& cfg);
  // Fate of one datagram of `len` bytes offered at now_ns: returns 0 (dropped), 1 or 2
  // (duplicated) deliveries in out[]; out[0] is the original, out[1] the copy.
  // now_ns should not go backwards (the rate queue assumes a monotonic clock).
  size_t decide(size_t len, int64_t now_ns, Delivery out[2]);
  const ImpairmentCounters& counters() const { return counters_; }
  // The node could not hold a datagram this impairment delayed (its delay queue is full).
  void count_dropped_rate() { ++counters_.dropped_rate; }
  const ImpairmentConfig& config() const { return cfg_; }

 private:
  // Rate step: departure time from the bottleneck link, or -1 when the queue is too long.
  int64_t serialise(size_t len, int64_t now_ns);
  Delivery finish(size_t len, int64_t at_ns);

  ImpairmentConfig cfg_;
  ImpairmentRng rng_;
  ImpairmentCounters counters_;
  bool burst_bad_ = false;
  // The link is busy until link_free_ns_; link_rem_ carries the sub-nanosecond remainder
  // (in units of 1/rate ns) so back-to-back datagrams add up to exactly len/rate.
  int64_t link_free_ns_ = 0;
  uint64_t link_rem_ = 0;
};

}  // namespace nm::node
