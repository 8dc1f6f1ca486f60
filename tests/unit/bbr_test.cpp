// BBR and delivery rate estimation, driven through a simulated path: a paced sender, a
// bottleneck that serves datagrams at a fixed rate from a drop-tail queue, a fixed
// propagation delay, optional random loss, and one acknowledgement per datagram.
#include <gtest/gtest.h>

#include <deque>
#include <random>

#include "session/bbr.h"
#include "session/congestion.h"
#include "session/cubic.h"
#include "session/delivery_rate.h"
#include "session/rtt_stats.h"

namespace nm::session {
namespace {

constexpr uint64_t kMds = 1200;
constexpr int64_t kMs = 1'000'000;

TEST(DeliveryRate, SampleIsBytesDeliveredOverTheLongerInterval) {
  DeliveryRate d;
  // Ten datagrams leave 1 ms apart; the first is acknowledged at 100 ms, then one per 2 ms.
  std::vector<DeliveryState> states;
  for (int i = 0; i < 10; ++i) states.push_back(d.on_sent(i * kMs, i * kMds));
  d.on_acked(100 * kMs, kMds, 0, states[0]);
  RateSample first = d.take_sample();
  EXPECT_EQ(first.acked, kMds);
  EXPECT_EQ(first.interval_ns, 100 * kMs);  // the acknowledgement interval: since the flight began
  for (int i = 1; i < 10; ++i) d.on_acked((100 + 2 * i) * kMs, kMds, i * kMs, states[i]);
  RateSample s = d.take_sample();  // one acknowledgement covering nine
  EXPECT_EQ(s.acked, 9 * kMds);
  EXPECT_EQ(s.delivered, 10 * kMds);
  // From the newest datagram (sent at 9 ms, when nothing was delivered yet): 12 KB over
  // max(send 9 ms, ack 118 ms).
  EXPECT_EQ(s.interval_ns, 118 * kMs);
  EXPECT_NEAR(s.bytes_per_sec, 10.0 * kMds / 0.118, 1);
  EXPECT_FALSE(s.app_limited);
  EXPECT_EQ(d.take_sample().bytes_per_sec, 0);  // nothing new
}

TEST(DeliveryRate, AppLimitedUntilTheFlightThenIsDelivered) {
  DeliveryRate d;
  DeliveryState a = d.on_sent(0, 0);
  d.on_app_limited(kMds);
  DeliveryState b = d.on_sent(kMs, kMds);
  EXPECT_FALSE(a.app_limited);
  EXPECT_TRUE(b.app_limited);
  d.on_acked(50 * kMs, kMds, 0, a);
  d.take_sample();
  d.on_acked(51 * kMs, kMds, kMs, b);
  EXPECT_TRUE(d.take_sample().app_limited);
  EXPECT_FALSE(d.on_sent(52 * kMs, 0).app_limited);  // the limited flight was delivered
}

struct PathResult {
  double goodput = 0;  // bytes per second delivered over the run
  uint64_t lost = 0;
};

// A 1 ms-step simulation of one flow through a bottleneck of `rate` bytes per second with
// `queue_bytes` of drop-tail queue, `rtt_ns` of propagation delay and `loss` random loss
// (after the queue). Losses are declared one RTT after the datagram left.
class Path {
 public:
  Path(CongestionController& cc, double rate, int64_t rtt_ns, uint64_t queue_bytes, double loss)
      : cc_(cc), rate_(rate), rtt_ns_(rtt_ns), queue_bytes_(queue_bytes), loss_(loss) {}

  // Runs until `until_ns`; `app_rate` > 0 limits what the application offers.
  PathResult run(int64_t until_ns, double app_rate = 0, const std::function<void(int64_t)>& each_ms = {}) {
    PathResult r;
    uint64_t delivered_at_start = delivered_;
    int64_t start = now_;
    for (; now_ < until_ns; now_ += kMs) {
      deliver_acks(r);
      send(app_rate);
      serve();
      if (each_ms) each_ms(now_);
    }
    r.goodput = static_cast<double>(delivered_ - delivered_at_start) * 1e9 / static_cast<double>(now_ - start);
    return r;
  }
  const RttStats& rtt() const { return rtt_; }
  int64_t now() const { return now_; }

 private:
  struct Datagram {
    int64_t sent_ns;
    DeliveryState state;
    int64_t ack_at = 0;
    bool lost = false;
  };

  void send(double app_rate) {
    tokens_ = std::min(tokens_ + cc_.pacing_rate(rtt_) / 1000, 2.0 * kMds + cc_.pacing_rate(rtt_) / 500);
    if (app_rate > 0) offered_ = std::min(offered_ + app_rate / 1000, 4.0 * kMds);
    while (tokens_ >= kMds && cc_.can_send(kMds) && (app_rate == 0 || offered_ >= kMds)) {
      tokens_ -= kMds;
      if (app_rate > 0) offered_ -= kMds;
      Datagram d{now_, delivery_.on_sent(now_, cc_.in_flight())};
      cc_.on_sent(kMds);
      if (queued_ + kMds > queue_bytes_) {
        d.lost = true;  // drop-tail
        d.ack_at = now_ + rtt_ns_;
      } else {
        queued_ += kMds;
      }
      flight_.push_back(d);
    }
    if (app_rate > 0 && offered_ < kMds && cc_.in_flight() < cc_.window()) delivery_.on_app_limited(cc_.in_flight());
  }

  // The bottleneck serves the queue in order; a served datagram may be lost at random.
  void serve() {
    service_ += rate_ / 1000;
    for (Datagram& d : flight_) {
      if (d.ack_at != 0) continue;
      if (service_ < kMds) break;
      service_ -= kMds;
      queued_ -= kMds;
      d.lost = random_(rng_) < loss_;
      d.ack_at = now_ + rtt_ns_;
    }
    if (queued_ == 0) service_ = std::min(service_, double{kMds});
  }

  void deliver_acks(PathResult& r) {
    bool any = false, sampled = false;
    uint64_t prior = cc_.in_flight();
    while (!flight_.empty() && flight_.front().ack_at != 0 && flight_.front().ack_at <= now_) {
      Datagram d = flight_.front();
      flight_.pop_front();
      if (d.lost) {
        ++r.lost;
        cc_.on_lost(now_, kMds, d.sent_ns, 0, rtt_);
        continue;
      }
      rtt_.on_sample(now_ - d.sent_ns, 0, 0);
      sampled = any = true;
      delivered_ += kMds;
      delivery_.on_acked(now_, kMds, d.sent_ns, d.state);
      cc_.on_acked(now_, kMds, d.sent_ns, rtt_, prior);
    }
    if (any) cc_.on_rate_sample(now_, delivery_.take_sample(), rtt_, sampled);
  }

  CongestionController& cc_;
  DeliveryRate delivery_;
  RttStats rtt_;
  double rate_;
  int64_t rtt_ns_;
  uint64_t queue_bytes_;
  double loss_;
  std::mt19937 rng_{7};
  std::uniform_real_distribution<double> random_{0, 1};
  std::deque<Datagram> flight_;
  int64_t now_ = kMs;
  double tokens_ = 0, offered_ = 0, service_ = 0;
  uint64_t queued_ = 0;
  uint64_t delivered_ = 0;
};

constexpr double kRate = 2.5e6;  // 20 Mbit/s

TEST(Bbr, StartupFindsTheBottleneckThenDrainsAndCruises) {
  Bbr cc(kMds);
  Path path(cc, kRate, 40 * kMs, 125'000, 0);  // 50 ms of queue
  path.run(2000 * kMs);
  EXPECT_EQ(cc.mode(), Bbr::Mode::kProbeBw);
  EXPECT_FALSE(cc.in_slow_start());
  EXPECT_NEAR(cc.bandwidth(), kRate, kRate * 0.1);
  EXPECT_GE(cc.min_rtt(), 40 * kMs);
  EXPECT_LE(cc.min_rtt(), 43 * kMs);
  PathResult steady = path.run(6000 * kMs);
  EXPECT_GT(steady.goodput, 0.95 * kRate);
  // The queue stays short: about two bandwidth-delay products in flight at most.
  EXPECT_LT(path.rtt().smoothed(), 40 * kMs + 50 * kMs);
  EXPECT_LE(cc.window(), static_cast<uint64_t>(2.1 * kRate * 0.040) + 4 * kMds);
}

// The case the issue names: 200 ms, 5% random loss. CUBIC halves its window at every loss
// and stays far below the link; BBR keeps measuring the bottleneck's rate.
TEST(Bbr, RandomLossDoesNotSlowItWhereCubicCollapses) {
  Bbr bbr(kMds);
  Path with_bbr(bbr, kRate, 200 * kMs, 625'000, 0.05);
  PathResult b = with_bbr.run(15'000 * kMs);
  Cubic cubic(kMds);
  Path with_cubic(cubic, kRate, 200 * kMs, 625'000, 0.05);
  PathResult c = with_cubic.run(15'000 * kMs);
  EXPECT_GT(b.lost, 500u);
  EXPECT_GT(b.goodput, 0.75 * kRate);
  EXPECT_LT(c.goodput, 0.3 * kRate);
  EXPECT_GT(bbr.congestion_events(), 0u);  // losses are still counted
}

TEST(Bbr, ProbeRttDrainsToFourDatagramsEveryTenSeconds) {
  Bbr cc(kMds);
  Path path(cc, kRate, 40 * kMs, 125'000, 0);
  bool probed = false;
  uint64_t smallest = UINT64_MAX;
  path.run(12'000 * kMs, 0, [&](int64_t) {
    if (cc.mode() != Bbr::Mode::kProbeRtt) return;
    probed = true;
    smallest = std::min(smallest, cc.window());
  });
  EXPECT_TRUE(probed);
  EXPECT_EQ(smallest, Bbr::kMinPipePackets * kMds);
  path.run(13'000 * kMs);
  EXPECT_EQ(cc.mode(), Bbr::Mode::kProbeBw);  // back after 200 ms and a round
  EXPECT_NEAR(cc.bandwidth(), kRate, kRate * 0.1);
}

TEST(Bbr, AnApplicationLimitedPhaseKeepsTheBandwidthEstimate) {
  Bbr cc(kMds);
  Path path(cc, kRate, 40 * kMs, 125'000, 0);
  path.run(3000 * kMs);
  double full = cc.bandwidth();
  PathResult slow = path.run(5000 * kMs, kRate / 10);  // 20 rounds at a tenth of the link
  EXPECT_LT(slow.goodput, 0.15 * kRate);  // the offered tenth, and the flight it began with
  EXPECT_NEAR(cc.bandwidth(), full, full * 0.1);
}

TEST(Bbr, MadeByTheFactoryAndPacedAtStartupGainBeforeAnySample) {
  auto cc = make_congestion_controller(CongestionAlgorithm::kBbr, kMds);
  EXPECT_EQ(cc->algorithm(), CongestionAlgorithm::kBbr);
  RttStats rtt;
  rtt.on_sample(100 * kMs, 0, 0);
  EXPECT_NEAR(cc->pacing_rate(rtt), Bbr::kHighGain * 10 * kMds / 0.1, 1);
  cc->on_sent(kMds);
  cc->on_persistent_congestion();
  EXPECT_EQ(cc->window(), CongestionController::kMinimumPackets * kMds);
}

}  // namespace
}  // namespace nm::session
