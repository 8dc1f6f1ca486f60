// A stream's admission within the receive budget (stream/stream_receive.cpp), driven as the
// node drives it: every receive, read and close carried to a session account by HeldChange.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "session/rx_budget.h"
#include "stream/stream.h"
#include "wire/extension.h"
#include "wire/frames.h"
#include "wire/header.h"

namespace nm::stream {
namespace {

constexpr size_t kMaxEvent = 64 * 1024;
const uint64_t kReservation = Stream::event_reservation(kMaxEvent);
constexpr size_t kPiece = 8000;  // 8 fragments make the largest event (65536 = 8 x 8192)

RxPacket data_packet(uint64_t seq, size_t size) {
  std::vector<uint8_t> payload;
  wire::append_frame(payload, std::vector<uint8_t>(size, 'd'));
  RxPacket p;
  p.seq = seq;
  p.data = SharedPayload::copy_of(payload);
  p.events = 1;
  p.cost = static_cast<uint32_t>(payload.size() + wire::kPacketOverhead);
  p.epoch = 1;
  return p;
}

RxPacket fragment(uint64_t seq, uint16_t index, bool last, size_t size = kPiece) {
  RxPacket p = data_packet(seq, size);
  p.frag_flags = wire::frag::kFragment | (last ? wire::frag::kLast : 0);
  p.frag_index = index;
  return p;
}

// One session of streams under a budget, handled the way the node handles them.
struct Session {
  session::RxBudget& budget;
  session::RxAccount account;
  std::vector<std::unique_ptr<Stream>> streams;

  explicit Session(session::RxBudget& b) : budget(b) {}
  Stream& open(bool reliable) {
    StreamConfig c;
    c.reliable = reliable;
    c.window_bytes = 0;  // the budget alone bounds what is kept
    streams.push_back(std::make_unique<Stream>(1, streams.size(), c, true, 1, 0));
    return *streams.back();
  }
  RxResult receive(Stream& st, RxPacket p) {
    session::HeldChange c(budget, account, st);
    return st.on_packet(std::move(p), st.config().reliable, true, {kMaxEvent, budget.room(account)}, 0);
  }
  RxResult resume(Stream& st) {
    session::HeldChange c(budget, account, st);
    return st.resume({kMaxEvent, budget.room(account)});
  }
  size_t read_all(Stream& st) {
    session::HeldChange c(budget, account, st);
    std::vector<uint8_t> buf(kMaxEvent);
    size_t n = 0;
    for (; st.inbound_pending() > 0; ++n) st.pop_into(buf.data());
    return n;
  }
  void close(Stream& st) {
    session::HeldChange c(budget, account, st);
    st.discard_inbound();
    st.abandon_receive();
  }
  uint64_t sum() const {
    uint64_t held = 0;
    for (const auto& st : streams) held += st->held_bytes();
    return held;
  }
};

TEST(StreamBudget, PacketsBeyondTheRoomAreDropped) {
  for (bool reliable : {false, true}) {
    session::RxBudget budget(4 * kFullPacketHeld, 4 * kFullPacketHeld);
    Session s(budget);
    Stream& st = s.open(reliable);
    size_t kept = 0, dropped = 0;
    for (uint64_t seq = 0; seq < 10; ++seq) {
      RxResult r = s.receive(st, data_packet(seq, 8104));
      kept += r.events;
      dropped += r.over_budget;
      if (reliable && r.over_budget) break;  // the sender would retransmit this one
    }
    EXPECT_EQ(kept, 4u);
    EXPECT_GE(dropped, 1u);
    EXPECT_EQ(s.account.held, st.held_bytes());
    EXPECT_LE(s.account.held, budget.session_limit());
    // Reading frees the memory; the retransmission (reliable) or the next packet gets in.
    EXPECT_EQ(s.read_all(st), 4u);
    EXPECT_EQ(s.account.held, 0u);
    EXPECT_EQ(s.receive(st, data_packet(reliable ? 4 : 10, 8104)).events, 1u);
  }
}

TEST(StreamBudget, ARefusedFireAndForgetPacketIsCreditedBackAsLost) {
  session::RxBudget budget(kFullPacketHeld, kFullPacketHeld);
  Session s(budget);
  Stream& st = s.open(false);
  uint64_t charged = 0;
  auto send = [&](uint64_t seq) {
    RxPacket p = data_packet(seq, 8104);
    p.accounted = true;
    p.charged_before = charged;
    charged += p.cost;
    return s.receive(st, std::move(p));
  };
  EXPECT_EQ(send(0).events, 1u);
  EXPECT_TRUE(send(1).over_budget);  // the first is still unread
  s.read_all(st);
  for (uint64_t seq = 2; seq < 40; ++seq) {  // past the loss ledger's reordering allowance
    EXPECT_EQ(send(seq).events, 1u);
    s.read_all(st);
  }
  st.settle_losses(1'000'000'000);
  uint64_t granted = 0;
  st.current_grant(&granted);
  EXPECT_EQ(granted, charged);  // what was refused does not leak from the sender's window
  EXPECT_EQ(st.counters().rx_lost_credit, 8108u + 84u);
}

TEST(StreamBudget, AStartNeedsItsReservationAndTheRestOfTheEventIsCovered) {
  session::RxBudget budget(kReservation + kFullPacketHeld, 1 << 30);
  Session s(budget);
  Stream& a = s.open(false);
  Stream& b = s.open(false);
  EXPECT_FALSE(s.receive(a, fragment(0, 0, false)).over_budget);
  EXPECT_EQ(s.account.held, kReservation);
  // b's start does not fit beside a's reservation; a small packet does.
  EXPECT_TRUE(s.receive(b, fragment(0, 0, false)).over_budget);
  EXPECT_EQ(s.receive(b, data_packet(1, 100)).events, 1u);
  // a's fragments come in whatever else the session holds, and the event completes.
  for (uint16_t i = 1; i < 8; ++i) EXPECT_FALSE(s.receive(a, fragment(i, i, i == 7, 8192)).over_budget);
  EXPECT_EQ(a.inbound_pending(), 1u);
  EXPECT_EQ(a.front_size(), 8000u + 7 * 8192);
  EXPECT_LE(a.held_bytes(), kReservation);
  EXPECT_EQ(s.account.held, s.sum());
}

TEST(StreamBudget, TwoHalfDoneEventsBothFinishWithNoRoomLeft) {
  session::RxBudget budget(2 * kReservation + kFullPacketHeld, 1 << 30);
  Session s(budget);
  Stream& a = s.open(true);
  Stream& b = s.open(false);
  ASSERT_FALSE(s.receive(a, fragment(0, 0, false)).over_budget);
  ASSERT_FALSE(s.receive(b, fragment(0, 0, false)).over_budget);
  // Fill what is left with unread data on a third stream: no room at all.
  Stream& c = s.open(false);
  ASSERT_EQ(s.receive(c, data_packet(0, 8104)).events, 1u);
  EXPECT_TRUE(s.receive(c, data_packet(1, 8104)).over_budget);
  // Interleaved, each event's fragments are covered by its own reservation.
  for (uint16_t i = 1; i < 8; ++i) {
    EXPECT_FALSE(s.receive(a, fragment(i, i, i == 7)).over_budget);
    EXPECT_FALSE(s.receive(b, fragment(i, i, i == 7)).over_budget);
  }
  EXPECT_EQ(a.inbound_pending(), 1u);
  EXPECT_EQ(b.inbound_pending(), 1u);
  EXPECT_LE(s.account.held, budget.session_limit());
  EXPECT_EQ(s.account.held, s.sum());
  // A third event starts once one is read.
  EXPECT_TRUE(s.receive(c, fragment(2, 0, false)).over_budget);
  s.read_all(a);
  EXPECT_FALSE(s.receive(c, fragment(3, 0, false)).over_budget);
}

TEST(StreamBudget, EarlyPacketsLeaveRoomForWhatFillsTheGap) {
  session::RxBudget budget(kReservation + 3 * kFullPacketHeld, 1 << 30);
  Session s(budget);
  Stream& st = s.open(true);
  // seq 0 is missing: early packets may take only what a gap filler and a start leave.
  size_t early = 0;
  for (uint64_t seq = 1; seq < 10; ++seq) early += !s.receive(st, data_packet(seq, 8104)).over_budget;
  EXPECT_EQ(early, 2u);
  EXPECT_EQ(st.reorder().buffered(), 2u);
  // The gap filler always fits, and releases what waited behind it.
  EXPECT_EQ(s.receive(st, data_packet(0, 8104)).events, 3u);
  EXPECT_EQ(s.account.held, s.sum());
}

TEST(StreamBudget, AStartWithoutRoomWaitsInTheReorderBufferUntilResumed) {
  session::RxBudget budget(kReservation + 2 * kFullPacketHeld, 1 << 30);
  Session s(budget);
  Stream& st = s.open(true);
  Stream& other = s.open(false);
  // The event's start arrives early (taking all the room an early packet may), another
  // stream takes the rest with unread data, then the packet before the start arrives: the
  // start reaches the head with no room for its reservation.
  ASSERT_FALSE(s.receive(st, fragment(1, 0, false)).over_budget);
  ASSERT_EQ(s.receive(other, data_packet(0, 8104)).events, 1u);
  ASSERT_EQ(s.receive(other, data_packet(1, 8104)).events, 1u);
  ASSERT_EQ(s.receive(st, data_packet(0, 100)).events, 1u);
  EXPECT_TRUE(st.stalled());
  EXPECT_EQ(st.reorder().buffered(), 1u);
  EXPECT_LE(s.account.held, budget.session_limit());
  EXPECT_EQ(s.resume(st).events, 0u);  // still no room
  EXPECT_TRUE(st.stalled());
  // A retransmitted copy is a duplicate; a later fragment finds no room for now.
  EXPECT_FALSE(s.receive(st, fragment(1, 0, false)).over_budget);
  EXPECT_TRUE(s.receive(st, fragment(2, 1, true, 50)).over_budget);
  // Memory frees: the start is delivered, its event completes with the retransmission.
  s.read_all(other);
  s.read_all(st);
  EXPECT_EQ(s.resume(st).events, 0u);
  EXPECT_FALSE(st.stalled());
  EXPECT_EQ(st.reorder().buffered(), 0u);
  EXPECT_EQ(s.receive(st, fragment(2, 1, true, 50)).events, 1u);
  EXPECT_EQ(st.front_size(), kPiece + 50);
  EXPECT_EQ(s.account.held, s.sum());
}

TEST(StreamBudget, AnEventWhoseFragmentWasLostGivesItsReservationBack) {
  session::RxBudget budget(kReservation + kFullPacketHeld, 1 << 30);
  Session s(budget);
  Stream& st = s.open(false);
  uint64_t charged = 0;
  auto ff = [&](RxPacket p) {
    p.accounted = true;
    p.charged_before = charged;
    charged += p.cost;
    return p;
  };
  ASSERT_FALSE(s.receive(st, ff(fragment(0, 0, false))).over_budget);
  ff(fragment(1, 1, false));  // lost on the way
  EXPECT_EQ(s.account.held, kReservation);
  for (uint64_t seq = 2; seq < 40; ++seq) s.receive(st, ff(data_packet(seq, 10))), s.read_all(st);
  {
    session::HeldChange c(budget, s.account, st);
    st.settle_losses(1'000'000'000);
  }
  EXPECT_EQ(s.account.held, 0u);
  EXPECT_EQ(st.counters().rx_incomplete_dropped, 1u);
}

TEST(StreamBudget, TotalsReturnToZeroWhenEveryStreamCloses) {
  session::RxBudget budget(1 << 20, 1 << 20);
  Session s(budget);
  std::vector<Stream*> streams;
  for (int i = 0; i < 6; ++i) streams.push_back(&s.open(i % 2 == 0));
  // A mix of everything a stream can hold: queued packets, partly read packets, early
  // packets, an event in reassembly, a completed event, a stalled start.
  for (size_t i = 0; i < streams.size(); ++i) {
    Stream& st = *streams[i];
    s.receive(st, data_packet(0, 100 * (i + 1)));
    s.receive(st, data_packet(2, 50));  // early on reliable streams
    s.receive(st, fragment(3, 0, false));
    s.receive(st, fragment(4, 1, i % 3 == 0));
    ASSERT_EQ(s.account.held, s.sum());
  }
  s.read_all(*streams[1]);
  ASSERT_EQ(s.account.held, s.sum());
  EXPECT_GT(s.account.held, 0u);
  for (Stream* st : streams) s.close(*st);
  EXPECT_EQ(s.sum(), 0u);
  EXPECT_EQ(s.account.held, 0u);
  EXPECT_EQ(budget.held(), 0u);
}

TEST(StreamBudget, AResetStreamReleasesEverything) {
  session::RxBudget budget(1 << 20, 1 << 20);
  Session s(budget);
  Stream& st = s.open(true);
  s.receive(st, data_packet(0, 500));
  s.receive(st, data_packet(3, 500));
  s.receive(st, fragment(1, 0, false));
  ASSERT_GT(s.account.held, 0u);
  RxPacket newer = data_packet(0, 10);
  newer.epoch = 2;  // the peer reopened the stream
  s.receive(st, std::move(newer));
  EXPECT_EQ(s.account.held, st.held_bytes());
  s.close(st);
  EXPECT_EQ(budget.held(), 0u);
}

}  // namespace
}  // namespace nm::stream
