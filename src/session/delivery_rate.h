// Delivery rate estimation (draft-cheng-iccrg-delivery-rate-estimation): how fast the path
// delivered a session's datagrams, sampled at each acknowledgement, for a model-based
// congestion controller (BBR). Pure logic, time passed in.
//
// Each datagram records, when it leaves, how much had been delivered (acknowledged) by then
// and when. Its acknowledgement gives a sample: the bytes delivered since, over the longer
// of the send interval and the acknowledgement interval (the longer one is the bottleneck's
// pace; the shorter one compresses, as acknowledgements do after a queue or a late ACK).
// A sample taken while the application, not the path, limited the sender is marked
// app-limited: it can show the path is faster than thought, never that it is slower.
#pragma once
#include <cstdint>

namespace nm::session {

// What a datagram records when it leaves.
struct DeliveryState {
  uint64_t delivered = 0;      // bytes delivered when it left
  int64_t delivered_ns = 0;    // when the last of them was
  int64_t first_sent_ns = 0;   // when the datagram acknowledged last by then had left
  bool app_limited = false;
};

struct RateSample {
  double bytes_per_sec = 0;  // 0: no sample in this acknowledgement
  int64_t interval_ns = 0;   // over which it was measured (shorter than the RTT: not a rate)
  uint64_t acked = 0;        // bytes this acknowledgement newly delivered
  uint64_t delivered = 0;    // bytes delivered so far, these included
  uint64_t prior_delivered = 0;  // `delivered` when the sample's datagram left
  bool app_limited = false;
};

class DeliveryRate {
 public:
  // A datagram leaves now, `in_flight` bytes being in flight before it.
  DeliveryState on_sent(int64_t now_ns, uint64_t in_flight);
  // A datagram sent at sent_ns with `state` was acknowledged now.
  void on_acked(int64_t now_ns, uint64_t bytes, int64_t sent_ns, const DeliveryState& state);
  // Once the acknowledgement's datagrams are in: its sample (then starts the next).
  RateSample take_sample();
  // The sender has nothing more to send with room in its window: what is sent until the
  // current flight is delivered says nothing about the path's limit.
  void on_app_limited(uint64_t in_flight);
  uint64_t delivered() const { return delivered_; }

 private:
  uint64_t delivered_ = 0;
  int64_t delivered_ns_ = 0;
  int64_t first_sent_ns_ = 0;
  uint64_t app_limited_until_ = 0;  // 0: not app-limited; else `delivered` that ends it
  // The sample being built (from the most recently sent datagram acknowledged).
  RateSample sample_;
  bool have_sample_ = false;
};

}  // namespace nm::session
