// The UDP socket's batching: whatever runs send_many groups into GSO messages, and however
// the receiver's GRO coalesces them, the datagrams arrive exactly as sent — same count,
// same boundaries, same bytes, same order. Checked with the offloads on (where the kernel
// has them) and off.
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "wire/address.h"
#include "node/udp_socket.h"

namespace nm::node {
namespace {

struct Pair {
  UdpSocket tx, rx;
  Pair() {
    sockaddr_storage any;
    std::string error;
    EXPECT_TRUE(wire::parse_address("127.0.0.1:0", any));
    EXPECT_TRUE(tx.open(any, error)) << error;
    EXPECT_TRUE(rx.open(any, error)) << error;
  }
};

// Datagrams of the given sizes, each filled with a pattern unique to its index.
std::vector<std::vector<uint8_t>> make(const std::vector<size_t>& sizes) {
  std::vector<std::vector<uint8_t>> out;
  for (size_t i = 0; i < sizes.size(); ++i) {
    out.emplace_back(sizes[i]);
    for (size_t b = 0; b < sizes[i]; ++b) out.back()[b] = static_cast<uint8_t>(i * 31 + b);
  }
  return out;
}

std::vector<std::vector<uint8_t>> send_and_collect(Pair& p, const std::vector<std::vector<uint8_t>>& dgrams) {
  std::vector<UdpSocket::Datagram> batch;
  for (const auto& d : dgrams) batch.push_back({d.data(), d.size(), &p.rx.local_address()});
  int err = 0;
  EXPECT_EQ(p.tx.send_many(batch.data(), batch.size(), 1000, &err), batch.size()) << err;
  std::vector<std::vector<uint8_t>> got;
  while (got.size() < dgrams.size()) {
    pollfd pfd{p.rx.fd(), POLLIN, 0};
    if (poll(&pfd, 1, 2000) <= 0) break;
    for (const auto& r : p.rx.receive_batch()) got.emplace_back(r.data, r.data + r.len);
  }
  return got;
}

void expect_round_trip(const std::vector<size_t>& sizes) {
  Pair p;
  auto sent = make(sizes);
  auto got = send_and_collect(p, sent);
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(got[i], sent[i]) << "datagram " << i;
}

std::vector<size_t> mixed_sizes() {
  std::vector<size_t> sizes;
  for (int i = 0; i < 20; ++i) sizes.push_back(8192);  // runs capped by the 64 KiB GSO limit
  sizes.push_back(100);                                 // a shorter one ends a run
  for (int i = 0; i < 70; ++i) sizes.push_back(150);    // more than kMaxSegments of small ones
  sizes.push_back(4000);
  sizes.push_back(5000);                                // a longer one cannot join a run
  sizes.push_back(1);
  for (int i = 0; i < 40; ++i) sizes.push_back(1200 + (i % 3));  // barely equal runs
  return sizes;
}

TEST(UdpSocket, BatchedSendsArriveAsTheSameDatagramsInOrder) {
  expect_round_trip(mixed_sizes());
}

TEST(UdpSocket, WithoutOffloadsTheSameHolds) {
  setenv("NETMESH_DISABLE_UDP_OFFLOAD", "1", 1);
  {
    Pair p;
    EXPECT_FALSE(p.tx.gso());
    EXPECT_FALSE(p.rx.gro());
  }
  expect_round_trip(mixed_sizes());
  unsetenv("NETMESH_DISABLE_UDP_OFFLOAD");
}

TEST(UdpSocket, RunsGoToOneAddressOnly) {
  // Alternating destinations: no run may carry a datagram to the other socket.
  Pair p;
  UdpSocket other;
  sockaddr_storage any;
  std::string error;
  ASSERT_TRUE(wire::parse_address("127.0.0.1:0", any));
  ASSERT_TRUE(other.open(any, error));
  auto dgrams = make(std::vector<size_t>(16, 1000));
  std::vector<UdpSocket::Datagram> batch;
  for (size_t i = 0; i < dgrams.size(); ++i)
    batch.push_back({dgrams[i].data(), dgrams[i].size(),
                     i % 4 < 2 ? &p.rx.local_address() : &other.local_address()});
  ASSERT_EQ(p.tx.send_many(batch.data(), batch.size(), 1000, nullptr), batch.size());
  auto collect = [](UdpSocket& s, size_t want) {
    std::vector<std::vector<uint8_t>> got;
    while (got.size() < want) {
      pollfd pfd{s.fd(), POLLIN, 0};
      if (poll(&pfd, 1, 2000) <= 0) break;
      for (const auto& r : s.receive_batch()) got.emplace_back(r.data, r.data + r.len);
    }
    return got;
  };
  auto at_rx = collect(p.rx, 8), at_other = collect(other, 8);
  ASSERT_EQ(at_rx.size(), 8u);
  ASSERT_EQ(at_other.size(), 8u);
  for (size_t i = 0, r = 0, o = 0; i < dgrams.size(); ++i)
    EXPECT_EQ(i % 4 < 2 ? at_rx[r++] : at_other[o++], dgrams[i]) << "datagram " << i;
}

TEST(UdpSocket, DatagramsWithAndWithoutDfKeepTheirOrder) {
  Pair p;
  auto sent = make({1200, 1200, 3000, 1200, 1200, 900, 8192, 8192});
  std::vector<UdpSocket::Datagram> batch;
  for (size_t i = 0; i < sent.size(); ++i)
    batch.push_back({sent[i].data(), sent[i].size(), &p.rx.local_address(), i % 3 != 2});
  ASSERT_EQ(p.tx.send_many(batch.data(), batch.size(), 1000, nullptr), batch.size());
  std::vector<std::vector<uint8_t>> got;
  while (got.size() < sent.size()) {
    pollfd pfd{p.rx.fd(), POLLIN, 0};
    if (poll(&pfd, 1, 2000) <= 0) break;
    for (const auto& r : p.rx.receive_batch()) got.emplace_back(r.data, r.data + r.len);
  }
  ASSERT_EQ(got, sent);
}

TEST(UdpSocket, ADfDatagramTooLargeToSendIsCountedAndTheRestStillGo) {
  Pair p;
  auto sent = make({1000, 65600, 1000});  // above what one UDP datagram can hold
  std::vector<UdpSocket::Datagram> batch;
  for (const auto& d : sent) batch.push_back({d.data(), d.size(), &p.rx.local_address(), true});
  int err = 0;
  EXPECT_EQ(p.tx.send_many(batch.data(), batch.size(), 1000, &err), batch.size()) << err;
  EXPECT_EQ(p.tx.too_big(), 1u);
  std::vector<std::vector<uint8_t>> got;
  while (got.size() < 2) {
    pollfd pfd{p.rx.fd(), POLLIN, 0};
    if (poll(&pfd, 1, 2000) <= 0) break;
    for (const auto& r : p.rx.receive_batch()) got.emplace_back(r.data, r.data + r.len);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], sent[0]);
  EXPECT_EQ(got[1], sent[2]);
}

TEST(UdpSocket, TheRouteLimitIsTheInterfaceMtuLessHeaders) {
  sockaddr_storage lo;
  ASSERT_TRUE(wire::parse_address("127.0.0.1:9", lo));
  uint32_t limit = UdpSocket::route_payload_limit(lo);
  EXPECT_GE(limit, 1200u);     // loopback's MTU is 64 KiB on Linux (at least IPv4's minimum)
  EXPECT_LE(limit, 65535u - 28);
}

void open_at(UdpSocket& s, const char* text) {
  sockaddr_storage a;
  std::string error;
  ASSERT_TRUE(wire::parse_address(text, a)) << text;
  ASSERT_TRUE(s.open(a, error)) << error;
}

// Up to `want` datagrams within 2 s, each with the address it came from.
std::vector<std::pair<std::vector<uint8_t>, sockaddr_storage>> collect_from(UdpSocket& s, size_t want) {
  std::vector<std::pair<std::vector<uint8_t>, sockaddr_storage>> got;
  while (got.size() < want) {
    pollfd pfd{s.fd(), POLLIN, 0};
    if (poll(&pfd, 1, 2000) <= 0) break;
    for (const auto& r : s.receive_batch()) got.push_back({{r.data, r.data + r.len}, *r.from});
  }
  return got;
}

TEST(UdpSocket, ADatagramItsDestinationRefusesIsSkippedAndTheRestStillGo) {
  // Runs of four to one address: the receiver, an IPv6 address this IPv4 socket cannot
  // reach (EAFNOSUPPORT), port 0 (EINVAL), the receiver again.
  Pair p;
  sockaddr_storage v6, port0;
  ASSERT_TRUE(wire::parse_address("[::1]:9", v6));
  ASSERT_TRUE(wire::parse_address("127.0.0.1:0", port0));
  auto dgrams = make(std::vector<size_t>(16, 1000));
  std::vector<UdpSocket::Datagram> batch;
  const sockaddr_storage* to[] = {&p.rx.local_address(), &v6, &port0, &p.rx.local_address()};
  for (size_t i = 0; i < dgrams.size(); ++i) batch.push_back({dgrams[i].data(), dgrams[i].size(), to[i / 4]});
  int err = 0;
  EXPECT_EQ(p.tx.send_many(batch.data(), batch.size(), 1000, &err), batch.size());
  EXPECT_EQ(err, EAFNOSUPPORT);  // the first refusal's
  EXPECT_EQ(p.tx.refused(), 8u);
  for (size_t i = 0; i < batch.size(); ++i) EXPECT_EQ(batch[i].refused, i >= 4 && i < 12) << i;
  auto got = collect_from(p.rx, 8);
  ASSERT_EQ(got.size(), 8u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(got[i].first, dgrams[i]);
    EXPECT_EQ(got[4 + i].first, dgrams[12 + i]);
  }
  EXPECT_EQ(p.tx.gso(), Pair().tx.gso());  // a refused run is not the device refusing GSO
}

TEST(UdpSocket, ADualStackSocketTalksToIPv4PeersInIPv4Addresses) {
  UdpSocket dual, v4;
  open_at(dual, "[::]:0");
  open_at(v4, "127.0.0.1:0");
  EXPECT_TRUE(dual.can_send_to(v4.local_address()));
  uint8_t ping[3] = {1, 2, 3}, pong[2] = {4, 5};
  ASSERT_EQ(dual.send(ping, sizeof ping, v4.local_address(), 1000), 0);  // an AF_INET address
  auto at_v4 = collect_from(v4, 1);
  ASSERT_EQ(at_v4.size(), 1u);
  sockaddr_storage reply_to = at_v4[0].second;
  ASSERT_EQ(reply_to.ss_family, AF_INET);
  ASSERT_EQ(v4.send(pong, sizeof pong, reply_to, 1000), 0);
  auto at_dual = collect_from(dual, 1);
  ASSERT_EQ(at_dual.size(), 1u);
  // Seen as AF_INET 127.0.0.1, not ::ffff:127.0.0.1: the address the peer was dialled at.
  EXPECT_EQ(at_dual[0].second.ss_family, AF_INET);
  EXPECT_TRUE(wire::same_address(at_dual[0].second, v4.local_address()));
  EXPECT_EQ(at_dual[0].first, std::vector<uint8_t>(pong, pong + 2));
}

TEST(UdpSocket, EachFamilyReachesWhatItCan) {
  UdpSocket v4, v6_only, dual;
  open_at(v4, "127.0.0.1:0");
  open_at(v6_only, "[::1]:0");
  open_at(dual, "[::]:0");
  sockaddr_storage a4, a6, mapped, broadcast;
  ASSERT_TRUE(wire::parse_address("127.0.0.1:9", a4));
  ASSERT_TRUE(wire::parse_address("[::1]:9", a6));
  ASSERT_TRUE(wire::parse_address("[::ffff:127.0.0.1]:9", mapped));
  ASSERT_TRUE(wire::parse_address("255.255.255.255:9", broadcast));
  EXPECT_TRUE(v4.can_send_to(a4));
  EXPECT_TRUE(v4.can_send_to(mapped));
  EXPECT_FALSE(v4.can_send_to(a6));
  EXPECT_FALSE(v6_only.can_send_to(a4));
  EXPECT_FALSE(v6_only.can_send_to(mapped));
  EXPECT_TRUE(v6_only.can_send_to(a6));
  EXPECT_TRUE(dual.can_send_to(a4) && dual.can_send_to(a6) && dual.can_send_to(mapped));
  EXPECT_FALSE(dual.can_send_to(broadcast));
  EXPECT_NE(std::string(v4.unreachable_reason(a6)).find("IPv4"), std::string::npos);
  // Loopback sockets reach this host only.
  sockaddr_storage elsewhere4, elsewhere6;
  ASSERT_TRUE(wire::parse_address("192.0.2.1:9", elsewhere4));
  ASSERT_TRUE(wire::parse_address("[2001:db8::1]:9", elsewhere6));
  EXPECT_FALSE(v4.can_send_to(elsewhere4));
  EXPECT_FALSE(v6_only.can_send_to(elsewhere6));
  EXPECT_TRUE(dual.can_send_to(elsewhere4) && dual.can_send_to(elsewhere6));
}

}  // namespace
}  // namespace nm::node
