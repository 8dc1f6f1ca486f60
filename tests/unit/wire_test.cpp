// Header, AAD, event frames, packing and StreamWindow grants (wire spec §4, §5, §6, §9).
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "wire/frames.h"
#include "wire/header.h"
#include "wire/stream_window.h"
#include "hex.h"

namespace nm::wire {
namespace {

using test::from_hex;

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Every field set to a distinct value so a swapped or misplaced field shows up.
Header sample_header() {
  Header h;
  h.flags = 0x21;
  h.priority = 0x02;
  h.hop_ttl = 0x03;
  h.hop_count = 0x04;
  h.frag_flags = 0x05;
  h.subprotocol_id = 0x0B00;
  h.channel_hash = 0x1234;
  for (int i = 0; i < 12; ++i) h.nonce[i] = static_cast<uint8_t>(0xA0 + i);
  h.session_id = 0x0102030405060708;
  h.stream_id = 0x1112131415161718;
  h.sequence = 0x2122232425262728;
  h.origin_hash = 0x3132333435363738;
  h.subnet_id = 0x41424344;
  h.fragment_id = 0x5152;
  h.fragment_offset = 0x6162;
  h.payload_len = 0x0102;
  h.event_count = 0x0003;
  return h;
}

const char kSampleHex[] =
    "454e012102030405000b3412"                              // magic..channel_hash
    "a0a1a2a3a4a5a6a7a8a9aaab"                              // nonce
    "0807060504030201" "1817161514131211" "2827262524232221"  // session, stream, seq
    "3837363534333231" "44434241" "5251" "6261" "0201" "0300";  // origin..event_count

std::array<uint8_t, kHeaderSize> encoded(const Header& h) {
  std::array<uint8_t, kHeaderSize> out{};
  encode_header(h, out.data());
  return out;
}

TEST(Header, EncodesEveryFieldAtItsOffset) {
  const auto bytes = encoded(sample_header());
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), from_hex(kSampleHex));
}

TEST(Header, RoundTripsEveryField) {
  const Header in = sample_header();
  const auto bytes = encoded(in);
  Header out;
  ASSERT_EQ(decode_header(bytes, out), HeaderError::kOk);
  EXPECT_EQ(out.version, kVersion);
  EXPECT_EQ(out.flags, in.flags);
  EXPECT_EQ(out.priority, in.priority);
  EXPECT_EQ(out.hop_ttl, in.hop_ttl);
  EXPECT_EQ(out.hop_count, in.hop_count);
  EXPECT_EQ(out.frag_flags, in.frag_flags);
  EXPECT_EQ(out.subprotocol_id, in.subprotocol_id);
  EXPECT_EQ(out.channel_hash, in.channel_hash);
  EXPECT_EQ(std::vector<uint8_t>(out.nonce, out.nonce + 12), std::vector<uint8_t>(in.nonce, in.nonce + 12));
  EXPECT_EQ(out.session_id, in.session_id);
  EXPECT_EQ(out.stream_id, in.stream_id);
  EXPECT_EQ(out.sequence, in.sequence);
  EXPECT_EQ(out.origin_hash, in.origin_hash);
  EXPECT_EQ(out.subnet_id, in.subnet_id);
  EXPECT_EQ(out.fragment_id, in.fragment_id);
  EXPECT_EQ(out.fragment_offset, in.fragment_offset);
  EXPECT_EQ(out.payload_len, in.payload_len);
  EXPECT_EQ(out.event_count, in.event_count);
}

TEST(Header, DecodeReadsOnlyTheFirst68Bytes) {
  std::vector<uint8_t> bytes = from_hex(kSampleHex);
  bytes.insert(bytes.end(), {0xDE, 0xAD});
  Header out;
  EXPECT_EQ(decode_header(bytes, out), HeaderError::kOk);
  EXPECT_EQ(out.event_count, 3);
}

HeaderError decode_modified(size_t offset, std::vector<uint8_t> patch, size_t len = kHeaderSize) {
  std::vector<uint8_t> bytes = from_hex(kSampleHex);
  std::copy(patch.begin(), patch.end(), bytes.begin() + offset);
  bytes.resize(len);
  Header out;
  out.flags = 0x77;
  const HeaderError err = decode_header(bytes, out);
  if (err != HeaderError::kOk) {
    EXPECT_EQ(out.flags, 0x77) << "output written on error";
  }
  return err;
}

TEST(Header, RejectsShortInput) {
  EXPECT_EQ(decode_modified(0, {}, kHeaderSize - 1), HeaderError::kTooShort);
  EXPECT_EQ(decode_modified(0, {}, 0), HeaderError::kTooShort);
}

TEST(Header, RejectsBadMagic) {
  EXPECT_EQ(decode_modified(0, {0x4E, 0x45}), HeaderError::kBadMagic);  // "NE" from the stale doc
  EXPECT_EQ(decode_modified(0, {0x52, 0x54}), HeaderError::kBadMagic);  // routing header
}

TEST(Header, RejectsBadVersion) {
  EXPECT_EQ(decode_modified(2, {0}), HeaderError::kBadVersion);
  EXPECT_EQ(decode_modified(2, {2}), HeaderError::kBadVersion);
}

TEST(Header, RejectsPayloadOver8108) {
  EXPECT_EQ(decode_modified(64, {0xAC, 0x1F}), HeaderError::kOk);  // 8108
  EXPECT_EQ(decode_modified(64, {0xAD, 0x1F}), HeaderError::kPayloadTooLong);
  EXPECT_EQ(decode_modified(64, {0xFF, 0xFF}), HeaderError::kPayloadTooLong);
}

TEST(Header, RejectsMoreThan2027Events) {
  EXPECT_EQ(decode_modified(66, {0xEB, 0x07}), HeaderError::kOk);  // 2027
  EXPECT_EQ(decode_modified(66, {0xEC, 0x07}), HeaderError::kTooManyEvents);
}

TEST(Header, ErrorNamesAreDistinct) {
  const HeaderError all[] = {HeaderError::kOk, HeaderError::kTooShort, HeaderError::kBadMagic,
                             HeaderError::kBadVersion, HeaderError::kPayloadTooLong,
                             HeaderError::kTooManyEvents};
  for (auto a : all)
    for (auto b : all)
      if (a != b) {
        EXPECT_STRNE(header_error_name(a), header_error_name(b));
      }
}

TEST(Header, NonceHelpers) {
  Header h;
  set_nonce(h, 0x66DC9AE9, 0x0102030405060708);
  EXPECT_EQ(std::vector<uint8_t>(h.nonce, h.nonce + 12), from_hex("e99adc660807060504030201"));
  EXPECT_EQ(nonce_counter(h), 0x0102030405060708u);
}

TEST(Aad, IsHeaderWithoutNonceAndWithZeroHopCount) {
  const auto bytes = encoded(sample_header());
  uint8_t aad[kAadSize];
  header_aad(bytes.data(), aad);
  std::vector<uint8_t> expected(bytes.begin(), bytes.begin() + 12);
  expected[6] = 0;
  expected.insert(expected.end(), bytes.begin() + 24, bytes.end());
  ASSERT_EQ(expected.size(), kAadSize);
  EXPECT_EQ(std::vector<uint8_t>(aad, aad + kAadSize), expected);
  EXPECT_EQ(aad[6], 0);
  EXPECT_EQ(aad[12], 0x08);  // first byte of session_id follows magic..channel_hash directly
}

TEST(Aad, IgnoresHopCountAndNonceButCoversTheRest) {
  const Header base = sample_header();
  uint8_t a[kAadSize], b[kAadSize];
  header_aad(encoded(base).data(), a);

  Header forwarded = base;
  forwarded.hop_count = 9;
  forwarded.nonce[0] ^= 0xFF;
  forwarded.nonce[11] ^= 0xFF;
  header_aad(encoded(forwarded).data(), b);
  EXPECT_EQ(std::memcmp(a, b, kAadSize), 0);

  Header changed = base;
  changed.hop_ttl ^= 1;
  header_aad(encoded(changed).data(), b);
  EXPECT_NE(std::memcmp(a, b, kAadSize), 0);

  changed = base;
  changed.event_count ^= 1;
  header_aad(encoded(changed).data(), b);
  EXPECT_NE(std::memcmp(a, b, kAadSize), 0);
}

std::vector<std::string> as_strings(const std::vector<std::span<const uint8_t>>& frames) {
  std::vector<std::string> out;
  for (auto f : frames) out.emplace_back(f.begin(), f.end());
  return out;
}

TEST(Frames, RoundTrip) {
  std::vector<uint8_t> payload;
  append_frame(payload, bytes_of("hello"));
  append_frame(payload, bytes_of("world"));
  EXPECT_EQ(payload, from_hex("0500000068656c6c6f05000000776f726c64"));
  EXPECT_EQ(as_strings(read_frames(payload, 2)), (std::vector<std::string>{"hello", "world"}));
}

TEST(Frames, ZeroLengthEvents) {
  std::vector<uint8_t> payload;
  append_frame(payload, {});
  append_frame(payload, bytes_of("a"));
  append_frame(payload, {});
  EXPECT_EQ(payload.size(), 13u);
  EXPECT_EQ(as_strings(read_frames(payload, 3)), (std::vector<std::string>{"", "a", ""}));
}

TEST(Frames, ReadsAtMostEventCount) {
  std::vector<uint8_t> payload;
  append_frame(payload, bytes_of("one"));
  append_frame(payload, bytes_of("two"));
  EXPECT_EQ(as_strings(read_frames(payload, 1)), std::vector<std::string>{"one"});
  EXPECT_TRUE(read_frames(payload, 0).empty());
}

TEST(Frames, TruncatedFrameStopsReading) {
  std::vector<uint8_t> payload;
  append_frame(payload, bytes_of("one"));
  append_frame(payload, bytes_of("two"));
  payload.pop_back();  // body of the 2nd frame is one byte short
  EXPECT_EQ(as_strings(read_frames(payload, 2)), std::vector<std::string>{"one"});

  payload.resize(7 + 2);  // only half of the 2nd length prefix
  EXPECT_EQ(as_strings(read_frames(payload, 2)), std::vector<std::string>{"one"});

  const auto huge = from_hex("ffffffff00");  // length far beyond the payload
  EXPECT_TRUE(read_frames(huge, 1).empty());
}

TEST(Frames, TrailingBytesIgnored) {
  std::vector<uint8_t> payload;
  append_frame(payload, bytes_of("x"));
  payload.insert(payload.end(), {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(as_strings(read_frames(payload, 1)), std::vector<std::string>{"x"});
}

TEST(Frames, MoreEventsClaimedThanPresent) {
  std::vector<uint8_t> payload;
  append_frame(payload, bytes_of("x"));
  EXPECT_EQ(as_strings(read_frames(payload, 5)), std::vector<std::string>{"x"});
}

TEST(Grant, EncodeDecode) {
  uint8_t out[kGrantSize];
  encode_grant({7, 102}, out);
  EXPECT_EQ(std::vector<uint8_t>(out, out + kGrantSize), from_hex("07000000000000006600000000000000"));

  encode_grant({0x0102030405060708, 0xF1F2F3F4F5F6F7F8}, out);
  Grant g;
  ASSERT_TRUE(decode_grant(std::span<const uint8_t>(out, kGrantSize), g));
  EXPECT_EQ(g.stream_id, 0x0102030405060708u);
  EXPECT_EQ(g.total_consumed, 0xF1F2F3F4F5F6F7F8u);
}

TEST(Grant, RejectsWrongLength) {
  const std::vector<uint8_t> bytes(17, 0x01);
  Grant g{5, 6};
  EXPECT_FALSE(decode_grant(std::span(bytes).first(15), g));
  EXPECT_FALSE(decode_grant(bytes, g));
  EXPECT_FALSE(decode_grant({}, g));
  EXPECT_EQ(g.stream_id, 5u);
  EXPECT_EQ(g.total_consumed, 6u);
  EXPECT_TRUE(decode_grant(std::span(bytes).first(16), g));
}

}  // namespace
}  // namespace nm::wire
