// The receive queue kept per packet (stream/inbound_queue.h) and the credit a stream
// releases as its events are read: byte-identical to one credit entry per event (the
// packet's overhead with its first event, then each event's length).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "stream/inbound_queue.h"
#include "stream/rx_packet.h"
#include "stream/stream.h"
#include "wire/frames.h"
#include "wire/extension.h"
#include "wire/header.h"

namespace nm::stream {
namespace {

// A packet payload: one frame per size, event i filled with byte i.
SharedPayload frames(const std::vector<uint32_t>& sizes) {
  std::vector<uint8_t> payload;
  for (size_t i = 0; i < sizes.size(); ++i)
    wire::append_frame(payload, std::vector<uint8_t>(sizes[i], static_cast<uint8_t>(i)));
  return SharedPayload::copy_of(payload);
}

uint32_t cost_of(const std::vector<uint32_t>& sizes) {
  return static_cast<uint32_t>(std::accumulate(sizes.begin(), sizes.end(), size_t{0}) +
                               wire::kFrameOverhead * sizes.size() + wire::kPacketOverhead);
}

RxPacket packet(uint64_t seq, const std::vector<uint32_t>& sizes) {
  RxPacket p;
  p.seq = seq;
  p.data = frames(sizes);
  p.events = static_cast<uint16_t>(sizes.size());
  p.cost = cost_of(sizes);
  return p;
}

// The credit of one event as the per-event queue released it.
uint32_t per_event_credit(const std::vector<uint32_t>& sizes, size_t i) {
  uint32_t lens = std::accumulate(sizes.begin(), sizes.end(), 0u);
  return sizes[i] + (i == 0 ? cost_of(sizes) - lens : 0);
}

TEST(InboundQueue, ReadsEventsFromFramesAndReleasesCreditAsPerEvent) {
  const std::vector<std::vector<uint32_t>> packets = {{5, 0, 1000, 0, 7}, {8104}, {0}, {1, 2, 3}};
  InboundQueue q;
  size_t events = 0, bytes = 0;
  uint64_t credit = 0;
  for (const auto& sizes : packets) {
    q.push(frames(sizes), static_cast<uint16_t>(sizes.size()), cost_of(sizes));
    events += sizes.size();
    bytes += std::accumulate(sizes.begin(), sizes.end(), size_t{0});
    credit += cost_of(sizes);
  }
  EXPECT_EQ(q.events(), events);
  EXPECT_EQ(q.bytes(), bytes);
  EXPECT_EQ(q.credit(), credit);
  EXPECT_GT(q.held(), 0u);
  std::vector<uint8_t> out(8104);
  for (const auto& sizes : packets) {
    for (size_t i = 0; i < sizes.size(); ++i) {
      ASSERT_EQ(q.front_size(), sizes[i]);
      EXPECT_EQ(q.pop_into(out.data()), per_event_credit(sizes, i));
      for (uint32_t b = 0; b < sizes[i]; ++b) ASSERT_EQ(out[b], static_cast<uint8_t>(i));
    }
  }
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.events(), 0u);
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.credit(), 0u);
  EXPECT_EQ(q.held(), 0u);
}

TEST(InboundQueue, OnePacketOf2027EmptyEventsIsOneEntry) {
  std::vector<uint32_t> sizes(wire::kMaxEventsPerPacket, 0);
  InboundQueue q;
  q.push(frames(sizes), static_cast<uint16_t>(sizes.size()), cost_of(sizes));
  EXPECT_EQ(q.events(), 2027u);
  EXPECT_EQ(q.bytes(), 0u);
  // What it pins is the packet's buffer and one entry, not 2,027 of them.
  EXPECT_EQ(q.held(), 8320 + kPacketBookkeeping);
  uint64_t released = 0;
  while (!q.empty()) released += q.pop_into(nullptr);
  EXPECT_EQ(released, 8108u + 84u);
}

TEST(InboundQueue, ClearReturnsWhatWasNotReleased) {
  std::vector<uint32_t> a = {10, 20, 30}, b = {40};
  InboundQueue q;
  q.push(frames(a), 3, cost_of(a));
  q.push(frames(b), 1, 0);  // a reassembled event: its credit went on arrival
  uint8_t out[64];
  uint64_t released = q.pop_into(out);
  EXPECT_EQ(q.clear(), cost_of(a) - released);
  EXPECT_EQ(q.events(), 0u);
  EXPECT_EQ(q.held(), 0u);
}

TEST(InboundQueue, CutEventIsReadFromItsTwoPacketsSlices) {
  // Packet 1: [whole event of 3 bytes][start of the cut event, 5000 bytes of 0xA5].
  // Packet 2: [the rest, 3000 bytes of 0x5A][whole event of 2 bytes].
  std::vector<uint8_t> one, two;
  wire::append_frame(one, std::vector<uint8_t>(3, 1));
  wire::append_frame(one, std::vector<uint8_t>(5000, 0xA5));
  wire::append_frame(two, std::vector<uint8_t>(3000, 0x5A));
  wire::append_frame(two, std::vector<uint8_t>(2, 2));
  SharedPayload first = SharedPayload::copy_of(one), second = SharedPayload::copy_of(two);
  InboundQueue q;
  q.push(first, 0, 7, 1, 0);
  q.push_cut(first, 7 + wire::kFrameOverhead, 5000, second, 777);
  q.push(second, 3004, static_cast<uint32_t>(two.size()), 1, 0);
  EXPECT_EQ(q.events(), 3u);
  EXPECT_EQ(q.bytes(), 3u + 8000u + 2u);
  EXPECT_EQ(q.credit(), 777u);
  // The cut event pins both packets: what its reservation covered.
  EXPECT_EQ(q.held(), 2 * first.capacity() + 2 * second.capacity() + 3 * kPacketBookkeeping);
  EXPECT_LE(first.capacity() + second.capacity() + kPacketBookkeeping, Stream::kSpanReservation);

  std::vector<uint8_t> out(8000);
  EXPECT_EQ(q.front_size(), 3u);
  q.pop_into(out.data());
  EXPECT_EQ(q.front_size(), 8000u);
  EXPECT_EQ(q.pop_into(out.data()), 777u);
  EXPECT_EQ(std::count(out.begin(), out.begin() + 5000, 0xA5), 5000);
  EXPECT_EQ(std::count(out.begin() + 5000, out.end(), 0x5A), 3000);
  EXPECT_EQ(q.front_size(), 2u);
  EXPECT_EQ(q.bytes(), 2u);
  q.pop_into(out.data());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.held(), 0u);
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(RxPacket, BookkeepingCoversWhatIsKeptPerPacket) {
  // Block (+ its allocation header), the payload buffer's allocation header, and the larger
  // of a reorder-map node (three pointers, colour, key, packet) and two queue slots.
  constexpr size_t kMalloc = 16;
  size_t block = sizeof(SharedPayload::Block) + kMalloc;
  size_t map_node = 4 * sizeof(void*) + sizeof(uint64_t) + sizeof(RxPacket) + kMalloc;
  size_t queue_slots = 2 * (2 * sizeof(SharedPayload) + 24);  // (a cut event's start too)
  EXPECT_LE(block + kMalloc + std::max(map_node, queue_slots), kPacketBookkeeping);
}

// ---- the stream: credit granted after reading N events equals the per-event accounting

struct Reader {
  Stream st;
  explicit Reader(bool reliable)
      : st(1, 5, [&] {
          StreamConfig c;
          c.reliable = reliable;
          return c;
        }(), true, 1, 0) {}
  uint64_t granted() {
    uint64_t total = 0;
    st.current_grant(&total);
    return total;
  }
};

TEST(StreamInbound, GrantsAfterEachReadMatchPerEventCredit) {
  const std::vector<std::vector<uint32_t>> packets = {
      {100, 0, 0, 3000}, {8104}, {0, 0, 0, 0, 0, 0, 0}, {1, 4000, 1, 4000}, {77}};
  for (bool reliable : {false, true}) {
    Reader r(reliable);
    for (size_t i = 0; i < packets.size(); ++i) r.st.on_packet(packet(i, packets[i]), reliable, true, {1 << 20}, 0);
    size_t total_events = 0;
    for (const auto& p : packets) total_events += p.size();
    ASSERT_EQ(r.st.inbound_pending(), total_events);
    std::vector<uint8_t> out(8104);
    uint64_t expected = 0;
    for (const auto& sizes : packets) {
      for (size_t i = 0; i < sizes.size(); ++i) {
        ASSERT_EQ(r.st.front_size(), sizes[i]);
        r.st.pop_into(out.data());
        expected += per_event_credit(sizes, i);
        ASSERT_EQ(r.granted(), expected);
      }
    }
    // All read: exactly plaintext + 84 per packet, as the sender was charged.
    uint64_t charged = 0;
    for (const auto& sizes : packets) charged += cost_of(sizes);
    EXPECT_EQ(r.granted(), charged);
    EXPECT_EQ(r.st.inbound_pending(), 0u);
    EXPECT_EQ(r.st.inbound_bytes(), 0u);
  }
}

TEST(StreamInbound, DiscardReturnsTheRestOfTheCredit) {
  Reader r(false);
  std::vector<uint32_t> a = {5, 6, 7}, b = {0, 0};
  r.st.on_packet(packet(0, a), false, true, {1 << 20}, 0);
  r.st.on_packet(packet(1, b), false, true, {1 << 20}, 0);
  uint8_t out[16];
  r.st.pop_into(out);
  r.st.discard_inbound();
  EXPECT_EQ(r.granted(), cost_of(a) + cost_of(b));
  EXPECT_EQ(r.st.inbound_pending(), 0u);
}

TEST(StreamInbound, PacketWithoutEventsIsCreditedAtOnce) {
  Reader r(false);
  RxPacket p;
  p.data = SharedPayload::copy_of({});
  p.cost = wire::kPacketOverhead;
  r.st.on_packet(std::move(p), false, true, {1 << 20}, 0);
  EXPECT_EQ(r.st.inbound_pending(), 0u);
  EXPECT_EQ(r.granted(), wire::kPacketOverhead);
}

TEST(StreamInbound, ReassembledEventIsOneFrameReadWhole) {
  Reader r(true);
  std::vector<uint8_t> event(20000);
  for (size_t i = 0; i < event.size(); ++i) event[i] = static_cast<uint8_t>(i * 7);
  const size_t piece = 5000;
  uint64_t charged = 0;
  for (uint16_t i = 0; i < 4; ++i) {
    std::vector<uint8_t> payload;
    wire::append_frame(payload, std::span<const uint8_t>(event).subspan(i * piece, piece));
    RxPacket p;
    p.seq = i;
    p.data = SharedPayload::copy_of(payload);
    p.events = 1;
    p.cost = static_cast<uint32_t>(payload.size() + wire::kPacketOverhead);
    p.frag_flags = wire::frag::kFragment | (i == 3 ? wire::frag::kLast : 0);
    p.frag_index = i;
    charged += p.cost;
    r.st.on_packet(std::move(p), true, true, {1 << 20}, 0);
  }
  ASSERT_EQ(r.st.inbound_pending(), 1u);
  EXPECT_EQ(r.st.inbound_bytes(), event.size());
  EXPECT_EQ(r.granted(), charged);  // fragments are credited as they arrive
  ASSERT_EQ(r.st.front_size(), event.size());
  std::vector<uint8_t> out(event.size());
  r.st.pop_into(out.data());
  EXPECT_EQ(out, event);
  EXPECT_EQ(r.granted(), charged);
}

}  // namespace
}  // namespace nm::stream
