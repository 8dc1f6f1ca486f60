// Sender: a session's pacing (token bucket) and weighted round robin between its streams.
#include "session/sender.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace nm::session {
namespace {

constexpr int64_t kPacket = 8192;

// Streams with queues of equal packets, recording what was sent in order.
struct FakeQueues {
  std::map<uint64_t, int> waiting;     // stream -> packets queued
  std::map<uint64_t, uint32_t> weights;
  std::vector<uint64_t> sent;
  std::vector<uint64_t> drained_streams;

  int64_t window = INT64_MAX;           // bytes the congestion window lets out
  int64_t head_cost(uint64_t id) { return waiting[id] > 0 ? kPacket : 0; }
  bool window_allows(int64_t bytes) { return bytes <= window; }
  uint32_t weight(uint64_t id) { return weights.count(id) ? weights[id] : 1; }
  void send_head(uint64_t id) {
    --waiting[id];
    if (window != INT64_MAX) window -= kPacket;
    sent.push_back(id);
  }
  void drained(uint64_t id) { drained_streams.push_back(id); }
  size_t count(uint64_t id) const {
    size_t n = 0;
    for (uint64_t s : sent) n += s == id;
    return n;
  }
};

TEST(Sender, TheCongestionWindowHoldsPacketsTheRateWouldLetGo) {
  Sender s;
  s.set_rate(kPacket * 1e6);  // the rate is no limit here
  FakeQueues q;
  q.waiting[1] = 10;
  q.waiting[2] = 10;
  s.backlogged(1);
  s.backlogged(2);
  q.window = 3 * kPacket;
  EXPECT_EQ(s.release(0, q), 3 * kPacket);
  EXPECT_EQ(s.release(1'000'000, q), 0);  // tokens, but no window: the streams keep waiting
  EXPECT_FALSE(s.idle());
  q.window = 2 * kPacket;  // an acknowledgement opened the window
  EXPECT_EQ(s.release(2'000'000, q), 2 * kPacket);
  EXPECT_EQ(q.count(1) + q.count(2), 5u);
  EXPECT_GE(q.count(2), 2u);  // the blocked stream kept its turn: both got to send
}

TEST(Sender, ReleasesAtTheRateAfterABurstOfTwoPackets) {
  Sender s;
  s.set_rate(kPacket * 1000.0);  // 1000 packets per second
  FakeQueues q;
  q.waiting[1] = 100;
  s.backlogged(1);
  EXPECT_EQ(s.release(0, q), 2 * kPacket);  // a full bucket: 2 packets (the 2 ms depth is 2)
  EXPECT_EQ(s.release(0, q), 0);
  EXPECT_EQ(s.release(1'000'000, q), kPacket);  // 1 ms later: one more
  EXPECT_EQ(s.release(11'000'000, q), 2 * kPacket);  // 10 ms idle: the bucket holds 2
  EXPECT_EQ(q.count(1), 5u);
}

TEST(Sender, BackloggedStreamsShareByWeight) {
  Sender s;
  s.set_rate(kPacket * 1000.0);
  FakeQueues q;
  q.waiting[1] = 1000;
  q.waiting[2] = 1000;
  q.weights[2] = 3;
  s.backlogged(1);
  s.backlogged(2);
  for (int64_t t = 0; t <= 400'000'000; t += 1'000'000) s.release(t, q);
  double share2 = static_cast<double>(q.count(2)) / (q.count(1) + q.count(2));
  EXPECT_NEAR(share2, 0.75, 0.02);
  EXPECT_NEAR(static_cast<double>(q.sent.size()), 400, 4);  // the rate holds
}

TEST(Sender, ADrainedStreamLeavesTheRoundAndIsReported) {
  Sender s;
  s.set_rate(1e12);  // effectively unlimited
  FakeQueues q;
  q.waiting[1] = 2;
  q.waiting[2] = 1;
  s.backlogged(1);
  s.backlogged(2);
  s.backlogged(1);  // idempotent
  s.release(0, q);
  s.release(1'000'000, q);
  EXPECT_EQ(q.sent.size(), 3u);
  EXPECT_TRUE(s.idle());
  EXPECT_EQ(q.drained_streams.size(), 2u);
}

TEST(Sender, AStreamThatWentAwayIsSkipped) {
  Sender s;
  s.set_rate(1e12);
  FakeQueues q;
  q.waiting[2] = 1;
  s.backlogged(1);  // closed before its turn: nothing waiting
  s.backlogged(2);
  s.release(0, q);
  s.release(1, q);
  EXPECT_EQ(q.sent, std::vector<uint64_t>{2});
  EXPECT_TRUE(s.idle());
}

}  // namespace
}  // namespace nm::session
