// The intrusive least-recently-used order (stream/lru_list.h) and the streams' use of it:
// every activity makes a stream the most recent, so a session at max_streams evicts the
// least recently active one in O(1).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "stream/lru_list.h"
#include "stream/stream.h"
#include "wire/frames.h"
#include "wire/header.h"

namespace nm::stream {
namespace {

struct Item {
  int id;
  LruHook<Item> hook{this};
};

std::vector<int> order(const LruList<Item>& list) {
  std::vector<int> ids;
  for (Item* i = list.oldest(); i; i = i->hook.newer()) ids.push_back(i->id);
  return ids;
}

TEST(LruList, OldestFirstAndTouchMovesToTheBack) {
  Item a{1}, b{2}, c{3};
  LruList<Item> list;
  for (Item* i : {&a, &b, &c}) list.push_back(i->hook);
  EXPECT_EQ(order(list), (std::vector<int>{1, 2, 3}));
  a.hook.touch();
  EXPECT_EQ(order(list), (std::vector<int>{2, 3, 1}));
  a.hook.touch();  // already the most recent
  EXPECT_EQ(order(list), (std::vector<int>{2, 3, 1}));
  c.hook.touch();
  EXPECT_EQ(list.oldest()->id, 2);
  EXPECT_EQ(order(list), (std::vector<int>{2, 1, 3}));
  EXPECT_EQ(list.size(), 3u);
}

TEST(LruList, UnlinkAndDestructionKeepTheListWhole) {
  LruList<Item> list;
  Item a{1}, c{3};
  list.push_back(a.hook);
  {
    Item b{2};
    list.push_back(b.hook);
    list.push_back(c.hook);
    EXPECT_EQ(order(list), (std::vector<int>{1, 2, 3}));
  }  // b unlinks itself
  EXPECT_EQ(order(list), (std::vector<int>{1, 3}));
  a.hook.unlink();
  EXPECT_FALSE(a.hook.linked());
  a.hook.touch();  // unlinked: stays out
  EXPECT_EQ(order(list), (std::vector<int>{3}));
  EXPECT_EQ(list.size(), 1u);
}

TEST(LruList, ElementsOutliveTheirList) {
  Item a{1};
  {
    LruList<Item> list;
    list.push_back(a.hook);
  }
  EXPECT_FALSE(a.hook.linked());
  a.hook.touch();
}

TEST(LruList, StreamsMoveToTheBackOnEveryActivity) {
  LruList<Stream> lru;
  std::vector<std::unique_ptr<Stream>> streams;
  for (uint64_t id = 0; id < 4; ++id) {
    streams.push_back(std::make_unique<Stream>(1, id, StreamConfig{}, true, 1, 0));
    lru.push_back(streams.back()->lru());
  }
  auto oldest = [&] { return lru.oldest()->id(); };
  EXPECT_EQ(oldest(), 0u);
  // Receiving makes a stream recent...
  std::vector<uint8_t> payload;
  wire::append_frame(payload, std::vector<uint8_t>(3, 'x'));
  RxPacket p;
  p.data = SharedPayload::copy_of(payload);
  p.events = 1;
  p.cost = static_cast<uint32_t>(payload.size() + wire::kPacketOverhead);
  streams[0]->on_packet(std::move(p), false, true, {1 << 20}, 10);
  EXPECT_EQ(oldest(), 1u);
  // ... and so does sending.
  uint64_t seq;
  ASSERT_TRUE(streams[1]->begin_packet(10, 1, &seq, 20));
  EXPECT_EQ(oldest(), 2u);
  ASSERT_EQ(streams[2]->join_open_packet(payload, 30), Stream::Join::kAdded);
  EXPECT_EQ(oldest(), 3u);
  // Oldest first is oldest activity first.
  int64_t last = -1;
  for (Stream* s = lru.oldest(); s; s = s->lru().newer()) {
    EXPECT_GE(s->last_activity_ns(), last);
    last = s->last_activity_ns();
  }
}

}  // namespace
}  // namespace nm::stream
