// LossDetector: acknowledgements, RTT samples, packet- and time-threshold loss, persistent
// congestion and probe timeouts (RFC 9002 §6, §7.6).
#include "session/loss_detector.h"

#include <gtest/gtest.h>

namespace nm::session {
namespace {

constexpr int64_t kMs = 1'000'000;

SentDatagram datagram(uint64_t pn, int64_t sent_ns) {
  SentDatagram d;
  d.pn = pn;
  d.sent_ns = sent_ns;
  d.bytes = 1200;
  d.stream_id = 7;
  d.stream_seq = pn;
  return d;
}

wire::AckFrame ack(std::vector<wire::AckRange> ranges, uint32_t delay_us = 0) {
  wire::AckFrame f;
  f.ranges = std::move(ranges);
  f.ack_delay_us = delay_us;
  return f;
}

TEST(LossDetector, AcknowledgesRangesAndSamplesTheRttFromTheLargest) {
  LossDetector ld(10 * kMs);
  RttStats rtt;
  for (uint64_t pn = 0; pn < 5; ++pn) ld.on_sent(datagram(pn * 2, pn * kMs));  // numbers 0,2,..8
  LossDetector::AckResult r;
  ld.on_ack(ack({{0, 8}}, 2000), 50 * kMs, rtt, r);
  EXPECT_EQ(r.acked.size(), 5u);
  EXPECT_TRUE(r.lost.empty());
  ASSERT_TRUE(r.rtt_sampled);
  EXPECT_EQ(rtt.latest(), 50 * kMs - 4 * kMs);  // from datagram 8, sent at 4 ms
  EXPECT_EQ(ld.outstanding(), 0u);
  ld.on_ack(ack({{0, 8}}), 60 * kMs, rtt, r);  // repeated: nothing new, no sample
  EXPECT_TRUE(r.acked.empty());
  EXPECT_FALSE(r.rtt_sampled);
}

// RFC 9002 §5.1: the largest number may be a datagram without data (say the sender's own
// acknowledgement, which arrived after its data); with data newly acknowledged, its send
// time gives the sample.
TEST(LossDetector, ALargestWithoutDataStillSamplesTheRttWhenDataIsNewlyAcknowledged) {
  LossDetector ld(10 * kMs);
  RttStats rtt;
  ld.on_sent(datagram(0, 0));
  ld.on_sent_untracked(1, 2 * kMs, 60);
  LossDetector::AckResult r;
  ld.on_ack(ack({{0, 1}}, 1000), 30 * kMs, rtt, r);
  ASSERT_EQ(r.acked.size(), 1u);
  ASSERT_TRUE(r.rtt_sampled);
  EXPECT_EQ(rtt.latest(), 30 * kMs - 2 * kMs);  // from datagram 1, not from 0
  EXPECT_EQ(r.largest_untracked_bytes, 60u);     // (what path MTU discovery learns from it)
}

TEST(LossDetector, ALargestWithoutDataAcknowledgedBeforeGivesNoSample) {
  LossDetector ld(10 * kMs);
  RttStats rtt;
  ld.on_sent(datagram(0, 0));
  ld.on_sent_untracked(1, 1 * kMs, 60);
  ld.on_sent_untracked(2, 2 * kMs, 60);
  LossDetector::AckResult r;
  ld.on_ack(ack({{1, 2}}), 20 * kMs, rtt, r);  // only datagrams without data: nothing new
  EXPECT_TRUE(r.acked.empty());
  EXPECT_FALSE(r.rtt_sampled);
  EXPECT_EQ(r.largest_untracked_bytes, 60u);  // but the path carried 2
  ld.on_ack(ack({{0, 2}}), 40 * kMs, rtt, r);  // 0 is new, but 2 was acknowledged at 20 ms
  EXPECT_EQ(r.acked.size(), 1u);
  EXPECT_FALSE(r.rtt_sampled);  // a sample from 2 now would count 20 ms that are not the path
  ld.on_ack(ack({{1, 1}}), 50 * kMs, rtt, r);  // a late frame: 1 is below 2, gone too
  EXPECT_FALSE(r.rtt_sampled);
  EXPECT_EQ(r.largest_untracked_bytes, 0u);
}

TEST(LossDetector, OnlyTheLatestDatagramsWithoutDataAreRemembered) {
  LossDetector ld(10 * kMs);
  RttStats rtt;
  ld.on_sent(datagram(0, 0));
  uint64_t n = LossDetector::kUntrackedRemembered + 1;
  for (uint64_t pn = 1; pn <= n; ++pn) ld.on_sent_untracked(pn, int64_t(pn) * kMs, 60);
  LossDetector::AckResult r;
  ld.on_ack(ack({{0, 1}}), 500 * kMs, rtt, r);  // 1 was forgotten: no send time
  EXPECT_EQ(r.acked.size(), 1u);
  EXPECT_FALSE(r.rtt_sampled);
  ld.on_sent(datagram(n + 1, 0));
  ld.on_ack(ack({{n, n + 1}}, 0), 600 * kMs, rtt, r);  // the largest is data: as ever
  ASSERT_TRUE(r.rtt_sampled);
  EXPECT_EQ(rtt.latest(), 600 * kMs);
}

TEST(LossDetector, ThreeLaterAcknowledgedMeansLost) {
  LossDetector ld(10 * kMs);
  RttStats rtt;
  for (uint64_t pn = 0; pn < 6; ++pn) ld.on_sent(datagram(pn, 0));
  LossDetector::AckResult r;
  ld.on_ack(ack({{3, 4}, {0, 0}}), 100 * kMs, rtt, r);  // 1 and 2 missing, largest 4
  ASSERT_EQ(r.lost.size(), 1u);                          // 1: 4 >= 1 + 3
  EXPECT_EQ(r.lost[0].pn, 1u);
  EXPECT_TRUE(ld.loss_timer_armed());  // 2 is only one threshold away: the timer decides
  std::vector<SentDatagram> lost;
  ld.on_loss_timer(100 * kMs + 1, rtt, lost);
  EXPECT_TRUE(lost.empty());  // too soon
  ld.on_loss_timer(100 * kMs * 9 / 8 + 1, rtt, lost);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].pn, 2u);
  EXPECT_EQ(ld.outstanding(), 1u);  // 5 is still in flight
}

TEST(LossDetector, AnAcknowledgementOfADatagramDeclaredLostMakesTheLossSpurious) {
  LossDetector ld(10 * kMs);
  RttStats rtt;
  for (uint64_t pn = 0; pn < 6; ++pn) ld.on_sent(datagram(pn, 0));
  LossDetector::AckResult r;
  ld.on_ack(ack({{3, 4}, {0, 0}}), 100 * kMs, rtt, r);
  ASSERT_EQ(r.lost.size(), 1u);  // 1, reordered beyond the packet threshold
  EXPECT_TRUE(r.spurious.empty());
  ld.on_ack(ack({{3, 4}, {0, 1}}), 101 * kMs, rtt, r);  // ... then it arrives after all
  EXPECT_TRUE(r.acked.empty());
  EXPECT_EQ(r.spurious, std::vector<uint64_t>{1});
  ld.on_ack(ack({{5, 5}, {0, 4}}), 102 * kMs, rtt, r);  // repeated ranges count once
  EXPECT_EQ(r.acked.size(), 2u);                        // 2 and 5
  EXPECT_TRUE(r.spurious.empty());
}

// A path that reorders: datagram 1 is overtaken by 8 later ones, declared lost, then
// acknowledged. The packet threshold becomes 9 (8 later acknowledged before it, plus one),
// so the next datagram overtaken by 8 is not declared lost; one overtaken by 9 is.
// A black hole: the datagrams in flight above the new size are lost at once, the smaller
// ones and a probe stay in flight; an acknowledgement of one of the lost after all is not a
// spurious loss (the thresholds stay).
TEST(LossDetector, DatagramsAboveASizeThePathNoLongerCarriesAreLostToTheirSize) {
  LossDetector ld(10 * kMs);
  RttStats rtt;
  for (uint64_t pn = 0; pn < 6; ++pn) {
    SentDatagram d = datagram(pn, pn * kMs);
    d.bytes = pn % 2 ? 1452 : 100;
    d.pmtu_probe = pn == 5;
    ld.on_sent(d);
  }
  std::vector<SentDatagram> lost;
  ld.declare_lost_above(1232, lost);
  ASSERT_EQ(lost.size(), 2u);
  EXPECT_EQ(lost[0].pn, 1u);
  EXPECT_EQ(lost[1].pn, 3u);
  EXPECT_EQ(ld.outstanding(), 4u);  // 0, 2, 4 and the probe
  LossDetector::AckResult r;
  ld.on_ack(ack({{0, 3}}), 50 * kMs, rtt, r);
  EXPECT_EQ(r.acked.size(), 2u);  // 0 and 2
  EXPECT_TRUE(r.spurious.empty());
  EXPECT_EQ(ld.packet_threshold(), LossDetector::kPacketThreshold);
  EXPECT_EQ(ld.outstanding(), 2u);
}

TEST(LossDetector, ASpuriousLossRaisesThePacketThresholdToThePathsReordering) {
  LossDetector ld(10 * kMs);
  RttStats rtt;
  rtt.on_sample(100 * kMs, 0, 0);
  for (uint64_t pn = 0; pn < 40; ++pn) ld.on_sent(datagram(pn, pn * kMs / 10));
  LossDetector::AckResult r;
  ld.on_ack(ack({{2, 9}, {0, 0}}), 50 * kMs, rtt, r);
  ASSERT_EQ(r.lost.size(), 1u);
  EXPECT_EQ(ld.packet_threshold(), LossDetector::kPacketThreshold);
  ld.on_ack(ack({{0, 9}}), 51 * kMs, rtt, r);
  EXPECT_EQ(r.spurious, std::vector<uint64_t>{1});
  EXPECT_EQ(ld.packet_threshold(), 9u);
  ld.on_ack(ack({{11, 18}, {0, 9}}), 52 * kMs, rtt, r);  // 10 overtaken by 8
  EXPECT_TRUE(r.lost.empty());
  EXPECT_TRUE(ld.loss_timer_armed());  // the time threshold still watches it
  ld.on_ack(ack({{11, 19}, {0, 9}}), 53 * kMs, rtt, r);  // ... and by 9
  ASSERT_EQ(r.lost.size(), 1u);
  EXPECT_EQ(r.lost[0].pn, 10u);
  ld.reset_thresholds();  // a new path
  EXPECT_EQ(ld.packet_threshold(), LossDetector::kPacketThreshold);
}

// A datagram held back longer than 9/8 of the RTT is declared lost by time, then
// acknowledged 1.4 RTT after it left: the time threshold grows to cover that (12/8), and
// never past twice the RTT.
TEST(LossDetector, ASpuriousLossByTimeWidensTheTimeThreshold) {
  LossDetector ld(10 * kMs);
  RttStats rtt;
  rtt.on_sample(100 * kMs, 0, 0);
  ld.on_sent(datagram(0, 0));
  ld.on_sent(datagram(1, 1 * kMs));
  LossDetector::AckResult r;
  ld.on_ack(ack({{1, 1}}), 101 * kMs, rtt, r);
  ASSERT_TRUE(ld.loss_timer_armed());
  std::vector<SentDatagram> lost;
  ld.on_loss_timer(113 * kMs, rtt, lost);  // 9/8 of 100 ms after 0 left
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(ld.time_threshold_eighths(), 9);
  ld.on_ack(ack({{0, 1}}), 140 * kMs, rtt, r);
  EXPECT_EQ(r.spurious, std::vector<uint64_t>{0});
  EXPECT_EQ(ld.time_threshold_eighths(), 12);  // 140 ms needed: 12/8 of 100 ms (the latest RTT)
  ld.on_sent(datagram(2, 200 * kMs));
  ld.on_sent(datagram(3, 201 * kMs));
  ld.on_ack(ack({{3, 3}, {0, 1}}), 302 * kMs, rtt, r);
  lost.clear();
  ld.on_loss_timer(200 * kMs + rtt.latest() * 9 / 8 + 1, rtt, lost);
  EXPECT_TRUE(lost.empty());  // 9/8 is no longer enough
  ld.on_loss_timer(200 * kMs + rtt.latest() * 12 / 8 + 1, rtt, lost);
  ASSERT_EQ(lost.size(), 1u);
  ld.on_ack(ack({{0, 3}}), 800 * kMs, rtt, r);  // 6 RTTs late: the threshold stops at 2 RTTs
  EXPECT_EQ(ld.time_threshold_eighths(), LossDetector::kMaxTimeThresholdEighths);
}

TEST(LossDetector, ProbeTimeoutBacksOffUntilASample) {
  LossDetector ld(10 * kMs);
  RttStats rtt;
  ld.on_sent(datagram(0, 0));
  int64_t first = ld.deadline(rtt);
  EXPECT_EQ(first, rtt.pto(10 * kMs));
  ld.on_probe_timeout();
  EXPECT_EQ(ld.deadline(rtt), 2 * rtt.pto(10 * kMs));
  EXPECT_EQ(ld.oldest(2).size(), 1u);
  ld.on_sent(datagram(1, first));  // the probe
  LossDetector::AckResult r;
  ld.on_ack(ack({{1, 1}}), first + 30 * kMs, rtt, r);
  EXPECT_TRUE(r.rtt_sampled);
  EXPECT_EQ(ld.probes(), 0);
  ASSERT_EQ(r.lost.size(), 1u);  // the original, sent long before the answered probe
  EXPECT_EQ(r.lost[0].pn, 0u);
  EXPECT_EQ(ld.outstanding(), 0u);
}

TEST(LossDetector, TheBackoffStopsAtAMinute) {
  LossDetector ld(10 * kMs);
  RttStats rtt;
  ld.on_sent(datagram(0, 0));
  int64_t pto = rtt.pto(10 * kMs);
  for (int probes = 0; probes < 40; ++probes, ld.on_probe_timeout())
    EXPECT_EQ(ld.deadline(rtt), std::min(pto << std::min(probes, 16), LossDetector::kMaxProbeTimeoutNs)) << probes;
  EXPECT_EQ(ld.deadline(rtt), LossDetector::kMaxProbeTimeoutNs);
}

// A peer that acknowledges one datagram 14 hours after it left: an RTT sample of 14 h. Its
// probe timeout backed off 16 times once wrapped below zero (an audit: the deadline then
// lay ~270 years in the past, and the recovery tick sent a ping every 5 ms).
TEST(LossDetector, AnRttOfHoursStillBacksOffToAMinuteAfterTheLastDatagram) {
  constexpr int64_t kHour = 3'600'000 * kMs;
  LossDetector ld(10 * kMs);
  RttStats rtt;
  int64_t now = 1000 * kMs;
  ld.on_sent(datagram(0, now));
  ld.on_sent(datagram(1, now + 1));  // still in flight after the acknowledgement below
  now += 14 * kHour;
  LossDetector::AckResult r;
  ld.on_ack(ack({{0, 0}}), now, rtt, r);
  ASSERT_TRUE(r.rtt_sampled);
  int64_t last_sent = now - 14 * kHour + 1;
  for (uint64_t pn = 2; pn < 24; ++pn) {  // each timeout sends a probe nobody acknowledges
    int64_t deadline = ld.deadline(rtt);
    EXPECT_GT(deadline, last_sent) << ld.probes() << " probes";
    EXPECT_LE(deadline - last_sent, LossDetector::kMaxProbeTimeoutNs) << ld.probes() << " probes";
    now = std::max(now, deadline) + 5 * kMs;
    ld.on_probe_timeout();
    ld.on_sent(datagram(pn, now));
    last_sent = now;
  }
}

// Probe timeouts with nothing sent in between (every resend held back: no budget, an
// unproven path) fire on every tick once at the cap: the count stops at kMaxBackoffs rather
// than overflowing after months, and the timeout stays at the cap.
TEST(LossDetector, ProbeTimeoutsWithNothingSentStopCountingAtTheCap) {
  LossDetector ld(10 * kMs);
  RttStats rtt;
  ld.on_sent(datagram(0, 0));
  for (int i = 0; i < 1000; ++i) ld.on_probe_timeout();
  EXPECT_EQ(ld.probes(), LossDetector::kMaxBackoffs);
  EXPECT_EQ(ld.deadline(rtt), LossDetector::kMaxProbeTimeoutNs);
}

TEST(LossDetector, LossesSpanningSeveralProbeTimeoutsArePersistentCongestion) {
  LossDetector ld(0);
  RttStats rtt;
  rtt.on_sample(10 * kMs, 0, 0);
  for (uint64_t pn = 0; pn < 10; ++pn) ld.on_sent(datagram(pn, static_cast<int64_t>(pn) * 50 * kMs));
  ld.on_sent(datagram(10, 500 * kMs));
  LossDetector::AckResult r;
  ld.on_ack(ack({{10, 10}}), 510 * kMs, rtt, r);
  EXPECT_EQ(r.lost.size(), 10u);  // 450 ms of losses, PTO ~ 30 ms
  EXPECT_TRUE(r.persistent_congestion);
}

TEST(LossDetector, ANewerAcknowledgedDatagramBetweenLossesIsNotPersistentCongestion) {
  LossDetector ld(0);
  RttStats rtt;
  rtt.on_sample(10 * kMs, 0, 0);
  for (uint64_t pn = 0; pn < 11; ++pn) ld.on_sent(datagram(pn, static_cast<int64_t>(pn) * 50 * kMs));
  LossDetector::AckResult r;
  ld.on_ack(ack({{10, 10}, {5, 5}}), 510 * kMs, rtt, r);
  EXPECT_FALSE(r.persistent_congestion);
}

TEST(LossDetector, APeerThatNeverAcknowledgesCostsBoundedMemory) {
  LossDetector ld(10 * kMs);
  for (uint64_t pn = 0; pn < LossDetector::kMaxTracked; ++pn) EXPECT_FALSE(ld.on_sent(datagram(pn, 0)));
  auto given_up = ld.on_sent(datagram(LossDetector::kMaxTracked, kMs));
  ASSERT_TRUE(given_up.has_value());
  EXPECT_EQ(given_up->pn, 0u);  // the oldest goes
  EXPECT_EQ(ld.outstanding(), LossDetector::kMaxTracked);
  // Acknowledged ones make room without giving anything up.
  LossDetector::AckResult r;
  RttStats rtt;
  ld.on_ack(ack({{1, 100}}), 2 * kMs, rtt, r);
  EXPECT_EQ(r.acked.size(), 100u);
  EXPECT_FALSE(ld.on_sent(datagram(LossDetector::kMaxTracked + 1, 3 * kMs)));
}

}  // namespace
}  // namespace nm::session
