// net-mesh 0.23's NAT traversal messages (wire/traversal.h) and the NAT classification
// (node/nat_type.h).
#include <gtest/gtest.h>

#include <vector>

#include "node/nat_type.h"
#include "wire/address.h"
#include "wire/traversal.h"

namespace nm {
namespace {

sockaddr_storage at(const char* text) {
  sockaddr_storage a{};
  EXPECT_TRUE(wire::parse_address(text, a)) << text;
  return a;
}

std::vector<uint8_t> hex(const char* text) {
  std::vector<uint8_t> out;
  for (const char* p = text; p[0] && p[1]; p += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(p, 2), nullptr, 16)));
  return out;
}

// The examples of the 0.23 source (traversal/reflex.rs), checked against the wheel.
TEST(Traversal, AddressBlocksAreThe0_23Format) {
  uint8_t block[wire::kAddressBlockSize];
  ASSERT_TRUE(wire::encode_address_block(at("192.0.2.45:9001"), block));
  EXPECT_EQ(std::vector<uint8_t>(block, block + sizeof block), hex("04c000022d0000000000000000000000002329"));
  ASSERT_TRUE(wire::encode_address_block(at("[2001:db8::1]:443"), block));
  EXPECT_EQ(std::vector<uint8_t>(block, block + sizeof block), hex("0620010db800000000000000000000000101bb"));
}

TEST(Traversal, AddressBlocksDecodeBack) {
  for (const char* text : {"192.0.2.45:9001", "[2001:db8::1]:443", "10.0.0.1:0", "[::1]:65535"}) {
    uint8_t block[wire::kAddressBlockSize];
    ASSERT_TRUE(wire::encode_address_block(at(text), block));
    auto back = wire::decode_address_block(block);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(wire::format_address(*back), wire::format_address(at(text)));
  }
}

TEST(Traversal, MalformedAddressBlocksAreRefused) {
  auto block = hex("04c000022d0000000000000000000000002329");
  EXPECT_FALSE(wire::decode_address_block(std::span(block).first(18)));
  block.push_back(0);
  EXPECT_FALSE(wire::decode_address_block(block));  // 20 bytes
  block.pop_back();
  for (uint8_t family : {0, 5, 7, 255}) {
    block[0] = family;
    EXPECT_FALSE(wire::decode_address_block(block)) << int(family);
  }
  EXPECT_FALSE(wire::decode_address_block({}));
}

// The examples of the 0.23 source (traversal/rendezvous.rs).
TEST(Traversal, RendezvousMessagesAreThe0_23Format) {
  uint8_t out[wire::kRendezvousMaxSize];
  wire::RendezvousMessage m;
  m.kind = wire::RendezvousMessage::Kind::kRequest;
  m.request = {0x1122334455667788ULL, at("192.0.2.1:9001")};
  ASSERT_EQ(wire::encode_rendezvous(m, out), 28u);
  EXPECT_EQ(std::vector<uint8_t>(out, out + 28), hex("01112233445566778804c00002010000000000000000000000002329"));
  m.kind = wire::RendezvousMessage::Kind::kIntroduce;
  m.introduce = {0x1122334455667788ULL, at("198.51.100.7:40000"), 1700000000500ULL};
  ASSERT_EQ(wire::encode_rendezvous(m, out), 36u);
  EXPECT_EQ(std::vector<uint8_t>(out, out + 36),
            hex("02112233445566778804c63364070000000000000000000000009c400000018bcfe569f4"));
  m.kind = wire::RendezvousMessage::Kind::kAck;
  m.ack = {0x1111222233334444ULL, 0x5555666677778888ULL, 0};
  ASSERT_EQ(wire::encode_rendezvous(m, out), 21u);
  EXPECT_EQ(std::vector<uint8_t>(out, out + 21), hex("031111222233334444555566667777888800000000"));
  uint8_t ka[wire::kKeepAliveSize];
  wire::encode_keepalive(0x1111222233334444ULL, ka);
  EXPECT_EQ(std::vector<uint8_t>(ka, ka + sizeof ka), hex("5048444433332222111100000000"));
}

TEST(Traversal, RendezvousMessagesDecodeBackAndRefuseWrongSizes) {
  auto intro = hex("02112233445566778804c63364070000000000000000000000009c400000018bcfe569f4");
  auto m = wire::decode_rendezvous(intro);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, wire::RendezvousMessage::Kind::kIntroduce);
  EXPECT_EQ(m->introduce.peer, 0x1122334455667788ULL);
  EXPECT_EQ(wire::format_address(m->introduce.peer_reflex), "198.51.100.7:40000");
  EXPECT_EQ(m->introduce.fire_at_ms, 1700000000500ULL);
  EXPECT_FALSE(wire::decode_rendezvous(std::span(intro).first(35)));
  intro.push_back(0);
  EXPECT_FALSE(wire::decode_rendezvous(intro));
  intro.pop_back();
  intro[9] = 5;  // bad family
  EXPECT_FALSE(wire::decode_rendezvous(intro));
  auto ack = hex("031111222233334444555566667777888800000000");
  ack[0] = 4;  // no such kind
  EXPECT_FALSE(wire::decode_rendezvous(ack));
  EXPECT_FALSE(wire::decode_rendezvous({}));
  auto req = hex("01112233445566778804c00002010000000000000000000000002329");
  auto r = wire::decode_rendezvous(req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->request.target, 0x1122334455667788ULL);
  EXPECT_EQ(wire::format_address(r->request.self_reflex), "192.0.2.1:9001");
  auto ka = hex("5048444433332222111100000000");
  EXPECT_EQ(wire::decode_keepalive(ka), 0x1111222233334444ULL);
  EXPECT_FALSE(wire::decode_keepalive(std::span(ka).first(13)));
  ka[1] = 0x49;
  EXPECT_FALSE(wire::decode_keepalive(ka));
}

using node::NatType;

NatType classify(const char* bound, std::vector<const char*> own, std::vector<const char*> seen) {
  std::vector<sockaddr_storage> o, s;
  for (auto* a : own) o.push_back(at(a));
  for (auto* a : seen) s.push_back(at(a));
  return node::classify_nat(at(bound), o, s);
}

TEST(NatType, OpenWhenThePeersSeeOurOwnAddressAndPort) {
  EXPECT_EQ(classify("0.0.0.0:4000", {"192.168.1.5:0", "127.0.0.1:0"}, {"192.168.1.5:4000", "192.168.1.5:4000"}),
            NatType::kOpen);
  EXPECT_EQ(classify("192.168.1.5:4000", {}, {"192.168.1.5:4000", "192.168.1.5:4000"}), NatType::kOpen);
}

TEST(NatType, APortKeepingNatIsNotOpen) {
  // Linux masquerade keeps the source port when it can: 0.23 calls this open.
  EXPECT_EQ(classify("0.0.0.0:4000", {"192.168.1.5:0"}, {"203.0.113.9:4000", "203.0.113.9:4000"}), NatType::kCone);
}

TEST(NatType, ConeAndSymmetric) {
  EXPECT_EQ(classify("0.0.0.0:4000", {"10.0.0.2:0"}, {"203.0.113.9:61000", "203.0.113.9:61000"}), NatType::kCone);
  EXPECT_EQ(classify("0.0.0.0:4000", {"10.0.0.2:0"}, {"203.0.113.9:61000", "203.0.113.9:61001"}), NatType::kSymmetric);
  EXPECT_EQ(classify("0.0.0.0:4000", {"10.0.0.2:0"}, {"203.0.113.9:61000", "198.51.100.1:61000"}), NatType::kSymmetric);
}

TEST(NatType, TooFewAnswersIsUnknown) {
  EXPECT_EQ(classify("0.0.0.0:4000", {"10.0.0.2:0"}, {}), NatType::kUnknown);
  EXPECT_EQ(classify("0.0.0.0:4000", {"10.0.0.2:0"}, {"203.0.113.9:61000"}), NatType::kUnknown);
  EXPECT_EQ(classify("0.0.0.0:4000", {"10.0.0.2:0"}, {"10.0.0.2:4000"}), NatType::kUnknown);
  // A peer on our own network says nothing about the NAT.
  EXPECT_EQ(classify("0.0.0.0:4000", {"10.0.0.2:0"}, {"10.0.0.2:4000", "203.0.113.9:61000"}), NatType::kUnknown);
}

}  // namespace
}  // namespace nm
