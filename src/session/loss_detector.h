// The sending side of session acknowledgements: loss detection and probe timeouts in the
// manner of RFC 9002 §6, over the session's datagrams by packet number. Pure logic, time
// passed in; the node acts on what it reports (congestion control, retransmission).
//
//  * A datagram is acknowledged when a range of an ACK frame covers its number. The
//    acknowledgement of the largest number, if it is new and the frame newly acknowledges
//    data, gives an RTT sample (RFC 9002 §5.1; unambiguous: a retransmission is a new
//    datagram). The largest may be a datagram without data (an acknowledgement, a grant)
//    that arrived after the data: only its send time is remembered, for that sample.
//  * A datagram still unacknowledged is lost once a packet threshold of later ones were
//    acknowledged, or once it is a time threshold x max(srtt, latest RTT) older than the
//    newest acknowledged one; until then the loss timer waits for that moment. Both start
//    at RFC 9002's (3 datagrams, 9/8) and adapt to the path (RFC 9002 §6.1 allows it, as
//    Linux's RACK and QUICHE do): a loss that proves spurious raises them to what that
//    datagram's reordering needed, so that a path that reorders (packets balanced over
//    links or routes, a radio link's retransmissions) costs a few spurious losses, not one
//    per reordered datagram. They come back down only on a new path.
//  * Losses spanning more than kPersistentCongestionThreshold probe timeouts, with nothing
//    acknowledged in between, are persistent congestion.
//  * An acknowledgement of a datagram already declared lost makes that loss spurious (the
//    path reordered beyond the thresholds, or an acknowledgement was late): counted, from
//    the last kLostRemembered losses (path MTU probes aside).
//  * With data in flight and nothing heard, the probe timeout fires after
//    pto x 2^probes, at most kMaxProbeTimeoutNs; the node then sends one or two datagrams,
//    not the whole flight. The backoff is kept until an acknowledgement brings an RTT sample.
#pragma once
#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "session/delivery_rate.h"
#include "session/rtt_stats.h"
#include "stream/ring_queue.h"
#include "wire/ack_frame.h"

namespace nm::session {

struct SentDatagram {
  uint64_t pn = 0;           // its packet number (nonce counter)
  int64_t sent_ns = 0;
  uint32_t bytes = 0;        // counted in flight
  uint64_t flight = 0;       // bytes in flight once it had left (congestion control's)
  uint64_t stream_id = 0;    // the stream data it carried
  uint64_t stream_seq = 0;
  bool resolved = false;     // acknowledged or declared lost
  bool pmtu_probe = false;   // a path MTU probe: its loss says nothing about congestion
  bool piece = false;        // one piece of a packet: its acknowledgement is not the packet's
  DeliveryState delivery;    // for the delivery rate its acknowledgement samples
};

class LossDetector {
 public:
  static constexpr uint64_t kPacketThreshold = 3;
  static constexpr uint64_t kMaxPacketThreshold = 256;  // beyond, the time threshold decides
  static constexpr int kTimeThresholdEighths = 9;       // 9/8 of the RTT
  static constexpr int kMaxTimeThresholdEighths = 16;   // twice the RTT
  static constexpr int kPersistentCongestionThreshold = 3;
  // Datagrams remembered at most: a peer that stops acknowledging costs bounded memory
  // (~3 MiB); beyond it the oldest is given up as lost.
  static constexpr size_t kMaxTracked = 65536;
  static constexpr size_t kLostRemembered = 1024;
  static constexpr size_t kUntrackedRemembered = 256;
  // The longest probe timeout, backoff included (TCP's retransmission timeout stops at
  // 120 s in Linux, quic-go's stopped at 60 s): after a long outage, the path is tried again
  // within a minute of its return, not hours later.
  static constexpr int64_t kMaxProbeTimeoutNs = 60'000'000'000;
  static constexpr int kMaxBackoffs = 16;  // doublings counted: far past the cap from any RTT

  explicit LossDetector(int64_t max_ack_delay_ns) : max_ack_delay_ns_(max_ack_delay_ns) {}

  // Datagrams in increasing packet number order (only those that carry data). With
  // kMaxTracked remembered, the oldest unresolved one is given up as lost: returned.
  std::optional<SentDatagram> on_sent(const SentDatagram& d);
  // A datagram without data (not tracked): remembered for its send time and size only, in
  // case an acknowledgement names it as its largest (the last kUntrackedRemembered of them).
  void on_sent_untracked(uint64_t pn, int64_t sent_ns, uint32_t bytes);

  struct AckResult {
    std::vector<SentDatagram> acked;
    std::vector<SentDatagram> lost;
    bool rtt_sampled = false;
    bool persistent_congestion = false;
    std::vector<uint64_t> spurious;  // datagrams declared lost earlier that this frame acknowledges
    // The frame's largest, if it is a datagram without data acknowledged for the first time:
    // its size (0: not so) and send time. The path carried it, though no data may be
    // acknowledged.
    uint32_t largest_untracked_bytes = 0;
    int64_t largest_untracked_sent_ns = 0;
  };
  // An ACK frame arrived: updates `rtt`, fills `out` (cleared first).
  void on_ack(const wire::AckFrame& f, int64_t now_ns, RttStats& rtt, AckResult& out);
  // The path's datagram size fell below what was sent (a black hole): every unresolved
  // datagram larger than `bytes` is lost to its size (appended to `lost`). Not remembered
  // as losses, as a probe's is not: an acknowledgement of one after all says nothing of
  // reordering or congestion.
  void declare_lost_above(uint32_t bytes, std::vector<SentDatagram>& lost);
  // The loss timer: datagrams lost by time now (appended to `lost`).
  void on_loss_timer(int64_t now_ns, const RttStats& rtt, std::vector<SentDatagram>& lost);
  // When the next timer is due: the loss timer if armed, else the probe timeout if data is
  // in flight; INT64_MAX if nothing.
  int64_t deadline(const RttStats& rtt) const;
  bool loss_timer_armed() const { return loss_time_ns_ != INT64_MAX; }
  // The probe timeout fired (the node sends its probes): the next one waits twice as long.
  void on_probe_timeout() { probes_ = std::min(probes_ + 1, kMaxBackoffs); }  // (no overflow in months of timeouts)
  int probes() const { return probes_; }
  // The oldest datagrams still unresolved, to resend as probes (at most `max`).
  std::vector<SentDatagram> oldest(size_t max) const;
  size_t outstanding() const { return outstanding_; }
  // When the oldest datagram still unresolved was sent; INT64_MAX if none.
  int64_t oldest_sent_ns() const { return sent_.empty() ? INT64_MAX : sent_.front().sent_ns; }
  uint64_t largest_acked() const { return largest_acked_; }
  uint64_t packet_threshold() const { return packet_threshold_; }
  int time_threshold_eighths() const { return time_threshold_eighths_; }
  // A new path: its reordering is unknown, the thresholds start again.
  void reset_thresholds() {
    packet_threshold_ = kPacketThreshold;
    time_threshold_eighths_ = kTimeThresholdEighths;
  }

 private:
  SentDatagram* find(uint64_t pn);
  void detect_lost(int64_t now_ns, const RttStats& rtt, std::vector<SentDatagram>& lost);
  void resolve(SentDatagram& d);
  void declare_lost(SentDatagram& d);
  void find_spurious(const wire::AckRange& r, int64_t now_ns, const RttStats& rtt, std::vector<uint64_t>& spurious);
  void trim();

  int64_t max_ack_delay_ns_;
  stream::RingQueue<SentDatagram> sent_;  // increasing pn; resolved ones trimmed from the front
  // Numbers declared lost, increasing (a loss implies the loss of every unresolved older
  // datagram, so they are declared in order); `acked` once an acknowledgement covered one.
  struct Lost {
    uint64_t pn = 0;
    int64_t sent_ns = 0;
    bool acked = false;
  };
  stream::RingQueue<Lost> recently_lost_;
  void adapt_thresholds(const Lost& spurious, int64_t now_ns, const RttStats& rtt);
  // Datagrams without data not yet covered by any frame's largest, increasing numbers.
  struct Untracked {
    uint64_t pn = 0;
    int64_t sent_ns = 0;
    uint32_t bytes = 0;
  };
  stream::RingQueue<Untracked> untracked_;
  // The frame's largest number, if it is untracked and this frame the first to acknowledge it.
  std::optional<Untracked> newly_acked_untracked(uint64_t largest) const;
  size_t outstanding_ = 0;
  uint64_t largest_acked_ = 0;
  bool any_acked_ = false;
  int64_t loss_time_ns_ = INT64_MAX;
  int64_t last_sent_ns_ = 0;
  int probes_ = 0;
  uint64_t packet_threshold_ = kPacketThreshold;
  int time_threshold_eighths_ = kTimeThresholdEighths;
};

}  // namespace nm::session
