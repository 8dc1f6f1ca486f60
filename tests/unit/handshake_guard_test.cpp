// HandshakeGuard: the msg1 rate limit and the replay cache (in memory and across restarts).
#include "node/handshake_guard.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
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

// A crash mid-append leaves a torn last record: it is cut off at the next start, so what is
// appended after it is found after the next restart (it was misaligned and never found).
TEST(HandshakeGuard, ATornRecordIsCutOffSoLaterOnesAreFoundAfterARestart) {
  std::string file = "/tmp/netmesh_guard_torn_" + std::to_string(getpid());
  std::remove(file.c_str());
  { HandshakeGuard(0, file).remember(key(1)); }
  FILE* f = std::fopen(file.c_str(), "ab");
  std::fwrite("12345678", 1, 8, f);  // half a record
  std::fclose(f);
  { HandshakeGuard(0, file).remember(key(2)); }
  HandshakeGuard g(0, file);
  EXPECT_TRUE(g.seen(key(1)));
  EXPECT_TRUE(g.seen(key(2)));
  std::remove(file.c_str());
}

// What is at the replay file's path but not a file of ours is not read: a FIFO with no
// writer and /dev/zero hung nm_node_new (an audit); a node starts without them.
TEST(HandshakeGuard, AFifoOrADeviceAtTheReplayPathIsNotRead) {
  std::string fifo = "/tmp/netmesh_guard_fifo_" + std::to_string(getpid());
  std::string zero = "/tmp/netmesh_guard_zero_" + std::to_string(getpid());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_EQ(symlink("/dev/zero", zero.c_str()), 0);
  HandshakeGuard a(0, fifo), b(0, zero);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.size(), 0u);
  a.remember(key(1));  // appends nothing, and does not block, on a FIFO nobody reads
  b.remember(key(1));  // nor through a symlink
  EXPECT_TRUE(a.seen(key(1)));
  std::remove(fifo.c_str());
  std::remove(zero.c_str());
}

}  // namespace
}  // namespace nm::node
