// HandshakeGuard: the msg1 rate limit and the replay cache (in memory and across restarts).
#include "node/handshake_guard.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace nm::node {
namespace {

crypto::Key32 key(uint32_t i) {
  crypto::Key32 k{};
  for (int b = 0; b < 4; ++b) k[b] = static_cast<uint8_t>(i >> (8 * b));
  k[31] = 0x5A;
  return k;
}

TEST(HandshakeGuard, RateLimitAdmitsOneSecondsWorthThenTheRate) {
  HandshakeGuard g(100, "");
  int admitted = 0;
  for (int i = 0; i < 1000; ++i) admitted += g.admit(0);
  EXPECT_EQ(admitted, 100);
  admitted = 0;
  for (int i = 0; i < 1000; ++i) admitted += g.admit(500'000'000);  // half a second later
  EXPECT_EQ(admitted, 50);
  HandshakeGuard unlimited(0, "");
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(unlimited.admit(0));
}

TEST(HandshakeGuard, RemembersTheLastCapacityEphemerals) {
  HandshakeGuard g(0, "");
  EXPECT_FALSE(g.seen(key(1)));
  g.remember(key(1));
  EXPECT_TRUE(g.seen(key(1)));
  for (uint32_t i = 2; i < HandshakeGuard::kCapacity + 2; ++i) g.remember(key(i));
  EXPECT_EQ(g.size(), HandshakeGuard::kCapacity);
  EXPECT_FALSE(g.seen(key(1)));  // the oldest left
  EXPECT_TRUE(g.seen(key(2)));
  EXPECT_TRUE(g.seen(key(HandshakeGuard::kCapacity + 1)));
}

TEST(HandshakeGuard, ReplayCacheSurvivesARestartThroughItsFile) {
  std::string file = "/tmp/netmesh_guard_test_" + std::to_string(getpid());
  std::remove(file.c_str());
  {
    HandshakeGuard g(0, file);
    for (uint32_t i = 0; i < 10; ++i) g.remember(key(i));
  }
  {
    HandshakeGuard g(0, file);
    for (uint32_t i = 0; i < 10; ++i) EXPECT_TRUE(g.seen(key(i))) << i;
    EXPECT_FALSE(g.seen(key(10)));
    // Beyond twice the capacity the file is compacted to the last kCapacity records.
    for (uint32_t i = 10; i < 2 * HandshakeGuard::kCapacity + 20; ++i) g.remember(key(i));
  }
  HandshakeGuard g(0, file);
  EXPECT_EQ(g.size(), HandshakeGuard::kCapacity);
  EXPECT_TRUE(g.seen(key(2 * HandshakeGuard::kCapacity + 19)));
  EXPECT_FALSE(g.seen(key(0)));
  std::remove(file.c_str());
}

}  // namespace
}  // namespace nm::node
