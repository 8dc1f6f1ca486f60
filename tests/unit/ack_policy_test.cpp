// AckPolicy: when a reliable receiver reports, and what the report says.
#include "stream/ack_policy.h"

#include <gtest/gtest.h>

namespace nm::stream {
namespace {

RxPacket packet(uint64_t seq) {
  RxPacket p;
  p.seq = seq;
  p.cost = 100;
  return p;
}

void receive(ReorderBuffer& r, AckPolicy& a, uint64_t seq) {
  ReorderBuffer::Place place = r.place(seq);
  a.on_packet(r, place, seq);
  switch (place) {
    case ReorderBuffer::Place::kNext: {
      r.take_next();
      RxPacket ready;
      while (r.pop_ready(ready)) {
      }
      break;
    }
    case ReorderBuffer::Place::kAhead: r.hold(packet(seq)); break;
    default: break;
  }
}

TEST(AckPolicy, AFewInOrderPacketsWaitForTheTickEightGoAtOnce) {
  ReorderBuffer r;
  AckPolicy a;
  EXPECT_EQ(a.when(true), AckPolicy::When::kNothing);
  for (uint64_t s = 0; s < AckPolicy::kAckEvery - 1; ++s) receive(r, a, s);
  EXPECT_EQ(a.when(true), AckPolicy::When::kLater);
  EXPECT_EQ(a.when(false), AckPolicy::When::kNow);  // the tick reports what waits
  receive(r, a, AckPolicy::kAckEvery - 1);
  EXPECT_EQ(a.when(true), AckPolicy::When::kNow);
  wire::ExtFrame f[AckPolicy::kMaxNackBlocks];
  ASSERT_EQ(a.report(r, 42, 0, f), 1u);
  EXPECT_EQ(f[0].type, wire::ExtType::kAck);
  EXPECT_EQ(f[0].stream_id, 42u);
  EXPECT_EQ(f[0].next_expected, AckPolicy::kAckEvery);
  EXPECT_EQ(a.when(false), AckPolicy::When::kNothing);  // reported
}

TEST(AckPolicy, AGapIsNackedAtOnceBlockByBlockAndRepeatedLater) {
  ReorderBuffer r;
  AckPolicy a;
  receive(r, a, 0);
  receive(r, a, 200);  // 1..199 missing: blocks from 1 to 200
  EXPECT_EQ(a.when(true), AckPolicy::When::kNow);
  EXPECT_EQ(a.frames_needed(r), 4u);
  wire::ExtFrame f[AckPolicy::kMaxNackBlocks];
  ASSERT_EQ(a.report(r, 7, 1000, f), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(f[i].type, wire::ExtType::kNack);
    EXPECT_EQ(f[i].base, 1 + 64 * i);
    EXPECT_EQ(f[i].highest, 200u);
  }
  EXPECT_EQ(f[0].missing, ~uint64_t{0});          // 1..64 all missing
  EXPECT_FALSE(f[3].missing & (uint64_t{1} << 7));  // 200 = 193 + 7 arrived
  EXPECT_FALSE(a.repeat_due(r, 1000 + AckPolicy::kNackRepeatNs - 1));
  EXPECT_TRUE(a.repeat_due(r, 1000 + AckPolicy::kNackRepeatNs));
  // On a long path, not before a round trip has passed (the resend cannot be back sooner).
  EXPECT_FALSE(a.repeat_due(r, 1000 + 299'000'000, 300'000'000));
  EXPECT_TRUE(a.repeat_due(r, 1000 + 300'000'000, 300'000'000));
}

TEST(AckPolicy, NackBlocksAreBoundedAndNothingReceivedMeansNoReport) {
  ReorderBuffer r;
  AckPolicy a;
  a.request();
  EXPECT_EQ(a.frames_needed(r), 0u);  // nothing received yet
  wire::ExtFrame f[AckPolicy::kMaxNackBlocks];
  EXPECT_EQ(a.report(r, 1, 0, f), 0u);
  receive(r, a, 5000);
  EXPECT_EQ(a.frames_needed(r), AckPolicy::kMaxNackBlocks);
}

TEST(AckPolicy, ADuplicateAsksForAReport) {
  ReorderBuffer r;
  AckPolicy a;
  receive(r, a, 0);
  wire::ExtFrame f[AckPolicy::kMaxNackBlocks];
  a.report(r, 1, 0, f);
  receive(r, a, 0);  // again: the sender may have missed our ACK
  EXPECT_EQ(a.when(true), AckPolicy::When::kLater);
  EXPECT_EQ(a.when(false), AckPolicy::When::kNow);
}

// While a repair is on its way, packets past the gap add nothing the NACK did not say: they
// are acknowledged as in-order ones are, not one report each. A new gap or a fill is news.
TEST(AckPolicy, OnlyPacketsThatOpenOrFillAGapAreReportedAtOnce) {
  ReorderBuffer r;
  AckPolicy a;
  wire::ExtFrame f[AckPolicy::kMaxNackBlocks];
  receive(r, a, 0);
  receive(r, a, 2);  // opens a gap at 1
  EXPECT_EQ(a.when(true), AckPolicy::When::kNow);
  ASSERT_EQ(a.report(r, 1, 0, f), 1u);
  EXPECT_EQ(f[0].type, wire::ExtType::kNack);
  uint64_t seq = 3;
  for (; seq < 2 + AckPolicy::kAckEvery; ++seq) {
    receive(r, a, seq);  // extends the run past the gap
    EXPECT_EQ(a.when(true), AckPolicy::When::kLater) << seq;
  }
  receive(r, a, seq++);  // the eighth: reported, still a NACK (the gap is open)
  EXPECT_EQ(a.when(true), AckPolicy::When::kNow);
  ASSERT_EQ(a.report(r, 1, 0, f), 1u);
  EXPECT_EQ(f[0].type, wire::ExtType::kNack);
  receive(r, a, seq + 1);  // opens a second gap
  EXPECT_EQ(a.when(true), AckPolicy::When::kNow);
  a.report(r, 1, 0, f);
  receive(r, a, seq);  // fills the second gap
  EXPECT_EQ(a.when(true), AckPolicy::When::kNow);
  a.report(r, 1, 0, f);
  receive(r, a, 1);  // fills the first: all in order
  EXPECT_EQ(a.when(true), AckPolicy::When::kNow);
  ASSERT_EQ(a.report(r, 1, 0, f), 1u);
  EXPECT_EQ(f[0].type, wire::ExtType::kAck);
  EXPECT_EQ(f[0].next_expected, seq + 2);
}

}  // namespace
}  // namespace nm::stream

namespace nm::stream {
namespace {

// Towards a sender that releases packets on session acknowledgements: one ACK frame a
// round trip, a duplicate at once, and neither NACK blocks nor their repeats.
TEST(AckPolicy, ASenderReleasedBySessionAcknowledgementsGetsAnAckARoundTrip) {
  constexpr int64_t kRtt = 40'000'000;
  ReorderBuffer r;
  AckPolicy a;
  a.set_released_by_session(true);
  wire::ExtFrame f[AckPolicy::kMaxNackBlocks];
  receive(r, a, 0);
  EXPECT_EQ(a.when(true, 0, kRtt), AckPolicy::When::kNow);  // the first report
  ASSERT_EQ(a.report(r, 7, 0, f), 1u);
  for (uint64_t seq = 1; seq < 40; ++seq) receive(r, a, seq);
  receive(r, a, 200);  // a gap: the session's loss detection finds it, not a NACK
  EXPECT_EQ(a.when(true, kRtt - 1, kRtt), AckPolicy::When::kLater);
  EXPECT_EQ(a.when(false, kRtt - 1, kRtt), AckPolicy::When::kLater);  // nor on the tick
  EXPECT_FALSE(a.repeat_due(r, 10 * kRtt));
  EXPECT_EQ(a.when(false, kRtt, kRtt), AckPolicy::When::kNow);
  EXPECT_EQ(a.frames_needed(r), 1u);
  ASSERT_EQ(a.report(r, 7, kRtt, f), 1u);
  EXPECT_EQ(f[0].type, wire::ExtType::kAck);
  EXPECT_EQ(f[0].next_expected, 40u);
  EXPECT_EQ(f[0].highest, 200u);
  receive(r, a, 5);  // a duplicate: the sender's timer asks what arrived
  EXPECT_EQ(a.when(true, kRtt + 1, kRtt), AckPolicy::When::kNow);
}

}  // namespace
}  // namespace nm::stream
