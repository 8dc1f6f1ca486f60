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
  // 10 fixed + stream 1 + seq 2 + epoch 1 + events 1 (a reliable packet states no charge):
  // 53 bytes fewer than 0.23's.
  EXPECT_EQ(n, 15u);
  EXPECT_EQ(compact_header_size(h.stream_id, h.sequence, h.subnet_id, std::nullopt, h.event_count, false), n);
  EXPECT_EQ(d[0], 0x6E);
  EXPECT_EQ(d[1], 0x30);  // reliable, netmesh data, no frag_flags
  EXPECT_EQ(compact_session_bits(d), 0x05060708u);  // the session id's low 32 bits
  Header out;
  ASSERT_TRUE(decode_compact_header(d, out));
  EXPECT_EQ(out.flags, h.flags);
  EXPECT_EQ(out.session_id, 0x05060708u);  // the receiver makes it whole
  EXPECT_EQ(nonce_counter(out), nonce_counter(h) & 0xFFFF'FFFF);  // its low 32 bits
  complete_counter(out, 0x0000'1234'5678'0000);
  EXPECT_EQ(nonce_counter(out), nonce_counter(h));
  EXPECT_EQ(out.stream_id, h.stream_id);
  EXPECT_EQ(out.sequence, h.sequence);
  EXPECT_EQ(out.subnet_id, h.subnet_id);
  EXPECT_EQ(out.origin_hash, 0u);  // not stated: nothing reads a reliable packet's charge
  EXPECT_EQ(out.event_count, h.event_count);
  EXPECT_EQ(out.payload_len, 1028);
  EXPECT_EQ(out.header_bytes, n);
  EXPECT_EQ(out.subprotocol_id, kSubprotocolData);
  EXPECT_EQ(out.frag_flags, 0);
  EXPECT_TRUE(carries_stream_data(out));
}

// A fire-and-forget packet states the sender's charge before it: its receiver returns the
// credit of packets lost for good by it (stream/loss_ledger.h).
TEST(CompactHeader, OnlyAFireAndForgetPacketStatesItsCharge) {
  Header h = data_header();
  h.flags = flags::kNetmeshData;
  size_t n = 0;
  std::vector<uint8_t> d = datagram(h, 100, &n);
  EXPECT_EQ(n, 18u);  // and 3 bytes of charge
  EXPECT_EQ(compact_header_size(h.stream_id, h.sequence, h.subnet_id, h.origin_hash, h.event_count, false), n);
  Header out;
  ASSERT_TRUE(decode_compact_header(d, out));
  EXPECT_EQ(out.flags, flags::kNetmeshData);
  EXPECT_EQ(out.origin_hash, h.origin_hash);
  EXPECT_EQ(out.event_count, h.event_count);
  EXPECT_EQ(out.payload_len, 100);
}

TEST(CompactHeader, FragmentFieldsOnlyWhenFragmented) {
  Header h = data_header();
  h.frag_flags = frag::kFragment | frag::kLast;
  h.fragment_id = 0x5152;
  h.fragment_offset = 0x6162;
  size_t n = 0;
  std::vector<uint8_t> d = datagram(h, 100, &n);
  EXPECT_EQ(n, 19u);
  EXPECT_EQ(compact_header_size(h.stream_id, h.sequence, h.subnet_id, std::nullopt, h.event_count, true), n);
  Header out;
  ASSERT_TRUE(decode_compact_header(d, out));
  EXPECT_EQ(out.frag_flags, h.frag_flags);
  EXPECT_EQ(out.fragment_id, 0x5152);
  EXPECT_EQ(out.fragment_offset, 0x6162);
}

TEST(CompactHeader, AnEventCutAtAPacketBoundaryHasNoFragmentFields) {
  Header h = data_header();
  h.frag_flags = frag::kSpanHead | frag::kSpanTail;
  size_t n = 0;
  std::vector<uint8_t> d = datagram(h, 1100, &n);
  EXPECT_EQ(n, 15u);  // as a packet of whole events
  EXPECT_EQ(compact_header_size(h.stream_id, h.sequence, h.subnet_id, std::nullopt, h.event_count,
                                has_fragment_fields(h.frag_flags)),
            n);
  Header out;
  ASSERT_TRUE(decode_compact_header(d, out));
  EXPECT_EQ(out.frag_flags, h.frag_flags);
  EXPECT_EQ(out.payload_len, 1100);
  h.fragment_id = 1;  // a fragment's field on a packet that is none: it would be lost
  uint8_t again[kCompactMaxSize];
  EXPECT_EQ(encode_compact_header(h, again), 0u);
}

TEST(CompactHeader, LargestValuesFitItsMaximumSize) {
  Header h = data_header();
  h.flags = flags::kNetmeshData;  // fire-and-forget: the charge is stated
  h.stream_id = kControlStreamId - 1;  // (the control stream's packets are never compact)
  h.sequence = h.origin_hash = UINT64_MAX;
  h.subnet_id = UINT32_MAX;
  h.event_count = kMaxEventsPerPacket;
  h.frag_flags = frag::kFragment;
  set_nonce(h, 0, UINT64_MAX);
  size_t n = 0;
  std::vector<uint8_t> d = datagram(h, 0, &n);
  EXPECT_EQ(n, kCompactMaxSize);
  EXPECT_EQ(compact_header_size(h.stream_id, h.sequence, h.subnet_id, h.origin_hash, h.event_count, true), n);
  EXPECT_EQ(compact_session_bits(d), 0x05060708u);
  Header out;
  ASSERT_TRUE(decode_compact_header(d, out));
  EXPECT_EQ(out.stream_id, kControlStreamId - 1);
  EXPECT_EQ(out.sequence, UINT64_MAX);
  EXPECT_EQ(out.origin_hash, UINT64_MAX);
  EXPECT_EQ(out.subnet_id, UINT32_MAX);
  EXPECT_EQ(nonce_counter(out), 0xFFFF'FFFFu);
}

// The counter a compact header states in 32 bits is the whole one nearest the receiver's
// next, on either side of a 2^32 boundary; a 0.23 header's counter is left as it is.
TEST(CompactHeader, TheCounterIsCompletedNearestTheNextExpected) {
  constexpr uint64_t k32 = uint64_t{1} << 32;
  struct Case {
    uint64_t next_expected, stated, whole;
  } cases[] = {
      {0, 0, 0},
      {0, 5, 5},
      {100, 7, 7},                                   // late
      {k32 + 10, 5, k32 + 5},                        // late, past a boundary
      {k32 - 3, 2, k32 + 2},                         // ahead, over the boundary
      {k32 + 2, 0xFFFF'FFFE, k32 - 2},               // late, from before the boundary
      {5 * k32 + 0x8000'0000, 0, 6 * k32},           // 2^31 ahead: the later one
      {5 * k32 + 0x8000'0001, 0xFFFF'FFFF, 6 * k32 - 1},
      {3, 0x8000'0002, 0x8000'0002},                 // just under 2^31 ahead
      {3, 0x8000'0004, 0x8000'0004},                 // over 2^31 ahead, but no counter is below 0
  };
  for (const Case& c : cases) {
    Header h = data_header();
    set_nonce(h, 0, c.stated);
    h.header_bytes = 15;
    complete_counter(h, c.next_expected);
    EXPECT_EQ(nonce_counter(h), c.whole) << c.next_expected << " " << c.stated;
  }
  Header full = data_header();
  set_nonce(full, 0, 7);
  complete_counter(full, 10 * k32);
  EXPECT_EQ(nonce_counter(full), 7u);
}

TEST(CompactHeader, WhatItCannotStateTakesTheFullHeader) {
  uint8_t out[kCompactMaxSize];
  Header h = data_header();
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
  h = data_header();
  h.flags |= flags::kPriority;  // a flag it has no bit for
  EXPECT_EQ(encode_compact_header(h, out), 0u);
  h = data_header();
  h.frag_flags = 0x10;  // a frag_flags bit it has no room for
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
  // Not 0x6E.
  std::vector<uint8_t> bad = d;
  bad[0] = 0x6D;
  EXPECT_FALSE(decode_compact_header(bad, out));
  // A bit of byte 1 it does not define.
  for (uint8_t bit : {0x40, 0x80}) {
    bad = d;
    bad[1] |= bit;
    EXPECT_FALSE(decode_compact_header(bad, out)) << int{bit};
  }
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
