// Pieces of a re-cut data packet (wire/piece.h) and their reassembly (PieceReassembly).
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "session/piece_reassembly.h"
#include "wire/header.h"
#include "wire/piece.h"

namespace nm {
namespace {

using session::PieceReassembly;

std::vector<uint8_t> packet(size_t n) {
  std::vector<uint8_t> p(n);
  std::iota(p.begin(), p.end(), uint8_t{7});
  return p;
}

wire::Piece piece(uint32_t id, const std::vector<uint8_t>& p, size_t offset, size_t len) {
  return {id, static_cast<uint16_t>(p.size()), static_cast<uint16_t>(offset),
          std::span<const uint8_t>(p).subspan(offset, len)};
}

TEST(Piece, RoundTrip) {
  auto p = packet(1500);
  uint8_t buf[wire::kPieceHeader + 700];
  size_t n = wire::encode_piece(piece(9, p, 700, 700), buf);
  auto d = wire::decode_piece({buf, n});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->id, 9u);
  EXPECT_EQ(d->total, 1500u);
  EXPECT_EQ(d->offset, 700u);
  EXPECT_TRUE(std::equal(d->bytes.begin(), d->bytes.end(), p.begin() + 700));
}

TEST(Piece, RefusesWhatNoPacketCanBe) {
  auto p = packet(wire::kMaxPacketSize);
  uint8_t buf[64];
  auto decode = [&](wire::Piece x) { return wire::decode_piece({buf, wire::encode_piece(x, buf)}); };
  EXPECT_FALSE(decode({1, 1000, 990, std::span<const uint8_t>(p).first(20)}));   // ends beyond total
  EXPECT_FALSE(decode({1, 40, 0, std::span<const uint8_t>(p).first(20)}));       // shorter than a header
  EXPECT_FALSE(decode({1, 8190, 0, std::span<const uint8_t>(p).first(20)}));     // larger than a packet
  EXPECT_FALSE(wire::decode_piece({buf, wire::kPieceHeader}));                   // no bytes
  EXPECT_TRUE(decode({1, 8176, 8156, std::span<const uint8_t>(p).first(20)}));
}

TEST(PieceReassembly, PutsAPacketBackInAnyOrder) {
  auto p = packet(2500);
  PieceReassembly r;
  EXPECT_EQ(r.add(piece(1, p, 1700, 800)), PieceReassembly::Result::kIncomplete);
  EXPECT_EQ(r.add(piece(1, p, 0, 850)), PieceReassembly::Result::kIncomplete);
  ASSERT_EQ(r.add(piece(1, p, 850, 850)), PieceReassembly::Result::kComplete);
  EXPECT_TRUE(std::equal(r.whole().begin(), r.whole().end(), p.begin(), p.end()));
}

TEST(PieceReassembly, PacketsInterleaveAndTheOldestGivesWay) {
  auto a = packet(2000), b = packet(1800);
  PieceReassembly r;
  EXPECT_EQ(r.add(piece(1, a, 0, 1000)), PieceReassembly::Result::kIncomplete);
  EXPECT_EQ(r.add(piece(2, b, 0, 900)), PieceReassembly::Result::kIncomplete);
  ASSERT_EQ(r.add(piece(1, a, 1000, 1000)), PieceReassembly::Result::kComplete);
  EXPECT_EQ(r.whole().size(), 2000u);
  // Packet 2 waits while kSlots newer ones start: then it is gone.
  for (uint32_t id = 10; id < 10 + PieceReassembly::kSlots; ++id)
    EXPECT_EQ(r.add(piece(id, a, 0, 100)), PieceReassembly::Result::kIncomplete);
  EXPECT_EQ(r.add(piece(2, b, 900, 900)), PieceReassembly::Result::kIncomplete);  // a new start
}

TEST(PieceReassembly, OverlapsAndInconsistentTotalsAreRefused) {
  auto p = packet(2000);
  PieceReassembly r;
  EXPECT_EQ(r.add(piece(1, p, 0, 1000)), PieceReassembly::Result::kIncomplete);
  // Overlapping bytes would let received bytes reach the total with a hole left.
  EXPECT_EQ(r.add(piece(1, p, 999, 1001)), PieceReassembly::Result::kRefused);
  EXPECT_EQ(r.add(piece(1, p, 1000, 1000)), PieceReassembly::Result::kIncomplete);  // started over
  auto other = packet(3000);
  EXPECT_EQ(r.add(piece(1, other, 0, 1000)), PieceReassembly::Result::kRefused);
}

TEST(PieceReassembly, ADuplicatePieceIsRefused) {
  auto p = packet(2000);
  PieceReassembly r;
  EXPECT_EQ(r.add(piece(1, p, 0, 1000)), PieceReassembly::Result::kIncomplete);
  EXPECT_EQ(r.add(piece(1, p, 0, 1000)), PieceReassembly::Result::kRefused);
}

}  // namespace
}  // namespace nm
