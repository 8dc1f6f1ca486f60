// One stream (stream/stream.h, stream.cpp, stream_receive.cpp) driven directly, time passed
// in: the send side's credit and sequence accounting (begin_packet, the open packet,
// backpressure, grants, adopt) and the receive side through on_packet (ordered and
// unordered delivery, duplicates, epochs, fragments, credit granted back as the
// application reads, needs_tick). Admission within receive budgets is stream_budget_test's.
#include "stream/stream.h"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "wire/extension.h"
#include "wire/frames.h"
#include "wire/header.h"
#include "wire/little_endian.h"

namespace nm::stream {
namespace {

// Limits with room to spare but finite (see the DISABLED_ test at the end).
constexpr RxLimits kLimits{1 << 20, uint64_t{1} << 40};

StreamConfig config(uint32_t window, bool reliable = false) {
  StreamConfig c;
  c.window_bytes = window;
  c.reliable = reliable;
  return c;
}

std::vector<uint8_t> text(const std::string& s) { return {s.begin(), s.end()}; }

// A data packet of one event per string.
RxPacket data(uint64_t seq, std::vector<std::string> events, uint32_t epoch = 1) {
  std::vector<uint8_t> payload;
  for (const auto& e : events) wire::append_frame(payload, text(e));
  RxPacket p;
  p.seq = seq;
  p.data = SharedPayload::copy_of(payload);
  p.events = static_cast<uint16_t>(events.size());
  p.cost = static_cast<uint32_t>(payload.size() + wire::kPacketOverhead);
  p.epoch = epoch;
  return p;
}

// A data packet of one event of `size` bytes costing exactly `size + 88`.
RxPacket sized(uint64_t seq, size_t size, uint32_t epoch = 1) {
  return data(seq, {std::string(size, static_cast<char>('a' + seq % 26))}, epoch);
}

RxPacket fragment(uint64_t seq, uint16_t index, bool last, const std::string& piece, uint32_t epoch = 1) {
  RxPacket p = data(seq, {piece}, epoch);
  p.frag_flags = wire::frag::kFragment | (last ? wire::frag::kLast : 0);
  p.frag_index = index;
  return p;
}

std::vector<std::string> read_all(Stream& st) {
  std::vector<std::string> out;
  while (st.inbound_pending() > 0) {
    std::string e(st.front_size(), '\0');
    st.pop_into(reinterpret_cast<uint8_t*>(e.data()));
    out.push_back(std::move(e));
  }
  return out;
}

std::string read_one(Stream& st) {
  if (st.inbound_pending() == 0) {
    ADD_FAILURE() << "nothing to read";
    return {};
  }
  std::string e(st.front_size(), '\0');
  st.pop_into(reinterpret_cast<uint8_t*>(e.data()));
  return e;
}

size_t receive(Stream& st, RxPacket p, bool ordered, bool dedup = true, int64_t now = 0) {
  RxResult r = st.on_packet(std::move(p), ordered, dedup, kLimits, now);
  EXPECT_FALSE(r.over_budget);
  return r.events;
}

// ---- sending ----

TEST(Stream, BeginPacketChargesPayloadPlusOverheadAndNumbersPackets) {
  Stream st(1, 9, config(1000), true, 1, 0);
  uint64_t seq = 77;
  ASSERT_TRUE(st.begin_packet(100, 2, &seq, 5));
  EXPECT_EQ(seq, 0u);
  EXPECT_EQ(st.tx_seq(), 1u);
  EXPECT_EQ(st.tx_charged(), 100 + wire::kPacketOverhead);
  EXPECT_EQ(st.tx_credit().remaining(), 1000 - 184u);
  EXPECT_EQ(st.counters().tx_events, 2u);
  EXPECT_EQ(st.last_emit_ns(), 5);
  EXPECT_EQ(st.last_activity_ns(), 5);
  ASSERT_TRUE(st.begin_packet(700, 1, &seq, 6));
  EXPECT_EQ(seq, 1u);
  EXPECT_EQ(st.tx_credit().remaining(), 32u);
  // 84 bytes of overhead alone do not fit in 32: refused, counted, nothing consumed.
  seq = 77;
  EXPECT_FALSE(st.begin_packet(0, 1, &seq, 7));
  EXPECT_EQ(seq, 77u);
  EXPECT_EQ(st.tx_seq(), 2u);
  EXPECT_EQ(st.tx_charged(), 184u + 784u);
  EXPECT_EQ(st.counters().backpressure_events, 1u);
  EXPECT_EQ(st.counters().tx_events, 3u);
  EXPECT_EQ(st.last_emit_ns(), 6);
}

TEST(Stream, AnOpenPacketIsChargedPerEventAndNumberedWhenClosed) {
  Stream st(1, 9, config(65536), true, 1, 0);
  EXPECT_FALSE(st.has_open_packet());
  EXPECT_EQ(st.join_open_packet(text("abc"), 1), Stream::Join::kAdded);
  EXPECT_TRUE(st.has_open_packet());
  EXPECT_EQ(st.tx_charged(), 4 + 3 + wire::kPacketOverhead);  // the packet's overhead with its first event
  EXPECT_EQ(st.join_open_packet(text("de"), 2), Stream::Join::kAdded);
  EXPECT_EQ(st.tx_charged(), 91u + 4 + 2);
  EXPECT_EQ(st.tx_credit().remaining(), 65536u - 97);
  EXPECT_EQ(st.tx_seq(), 0u);  // no sequence number until it leaves
  EXPECT_EQ(st.counters().tx_events, 2u);

  SentPacket out;
  ASSERT_TRUE(st.close_open_packet(out, 10));
  EXPECT_EQ(out.seq, 0u);
  EXPECT_EQ(out.event_count, 2u);
  EXPECT_EQ(out.charged_before, 0u);
  EXPECT_EQ(out.first_sent_ns, 10);
  EXPECT_EQ(out.last_sent_ns, 10);
  std::vector<uint8_t> frames;
  wire::append_frame(frames, text("abc"));
  wire::append_frame(frames, text("de"));
  ASSERT_EQ(out.payload.size(), frames.size());
  EXPECT_TRUE(std::equal(frames.begin(), frames.end(), out.payload.data()));
  // What the packet was charged is exactly its wire cost.
  EXPECT_EQ(out.charged_before + out.payload.size() + wire::kPacketOverhead, st.tx_charged());
  EXPECT_EQ(st.tx_seq(), 1u);
  EXPECT_EQ(st.last_emit_ns(), 10);
  EXPECT_FALSE(st.has_open_packet());
  EXPECT_FALSE(st.close_open_packet(out, 11));

  // The next packet starts where the charge stands, after a begin_packet in between.
  uint64_t seq;
  ASSERT_TRUE(st.begin_packet(50, 1, &seq, 12));
  EXPECT_EQ(seq, 1u);
  uint64_t before = st.tx_charged();
  ASSERT_EQ(st.join_open_packet(text("f"), 13), Stream::Join::kAdded);
  SentPacket next;
  ASSERT_TRUE(st.close_open_packet(next, 14));
  EXPECT_EQ(next.seq, 2u);
  EXPECT_EQ(next.charged_before, before);
}

TEST(Stream, AFullOpenPacketRefusesTheEventWithoutChargingIt) {
  Stream st(1, 9, config(0), true, 1, 0);
  for (size_t i = 0; i < wire::kMaxEventsPerPacket; ++i)
    ASSERT_EQ(st.join_open_packet({}, 0), Stream::Join::kAdded) << i;
  uint64_t charged = st.tx_charged();
  EXPECT_EQ(st.join_open_packet({}, 0), Stream::Join::kFull);
  EXPECT_EQ(st.tx_charged(), charged);
  EXPECT_EQ(st.counters().tx_events, wire::kMaxEventsPerPacket);
  EXPECT_EQ(st.counters().backpressure_events, 0u);
  SentPacket out;
  ASSERT_TRUE(st.close_open_packet(out, 0));
  EXPECT_EQ(out.event_count, wire::kMaxEventsPerPacket);
  EXPECT_EQ(out.payload.size(), wire::kMaxPayloadSize);

  // By size: 8000 + 4 leaves no room for a 200-byte event's frame.
  ASSERT_EQ(st.join_open_packet(std::vector<uint8_t>(8000), 0), Stream::Join::kAdded);
  EXPECT_EQ(st.join_open_packet(std::vector<uint8_t>(200), 0), Stream::Join::kFull);
  EXPECT_EQ(st.join_open_packet(std::vector<uint8_t>(8108 - 8004 - 4), 0), Stream::Join::kAdded);
  ASSERT_TRUE(st.close_open_packet(out, 0));
  EXPECT_EQ(out.payload.size(), wire::kMaxPayloadSize);
  EXPECT_EQ(st.join_open_packet(std::vector<uint8_t>(200), 0), Stream::Join::kAdded);
}

TEST(Stream, AnEventWithoutCreditIsBackpressure) {
  Stream st(1, 9, config(100), true, 1, 0);
  EXPECT_EQ(st.join_open_packet(std::vector<uint8_t>(10), 0), Stream::Join::kAdded);  // 98
  EXPECT_EQ(st.join_open_packet(std::vector<uint8_t>(10), 0), Stream::Join::kNoCredit);  // 14 > 2
  EXPECT_EQ(st.counters().backpressure_events, 1u);
  EXPECT_EQ(st.counters().tx_events, 1u);
  EXPECT_EQ(st.tx_charged(), 98u);
  SentPacket out;
  ASSERT_TRUE(st.close_open_packet(out, 0));
  EXPECT_EQ(out.event_count, 1u);

  // The first event of a packet also pays the packet's overhead.
  Stream tight(1, 9, config(97), true, 1, 0);
  EXPECT_EQ(tight.join_open_packet(std::vector<uint8_t>(10), 0), Stream::Join::kNoCredit);
  EXPECT_FALSE(tight.has_open_packet());
  EXPECT_EQ(tight.tx_charged(), 0u);
}

// A full pacer queue holds a waiting sender until a quarter of it has drained (a good part
// of the queue to refill), not until the pacer takes one packet; a send in between is taken.
TEST(Stream, AFullPacerQueueWakesSendersAtItsLowWaterMark) {
  Stream st(1, 9, config(0), true, 1, 0);
  auto packet = [] {
    SentPacket p;
    p.payload = SharedPayload::copy_of(std::vector<uint8_t>(8192 - wire::kPacketOverhead));
    return p;
  };
  const size_t kPackets = Stream::kMaxPacedBytes / 8192;
  for (size_t i = 0; i < kPackets - 1; ++i) st.push_paced(packet());
  EXPECT_FALSE(st.pacer_full());
  EXPECT_TRUE(st.send_would_not_wait());
  st.push_paced(packet());
  EXPECT_TRUE(st.pacer_full());
  EXPECT_FALSE(st.send_would_not_wait());
  st.pop_paced();
  EXPECT_FALSE(st.pacer_full());            // a send is taken again
  EXPECT_FALSE(st.send_would_not_wait());   // but a waiting one is not woken yet
  while (st.paced_bytes() > Stream::kPacedLowWater + 8192) st.pop_paced();
  EXPECT_FALSE(st.send_would_not_wait());
  st.pop_paced();
  EXPECT_EQ(st.paced_bytes(), Stream::kPacedLowWater);
  EXPECT_TRUE(st.send_would_not_wait());
  // Below the limit again, a new packet does not hold senders back.
  st.push_paced(packet());
  EXPECT_TRUE(st.send_would_not_wait());
}

TEST(Stream, GrantsGiveCreditBackAndAreCounted) {
  Stream st(1, 9, config(1000), true, 1, 0);
  uint64_t seq;
  ASSERT_TRUE(st.begin_packet(416, 1, &seq, 0));  // 500
  ASSERT_TRUE(st.begin_packet(416, 1, &seq, 0));
  EXPECT_FALSE(st.begin_packet(0, 1, &seq, 0));
  EXPECT_EQ(st.apply_grant(500), TxCredit::Grant::kApplied);
  EXPECT_EQ(st.tx_credit().remaining(), 500u);
  EXPECT_EQ(st.apply_grant(500), TxCredit::Grant::kStale);
  EXPECT_EQ(st.apply_grant(5000), TxCredit::Grant::kClamped);
  EXPECT_EQ(st.tx_credit().remaining(), 1000u);
  EXPECT_EQ(st.counters().credit_grants_received, 3u);
}

TEST(Stream, AdoptTakesTheApplicationsConfigAndItsWindowWhileNothingWasSent) {
  Stream st(1, 9, StreamConfig{}, false, 1, 0);  // the peer started it
  EXPECT_FALSE(st.opened_by_app());
  StreamConfig mine = config(1000, true);
  mine.fairness_weight = 3;
  st.adopt(mine);
  EXPECT_TRUE(st.opened_by_app());
  EXPECT_TRUE(st.config().reliable);
  EXPECT_EQ(st.config().fairness_weight, 3);
  EXPECT_EQ(st.tx_credit().window(), 1000u);
  EXPECT_EQ(st.tx_credit().remaining(), 1000u);

  uint64_t seq;
  ASSERT_TRUE(st.begin_packet(100, 1, &seq, 0));
  st.adopt(config(5000));
  EXPECT_EQ(st.config().window_bytes, 5000u);
  EXPECT_EQ(st.tx_credit().window(), 1000u);  // something was charged: the window stays
  EXPECT_EQ(st.tx_credit().remaining(), 816u);
}

// ---- receiving ----

TEST(Stream, UnorderedDeliveryIsInArrivalOrder) {
  Stream st(1, 9, config(65536), true, 1, 0);
  EXPECT_EQ(receive(st, data(2, {"two"}), false), 1u);
  EXPECT_EQ(st.rx_gaps(), 2u);
  EXPECT_EQ(receive(st, data(0, {"zero", "zero'"}), false), 2u);
  EXPECT_EQ(receive(st, data(1, {"one"}), false), 1u);
  EXPECT_EQ(st.rx_gaps(), 0u);
  EXPECT_EQ(st.rx_seq(), 2u);
  EXPECT_EQ(st.inbound_pending(), 4u);
  EXPECT_EQ(st.inbound_bytes(), 3u + 4 + 5 + 3);
  EXPECT_EQ(read_all(st), (std::vector<std::string>{"two", "zero", "zero'", "one"}));
  EXPECT_EQ(st.counters().rx_events, 4u);
  EXPECT_EQ(st.ack().unreported(), 0u);  // nothing to acknowledge unordered
}

TEST(Stream, UnorderedDuplicatesAreDroppedOnlyWithDedup) {
  Stream st(1, 9, config(65536), true, 1, 0);
  receive(st, data(0, {"a"}), false);
  receive(st, data(1, {"b"}), false);
  EXPECT_EQ(receive(st, data(0, {"a"}), false, true), 0u);
  EXPECT_EQ(st.counters().rx_duplicates_dropped, 1u);
  EXPECT_EQ(receive(st, data(0, {"a"}), false, false), 1u);  // 0.23 fire-and-forget
  EXPECT_EQ(read_all(st), (std::vector<std::string>{"a", "b", "a"}));
}

TEST(Stream, OrderedDeliveryReleasesStrictlyInSequence) {
  Stream st(1, 9, config(65536, true), true, 1, 0);
  EXPECT_EQ(receive(st, data(2, {"2"}), true), 0u);
  EXPECT_TRUE(st.reorder().has_gaps());
  EXPECT_EQ(receive(st, data(0, {"0"}), true), 1u);
  EXPECT_EQ(receive(st, data(3, {"3a", "3b"}), true), 0u);
  EXPECT_EQ(st.inbound_pending(), 1u);
  EXPECT_EQ(receive(st, data(1, {"1"}), true), 4u);  // 1, then 2 and 3 waiting behind it
  EXPECT_FALSE(st.reorder().has_gaps());
  EXPECT_EQ(st.reorder().bytes(), 0u);
  EXPECT_EQ(read_all(st), (std::vector<std::string>{"0", "1", "2", "3a", "3b"}));
  EXPECT_EQ(st.ack().unreported(), 4u);
  // A duplicate is dropped but still asks for an ACK (ours may have been lost).
  EXPECT_EQ(receive(st, data(1, {"1"}), true), 0u);
  EXPECT_EQ(st.counters().rx_duplicates_dropped, 1u);
  EXPECT_EQ(st.ack().unreported(), 5u);
}

TEST(Stream, OrderedPacketsTooFarAheadAreDroppedQuietly) {
  Stream st(1, 9, config(65536, true), true, 1, 0);
  receive(st, data(0, {"0"}), true);
  EXPECT_EQ(receive(st, data(1 + ReorderBuffer::kMaxAhead + 1, {"far"}), true), 0u);
  EXPECT_EQ(st.reorder().buffered(), 0u);
  EXPECT_EQ(st.counters().rx_duplicates_dropped, 0u);
  EXPECT_EQ(receive(st, data(1 + ReorderBuffer::kMaxAhead, {"just"}), true), 0u);
  EXPECT_EQ(st.reorder().buffered(), 1u);
}

TEST(Stream, ANewerEpochStartsReceiveOverAndAnOlderOneIsDropped) {
  Stream st(1, 9, config(65536), true, 1, 0);
  for (uint64_t seq = 0; seq < 5; ++seq) receive(st, data(seq, {"old"}, 1), false);
  // The peer reopened the stream: sequences start again, not as duplicates.
  EXPECT_EQ(receive(st, data(0, {"new0"}, 2), false), 1u);
  EXPECT_EQ(st.rx_seq(), 0u);
  // A late packet of the previous incarnation.
  EXPECT_EQ(st.on_packet(data(5, {"late"}, 1), false, true, kLimits, 0).events, 0u);
  EXPECT_EQ(st.counters().rx_stale_dropped, 1u);
  EXPECT_EQ(receive(st, data(1, {"new1"}, 2), false), 1u);
  EXPECT_EQ(receive(st, data(1, {"new1"}, 2), false), 0u);  // dedup within the new epoch
  // What was delivered before the reopen stays readable.
  std::vector<std::string> all = read_all(st);
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(all[4], "old");
  EXPECT_EQ(all[5], "new0");
  EXPECT_EQ(all[6], "new1");
}

TEST(Stream, ANewerEpochDropsEarlyPacketsOfTheOldOne) {
  Stream st(1, 9, config(65536, true), true, 1, 0);
  receive(st, data(0, {"0"}, 1), true);
  receive(st, data(3, {"3"}, 1), true);
  ASSERT_TRUE(st.reorder().has_gaps());
  ASSERT_GT(st.reorder().bytes(), 0u);
  EXPECT_EQ(receive(st, data(0, {"n0"}, 2), true), 1u);
  EXPECT_FALSE(st.reorder().has_gaps());
  EXPECT_EQ(st.reorder().bytes(), 0u);
  EXPECT_EQ(st.reorder().next_expected(), 1u);
  EXPECT_EQ(receive(st, data(1, {"n1"}, 2), true), 1u);
  EXPECT_EQ(read_all(st), (std::vector<std::string>{"0", "n0", "n1"}));
}

TEST(Stream, ANewerEpochCutsAnEventInReassemblyShort) {
  Stream st(1, 9, config(65536), true, 1, 0);
  receive(st, fragment(0, 0, false, "start"), false);
  EXPECT_EQ(st.held_bytes(), Stream::event_reservation(kLimits.max_event_bytes));
  receive(st, data(0, {"x"}, 2), false);
  EXPECT_EQ(st.counters().rx_incomplete_dropped, 1u);
  EXPECT_EQ(read_all(st), (std::vector<std::string>{"x"}));
  EXPECT_EQ(st.held_bytes(), 0u);
}

TEST(Stream, FragmentsAreReassembledIntoOneEvent) {
  for (bool ordered : {false, true}) {
    Stream st(1, 9, config(65536, ordered), true, 1, 0);
    std::string a(100, 'a'), b(200, 'b'), c(300, 'c');
    if (ordered) {  // out of order: the reorder buffer puts them back in sequence
      EXPECT_EQ(receive(st, fragment(11, 1, false, b), true), 0u);
      EXPECT_EQ(receive(st, fragment(12, 2, true, c), true), 0u);
      for (uint64_t seq = 0; seq < 10; ++seq) receive(st, data(seq, {"d"}), true);
      read_all(st);
      EXPECT_EQ(receive(st, fragment(10, 0, false, a), true), 1u);
    } else {
      EXPECT_EQ(receive(st, fragment(10, 0, false, a), false), 0u);
      EXPECT_EQ(receive(st, fragment(11, 1, false, b), false), 0u);
      EXPECT_EQ(st.inbound_pending(), 0u);
      EXPECT_EQ(receive(st, fragment(12, 2, true, c), false), 1u);
    }
    EXPECT_EQ(st.inbound_pending(), 1u);
    EXPECT_EQ(read_one(st), a + b + c) << ordered;
    EXPECT_EQ(st.counters().rx_incomplete_dropped, 0u);
    EXPECT_EQ(st.held_bytes(), 0u);
  }
}

TEST(Stream, AnEventMissingAFragmentIsDroppedWhole) {
  Stream st(1, 9, config(65536), true, 1, 0);
  receive(st, fragment(0, 0, false, "first"), false);
  EXPECT_EQ(receive(st, fragment(2, 2, true, "third"), false), 0u);  // 1 was lost
  EXPECT_EQ(st.counters().rx_incomplete_dropped, 1u);
  EXPECT_EQ(st.inbound_pending(), 0u);
  EXPECT_EQ(st.held_bytes(), 0u);  // its reservation went with it
  EXPECT_EQ(st.stray_fragments(), 0u);
  // The next event is unaffected.
  receive(st, fragment(3, 0, false, "next"), false);
  EXPECT_EQ(receive(st, fragment(4, 1, true, "event"), false), 1u);
  EXPECT_EQ(read_one(st), "nextevent");
}

TEST(Stream, AFragmentOfNoEventInProgressIsStray) {
  Stream st(1, 9, config(65536), true, 1, 0);
  EXPECT_EQ(receive(st, fragment(0, 1, false, "middle"), false), 0u);
  EXPECT_EQ(receive(st, fragment(1, 2, true, "end"), false), 0u);
  EXPECT_EQ(st.stray_fragments(), 2u);
  EXPECT_EQ(st.counters().rx_incomplete_dropped, 0u);
  EXPECT_EQ(st.inbound_pending(), 0u);
}

TEST(Stream, AnEventLargerThanTheMaximumIsDroppedButItsCreditReturned) {
  Stream st(1, 9, config(65536), true, 1, 0);
  const RxLimits small{250, uint64_t{1} << 40};
  RxPacket a = fragment(0, 0, false, std::string(100, 'a'));
  RxPacket b = fragment(1, 1, true, std::string(200, 'b'));
  uint64_t cost = a.cost + b.cost;
  EXPECT_EQ(st.on_packet(std::move(a), false, true, small, 0).events, 0u);
  EXPECT_EQ(st.on_packet(std::move(b), false, true, small, 0).events, 0u);
  EXPECT_EQ(st.counters().rx_oversize_dropped, 1u);
  EXPECT_EQ(st.counters().rx_incomplete_dropped, 0u);
  EXPECT_EQ(st.inbound_pending(), 0u);
  EXPECT_EQ(st.held_bytes(), 0u);
  uint64_t total = 0;
  ASSERT_TRUE(st.current_grant(&total));
  EXPECT_EQ(total, cost);
  // Exactly the maximum still fits.
  st.on_packet(fragment(2, 0, false, std::string(50, 'c')), false, true, small, 0);
  ASSERT_EQ(st.on_packet(fragment(3, 1, true, std::string(200, 'd')), false, true, small, 0).events, 1u);
  EXPECT_EQ(read_one(st), std::string(50, 'c') + std::string(200, 'd'));
}

TEST(Stream, GrantsFollowReadsInQuarterWindows) {
  Stream st(1, 9, config(4000), true, 1, 0);  // a quarter: 1000
  for (uint64_t seq = 0; seq < 3; ++seq) receive(st, sized(seq, 412), false);  // 500 each
  uint64_t total = 0;
  EXPECT_FALSE(st.grant_due(&total, true));  // nothing read yet
  read_one(st);
  EXPECT_FALSE(st.grant_due(&total, false));
  EXPECT_FALSE(st.grant_due(&total, true));  // events still queued: not eager either
  read_one(st);
  ASSERT_TRUE(st.grant_due(&total, false));
  EXPECT_EQ(total, 1000u);
  EXPECT_FALSE(st.grant_due(&total, false));  // granted already
  read_one(st);
  EXPECT_FALSE(st.grant_due(&total, false));  // 500 since: under a quarter
  ASSERT_TRUE(st.grant_due(&total, true));    // but the queue ran empty
  EXPECT_EQ(total, 1500u);
  EXPECT_EQ(st.counters().credit_grants_sent, 2u);
}

// The recovery tick's grants: a sixteenth of the window at any time, less only once the
// gap since the last grant has passed.
TEST(Stream, SmallEagerGrantsWaitForTheirGap) {
  constexpr int64_t kGap = 40'000'000;
  Stream st(1, 9, config(16000), true, 1, 0);  // a sixteenth: 1000
  uint64_t total = 0;
  receive(st, sized(0, 412), false);  // 500 each
  read_one(st);
  ASSERT_TRUE(st.grant_due(&total, true, 0, kGap));  // the first one
  EXPECT_EQ(total, 500u);
  for (uint64_t seq = 1; seq < 3; ++seq) receive(st, sized(seq, 412), false);
  read_one(st);
  read_one(st);  // 1000 since: a sixteenth
  ASSERT_TRUE(st.grant_due(&total, true, 1'000'000, kGap));
  EXPECT_EQ(total, 1500u);
  receive(st, sized(3, 412), false);
  read_one(st);  // 500 since
  EXPECT_FALSE(st.grant_due(&total, true, 2'000'000, kGap));
  EXPECT_TRUE(st.needs_tick());  // the tick comes back for it
  ASSERT_TRUE(st.grant_due(&total, true, 1'000'000 + kGap, kGap));
  EXPECT_EQ(total, 2000u);
}

TEST(Stream, AWindowOfZeroNeverGrants) {
  Stream st(1, 9, config(0), true, 1, 0);
  for (uint64_t seq = 0; seq < 40; ++seq) receive(st, sized(seq, 8000), false);
  read_all(st);
  uint64_t total = 0;
  EXPECT_FALSE(st.grant_due(&total, true));
  EXPECT_FALSE(st.grant_due(&total, false));
  EXPECT_FALSE(st.current_grant(&total));
  EXPECT_FALSE(st.needs_tick());
  EXPECT_EQ(st.counters().credit_grants_sent, 0u);
}

TEST(Stream, DiscardingTheQueueReturnsItsCredit) {
  Stream st(1, 9, config(4000), true, 1, 0);
  for (uint64_t seq = 0; seq < 3; ++seq) receive(st, sized(seq, 412), false);
  read_one(st);
  st.discard_inbound();
  EXPECT_EQ(st.inbound_pending(), 0u);
  uint64_t total = 0;
  ASSERT_TRUE(st.grant_due(&total, false));
  EXPECT_EQ(total, 1500u);
}

TEST(Stream, FragmentCreditWaitsWhileTheReaderLags) {
  for (bool discard : {false, true}) {
    Stream st(1, 9, config(65536), true, 1, 0);
    receive(st, sized(0, 412), false);  // unread
    RxPacket f = fragment(1, 0, false, std::string(1000, 'f'));
    uint64_t fragment_cost = f.cost;
    receive(st, std::move(f), false);
    uint64_t total = 0;
    EXPECT_FALSE(st.grant_due(&total, true));  // held back: the reader is behind
    if (discard) {
      st.discard_inbound();
    } else {
      read_one(st);
    }
    ASSERT_TRUE(st.grant_due(&total, true));
    EXPECT_EQ(total, 500 + fragment_cost);
    // With the queue empty, the next fragment is credited as it arrives.
    RxPacket g = fragment(2, 1, false, std::string(10, 'g'));
    uint64_t g_cost = g.cost;
    receive(st, std::move(g), false);
    ASSERT_TRUE(st.grant_due(&total, true));
    EXPECT_EQ(total, 500 + fragment_cost + g_cost);
  }
}

TEST(Stream, ALateFireAndForgetPacketIsNotCreditedTwice) {
  Stream st(1, 9, config(1 << 20), true, 1, 0);
  uint64_t charged = 0;
  std::vector<RxPacket> sent;
  for (uint64_t seq = 0; seq < 40; ++seq) {
    RxPacket p = sized(seq, 100 + seq);
    p.accounted = true;
    p.charged_before = charged;
    charged += p.cost;
    sent.push_back(std::move(p));
  }
  const uint64_t lost_cost = sent[1].cost;
  for (uint64_t seq = 0; seq < 40; ++seq)
    if (seq != 1) receive(st, std::move(sent[seq]), false, true, 0);
  read_all(st);
  EXPECT_TRUE(st.settle_losses(0));  // 38 behind: reordering cannot explain it
  EXPECT_EQ(st.counters().rx_lost_credit, lost_cost);
  uint64_t total = 0;
  ASSERT_TRUE(st.current_grant(&total));
  EXPECT_EQ(total, charged);
  // It arrives after all: delivered, but its credit went back already.
  EXPECT_EQ(receive(st, std::move(sent[1]), false, true, 1), 1u);
  read_all(st);
  EXPECT_FALSE(st.settle_losses(1));
  ASSERT_TRUE(st.current_grant(&total));
  EXPECT_EQ(total, charged);
}

TEST(Stream, NeedsTickOnlyWhileThereIsRecoveryWorkOrCreditToGrant) {
  Stream st(1, 9, config(65536, true), true, 1, 0);
  EXPECT_FALSE(st.needs_tick());  // fresh
  receive(st, data(0, {"0"}), true);
  EXPECT_FALSE(st.needs_tick());  // queued unread: the next read grants
  receive(st, data(2, {"2"}), true);
  EXPECT_TRUE(st.needs_tick());  // a gap to NACK again
  receive(st, data(1, {"1"}), true);
  EXPECT_FALSE(st.needs_tick());
  read_all(st);
  EXPECT_TRUE(st.needs_tick());  // drained, credit not granted yet
  uint64_t total;
  ASSERT_TRUE(st.grant_due(&total, true));
  EXPECT_FALSE(st.needs_tick());

  // Sender side: unacknowledged packets (timer), a large event being cut.
  SentPacket p;
  ASSERT_EQ(st.join_open_packet(text("x"), 0), Stream::Join::kAdded);
  EXPECT_FALSE(st.needs_tick());  // an open packet is the loop thread's, not the tick's
  ASSERT_TRUE(st.close_open_packet(p, 0));
  st.retransmit().add(std::move(p));
  EXPECT_TRUE(st.needs_tick());
  st.retransmit().on_ack(1, 0, 1, st.rtt());
  EXPECT_FALSE(st.needs_tick());
  st.tx_fragmenting().emplace();
  EXPECT_TRUE(st.needs_tick());
  st.tx_fragmenting().reset();
  EXPECT_FALSE(st.needs_tick());
}

TEST(Stream, NeedsTickWhileFireAndForgetGapsAreUnsettled) {
  Stream st(1, 9, config(0), true, 1, 0);  // window 0: no grants to wait for
  RxPacket a = sized(0, 10), b = sized(2, 10);
  b.charged_before = a.cost + 98;
  a.accounted = b.accounted = true;
  receive(st, std::move(a), false, true, 0);
  EXPECT_FALSE(st.needs_tick());
  receive(st, std::move(b), false, true, 0);
  EXPECT_TRUE(st.needs_tick());  // the ledger waits to tell reordering from loss
  EXPECT_FALSE(st.settle_losses(LossLedger::kReorderNs - 1));
  EXPECT_TRUE(st.needs_tick());
  EXPECT_TRUE(st.settle_losses(LossLedger::kReorderNs));
  EXPECT_EQ(st.counters().rx_lost_credit, 98u);
  EXPECT_FALSE(st.needs_tick());
}

TEST(Stream, AbandoningReceiveDropsEarlyPacketsAndAPartialEventButKeepsTheQueue) {
  Stream st(1, 9, config(65536, true), true, 1, 0);
  receive(st, data(0, {"kept"}), true);
  receive(st, fragment(1, 0, false, "partial"), true);
  receive(st, data(5, {"early"}), true);
  ASSERT_TRUE(st.reorder().has_gaps());
  st.abandon_receive();
  EXPECT_FALSE(st.reorder().has_gaps());
  EXPECT_EQ(st.reorder().bytes(), 0u);
  EXPECT_EQ(st.counters().rx_incomplete_dropped, 1u);
  EXPECT_FALSE(st.needs_tick());  // no gap left to NACK
  EXPECT_EQ(read_all(st), (std::vector<std::string>{"kept"}));
  EXPECT_EQ(st.held_bytes(), 0u);
}

TEST(Stream, OverWindowIsWhatAPeerIgnoringCreditSends) {
  Stream st(1, 9, config(4000), true, 1, 0);
  uint64_t outstanding = 0;
  for (uint64_t seq = 0; seq < 8; ++seq) {  // 8 x 500: the window, unread
    RxPacket p = sized(seq, 412);
    outstanding += p.cost;
    receive(st, std::move(p), false);
  }
  ASSERT_EQ(outstanding, 4000u);
  // A packet and then some beyond the window is tolerated (a sender's packet in flight).
  EXPECT_FALSE(st.over_window(Stream::kWindowSlack));
  EXPECT_TRUE(st.over_window(Stream::kWindowSlack + 1));
  // Reading gives that room back.
  read_one(st);
  EXPECT_FALSE(st.over_window(Stream::kWindowSlack + 500));
  EXPECT_TRUE(st.over_window(Stream::kWindowSlack + 501));
  // A window of 0 is never over.
  Stream unbounded(1, 9, config(0), true, 1, 0);
  EXPECT_FALSE(unbounded.over_window(UINT32_MAX));
}

TEST(Stream, ProbesAndProbeAnswersAreRateLimited) {
  Stream st(1, 9, config(4000), true, 1, 0);
  constexpr int64_t kMs = 1'000'000;
  EXPECT_TRUE(st.probe_answer_due(0));
  EXPECT_FALSE(st.probe_answer_due(10 * kMs - 1));
  EXPECT_TRUE(st.probe_answer_due(10 * kMs));
  EXPECT_FALSE(st.probe_answer_due(15 * kMs));
  EXPECT_TRUE(st.probe_due(10 * kMs));
  EXPECT_FALSE(st.probe_due(20 * kMs - 1));
  EXPECT_TRUE(st.probe_due(20 * kMs));
}

// stream.h documents RxLimits::room = UINT64_MAX as the default (no budget), yet with it an
// ordered stream stalls on its first early packet: deliver_ready compares against
// a.limit + next->held(), which overflows when the limit is UINT64_MAX.
TEST(Stream, EarlyPacketsAreDeliveredWithTheDefaultUnlimitedRoom) {
  Stream st(1, 9, config(65536, true), true, 1, 0);
  EXPECT_EQ(st.on_packet(data(1, {"1"}), true, true, RxLimits{}, 0).events, 0u);
  EXPECT_EQ(st.on_packet(data(0, {"0"}), true, true, RxLimits{}, 0).events, 2u);
  EXPECT_FALSE(st.stalled());
}

}  // namespace
}  // namespace nm::stream

namespace nm::stream {
namespace {

// The peer reopened the stream (a new epoch): its new sender counts credit from 0, so our
// grants do too, and what the old incarnation left unread returns nothing to the new one.
TEST(Stream, ANewIncarnationIsGrantedOnlyWhatItSent) {
  Stream st(1, 9, config(8000), true, 1, 0);
  receive(st, sized(0, 1000, 1), false);
  receive(st, sized(1, 1000, 1), false);  // two unread events of the old incarnation
  receive(st, sized(0, 500, 2), false);   // the reopened stream's first packet
  EXPECT_EQ(st.inbound_pending(), 3u);
  EXPECT_EQ(read_all(st).size(), 3u);  // all still readable
  uint64_t total = 0;
  ASSERT_TRUE(st.current_grant(&total));
  EXPECT_EQ(total, 500u + 4 + 84);  // only the new incarnation's packet
}

// The same for a 0.23 sender's restart, which only the sequences show.
TEST(Stream, A023RestartIsGrantedOnlyWhatItSentAfter) {
  Stream st(1, 9, config(8000, true), true, 1, 0);
  auto from_023 = [](uint64_t seq, size_t size) {
    RxPacket p = sized(seq, size, 0);
    p.may_restart = true;
    return p;
  };
  for (uint64_t s = 0; s < 10; ++s) receive(st, from_023(s, 100), false);
  receive(st, from_023(0, 300), false);  // restarted
  EXPECT_EQ(st.counters().rx_restarts, 1u);
  EXPECT_EQ(read_all(st).size(), 11u);
  uint64_t total = 0;
  ASSERT_TRUE(st.current_grant(&total));
  EXPECT_EQ(total, 300u + 4 + 84);
}

}  // namespace
}  // namespace nm::stream
