// Network impairment engine: pass-through default, determinism, and the statistics of each
// impairment. Statistical checks use 5-sigma bounds on fixed seeds, so they are reproducible
// and would still hold (with overwhelming probability) for any other seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "node/impairment.h"

namespace nm::node {
namespace {

constexpr int64_t kMs = 1000000;
constexpr int64_t kUs = 1000;
constexpr int64_t kStart = 5'000'000'000;  // an arbitrary non-zero monotonic start

// One decide() call flattened, for comparing whole runs.
struct Outcome {
  size_t n;
  Delivery d[2];
  bool operator==(const Outcome& o) const {
    if (n != o.n) return false;
    for (size_t i = 0; i < n; ++i) {
      if (d[i].at_ns != o.d[i].at_ns || d[i].corrupt != o.d[i].corrupt) return false;
      if (d[i].corrupt && (d[i].corrupt_offset != o.d[i].corrupt_offset ||
                           d[i].corrupt_xor != o.d[i].corrupt_xor)) {
        return false;
      }
    }
    return true;
  }
};

// Offers `count` datagrams of `len` bytes, one every `step_ns`.
std::vector<Outcome> run(Impairment& imp, int count, size_t len = 1000, int64_t step_ns = 100 * kUs) {
  std::vector<Outcome> out(count);
  for (int i = 0; i < count; ++i) out[i].n = imp.decide(len, kStart + i * step_ns, out[i].d);
  return out;
}

// |measured - p| within 5 standard deviations of a binomial proportion over n trials.
void expect_rate(uint64_t hits, uint64_t n, double p) {
  const double measured = static_cast<double>(hits) / static_cast<double>(n);
  const double sigma = std::sqrt(p * (1 - p) / static_cast<double>(n));
  EXPECT_NEAR(measured, p, 5 * sigma) << hits << " of " << n;
}

ImpairmentConfig everything() {
  ImpairmentConfig c;
  c.loss = 0.05;
  c.burst_enter = 0.01;
  c.burst_exit = 0.3;
  c.duplicate = 0.05;
  c.reorder = 0.05;
  c.reorder_window_us = 3000;
  c.delay_us = 2000;
  c.jitter_us = 500;
  c.rate_bytes_per_sec = 8'000'000;
  c.corrupt = 0.02;
  c.drop_above_bytes = 1400;
  c.seed = 42;
  return c;
}

TEST(Impairment, DefaultConfigPassesEverythingImmediately) {
  ImpairmentConfig cfg;
  EXPECT_FALSE(cfg.enabled());
  Impairment imp(cfg);
  for (int i = 0; i < 10000; ++i) {
    Delivery d[2];
    const int64_t now = kStart + i * 7;
    ASSERT_EQ(imp.decide(static_cast<size_t>(i % 65536), now, d), 1u);
    EXPECT_EQ(d[0].at_ns, now);
    EXPECT_FALSE(d[0].corrupt);
  }
  const auto& c = imp.counters();
  EXPECT_EQ(c.seen, 10000u);
  EXPECT_EQ(c.dropped_loss + c.dropped_burst + c.dropped_rate + c.dropped_oversize, 0u);
  EXPECT_EQ(c.duplicated + c.reordered + c.delayed + c.corrupted, 0u);
}

TEST(Impairment, EnabledReflectsEachKnob) {
  auto with = [](auto set) {
    ImpairmentConfig c;
    set(c);
    return c.enabled();
  };
  EXPECT_TRUE(with([](auto& c) { c.loss = 0.1; }));
  EXPECT_TRUE(with([](auto& c) { c.burst_enter = 0.1; }));
  EXPECT_TRUE(with([](auto& c) { c.duplicate = 0.1; }));
  EXPECT_TRUE(with([](auto& c) { c.reorder = 0.1, c.reorder_window_us = 10; }));
  EXPECT_FALSE(with([](auto& c) { c.reorder = 0.1; }));  // no window: nothing to hold for
  EXPECT_TRUE(with([](auto& c) { c.delay_us = 1; }));
  EXPECT_TRUE(with([](auto& c) { c.jitter_us = 1; }));
  EXPECT_TRUE(with([](auto& c) { c.rate_bytes_per_sec = 1; }));
  EXPECT_TRUE(with([](auto& c) { c.corrupt = 0.1; }));
  EXPECT_TRUE(with([](auto& c) { c.drop_above_bytes = 1200; }));
  EXPECT_FALSE(with([](auto& c) { c.seed = 99; }));
}

TEST(Impairment, SameSeedSameDecisionsDifferentSeedDifferent) {
  const ImpairmentConfig cfg = everything();
  Impairment a(cfg), b(cfg);
  const auto ra = run(a, 10000, 1200);
  const auto rb = run(b, 10000, 1200);
  EXPECT_TRUE(ra == rb);
  EXPECT_EQ(a.counters().dropped_loss, b.counters().dropped_loss);
  EXPECT_EQ(a.counters().corrupted, b.counters().corrupted);

  ImpairmentConfig other = cfg;
  other.seed = 43;
  Impairment c(other);
  const auto rc = run(c, 10000, 1200);
  size_t differing = 0;
  for (size_t i = 0; i < ra.size(); ++i) differing += !(ra[i] == rc[i]);
  // Jitter alone makes almost every datagram differ.
  EXPECT_GT(differing, ra.size() / 2);
}

TEST(Impairment, IndependentLossRate) {
  for (double p : {0.01, 0.10, 0.30}) {
    ImpairmentConfig cfg;
    cfg.loss = p;
    cfg.seed = 7;
    Impairment imp(cfg);
    const int n = 100000;
    uint64_t dropped = 0;
    const auto outs = run(imp, n);
    for (int i = 0; i < n; ++i) {
      dropped += (outs[i].n == 0);
      if (outs[i].n) {
        EXPECT_EQ(outs[i].d[0].at_ns, kStart + i * 100 * kUs);  // loss alone adds no delay
      }
    }
    SCOPED_TRACE(p);
    expect_rate(dropped, n, p);
    EXPECT_EQ(imp.counters().dropped_loss, dropped);
    EXPECT_EQ(imp.counters().seen, static_cast<uint64_t>(n));
  }
}

TEST(Impairment, LossExtremes) {
  ImpairmentConfig cfg;
  cfg.loss = 1.0;
  Impairment all(cfg);
  for (const auto& o : run(all, 1000)) EXPECT_EQ(o.n, 0u);
  cfg.loss = 0.0;
  cfg.delay_us = 1;  // enabled, but no loss
  Impairment none(cfg);
  for (const auto& o : run(none, 1000)) EXPECT_EQ(o.n, 1u);
}

TEST(Impairment, BurstLossComesInRunsOfMeanOneOverExit) {
  ImpairmentConfig cfg;
  cfg.burst_enter = 0.01;
  cfg.burst_exit = 0.25;
  cfg.seed = 11;
  Impairment imp(cfg);
  const int n = 500000;
  std::vector<uint64_t> runs;
  uint64_t current = 0, dropped = 0;
  for (const auto& o : run(imp, n)) {
    if (o.n == 0) {
      ++current;
      ++dropped;
    } else if (current > 0) {
      runs.push_back(current);
      current = 0;
    }
  }
  ASSERT_GT(runs.size(), 1000u);
  double mean = 0;
  for (uint64_t r : runs) mean += static_cast<double>(r);
  mean /= static_cast<double>(runs.size());
  // Run length is geometric(p = exit): mean 1/p = 4, sd sqrt(1-p)/p.
  const double p = cfg.burst_exit;
  const double se = std::sqrt(1 - p) / p / std::sqrt(static_cast<double>(runs.size()));
  EXPECT_NEAR(mean, 1 / p, 5 * se);
  // Runs, not isolated drops: plenty of runs longer than 1.
  size_t long_runs = 0;
  for (uint64_t r : runs) long_runs += (r > 1);
  EXPECT_GT(long_runs, runs.size() / 2);
  // Stationary loss = enter / (enter + exit); bursts inflate the variance, so allow 0.5%.
  const double stationary = cfg.burst_enter / (cfg.burst_enter + cfg.burst_exit);
  EXPECT_NEAR(static_cast<double>(dropped) / n, stationary, 0.005);
  EXPECT_EQ(imp.counters().dropped_burst, dropped);
  EXPECT_EQ(imp.counters().dropped_loss, 0u);
}

TEST(Impairment, DuplicateRateAndCopyTiming) {
  ImpairmentConfig cfg;
  cfg.duplicate = 0.05;
  cfg.duplicate_jitter_us = 200;
  cfg.seed = 3;
  Impairment imp(cfg);
  const int n = 100000;
  uint64_t dups = 0;
  for (const auto& o : run(imp, n)) {
    ASSERT_GE(o.n, 1u);
    if (o.n == 2) {
      ++dups;
      EXPECT_GE(o.d[1].at_ns, o.d[0].at_ns);
      EXPECT_LE(o.d[1].at_ns - o.d[0].at_ns, 200 * kUs);
    }
  }
  expect_rate(dups, n, 0.05);
  EXPECT_EQ(imp.counters().duplicated, dups);
}

TEST(Impairment, ReorderHoldsWithinWindowAndChangesOrder) {
  ImpairmentConfig cfg;
  cfg.reorder = 0.1;
  cfg.reorder_window_us = 5000;
  cfg.seed = 5;
  Impairment imp(cfg);
  const int n = 100000;
  const int64_t step = 100 * kUs;  // a hold of up to 5 ms overtakes up to 50 later datagrams
  const auto outs = run(imp, n, 1000, step);
  uint64_t held = 0, overtaken = 0;
  int64_t latest = 0;
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(outs[i].n, 1u);
    const int64_t now = kStart + i * step;
    const int64_t wait = outs[i].d[0].at_ns - now;
    EXPECT_GE(wait, 0);
    EXPECT_LE(wait, 5 * kMs);
    held += (wait > 0);
    // Delivered before something offered earlier: the order on the wire has changed.
    overtaken += (outs[i].d[0].at_ns < latest);
    latest = std::max(latest, outs[i].d[0].at_ns);
  }
  expect_rate(held, n, 0.1);
  EXPECT_EQ(imp.counters().reordered, held);
  EXPECT_GT(overtaken, static_cast<uint64_t>(n) / 20);
}

TEST(Impairment, DelayPlusJitterBounds) {
  ImpairmentConfig cfg;
  cfg.delay_us = 10000;
  cfg.jitter_us = 2000;
  cfg.seed = 9;
  Impairment imp(cfg);
  const int n = 100000;
  const auto outs = run(imp, n);
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(outs[i].n, 1u);
    const int64_t wait = outs[i].d[0].at_ns - (kStart + i * 100 * kUs);
    ASSERT_GE(wait, 10 * kMs);
    ASSERT_LE(wait, 12 * kMs);
    lo = std::min(lo, wait);
    hi = std::max(hi, wait);
    sum += static_cast<double>(wait);
  }
  // Uniform jitter: the extremes are approached and the mean is in the middle
  // (sd of the mean = 2ms / sqrt(12 n) ~ 1.8 us).
  EXPECT_LT(lo, 10 * kMs + 20 * kUs);
  EXPECT_GT(hi, 12 * kMs - 20 * kUs);
  EXPECT_NEAR(sum / n, 11.0 * kMs, 10 * kUs);
  EXPECT_EQ(imp.counters().delayed, static_cast<uint64_t>(n));
}

TEST(Impairment, RateLimitDeliversAboutTheRateAndDropsTheRest) {
  ImpairmentConfig cfg;
  cfg.rate_bytes_per_sec = 100000;  // 1000-byte datagram = 10 ms on the link
  cfg.rate_queue_limit_us = 200000;
  Impairment imp(cfg);
  // Offer 10x the rate for one simulated second: 1000 bytes every 1 ms.
  const int n = 1000;
  const auto outs = run(imp, n, 1000, 1 * kMs);
  uint64_t delivered_bytes = 0, accepted = 0;
  int64_t prev_at = 0;
  for (int i = 0; i < n; ++i) {
    if (outs[i].n == 0) continue;
    ASSERT_EQ(outs[i].n, 1u);
    const int64_t now = kStart + i * kMs;
    const int64_t at = outs[i].d[0].at_ns;
    EXPECT_GT(at, now);                            // serialisation always takes time
    EXPECT_LE(at - now, 200 * kMs + 10 * kMs);     // queue limit + its own serialisation
    if (accepted > 0) {
      EXPECT_EQ(at - prev_at, 10 * kMs);  // back-to-back on a busy link
    }
    prev_at = at;
    ++accepted;
    delivered_bytes += 1000;
  }
  // One second of link time, plus at most what the 200 ms queue holds at the end.
  EXPECT_GE(delivered_bytes, 100000u);
  EXPECT_LE(delivered_bytes, 100000u + 20000u + 1000u);
  const auto& c = imp.counters();
  EXPECT_EQ(c.dropped_rate, n - accepted);
  EXPECT_GT(c.dropped_rate, 850u);
  EXPECT_EQ(c.delayed, accepted);

  // Once the queue drains, the link accepts again immediately.
  Delivery d[2];
  const int64_t later = kStart + 10'000 * kMs;
  ASSERT_EQ(imp.decide(1000, later, d), 1u);
  EXPECT_EQ(d[0].at_ns, later + 10 * kMs);
}

TEST(Impairment, RateSerialisationIsExactOverManySmallDatagrams) {
  // 3 bytes at 7 B/s is not a whole number of nanoseconds; the carry must keep the sum exact.
  ImpairmentConfig cfg;
  cfg.rate_bytes_per_sec = 7;
  cfg.rate_queue_limit_us = UINT32_MAX;
  Impairment imp(cfg);
  Delivery d[2];
  int64_t last = 0;
  for (int i = 0; i < 700; ++i) {
    ASSERT_EQ(imp.decide(3, kStart, d), 1u);
    last = d[0].at_ns;
  }
  EXPECT_EQ(last, kStart + 300 * 1'000'000'000LL);  // 2100 bytes / 7 B/s = 300 s
}

TEST(Impairment, OversizeDatagramsAreDropped) {
  ImpairmentConfig cfg;
  cfg.drop_above_bytes = 1200;
  Impairment imp(cfg);
  Delivery d[2];
  EXPECT_EQ(imp.decide(1200, kStart, d), 1u);
  EXPECT_EQ(d[0].at_ns, kStart);
  EXPECT_EQ(imp.decide(1201, kStart, d), 0u);
  EXPECT_EQ(imp.decide(65535, kStart, d), 0u);
  EXPECT_EQ(imp.decide(0, kStart, d), 1u);
  EXPECT_EQ(imp.counters().dropped_oversize, 2u);
  EXPECT_EQ(imp.counters().seen, 4u);
}

TEST(Impairment, CorruptionOffsetsInRangeAndXorNonZero) {
  ImpairmentConfig cfg;
  cfg.corrupt = 0.5;
  cfg.seed = 13;
  Impairment imp(cfg);
  const int n = 100000;
  uint64_t corrupted = 0;
  std::vector<int> xor_seen(256, 0);
  size_t max_offset = 0;
  for (int i = 0; i < n; ++i) {
    const size_t len = 1 + static_cast<size_t>(i % 1500);
    Delivery d[2];
    ASSERT_EQ(imp.decide(len, kStart + i, d), 1u);
    if (!d[0].corrupt) continue;
    ++corrupted;
    EXPECT_LT(d[0].corrupt_offset, len);
    EXPECT_NE(d[0].corrupt_xor, 0);
    xor_seen[d[0].corrupt_xor] = 1;
    max_offset = std::max(max_offset, d[0].corrupt_offset);
  }
  expect_rate(corrupted, n, 0.5);
  EXPECT_EQ(imp.counters().corrupted, corrupted);
  // Uniform over all 255 non-zero values and over the whole datagram.
  int distinct = 0;
  for (int v : xor_seen) distinct += v;
  EXPECT_EQ(distinct, 255);
  EXPECT_GT(max_offset, 1400u);

  // An empty datagram has no byte to flip.
  cfg.corrupt = 1.0;
  Impairment always(cfg);
  Delivery d[2];
  ASSERT_EQ(always.decide(0, kStart, d), 1u);
  EXPECT_FALSE(d[0].corrupt);
  ASSERT_EQ(always.decide(1, kStart, d), 1u);
  EXPECT_TRUE(d[0].corrupt);
  EXPECT_EQ(d[0].corrupt_offset, 0u);
}

TEST(Impairment, CountersAddUp) {
  Impairment imp(everything());
  const int n = 200000;
  uint64_t drops = 0, passed = 0, deliveries = 0, corrupt = 0, delayed = 0, pairs = 0;
  for (int i = 0; i < n; ++i) {
    const size_t len = 100 + static_cast<size_t>(i % 1400);  // some above 1400
    const int64_t now = kStart + i * 20 * kUs;               // ~ 5x the 8 MB/s link
    Delivery d[2];
    const size_t k = imp.decide(len, now, d);
    ASSERT_LE(k, 2u);
    if (k == 0) {
      ++drops;
      continue;
    }
    ++passed;
    pairs += (k == 2);
    deliveries += k;
    for (size_t j = 0; j < k; ++j) {
      EXPECT_GE(d[j].at_ns, now);
      corrupt += d[j].corrupt;
      delayed += (d[j].at_ns > now);
      if (d[j].corrupt) {
        EXPECT_LT(d[j].corrupt_offset, len);
      }
    }
  }
  const auto& c = imp.counters();
  EXPECT_EQ(c.seen, static_cast<uint64_t>(n));
  EXPECT_EQ(c.dropped_loss + c.dropped_burst + c.dropped_rate + c.dropped_oversize, drops);
  EXPECT_EQ(c.seen, drops + passed);
  EXPECT_EQ(c.duplicated, pairs);
  EXPECT_EQ(deliveries, passed + c.duplicated);
  EXPECT_EQ(c.corrupted, corrupt);
  EXPECT_EQ(c.delayed, delayed);  // fixed delay: every delivery is late
  EXPECT_LE(c.reordered, passed);
  // Every mechanism actually fired.
  EXPECT_GT(c.dropped_loss, 0u);
  EXPECT_GT(c.dropped_burst, 0u);
  EXPECT_GT(c.dropped_rate, 0u);
  EXPECT_GT(c.dropped_oversize, 0u);
  EXPECT_GT(c.duplicated, 0u);
  EXPECT_GT(c.reordered, 0u);
  EXPECT_GT(c.corrupted, 0u);
}

}  // namespace
}  // namespace nm::node
