// A session's packet protection (session/session.h): stamping (session id, nonce from the
// TX counter, header as AAD), seal then open with the peer's mirrored keys, and open's
// checks: length, replay window, authentication.
#include "session/session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "crypto/blake2s.h"
#include "crypto/session_keys.h"
#include "session/packet_buffer.h"
#include "wire/header.h"

namespace nm::session {
namespace {

using crypto::SessionKeys;

struct Pair {
  SessionKeys initiator, responder;
  Pair() {
    const char kHash[] = "a handshake hash";
    crypto::Digest h = crypto::blake2s(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kHash), sizeof kHash));
    initiator = crypto::derive_session_keys(h, true);
    responder = crypto::derive_session_keys(h, false);
  }
};

sockaddr_storage no_address() {
  sockaddr_storage a;
  std::memset(&a, 0, sizeof a);
  return a;
}

std::vector<uint8_t> bytes_of(const char* s) { return {s, s + std::strlen(s)}; }

// A sealed datagram from `from`, as it leaves the socket.
struct Datagram {
  wire::Header header;  // as stamped
  std::vector<uint8_t> bytes;
};

Datagram seal(Session& from, const std::vector<uint8_t>& plaintext, uint64_t stream_id = 7) {
  auto buf = std::make_unique<PacketBuffer>();
  Datagram d;
  d.header.stream_id = stream_id;
  d.header.sequence = 42;
  d.header.event_count = 1;
  std::memcpy(buf->payload(), plaintext.data(), plaintext.size());
  from.stamp(d.header, plaintext.size(), *buf);
  buf->seal();
  d.bytes.assign(buf->bytes(), buf->bytes() + buf->len);
  return d;
}

// What the receiving node does: parse the header, then open.
OpenError open(Session& to, std::vector<uint8_t>& datagram, std::span<uint8_t>& plaintext,
               int64_t now = 1) {
  wire::Header h;
  if (wire::decode_header(datagram, h) != wire::HeaderError::kOk) return OpenError::kAuthFailed;
  return to.open(h, datagram, plaintext, now);
}

class SessionTest : public ::testing::Test {
 protected:
  Pair keys;
  Session a{2, no_address(), keys.initiator, 0};
  Session b{1, no_address(), keys.responder, 0};
};

TEST_F(SessionTest, StampFillsTheSessionIdNonceAndLengthAndCountsEveryPacket) {
  auto buf = std::make_unique<PacketBuffer>();
  for (uint64_t i = 0; i < 3; ++i) {
    wire::Header h;
    h.stream_id = 99;
    h.sequence = 5;
    a.stamp(h, 10 + i, *buf);
    EXPECT_EQ(h.session_id, keys.initiator.session_id);
    EXPECT_EQ(wire::nonce_counter(h), i);  // one counter, incremented per packet
    uint32_t prefix;
    std::memcpy(&prefix, h.nonce, 4);
    EXPECT_EQ(prefix, keys.initiator.nonce_prefix);
    EXPECT_EQ(h.payload_len, 10 + i);
    EXPECT_EQ(buf->len, wire::kHeaderSize + 10 + i + wire::kTagSize);
    // The header went into the buffer as stamped, the caller's fields kept.
    wire::Header decoded;
    ASSERT_EQ(wire::decode_header(std::span<const uint8_t>(buf->bytes(), wire::kHeaderSize), decoded),
              wire::HeaderError::kOk);
    EXPECT_EQ(decoded.session_id, h.session_id);
    EXPECT_EQ(decoded.stream_id, 99u);
    EXPECT_EQ(decoded.sequence, 5u);
    EXPECT_EQ(std::memcmp(decoded.nonce, h.nonce, 12), 0);
    buf->seal();
  }
}

TEST_F(SessionTest, WhatOneSideSealsThePeerOpens) {
  const auto msg = bytes_of("hello over the mesh");
  for (int i = 0; i < 3; ++i) {
    Datagram d = seal(a, msg);
    // Encrypted on the wire.
    EXPECT_EQ(std::search(d.bytes.begin(), d.bytes.end(), msg.begin(), msg.end()), d.bytes.end());
    std::span<uint8_t> plaintext;
    ASSERT_EQ(open(b, d.bytes, plaintext, 100 + i), OpenError::kOk);
    EXPECT_EQ(std::vector<uint8_t>(plaintext.begin(), plaintext.end()), msg);
    EXPECT_EQ(plaintext.data(), d.bytes.data() + wire::kHeaderSize);  // decrypted in place
  }
  EXPECT_TRUE(b.heard());
  EXPECT_EQ(b.last_rx_ns(), 102);
  // And the other direction, with the other key.
  Datagram back = seal(b, msg);
  std::span<uint8_t> plaintext;
  EXPECT_EQ(open(a, back.bytes, plaintext), OpenError::kOk);
  // A packet a sealed is not one a accepts (each direction has its own key).
  Session a2{2, no_address(), keys.initiator, 0};
  Datagram own = seal(a, msg);
  EXPECT_EQ(open(a2, own.bytes, plaintext), OpenError::kAuthFailed);
}

TEST_F(SessionTest, StampCanEncryptFromTheCallersPlaintext) {
  const auto msg = bytes_of("kept elsewhere until sealed");
  auto buf = std::make_unique<PacketBuffer>();
  wire::Header h;
  a.stamp(h, msg.size(), *buf, msg.data());
  buf->seal();
  std::vector<uint8_t> d(buf->bytes(), buf->bytes() + buf->len);
  std::span<uint8_t> plaintext;
  ASSERT_EQ(open(b, d, plaintext), OpenError::kOk);
  EXPECT_EQ(std::vector<uint8_t>(plaintext.begin(), plaintext.end()), msg);
}

TEST_F(SessionTest, TheHeaderIsAuthenticatedExceptHopCountAndNoncePrefix) {
  const auto msg = bytes_of("authenticated");
  std::span<uint8_t> plaintext;
  {
    Datagram d = seal(a, msg);
    d.bytes[6] = 5;  // hop_count: rewritten by forwarders
    EXPECT_EQ(open(b, d.bytes, plaintext), OpenError::kOk);
  }
  {
    Datagram d = seal(a, msg);
    d.bytes[12] ^= 0xFF;  // the nonce prefix: taken from our own keys, never from the wire
    EXPECT_EQ(open(b, d.bytes, plaintext), OpenError::kOk);
  }
  for (size_t at : {size_t{3}, size_t{7}, size_t{32}, size_t{40}, size_t{66}}) {  // flags, frag, stream, seq, events
    Datagram d = seal(a, msg);
    d.bytes[at] ^= 0x01;
    EXPECT_EQ(open(b, d.bytes, plaintext), OpenError::kAuthFailed) << "byte " << at;
  }
  {
    Datagram d = seal(a, msg);
    d.bytes[wire::kHeaderSize] ^= 0x01;  // ciphertext
    EXPECT_EQ(open(b, d.bytes, plaintext), OpenError::kAuthFailed);
    d = seal(a, msg);
    d.bytes.back() ^= 0x01;  // tag
    EXPECT_EQ(open(b, d.bytes, plaintext), OpenError::kAuthFailed);
  }
  EXPECT_EQ(b.last_rx_ns(), 1);
}

TEST_F(SessionTest, AFailedOpenChangesNothing) {
  Datagram d = seal(a, bytes_of("genuine"));
  std::vector<uint8_t> forged = d.bytes;
  forged[wire::kHeaderSize] ^= 0x01;
  std::span<uint8_t> plaintext;
  EXPECT_EQ(open(b, forged, plaintext, 50), OpenError::kAuthFailed);
  EXPECT_FALSE(b.heard());
  EXPECT_EQ(b.last_rx_ns(), 0);
  // The forgery did not burn its counter: the genuine packet with it is still accepted.
  EXPECT_EQ(open(b, d.bytes, plaintext, 60), OpenError::kOk);
  EXPECT_TRUE(b.heard());
  EXPECT_EQ(b.last_rx_ns(), 60);
}

TEST_F(SessionTest, ALengthThatDisagreesWithTheHeaderIsRefused) {
  Datagram d = seal(a, bytes_of("twelve bytes"));
  std::span<uint8_t> plaintext;
  std::vector<uint8_t> longer = d.bytes;
  longer.push_back(0);
  EXPECT_EQ(open(b, longer, plaintext), OpenError::kLengthMismatch);
  std::vector<uint8_t> shorter(d.bytes.begin(), d.bytes.end() - 1);
  EXPECT_EQ(open(b, shorter, plaintext), OpenError::kLengthMismatch);
  EXPECT_FALSE(b.admissible(d.header, longer));
  EXPECT_EQ(open(b, d.bytes, plaintext), OpenError::kOk);
}

TEST_F(SessionTest, AReplayedPacketIsRefused) {
  Datagram d = seal(a, bytes_of("once"));
  std::vector<uint8_t> copy = d.bytes;
  std::span<uint8_t> plaintext;
  ASSERT_EQ(open(b, d.bytes, plaintext), OpenError::kOk);
  EXPECT_FALSE(b.admissible(d.header, copy));
  EXPECT_EQ(open(b, copy, plaintext), OpenError::kReplay);
}

TEST_F(SessionTest, OutOfOrderCountersAreAcceptedWithinTheReplayWindow) {
  std::vector<Datagram> ds;
  for (int i = 0; i < 1100; ++i) ds.push_back(seal(a, bytes_of("x")));
  std::span<uint8_t> plaintext;
  // 5, 3, 4, 0: out of order, each once.
  for (int i : {5, 3, 4, 0}) {
    std::vector<uint8_t> copy = ds[i].bytes;
    ASSERT_EQ(open(b, ds[i].bytes, plaintext), OpenError::kOk) << i;
    EXPECT_EQ(open(b, copy, plaintext), OpenError::kReplay) << i;
  }
  ASSERT_EQ(open(b, ds[1050].bytes, plaintext), OpenError::kOk);
  // The window is the last 1024 counters below the highest accepted (1050).
  EXPECT_TRUE(b.admissible(ds[100].header, ds[100].bytes));        // 950 behind
  EXPECT_FALSE(b.admissible(ds[10].header, ds[10].bytes));         // 1040 behind
  ASSERT_EQ(open(b, ds[100].bytes, plaintext), OpenError::kOk);
  EXPECT_EQ(open(b, ds[10].bytes, plaintext), OpenError::kReplay);  // too old, never seen
  EXPECT_EQ(open(b, ds[1049].bytes, plaintext), OpenError::kOk);    // below the highest, new
}

TEST_F(SessionTest, AdmissibleChecksWithoutChangingState) {
  Datagram d = seal(a, bytes_of("checked twice"));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.admissible(d.header, d.bytes));
  EXPECT_FALSE(b.heard());
  std::span<uint8_t> plaintext;
  EXPECT_EQ(open(b, d.bytes, plaintext), OpenError::kOk);
  EXPECT_FALSE(b.admissible(d.header, d.bytes));
}

TEST_F(SessionTest, DecryptPayloadThenOpenOnlyUpdatesTheReplayWindow) {
  const auto msg = bytes_of("decrypted outside the lock");
  Datagram d = seal(a, msg);
  wire::Header h;
  ASSERT_EQ(wire::decode_header(d.bytes, h), wire::HeaderError::kOk);
  crypto::SessionKeys copy = b.keys();
  ASSERT_TRUE(decrypt_payload(copy, h, d.bytes));
  EXPECT_TRUE(std::equal(msg.begin(), msg.end(), d.bytes.begin() + wire::kHeaderSize));
  std::span<uint8_t> plaintext;
  ASSERT_EQ(b.open(h, d.bytes, plaintext, 9, true), OpenError::kOk);
  EXPECT_EQ(std::vector<uint8_t>(plaintext.begin(), plaintext.end()), msg);
  EXPECT_EQ(b.last_rx_ns(), 9);
  EXPECT_EQ(b.open(h, d.bytes, plaintext, 10, true), OpenError::kReplay);

  Datagram bad = seal(a, msg);
  bad.bytes[wire::kHeaderSize + 1] ^= 0x80;
  ASSERT_EQ(wire::decode_header(bad.bytes, h), wire::HeaderError::kOk);
  EXPECT_FALSE(decrypt_payload(copy, h, bad.bytes));
}

TEST_F(SessionTest, DecryptPayloadToABufferLeavesTheDatagramAsItCame) {
  // Small and full-sized payloads (libsodium's and OpenSSL's code paths).
  for (size_t size : {size_t{13}, size_t{8000}}) {
    std::vector<uint8_t> msg(size);
    for (size_t i = 0; i < size; ++i) msg[i] = static_cast<uint8_t>(i * 7);
    Datagram d = seal(a, msg);
    const std::vector<uint8_t> sealed = d.bytes;
    wire::Header h;
    ASSERT_EQ(wire::decode_header(d.bytes, h), wire::HeaderError::kOk);
    std::vector<uint8_t> out(size);
    ASSERT_TRUE(decrypt_payload(b.keys(), h, d.bytes, out.data()));
    EXPECT_EQ(out, msg);
    EXPECT_EQ(d.bytes, sealed);
    d.bytes[wire::kHeaderSize] ^= 1;
    EXPECT_FALSE(decrypt_payload(b.keys(), h, d.bytes, out.data()));
  }
}

TEST_F(SessionTest, EpochsAndControlSequencesCountUpPerSession) {
  // Epoch 0 means "no epochs" (a 0.23 sender): a netmesh stream's first is 1.
  EXPECT_EQ(a.next_epoch(), 1u);
  EXPECT_EQ(a.next_epoch(), 2u);
  EXPECT_EQ(b.next_epoch(), 1u);  // per session
  wire::Header first = a.control_header(wire::kSubprotocolStreamWindow, 3);
  EXPECT_EQ(first.sequence, 0u);
  EXPECT_EQ(first.stream_id, wire::kControlStreamId);
  EXPECT_EQ(first.subprotocol_id, wire::kSubprotocolStreamWindow);
  EXPECT_EQ(first.event_count, 3u);
  EXPECT_EQ(a.control_header(wire::kSubprotocolStreamWindow, 0).sequence, 1u);
}

TEST_F(SessionTest, ANewPathStartsItsEstimatesAgainButKeepsTheFlight) {
  a.cc = make_congestion_controller(CongestionAlgorithm::kNewReno, 1200);
  a.rtt.on_sample(200'000'000, 0, 25'000'000);  // the relayed path: 200 ms
  for (int i = 0; i < 40; ++i) a.cc->on_sent(1200);
  for (int i = 0; i < 30; ++i) a.cc->on_acked(300'000'000, 1200, 100'000'000, a.rtt, 48'000);
  uint64_t grown = a.cc->window();
  ASSERT_GT(grown, CongestionController::kInitialPackets * 1200);
  a.cc_before_large_losses = a.cc->clone();  // large losses on the old path, undecided
  // The old path reordered: datagram 1, overtaken by 8, was declared lost, then acknowledged.
  for (uint64_t pn = 0; pn < 10; ++pn) a.loss.on_sent(SentDatagram{.pn = pn, .sent_ns = 0, .bytes = 1200, .delivery = {}});
  LossDetector::AckResult r;
  a.loss.on_ack(wire::AckFrame{.ranges = {{2, 9}, {0, 0}}}, 300'000'000, a.rtt, r);
  a.loss.on_ack(wire::AckFrame{.ranges = {{0, 9}}}, 301'000'000, a.rtt, r);
  ASSERT_GT(a.loss.packet_threshold(), LossDetector::kPacketThreshold);
  a.restart_path_estimates(0, 0);

  EXPECT_FALSE(a.rtt.has_sample());  // 333 ms until the new path gives one (RFC 9002)
  EXPECT_EQ(a.rtt.smoothed(), RttStats::kInitialRttNs);
  ASSERT_NE(a.cc, nullptr);
  EXPECT_EQ(a.cc->algorithm(), CongestionAlgorithm::kNewReno);  // the same kind of controller
  EXPECT_TRUE(a.cc->in_slow_start());
  EXPECT_EQ(a.cc->window(), CongestionController::kInitialPackets * a.max_packet());
  EXPECT_EQ(a.cc->in_flight(), 10u * 1200);  // what is still out counts against the new window
  EXPECT_EQ(a.path.restarts, 1u);
  EXPECT_GT(a.sender.rate(), 0);  // paced at the new window over the initial RTT
  EXPECT_EQ(a.cc_before_large_losses, nullptr);  // a black hole here cannot bring back the old path's
  EXPECT_EQ(a.loss.packet_threshold(), LossDetector::kPacketThreshold);  // nor its reordering
}

TEST_F(SessionTest, ANewPathsEstimateStartsFromItsChallengesRoundTrip) {
  a.cc = make_congestion_controller(CongestionAlgorithm::kCubic, 1200);
  a.rtt.on_sample(200'000'000, 0, 25'000'000);
  a.restart_path_estimates(0, 5'000'000);
  EXPECT_EQ(a.rtt.smoothed(), 5'000'000);
  EXPECT_EQ(a.rtt.min(), 5'000'000);
  EXPECT_EQ(a.path.rtt_samples, 1u);
  // Paced at 1.25 x the initial window over 5 ms, not over 333 ms.
  EXPECT_NEAR(a.sender.rate(), 1.25 * double(CongestionController::kInitialPackets * a.max_packet()) / 0.005, 1.0);
}

}  // namespace
}  // namespace nm::session

namespace nm::session {
namespace {

// A data packet's payload room on a path sized by PMTU: between netmesh peers it is what
// the compact header leaves of the datagram (not the 84 bytes credit counts), and the
// packet stamped with it fits the path exactly as data_datagram_bytes says.
TEST_F(SessionTest, ADataPacketFillsThePathWhatItsCompactHeaderLeaves) {
  a.pmtu.emplace(PmtuSearch::kBaseIpv4, 1472, 0);
  ASSERT_EQ(a.max_packet(), 1200u);
  for (bool reliable : {false, true}) {  // (only a fire-and-forget packet states its charge)
    stream::StreamConfig config;
    config.reliable = reliable;
    stream::Stream st(1, 5, config, true, 3, 0);
    a.peer_capabilities = 0;
    EXPECT_EQ(a.data_payload_room(st), a.payload_capacity());  // a 0.23 peer: 68-byte headers

    a.peer_capabilities = wire::capability::kAll;
    size_t room = a.data_payload_room(st);
    EXPECT_GT(room, a.payload_capacity() + 30);
    for (uint8_t frag_flags : {uint8_t{0}, wire::frag::kSpanMarks}) {
      stream::SentPacket p;
      p.seq = st.tx_seq();
      p.charged_before = st.tx_charged();
      p.event_count = 300;
      p.frag_flags = frag_flags;
      std::vector<uint8_t> payload(room, 0xAB);
      p.payload = stream::SharedPayload::copy_of(payload);
      wire::Header h;
      h.flags = (reliable ? wire::flags::kReliable : 0) | wire::flags::kNetmeshData;
      h.frag_flags = frag_flags;
      h.stream_id = st.id();
      h.sequence = p.seq;
      h.subnet_id = st.tx_epoch();
      h.origin_hash = p.charged_before;
      h.event_count = p.event_count;
      auto buf = std::make_unique<PacketBuffer>();
      a.stamp(h, payload.size(), *buf, payload.data(), a.compact_data());
      EXPECT_EQ(buf->len, a.data_datagram_bytes(st, p)) << reliable;
      EXPECT_LE(buf->len, a.max_packet());
      EXPECT_GE(buf->len + 6, a.max_packet());  // at most the varints' slack unused
    }
  }
}

}  // namespace
}  // namespace nm::session
