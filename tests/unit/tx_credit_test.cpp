// The sender's byte-credit window (stream/tx_credit.h): charging, cumulative grants, and
// grants that are stale, inflated (clamped) or for an unbounded window.
#include "stream/tx_credit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace nm::stream {
namespace {

using G = TxCredit::Grant;

TEST(TxCredit, ChargesWhatTheWindowAllowsAndNothingOnRefusal) {
  TxCredit c(1000);
  EXPECT_FALSE(c.unbounded());
  EXPECT_EQ(c.window(), 1000u);
  EXPECT_EQ(c.remaining(), 1000u);
  EXPECT_TRUE(c.try_acquire(600));
  EXPECT_EQ(c.remaining(), 400u);
  EXPECT_FALSE(c.try_acquire(401));  // one byte too many: refused whole
  EXPECT_EQ(c.remaining(), 400u);
  EXPECT_TRUE(c.try_acquire(400));  // exactly what is left
  EXPECT_EQ(c.remaining(), 0u);
  EXPECT_FALSE(c.try_acquire(1));
}

TEST(TxCredit, GrantsAreCumulativeTotalsNotIncrements) {
  TxCredit c(1000);
  ASSERT_TRUE(c.try_acquire(300));
  ASSERT_TRUE(c.try_acquire(300));
  ASSERT_TRUE(c.try_acquire(300));
  EXPECT_EQ(c.remaining(), 100u);
  EXPECT_EQ(c.apply_grant(0), G::kStale);  // nothing consumed yet
  EXPECT_EQ(c.apply_grant(300), G::kApplied);
  EXPECT_EQ(c.remaining(), 400u);
  EXPECT_EQ(c.apply_grant(600), G::kApplied);  // 300 more than the last total, not 600
  EXPECT_EQ(c.remaining(), 700u);
  EXPECT_EQ(c.apply_grant(900), G::kApplied);
  EXPECT_EQ(c.remaining(), 1000u);
}

TEST(TxCredit, RepeatedAndOlderGrantsAreStale) {
  TxCredit c(1000);
  ASSERT_TRUE(c.try_acquire(800));
  EXPECT_EQ(c.apply_grant(500), G::kApplied);
  EXPECT_EQ(c.remaining(), 700u);
  EXPECT_EQ(c.apply_grant(500), G::kStale);  // a duplicate grant
  EXPECT_EQ(c.apply_grant(200), G::kStale);  // an older one, reordered
  EXPECT_EQ(c.remaining(), 700u);
  EXPECT_EQ(c.apply_grant(800), G::kApplied);
  EXPECT_EQ(c.remaining(), 1000u);
}

TEST(TxCredit, AnInflatedGrantIsClampedToWhatWasSent) {
  TxCredit c(1000);
  ASSERT_TRUE(c.try_acquire(400));
  EXPECT_EQ(c.apply_grant(1'000'000), G::kClamped);
  EXPECT_EQ(c.remaining(), 1000u);  // what was sent came back; nothing beyond the window
  ASSERT_TRUE(c.try_acquire(400));
  EXPECT_EQ(c.remaining(), 600u);
  // The clamp remembered 400, not the inflated total: the next 400 can still be granted.
  EXPECT_EQ(c.apply_grant(600), G::kApplied);
  EXPECT_EQ(c.remaining(), 800u);
  EXPECT_EQ(c.apply_grant(1'000'000), G::kClamped);
  EXPECT_EQ(c.remaining(), 1000u);
  // Inflated again with nothing new sent: still reported, still no credit.
  EXPECT_EQ(c.apply_grant(2'000'000), G::kClamped);
  EXPECT_EQ(c.remaining(), 1000u);
  EXPECT_EQ(c.apply_grant(800), G::kStale);
}

// A peer sending any mix of grants (honest, repeated, reordered, inflated) never pushes
// credit above the window, and credit is always the window minus what it has not
// acknowledged of what was sent.
TEST(TxCredit, NoSequenceOfGrantsPushesCreditAboveTheWindow) {
  std::mt19937_64 rng(14);
  for (uint32_t window : {1000u, 65536u}) {
    TxCredit c(window);
    uint64_t sent = 0, acknowledged = 0;
    for (int step = 0; step < 20000; ++step) {
      uint64_t pick = rng() % 4;
      if (pick < 2) {
        uint64_t cost = 1 + rng() % (window / 3);
        bool ok = c.try_acquire(cost);
        ASSERT_EQ(ok, cost <= window - (sent - acknowledged));
        if (ok) sent += cost;
      } else {
        uint64_t total = pick == 2 ? rng() % (sent + 1) : sent + rng() % (10 * uint64_t{window});
        G g = c.apply_grant(total);
        uint64_t effective = std::min(total, sent);
        G expected = total > sent ? G::kClamped : effective > acknowledged ? G::kApplied : G::kStale;
        ASSERT_EQ(g, expected) << "step " << step << " total " << total;
        acknowledged = std::max(acknowledged, effective);
      }
      ASSERT_LE(c.remaining(), window);
      ASSERT_EQ(c.remaining(), window - (sent - acknowledged)) << "step " << step;
    }
  }
}

TEST(TxCredit, AnUnboundedWindowNeverRefusesAndIgnoresGrants) {
  TxCredit c(0);
  EXPECT_TRUE(c.unbounded());
  EXPECT_EQ(c.remaining(), UINT64_MAX);
  EXPECT_TRUE(c.try_acquire(uint64_t{1} << 40));
  EXPECT_TRUE(c.try_acquire(uint64_t{1} << 40));
  EXPECT_EQ(c.remaining(), UINT64_MAX);
  EXPECT_EQ(c.apply_grant(1 << 20), G::kStale);
  EXPECT_EQ(c.apply_grant(uint64_t{1} << 50), G::kStale);  // not even "clamped"
  EXPECT_EQ(c.remaining(), UINT64_MAX);
}

}  // namespace
}  // namespace nm::stream
