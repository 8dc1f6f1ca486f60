// Smoothed RTT and retransmission timeout (stream/rtt_estimator.h, RFC 6298 arithmetic).
#include "stream/rtt_estimator.h"

#include <gtest/gtest.h>

namespace nm::stream {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST(RttEstimator, BeforeAnySampleTheInitialRtoAndTheMinimumGuardApply) {
  RttEstimator r;
  EXPECT_EQ(r.srtt(), 0);
  EXPECT_EQ(r.rto(), RttEstimator::kInitialRto);
  EXPECT_EQ(r.resend_guard(), RttEstimator::kMinResendGuard);
}

TEST(RttEstimator, TheFirstSampleSetsSrttAndHalfOfItAsVariance) {
  RttEstimator r;
  r.sample(80 * kMs);
  EXPECT_EQ(r.srtt(), 80 * kMs);
  EXPECT_EQ(r.rto(), 80 * kMs + 4 * 40 * kMs);  // srtt + 4 * rttvar, rttvar = srtt / 2
  EXPECT_EQ(r.resend_guard(), 240 * kMs);
}

TEST(RttEstimator, LaterSamplesAreSmoothedWithTheOldSrtt) {
  RttEstimator r;
  r.sample(80 * kMs);
  r.sample(160 * kMs);
  // rttvar = 3/4 * 40 + 1/4 * |80 - 160| = 50; srtt = 7/8 * 80 + 1/8 * 160 = 90.
  EXPECT_EQ(r.srtt(), 90 * kMs);
  EXPECT_EQ(r.rto(), 290 * kMs);
  r.sample(90 * kMs);  // rttvar = 3/4 * 50 + 0 = 37.5
  EXPECT_EQ(r.srtt(), 90 * kMs);
  EXPECT_EQ(r.rto(), 90 * kMs + 150 * kMs);
}

TEST(RttEstimator, AStableRttLetsTheRtoConvergeOnIt) {
  RttEstimator r;
  for (int i = 0; i < 100; ++i) r.sample(250 * kMs);
  EXPECT_EQ(r.srtt(), 250 * kMs);
  EXPECT_LT(r.rto(), 251 * kMs);
  EXPECT_GE(r.rto(), 250 * kMs);
}

TEST(RttEstimator, NegativeSamplesAreIgnored) {
  RttEstimator r;
  r.sample(-5 * kMs);
  EXPECT_EQ(r.srtt(), 0);
  EXPECT_EQ(r.rto(), RttEstimator::kInitialRto);
  r.sample(100 * kMs);
  r.sample(-1);
  EXPECT_EQ(r.srtt(), 100 * kMs);
  EXPECT_EQ(r.rto(), 300 * kMs);
}

TEST(RttEstimator, TheRtoIsClampedToItsFloorAndCeiling) {
  RttEstimator fast;
  fast.sample(40 * kMs);  // srtt + 4 rttvar = 120 ms
  EXPECT_EQ(fast.rto(), RttEstimator::kMinRto);
  EXPECT_EQ(fast.resend_guard(), 120 * kMs);  // the guard has its own, lower floor

  RttEstimator slow;
  slow.sample(1'000 * kMs);  // 3 s
  EXPECT_EQ(slow.rto(), RttEstimator::kMaxRto);
  EXPECT_EQ(slow.resend_guard(), 3'000 * kMs);  // not capped
}

TEST(RttEstimator, TheResendGuardHasAFloor) {
  RttEstimator r;
  r.sample(100'000);  // 0.1 ms: srtt + 4 rttvar = 0.3 ms
  EXPECT_EQ(r.resend_guard(), RttEstimator::kMinResendGuard);
  EXPECT_EQ(r.rto(), RttEstimator::kMinRto);
}

}  // namespace
}  // namespace nm::stream
