// The sender's retransmission buffer (stream/retransmit_buffer.h): release on cumulative
// ACKs, RTT samples (from the newest arrival only, never from a re-sent packet), SACK
// marking and resends from NACK blocks, the resend guard, the retransmission timer with
// backoff, and the bytes a peer proved it received.
#include "stream/retransmit_buffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <span>
#include <vector>

#include "wire/frames.h"
#include "wire/header.h"

namespace nm::stream {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr size_t kEvent = 100;
constexpr uint64_t kWire = kEvent + wire::kFrameOverhead + wire::kPacketOverhead;  // per packet

SentPacket sent(uint64_t seq, int64_t at_ns, size_t event = kEvent) {
  std::vector<uint8_t> bytes(event, static_cast<uint8_t>(seq));
  std::span<const uint8_t> one[] = {bytes};
  SentPacket p;
  p.seq = seq;
  p.event_count = 1;
  p.payload = SharedPayload::frames_of(one);
  p.first_sent_ns = p.last_sent_ns = at_ns;
  return p;
}

// Packets first..last (inclusive), all sent at `at_ns`.
void add_range(RetransmitBuffer& b, uint64_t first, uint64_t last, int64_t at_ns = 0) {
  for (uint64_t seq = first; seq <= last; ++seq) b.add(sent(seq, at_ns));
}

std::vector<uint64_t> seqs(const std::vector<SentPacket*>& ps) {
  std::vector<uint64_t> out;
  for (const SentPacket* p : ps) out.push_back(p->seq);
  return out;
}

uint64_t bits(std::initializer_list<int> set) {
  uint64_t b = 0;
  for (int i : set) b |= uint64_t{1} << i;
  return b;
}

TEST(RetransmitBuffer, ACumulativeAckReleasesEverythingBelowIt) {
  RetransmitBuffer b;
  RttEstimator rtt;
  add_range(b, 0, 4);
  EXPECT_EQ(b.size(), 5u);
  EXPECT_EQ(b.bytes(), 5 * (kEvent + wire::kFrameOverhead));
  b.on_ack(3, 2, 10 * kMs, rtt);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b.bytes(), 2 * (kEvent + wire::kFrameOverhead));
  EXPECT_EQ(b.take_acknowledged_bytes(), 3 * kWire);
  EXPECT_EQ(b.take_acknowledged_bytes(), 0u);  // taken
  b.on_ack(3, 2, 20 * kMs, rtt);                // the same report again releases nothing
  EXPECT_EQ(b.take_acknowledged_bytes(), 0u);
  b.on_ack(5, 4, 30 * kMs, rtt);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.take_acknowledged_bytes(), 2 * kWire);
}

TEST(RetransmitBuffer, TheRttSampleComesFromTheHighestArrivalOnly) {
  RetransmitBuffer b;
  RttEstimator rtt;
  for (uint64_t seq = 0; seq < 4; ++seq) b.add(sent(seq, static_cast<int64_t>(seq) * 10 * kMs));
  // 0..2 acknowledged at 50 ms: 2 (sent at 20 ms) is the newest arrival; 0 waited 50 ms
  // for the report and must not be timed.
  b.on_ack(3, 2, 50 * kMs, rtt);
  EXPECT_EQ(rtt.srtt(), 30 * kMs);
}

TEST(RetransmitBuffer, AReportedArrivalGivesOneSampleOnly) {
  RetransmitBuffer b;
  RttEstimator rtt;
  add_range(b, 0, 3);
  b.on_ack(0, 2, 30 * kMs, rtt);  // 2 arrived beyond a gap at 0
  EXPECT_EQ(rtt.srtt(), 30 * kMs);
  b.on_ack(0, 2, 200 * kMs, rtt);  // repeated report: 2 is not timed again
  b.on_ack(1, 2, 300 * kMs, rtt);
  EXPECT_EQ(rtt.srtt(), 30 * kMs);
}

TEST(RetransmitBuffer, KarnAResentPacketGivesNoSample) {
  RetransmitBuffer b;
  RttEstimator rtt;
  add_range(b, 0, 1);
  std::vector<SentPacket*> resend;
  b.timed_out(RttEstimator::kInitialRto, rtt, 0, 10, resend);
  ASSERT_EQ(seqs(resend), (std::vector<uint64_t>{0, 1}));
  for (SentPacket* p : resend) {  // what the node does when it re-sends
    ++p->transmissions;
    p->last_sent_ns = RttEstimator::kInitialRto;
  }
  b.on_ack(2, 1, RttEstimator::kInitialRto + 5 * kMs, rtt);
  EXPECT_EQ(rtt.srtt(), 0);  // which copy arrived is unknown
  EXPECT_TRUE(b.empty());
}

TEST(RetransmitBuffer, AReportOfAReleasedPacketGivesNoSample) {
  RetransmitBuffer b;
  RttEstimator rtt;
  add_range(b, 0, 3);
  b.on_ack(2, 1, 10 * kMs, rtt);
  ASSERT_EQ(rtt.srtt(), 10 * kMs);
  b.on_ack(2, 0, 90 * kMs, rtt);  // an old report, reordered: 0 is gone
  b.on_ack(2, 9, 90 * kMs, rtt);  // a seq never sent
  EXPECT_EQ(rtt.srtt(), 10 * kMs);
  EXPECT_EQ(b.size(), 2u);
}

TEST(RetransmitBuffer, ANackBlockQueuesTheMissingAndMarksTheRestReceived) {
  RetransmitBuffer b;
  RttEstimator rtt;
  add_range(b, 0, 9);
  std::vector<SentPacket*> resend;
  // 0, 1 and 4 missing; 2, 3, 5, 6 arrived (6 is the highest); bits above 6 mean nothing.
  b.on_nack_block(0, bits({0, 1, 4, 8, 9}), 6, 10 * kMs, rtt, true, resend);
  EXPECT_EQ(seqs(resend), (std::vector<uint64_t>{0, 1, 4}));
  EXPECT_EQ(b.take_acknowledged_bytes(), 4 * kWire);  // 2, 3, 5, 6
  EXPECT_EQ(b.size(), 10u);                            // selective: nothing released yet
  // The same block again: nothing counted twice, nothing queued twice.
  b.on_nack_block(0, bits({0, 1, 4}), 6, 10 * kMs, rtt, true, resend);
  EXPECT_EQ(seqs(resend), (std::vector<uint64_t>{0, 1, 4}));
  EXPECT_EQ(b.take_acknowledged_bytes(), 0u);
  // When the gap fills, the cumulative ACK counts only what was not SACKed already.
  b.on_ack(7, 6, 20 * kMs, rtt);
  EXPECT_EQ(b.take_acknowledged_bytes(), 3 * kWire);  // 0, 1, 4
  EXPECT_EQ(b.size(), 3u);
}

TEST(RetransmitBuffer, ANackBlockIsRelativeToItsBase) {
  RetransmitBuffer b;
  RttEstimator rtt;
  add_range(b, 0, 79);
  std::vector<SentPacket*> resend;
  b.on_nack_block(64, bits({0, 3}), 70, 10 * kMs, rtt, true, resend);
  EXPECT_EQ(seqs(resend), (std::vector<uint64_t>{64, 67}));
  EXPECT_EQ(b.take_acknowledged_bytes(), 5 * kWire);  // 65, 66, 68, 69, 70
}

TEST(RetransmitBuffer, APacketSentWithinTheGuardIsNotResentOnANack) {
  RetransmitBuffer b;
  RttEstimator rtt;
  add_range(b, 0, 1);
  std::vector<SentPacket*> resend;
  // No RTT yet: the guard is its floor (2 ms).
  b.on_nack_block(0, bits({0}), 1, RttEstimator::kMinResendGuard - 1, rtt, true, resend);
  EXPECT_TRUE(resend.empty());
  b.on_nack_block(0, bits({0}), 1, RttEstimator::kMinResendGuard, rtt, true, resend);
  EXPECT_EQ(seqs(resend), (std::vector<uint64_t>{0}));

  // With an RTT of 10 ms (guard srtt + 4 rttvar = 30 ms), a packet re-sent 20 ms ago is
  // probably still in flight.
  rtt.sample(10 * kMs);
  ASSERT_EQ(rtt.resend_guard(), 30 * kMs);
  resend[0]->last_sent_ns = 100 * kMs;
  ++resend[0]->transmissions;
  resend.clear();
  b.on_nack_block(0, bits({0}), 1, 120 * kMs, rtt, true, resend);
  EXPECT_TRUE(resend.empty());
  b.on_nack_block(0, bits({0}), 1, 130 * kMs, rtt, true, resend);
  EXPECT_EQ(seqs(resend), (std::vector<uint64_t>{0}));
}

TEST(RetransmitBuffer, TheTimerResendsOldestFirstUpToTheMaximum) {
  RetransmitBuffer b;
  RttEstimator rtt;  // no sample: the initial RTO
  add_range(b, 0, 3);
  std::vector<SentPacket*> resend;
  b.timed_out(RttEstimator::kInitialRto - 1, rtt, 0, 10, resend);
  EXPECT_TRUE(resend.empty());
  b.timed_out(RttEstimator::kInitialRto, rtt, 0, 2, resend);
  EXPECT_EQ(seqs(resend), (std::vector<uint64_t>{0, 1}));
  resend.clear();
  b.timed_out(RttEstimator::kInitialRto, rtt, 0, 10, resend);
  EXPECT_EQ(seqs(resend), (std::vector<uint64_t>{0, 1, 2, 3}));
}

TEST(RetransmitBuffer, TheTimerSkipsSackedPackets) {
  RetransmitBuffer b;
  RttEstimator rtt;
  add_range(b, 0, 3);
  std::vector<SentPacket*> resend;
  b.on_nack_block(0, bits({0, 2}), 3, 0, rtt, true, resend);  // within the guard: nothing queued
  ASSERT_TRUE(resend.empty());
  b.timed_out(RttEstimator::kInitialRto, rtt, 0, 10, resend);
  EXPECT_EQ(seqs(resend), (std::vector<uint64_t>{0, 2}));
}

// With session loss detection a NACK only says what arrived, and a packet is resent when
// the datagram of its latest transmission is declared lost, once; the timer is a safety net
// that waits at least `min_timeout`.
TEST(RetransmitBuffer, LossesComeFromTheSessionWhenItDetectsThem) {
  RetransmitBuffer b;
  RttEstimator rtt;
  add_range(b, 0, 3, 5 * kMs);
  std::vector<SentPacket*> resend;
  b.on_nack_block(0, bits({0, 2}), 3, 500 * kMs, rtt, false, resend);
  EXPECT_TRUE(resend.empty());                      // 1 and 3 arrived: acknowledged selectively
  EXPECT_EQ(b.lost(1, 5 * kMs), nullptr);           // ... so their loss says nothing
  EXPECT_EQ(b.lost(0, 4 * kMs), nullptr);           // an older transmission of 0
  SentPacket* p = b.lost(0, 5 * kMs);
  ASSERT_NE(p, nullptr);
  p->resend_queued = true;
  EXPECT_EQ(b.lost(0, 5 * kMs), nullptr);           // queued once
  b.timed_out(RttEstimator::kInitialRto + 5 * kMs, rtt, 0, 10, resend);
  EXPECT_EQ(seqs(resend), (std::vector<uint64_t>{2}));  // not 0: it is queued
  resend.clear();
  b.timed_out(RttEstimator::kInitialRto * 2, rtt, RttEstimator::kInitialRto * 2, 10, resend);
  EXPECT_TRUE(resend.empty());                      // the longer timeout has not passed
  EXPECT_EQ(b.unacked(2), b.lost(2, 5 * kMs));
  b.on_ack(3, 3, 600 * kMs, rtt);
  EXPECT_EQ(b.unacked(2), nullptr);
}

TEST(RetransmitBuffer, ASessionAcknowledgementReleasesWhatThePeersStreamKept) {
  RetransmitBuffer b;
  RttEstimator rtt;
  add_range(b, 0, 3, 10 * kMs);
  b.on_delivered(1, 10 * kMs);  // beyond the oldest: acknowledged selectively, kept
  EXPECT_EQ(b.size(), 4u);
  EXPECT_EQ(b.unacked(1), nullptr);
  EXPECT_EQ(b.take_acknowledged_bytes(), sent(1, 0).wire_bytes());
  b.on_delivered(0, 5 * kMs);  // sent before packet 0 was: an earlier stream's datagram
  EXPECT_EQ(b.size(), 4u);
  b.on_delivered(0, 10 * kMs);  // the oldest: released with the kept one behind it
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b.take_acknowledged_bytes(), sent(0, 0).wire_bytes());
  b.on_delivered(1, 10 * kMs);  // released already: nothing
  EXPECT_EQ(b.take_acknowledged_bytes(), 0u);
  b.on_ack(3, 2, 20 * kMs, rtt);  // a stream ACK after it releases the rest as before
  EXPECT_EQ(b.size(), 1u);
  b.on_delivered(3, 10 * kMs);
  EXPECT_TRUE(b.empty());
}

TEST(RetransmitBuffer, TheSafetyNetTakesTheOldestPacketOnly) {
  RetransmitBuffer b;
  RttEstimator rtt;
  add_range(b, 0, 3, 0);
  int64_t rto = RttEstimator::kInitialRto;
  EXPECT_EQ(b.oldest_timed_out(rto - 1, rtt, 0), nullptr);
  SentPacket* oldest = b.oldest_timed_out(rto, rtt, 0);
  ASSERT_NE(oldest, nullptr);
  EXPECT_EQ(oldest->seq, 0u);  // all four expired; one packet's answer tells of all
  EXPECT_EQ(b.oldest_timed_out(rto, rtt, 2 * rto), nullptr);  // the longer timeout has not passed
  oldest->resend_queued = true;
  EXPECT_EQ(b.oldest_timed_out(rto, rtt, 0), nullptr);  // queued already: not the next one
  oldest->resend_queued = false;
  oldest->sacked = true;  // the receiver has it; the next is the oldest awaited
  SentPacket* next = b.oldest_timed_out(rto, rtt, 0);
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->seq, 1u);
  next->last_sent_ns = rto;
  ++next->transmissions;
  EXPECT_EQ(b.oldest_timed_out(rto + 2 * rto - 1, rtt, 0), nullptr);  // backed off
  EXPECT_EQ(b.oldest_timed_out(rto + 2 * rto, rtt, 0), next);
}

TEST(RetransmitBuffer, TheTimerBacksOffExponentially) {
  RetransmitBuffer b;
  RttEstimator rtt;
  rtt.sample(100 * kMs);  // rto = 300 ms
  ASSERT_EQ(rtt.rto(), 300 * kMs);
  b.add(sent(0, 0));
  std::vector<SentPacket*> resend;
  int64_t last = 0;
  for (uint32_t transmissions = 1; transmissions <= 3; ++transmissions) {
    int64_t timeout = (300 * kMs) << (transmissions - 1);  // 300, 600, 1200 ms
    resend.clear();
    b.timed_out(last + timeout - 1, rtt, 0, 10, resend);
    EXPECT_TRUE(resend.empty()) << transmissions;
    b.timed_out(last + timeout, rtt, 0, 10, resend);
    ASSERT_EQ(seqs(resend), (std::vector<uint64_t>{0})) << transmissions;
    last += timeout;
    resend[0]->last_sent_ns = last;
    ++resend[0]->transmissions;
  }
}

TEST(RetransmitBuffer, TheBackoffStopsAtTheMaximumRto) {
  std::vector<SentPacket*> resend;
  RttEstimator initial;  // 200 ms << 5 = 6.4 s, capped at 2 s
  RetransmitBuffer c;
  SentPacket q = sent(0, 0);
  q.transmissions = 6;
  c.add(std::move(q));
  resend.clear();
  c.timed_out(RttEstimator::kMaxRto - 1, initial, 0, 10, resend);
  EXPECT_TRUE(resend.empty());
  c.timed_out(RttEstimator::kMaxRto, initial, 0, 10, resend);
  EXPECT_EQ(resend.size(), 1u);
}

}  // namespace
}  // namespace nm::stream
