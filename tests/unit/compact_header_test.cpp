// The compact header of stream data between netmesh peers (wire/compact_header.h).
#include <gtest/gtest.h>

#include <vector>

#include "wire/compact_header.h"
#include "wire/extension.h"

namespace nm::wire {
namespace {

Header data_header() {
  Header h;
  h.flags = flags::kReliable | flags::kNetmeshData;
  h.session_id = 0x0102030405060708;
  h.stream_id = 7;
  h.sequence = 300;  // two varint bytes
  h.subnet_id = 2;
  h.origin_hash = 1'000'000;
  h.event_count = 1;
  set_nonce(h, 0xAABBCCDD, 0x0000'1234'5678'9ABC);
  return h;
}

// The datagram a sender would put on the wire: header, `payload` bytes, a 16-byte tag.
std::vector<uint8_t> datagram(const Header& h, size_t payload, size_t* header_len = nullptr) {
  std::vector<uint8_t> d(kCompactMaxSize + payload + kTagSize, 0xEE);
  size_t n = encode_compact_header(h, d.data());
  d.resize(n + payload + kTagSize);
  if (header_len) *header_len = n;
  return d;
}

TEST(CompactHeader, RoundTripsEveryFieldItStates) {
  Header h = data_header();
  size_t n = 0;
  std::vector<uint8_t> d = datagram(h, 1028, &n);
  // 18 fixed + stream 1 + seq 2 + epoch 1 + charge 3 + events 1: 42 bytes fewer than 0.23's.
  EXPECT_EQ(n, 26u);
  EXPECT_EQ(compact_header_size(h.stream_id, h.sequence, h.subnet_id, h.origin_hash, h.event_count, false), n);
  EXPECT_EQ(d[0], 0x6E);
  EXPECT_EQ(d[1], 0x6D);
  EXPECT_EQ(compact_session_id(d), h.session_id);
  Header out;
  ASSERT_TRUE(decode_compact_header(d, out));
  EXPECT_EQ(out.flags, h.flags);
  EXPECT_EQ(out.session_id, h.session_id);
  EXPECT_EQ(nonce_counter(out), nonce_counter(h));
  EXPECT_EQ(out.stream_id, h.stream_id);
  EXPECT_EQ(out.sequence, h.sequence);
  EXPECT_EQ(out.subnet_id, h.subnet_id);
  EXPECT_EQ(out.origin_hash, h.origin_hash);
  EXPECT_EQ(out.event_count, h.event_count);
  EXPECT_EQ(out.payload_len, 1028);
  EXPECT_EQ(out.header_bytes, n);
  EXPECT_EQ(out.subprotocol_id, kSubprotocolData);
  EXPECT_EQ(out.frag_flags, 0);
  EXPECT_TRUE(carries_stream_data(out));
}

TEST(CompactHeader, FragmentFieldsOnlyWhenFragmented) {
  Header h = data_header();
  h.frag_flags = frag::kFragment | frag::kLast;
  h.fragment_id = 0x5152;
  h.fragment_offset = 0x6162;
  size_t n = 0;
  std::vector<uint8_t> d = datagram(h, 100, &n);
  EXPECT_EQ(n, 30u);
  EXPECT_EQ(compact_header_size(h.stream_id, h.sequence, h.subnet_id, h.origin_hash, h.event_count, true), n);
  Header out;
  ASSERT_TRUE(decode_compact_header(d, out));
  EXPECT_EQ(out.frag_flags, h.frag_flags);
  EXPECT_EQ(out.fragment_id, 0x5152);
  EXPECT_EQ(out.fragment_offset, 0x6162);
}

TEST(CompactHeader, LargestValuesFitItsMaximumSize) {
  Header h = data_header();
  h.stream_id = kControlStreamId - 1;  // (the control stream's packets are never compact)
  h.sequence = h.origin_hash = UINT64_MAX;
  h.subnet_id = UINT32_MAX;
  h.event_count = kMaxEventsPerPacket;
  h.frag_flags = frag::kFragment;
  set_nonce(h, 0, kCompactMaxCounter);
  size_t n = 0;
  std::vector<uint8_t> d = datagram(h, 0, &n);
  EXPECT_EQ(n, kCompactMaxSize);
  EXPECT_EQ(compact_header_size(h.stream_id, h.sequence, h.subnet_id, h.origin_hash, h.event_count, true), n);
  Header out;
  ASSERT_TRUE(decode_compact_header(d, out));
  EXPECT_EQ(out.stream_id, kControlStreamId - 1);
  EXPECT_EQ(out.sequence, UINT64_MAX);
  EXPECT_EQ(out.origin_hash, UINT64_MAX);
  EXPECT_EQ(out.subnet_id, UINT32_MAX);
  EXPECT_EQ(nonce_counter(out), kCompactMaxCounter);
}

TEST(CompactHeader, WhatItCannotStateTakesTheFullHeader) {
  uint8_t out[kCompactMaxSize];
  Header h = data_header();
  set_nonce(h, 0, kCompactMaxCounter + 1);  // the counter outgrew 48 bits
  EXPECT_EQ(encode_compact_header(h, out), 0u);
  h = data_header();
  h.subprotocol_id = kSubprotocolStreamWindow;  // control traffic
  EXPECT_EQ(encode_compact_header(h, out), 0u);
  h = data_header();
  h.flags |= flags::kHeartbeat;
  EXPECT_EQ(encode_compact_header(h, out), 0u);
  h = data_header();
  h.stream_id = kControlStreamId;
  EXPECT_EQ(encode_compact_header(h, out), 0u);
  h = data_header();
  h.fragment_id = 3;  // set on an unfragmented packet: it would be lost
  EXPECT_EQ(encode_compact_header(h, out), 0u);
  h = data_header();
  h.hop_count = 1;
  EXPECT_EQ(encode_compact_header(h, out), 0u);
}

TEST(CompactHeader, RejectsTruncatedOverlongAndOutOfRange) {
  Header h = data_header();
  size_t n = 0;
  std::vector<uint8_t> d = datagram(h, 0, &n);
  Header out;
  ASSERT_TRUE(decode_compact_header(d, out));
  EXPECT_EQ(out.payload_len, 0);
  // Every shorter length: the varints or the tag run past the end.
  for (size_t len = 0; len < d.size(); ++len)
    EXPECT_FALSE(decode_compact_header(std::span(d).first(len), out)) << len;
  // Not "nm".
  std::vector<uint8_t> bad = d;
  bad[1] = 0x4E;
  EXPECT_FALSE(decode_compact_header(bad, out));
  // A stream id varint of 11 bytes (more than 64 bits).
  bad = std::vector<uint8_t>(d.begin(), d.begin() + kCompactFixedSize);
  bad.insert(bad.end(), 10, 0xFF);
  bad.push_back(0x01);
  bad.insert(bad.end(), 40, 0x00);
  EXPECT_FALSE(decode_compact_header(bad, out));
  // Ten bytes whose last carries more than bit 63.
  bad = std::vector<uint8_t>(d.begin(), d.begin() + kCompactFixedSize);
  bad.insert(bad.end(), 9, 0xFF);
  bad.push_back(0x02);
  bad.insert(bad.end(), 40, 0x00);
  EXPECT_FALSE(decode_compact_header(bad, out));
  // A stream id of 0 written in two bytes (80 00): not the shortest encoding.
  bad = std::vector<uint8_t>(d.begin(), d.begin() + kCompactFixedSize);
  bad.push_back(0x80);
  bad.push_back(0x00);
  bad.insert(bad.end(), d.begin() + kCompactFixedSize + 1, d.end());
  EXPECT_FALSE(decode_compact_header(bad, out));
  // An epoch above 32 bits, an event count above kMaxEventsPerPacket.
  h = data_header();
  Header big = h;
  big.event_count = kMaxEventsPerPacket + 1;
  EXPECT_FALSE(decode_compact_header(datagram(big, 0), out));
  // A payload above kMaxPayloadSize.
  EXPECT_FALSE(decode_compact_header(datagram(h, kMaxPayloadSize + 1), out));
  EXPECT_TRUE(decode_compact_header(datagram(h, kMaxPayloadSize), out));
  // A heartbeat or handshake flag: never compact.
  d = datagram(h, 0);
  d[2] |= flags::kHandshake;
  EXPECT_FALSE(decode_compact_header(d, out));
}

TEST(CompactHeader, EpochAbove32BitsIsRejected) {
  Header h = data_header();
  std::vector<uint8_t> d = datagram(h, 8);
  // Rewrite the epoch varint (after stream 1 byte and sequence 2 bytes) as 2^32.
  std::vector<uint8_t> bad(d.begin(), d.begin() + kCompactFixedSize + 3);
  for (uint8_t b : {0x80, 0x80, 0x80, 0x80, 0x10}) bad.push_back(b);
  bad.insert(bad.end(), d.begin() + kCompactFixedSize + 4, d.end());
  Header out;
  EXPECT_FALSE(decode_compact_header(bad, out));
}

}  // namespace
}  // namespace nm::wire
