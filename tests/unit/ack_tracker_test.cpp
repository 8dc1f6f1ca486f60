// AckTracker: ranges of received packet numbers, and when to acknowledge them.
#include "session/ack_tracker.h"

#include <gtest/gtest.h>

#include <vector>

namespace nm::session {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST(AckTracker, InOrderArrivalsMakeOneRangeAcknowledgedEverySecondOne) {
  AckTracker t;
  t.on_packet(0, true, 0);
  EXPECT_EQ(t.when(0), AckTracker::When::kLater);
  t.on_packet(1, true, 0);
  EXPECT_EQ(t.when(0), AckTracker::When::kNow);
  auto f = t.take(kMs);
  EXPECT_EQ(f.ranges, (std::vector<wire::AckRange>{{0, 1}}));
  EXPECT_EQ(f.ack_delay_us, 1000u);
  EXPECT_EQ(t.when(kMs), AckTracker::When::kNothing);
  t.on_packet(2, false, kMs);  // not ack-eliciting: recorded, not a reason to acknowledge
  EXPECT_EQ(t.when(kMs), AckTracker::When::kNothing);
}

// Datagrams `per_round` to a 40 ms round trip, evenly spaced, from pn on, acknowledged
// whenever the tracker says so; returns how many acknowledgements that took.
uint32_t arrive(AckTracker& t, uint64_t& pn, int64_t& now, uint32_t per_round, uint32_t rounds) {
  const int64_t srtt = 40 * kMs;
  uint32_t acks = 0;
  for (uint32_t i = 0; i < per_round * rounds; ++i) {
    t.on_packet(pn++, true, now, srtt);
    if (t.when(now) == AckTracker::When::kNow) {
      t.take(now);
      ++acks;
    }
    now += srtt / per_round;
  }
  return acks;
}

// A round trip of 32 datagrams or more is acknowledged every 4th from the next on, a
// smaller one every 2nd, and one after an idle spell starts at every 2nd again.
TEST(AckTracker, ALargeFlightIsAcknowledgedEveryFourthASmallOneEverySecond) {
  AckTracker t;
  uint64_t pn = 0;
  int64_t now = 1000 * kMs;
  EXPECT_EQ(arrive(t, pn, now, 16, 3), 24u);  // every 2nd
  EXPECT_EQ(arrive(t, pn, now, 40, 1), 10u + 10u);  // its first round at 16 a round trip: every 2nd
  EXPECT_EQ(arrive(t, pn, now, 40, 2), 20u);  // then every 4th
  now += 100 * kMs;  // idle for more than 2 round trips
  t.on_packet(pn++, true, now, 40 * kMs);
  EXPECT_EQ(t.when(now), AckTracker::When::kLater);
  t.on_packet(pn++, true, now, 40 * kMs);
  EXPECT_EQ(t.when(now), AckTracker::When::kNow);
}

TEST(AckTracker, AGapIsReportedAtOnceAndLateArrivalsJoinTheRanges) {
  AckTracker t;
  for (uint64_t pn : {0, 1, 2}) t.on_packet(pn, true, 0);
  t.take(0);
  t.on_packet(5, true, 0);  // 3 and 4 missing
  EXPECT_EQ(t.when(0), AckTracker::When::kNow);
  EXPECT_EQ(t.take(0).ranges, (std::vector<wire::AckRange>{{5, 5}, {0, 2}}));
  t.on_packet(3, true, 0);
  EXPECT_EQ(t.when(0), AckTracker::When::kNow);  // out of order
  EXPECT_EQ(t.take(0).ranges, (std::vector<wire::AckRange>{{5, 5}, {0, 3}}));
  t.on_packet(4, true, 0);  // fills the gap: one range again
  EXPECT_EQ(t.take(0).ranges, (std::vector<wire::AckRange>{{0, 5}}));
  t.on_packet(4, true, 0);  // a duplicate changes nothing but asks for a report
  EXPECT_EQ(t.take(0).ranges, (std::vector<wire::AckRange>{{0, 5}}));
}

TEST(AckTracker, ALoneArrivalWaitsAtMostTheMaxAckDelay) {
  AckTracker t;
  t.on_packet(0, true, 0);
  EXPECT_EQ(t.when(AckTracker::kMaxAckDelayNs - 1), AckTracker::When::kLater);
  EXPECT_EQ(t.when(AckTracker::kMaxAckDelayNs), AckTracker::When::kNow);
}

// A gap's lower range is listed in kReportsPerRange acknowledgements, then left out (the
// newest range always stays); a range that grows is news again and starts over.
TEST(AckTracker, ARangeBelowTheNewestIsListedInFourAcknowledgementsThenLeftOut) {
  AckTracker t;
  for (uint64_t pn : {0, 1, 2}) t.on_packet(pn, true, 0);
  EXPECT_EQ(t.take(0).ranges, (std::vector<wire::AckRange>{{0, 2}}));
  uint64_t pn = 5;  // 3 and 4 missing
  for (uint32_t i = 0; i < AckTracker::kReportsPerRange; ++i) {
    t.on_packet(pn, true, 0);
    EXPECT_EQ(t.take(0).ranges, (std::vector<wire::AckRange>{{5, pn}, {0, 2}})) << i;
    ++pn;
  }
  t.on_packet(pn, true, 0);
  EXPECT_EQ(t.take(0).ranges, (std::vector<wire::AckRange>{{5, pn}}));
  t.on_packet(3, true, 0);  // late: a range of its own, listed anew
  EXPECT_EQ(t.take(0).ranges, (std::vector<wire::AckRange>{{5, pn}, {3, 3}}));
  for (uint32_t i = 1; i < AckTracker::kReportsPerRange; ++i) t.take(0);
  t.on_packet(4, true, 0);  // joins the newest (3, told often enough, is not told again)
  EXPECT_EQ(t.take(0).ranges, (std::vector<wire::AckRange>{{4, pn}}));
}

TEST(AckTracker, ARangeThatGrowsIsListedAgain) {
  AckTracker t;
  for (uint64_t pn : {0, 1, 5}) t.on_packet(pn, true, 0);  // 2-4 missing
  for (uint32_t i = 1; i < AckTracker::kReportsPerRange; ++i) t.take(0);  // {0, 1} listed 3 times
  t.on_packet(2, true, 0);                                                // it grows
  for (uint32_t i = 0; i < AckTracker::kReportsPerRange; ++i)
    EXPECT_EQ(t.take(0).ranges, (std::vector<wire::AckRange>{{5, 5}, {0, 2}})) << i;
  EXPECT_EQ(t.take(0).ranges, (std::vector<wire::AckRange>{{5, 5}}));
}

TEST(AckTracker, OnlyTheNewestRangesAreKept) {
  AckTracker t;
  for (uint64_t pn = 0; pn < 2 * wire::kMaxAckRanges * 2; pn += 2) t.on_packet(pn, true, 0);
  auto f = t.take(0);
  ASSERT_EQ(f.ranges.size(), wire::kMaxAckRanges);
  EXPECT_EQ(f.ranges.front().last, 2 * wire::kMaxAckRanges * 2 - 2);
  std::vector<uint8_t> body(wire::ack_frame_size(f));
  wire::encode_ack_frame(f, body.data());
  EXPECT_TRUE(wire::decode_ack_frame(body));  // always a valid frame
}

}  // namespace
}  // namespace nm::session
