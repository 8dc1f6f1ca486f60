// The session ACK frame: encode/decode round trips and every malformed form refused.
#include "wire/ack_frame.h"

#include <gtest/gtest.h>

#include <vector>

#include "wire/little_endian.h"

namespace nm::wire {
namespace {

TEST(AckFrame, RoundTripsRanges) {
  AckFrame f;
  f.ack_delay_us = 1234;
  f.ranges = {{90, 100}, {50, 80}, {0, 10}};
  std::vector<uint8_t> body(ack_frame_size(f));
  EXPECT_EQ(encode_ack_frame(f, body.data()), body.size());
  auto back = decode_ack_frame(body);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, f);
  AckFrame one;
  one.ranges = {{7, 7}};
  body.resize(ack_frame_size(one));
  encode_ack_frame(one, body.data());
  EXPECT_EQ(decode_ack_frame(body), one);
}

std::vector<uint8_t> raw(uint64_t largest, std::vector<std::pair<uint64_t, uint64_t>> gaps_lengths) {
  std::vector<uint8_t> b(kAckFrameHeader + gaps_lengths.size() * kAckRangeSize);
  put_le<uint64_t>(b.data(), largest);
  put_le<uint32_t>(b.data() + 8, 0);
  put_le<uint16_t>(b.data() + 12, static_cast<uint16_t>(gaps_lengths.size()));
  for (size_t i = 0; i < gaps_lengths.size(); ++i) {
    put_le<uint64_t>(b.data() + kAckFrameHeader + i * kAckRangeSize, gaps_lengths[i].first);
    put_le<uint64_t>(b.data() + kAckFrameHeader + i * kAckRangeSize + 8, gaps_lengths[i].second);
  }
  return b;
}

TEST(AckFrame, MalformedFramesAreRefused) {
  EXPECT_TRUE(decode_ack_frame(raw(100, {{0, 11}, {9, 31}})));           // 90..100, 50..80
  EXPECT_FALSE(decode_ack_frame(raw(100, {})));                         // no range
  EXPECT_FALSE(decode_ack_frame(raw(100, {{1, 5}})));                   // first gap must be 0
  EXPECT_FALSE(decode_ack_frame(raw(100, {{0, 0}})));                   // empty range
  EXPECT_FALSE(decode_ack_frame(raw(100, {{0, 102}})));                 // below packet 0
  EXPECT_FALSE(decode_ack_frame(raw(100, {{0, 101}, {1, 1}})));         // nothing left below 0
  EXPECT_FALSE(decode_ack_frame(raw(100, {{0, 10}, {0, 5}})));          // touching ranges
  EXPECT_FALSE(decode_ack_frame(raw(100, {{0, 10}, {UINT64_MAX, 1}}))); // gap beyond 0
  auto b = raw(100, {{0, 1}});
  b.push_back(0);
  EXPECT_FALSE(decode_ack_frame(b));                                    // trailing byte
  std::vector<std::pair<uint64_t, uint64_t>> many(kMaxAckRanges + 1, {1, 1});
  many[0] = {0, 1};
  EXPECT_FALSE(decode_ack_frame(raw(1000, many)));                       // too many ranges
}

}  // namespace
}  // namespace nm::wire
