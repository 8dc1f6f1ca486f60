// The receiver's reorder buffer for reliable streams (stream/reorder_buffer.h): in-order
// fast path, early packets released in sequence once each, duplicates, the hard cap, the
// NACK bitmaps, and the bytes and memory it accounts for.
#include "stream/reorder_buffer.h"

#include <gtest/gtest.h>

#include <vector>

#include "stream/rx_packet.h"
#include "wire/frames.h"
#include "wire/header.h"

namespace nm::stream {
namespace {

using P = ReorderBuffer::Place;

RxPacket packet(uint64_t seq, size_t size = 10) {
  std::vector<uint8_t> payload;
  wire::append_frame(payload, std::vector<uint8_t>(size, static_cast<uint8_t>(seq)));
  RxPacket p;
  p.seq = seq;
  p.data = SharedPayload::copy_of(payload);
  p.events = 1;
  p.cost = static_cast<uint32_t>(payload.size() + wire::kPacketOverhead);
  return p;
}

// What the caller does with a packet, as Stream::on_packet does: hold it if early, take
// it if next. Returns the place.
P offer(ReorderBuffer& b, uint64_t seq, size_t size = 10) {
  P place = b.place(seq);
  if (place == P::kAhead) b.hold(packet(seq, size));
  if (place == P::kNext) b.take_next();
  return place;
}

std::vector<uint64_t> drain(ReorderBuffer& b) {
  std::vector<uint64_t> seqs;
  RxPacket p;
  while (b.pop_ready(p)) seqs.push_back(p.seq);
  return seqs;
}

TEST(ReorderBuffer, InOrderPacketsPassStraightThrough) {
  ReorderBuffer b;
  for (uint64_t seq = 0; seq < 5; ++seq) {
    ASSERT_EQ(b.place(seq), P::kNext);
    b.take_next();
    EXPECT_EQ(b.ready(), nullptr);  // nothing waits here
  }
  EXPECT_EQ(b.next_expected(), 5u);
  EXPECT_FALSE(b.has_gaps());
  EXPECT_EQ(b.buffered(), 0u);
  EXPECT_EQ(b.highest(), 4u);
  EXPECT_EQ(b.bytes(), 0u);
  EXPECT_EQ(b.held(), 0u);
}

TEST(ReorderBuffer, EarlyPacketsWaitAndAreReleasedInSequence) {
  ReorderBuffer b;
  EXPECT_EQ(offer(b, 3), P::kAhead);
  EXPECT_EQ(offer(b, 2), P::kAhead);
  EXPECT_TRUE(b.has_gaps());
  EXPECT_EQ(b.highest(), 3u);
  EXPECT_EQ(b.ready(), nullptr);  // 0 and 1 missing
  EXPECT_TRUE(drain(b).empty());
  EXPECT_EQ(offer(b, 0), P::kNext);
  EXPECT_EQ(b.ready(), nullptr);  // 1 still missing
  EXPECT_EQ(offer(b, 1), P::kNext);
  ASSERT_NE(b.ready(), nullptr);
  EXPECT_EQ(b.ready()->seq, 2u);
  EXPECT_EQ(b.next_expected(), 2u);  // ready() only looks
  EXPECT_EQ(drain(b), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(b.next_expected(), 4u);
  EXPECT_FALSE(b.has_gaps());
  EXPECT_EQ(offer(b, 4), P::kNext);
}

TEST(ReorderBuffer, ReleasedAndWaitingPacketsAreDuplicates) {
  ReorderBuffer b;
  offer(b, 0);
  offer(b, 5);
  EXPECT_EQ(b.place(0), P::kDuplicate);  // already released
  EXPECT_EQ(b.place(5), P::kDuplicate);  // waiting here
  EXPECT_EQ(b.place(4), P::kAhead);
  EXPECT_EQ(b.place(1), P::kNext);
  EXPECT_EQ(b.buffered(), 1u);
}

TEST(ReorderBuffer, PacketsBeyondTheCapAreTooFar) {
  ReorderBuffer b;
  EXPECT_EQ(b.place(ReorderBuffer::kMaxAhead), P::kAhead);
  EXPECT_EQ(b.place(ReorderBuffer::kMaxAhead + 1), P::kTooFar);
  EXPECT_EQ(b.place(UINT64_MAX), P::kTooFar);
  for (int i = 0; i < 10; ++i) offer(b, static_cast<uint64_t>(i));
  // The cap is relative to the next expected sequence.
  EXPECT_EQ(b.place(10 + ReorderBuffer::kMaxAhead), P::kAhead);
  EXPECT_EQ(b.place(11 + ReorderBuffer::kMaxAhead), P::kTooFar);
}

TEST(ReorderBuffer, MissingBitmapMarksOnlyGapsBelowTheHighest) {
  ReorderBuffer b;
  offer(b, 0);
  for (uint64_t seq : {3, 5, 70}) ASSERT_EQ(offer(b, seq), P::kAhead);
  ASSERT_EQ(b.highest(), 70u);
  // Block 0..63: 0 was released, 3 and 5 wait; everything else is missing.
  uint64_t first = ~uint64_t{0} & ~(uint64_t{1} << 0) & ~(uint64_t{1} << 3) & ~(uint64_t{1} << 5);
  EXPECT_EQ(b.missing_bitmap(0), first);
  // Block 64..127: 64..69 missing, 70 arrived, nothing above the highest counts.
  EXPECT_EQ(b.missing_bitmap(64), uint64_t{0x3F});
  EXPECT_EQ(b.missing_bitmap(128), 0u);
  // A block that starts at the next expected sequence (as NACKs do) is shifted with it.
  EXPECT_EQ(b.missing_bitmap(1), first >> 1 | uint64_t{1} << 63);  // 1..64
  EXPECT_EQ(b.missing_bitmap(6), ~uint64_t{0});                      // 6..69: all missing
}

TEST(ReorderBuffer, NoGapsNoMissingBits) {
  ReorderBuffer b;
  for (uint64_t seq = 0; seq < 3; ++seq) offer(b, seq);
  EXPECT_EQ(b.missing_bitmap(b.next_expected()), 0u);
  EXPECT_EQ(b.missing_bitmap(0), 0u);
  offer(b, 4);
  EXPECT_EQ(b.missing_bitmap(b.next_expected()), 1u);  // only 3
}

TEST(ReorderBuffer, AccountsTheWireCostAndTheMemoryOfWaitingPackets) {
  ReorderBuffer b;
  offer(b, 0);
  RxPacket small = packet(2, 10), big = packet(3, 5000);
  const uint64_t small_cost = small.cost, big_cost = big.cost;
  const uint64_t small_held = small.held(), big_held = big.held();
  ASSERT_NE(small_held, big_held);
  b.hold(std::move(small));
  b.hold(std::move(big));
  EXPECT_EQ(b.bytes(), small_cost + big_cost);
  EXPECT_EQ(b.held(), small_held + big_held);
  EXPECT_EQ(b.buffered(), 2u);
  offer(b, 1);
  RxPacket out;
  ASSERT_TRUE(b.pop_ready(out));
  EXPECT_EQ(out.seq, 2u);
  EXPECT_EQ(out.cost, small_cost);
  EXPECT_EQ(b.bytes(), big_cost);
  EXPECT_EQ(b.held(), big_held);
  ASSERT_TRUE(b.pop_ready(out));
  EXPECT_EQ(out.first_event().size(), 5000u);
  EXPECT_EQ(b.bytes(), 0u);
  EXPECT_EQ(b.held(), 0u);
}

TEST(ReorderBuffer, ClearDropsWaitingPacketsButKeepsTheSequence) {
  ReorderBuffer b;
  for (uint64_t seq : {0, 1}) offer(b, seq);
  for (uint64_t seq : {4, 6, 9}) offer(b, seq);
  ASSERT_GT(b.bytes(), 0u);
  b.clear();
  EXPECT_EQ(b.bytes(), 0u);
  EXPECT_EQ(b.held(), 0u);
  EXPECT_EQ(b.buffered(), 0u);
  EXPECT_FALSE(b.has_gaps());
  EXPECT_EQ(b.next_expected(), 2u);
  EXPECT_EQ(b.place(1), P::kDuplicate);
  EXPECT_EQ(b.place(4), P::kAhead);  // no longer waiting here
}

}  // namespace
}  // namespace nm::stream
