// PmtuSearch: probing up to the route's ceiling, the binary search below a limit further
// along the path, retries of lost probes, black holes, and the periodic new search.
#include "session/pmtu_search.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace nm::session {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kRtt = 100 * kMs;
constexpr int64_t kAckAfter = 40 * kMs;  // when a datagram's acknowledgement arrives, after it left
constexpr uint32_t kPing = 60;  // a small datagram (a hole check's ping) the path answers

// Answers every probe as a path carrying `limit` bytes would, until the search ends.
// Returns the number of probes it took.
int search(PmtuSearch& p, uint32_t limit, int64_t& now) {
  int probes = 0;
  while (uint32_t size = p.probe_due(now)) {
    p.on_probe_sent(size);
    ++probes;
    now += 10 * kMs;
    if (size <= limit)
      p.on_probe_acked(size, now);
    else
      p.on_probe_lost(size, now);
    if (probes > 200) break;
  }
  return probes;
}

// A search that found 1472 bytes, and a datagram of that size acknowledged.
PmtuSearch carrying_1472(int64_t& now) {
  PmtuSearch p(PmtuSearch::kBaseIpv4, 1472, now);
  search(p, 1472, now);
  p.on_acked(1472, now, now + kAckAfter);
  return p;
}

TEST(PmtuSearch, StartsAtTheBaseAndFindsTheCeilingInOneProbe) {
  int64_t now = 0;
  PmtuSearch p(PmtuSearch::kBaseIpv4, 1472, now);
  EXPECT_EQ(p.current(), PmtuSearch::kBaseIpv4);
  EXPECT_EQ(p.probe_due(now), 1472u);
  EXPECT_EQ(search(p, 1472, now), 1);
  EXPECT_EQ(p.current(), 1472u);
  EXPECT_FALSE(p.searching());
  EXPECT_EQ(p.probe_due(now), 0u);
}

// IPv6 promises every path 1280-byte packets: a session over it starts at 1232 bytes, a
// route no larger needs no search, and a black hole falls back to 1232, not to 1200.
TEST(PmtuSearch, AnIpv6PathStartsAndFallsBackAt1232) {
  EXPECT_EQ(PmtuSearch::kBaseIpv6, 1232u);
  int64_t now = 0;
  PmtuSearch exact(PmtuSearch::kBaseIpv6, 1232, now);
  EXPECT_EQ(exact.current(), 1232u);
  EXPECT_FALSE(exact.searching());
  EXPECT_EQ(exact.probe_due(now), 0u);
  PmtuSearch p(PmtuSearch::kBaseIpv6, 1452, now);
  EXPECT_EQ(p.current(), 1232u);
  search(p, 1452, now);
  ASSERT_EQ(p.current(), 1452u);
  p.on_acked(1452, now, now + kAckAfter);
  for (int i = 0; i < PmtuSearch::kBlackHoleLosses; ++i) p.on_lost(1452, now + kMs);
  p.on_acked(kPing, now + 2 * kRtt, now + 2 * kRtt + kAckAfter);
  EXPECT_TRUE(p.black_hole_shown(now + 3 * kRtt, kRtt));
  EXPECT_EQ(p.current(), 1232u);
  EXPECT_GT(p.probe_due(now), 1232u);
}

TEST(PmtuSearch, OneProbeAtATime) {
  PmtuSearch p(PmtuSearch::kBaseIpv4, 8192, 0);
  uint32_t size = p.probe_due(0);
  p.on_probe_sent(size);
  EXPECT_EQ(p.probe_due(0), 0u);
  p.on_probe_lost(size, 1);
  EXPECT_EQ(p.probe_due(1), size);  // a lost probe is tried again
}

TEST(PmtuSearch, BinarySearchBelowALimitFurtherAlongThePath) {
  int64_t now = 0;
  PmtuSearch p(PmtuSearch::kBaseIpv4, 1472, now);
  int probes = search(p, 1252, now);
  EXPECT_LE(p.current(), 1252u);
  EXPECT_GT(p.current() + PmtuSearch::kResolution, 1252u);
  EXPECT_FALSE(p.searching());
  EXPECT_LT(probes, 40);
  EXPECT_EQ(p.probes_lost() % PmtuSearch::kMaxProbes, 0u);  // each failed size, MAX_PROBES times
}

TEST(PmtuSearch, ASingleLostProbeIsNotAFailure) {
  int64_t now = 0;
  PmtuSearch p(PmtuSearch::kBaseIpv4, 1472, now);
  p.on_probe_sent(p.probe_due(now));
  p.on_probe_lost(1472, now);  // congestion
  uint32_t again = p.probe_due(now);
  EXPECT_EQ(again, 1472u);
  p.on_probe_sent(again);
  EXPECT_TRUE(p.on_probe_acked(again, now));
  EXPECT_EQ(p.current(), 1472u);
}

TEST(PmtuSearch, NoSearchWhenTheRouteAllowsNoMore) {
  PmtuSearch p(PmtuSearch::kBaseIpv4, 1000, 0);
  EXPECT_EQ(p.current(), PmtuSearch::kBaseIpv4);
  EXPECT_FALSE(p.searching());
  EXPECT_EQ(p.probe_due(PmtuSearch::kRaiseIntervalNs * 2), 0u);
}

TEST(PmtuSearch, SearchesAgainAfterTheRaiseInterval) {
  int64_t now = 0;
  PmtuSearch p(PmtuSearch::kBaseIpv4, 1472, now);
  search(p, 1300, now);
  uint32_t found = p.current();
  EXPECT_EQ(p.probe_due(now + PmtuSearch::kRaiseIntervalNs / 2), 0u);
  now += PmtuSearch::kRaiseIntervalNs;
  EXPECT_EQ(p.probe_due(now), 1472u);  // the ceiling first: the path may have grown
  search(p, 1472, now);
  EXPECT_GT(p.current(), found);
}

TEST(PmtuSearch, CongestionLossesAreNotABlackHole) {
  constexpr int64_t kMinRtt = 40 * kMs;
  int64_t now = 0;
  PmtuSearch p = carrying_1472(now);
  // A burst of losses declared by an acknowledgement of later datagrams, large and small.
  now += kRtt;
  for (int i = 0; i < 20; ++i) p.on_lost(1472, now - kRtt + kMs);
  p.on_acked(1472, now - kRtt + 10 * kMs, now - kRtt + 10 * kMs + kAckAfter);
  p.on_acked(kPing, now - kRtt + 11 * kMs, now - kRtt + 11 * kMs + kAckAfter);
  EXPECT_FALSE(p.black_hole_shown(now, kMinRtt));
  // Losses spread out, with acknowledgements between them.
  for (int i = 0; i < 20; ++i) {
    now += 50 * kMs;
    p.on_lost(1472, now - kRtt);
    p.on_acked(1472, now - kRtt + 5 * kMs, now - kRtt + 5 * kMs + kAckAfter);
    p.on_acked(kPing, now - kRtt + 6 * kMs, now - kRtt + 6 * kMs + kAckAfter);
    EXPECT_FALSE(p.black_hole_shown(now, kMinRtt));
  }
  EXPECT_EQ(p.current(), 1472u);
  EXPECT_EQ(p.black_holes(), 0u);
}

TEST(PmtuSearch, ABlackHoleFallsBackToTheBaseAndSearchesAgain) {
  int64_t now = 0;
  PmtuSearch p = carrying_1472(now);
  int64_t last_large_sent = now;
  now += 2 * kRtt;
  p.on_lost(1472, last_large_sent + kMs);
  p.on_lost(1472, last_large_sent + 2 * kMs);
  EXPECT_FALSE(p.black_hole_shown(now, kRtt));  // no small datagram answered
  p.on_acked(kPing, now - kRtt / 2, now - kRtt / 2 + kAckAfter);  // sent 1.5 round trips after the last large one
  EXPECT_FALSE(p.black_hole_shown(now, kRtt));  // two losses
  p.on_lost(1472, last_large_sent + 3 * kMs);
  EXPECT_TRUE(p.black_hole_shown(now, kRtt));
  EXPECT_EQ(p.current(), PmtuSearch::kBaseIpv4);
  EXPECT_EQ(p.black_holes(), 1u);
  EXPECT_FALSE(p.black_hole_shown(now, kRtt));  // found once
  EXPECT_TRUE(p.searching());
  search(p, 1252, now);  // the path now carries 1280-byte IP packets
  EXPECT_LE(p.current(), 1252u);
  EXPECT_GT(p.current(), PmtuSearch::kBaseIpv4);
}

TEST(PmtuSearch, ABlackHoleIsFoundByAPingThatNoLongerWaitsInTheQueue) {
  // A hole check's ping, sent a round trip and an eighth after the first lost datagram and
  // answered without the queue the large datagrams kept: sent 0.9 smoothed RTTs after the
  // last large datagram that arrived, more than the path's minimum RTT but less than the
  // smoothed one.
  constexpr int64_t kMinRtt = 40 * kMs;
  int64_t now = 0;
  PmtuSearch p = carrying_1472(now);
  for (int i = 0; i < PmtuSearch::kBlackHoleLosses; ++i) p.on_lost(1472, now + kMs);
  p.on_acked(kPing, now + kRtt * 9 / 10, now + kRtt * 9 / 10 + kAckAfter);
  now += 2 * kRtt;
  EXPECT_FALSE(p.black_hole_shown(now, kRtt));
  EXPECT_TRUE(p.black_hole_shown(now, kMinRtt));
}

TEST(PmtuSearch, ABlackHoleNeedsASmallDatagramSentAMinimumRttAfterTheLastLargeOneThatArrived) {
  // The hole opened just after the last large datagram that arrived: the sender's small
  // datagram sent 20 ms later passes and finds 10 large ones lost, but that is no evidence
  // yet (congestion could drop 20 ms of large datagrams and keep a small one); the next
  // small one, sent a minimum RTT after that large one, is. However late the loop reads
  // the acknowledgements.
  constexpr int64_t kMinRtt = 40 * kMs;
  int64_t now = 0;
  PmtuSearch p = carrying_1472(now);
  int64_t last_large_sent = now;
  now += 10 * kRtt;  // (a loop that read nothing for a second)
  p.on_acked(kPing, last_large_sent + 20 * kMs, last_large_sent + 20 * kMs + kAckAfter);
  for (int i = 0; i < 10; ++i) p.on_lost(1472, last_large_sent + 5 * kMs);
  EXPECT_FALSE(p.black_hole_shown(now, kMinRtt));
  p.on_acked(kPing, last_large_sent + kMinRtt, last_large_sent + kMinRtt + kAckAfter);
  EXPECT_FALSE(p.black_hole_shown(now, kMinRtt));
  p.on_acked(kPing, last_large_sent + kMinRtt + 1, last_large_sent + kMinRtt + 1 + kAckAfter);
  EXPECT_TRUE(p.black_hole_shown(now, kMinRtt));
  EXPECT_EQ(p.black_holes(), 1u);
}

TEST(PmtuSearch, APathThatWentDownIsNotABlackHole) {
  // Everything sent while the path was down is lost, the hole checks' pings too; the first
  // datagram answered after it came back was a ping.
  constexpr int64_t kMinRtt = 40 * kMs;
  int64_t now = 0;
  PmtuSearch p = carrying_1472(now);
  int64_t down = now + kMs;
  for (int i = 0; i < 50; ++i) p.on_lost(1472, down + i * kMs);
  p.on_lost(kPing, down + 60 * kMs);
  p.on_acked(kPing, down + 1000 * kMs, down + 1000 * kMs + kAckAfter);
  EXPECT_FALSE(p.black_hole_shown(down + 1100 * kMs, kMinRtt));
  EXPECT_EQ(p.current(), 1472u);
}

TEST(PmtuSearch, AFullQueueThatKeepsASmallDatagramIsNotABlackHole) {
  // A slow start's overshoot into a full queue (BBR's startup on the WAN bed): the few large
  // datagrams a full window lets out are dropped, a hole check's 84-byte ping fits, sent 42
  // ms after the last large one that got through. But large ones sent before still arrive:
  // their acknowledgements came 10 ms ago.
  constexpr int64_t kMinRtt = 40 * kMs;
  int64_t now = 0;
  PmtuSearch p = carrying_1472(now);
  p.on_acked(1472, now + kMs, now + 95 * kMs);
  for (int i = 0; i < 11; ++i) p.on_lost(1472, now + 10 * kMs);
  p.on_acked(kPing, now + 43 * kMs, now + 104 * kMs);
  EXPECT_FALSE(p.black_hole_shown(now + 105 * kMs, kMinRtt));
  EXPECT_TRUE(p.black_hole_shown(now + 136 * kMs, kMinRtt));  // (no large one for a minimum RTT: now it is)
}

TEST(PmtuSearch, LossesNoSmallDatagramAnsweredAreNotABlackHole) {
  // The last large datagrams of a transfer, lost to congestion and found by a large one's
  // acknowledgement; then nothing more is sent: silence is not a hole. Nor are losses
  // followed by a large acknowledgement, whatever small ones are answered after.
  int64_t now = 0;
  PmtuSearch p = carrying_1472(now);
  for (int i = 0; i < 5; ++i) p.on_lost(1472, now + kMs);
  EXPECT_FALSE(p.black_hole_shown(now + 10 * kRtt, kRtt));
  p.on_acked(1472, now + 2 * kMs, now + 2 * kMs + kAckAfter);
  p.on_acked(kPing, now + 2 * kRtt, now + 2 * kRtt + kAckAfter);  // (late enough, but after a large one)
  EXPECT_FALSE(p.black_hole_shown(now + 10 * kRtt, kRtt));
  EXPECT_EQ(p.current(), 1472u);
}

TEST(PmtuSearch, TheSearchAfterABlackHoleDoesNotTryTheSizeThatVanished) {
  int64_t now = 0;
  PmtuSearch p = carrying_1472(now);
  for (int i = 0; i < PmtuSearch::kBlackHoleLosses; ++i) p.on_lost(1472, now + kMs);
  now += 2 * kRtt;
  p.on_acked(kPing, now, now + kAckAfter);
  ASSERT_TRUE(p.black_hole_shown(now, kRtt));
  ASSERT_EQ(p.current(), PmtuSearch::kBaseIpv4);
  uint32_t first = p.probe_due(now);
  EXPECT_GT(first, PmtuSearch::kBaseIpv4);
  EXPECT_LT(first, 1472u - PmtuSearch::kResolution);  // the middle, not the top
  int probes = search(p, 1252, now);
  EXPECT_LE(p.current(), 1252u);
  EXPECT_GT(p.current() + PmtuSearch::kResolution, 1252u);
  PmtuSearch fresh(PmtuSearch::kBaseIpv4, 1472, 0);  // a search from the ceiling, for comparison
  int64_t t = 0;
  EXPECT_LT(probes, search(fresh, 1252, t));
}

TEST(PmtuSearch, AHoleCheckIsDueWhenLargeDatagramsAnswersAreOverdue) {
  constexpr int64_t kMaxAckDelay = 10 * kMs;
  constexpr int64_t kFlightDelay = 2 * kMs;  // the oldest's acknowledgement waits for the next of a large flight
  int64_t now = 0;
  PmtuSearch p(PmtuSearch::kBaseIpv4, 1472, now);
  EXPECT_FALSE(p.hole_check_due(now, now + 10 * kRtt, kRtt, kRtt, kFlightDelay, kMaxAckDelay));  // datagrams are kBase
  search(p, 1472, now);
  int64_t sent = now;
  // Nothing in flight.
  EXPECT_FALSE(p.hole_check_due(INT64_MAX, now + 10 * kRtt, kRtt, kRtt, kFlightDelay, kMaxAckDelay));
  now = sent + kRtt + kFlightDelay + kRtt / 8;
  EXPECT_FALSE(p.hole_check_due(sent, now, kRtt, kRtt, kFlightDelay, kMaxAckDelay));  // not yet overdue
  EXPECT_TRUE(p.hole_check_due(sent, now + 1, kRtt, kRtt, kFlightDelay, kMaxAckDelay));
  p.on_hole_check_sent(now);
  p.on_path_answered();  // (the ping's acknowledgement; the large datagrams' still overdue)
  // One per round trip and a lone ping's acknowledgement delay.
  EXPECT_FALSE(p.hole_check_due(sent, now + kRtt + kMaxAckDelay - 1, kRtt, kRtt, kFlightDelay, kMaxAckDelay));
  EXPECT_TRUE(p.hole_check_due(sent, now + kRtt + kMaxAckDelay, kRtt, kRtt, kFlightDelay, kMaxAckDelay));
}

TEST(PmtuSearch, AHoleCheckIsDueAsSoonAsItsPingWouldShowTheHole) {
  // Large datagrams found lost (by a small datagram's acknowledgement) with nothing overdue
  // yet: the ping goes once it leaves a minimum RTT after the last large one that arrived.
  constexpr int64_t kMinRtt = 40 * kMs, kAckDelay = 10 * kMs;
  int64_t now = 0;
  PmtuSearch p = carrying_1472(now);
  int64_t last_large_sent = now, oldest = now + kMs;
  for (int i = 0; i < PmtuSearch::kBlackHoleLosses; ++i) p.on_lost(1472, last_large_sent + kMs);
  EXPECT_FALSE(p.hole_check_due(oldest, last_large_sent + kMinRtt, kRtt, kMinRtt, kAckDelay, kAckDelay));
  EXPECT_TRUE(p.hole_check_due(oldest, last_large_sent + kMinRtt + 1, kRtt, kMinRtt, kAckDelay, kAckDelay));
  p.on_acked(1472, last_large_sent + 2 * kMs, last_large_sent + 2 * kMs + kAckAfter);  // a large one arrived after all
  EXPECT_FALSE(p.hole_check_due(oldest, last_large_sent + kMinRtt + 1, kRtt, kMinRtt, kAckDelay, kAckDelay));
}

TEST(PmtuSearch, UnansweredHoleChecksBackOffUntilThePathAnswers) {
  constexpr int64_t kAckDelay = 10 * kMs;
  constexpr int64_t kFlightDelay = 2 * kMs;
  constexpr int64_t kAnswer = kRtt + kAckDelay;  // a lone ping's: the gaps are counted in it
  int64_t now = 0;
  PmtuSearch p(PmtuSearch::kBaseIpv4, 1472, now);
  search(p, 1472, now);
  int64_t sent = now;
  now = sent + 2 * kAnswer;
  ASSERT_TRUE(p.hole_check_due(sent, now, kRtt, kRtt, kFlightDelay, kAckDelay));
  // A stalled path answers none: each check waits twice as long as the one before.
  for (int checks = 1; checks <= 8; ++checks) {
    p.on_hole_check_sent(now);
    int64_t gap = kAnswer << std::min(checks, PmtuSearch::kMaxHoleCheckBackoff);
    EXPECT_FALSE(p.hole_check_due(sent, now + gap - 1, kRtt, kRtt, kFlightDelay, kAckDelay)) << checks;
    EXPECT_TRUE(p.hole_check_due(sent, now + gap, kRtt, kRtt, kFlightDelay, kAckDelay)) << checks;
    now += gap;
  }
  // An acknowledgement: one per round trip again.
  p.on_path_answered();
  p.on_hole_check_sent(now);
  EXPECT_TRUE(p.hole_check_due(sent, now + 2 * kAnswer, kRtt, kRtt, kFlightDelay, kAckDelay));
}

TEST(PmtuSearch, AStaleProbeResultDoesNotDisturbTheSearch) {
  int64_t now = 0;
  PmtuSearch p(PmtuSearch::kBaseIpv4, 1472, now);
  uint32_t first = p.probe_due(now);
  p.on_probe_sent(first);
  p.on_probe_lost(1300, now);  // not the outstanding one
  EXPECT_EQ(p.probe_due(now), 0u);
  EXPECT_TRUE(p.on_probe_acked(first, now));
}

}  // namespace
}  // namespace nm::session
