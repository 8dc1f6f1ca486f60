#include "node/impairment.h"

#include <algorithm>

namespace nm::node {

namespace {

constexpr int64_t kNsPerUs = 1000;
constexpr uint64_t kNsPerSec = 1000000000;

// GCC/Clang 128-bit integer (the node is Linux-only); __extension__ keeps -Wpedantic quiet.
__extension__ typedef unsigned __int128 u128;

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

ImpairmentRng::ImpairmentRng(uint64_t seed) {
  // splitmix64 spreads any seed (0 included) over the whole state, which xoshiro requires
  // to be non-zero and benefits from being well mixed.
  for (auto& word : s_) word = splitmix64(seed);
}

uint64_t ImpairmentRng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double ImpairmentRng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

uint64_t ImpairmentRng::below(uint64_t n) {
  // Multiply-shift (Lemire without the rejection step): the bias is at most n / 2^64,
  // far below anything a network test could notice, and it costs no loop.
  return static_cast<uint64_t>((static_cast<u128>(next()) * n) >> 64);
}

bool ImpairmentConfig::enabled() const {
  return loss > 0 || burst_enter > 0 || duplicate > 0 || (reorder > 0 && reorder_window_us > 0) ||
         delay_us > 0 || jitter_us > 0 || rate_bytes_per_sec > 0 || corrupt > 0 ||
         drop_above_bytes > 0 || drop_below_bytes > 0;
}

Impairment::Impairment(const ImpairmentConfig& cfg) : cfg_(cfg), rng_(cfg.seed) {}

int64_t Impairment::serialise(size_t len, int64_t now_ns) {
  const uint64_t rate = cfg_.rate_bytes_per_sec;
  if (link_free_ns_ <= now_ns) {
    // Idle link: the backlog (and its rounding remainder) is gone.
    link_free_ns_ = now_ns;
    link_rem_ = 0;
  }
  if (link_free_ns_ - now_ns > static_cast<int64_t>(cfg_.rate_queue_limit_us) * kNsPerUs) {
    return -1;  // tail drop; the datagram never occupies the link
  }
  // Serialisation time len / rate seconds, exact over a busy period thanks to the carry.
  const u128 units = static_cast<u128>(len) * kNsPerSec + link_rem_;
  link_free_ns_ += static_cast<int64_t>(units / rate);
  link_rem_ = static_cast<uint64_t>(units % rate);
  return link_free_ns_;
}

Delivery Impairment::finish(size_t len, int64_t at_ns) {
  Delivery d{at_ns, false, 0, 0};
  if (len > 0 && rng_.chance(cfg_.corrupt)) {
    d.corrupt = true;
    d.corrupt_offset = static_cast<size_t>(rng_.below(len));
    d.corrupt_xor = static_cast<uint8_t>(1 + rng_.below(255));
    ++counters_.corrupted;
  }
  return d;
}

size_t Impairment::decide(size_t len, int64_t now_ns, Delivery out[2]) {
  ++counters_.seen;

  if (cfg_.drop_above_bytes > 0 && len > cfg_.drop_above_bytes) {
    ++counters_.dropped_oversize;
    return 0;
  }
  if (len < cfg_.drop_below_bytes) {
    ++counters_.dropped_undersize;
    return 0;
  }

  // Gilbert-Elliott: the transition happens before the decision, so a run of drops starts on
  // the datagram that entered the bad state and its length is geometric with mean 1/burst_exit.
  if (burst_bad_) {
    if (rng_.chance(cfg_.burst_exit)) burst_bad_ = false;
  } else if (rng_.chance(cfg_.burst_enter)) {
    burst_bad_ = true;
  }
  if (burst_bad_) {
    ++counters_.dropped_burst;
    return 0;
  }

  if (rng_.chance(cfg_.loss)) {
    ++counters_.dropped_loss;
    return 0;
  }

  // `sent` is when the datagram leaves the bottleneck; propagation delay comes after it, so
  // the rate queue sees offer times, not delayed times.
  int64_t sent = now_ns;
  if (cfg_.rate_bytes_per_sec > 0) {
    sent = serialise(len, now_ns);
    if (sent < 0) {
      ++counters_.dropped_rate;
      return 0;
    }
  }

  int64_t at = sent + static_cast<int64_t>(cfg_.delay_us) * kNsPerUs;
  if (cfg_.jitter_us > 0) {
    at += static_cast<int64_t>(rng_.below(static_cast<uint64_t>(cfg_.jitter_us) * kNsPerUs + 1));
  }
  const bool delayed = at > now_ns;  // before the reorder hold, which is counted separately

  int64_t hold = 0;
  if (cfg_.reorder_window_us > 0 && rng_.chance(cfg_.reorder)) {
    hold = 1 + static_cast<int64_t>(rng_.below(static_cast<uint64_t>(cfg_.reorder_window_us) * kNsPerUs));
    ++counters_.reordered;
  }

  // Draw the duplicate decision before the corruptions so whether a copy exists does not
  // depend on how many numbers corruption consumed for the original.
  const bool dup = rng_.chance(cfg_.duplicate);
  int64_t copy_jitter = 0;
  if (dup && cfg_.duplicate_jitter_us > 0) {
    copy_jitter = static_cast<int64_t>(
        rng_.below(static_cast<uint64_t>(cfg_.duplicate_jitter_us) * kNsPerUs + 1));
  }

  out[0] = finish(len, at + hold);
  if (delayed) ++counters_.delayed;
  if (!dup) return 1;

  ++counters_.duplicated;
  out[1] = finish(len, at + hold + copy_jitter);
  if (delayed || copy_jitter > 0) ++counters_.delayed;
  return 2;
}

}  // namespace nm::node
