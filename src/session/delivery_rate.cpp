#include "session/delivery_rate.h"

#include <algorithm>

namespace nm::session {

DeliveryState DeliveryRate::on_sent(int64_t now_ns, uint64_t in_flight) {
  if (in_flight == 0) {  // a new flight: its intervals start now, not at an old acknowledgement
    first_sent_ns_ = now_ns;
    delivered_ns_ = now_ns;
  }
  return DeliveryState{.delivered = delivered_,
                       .delivered_ns = delivered_ns_,
                       .first_sent_ns = first_sent_ns_,
                       .app_limited = app_limited_until_ != 0};
}

void DeliveryRate::on_acked(int64_t now_ns, uint64_t bytes, int64_t sent_ns, const DeliveryState& state) {
  delivered_ += bytes;
  delivered_ns_ = now_ns;
  sample_.acked += bytes;
  if (app_limited_until_ != 0 && delivered_ > app_limited_until_) app_limited_until_ = 0;
  // The sample comes from the most recently sent datagram this acknowledgement covers.
  if (have_sample_ && state.delivered < sample_.prior_delivered) return;
  have_sample_ = true;
  sample_.prior_delivered = state.delivered;
  sample_.app_limited = state.app_limited;
  int64_t send_interval = sent_ns - state.first_sent_ns;
  int64_t ack_interval = now_ns - state.delivered_ns;
  sample_.interval_ns = std::max(send_interval, ack_interval);
  first_sent_ns_ = sent_ns;  // later datagrams' send intervals start here
}

RateSample DeliveryRate::take_sample() {
  RateSample s = sample_;
  s.delivered = delivered_;
  if (have_sample_ && s.interval_ns > 0)
    s.bytes_per_sec = static_cast<double>(delivered_ - s.prior_delivered) * 1e9 / static_cast<double>(s.interval_ns);
  sample_ = RateSample{};
  have_sample_ = false;
  return s;
}

void DeliveryRate::on_app_limited(uint64_t in_flight) {
  app_limited_until_ = std::max<uint64_t>(delivered_ + in_flight, 1);
}

}  // namespace nm::session
