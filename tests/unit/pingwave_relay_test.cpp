// PingwaveRelay: the rules that bound what forged pingwaves can make a node do.
#include "node/pingwave_relay.h"

#include <gtest/gtest.h>

namespace nm::node {
namespace {

constexpr int64_t kInterval = 1'000'000'000;  // 1 s heartbeats

TEST(PingwaveRelay, NewOriginsPerNeighbourAreLimitedThenRefill) {
  PingwaveRelay r(kInterval);
  int64_t now = 5 * kInterval;
  int admitted = 0;
  for (uint64_t origin = 100; origin < 600; ++origin) admitted += r.admit(origin, 7, now);
  EXPECT_EQ(admitted, static_cast<int>(PingwaveRelay::kNewOriginBurst));
  // Another neighbour has its own allowance.
  EXPECT_TRUE(r.admit(1000, 8, now));
  // Known origins are always admitted; new ones again after the allowance refills.
  EXPECT_TRUE(r.admit(100, 7, now));
  EXPECT_FALSE(r.admit(2000, 7, now + kInterval / 100));
  EXPECT_TRUE(r.admit(2000, 7, now + kInterval));
}

// One neighbour that brings in its allowance of invented origins every interval and keeps
// them fresh holds at most its share of the table: another neighbour's new origin still gets
// in (an audit found one neighbour taking all 65,536 and locking every new origin out).
TEST(PingwaveRelay, OneNeighbourHoldsAtMostItsShareOfTheOrigins) {
  PingwaveRelay r(kInterval);
  const uint64_t hog = 7, honest = 8;
  int64_t now = kInterval;
  uint64_t next = 1'000'000;
  for (int interval = 0; interval < 4096; ++interval, now += kInterval) {
    for (uint32_t i = 0; i < PingwaveRelay::kNewOriginBurst; ++i) r.admit(next++, hog, now);
    if (interval % 4 == 0)
      for (uint64_t o = 1'000'000; o < next; ++o) r.admit(o, hog, now);  // kept fresh
    r.expire(now);
  }
  EXPECT_EQ(r.origins(), PingwaveRelay::kMaxOriginsPerNeighbour);
  EXPECT_TRUE(r.admit(42, honest, now));
}

// A neighbour's allowance is not refilled by a re-handshake (it was forgotten with the
// session, so each re-dial bought a fresh burst), and it is forgotten once it holds nothing.
TEST(PingwaveRelay, TheAllowanceOutlivesTheNeighboursSessionUntilItHoldsNothing) {
  PingwaveRelay r(kInterval);
  int64_t now = kInterval;
  for (uint64_t o = 0; o < PingwaveRelay::kNewOriginBurst; ++o) EXPECT_TRUE(r.admit(100 + o, 7, now));
  EXPECT_FALSE(r.admit(999, 7, now));  // spent, whatever happened to its session meanwhile
  r.expire(now + (PingwaveRelay::kForgetIntervals + 1) * kInterval);
  EXPECT_EQ(r.origins(), 0u);
  EXPECT_TRUE(r.admit(999, 7, now + (PingwaveRelay::kForgetIntervals + 1) * kInterval));
}

TEST(PingwaveRelay, AnOriginIsRelayedAtMostOncePerHalfIntervalAndOnlyForNewerWaves) {
  PingwaveRelay r(kInterval);
  int64_t now = kInterval;
  ASSERT_TRUE(r.admit(42, 7, now));
  EXPECT_TRUE(r.should_relay(42, 1, now));
  EXPECT_FALSE(r.should_relay(42, 1, now + kInterval));      // same wave again
  EXPECT_FALSE(r.should_relay(42, 2, now + kInterval / 4));  // too soon
  EXPECT_TRUE(r.should_relay(42, 2, now + kInterval / 2));
  int relays = 0;
  for (uint64_t seq = 3; seq < 503; ++seq) relays += r.should_relay(42, seq, now + kInterval / 2 + seq * 1000);
  EXPECT_EQ(relays, 0);  // 500 forged waves within a millisecond: none relayed
  EXPECT_FALSE(r.should_relay(43, 1, now));  // never admitted
}

TEST(PingwaveRelay, ALowerSequenceIsRelayedAfterTheOriginWasQuiet) {
  PingwaveRelay r(kInterval);
  ASSERT_TRUE(r.admit(42, 7, 0));
  EXPECT_TRUE(r.should_relay(42, UINT64_MAX - 1, 0));  // a forged huge sequence
  EXPECT_FALSE(r.should_relay(42, 5, kInterval));
  EXPECT_TRUE(r.should_relay(42, 5, 2 * kInterval));  // the real origin (or its restart)
}

TEST(PingwaveRelay, RawRelaysSpendNoMoreThanRawBytesReceived) {
  PingwaveRelay r(kInterval);
  EXPECT_FALSE(r.spend_raw(72));
  r.earn_raw(72);
  EXPECT_TRUE(r.spend_raw(72));
  EXPECT_FALSE(r.spend_raw(1));
  for (int i = 0; i < 1000; ++i) r.earn_raw(72);  // capped
  uint64_t spent = 0;
  while (r.spend_raw(72)) spent += 72;
  EXPECT_LE(spent, PingwaveRelay::kRawBudgetCap);
}

TEST(PingwaveRelay, SilentOriginsAreForgotten) {
  PingwaveRelay r(kInterval);
  ASSERT_TRUE(r.admit(42, 7, 0));
  ASSERT_TRUE(r.admit(43, 7, 0));
  r.admit(43, 7, PingwaveRelay::kForgetIntervals * kInterval);
  r.expire(PingwaveRelay::kForgetIntervals * kInterval + 1);
  EXPECT_EQ(r.origins(), 1u);
}

}  // namespace
}  // namespace nm::node
