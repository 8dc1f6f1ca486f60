#include "node/open_packet_policy.h"

#include <gtest/gtest.h>

using nm::node::CallEnd;
using nm::node::sends_open_packet_now;

namespace {
constexpr size_t kRoom = 8000;
}

TEST(OpenPacketPolicy, ALoneCallsPacketAlwaysLeavesWithIt) {
  EXPECT_TRUE(sends_open_packet_now({true, false, 1, 70, kRoom}));
  EXPECT_TRUE(sends_open_packet_now({true, false, 64, 70, kRoom}));
}

TEST(OpenPacketPolicy, ABatchsLastPacketLeavesWithTheCallOnceHalfFull) {
  EXPECT_FALSE(sends_open_packet_now({false, false, 64, kRoom / 2 - 1, kRoom}));
  EXPECT_TRUE(sends_open_packet_now({false, false, 64, kRoom / 2, kRoom}));
  EXPECT_TRUE(sends_open_packet_now({false, false, 2, kRoom - 10, kRoom}));
}

TEST(OpenPacketPolicy, SingleEventCallsOfABurstKeepFillingThePacket) {
  EXPECT_FALSE(sends_open_packet_now({false, false, 1, kRoom - 100, kRoom}));
}

TEST(OpenPacketPolicy, BehindThePacerThePacketStaysOpenForThePacer) {
  EXPECT_FALSE(sends_open_packet_now({false, true, 64, kRoom - 100, kRoom}));
}
