// Credit for lost fire-and-forget packets (stream/loss_ledger.h): arrivals, gaps written off
// once reordering can no longer explain them (by distance or by age), the exact credit they
// carried, and late arrivals that must not be credited twice.
#include "stream/loss_ledger.h"

#include <gtest/gtest.h>

#include <vector>

namespace nm::stream {
namespace {

constexpr int64_t kMs = 1'000'000;

// A sender's packets with uneven costs: charged_before is the cumulative charge before each.
struct Sender {
  std::vector<uint64_t> charged_before;
  std::vector<uint32_t> cost;
  explicit Sender(size_t n) {
    uint64_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      charged_before.push_back(total);
      cost.push_back(static_cast<uint32_t>(100 + 7 * i));
      total += cost.back();
    }
  }
  bool arrive(LossLedger& l, uint64_t seq, int64_t now) {
    return l.on_arrival(seq, charged_before[seq], cost[seq], now);
  }
};

TEST(LossLedger, InOrderArrivalsLeaveNothingToSettle) {
  Sender s(5);
  LossLedger l;
  for (uint64_t seq = 0; seq < 5; ++seq) EXPECT_TRUE(s.arrive(l, seq, 0));
  EXPECT_EQ(l.next_seq(), 5u);
  EXPECT_FALSE(l.pending());
  EXPECT_EQ(l.settle(10'000 * kMs), 0u);
}

TEST(LossLedger, AReorderedPacketFillsItsGapAndNothingIsLost) {
  Sender s(4);
  LossLedger l;
  EXPECT_TRUE(s.arrive(l, 0, 0));
  EXPECT_TRUE(s.arrive(l, 2, 0));
  EXPECT_TRUE(s.arrive(l, 3, 1 * kMs));
  EXPECT_TRUE(l.pending());
  EXPECT_EQ(l.next_seq(), 1u);
  EXPECT_EQ(l.settle(LossLedger::kReorderNs - 1), 0u);  // young and close: reordering
  EXPECT_TRUE(s.arrive(l, 1, 5 * kMs));
  EXPECT_EQ(l.next_seq(), 4u);
  EXPECT_FALSE(l.pending());
  EXPECT_EQ(l.settle(100 * kMs), 0u);
}

TEST(LossLedger, AGapThisFarBehindIsLoss) {
  const uint64_t d = LossLedger::kReorderSeqs;
  Sender s(d + 3);
  LossLedger l;
  s.arrive(l, 0, 0);
  for (uint64_t seq = 2; seq <= d; ++seq) s.arrive(l, seq, 0);  // 1 missing, highest 1 + 31
  EXPECT_EQ(l.settle(0), 0u);
  EXPECT_TRUE(l.pending());
  s.arrive(l, d + 1, 0);  // highest 1 + 32
  EXPECT_EQ(l.settle(0), s.cost[1]);
  EXPECT_FALSE(l.pending());
  EXPECT_EQ(l.next_seq(), d + 2);
}

TEST(LossLedger, AGapThisOldIsLoss) {
  Sender s(4);
  LossLedger l;
  s.arrive(l, 0, 0);
  s.arrive(l, 2, 10 * kMs);  // the gap at 1 dates from this arrival
  s.arrive(l, 3, 25 * kMs);
  EXPECT_EQ(l.settle(10 * kMs + LossLedger::kReorderNs - 1), 0u);
  EXPECT_EQ(l.settle(10 * kMs + LossLedger::kReorderNs), s.cost[1]);
  EXPECT_EQ(l.next_seq(), 4u);
  EXPECT_FALSE(l.pending());
}

TEST(LossLedger, TheCreditOfEveryMissingPacketIsReturnedExactly) {
  Sender s(10);
  LossLedger l;
  for (uint64_t seq : {0, 2, 5, 6, 9}) s.arrive(l, seq, 0);  // 1, 3, 4, 7, 8 lost
  uint64_t lost = l.settle(LossLedger::kReorderNs);
  EXPECT_EQ(lost, uint64_t{s.cost[1]} + s.cost[3] + s.cost[4] + s.cost[7] + s.cost[8]);
  EXPECT_EQ(l.next_seq(), 10u);
  EXPECT_FALSE(l.pending());
}

TEST(LossLedger, OnlyTheGapsReorderingCannotExplainAreWrittenOff) {
  Sender s(6);
  LossLedger l;
  s.arrive(l, 0, 0);
  s.arrive(l, 2, 0);       // gap 1: old by 20 ms
  s.arrive(l, 4, 15 * kMs);  // gap 3: only 5 ms old then
  EXPECT_EQ(l.settle(20 * kMs), s.cost[1]);
  EXPECT_EQ(l.next_seq(), 3u);
  EXPECT_TRUE(l.pending());
  EXPECT_EQ(l.settle(35 * kMs), s.cost[3]);
  EXPECT_EQ(l.next_seq(), 5u);
  EXPECT_FALSE(l.pending());
}

TEST(LossLedger, ALateArrivalIsNotCreditedTwice) {
  Sender s(4);
  LossLedger l;
  s.arrive(l, 0, 0);
  s.arrive(l, 2, 0);
  ASSERT_EQ(l.settle(LossLedger::kReorderNs), s.cost[1]);
  EXPECT_FALSE(s.arrive(l, 1, LossLedger::kReorderNs + 1));  // written off: its credit went back
  EXPECT_EQ(l.settle(1'000 * kMs), 0u);
  EXPECT_TRUE(s.arrive(l, 3, 1'000 * kMs));
}

TEST(LossLedger, DuplicatesAreNotCreditedTwice) {
  Sender s(5);
  LossLedger l;
  s.arrive(l, 0, 0);
  EXPECT_FALSE(s.arrive(l, 0, 0));  // already through
  s.arrive(l, 3, 0);
  EXPECT_FALSE(s.arrive(l, 3, 0));  // already waiting
  EXPECT_TRUE(s.arrive(l, 1, 0));
  EXPECT_TRUE(s.arrive(l, 2, 0));
  EXPECT_EQ(l.next_seq(), 4u);
  EXPECT_FALSE(l.pending());
}

// However many early packets arrive between two settles, one settle once they are old
// leaves nothing pending and returns the credit of every gap below the highest arrival.
TEST(LossLedger, ManyEarlyPacketsAreSettledAtOnce) {
  const uint64_t n = LossLedger::kMaxAhead + 100;
  Sender s(n + 2);
  LossLedger l;
  s.arrive(l, 0, 0);
  for (uint64_t seq = 2; seq < n; seq += 2) ASSERT_TRUE(s.arrive(l, seq, 0));  // odd ones lost
  uint64_t expected = 0;
  for (uint64_t seq = 1; seq < n; seq += 2) expected += s.cost[seq];
  expected -= s.cost[n - 1];  // the last odd one is above the highest arrival: not a gap yet
  EXPECT_EQ(l.settle(LossLedger::kReorderNs), expected);
  EXPECT_FALSE(l.pending());
  EXPECT_EQ(l.next_seq(), n - 1);
}

}  // namespace
}  // namespace nm::stream
