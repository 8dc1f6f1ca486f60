// PunchSchedule: keep-alives at the agreed moment, +100 ms and +250 ms; a watch of 5 s for
// the peer's keep-alive from exactly its address.
#include "node/punch_schedule.h"

#include <gtest/gtest.h>

#include "wire/address.h"

namespace nm::node {
namespace {

constexpr int64_t kMs = 1'000'000;

sockaddr_storage at(const char* text) {
  sockaddr_storage a{};
  EXPECT_TRUE(wire::parse_address(text, a));
  return a;
}

TEST(PunchSchedule, SendsThreeKeepAlivesFromTheFiringMoment) {
  PunchSchedule s;
  s.schedule(7, 3, at("198.51.100.7:40000"), 500 * kMs, 0);
  EXPECT_TRUE(s.due(499 * kMs).empty());
  EXPECT_EQ(s.next_deadline(), 500 * kMs);
  auto first = s.due(500 * kMs);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(wire::format_address(first[0]), "198.51.100.7:40000");
  EXPECT_TRUE(s.due(599 * kMs).empty());
  EXPECT_EQ(s.due(600 * kMs).size(), 1u);
  EXPECT_EQ(s.next_deadline(), 750 * kMs);
  EXPECT_EQ(s.due(2000 * kMs).size(), 1u);  // late: the third at once, no more
  EXPECT_TRUE(s.due(3000 * kMs).empty());
  EXPECT_EQ(s.next_deadline(), PunchSchedule::kWatchNs);
}

// find names the punch towards a peer and who introduced it: the node keeps an introduction
// it did not ask for from replacing one it did.
TEST(PunchSchedule, FindsThePunchTowardsAPeerAndItsCoordinator) {
  PunchSchedule s;
  EXPECT_EQ(s.find(7), nullptr);
  s.schedule(7, 3, at("198.51.100.7:40000"), 0, 0);
  s.schedule(8, 4, at("198.51.100.8:40000"), 0, 0);
  ASSERT_NE(s.find(7), nullptr);
  EXPECT_EQ(s.find(7)->coordinator, 3u);
  s.schedule(7, 5, at("203.0.113.9:1"), 0, 0);  // a later introduction replaces it
  EXPECT_EQ(s.find(7)->coordinator, 5u);
  EXPECT_EQ(s.find(8)->coordinator, 4u);
}

TEST(PunchSchedule, AFiringMomentInThePastMeansNow) {
  PunchSchedule s;
  s.schedule(7, 3, at("198.51.100.7:40000"), -5 * kMs, 100 * kMs);
  EXPECT_EQ(s.due(100 * kMs).size(), 1u);
}

// The wire's firing time is any u64 a coordinator writes: none overflows, and none is later
// than the watch (an audit found `(int64)fire_at - unix_now` overflowing, undefined in C++).
TEST(PunchSchedule, AFiringTimeFromTheWireIsClampedBetweenNowAndTheWatchsEnd) {
  const int64_t now = 1000 * kMs, unix_now = 1'700'000'000'000;
  EXPECT_EQ(PunchSchedule::firing_moment(1'700'000'000'500, unix_now, now), now + 500 * kMs);
  EXPECT_EQ(PunchSchedule::firing_moment(0, unix_now, now), now);
  EXPECT_EQ(PunchSchedule::firing_moment(1'699'999'999'999, unix_now, now), now);
  for (uint64_t far : {uint64_t{1} << 62, uint64_t{1} << 63, UINT64_MAX})
    EXPECT_EQ(PunchSchedule::firing_moment(far, unix_now, now), now + PunchSchedule::kWatchNs) << far;
}

TEST(PunchSchedule, TheKeepAliveMustComeFromExactlyThePeersAddressInTime) {
  PunchSchedule s;
  s.schedule(7, 3, at("198.51.100.7:40000"), 0, 0);
  EXPECT_FALSE(s.on_keepalive(at("198.51.100.7:40001"), kMs));
  EXPECT_FALSE(s.on_keepalive(at("198.51.100.8:40000"), kMs));
  auto p = s.on_keepalive(at("198.51.100.7:40000"), kMs);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->peer, 7u);
  EXPECT_EQ(p->coordinator, 3u);
  EXPECT_FALSE(s.on_keepalive(at("198.51.100.7:40000"), kMs));  // once
  EXPECT_TRUE(s.empty());

  s.schedule(8, 3, at("203.0.113.1:5000"), 0, 0);
  EXPECT_FALSE(s.on_keepalive(at("203.0.113.1:5000"), PunchSchedule::kWatchNs));  // too late
  EXPECT_EQ(s.expire(PunchSchedule::kWatchNs), 1);
  EXPECT_TRUE(s.empty());
}

TEST(PunchSchedule, ANewIntroductionReplacesTheOldAndTheScheduleIsBounded) {
  PunchSchedule s;
  s.schedule(7, 3, at("198.51.100.7:40000"), 0, 0);
  s.schedule(7, 3, at("198.51.100.7:40002"), 0, 0);
  EXPECT_FALSE(s.on_keepalive(at("198.51.100.7:40000"), kMs));
  EXPECT_TRUE(s.on_keepalive(at("198.51.100.7:40002"), kMs));
  for (uint64_t peer = 1; peer <= PunchSchedule::kMaxPunches + 10; ++peer) s.schedule(peer, 3, at("10.0.0.1:1"), 0, 0);
  EXPECT_EQ(s.due(0).size(), PunchSchedule::kMaxPunches);
}

}  // namespace
}  // namespace nm::node
