// Noise_NKpsk0_25519_ChaChaPoly_BLAKE2s (cacophony vector, failure cases) and the Net
// datagram vectors of wire spec Appendix A.2, rebuilt byte for byte and decrypted back.
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/noise.h"
#include "crypto/session_keys.h"
#include "wire/frames.h"
#include "wire/header.h"
#include "wire/stream_window.h"
#include "hex.h"

namespace nm {
namespace {

using test::from_hex;
using test::to_hex;
using test::key_from_hex;

using crypto::Key32;
using crypto::NoiseHandshake;
using crypto::SessionKeys;

Key32 filled(uint8_t b) {
  Key32 k;
  k.fill(b);
  return k;
}

std::vector<uint8_t> u64le(uint64_t v) {
  std::vector<uint8_t> out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return out;
}

// ---- Cacophony vector (mcginty/snow, tests/vectors/cacophony.txt) ----

struct Cacophony {
  std::vector<uint8_t> prologue = from_hex("4a6f686e2047616c74");
  Key32 psk = key_from_hex("54686973206973206d7920417573747269616e20706572737065637469766521");
  Key32 init_ephemeral = key_from_hex("893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a");
  Key32 resp_static = key_from_hex("4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893");
  Key32 resp_static_pub = key_from_hex("31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62");
  Key32 resp_ephemeral = key_from_hex("bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b");
  std::string hash = "6bd69bd4066f41f32e47134976f5bf01606f7a4a0e04369fe61158b06f3a144e";
  std::vector<uint8_t> payload1 = from_hex("4c756477696720766f6e204d69736573");
  std::string msg1 =
      "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c794427635ede06947b2d3acd77a36788"
      "aaaf17e9f5a8ac252e560fb421ba161a2cf8";
  std::vector<uint8_t> payload2 = from_hex("4d757272617920526f746862617264");
  std::string msg2 =
      "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843d682eb9cf4fee6816c8c8cfd34c1"
      "5774321e234e3a426d7cfd3f13e5e84d04";
};

TEST(NoiseCacophony, NKpsk0Vector) {
  const Cacophony v;
  EXPECT_EQ(crypto::x25519_public(v.resp_static), v.resp_static_pub);

  auto init = NoiseHandshake::initiator(v.prologue, v.psk, v.resp_static_pub, v.init_ephemeral);
  auto resp = NoiseHandshake::responder(v.prologue, v.psk, v.resp_static, v.resp_ephemeral);

  std::vector<uint8_t> m1, m2, p;
  ASSERT_TRUE(init.write_message(v.payload1, m1));
  EXPECT_EQ(to_hex(m1), v.msg1);
  ASSERT_TRUE(resp.read_message(m1, p));
  EXPECT_EQ(p, v.payload1);
  EXPECT_FALSE(init.is_finished());

  ASSERT_TRUE(resp.write_message(v.payload2, m2));
  EXPECT_EQ(to_hex(m2), v.msg2);
  ASSERT_TRUE(init.read_message(m2, p));
  EXPECT_EQ(p, v.payload2);

  EXPECT_TRUE(init.is_finished());
  EXPECT_TRUE(resp.is_finished());
  EXPECT_EQ(to_hex(init.handshake_hash()), v.hash);
  EXPECT_EQ(to_hex(resp.handshake_hash()), v.hash);
  EXPECT_EQ(resp.remote_ephemeral(), crypto::x25519_public(v.init_ephemeral));
  EXPECT_EQ(init.remote_ephemeral(), crypto::x25519_public(v.resp_ephemeral));
}

// ---- Handshake failures ----

class NoiseFailures : public ::testing::Test {
 protected:
  const std::vector<uint8_t> prologue_ = from_hex("0102030405");
  const Key32 psk_ = filled(0x42);
  const Key32 resp_static_ = filled(0x11);
  const Key32 resp_pub_ = crypto::x25519_public(resp_static_);

  std::vector<uint8_t> msg1_from(NoiseHandshake init) {
    std::vector<uint8_t> m1;
    EXPECT_TRUE(init.write_message({}, m1));
    return m1;
  }
  bool responder_accepts(const std::vector<uint8_t>& m1, const Key32& psk) {
    auto resp = NoiseHandshake::responder(prologue_, psk, resp_static_);
    std::vector<uint8_t> p;
    return resp.read_message(m1, p);
  }
};

TEST_F(NoiseFailures, Baseline) {
  EXPECT_TRUE(responder_accepts(msg1_from(NoiseHandshake::initiator(prologue_, psk_, resp_pub_)), psk_));
}

TEST_F(NoiseFailures, WrongPsk) {
  const auto m1 = msg1_from(NoiseHandshake::initiator(prologue_, psk_, resp_pub_));
  EXPECT_FALSE(responder_accepts(m1, filled(0x43)));
}

TEST_F(NoiseFailures, WrongResponderStaticKey) {
  const Key32 other_pub = crypto::x25519_public(filled(0x12));
  EXPECT_FALSE(responder_accepts(msg1_from(NoiseHandshake::initiator(prologue_, psk_, other_pub)), psk_));
}

TEST_F(NoiseFailures, WrongPrologue) {
  const auto m1 = msg1_from(NoiseHandshake::initiator(from_hex("010203040506"), psk_, resp_pub_));
  EXPECT_FALSE(responder_accepts(m1, psk_));
}

TEST_F(NoiseFailures, TamperedMsg1) {
  const auto m1 = msg1_from(NoiseHandshake::initiator(prologue_, psk_, resp_pub_));
  ASSERT_EQ(m1.size(), 48u);
  for (size_t i : {size_t{0}, size_t{31}, size_t{32}, size_t{47}}) {
    auto bad = m1;
    bad[i] ^= 0x01;
    EXPECT_FALSE(responder_accepts(bad, psk_)) << "byte " << i;
  }
  EXPECT_FALSE(responder_accepts(std::vector<uint8_t>(m1.begin(), m1.end() - 1), psk_));
}

TEST_F(NoiseFailures, TamperedMsg2) {
  auto init = NoiseHandshake::initiator(prologue_, psk_, resp_pub_);
  auto resp = NoiseHandshake::responder(prologue_, psk_, resp_static_);
  std::vector<uint8_t> m1, m2, p;
  ASSERT_TRUE(init.write_message({}, m1));
  ASSERT_TRUE(resp.read_message(m1, p));
  ASSERT_TRUE(resp.write_message({}, m2));
  m2[40] ^= 0x80;
  EXPECT_FALSE(init.read_message(m2, p));
  EXPECT_FALSE(init.is_finished());
}

TEST_F(NoiseFailures, OutOfTurn) {
  auto init = NoiseHandshake::initiator(prologue_, psk_, resp_pub_);
  auto resp = NoiseHandshake::responder(prologue_, psk_, resp_static_);
  std::vector<uint8_t> m1, m2, p;
  EXPECT_FALSE(resp.write_message({}, m2));
  ASSERT_TRUE(init.write_message({}, m1));
  EXPECT_FALSE(init.write_message({}, m1));

  auto resp2 = NoiseHandshake::responder(prologue_, psk_, resp_static_);
  ASSERT_TRUE(resp2.read_message(m1, p));
  EXPECT_FALSE(resp2.read_message(m1, p));
}

TEST_F(NoiseFailures, FailedReadLeavesStateUnusable) {
  auto resp = NoiseHandshake::responder(prologue_, psk_, resp_static_);
  auto m1 = msg1_from(NoiseHandshake::initiator(prologue_, psk_, resp_pub_));
  std::vector<uint8_t> p, m2;
  auto bad = m1;
  bad[45] ^= 1;
  ASSERT_FALSE(resp.read_message(bad, p));
  EXPECT_FALSE(resp.read_message(m1, p));
  EXPECT_FALSE(resp.write_message({}, m2));
}

TEST_F(NoiseFailures, AllZeroDhIsRejected) {
  // The all-zero point is of low order: X25519 with it yields zero.
  auto init = NoiseHandshake::initiator(prologue_, psk_, Key32{});
  std::vector<uint8_t> m1;
  EXPECT_FALSE(init.write_message({}, m1));

  auto good = msg1_from(NoiseHandshake::initiator(prologue_, psk_, resp_pub_));
  std::fill(good.begin(), good.begin() + 32, 0);
  EXPECT_FALSE(responder_accepts(good, psk_));
}

TEST(NoiseRoundTrip, RandomKeysAgree) {
  ASSERT_GE(sodium_init(), 0);
  for (int round = 0; round < 5; ++round) {
    Key32 psk, resp_static;
    randombytes_buf(psk.data(), psk.size());
    randombytes_buf(resp_static.data(), resp_static.size());
    const auto prologue = crypto::handshake_prologue(1000 + round, 2000);

    auto init = NoiseHandshake::initiator(prologue, psk, crypto::x25519_public(resp_static));
    auto resp = NoiseHandshake::responder(prologue, psk, resp_static);
    std::vector<uint8_t> m1, m2, p;
    const auto id = u64le(0xABCDEF0123456789);
    ASSERT_TRUE(init.write_message(id, m1));
    ASSERT_EQ(m1.size(), 56u);
    ASSERT_TRUE(resp.read_message(m1, p));
    EXPECT_EQ(p, id);
    ASSERT_TRUE(resp.write_message({}, m2));
    ASSERT_EQ(m2.size(), 48u);
    ASSERT_TRUE(init.read_message(m2, p));
    EXPECT_TRUE(p.empty());

    ASSERT_TRUE(init.is_finished() && resp.is_finished());
    EXPECT_EQ(init.handshake_hash(), resp.handshake_hash());
    EXPECT_TRUE(std::equal(m1.begin(), m1.begin() + 32, resp.remote_ephemeral().begin()));
    const SessionKeys ki = crypto::derive_session_keys(init.handshake_hash(), true);
    const SessionKeys kr = crypto::derive_session_keys(resp.handshake_hash(), false);
    EXPECT_EQ(ki.tx, kr.rx);
    EXPECT_EQ(ki.rx, kr.tx);
    EXPECT_EQ(ki.session_id, kr.session_id);
  }
}

TEST(NoiseRoundTrip, FreshEphemeralEachTime) {
  const Key32 resp_pub = crypto::x25519_public(filled(0x11));
  auto a = NoiseHandshake::initiator({}, filled(1), resp_pub);
  auto b = NoiseHandshake::initiator({}, filled(1), resp_pub);
  std::vector<uint8_t> ma, mb;
  ASSERT_TRUE(a.write_message({}, ma));
  ASSERT_TRUE(b.write_message({}, mb));
  EXPECT_FALSE(std::equal(ma.begin(), ma.begin() + 32, mb.begin()));
}

// ---- Appendix A.2: Net vectors ----

constexpr uint64_t kInitiatorId = 0x1111222233334444;
constexpr uint64_t kResponderId = 0x5555666677778888;

std::vector<uint8_t> handshake_datagram(const std::vector<uint8_t>& noise_msg) {
  wire::Header h;
  h.flags = wire::flags::kHandshake;
  h.payload_len = static_cast<uint16_t>(noise_msg.size());
  std::vector<uint8_t> out(wire::kHeaderSize);
  wire::encode_header(h, out.data());
  out.insert(out.end(), noise_msg.begin(), noise_msg.end());
  return out;
}

// The 18-byte routing header (spec §12) is out of scope for this layer; built inline here.
std::vector<uint8_t> routing_prefix(uint64_t dest_id, uint64_t src_id) {
  std::vector<uint8_t> out = {0x52, 0x54, 16, 0, 0, 0};
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(src_id >> (8 * i)));
  const auto d = u64le(dest_id);
  out.insert(out.end(), d.begin(), d.end());
  return out;
}

std::vector<uint8_t> seal_packet(const SessionKeys& k, uint64_t counter, wire::Header h,
                                 const std::vector<std::vector<uint8_t>>& events) {
  std::vector<uint8_t> payload;
  for (const auto& e : events) wire::append_frame(payload, e);
  h.session_id = k.session_id;
  h.payload_len = static_cast<uint16_t>(payload.size());
  h.event_count = static_cast<uint16_t>(events.size());
  wire::set_nonce(h, k.nonce_prefix, counter);

  std::vector<uint8_t> out(wire::kHeaderSize);
  wire::encode_header(h, out.data());
  uint8_t aad[wire::kAadSize];
  wire::header_aad(out.data(), aad);
  uint8_t tag[wire::kTagSize];
  crypto::aead_seal(k.tx, h.nonce, aad, sizeof aad, payload.data(), payload.size(), tag);
  out.insert(out.end(), payload.begin(), payload.end());
  out.insert(out.end(), tag, tag + wire::kTagSize);
  return out;
}

struct Opened {
  wire::Header header;
  std::vector<std::string> events;
};

// Receive path of §5: the nonce prefix comes from our own session, not from the wire.
bool open_packet(const SessionKeys& k, std::vector<uint8_t> datagram, Opened& out) {
  if (wire::decode_header(datagram, out.header) != wire::HeaderError::kOk) return false;
  if (datagram.size() != wire::kHeaderSize + out.header.payload_len + wire::kTagSize) return false;
  uint8_t nonce[12], aad[wire::kAadSize];
  crypto::make_nonce(k.nonce_prefix, wire::nonce_counter(out.header), nonce);
  wire::header_aad(datagram.data(), aad);
  uint8_t* payload = datagram.data() + wire::kHeaderSize;
  if (!crypto::aead_open(k.rx, nonce, aad, sizeof aad, payload, out.header.payload_len,
                         payload + out.header.payload_len))
    return false;
  out.events.clear();
  for (auto f : wire::read_frames({payload, out.header.payload_len}, out.header.event_count))
    out.events.emplace_back(f.begin(), f.end());
  return true;
}

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

class NetVectors : public ::testing::Test {
 protected:
  const Key32 psk_ = filled(0x42);
  const Key32 resp_static_ = filled(0x11);
  const Key32 resp_pub_ = crypto::x25519_public(resp_static_);
  const Key32 init_eph_ = filled(0x22);
  const Key32 resp_eph_ = filled(0x33);
  const std::array<uint8_t, 32> prologue_ = crypto::handshake_prologue(kInitiatorId, kResponderId);

  // Runs the handshake, returning false on any failure; fills the two Noise messages.
  bool handshake(const std::vector<uint8_t>& payload1, std::vector<uint8_t>& m1,
                 std::vector<uint8_t>& m2, crypto::Digest& h) {
    auto init = NoiseHandshake::initiator(prologue_, psk_, resp_pub_, init_eph_);
    auto resp = NoiseHandshake::responder(prologue_, psk_, resp_static_, resp_eph_);
    std::vector<uint8_t> p1, p2;
    if (!init.write_message(payload1, m1) || !resp.read_message(m1, p1) || p1 != payload1 ||
        !resp.write_message({}, m2) || !init.read_message(m2, p2) || !p2.empty())
      return false;
    EXPECT_EQ(init.handshake_hash(), resp.handshake_hash());
    h = init.handshake_hash();
    return true;
  }
};

TEST_F(NetVectors, KeysAndPrologue) {
  EXPECT_EQ(to_hex(crypto::x25519_public(resp_static_)),
            "7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13");
  EXPECT_EQ(to_hex(crypto::x25519_public(init_eph_)),
            "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20");
  EXPECT_EQ(to_hex(crypto::x25519_public(resp_eph_)),
            "7b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b14");
  EXPECT_EQ(to_hex(prologue_), "6e65742d68616e647368616b652d763144443333000000008888777700000000");
}

TEST_F(NetVectors, DirectHandshake) {
  std::vector<uint8_t> m1, m2;
  crypto::Digest h;
  ASSERT_TRUE(handshake({}, m1, m2, h));
  EXPECT_EQ(to_hex(m1),
            "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f204ab92ccdc744c7bb35b598c8a2a70f5c");
  EXPECT_EQ(to_hex(m2),
            "7b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b140e2134f204e80b38f998de4ffa30fe0b");
  EXPECT_EQ(to_hex(h), "379617c9de0ccbaf36ccf2d6692d5c0badcf9b15fe333c8080bd9c3115812d46");

  const SessionKeys ki = crypto::derive_session_keys(h, true);
  const SessionKeys kr = crypto::derive_session_keys(h, false);
  EXPECT_EQ(ki.session_id, 0xafcb0cdec9179637u);
  EXPECT_EQ(to_hex(ki.tx), "9457be78de21d84cdf49157fc26fee956d392fa50c20938dd5cb70e2f88760c4");
  EXPECT_EQ(to_hex(ki.rx), "34e2cb3995404bd649f5be6e85afacb3d4259c0e8d60a695176e70365ced3a78");
  EXPECT_EQ(kr.rx, ki.tx);
  EXPECT_EQ(kr.tx, ki.rx);
  uint8_t prefix_bytes[12];
  crypto::make_nonce(ki.nonce_prefix, 0, prefix_bytes);
  EXPECT_EQ(to_hex(std::span<const uint8_t>(prefix_bytes, 4)), "e99adc66");

  const auto d1 = handshake_datagram(m1);
  const auto d2 = handshake_datagram(m2);
  ASSERT_EQ(d1.size(), 116u);
  EXPECT_EQ(to_hex(d1),
            "454e0110000000000000000000000000000000000000000000000000000000000000000000000000000000"
            "000000000000000000000000000000000000000000300000000faa684ed28867b97f4a6a2dee5df8ce974e"
            "76b7018e3f22a1c4cf2678570f204ab92ccdc744c7bb35b598c8a2a70f5c");
  EXPECT_EQ(to_hex(d2),
            "454e0110000000000000000000000000000000000000000000000000000000000000000000000000000000"
            "000000000000000000000000000000000000000000300000007b0d47d93427f8311160781c7c733fd89f88"
            "970aef490d8aa0ee19a4cb8a1b140e2134f204e80b38f998de4ffa30fe0b");

  // And back: parse the datagrams and complete a handshake from them.
  wire::Header hd;
  ASSERT_EQ(wire::decode_header(d1, hd), wire::HeaderError::kOk);
  EXPECT_EQ(hd.flags, wire::flags::kHandshake);
  auto resp = NoiseHandshake::responder(prologue_, psk_, resp_static_, resp_eph_);
  std::vector<uint8_t> p, m2_again;
  ASSERT_TRUE(resp.read_message(std::span(d1).subspan(wire::kHeaderSize), p));
  EXPECT_TRUE(p.empty());
  ASSERT_TRUE(resp.write_message({}, m2_again));
  EXPECT_EQ(m2_again, m2);
  EXPECT_EQ(resp.handshake_hash(), h);
}

class NetDataVectors : public NetVectors {
 protected:
  void SetUp() override {
    std::vector<uint8_t> m1, m2;
    crypto::Digest h;
    ASSERT_TRUE(handshake({}, m1, m2, h));
    init_ = crypto::derive_session_keys(h, true);
    resp_ = crypto::derive_session_keys(h, false);
  }
  SessionKeys init_, resp_;
};

TEST_F(NetDataVectors, HelloWorldPacket) {
  wire::Header h;
  h.stream_id = 7;
  const auto pkt = seal_packet(init_, 0, h, {bytes("hello"), bytes("world")});
  ASSERT_EQ(pkt.size(), 102u);
  EXPECT_EQ(to_hex(pkt),
            "454e01000000000000000000e99adc660000000000000000379617c9de0ccbaf0700000000000000000000"
            "0000000000000000000000000000000000000000001200020013f122c6511c3051c16e8b476dfeee1c0eb2"
            "9027d18f533e1004f24516df738c42cb");
  uint8_t aad[wire::kAadSize];
  wire::header_aad(pkt.data(), aad);
  EXPECT_EQ(to_hex(std::span<const uint8_t>(aad, sizeof aad)),
            "454e01000000000000000000379617c9de0ccbaf0700000000000000000000000000000000000000000000"
            "00000000000000000012000200");

  Opened o;
  ASSERT_TRUE(open_packet(resp_, pkt, o));
  EXPECT_EQ(o.events, (std::vector<std::string>{"hello", "world"}));
  EXPECT_EQ(o.header.stream_id, 7u);

  // hop_count is outside the AAD, and the receiver uses its own nonce prefix (wire bytes
  // 12..16 are ignored); every other header byte, and the counter, is authenticated.
  auto hopped = pkt;
  hopped[6] = 3;
  EXPECT_TRUE(open_packet(resp_, hopped, o));
  auto other_prefix = pkt;
  other_prefix[12] ^= 0xFF;
  EXPECT_TRUE(open_packet(resp_, other_prefix, o));
  auto bad_seq = pkt;
  bad_seq[40] ^= 1;
  EXPECT_FALSE(open_packet(resp_, bad_seq, o));
  auto bad_counter = pkt;
  bad_counter[16] ^= 1;
  EXPECT_FALSE(open_packet(resp_, bad_counter, o));
  EXPECT_FALSE(open_packet(init_, pkt, o));  // wrong direction key
}

TEST_F(NetDataVectors, ReliablePacket) {
  wire::Header h;
  h.flags = wire::flags::kReliable;
  h.stream_id = 7;
  h.sequence = 1;
  const auto pkt = seal_packet(init_, 1, h, {bytes("x")});
  ASSERT_EQ(pkt.size(), 89u);
  EXPECT_EQ(to_hex(pkt),
            "454e01010000000000000000e99adc660100000000000000379617c9de0ccbaf0700000000000000010000"
            "00000000000000000000000000000000000000000005000100b7726b89e39616f5af61cc098a21bd25a8bf"
            "c976d3");
  Opened o;
  ASSERT_TRUE(open_packet(resp_, pkt, o));
  EXPECT_EQ(o.events, std::vector<std::string>{"x"});
  EXPECT_EQ(o.header.flags, wire::flags::kReliable);
  EXPECT_EQ(o.header.sequence, 1u);
}

TEST_F(NetDataVectors, Heartbeat) {
  wire::Header h;
  h.flags = wire::flags::kHeartbeat;
  const auto pkt = seal_packet(init_, 2, h, {});
  ASSERT_EQ(pkt.size(), 84u);
  EXPECT_EQ(to_hex(pkt),
            "454e01200000000000000000e99adc660200000000000000379617c9de0ccbaf0000000000000000000000"
            "000000000000000000000000000000000000000000000000001d5eef61916e96fc27c2f3866cb18441");
  Opened o;
  ASSERT_TRUE(open_packet(resp_, pkt, o));
  EXPECT_TRUE(o.events.empty());
  EXPECT_EQ(wire::nonce_counter(o.header), 2u);
}

TEST_F(NetDataVectors, StreamWindowGrant) {
  wire::Header h;
  h.subprotocol_id = wire::kSubprotocolStreamWindow;
  h.stream_id = wire::kControlStreamId;
  h.sequence = 0;
  std::vector<uint8_t> grant(wire::kGrantSize);
  wire::encode_grant({7, 18 + wire::kPacketOverhead}, grant.data());
  const auto pkt = seal_packet(resp_, 0, h, {grant});
  ASSERT_EQ(pkt.size(), 104u);
  EXPECT_EQ(to_hex(pkt),
            "454e010000000000000b0000e99adc660000000000000000379617c9de0ccbafffffffffffffffff000000"
            "0000000000000000000000000000000000000000001400010044d118c4d35f591589aba10c51eb1a5c143f"
            "d6f4cc25335b39995183dc02884d49ec0314");

  Opened o;
  ASSERT_TRUE(open_packet(init_, pkt, o));
  ASSERT_EQ(o.events.size(), 1u);
  wire::Grant g;
  const auto frame = bytes(o.events[0]);
  ASSERT_TRUE(wire::decode_grant(frame, g));
  EXPECT_EQ(g.stream_id, 7u);
  EXPECT_EQ(g.total_consumed, 102u);
}

TEST_F(NetVectors, RoutedHandshake) {
  std::vector<uint8_t> m1, m2;
  crypto::Digest h;
  ASSERT_TRUE(handshake(u64le(kInitiatorId), m1, m2, h));
  EXPECT_EQ(to_hex(m1),
            "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f203ecd0285ad56443e52cf7d"
            "d3323f9abfc63316e4b80fe927");
  EXPECT_EQ(to_hex(m2),
            "7b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b1485fb7c5c88af26240ea436"
            "a83380fb61");
  EXPECT_EQ(to_hex(h), "f12d7743ce10b8ee9e4200e39206cc3d12b05512baffb198476d1283cbe80d88");

  const SessionKeys k = crypto::derive_session_keys(h, true);
  EXPECT_EQ(k.session_id, 0xeeb810ce43772df1u);
  EXPECT_EQ(to_hex(k.tx), "6265e9ef74a88b819a1d9e4dbac9e3bd9d93754aa2834524554cdf7b41d53271");
  EXPECT_EQ(to_hex(k.rx), "1bcd77f151a79017ccae738337b84127cc5ab71ce7e1b01f4f4d219ff21d8d89");

  auto d1 = routing_prefix(kResponderId, kInitiatorId);
  const auto n1 = handshake_datagram(m1);
  d1.insert(d1.end(), n1.begin(), n1.end());
  auto d2 = routing_prefix(kInitiatorId, kResponderId);
  const auto n2 = handshake_datagram(m2);
  d2.insert(d2.end(), n2.begin(), n2.end());
  ASSERT_EQ(d1.size(), 142u);
  ASSERT_EQ(d2.size(), 134u);
  EXPECT_EQ(to_hex(d1),
            "525410000000444433338888777766665555454e0110000000000000000000000000000000000000000000"
            "00000000000000000000000000000000000000000000000000000000000000000000000000000038000000"
            "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f203ecd0285ad56443e52cf7d"
            "d3323f9abfc63316e4b80fe927");
  EXPECT_EQ(to_hex(d2),
            "525410000000888877774444333322221111454e0110000000000000000000000000000000000000000000"
            "00000000000000000000000000000000000000000000000000000000000000000000000000000030000000"
            "7b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b1485fb7c5c88af26240ea436"
            "a83380fb61");

  // And back: the responder recovers the initiator's full node id from msg1, and the
  // initiator completes from the msg2 datagram.
  const size_t noise_offset = 18 + wire::kHeaderSize;
  auto resp = NoiseHandshake::responder(prologue_, psk_, resp_static_);
  std::vector<uint8_t> p;
  ASSERT_TRUE(resp.read_message(std::span(d1).subspan(noise_offset), p));
  EXPECT_EQ(p, u64le(kInitiatorId));

  auto init = NoiseHandshake::initiator(prologue_, psk_, resp_pub_, init_eph_);
  std::vector<uint8_t> m1_again;
  ASSERT_TRUE(init.write_message(u64le(kInitiatorId), m1_again));
  ASSERT_TRUE(init.read_message(std::span(d2).subspan(noise_offset), p));
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(init.handshake_hash(), h);
}

TEST_F(NetVectors, WrongNodeIdInPrologueFailsAtResponder) {
  auto init = NoiseHandshake::initiator(prologue_, psk_, resp_pub_, init_eph_);
  std::vector<uint8_t> m1, p;
  ASSERT_TRUE(init.write_message({}, m1));
  const auto wrong = crypto::handshake_prologue(kInitiatorId + 1, kResponderId);
  auto resp = NoiseHandshake::responder(wrong, psk_, resp_static_);
  EXPECT_FALSE(resp.read_message(m1, p));
  // Only the low 32 bits enter the prologue.
  EXPECT_EQ(crypto::handshake_prologue(kInitiatorId ^ (uint64_t{1} << 40), kResponderId), prologue_);
}

// The multi-candidate responder finds the initiator among many prologues with one X25519,
// and the handshake it returns is the one a single-candidate responder would have made.
TEST(NoiseResponder, FindsTheInitiatorAmongCandidatesAndMatchesTheClassicResponder) {
  const Key32 psk = filled(0x42), resp_static = filled(0x11), resp_eph = filled(0x22);
  const Key32 resp_pub = crypto::x25519_public(resp_static);
  constexpr uint64_t kResponder = 0xABCDEF;
  crypto::NoiseResponder responder(psk, resp_static);
  std::vector<crypto::Digest> candidates;
  for (uint64_t id = 1; id <= 64; ++id)
    candidates.push_back(responder.candidate(crypto::handshake_prologue(id, kResponder)));
  for (uint64_t initiator_id : {1, 17, 64}) {
    const auto prologue = crypto::handshake_prologue(initiator_id, kResponder);
    auto init = NoiseHandshake::initiator(prologue, psk, resp_pub);
    std::vector<uint8_t> m1, m2, m2_classic, p;
    ASSERT_TRUE(init.write_message(u64le(initiator_id), m1));

    auto accepted = responder.read_msg1(m1, candidates, resp_eph);
    ASSERT_TRUE(accepted);
    EXPECT_EQ(accepted->index, initiator_id - 1);
    EXPECT_EQ(accepted->payload, u64le(initiator_id));
    EXPECT_TRUE(std::equal(m1.begin(), m1.begin() + 32, accepted->handshake.remote_ephemeral().begin()));
    ASSERT_TRUE(accepted->handshake.write_message({}, m2));

    auto classic = NoiseHandshake::responder(prologue, psk, resp_static, resp_eph);
    ASSERT_TRUE(classic.read_message(m1, p));
    ASSERT_TRUE(classic.write_message({}, m2_classic));
    EXPECT_EQ(m2, m2_classic);
    EXPECT_EQ(accepted->handshake.handshake_hash(), classic.handshake_hash());

    ASSERT_TRUE(init.read_message(m2, p));
    EXPECT_EQ(init.handshake_hash(), accepted->handshake.handshake_hash());
  }
}

TEST(NoiseResponder, RejectsWrongPskUnknownInitiatorAndTampering) {
  const Key32 psk = filled(0x42), resp_static = filled(0x11);
  const Key32 resp_pub = crypto::x25519_public(resp_static);
  crypto::NoiseResponder responder(psk, resp_static);
  std::vector<crypto::Digest> candidates{responder.candidate(crypto::handshake_prologue(1, 9)),
                                         responder.candidate(crypto::handshake_prologue(2, 9))};
  auto msg1 = [&](uint64_t id, const Key32& k) {
    std::vector<uint8_t> m1;
    EXPECT_TRUE(NoiseHandshake::initiator(crypto::handshake_prologue(id, 9), k, resp_pub).write_message({}, m1));
    return m1;
  };
  EXPECT_TRUE(responder.read_msg1(msg1(2, psk), candidates));
  EXPECT_FALSE(responder.read_msg1(msg1(3, psk), candidates));          // not allowed
  EXPECT_FALSE(responder.read_msg1(msg1(1, filled(0x43)), candidates));  // wrong psk
  EXPECT_FALSE(responder.read_msg1(msg1(1, psk), {}));                   // nobody allowed
  auto m1 = msg1(1, psk);
  for (size_t i = 0; i < m1.size(); ++i) {
    auto bad = m1;
    bad[i] ^= 0x01;
    EXPECT_FALSE(responder.read_msg1(bad, candidates)) << "byte " << i;
  }
  EXPECT_FALSE(responder.read_msg1(std::span(m1).first(47), candidates));
}

}  // namespace
}  // namespace nm
