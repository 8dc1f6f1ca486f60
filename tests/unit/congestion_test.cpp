// Congestion control: RttStats (RFC 9002 §5), NewReno (RFC 9002 §7) and CUBIC with
// HyStart++ (RFC 9438, RFC 9406), driven through simulated round trips.
#include <gtest/gtest.h>

#include "session/congestion.h"
#include "session/congestion_undo.h"
#include "session/cubic.h"
#include "session/new_reno.h"
#include "session/rtt_stats.h"

namespace nm::session {
namespace {

constexpr uint64_t kMds = 1200;
constexpr int64_t kMs = 1'000'000;

TEST(RttStats, FirstSampleThenSmoothingWithTrustedAckDelay) {
  RttStats r;
  EXPECT_FALSE(r.has_sample());
  EXPECT_EQ(r.smoothed(), RttStats::kInitialRttNs);
  r.on_sample(100 * kMs, 50 * kMs, 25 * kMs);  // the first sample ignores ack delay
  EXPECT_EQ(r.smoothed(), 100 * kMs);
  EXPECT_EQ(r.rttvar(), 50 * kMs);
  EXPECT_EQ(r.min(), 100 * kMs);
  r.on_sample(130 * kMs, 50 * kMs, 25 * kMs);  // delay trusted up to 25 ms: adjusted 105
  EXPECT_EQ(r.smoothed(), (7 * 100 + 105) * kMs / 8);
  r.on_sample(101 * kMs, 10 * kMs, 25 * kMs);  // would go below min + delay: not adjusted
  EXPECT_EQ(r.min(), 100 * kMs);
  EXPECT_EQ(r.latest(), 101 * kMs);
  EXPECT_GT(r.pto(25 * kMs), r.smoothed() + 25 * kMs);
}

// Sends a full window, then acknowledges it all one RTT later (loss-free round).
void round_trip(CongestionController& cc, RttStats& rtt, int64_t& now, int64_t rtt_ns) {
  uint64_t n = cc.window() / kMds;
  int64_t sent = now;
  for (uint64_t i = 0; i < n; ++i) cc.on_sent(kMds);
  now += rtt_ns;
  uint64_t prior = cc.in_flight();  // one acknowledgement covers the whole flight
  for (uint64_t i = 0; i < n; ++i) {
    rtt.on_sample(rtt_ns, 0, 0);
    cc.on_acked(now, kMds, sent, rtt, prior);
  }
}

TEST(NewReno, LargeDatagramsGrowByATcpSegmentPerWindow) {
  constexpr uint64_t kBig = 8192;
  NewReno cc(kBig);
  RttStats rtt;
  int64_t now = 1000 * kMs;
  cc.on_sent(kBig);
  cc.on_lost(now, kBig, now - 1);  // out of slow start at 5 datagrams
  uint64_t before = cc.window();
  now += kMs;
  int64_t sent = now;
  uint64_t n = before / kBig;
  for (uint64_t i = 0; i < n; ++i) cc.on_sent(kBig);
  now += 50 * kMs;
  uint64_t prior = cc.in_flight();
  for (uint64_t i = 0; i < n; ++i) cc.on_acked(now, kBig, sent, rtt, prior);
  // A whole window acknowledged: one segment more, as a TCP flow on the same path.
  EXPECT_EQ(cc.window(), before + CongestionController::kTcpSegmentBytes);
}

TEST(NewReno, SlowStartDoublesThenAvoidanceAddsOneDatagramPerWindow) {
  NewReno cc(kMds);
  RttStats rtt;
  int64_t now = 1000 * kMs;
  EXPECT_EQ(cc.window(), 10 * kMds);
  round_trip(cc, rtt, now, 50 * kMs);
  EXPECT_EQ(cc.window(), 20 * kMds);
  cc.on_sent(kMds);
  cc.on_lost(now, kMds, now - 1);  // sent before any recovery: a congestion event
  EXPECT_EQ(cc.window(), 10 * kMds);
  EXPECT_FALSE(cc.in_slow_start());
  now += kMs;
  round_trip(cc, rtt, now, 50 * kMs);
  EXPECT_EQ(cc.window(), 11 * kMds);
}

TEST(NewReno, LossesOfOneRoundTripAreOneEvent) {
  NewReno cc(kMds);
  int64_t now = 1000 * kMs;
  for (int i = 0; i < 10; ++i) cc.on_sent(kMds);
  cc.on_lost(now, kMds, now - 10 * kMs);
  uint64_t after = cc.window();
  cc.on_lost(now + kMs, kMds, now - 5 * kMs);  // sent before recovery began: same event
  EXPECT_EQ(cc.window(), after);
  EXPECT_EQ(cc.congestion_events(), 1u);
  cc.on_lost(now + 2 * kMs, kMds, now + kMs);  // sent after: a new event
  EXPECT_LT(cc.window(), after);
  cc.on_persistent_congestion();
  EXPECT_EQ(cc.window(), CongestionController::kMinimumPackets * kMds);
  EXPECT_EQ(cc.congestion_events(), 3u);
}

TEST(NewReno, AnApplicationLimitedSenderDoesNotGrowTheWindow) {
  NewReno cc(kMds);
  RttStats rtt;
  for (int i = 0; i < 100; ++i) {  // one datagram in flight at a time
    cc.on_sent(kMds);
    rtt.on_sample(10 * kMs, 0, 0);
    cc.on_acked(i * 10 * kMs, kMds, i * 10 * kMs - 1, rtt, cc.in_flight());
  }
  EXPECT_EQ(cc.window(), 10 * kMds);
  EXPECT_EQ(cc.in_flight(), 0u);
}

TEST(Cubic, ReducesToBetaAndGrowsBackPastTheOldMaximum) {
  Cubic cc(kMds);
  RttStats rtt;
  int64_t now = 1000 * kMs;
  for (int i = 0; i < 4; ++i) round_trip(cc, rtt, now, 20 * kMs);  // 160 datagrams
  uint64_t before = cc.window();
  cc.on_sent(kMds);
  cc.on_lost(now, kMds, now - 1);
  EXPECT_EQ(cc.window(), static_cast<uint64_t>(before * Cubic::kBeta));
  // K = cbrt(W_max (1 - beta) / C) in datagrams: about 4.9 s for 160 datagrams.
  int64_t end = now + 10'000 * kMs;
  bool reached = false;
  while (now < end) {
    round_trip(cc, rtt, now, 20 * kMs);
    reached |= cc.window() >= before;
  }
  EXPECT_TRUE(reached);
  EXPECT_GT(cc.window(), before);  // convex growth beyond the old maximum
}

TEST(Cubic, HyStartEndsSlowStartWhenTheRttRises) {
  Cubic cc(kMds);
  RttStats rtt;
  int64_t now = 1000 * kMs;
  int64_t base = 40 * kMs;
  round_trip(cc, rtt, now, base);
  round_trip(cc, rtt, now, base);
  EXPECT_TRUE(cc.in_slow_start());
  // The bottleneck queue fills: each round 10 ms slower (above the 5 ms threshold).
  for (int i = 1; i <= 8 && cc.in_slow_start(); ++i) round_trip(cc, rtt, now, base + i * 10 * kMs);
  EXPECT_FALSE(cc.in_slow_start());  // ended by HyStart++, without any loss
  EXPECT_LT(cc.window(), 200 * kMds * 4);
}

TEST(Cubic, SteadyRttKeepsSlowStartGoing) {
  Cubic cc(kMds);
  RttStats rtt;
  int64_t now = 1000 * kMs;
  for (int i = 0; i < 6; ++i) round_trip(cc, rtt, now, 40 * kMs);
  EXPECT_TRUE(cc.in_slow_start());
  EXPECT_FALSE(cc.in_conservative_slow_start());
  EXPECT_EQ(cc.window(), 10 * kMds << 6);
}

// Slow start grew the window to 40 datagrams while the lost one, sent with 20 in flight,
// was on its way. With the queue full (RTT 100 -> 150 ms) the reduction starts from those
// 20; after a random loss on an empty queue, from the window.
TEST(Congestion, SlowStartOvershootIsCutFromTheFlightWhenTheLostDatagramLeft) {
  for (bool queue_full : {true, false}) {
    auto cc = make_congestion_controller(CongestionAlgorithm::kCubic, kMds);
    RttStats rtt;
    int64_t now = 1000 * kMs;
    rtt.on_sample(100 * kMs, 0, 0);
    for (int i = 0; i < 3; ++i) round_trip(*cc, rtt, now, 100 * kMs);  // 10 -> 80 datagrams
    ASSERT_TRUE(cc->in_slow_start());
    uint64_t window = cc->window();
    rtt.on_sample(queue_full ? 150 * kMs : 100 * kMs, 0, 0);
    cc->on_sent(kMds);
    cc->on_lost(now, kMds, now - 50 * kMs, window / 2, rtt);
    uint64_t base = queue_full ? window / 2 : window;
    EXPECT_EQ(cc->window(), static_cast<uint64_t>(static_cast<double>(base) * Cubic::kBeta)) << queue_full;
    EXPECT_FALSE(cc->in_slow_start());
  }
}

// A queue a sixth of the path (the WAN bed at 300 ms): the lost datagram left with 40 in
// flight, 34 on the path and 6 in its queue (RTT 100 -> 117 ms). beta would leave 28, and
// the link idle until the window climbed back; the cut stops at the 34 the path holds.
// With a queue as deep as the path (RTT 100 -> 200 ms), beta's 28 is above the path's 20.
// A controller after `rounds` loss-free round trips on a 100 ms path.
struct Warmed {
  std::unique_ptr<CongestionController> cc;
  RttStats rtt;
  int64_t now = 1000 * kMs;
};
Warmed warmed(CongestionAlgorithm algorithm, int rounds) {
  Warmed w;
  w.cc = make_congestion_controller(algorithm, kMds);
  w.rtt.on_sample(100 * kMs, 0, 0);
  for (int i = 0; i < rounds; ++i) round_trip(*w.cc, w.rtt, w.now, 100 * kMs);
  return w;
}

// The multiplicative decrease alone: beta (CUBIC) or a half (NewReno) of `window`.
uint64_t beta_cut(CongestionAlgorithm algorithm, uint64_t window) {
  return algorithm == CongestionAlgorithm::kCubic ? static_cast<uint64_t>(static_cast<double>(window) * Cubic::kBeta)
                                                  : window / 2;
}

TEST(Congestion, SlowStartOvershootIsNotCutBelowWhatThePathHolds) {
  for (int64_t latest_ms : {117, 200}) {
    for (auto algorithm : {CongestionAlgorithm::kCubic, CongestionAlgorithm::kNewReno}) {
      Warmed w = warmed(algorithm, 3);  // 10 -> 80 datagrams
      w.rtt.on_sample(latest_ms * kMs, 0, 0);
      w.cc->on_sent(kMds);
      w.cc->on_lost(w.now, kMds, w.now - 50 * kMs, 40 * kMds, w.rtt);
      uint64_t path = 40 * kMds * 100 / static_cast<uint64_t>(latest_ms);
      EXPECT_EQ(w.cc->window(), std::max(path, beta_cut(algorithm, 40 * kMds))) << latest_ms;
      EXPECT_FALSE(w.cc->in_slow_start());
    }
  }
}

// The same in congestion avoidance: a loss with the queue full (RTT 100 -> 117 ms, a queue
// a sixth of the path) cuts the window to the path's 34 datagrams, not beta's 28; with the
// queue not full (a random loss), or deep (RTT 100 -> 200 ms), beta's cut stands.
TEST(Congestion, AReductionWithTheQueueFullStopsAtWhatThePathHolds) {
  for (int64_t latest_ms : {117, 100, 200}) {
    for (auto algorithm : {CongestionAlgorithm::kCubic, CongestionAlgorithm::kNewReno}) {
      Warmed w = warmed(algorithm, 2);  // 10 -> 40 datagrams
      w.cc->on_sent(kMds);
      w.cc->on_lost(w.now, kMds, w.now - 1, 0, w.rtt);  // ends slow start (nothing known of the flight)
      ASSERT_FALSE(w.cc->in_slow_start());
      while (w.cc->window() < 40 * kMds) round_trip(*w.cc, w.rtt, w.now, 100 * kMs);
      uint64_t window = w.cc->window();
      w.rtt.on_sample(latest_ms * kMs, 0, 0);
      w.cc->on_sent(kMds);
      w.cc->on_lost(w.now, kMds, w.now - 1, window, w.rtt);
      uint64_t path = window * 100 / static_cast<uint64_t>(latest_ms);
      uint64_t beta = beta_cut(algorithm, window);
      uint64_t expected = latest_ms == 117 ? std::max(path, beta) : beta;
      EXPECT_NEAR(static_cast<double>(w.cc->window()), static_cast<double>(expected), 1.0) << latest_ms;
      EXPECT_EQ(w.cc->congestion_events(), 2u);
    }
  }
}

TEST(Congestion, TheMaximumDatagramChangeKeepsTheWindowsBytes) {
  auto cc = make_congestion_controller(CongestionAlgorithm::kCubic, 1200);
  cc->set_max_datagram(8192);  // before any loss: the initial window at the new size
  EXPECT_EQ(cc->window(), 10u * 8192);
  cc->on_sent(8192);
  cc->on_lost(1'000'000, 8192, 0);
  uint64_t after_loss = cc->window();
  cc->set_max_datagram(1200);  // a black hole: the bytes the path held stay
  EXPECT_EQ(cc->window(), after_loss);
  cc->set_max_datagram(100'000);  // never below two datagrams
  EXPECT_EQ(cc->window(), 200'000u);
  cc->set_max_datagram(1200);
  cc->on_persistent_congestion();  // 2,400 bytes: an 8 KiB packet kept from before still goes
  EXPECT_TRUE(cc->can_send(8192));  // alone, as nothing is in flight
  cc->on_sent(8192);
  EXPECT_FALSE(cc->can_send(1200));
  EXPECT_EQ(cc->algorithm(), CongestionAlgorithm::kCubic);
  EXPECT_EQ(make_congestion_controller(CongestionAlgorithm::kNewReno, 1200)->algorithm(),
            CongestionAlgorithm::kNewReno);
}

TEST(Congestion, UndoPutsBackTheWindowButKeepsTheFlight) {
  // Losses that a black hole caused are not congestion: the state from before them returns.
  for (auto algorithm : {CongestionAlgorithm::kCubic, CongestionAlgorithm::kNewReno}) {
    std::unique_ptr<CongestionController> cc = make_congestion_controller(algorithm, kMds);
    RttStats rtt;
    int64_t now = 1000 * kMs;
    for (int i = 0; i < 3; ++i) round_trip(*cc, rtt, now, 20 * kMs);
    uint64_t before = cc->window();
    std::unique_ptr<CongestionController> saved = cc->clone();
    for (int i = 0; i < 30; ++i) cc->on_sent(kMds);
    cc->on_lost(now, kMds, now - 1);
    cc->on_lost(now + 100 * kMs, kMds, now + 50 * kMs);  // a second round trip, a second cut
    ASSERT_LT(cc->window(), before);
    uint64_t events = cc->congestion_events();
    CongestionController::undo(cc, std::move(saved));
    EXPECT_EQ(cc->window(), before);
    EXPECT_EQ(cc->in_flight(), 28 * kMds);  // the datagrams still out stay counted
    EXPECT_EQ(cc->congestion_events(), events);
    EXPECT_EQ(cc->algorithm(), algorithm);
    // And it goes on from there: an acknowledgement grows it, not recovery's old state.
    cc->on_acked(now + 200 * kMs, kMds, now + 150 * kMs, rtt, cc->window());
    EXPECT_GT(cc->window(), before);
  }
}

SentDatagram lost_datagram(uint64_t pn, int64_t sent_ns) {
  SentDatagram d;
  d.pn = pn;
  d.sent_ns = sent_ns;
  d.bytes = kMds;
  return d;
}

// Reordering, not loss: the controller gets each loss as congestion when it is declared,
// and the undo puts the window back once every loss of that event proved spurious.
TEST(CongestionUndo, AnEventWhoseLossesAllProveSpuriousIsUndone) {
  std::unique_ptr<CongestionController> cc = make_congestion_controller(CongestionAlgorithm::kCubic, kMds);
  RttStats rtt;
  int64_t now = 1000 * kMs;
  for (int i = 0; i < 3; ++i) round_trip(*cc, rtt, now, 20 * kMs);
  for (int i = 0; i < 30; ++i) cc->on_sent(kMds);
  uint64_t before = cc->window();
  CongestionUndo undo;
  for (uint64_t pn : {40, 41}) {  // one event, two datagrams
    undo.before_loss(*cc, lost_datagram(pn, now - 1));
    cc->on_lost(now, kMds, now - 1);
  }
  ASSERT_LT(cc->window(), before);
  EXPECT_EQ(undo.on_spurious(39), nullptr);  // a loss from before the event
  EXPECT_EQ(undo.on_spurious(40), nullptr);  // 41 may still be a real loss
  std::unique_ptr<CongestionController> earlier = undo.on_spurious(41);
  ASSERT_NE(earlier, nullptr);
  CongestionController::undo(cc, std::move(earlier));
  EXPECT_EQ(cc->window(), before);
  EXPECT_EQ(undo.on_spurious(42), nullptr);  // nothing saved any more
}

TEST(CongestionUndo, ARealLossInTheEventKeepsTheReduction) {
  std::unique_ptr<CongestionController> cc = make_congestion_controller(CongestionAlgorithm::kNewReno, kMds);
  int64_t now = 1000 * kMs;
  for (int i = 0; i < 10; ++i) cc->on_sent(kMds);
  CongestionUndo undo;
  undo.before_loss(*cc, lost_datagram(5, now - 10 * kMs));
  cc->on_lost(now, kMds, now - 10 * kMs);
  undo.before_loss(*cc, lost_datagram(6, now - 9 * kMs));
  cc->on_lost(now, kMds, now - 9 * kMs);
  EXPECT_EQ(undo.on_spurious(6), nullptr);  // 5 was really lost
  // A later event saves the state anew: its own losses decide it.
  undo.before_loss(*cc, lost_datagram(20, now + kMs));
  uint64_t before = cc->window();
  cc->on_lost(now + 50 * kMs, kMds, now + kMs);
  EXPECT_EQ(undo.on_spurious(5), nullptr);  // the earlier event's
  std::unique_ptr<CongestionController> earlier = undo.on_spurious(20);
  ASSERT_NE(earlier, nullptr);
  EXPECT_EQ(earlier->window(), before);
}

TEST(CongestionUndo, BbrHasNothingToUndo) {
  std::unique_ptr<CongestionController> cc = make_congestion_controller(CongestionAlgorithm::kBbr, kMds);
  CongestionUndo undo;
  undo.before_loss(*cc, lost_datagram(1, 0));
  cc->on_lost(kMs, kMds, 0);
  EXPECT_EQ(undo.on_spurious(1), nullptr);
}

}  // namespace
}  // namespace nm::session
