#include "stream/stream.h"

#include "wire/frames.h"
#include "wire/header.h"

namespace nm::stream {

Stream::Stream(uint64_t peer_node_id, uint64_t stream_id, const StreamConfig& config,
               bool opened_by_app, int64_t now_ns)
    : peer_node_id_(peer_node_id),
      id_(stream_id),
      config_(config),
      opened_by_app_(opened_by_app),
      last_activity_ns_(now_ns),
      tx_credit_(config.window_bytes) {}

void Stream::adopt(const StreamConfig& config) {
  config_ = config;
  opened_by_app_ = true;
  if (tx_seq_ == 0) tx_credit_ = TxCredit(config.window_bytes);  // nothing charged yet
}

bool Stream::begin_packet(size_t payload_len, size_t events, uint64_t* seq_out, int64_t now_ns) {
  if (!tx_credit_.try_acquire(payload_len + wire::kPacketOverhead)) {
    ++counters_.backpressure_events;
    return false;
  }
  *seq_out = tx_seq_++;
  counters_.tx_events += events;
  last_activity_ns_ = now_ns;
  return true;
}

void Stream::refund_packet(size_t payload_len) {
  tx_credit_.refund(payload_len + wire::kPacketOverhead);
}

bool Stream::apply_grant(uint64_t total_consumed) {
  ++counters_.credit_grants_received;
  return tx_credit_.apply_grant(total_consumed);
}

bool Stream::on_packet(uint64_t seq, std::span<const std::span<const uint8_t>> events,
                       size_t payload_len, int64_t now_ns) {
  last_activity_ns_ = now_ns;
  if (rx_.record(seq, config_.reliable) == RxSequence::Verdict::kDuplicate) {
    ++counters_.rx_duplicates_dropped;
    return false;
  }
  // The packet's wire cost (what the sender was charged) is spread over its events and
  // released as the application reads them: credit follows consumption, not arrival.
  uint32_t overhead = static_cast<uint32_t>(payload_len + wire::kPacketOverhead);
  for (const auto& e : events) overhead -= static_cast<uint32_t>(e.size());
  if (events.empty()) {
    consume(overhead);
    return true;
  }
  for (size_t i = 0; i < events.size(); ++i) {
    uint32_t credit = static_cast<uint32_t>(events[i].size()) + (i == 0 ? overhead : 0);
    inbound_.push_back(Inbound{std::vector<uint8_t>(events[i].begin(), events[i].end()), credit});
  }
  counters_.rx_events += events.size();
  return true;
}

bool Stream::pop(std::vector<uint8_t>& out) {
  if (inbound_.empty()) return false;
  out = std::move(inbound_.front().bytes);
  uint32_t credit = inbound_.front().credit;
  inbound_.pop_front();
  consume(credit);
  return true;
}

void Stream::discard_inbound() {
  for (const auto& e : inbound_) consume(e.credit);
  inbound_.clear();
}

void Stream::consume(uint32_t credit) { consumed_total_ += credit; }

bool Stream::grant_due(uint64_t* total_consumed) {
  // A receiver with window 0 never grants (0.23 rule). Otherwise grant once a quarter of
  // the window was drained, or whenever the queue runs empty so the sender never waits
  // on a reader that has caught up.
  if (config_.window_bytes == 0 || consumed_total_ == granted_total_) return false;
  if (!inbound_.empty() && consumed_total_ - granted_total_ < config_.window_bytes / 4) return false;
  granted_total_ = consumed_total_;
  ++counters_.credit_grants_sent;
  *total_consumed = consumed_total_;
  return true;
}

}  // namespace nm::stream
