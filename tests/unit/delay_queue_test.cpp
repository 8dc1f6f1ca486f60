// DelayQueue: datagrams held by fault injection until due, earliest first, and never more
// than kMaxBytes of them (a long delay on a stream anyone can send must not hold memory
// without bound).
#include "node/delay_queue.h"

#include <gtest/gtest.h>

namespace nm::node {
namespace {

DelayedDatagram datagram(int64_t due_ns, size_t bytes) {
  DelayedDatagram d;
  d.due_ns = due_ns;
  d.bytes.assign(bytes, 0x5A);
  return d;
}

TEST(DelayQueue, ReleasesEarliestFirstAndSaysWhenTheTimerMoves) {
  DelayQueue q;
  EXPECT_EQ(q.push(datagram(200, 10)), DelayQueue::Pushed::kEarliest);
  EXPECT_EQ(q.push(datagram(300, 10)), DelayQueue::Pushed::kQueued);
  EXPECT_EQ(q.push(datagram(100, 10)), DelayQueue::Pushed::kEarliest);
  EXPECT_FALSE(q.pop_due(99));
  EXPECT_EQ(q.pop_due(1000)->due_ns, 100);
  EXPECT_EQ(q.pop_due(1000)->due_ns, 200);
  EXPECT_EQ(*q.next_due(), 300);
}

TEST(DelayQueue, HoldsAtMostItsBoundAndTakesMoreAsItReleases) {
  DelayQueue q;
  constexpr size_t kDatagram = 64 * 1024;
  size_t held = 0;
  while (q.push(datagram(1000, kDatagram)) != DelayQueue::Pushed::kFull) held += kDatagram;
  EXPECT_EQ(held, DelayQueue::kMaxBytes);
  ASSERT_TRUE(q.pop_due(1000));
  EXPECT_NE(q.push(datagram(1000, kDatagram)), DelayQueue::Pushed::kFull);
  EXPECT_EQ(q.push(datagram(1000, 1)), DelayQueue::Pushed::kFull);
}

}  // namespace
}  // namespace nm::node
