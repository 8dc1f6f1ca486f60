// Mesh building blocks: routing header (§12), pingwave (§10), routing table, failure
// detector (§10). Pure logic, time passed in as now_ns.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "node/failure_detector.h"
#include "node/routing_table.h"
#include "wire/header.h"
#include "wire/pingwave.h"
#include "wire/routing_header.h"
#include "hex.h"

namespace nm {
namespace {

using test::from_hex;

constexpr int64_t kSec = 1'000'000'000;

// ---------------------------------------------------------------- routing header (§12)

// Appendix A.2, routed handshake (initiator 0x1111222233334444, responder 0x5555666677778888).
const std::string kRoutedMsg1 =
    "525410000000444433338888777766665555454e01100000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000003800"
    "00000faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f203ecd0285ad56443e"
    "52cf7dd3323f9abfc63316e4b80fe927";
const std::string kRoutedMsg2 =
    "525410000000888877774444333322221111454e01100000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000003000"
    "00007b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b1485fb7c5c88af2624"
    "0ea436a83380fb61";

constexpr uint64_t kInitiatorId = 0x1111222233334444;
constexpr uint64_t kResponderId = 0x5555666677778888;

static_assert(wire::kRoutingHeaderSize == 18);
static_assert(wire::kRoutingMagic == 0x5452);
static_assert(wire::kDefaultHandshakeTtl == 16 && wire::kDefaultDataTtl == 8);
static_assert(wire::kMaxHops == 16);
static_assert(wire::kMinRoutedDatagramSize == 86);

TEST(RoutingHeader, DecodesRoutedMsg1Vector) {
  const auto d = from_hex(kRoutedMsg1);
  ASSERT_EQ(d.size(), 142u);
  EXPECT_TRUE(wire::is_routed_datagram(d));
  EXPECT_FALSE(wire::is_pingwave(d));
  const auto rh = wire::RoutingHeader::decode(d);
  ASSERT_TRUE(rh.has_value());
  EXPECT_EQ(rh->ttl, wire::kDefaultHandshakeTtl);
  EXPECT_EQ(rh->hop_count, 0);
  EXPECT_EQ(rh->flags, 0);
  EXPECT_EQ(rh->src_id, wire::routing_id(kInitiatorId));
  EXPECT_EQ(rh->src_id, 0x33334444u);
  EXPECT_EQ(rh->dest_id, kResponderId);

  // What follows is a complete handshake Net packet carrying the 56-byte msg1.
  wire::Header inner;
  ASSERT_EQ(wire::decode_header(std::span(d).subspan(wire::kRoutingHeaderSize), inner),
            wire::HeaderError::kOk);
  EXPECT_EQ(inner.flags, wire::flags::kHandshake);
  EXPECT_EQ(inner.payload_len, 56);
  EXPECT_EQ(d.size(), wire::kRoutingHeaderSize + wire::kHeaderSize + 56);
}

TEST(RoutingHeader, DecodesRoutedMsg2Vector) {
  const auto d = from_hex(kRoutedMsg2);
  ASSERT_EQ(d.size(), 134u);
  const auto rh = wire::RoutingHeader::decode(d);
  ASSERT_TRUE(rh.has_value());
  EXPECT_EQ(rh->ttl, 16);
  EXPECT_EQ(rh->hop_count, 0);
  EXPECT_EQ(rh->flags, 0);
  EXPECT_EQ(rh->src_id, 0x77778888u);
  EXPECT_EQ(rh->dest_id, kInitiatorId);
  wire::Header inner;
  ASSERT_EQ(wire::decode_header(std::span(d).subspan(wire::kRoutingHeaderSize), inner),
            wire::HeaderError::kOk);
  EXPECT_EQ(inner.payload_len, 48);
}

TEST(RoutingHeader, EncodeReproducesVectorPrefixes) {
  uint8_t out[wire::kRoutingHeaderSize];
  wire::RoutingHeader{16, 0, 0, wire::routing_id(kInitiatorId), kResponderId}.encode(out);
  const auto m1 = from_hex(kRoutedMsg1);
  EXPECT_EQ(std::vector<uint8_t>(out, out + 18), std::vector<uint8_t>(m1.begin(), m1.begin() + 18));

  wire::RoutingHeader{16, 0, 0, wire::routing_id(kResponderId), kInitiatorId}.encode(out);
  const auto m2 = from_hex(kRoutedMsg2);
  EXPECT_EQ(std::vector<uint8_t>(out, out + 18), std::vector<uint8_t>(m2.begin(), m2.begin() + 18));
}

TEST(RoutingHeader, RoundTripsEveryField) {
  const wire::RoutingHeader h{0x07, 0x03, wire::routing_flags::kControl | wire::routing_flags::kEndOfStream, 0xA1B2C3D4, 0x0102030405060708};
  uint8_t out[18];
  h.encode(out);
  EXPECT_EQ(out[5], 0);  // reserved
  EXPECT_EQ(from_hex("52540703"), std::vector<uint8_t>(out, out + 4));
  EXPECT_EQ(from_hex("d4c3b2a1"), std::vector<uint8_t>(out + 6, out + 10));
  EXPECT_EQ(from_hex("0807060504030201"), std::vector<uint8_t>(out + 10, out + 18));
  const auto back = wire::RoutingHeader::decode(std::span<const uint8_t>(out, 18));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, h);
}

TEST(RoutingHeader, RejectsShortInputAndWrongMagic) {
  auto d = from_hex(kRoutedMsg1);
  EXPECT_FALSE(wire::RoutingHeader::decode(std::span(d).first(17)).has_value());
  EXPECT_TRUE(wire::RoutingHeader::decode(std::span(d).first(18)).has_value());
  auto swapped = d;
  std::swap(swapped[0], swapped[1]);  // 54 52
  EXPECT_FALSE(wire::RoutingHeader::decode(swapped).has_value());
  auto net = d;
  net[0] = 0x45;
  net[1] = 0x4E;  // a direct Net packet is not routed
  EXPECT_FALSE(wire::RoutingHeader::decode(net).has_value());
  EXPECT_FALSE(wire::is_routed_datagram(net));
}

TEST(RoutingHeader, MasksFlagsHighNibbleAndIgnoresReserved) {
  auto d = from_hex(kRoutedMsg1);
  d[4] = 0xF5;
  d[5] = 0xAA;
  const auto rh = wire::RoutingHeader::decode(d);
  ASSERT_TRUE(rh.has_value());
  EXPECT_EQ(rh->flags, 0x05);
  EXPECT_EQ(rh->dest_id, kResponderId);

  uint8_t out[18];
  wire::RoutingHeader{1, 0, 0xF5, 0, 0}.encode(out);
  EXPECT_EQ(out[4], 0x05);
}

TEST(RoutingHeader, ForwardDecrementsTtlSaturatesHopsAndStopsAtZero) {
  wire::RoutingHeader h{2, 0, 0, 1, 2};
  ASSERT_TRUE(wire::forward(h));
  EXPECT_EQ(h.ttl, 1);
  EXPECT_EQ(h.hop_count, 1);
  ASSERT_TRUE(wire::forward(h));
  EXPECT_EQ(h.ttl, 0);
  EXPECT_EQ(h.hop_count, 2);
  EXPECT_FALSE(wire::forward(h));  // ttl 0: drop, unchanged
  EXPECT_EQ(h.ttl, 0);
  EXPECT_EQ(h.hop_count, 2);

  wire::RoutingHeader sat{5, 255, 0, 0, 0};
  ASSERT_TRUE(wire::forward(sat));
  EXPECT_EQ(sat.hop_count, 255);
  EXPECT_EQ(sat.ttl, 4);
}

TEST(RoutingHeader, RoutedDatagramNeedsAFullNetHeader) {
  const auto d = from_hex(kRoutedMsg1);
  EXPECT_FALSE(wire::is_routed_datagram(std::span(d).first(85)));
  EXPECT_TRUE(wire::is_routed_datagram(std::span(d).first(86)));
}

// ---------------------------------------------------------------- pingwave (§10)

wire::Pingwave sample_pingwave() {
  wire::Pingwave pw;
  pw.origin_node_id = 0x1122334455667788;
  pw.seq = 0x0102030405060708;
  pw.ttl = 3;
  pw.hop_count = 4;
  pw.origin_timestamp_us = 0xA1A2A3A4A5A6A7A8;
  pw.capability_hash = 0xB1B2B3B4B5B6B7B8;
  pw.capability_version = 0xC1C2C3C4;
  pw.load_level = 0xD1;
  pw.health = wire::pingwave_health::kUnhealthy;
  pw.gpu = 0xE1;
  pw.model_slots = 0xE2;
  pw.memory_tier = 0xE3;
  pw.tools_bitmap = 0xE4;
  pw.caps_flags = 0xF1F2F3F4;
  return pw;
}

TEST(Pingwave, EncodesTheSeventyTwoByteLayout) {
  const std::string expected =
      "8877665544332211" "000000000000000000000000000000000000000000000000"  // origin_id
      "0807060504030201"                                                        // seq @32
      "03" "04"                                                                 // ttl, hops
      "a8a7a6a5a4a3a2a1"                                                        // ts @42
      "b8b7b6b5b4b3b2b1"                                                        // cap hash @50
      "c4c3c2c1"                                                                // cap ver @58
      "d1" "02"                                                                 // load, health
      "e1e2e3e4" "f4f3f2f1";                                                    // caps @64
  std::vector<uint8_t> out(wire::kPingwaveSize, 0xEE);
  sample_pingwave().encode(out.data());
  EXPECT_EQ(out, from_hex(expected));
  EXPECT_EQ(from_hex(expected).size(), 72u);
}

TEST(Pingwave, RoundTrips) {
  uint8_t buf[72];
  const auto pw = sample_pingwave();
  pw.encode(buf);
  const auto back = wire::Pingwave::decode(std::span<const uint8_t>(buf, 72));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, pw);
}

TEST(Pingwave, DecodeRejectsWrongSizeNetMagicAndBadHealth) {
  std::vector<uint8_t> buf(73);
  sample_pingwave().encode(buf.data());
  EXPECT_FALSE(wire::Pingwave::decode(buf).has_value());                    // 73
  EXPECT_FALSE(wire::Pingwave::decode(std::span(buf).first(71)).has_value());  // 71
  EXPECT_TRUE(wire::Pingwave::decode(std::span(buf).first(72)).has_value());

  auto pw = sample_pingwave();
  pw.origin_node_id = 0x0000000000004E45;  // encodes as 45 4E ...: indistinguishable from "EN"
  pw.encode(buf.data());
  EXPECT_FALSE(wire::is_pingwave(std::span(buf).first(72)));
  EXPECT_FALSE(wire::Pingwave::decode(std::span(buf).first(72)).has_value());

  for (uint8_t health : {uint8_t{4}, uint8_t{255}}) {
    pw = sample_pingwave();
    pw.health = health;
    pw.encode(buf.data());
    EXPECT_FALSE(wire::Pingwave::decode(std::span(buf).first(72)).has_value()) << int(health);
  }
  pw.health = wire::pingwave_health::kUnknown;
  pw.encode(buf.data());
  EXPECT_TRUE(wire::Pingwave::decode(std::span(buf).first(72)).has_value());
}

TEST(Pingwave, OriginIsTheFirstEightBytesOfOriginId) {
  uint8_t buf[72];
  sample_pingwave().encode(buf);
  std::memset(buf + 8, 0x5A, 24);  // 0.23 does not check the padding either
  const auto pw = wire::Pingwave::decode(std::span<const uint8_t>(buf, 72));
  ASSERT_TRUE(pw.has_value());
  EXPECT_EQ(pw->origin_node_id, 0x1122334455667788u);
}

TEST(Pingwave, DispatchIsBySizeAndNotEn) {
  std::vector<uint8_t> d(72, 0);
  EXPECT_TRUE(wire::is_pingwave(d));
  d[0] = 0x52;
  d[1] = 0x54;  // "RT" at 72 bytes is still a pingwave (checked before "RT", §0.1)
  EXPECT_TRUE(wire::is_pingwave(d));
  d[0] = 0x45;
  d[1] = 0x4E;
  EXPECT_FALSE(wire::is_pingwave(d));
  EXPECT_FALSE(wire::is_pingwave(std::vector<uint8_t>(84, 0)));  // a heartbeat's size
  EXPECT_FALSE(wire::is_pingwave(std::vector<uint8_t>(14, 0)));
}

TEST(Pingwave, ForwardChainMatchesZeroTwentyThree) {
  wire::Pingwave pw;
  pw.ttl = wire::kPingwaveDefaultTtl;
  ASSERT_TRUE(wire::forward(pw));
  EXPECT_EQ(pw.ttl, 2);
  EXPECT_EQ(pw.hop_count, 1);
  ASSERT_TRUE(wire::forward(pw));
  ASSERT_TRUE(wire::forward(pw));
  EXPECT_EQ(pw.ttl, 0);
  EXPECT_EQ(pw.hop_count, 3);
  EXPECT_FALSE(wire::forward(pw));
  EXPECT_EQ(pw.hop_count, 3);
  pw.ttl = 1;
  pw.hop_count = 255;
  ASSERT_TRUE(wire::forward(pw));
  EXPECT_EQ(pw.hop_count, 255);
}

// ---------------------------------------------------------------- routing table

constexpr uint64_t kSelf = 0xA;
constexpr uint64_t kN1 = 0x11, kN2 = 0x22, kN3 = 0x33;  // direct neighbours
constexpr uint64_t kFar = 0x99;                          // reachable only through them

node::RoutingTable table_with_neighbours(size_t max = node::RoutingTable::kDefaultMaxRoutes) {
  node::RoutingTable t(kSelf, max);
  EXPECT_TRUE(t.add_neighbour(kN1, 0));
  EXPECT_TRUE(t.add_neighbour(kN2, 0));
  EXPECT_TRUE(t.add_neighbour(kN3, 0));
  return t;
}

TEST(RoutingTable, NeighbourIsAMetricOneRoute) {
  node::RoutingTable t(kSelf);
  EXPECT_FALSE(t.lookup(kN1).has_value());
  ASSERT_TRUE(t.add_neighbour(kN1, 5));
  EXPECT_EQ(t.lookup(kN1), (node::Route{kN1, kN1, 1, 5, 0}));
  EXPECT_TRUE(t.is_neighbour(kN1));
  EXPECT_FALSE(t.add_neighbour(kSelf, 5));
  EXPECT_FALSE(t.add_neighbour(0, 5));
  EXPECT_EQ(t.size(), 1u);
}

TEST(RoutingTable, RefusesSelfZeroAndNonNeighbourNextHops) {
  auto t = table_with_neighbours();
  EXPECT_FALSE(t.offer(kSelf, kN1, 3, 0, 1));   // route to self
  EXPECT_FALSE(t.offer(0, kN1, 3, 0, 1));       // dest 0
  EXPECT_FALSE(t.offer(kFar, 0x77, 3, 0, 1));   // next hop not a neighbour
  EXPECT_FALSE(t.offer(kFar, kSelf, 3, 0, 1));  // next hop self
  EXPECT_FALSE(t.offer(kFar, kN1, 0, 0, 1));    // metric 0
  EXPECT_FALSE(t.lookup(kFar).has_value());
  EXPECT_TRUE(t.offer(kFar, kN1, 3, 0, 1));
}

TEST(RoutingTable, PingwaveInstallsHopCountPlusTwo) {
  auto t = table_with_neighbours();
  ASSERT_TRUE(t.offer_pingwave(kFar, kN1, 0, 7, 100));
  EXPECT_EQ(t.lookup(kFar), (node::Route{kFar, kN1, 2, 100, 7}));
  ASSERT_TRUE(t.offer_pingwave(0x98, kN2, 15, 1, 100));  // 15 < MAX_HOPS
  EXPECT_EQ(t.lookup(0x98)->metric, 17u);
}

TEST(RoutingTable, PingwaveRefusesMaxHopsSelfOriginAndUnknownSource) {
  auto t = table_with_neighbours();
  EXPECT_FALSE(t.offer_pingwave(kFar, kN1, wire::kMaxHops, 1, 1));
  EXPECT_FALSE(t.offer_pingwave(kFar, kN1, 255, 1, 1));
  EXPECT_FALSE(t.offer_pingwave(kSelf, kN1, 0, 1, 1));
  EXPECT_FALSE(t.offer_pingwave(kFar, 0x77, 0, 1, 1));
  EXPECT_EQ(t.size(), 3u);
}

TEST(RoutingTable, PingwaveNeverDisplacesADirectNeighbour) {
  auto t = table_with_neighbours();
  EXPECT_FALSE(t.offer_pingwave(kN2, kN1, 0, 1, 1));    // N2 heard through N1
  EXPECT_FALSE(t.offer_pingwave(kN1, kN1, 0, 1, 1));    // N1's own pingwave
  EXPECT_FALSE(t.offer(kN2, kN1, 1, 1000, 1));          // even a forged metric 1 / seq
  EXPECT_EQ(t.lookup(kN2), (node::Route{kN2, kN2, 1, 0, 0}));
}

TEST(RoutingTable, StrictlyBetterMetricWinsEqualKeepsTheFirst) {
  auto t = table_with_neighbours();
  ASSERT_TRUE(t.offer(kFar, kN1, 5, 1, 10));
  EXPECT_FALSE(t.offer(kFar, kN2, 5, 1, 20));  // tie: installed route kept
  EXPECT_FALSE(t.offer(kFar, kN2, 6, 1, 20));  // worse
  EXPECT_EQ(t.lookup(kFar), (node::Route{kFar, kN1, 5, 10, 1}));  // not refreshed either
  ASSERT_TRUE(t.offer(kFar, kN2, 4, 1, 30));
  EXPECT_EQ(t.lookup(kFar), (node::Route{kFar, kN2, 4, 30, 1}));
}

// Raw (unauthenticated, 0.23) pingwaves can be forged from a 0.23 neighbour's address by
// anyone: one never moves a route that authenticated pingwaves made, however good its metric
// or new its seq (a forged hop count 0 and seq 2^64-1 won the route and then held it against
// every real wave, an audit found); an authenticated offer replaces a raw-learned route.
TEST(RoutingTable, RawPingwavesNeverMoveAnAuthenticatedRoute) {
  auto t = table_with_neighbours();
  ASSERT_TRUE(t.offer_pingwave(kFar, kN1, 1, 100, 10));                        // sealed, metric 3
  EXPECT_FALSE(t.offer_pingwave(kFar, kN2, 0, UINT64_MAX, 20, /*raw=*/true));  // forged
  EXPECT_EQ(t.lookup(kFar)->next_hop, kN1);
  ASSERT_TRUE(t.offer_pingwave(kFar, kN1, 1, 101, 30));  // the real path refreshes as before
  EXPECT_EQ(t.lookup(kFar), (node::Route{kFar, kN1, 3, 30, 101, false}));
}

TEST(RoutingTable, AnAuthenticatedPathReplacesARawLearnedRoute) {
  auto t = table_with_neighbours();
  ASSERT_TRUE(t.offer_pingwave(kFar, kN2, 0, UINT64_MAX, 10, /*raw=*/true));  // first, and forged
  ASSERT_TRUE(t.offer_pingwave(kFar, kN1, 3, 5, 20));  // longer, older: authenticated wins
  EXPECT_EQ(t.lookup(kFar), (node::Route{kFar, kN1, 5, 20, 5, false}));
  EXPECT_FALSE(t.offer_pingwave(kFar, kN2, 0, UINT64_MAX, 30, /*raw=*/true));
}

// A next hop's routes are indexed: removing it takes exactly the routes through it now,
// also after a route moved to another next hop (no scan of the table).
TEST(RoutingTable, RemovingANextHopTakesExactlyTheRoutesThroughItNow) {
  auto t = table_with_neighbours();
  ASSERT_TRUE(t.offer(0x201, kN1, 5, 1, 10));
  ASSERT_TRUE(t.offer(0x202, kN1, 5, 1, 10));
  ASSERT_TRUE(t.offer(0x203, kN2, 5, 1, 10));
  ASSERT_TRUE(t.offer(0x202, kN2, 4, 1, 20));  // moves to N2
  EXPECT_EQ(t.remove_next_hop(kN1), 2u);       // 0x201 and N1's own route
  EXPECT_FALSE(t.lookup(0x201));
  EXPECT_EQ(t.lookup(0x202)->next_hop, kN2);
  EXPECT_EQ(t.remove_next_hop(kN1), 0u);
  EXPECT_EQ(t.remove_next_hop(kN2), 3u);  // 0x202, 0x203 and N2's own
  EXPECT_EQ(t.size(), 1u);                 // N3's own
}

TEST(RoutingTable, CurrentNextHopRefreshesEvenWithAWorseMetricOrOlderSeq) {
  auto t = table_with_neighbours();
  ASSERT_TRUE(t.offer(kFar, kN1, 2, 10, 10));
  ASSERT_TRUE(t.offer(kFar, kN1, 6, 11, 20));  // the path got longer
  EXPECT_EQ(t.lookup(kFar), (node::Route{kFar, kN1, 6, 20, 11}));
  ASSERT_TRUE(t.offer(kFar, kN1, 6, 0, 30));   // origin restarted: seq back to 0
  EXPECT_EQ(t.lookup(kFar), (node::Route{kFar, kN1, 6, 30, 0}));
  // ...after which a shorter path via another neighbour wins again.
  ASSERT_TRUE(t.offer(kFar, kN2, 3, 0, 40));
  EXPECT_EQ(t.lookup(kFar)->next_hop, kN2);
}

TEST(RoutingTable, WorsePathTakesOverOnlyWhenTheCurrentOneMissedAWholeWave) {
  auto t = table_with_neighbours();
  ASSERT_TRUE(t.offer_pingwave(kFar, kN1, 0, 10, 10));   // metric 2, seq 10
  EXPECT_FALSE(t.offer_pingwave(kFar, kN2, 3, 11, 11));  // next wave, longer path, first
  EXPECT_EQ(t.lookup(kFar)->next_hop, kN1);
  ASSERT_TRUE(t.offer_pingwave(kFar, kN1, 0, 11, 12));   // N1 delivers it too
  EXPECT_FALSE(t.offer_pingwave(kFar, kN2, 3, 12, 16));  // N1 silent on wave 12...
  ASSERT_TRUE(t.offer_pingwave(kFar, kN2, 3, 13, 21));   // ...and 13: switch
  EXPECT_EQ(t.lookup(kFar), (node::Route{kFar, kN2, 5, 21, 13}));
  // A strictly better metric wins whatever its seq (a late copy of an old wave included).
  ASSERT_TRUE(t.offer_pingwave(kFar, kN1, 0, 5, 22));
  EXPECT_EQ(t.lookup(kFar), (node::Route{kFar, kN1, 2, 22, 5}));
}

TEST(RoutingTable, RemoveNextHopDropsEveryRouteThroughIt) {
  auto t = table_with_neighbours();
  ASSERT_TRUE(t.offer(0x91, kN1, 3, 0, 1));
  ASSERT_TRUE(t.offer(0x92, kN1, 3, 0, 1));
  ASSERT_TRUE(t.offer(0x93, kN2, 3, 0, 1));
  EXPECT_EQ(t.remove_next_hop(kN1), 3u);  // 0x91, 0x92 and N1's own route
  EXPECT_FALSE(t.lookup(0x91).has_value());
  EXPECT_FALSE(t.lookup(0x92).has_value());
  EXPECT_FALSE(t.lookup(kN1).has_value());
  EXPECT_FALSE(t.is_neighbour(kN1));
  EXPECT_TRUE(t.lookup(0x93).has_value());
  EXPECT_TRUE(t.lookup(kN2).has_value());
  EXPECT_FALSE(t.offer(0x91, kN1, 3, 0, 2));  // no longer a usable next hop
  ASSERT_TRUE(t.offer(0x91, kN3, 4, 0, 2));
  EXPECT_EQ(t.remove_neighbour(kN3), 2u);
  EXPECT_EQ(t.size(), 2u);  // N2 and 0x93
}

TEST(RoutingTable, AddNeighbourReplacesALearnedRoute) {
  auto t = table_with_neighbours();
  ASSERT_TRUE(t.offer(kFar, kN1, 4, 9, 1));
  ASSERT_TRUE(t.add_neighbour(kFar, 2));
  EXPECT_EQ(t.lookup(kFar), (node::Route{kFar, kFar, 1, 2, 0}));
  EXPECT_EQ(t.expire(1'000 * kSec, kSec), 0u);  // and it is pinned now
}

TEST(RoutingTable, ExpireDropsOnlyStaleLearnedRoutes) {
  auto t = table_with_neighbours();
  ASSERT_TRUE(t.offer(0x91, kN1, 3, 0, 0));
  ASSERT_TRUE(t.offer(0x92, kN2, 3, 0, 50 * kSec));
  ASSERT_TRUE(t.offer(0x91, kN1, 3, 1, 40 * kSec));  // refreshed by its next hop
  EXPECT_EQ(t.expire(130 * kSec, 90 * kSec), 0u);      // age exactly 90 s: kept
  EXPECT_EQ(t.expire(130 * kSec + 1, 90 * kSec), 1u);
  EXPECT_FALSE(t.lookup(0x91).has_value());
  EXPECT_TRUE(t.lookup(0x92).has_value());
  EXPECT_EQ(t.expire(1'000 * kSec, 90 * kSec), 1u);
  EXPECT_EQ(t.size(), 3u);  // the three neighbours never expire
}

TEST(RoutingTable, SizeIsBoundedAndTheOldestLearnedRouteIsEvicted) {
  auto t = table_with_neighbours(6);
  for (uint64_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(t.offer_pingwave(0x1000 + i, kN1 + (i % 2) * (kN2 - kN1), 1, i, int64_t(i)));
    ASSERT_LE(t.size(), 6u);
  }
  EXPECT_EQ(t.size(), 6u);
  for (uint64_t n : {kN1, kN2, kN3}) EXPECT_TRUE(t.lookup(n).has_value());
  for (uint64_t i = 997; i < 1000; ++i) EXPECT_TRUE(t.lookup(0x1000 + i).has_value()) << i;
  EXPECT_FALSE(t.lookup(0x1000 + 996).has_value());

  // Only neighbours left and full: nothing can be evicted.
  node::RoutingTable full(kSelf, 2);
  ASSERT_TRUE(full.add_neighbour(kN1, 0));
  ASSERT_TRUE(full.add_neighbour(kN2, 0));
  EXPECT_FALSE(full.add_neighbour(kN3, 0));
  EXPECT_FALSE(full.offer_pingwave(kFar, kN1, 0, 1, 1));
  EXPECT_TRUE(full.add_neighbour(kN1, 5));  // re-adding an existing one still works
}

TEST(RoutingTable, DefaultBoundHoldsAgainstAForgedOriginFlood) {
  auto t = table_with_neighbours();
  for (uint64_t i = 0; i < 70'000; ++i) t.offer_pingwave(0x100000 + i, kN1, 0, 1, int64_t(i));
  EXPECT_EQ(t.size(), node::RoutingTable::kDefaultMaxRoutes);
  EXPECT_TRUE(t.lookup(kN2).has_value());
}

TEST(RoutingTable, SplitHorizon) {
  using node::RoutingTable;
  EXPECT_FALSE(RoutingTable::should_forward_pingwave_to(kN1, kFar, kN1));  // back to sender
  EXPECT_FALSE(RoutingTable::should_forward_pingwave_to(kFar, kFar, kN1)); // to its origin
  EXPECT_FALSE(RoutingTable::should_forward_pingwave_to(kN1, kN1, kN1));
  EXPECT_TRUE(RoutingTable::should_forward_pingwave_to(kN2, kFar, kN1));
}

TEST(RoutingTable, SnapshotIsSortedByDest) {
  auto t = table_with_neighbours();
  ASSERT_TRUE(t.offer(0x05, kN3, 2, 0, 1));
  const auto all = t.snapshot();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].dest, 0x05u);
  EXPECT_EQ(all[1].dest, kN1);
  EXPECT_EQ(all[3].dest, kN3);
}

// ---------------------------------------------------------------- failure detector (§10)

using FD = node::FailureDetector;
using St = FD::State;

TEST(FailureDetector, DefaultsAreZeroTwentyThrees) {
  FD fd;
  EXPECT_EQ(fd.config().suspect_after_ns, 60 * kSec);
  EXPECT_EQ(fd.config().fail_after_ns, 90 * kSec);
}

TEST(FailureDetector, HealthySuspectedFailedEachReportedOnce) {
  FD fd;
  fd.add(1, 0);
  EXPECT_EQ(fd.state(1), St::kHealthy);
  EXPECT_TRUE(fd.check(60 * kSec - 1).empty());
  EXPECT_EQ(fd.check(60 * kSec), (std::vector<FD::Transition>{{1, St::kHealthy, St::kSuspected}}));
  EXPECT_EQ(fd.state(1), St::kSuspected);
  EXPECT_TRUE(fd.check(60 * kSec).empty());
  EXPECT_TRUE(fd.check(90 * kSec - 1).empty());
  EXPECT_EQ(fd.check(90 * kSec), (std::vector<FD::Transition>{{1, St::kSuspected, St::kFailed}}));
  EXPECT_EQ(fd.state(1), St::kFailed);
  EXPECT_TRUE(fd.check(95 * kSec).empty());
  EXPECT_TRUE(fd.check(10'000 * kSec).empty());
}

TEST(FailureDetector, SparseChecksReportTheNetChange) {
  FD fd;
  fd.add(1, 0);
  EXPECT_EQ(fd.check(100 * kSec), (std::vector<FD::Transition>{{1, St::kHealthy, St::kFailed}}));
}

TEST(FailureDetector, HeartbeatRecoversASuspectedPeer) {
  FD fd;
  fd.add(1, 0);
  ASSERT_EQ(fd.check(70 * kSec).size(), 1u);
  fd.heartbeat(1, 71 * kSec);
  EXPECT_EQ(fd.state(1), St::kHealthy);  // at once
  EXPECT_EQ(fd.check(72 * kSec), (std::vector<FD::Transition>{{1, St::kSuspected, St::kHealthy}}));
  EXPECT_TRUE(fd.check(72 * kSec).empty());
  EXPECT_TRUE(fd.check(71 * kSec + 60 * kSec - 1).empty());  // suspicion restarts from 71 s
  EXPECT_EQ(fd.check(71 * kSec + 60 * kSec).size(), 1u);
}

TEST(FailureDetector, HeartbeatRecoversAFailedPeer) {
  FD fd;
  fd.add(1, 0);
  fd.check(60 * kSec);
  fd.check(90 * kSec);
  ASSERT_EQ(fd.state(1), St::kFailed);
  fd.heartbeat(1, 200 * kSec);
  EXPECT_EQ(fd.state(1), St::kHealthy);
  EXPECT_EQ(fd.check(201 * kSec), (std::vector<FD::Transition>{{1, St::kFailed, St::kHealthy}}));
  EXPECT_TRUE(fd.check(202 * kSec).empty());
}

TEST(FailureDetector, RegularHeartbeatsKeepAPeerHealthy) {
  FD fd;
  fd.add(1, 0);
  for (int64_t t = 5; t <= 600; t += 5) {
    fd.heartbeat(1, t * kSec);
    EXPECT_TRUE(fd.check(t * kSec + kSec).empty()) << t;
  }
  EXPECT_EQ(fd.state(1), St::kHealthy);
}

TEST(FailureDetector, AnOutOfOrderTimestampDoesNotRewindTheLastHeartbeat) {
  FD fd;
  fd.add(1, 50 * kSec);
  fd.heartbeat(1, 10 * kSec);
  EXPECT_TRUE(fd.check(109 * kSec).empty());  // still measured from 50 s
  EXPECT_EQ(fd.check(110 * kSec).size(), 1u);
}

TEST(FailureDetector, UnknownPeersAndRemoval) {
  FD fd;
  EXPECT_EQ(fd.state(7), St::kUnknown);
  fd.heartbeat(7, 0);  // not tracked: ignored, not added
  EXPECT_EQ(fd.state(7), St::kUnknown);
  EXPECT_EQ(fd.size(), 0u);
  fd.add(7, 0);
  fd.add(8, 0);
  fd.remove(7);
  EXPECT_EQ(fd.state(7), St::kUnknown);
  EXPECT_EQ(fd.check(100 * kSec), (std::vector<FD::Transition>{{8, St::kHealthy, St::kFailed}}));
}

TEST(FailureDetector, ReAddingCountsAsAHeartbeat) {
  FD fd;
  fd.add(1, 0);
  fd.check(70 * kSec);
  fd.add(1, 80 * kSec);
  EXPECT_EQ(fd.state(1), St::kHealthy);
  EXPECT_EQ(fd.check(81 * kSec), (std::vector<FD::Transition>{{1, St::kSuspected, St::kHealthy}}));
}

TEST(FailureDetector, ConfigurableThresholdsAndSortedTransitions) {
  FD fd({.suspect_after_ns = kSec, .fail_after_ns = 2 * kSec});
  fd.add(30, 0);
  fd.add(10, 0);
  fd.add(20, kSec);
  EXPECT_EQ(fd.check(kSec), (std::vector<FD::Transition>{{10, St::kHealthy, St::kSuspected},
                                                         {30, St::kHealthy, St::kSuspected}}));
  EXPECT_EQ(fd.check(2 * kSec), (std::vector<FD::Transition>{{10, St::kSuspected, St::kFailed},
                                                             {20, St::kHealthy, St::kSuspected},
                                                             {30, St::kSuspected, St::kFailed}}));
}

TEST(FailureDetector, InconsistentConfigIsClamped) {
  FD fd({.suspect_after_ns = 10 * kSec, .fail_after_ns = 5 * kSec});
  EXPECT_EQ(fd.config().fail_after_ns, 10 * kSec);
  fd.add(1, 0);
  EXPECT_EQ(fd.check(10 * kSec), (std::vector<FD::Transition>{{1, St::kHealthy, St::kFailed}}));
}

}  // namespace
}  // namespace nm
