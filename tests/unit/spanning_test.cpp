// Events cut at a packet boundary (wire::frag::kSpanTail / kSpanHead): the send side's
// open packet filling to its capacity (Stream::join_open_packet with a packet to fill) and
// the receive side putting the pieces together (Stream::deliver_spanning), in order, out of
// order, with a packet lost, and from a sender that breaks the rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "stream/stream.h"
#include "wire/extension.h"
#include "wire/frames.h"
#include "wire/header.h"

namespace nm::stream {
namespace {

constexpr RxLimits kLimits{1 << 20, uint64_t{1} << 40};

StreamConfig config(uint32_t window, bool reliable) {
  StreamConfig c;
  c.window_bytes = window;
  c.reliable = reliable;
  return c;
}

std::vector<uint8_t> bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed * 31 + i);
  return b;
}

// What the receiver makes of a packet the sender built.
RxPacket received(const SentPacket& s) {
  RxPacket p;
  p.seq = s.seq;
  p.data = s.payload;
  p.events = s.event_count;
  p.cost = static_cast<uint32_t>(s.payload.size() + wire::kPacketOverhead);
  p.frag_flags = s.frag_flags;
  p.epoch = 1;
  p.charged_before = s.charged_before;
  return p;
}

// The sender's packets for `events`, `capacity` payload bytes each, events cut at packet
// boundaries; the last packet is closed at the end.
std::vector<SentPacket> send_all(Stream& tx, const std::vector<std::vector<uint8_t>>& events, size_t capacity) {
  std::vector<SentPacket> packets;
  for (const auto& e : events) {
    SentPacket filled;
    Stream::Join j = tx.join_open_packet(e, 0, capacity, &filled);
    if (j == Stream::Join::kFull) {
      EXPECT_TRUE(tx.close_open_packet(packets.emplace_back(), 0));
      j = tx.join_open_packet(e, 0, capacity, &filled);
    }
    EXPECT_NE(j, Stream::Join::kNoCredit);
    EXPECT_NE(j, Stream::Join::kFull);
    if (j == Stream::Join::kSpanned) packets.push_back(std::move(filled));
  }
  if (tx.has_open_packet()) {
    EXPECT_TRUE(tx.close_open_packet(packets.emplace_back(), 0));
  }
  return packets;
}

std::vector<std::vector<uint8_t>> read_all(Stream& st) {
  std::vector<std::vector<uint8_t>> out;
  while (st.inbound_pending() > 0) {
    std::vector<uint8_t> e(st.front_size());
    st.pop_into(e.data());
    out.push_back(std::move(e));
  }
  return out;
}

size_t receive(Stream& st, RxPacket p, bool ordered, const RxLimits& limits = kLimits) {
  RxResult r = st.on_packet(std::move(p), ordered, true, limits, 0);
  EXPECT_FALSE(r.over_budget);
  return r.events;
}

// What the sender was charged for `packets`: their payloads and per-packet overhead.
uint64_t cost_of(const std::vector<SentPacket>& packets) {
  uint64_t cost = 0;
  for (const SentPacket& p : packets) cost += p.payload.size() + wire::kPacketOverhead;
  return cost;
}

// A receiver given `packets` (in that order) reads `events` back, whole and in order, holds
// nothing after, and grants back every byte the sender was charged once read.
void expect_read_back(const std::vector<SentPacket>& packets, const std::vector<std::vector<uint8_t>>& events,
                      uint32_t window) {
  Stream rx(1, 9, config(window, true), true, 1, 0);
  for (const SentPacket& p : packets) receive(rx, received(p), true);
  EXPECT_EQ(read_all(rx), events);
  EXPECT_EQ(rx.held_bytes(), 0u);
  EXPECT_EQ(rx.stray_fragments(), 0u);
  uint64_t total = 0;
  ASSERT_TRUE(rx.current_grant(&total));
  EXPECT_EQ(total, cost_of(packets));
}

TEST(Spanning, AnEventThatDoesNotFitFillsThePacketAndItsRestOpensTheNext) {
  Stream tx(1, 9, config(65536, true), true, 1, 0);
  SentPacket filled;
  ASSERT_EQ(tx.join_open_packet(bytes(60, 1), 0, 200, &filled), Stream::Join::kAdded);  // 64 of 200
  ASSERT_EQ(tx.join_open_packet(bytes(150, 2), 5, 200, &filled), Stream::Join::kSpanned);
  // The first packet left full: its event whole, then the second's first 132 bytes.
  EXPECT_EQ(filled.seq, 0u);
  EXPECT_EQ(filled.payload.size(), 200u);
  EXPECT_EQ(filled.event_count, 2u);
  EXPECT_EQ(filled.frag_flags, wire::frag::kSpanTail);
  EXPECT_EQ(filled.charged_before, 0u);
  auto frames = wire::read_frames({filled.payload.data(), filled.payload.size()}, 2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].size(), 132u);
  // The rest (18 bytes) opens the next packet, and every byte is charged exactly once.
  SentPacket next;
  ASSERT_TRUE(tx.close_open_packet(next, 6));
  EXPECT_EQ(next.seq, 1u);
  EXPECT_EQ(next.frag_flags, wire::frag::kSpanHead);
  EXPECT_EQ(next.event_count, 1u);
  EXPECT_EQ(next.payload.size(), 4u + 18);
  EXPECT_EQ(next.charged_before, 200 + wire::kPacketOverhead);
  EXPECT_EQ(tx.tx_charged(), next.charged_before + next.payload.size() + wire::kPacketOverhead);
  EXPECT_EQ(tx.counters().tx_events, 2u);
}

// An event larger than a packet (up to two packets' worth) is cut the same way, in a packet
// opened for it if none is: it crosses one boundary and needs no fragments. One that would
// cross two does not span.
TEST(Spanning, AnEventLargerThanAPacketCrossesOneBoundaryAndNoMore) {
  Stream tx(1, 9, config(65536, true), true, 1, 0);
  SentPacket filled;
  ASSERT_EQ(Stream::max_spanned_event(200), 392u);
  EXPECT_EQ(tx.join_open_packet(bytes(393, 1), 0, 200, &filled), Stream::Join::kFull);
  EXPECT_EQ(tx.tx_charged(), 0u);
  ASSERT_EQ(tx.join_open_packet(bytes(392, 1), 0, 200, &filled), Stream::Join::kSpanned);
  EXPECT_EQ(filled.payload.size(), 200u);  // 196 bytes of it
  EXPECT_EQ(filled.event_count, 1u);
  EXPECT_EQ(filled.frag_flags, wire::frag::kSpanTail);
  EXPECT_EQ(filled.charged_before, 0u);
  EXPECT_EQ(tx.open_packet_bytes(), 200u);  // the other 196: a full packet again
  SentPacket rest;
  ASSERT_TRUE(tx.close_open_packet(rest, 0));
  EXPECT_EQ(rest.frag_flags, wire::frag::kSpanHead);
  EXPECT_EQ(tx.tx_charged(), 2 * (200 + wire::kPacketOverhead));
  // Behind an open packet, only if the rest fits the next one.
  ASSERT_EQ(tx.join_open_packet(bytes(60, 2), 0, 200, &filled), Stream::Join::kAdded);  // 136 left
  EXPECT_EQ(tx.join_open_packet(bytes(329, 3), 0, 200, &filled), Stream::Join::kFull);   // rest 197
  ASSERT_EQ(tx.join_open_packet(bytes(328, 3), 0, 200, &filled), Stream::Join::kSpanned);
  EXPECT_EQ(filled.event_count, 2u);
  EXPECT_EQ(tx.open_packet_bytes(), 200u);
}

TEST(Spanning, EventsOfUpToTwoPacketsArriveWholeInOrderAndReturnAllTheirCredit) {
  std::mt19937 rng(7);
  const size_t capacity = 1388;
  std::vector<std::vector<uint8_t>> events;
  std::uniform_int_distribution<size_t> size(capacity, Stream::max_spanned_event(capacity));
  for (uint32_t i = 0; i < 300; ++i) events.push_back(bytes(i % 5 == 0 ? 100 : size(rng), i));
  Stream tx(1, 9, config(0, true), true, 1, 0);
  std::vector<SentPacket> packets = send_all(tx, events, capacity);
  EXPECT_EQ(cost_of(packets), tx.tx_charged());
  // Fragments would take two packets or more for each large event (240 here), so 520.
  EXPECT_LT(packets.size(), events.size() * 3 / 2);
  std::shuffle(packets.begin(), packets.end(), rng);
  expect_read_back(packets, events, 1 << 20);
}

TEST(Spanning, ASmallRoomOrTooLittleCreditLeavesThePacketAsItIs) {
  Stream tx(1, 9, config(65536, true), true, 1, 0);
  SentPacket filled;
  ASSERT_EQ(tx.join_open_packet(bytes(150, 1), 0, 200, &filled), Stream::Join::kAdded);  // 46 left
  EXPECT_EQ(tx.join_open_packet(bytes(100, 2), 0, 200, &filled), Stream::Join::kFull);
  uint64_t charged = tx.tx_charged();

  Stream tight(1, 9, config(350, true), true, 1, 0);
  ASSERT_EQ(tight.join_open_packet(bytes(60, 1), 0, 200, &filled), Stream::Join::kAdded);  // 148 charged
  // Cutting 150 bytes costs 136 + 88 + 18 = 242 more: over the 202 left.
  EXPECT_EQ(tight.join_open_packet(bytes(150, 2), 0, 200, &filled), Stream::Join::kNoCredit);
  EXPECT_EQ(tight.tx_charged(), 148u);
  EXPECT_EQ(tight.counters().backpressure_events, 1u);
  SentPacket out;
  ASSERT_TRUE(tight.close_open_packet(out, 0));
  EXPECT_EQ(out.frag_flags, 0u);
  EXPECT_EQ(out.event_count, 1u);
  EXPECT_EQ(tx.tx_charged(), charged);
}

TEST(Spanning, EventsCutAtPacketBoundariesArriveWholeInOrderAndReturnAllTheirCredit) {
  std::mt19937 rng(42);
  for (bool shuffled : {false, true}) {
    const size_t capacity = 1388;
    std::vector<std::vector<uint8_t>> events;
    std::uniform_int_distribution<size_t> size(0, capacity - wire::kFrameOverhead);
    for (uint32_t i = 0; i < 400; ++i) events.push_back(bytes(i % 7 == 0 ? 1024 : size(rng), i));
    Stream tx(1, 9, config(0, true), true, 1, 0);
    std::vector<SentPacket> packets = send_all(tx, events, capacity);
    // Full packets: fewer than one per event, and all but the last at the capacity less
    // the few bytes a start too small to cut leaves.
    EXPECT_LT(packets.size(), events.size() * 3 / 4);
    EXPECT_EQ(cost_of(packets), tx.tx_charged());
    if (shuffled) std::shuffle(packets.begin(), packets.end(), rng);
    expect_read_back(packets, events, 65536);
  }
}

TEST(Spanning, ASlowReaderReturnsCreditWithEachEventItReads) {
  // 1,000-byte events in 1,400-byte packets: most packets carry a rest and a start and no
  // whole event; their credit must come back as the events are read, not once all are.
  std::vector<std::vector<uint8_t>> events;
  for (uint32_t i = 0; i < 40; ++i) events.push_back(bytes(1000, i));
  Stream tx(1, 9, config(0, true), true, 1, 0);
  std::vector<SentPacket> packets = send_all(tx, events, 1400);
  Stream rx(1, 9, config(1 << 20, true), true, 1, 0);
  for (const SentPacket& p : packets) receive(rx, received(p), true);
  ASSERT_EQ(rx.inbound_pending(), events.size());
  uint64_t cost = 0, total = 0;
  for (const SentPacket& p : packets) cost += p.payload.size() + wire::kPacketOverhead;
  ASSERT_TRUE(rx.current_grant(&total));
  EXPECT_EQ(total, 0u);  // nothing read, nothing returned
  for (size_t i = 0; i < events.size() / 2; ++i) {
    std::vector<uint8_t> e(rx.front_size());
    rx.pop_into(e.data());
  }
  // Half the events read, about half the credit back (held until the queue drained, it
  // would be the few packets that carried a whole event).
  ASSERT_TRUE(rx.current_grant(&total));
  EXPECT_GE(total, cost * 2 / 5);
  EXPECT_LE(total, cost * 3 / 5);
  read_all(rx);
  ASSERT_TRUE(rx.current_grant(&total));
  EXPECT_EQ(total, cost);
}

TEST(Spanning, AFireAndForgetLossDropsOnlyTheEventsItCarriedAPieceOf) {
  const size_t capacity = 200;
  std::vector<std::vector<uint8_t>> events;
  for (uint32_t i = 0; i < 12; ++i) events.push_back(bytes(100, i));
  Stream tx(1, 9, config(0, true), true, 1, 0);
  std::vector<SentPacket> packets = send_all(tx, events, capacity);
  ASSERT_GE(packets.size(), 5u);
  ASSERT_EQ(packets[2].frag_flags, wire::frag::kSpanHead | wire::frag::kSpanTail);
  Stream rx(1, 9, config(65536, false), true, 1, 0);
  std::vector<std::vector<uint8_t>> expected;
  size_t event = 0;
  for (size_t i = 0; i < packets.size(); ++i) {
    auto frames = wire::read_frames({packets[i].payload.data(), packets[i].payload.size()},
                                    packets[i].event_count);
    bool head = packets[i].frag_flags & wire::frag::kSpanHead;
    bool tail = packets[i].frag_flags & wire::frag::kSpanTail;
    size_t whole = frames.size() - head - tail;
    bool lost = i == 2, previous_lost = i == 3;
    if (head && !lost && !previous_lost) expected.push_back(events[event]);
    if (head) ++event;
    for (size_t k = 0; k < whole; ++k, ++event)
      if (!lost) expected.push_back(events[event]);
    if (!lost) receive(rx, received(packets[i]), false);
  }
  EXPECT_EQ(read_all(rx), expected);
  EXPECT_EQ(rx.counters().rx_incomplete_dropped, 1u);  // the start in packet 1 lost its rest
  EXPECT_EQ(rx.stray_fragments(), 0u);  // packet 3's head had a start pending: counted once above
  EXPECT_EQ(rx.held_bytes(), 0u);
}

TEST(Spanning, PiecesNoSenderWritesAreDroppedAndCounted) {
  Stream rx(1, 9, config(65536, false), true, 1, 0);
  std::vector<uint8_t> payload;
  wire::append_frame(payload, bytes(10, 1));
  auto packet = [&](uint64_t seq, uint8_t flags, uint16_t events) {
    RxPacket p;
    p.seq = seq;
    p.data = SharedPayload::copy_of(payload);
    p.events = events;
    p.cost = static_cast<uint32_t>(payload.size() + wire::kPacketOverhead);
    p.frag_flags = flags;
    p.epoch = 1;
    return p;
  };
  // A rest with no start pending.
  EXPECT_EQ(receive(rx, packet(0, wire::frag::kSpanHead, 1), false), 0u);
  // Head and tail marks on one frame; span marks on a fragment; marks on no frame.
  EXPECT_EQ(receive(rx, packet(1, wire::frag::kSpanMarks, 1), false), 0u);
  EXPECT_EQ(receive(rx, packet(2, wire::frag::kSpanTail | wire::frag::kFragment, 1), false), 0u);
  EXPECT_EQ(receive(rx, packet(3, wire::frag::kSpanTail, 0), false), 0u);
  EXPECT_EQ(rx.stray_fragments(), 4u);
  EXPECT_EQ(rx.held_bytes(), 0u);
  EXPECT_EQ(rx.inbound_pending(), 0u);
  // A rest that would make the event larger than max_event_bytes: dropped, credit returned.
  const RxLimits small{15, uint64_t{1} << 40};
  EXPECT_EQ(receive(rx, packet(4, wire::frag::kSpanTail, 1), false, small), 0u);
  EXPECT_GT(rx.held_bytes(), 0u);  // the start's reservation
  EXPECT_EQ(receive(rx, packet(5, wire::frag::kSpanHead, 1), false, small), 0u);
  EXPECT_EQ(rx.counters().rx_oversize_dropped, 1u);
  EXPECT_EQ(rx.held_bytes(), 0u);
  uint64_t total = 0;
  ASSERT_TRUE(rx.current_grant(&total));
  EXPECT_EQ(total, 6 * (payload.size() + wire::kPacketOverhead));
}

// A fragment that claims to continue what a span tail started (found by an audit: the
// reassembly it continued was the tail's empty one, and completing it wrote a frame length
// before an empty buffer or past a short one). Dropped as a stray; nothing is queued, and the
// stream still delivers what comes after.
TEST(Spanning, AFragmentDoesNotContinueASpansStart) {
  for (bool ordered : {false, true}) {
    for (size_t last_bytes : {size_t{0}, size_t{2}, size_t{6}}) {
      SCOPED_TRACE(::testing::Message() << "ordered " << ordered << ", last fragment " << last_bytes << " B");
      Stream rx(1, 9, config(1 << 20, ordered), true, 1, 0);
      auto packet = [](uint64_t seq, uint8_t flags, uint16_t index, std::vector<std::vector<uint8_t>> events) {
        std::vector<uint8_t> payload;
        for (const auto& e : events) wire::append_frame(payload, e);
        RxPacket p;
        p.seq = seq;
        p.data = SharedPayload::copy_of(payload);
        p.events = static_cast<uint16_t>(events.size());
        p.cost = static_cast<uint32_t>(payload.size() + wire::kPacketOverhead);
        p.frag_flags = flags;
        p.frag_index = index;
        p.epoch = 1;
        return p;
      };
      EXPECT_EQ(receive(rx, packet(0, wire::frag::kFragment, 0, {bytes(5, 1)}), ordered), 0u);
      EXPECT_EQ(receive(rx, packet(1, wire::frag::kSpanTail, 0, {bytes(4, 2)}), ordered), 0u);
      std::vector<std::vector<uint8_t>> last;
      if (last_bytes) last.push_back(bytes(last_bytes, 3));
      EXPECT_EQ(receive(rx, packet(2, wire::frag::kFragment | wire::frag::kLast, 1, last), ordered), 0u);
      EXPECT_EQ(rx.inbound_pending(), 0u);
      EXPECT_EQ(receive(rx, packet(3, 0, 0, {bytes(7, 4)}), ordered), 1u);
      EXPECT_EQ(read_all(rx), std::vector<std::vector<uint8_t>>{bytes(7, 4)});
    }
  }
}

}  // namespace
}  // namespace nm::stream
