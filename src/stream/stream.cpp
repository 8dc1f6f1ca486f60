#include "stream/stream.h"

#include <algorithm>
#include <utility>

#include "wire/extension.h"
#include "wire/frames.h"
#include "wire/header.h"
#include "wire/little_endian.h"

namespace nm::stream {

Stream::Stream(uint64_t peer_node_id, uint64_t stream_id, const StreamConfig& config,
               bool opened_by_app, uint32_t tx_epoch, int64_t now_ns)
    : peer_node_id_(peer_node_id),
      id_(stream_id),
      config_(config),
      tx_epoch_(tx_epoch),
      opened_by_app_(opened_by_app),
      last_activity_ns_(now_ns),
      tx_credit_(config.window_bytes) {}

void Stream::adopt(const StreamConfig& config) {
  config_ = config;
  opened_by_app_ = true;
  if (tx_seq_ == 0) tx_credit_ = TxCredit(config.window_bytes);  // nothing charged yet
}

bool Stream::charge(uint64_t cost, size_t events, int64_t now_ns) {
  if (!tx_credit_.try_acquire(cost)) {
    ++counters().backpressure_events;
    return false;
  }
  tx_charged_ += cost;
  counters().tx_events += events;
  set_active(now_ns);
  return true;
}

bool Stream::begin_packet(size_t payload_len, size_t events, uint64_t* seq_out, int64_t now_ns) {
  if (!charge(payload_len + wire::kPacketOverhead, events, now_ns)) return false;
  *seq_out = tx_seq_++;
  tx().last_emit_ns = now_ns;
  return true;
}

Stream::Join Stream::join_open_packet(std::span<const uint8_t> event, int64_t now_ns) {
  auto& open = tx().open;
  size_t frame = wire::kFrameOverhead + event.size();
  if (open && (open->payload.size() + frame > wire::kMaxPayloadSize ||
               open->events >= wire::kMaxEventsPerPacket))
    return Join::kFull;
  uint64_t charged_before = tx_charged_;
  uint64_t cost = frame + (open ? 0 : wire::kPacketOverhead);  // the packet's own cost with its first event
  if (!charge(cost, 1, now_ns)) return Join::kNoCredit;
  if (!open) {
    open.emplace();
    open->payload = Payload::pooled(wire::kMaxPayloadSize);
    open->charged_before = charged_before;
  }
  size_t at = open->payload.size();
  open->payload.resize(at + frame);
  wire::write_frame(open->payload.data() + at, event);
  ++open->events;
  return Join::kAdded;
}

bool Stream::close_open_packet(SentPacket& out, int64_t now_ns) {
  if (!has_open_packet()) return false;
  OpenPacket& open = *tx_->open;
  out.seq = tx_seq_++;
  out.event_count = open.events;
  out.charged_before = open.charged_before;
  out.payload = SharedPayload::adopt(std::move(open.payload));
  out.first_sent_ns = out.last_sent_ns = now_ns;
  tx_->open.reset();
  tx_->last_emit_ns = now_ns;
  return true;
}

TxCredit::Grant Stream::apply_grant(uint64_t total_consumed) {
  ++counters().credit_grants_received;
  return tx_credit_.apply_grant(total_consumed);
}

size_t Stream::on_packet(RxPacket&& p, bool ordered, bool dedup, size_t max_event_bytes,
                         int64_t now_ns) {
  set_active(now_ns);
  if (p.epoch < rx_epoch_) {
    ++counters().rx_stale_dropped;  // a late packet from before the peer reopened the stream
    return 0;
  }
  if (p.epoch > rx_epoch_) {
    reset_receive();
    rx_epoch_ = p.epoch;
  }
  if (!ordered) {
    if (rx().seq.record(p.seq, dedup) == RxSequence::Verdict::kDuplicate) {
      ++counters().rx_duplicates_dropped;
      return 0;
    }
    // A packet already written off as lost had its credit returned then.
    if (p.accounted && !rx().ledger.on_arrival(p.seq, p.charged_before, p.cost, now_ns)) p.cost = 0;
    return deliver(std::move(p), max_event_bytes);
  }
  ++packets_unacked_;  // also for duplicates: the sender may have missed our last ACK
  uint64_t seq = p.seq;
  size_t added = 0;
  switch (rx().reorder.offer(p)) {
    case ReorderBuffer::Offer::kDuplicate: ++counters().rx_duplicates_dropped; return 0;
    case ReorderBuffer::Offer::kTooFar: return 0;  // the sender retransmits it later
    case ReorderBuffer::Offer::kInOrder:
      rx().seq.record(seq, false);
      added = deliver(std::move(p), max_event_bytes);
      break;
    case ReorderBuffer::Offer::kAccepted: rx().seq.record(seq, false); break;
  }
  RxPacket ready;
  while (rx().reorder.pop_ready(ready)) added += deliver(std::move(ready), max_event_bytes);
  return added;
}

size_t Stream::deliver(RxPacket&& p, size_t max_event_bytes) {
  if (p.frag_flags & wire::frag::kFragment) return deliver_fragment(std::move(p), max_event_bytes);
  // The packet's wire cost (what the sender was charged) is released as the application
  // reads its events: credit follows consumption, not arrival. (cost 0: written off as lost
  // earlier, credited back then.)
  if (p.events == 0) {
    consume(p.cost);
    return 0;
  }
  inbound_.push(std::move(p.data), p.events, p.cost);
  counters().rx_events += p.events;
  return p.events;
}

// Fragment credit is released as fragments arrive (an event larger than the window could
// never complete otherwise), but only while the application keeps up: with events
// waiting unread it is held back until the queue drains, so memory stays bounded by the
// window plus one event in reassembly.
void Stream::consume_or_defer(uint64_t credit) {
  if (inbound_.empty()) {
    consume(credit);
  } else {
    deferred_credit_ += credit;
  }
}

void Stream::abandon_reassembly() {
  if (!rx_) return;
  RxState& r = *rx_;
  if (r.reassembling) ++counters().rx_incomplete_dropped;
  r.reassembling = false;
  r.reassembly_oversize = false;
  r.reassembly = Payload();
}

size_t Stream::deliver_fragment(RxPacket&& p, size_t max_event_bytes) {
  consume_or_defer(p.cost);
  RxState& r = rx();
  bool continues = r.reassembling && p.frag_index == r.reassembly_next_index &&
                   p.seq == r.reassembly_next_seq;
  if (p.frag_index == 0) {
    abandon_reassembly();  // a new event starts: whatever was pending is incomplete
    r.reassembling = true;
    // Room for the frame header first; the buffer grows (doubling) up to the largest event.
    r.reassembly = Payload::exact(std::min<size_t>(64 * 1024, wire::kFrameOverhead + max_event_bytes));
    r.reassembly.resize(wire::kFrameOverhead);
  } else if (!continues) {
    if (!r.reassembling) ++stray_fragments_;  // no event in progress: nothing it can belong to
    abandon_reassembly();  // a fragment went missing (fire-and-forget): drop the event whole
    return 0;
  }
  r.reassembly_next_index = static_cast<uint16_t>(p.frag_index + 1);
  r.reassembly_next_seq = p.seq + 1;
  if (p.events > 0 && !r.reassembly_oversize) {
    auto chunk = p.first_event();
    size_t need = r.reassembly.size() + chunk.size();
    if (need > wire::kFrameOverhead + max_event_bytes) {
      r.reassembly_oversize = true;  // keep consuming fragments, keep none of them
      r.reassembly = Payload();
    } else {
      if (need > r.reassembly.capacity())
        r.reassembly.reserve(std::min(std::max(need, 2 * r.reassembly.capacity()),
                                      wire::kFrameOverhead + max_event_bytes));
      r.reassembly.append(chunk);
    }
  }
  if (!(p.frag_flags & wire::frag::kLast)) return 0;
  r.reassembling = false;
  if (r.reassembly_oversize) {
    r.reassembly_oversize = false;
    ++counters().rx_oversize_dropped;
    return 0;
  }
  size_t size = r.reassembly.size();
  wire::put_le(r.reassembly.data(), static_cast<uint32_t>(size - wire::kFrameOverhead));
  // A right-sized copy waits for the reader, so an unread event pins no more than it needs.
  Payload event = std::move(r.reassembly);
  if (event.capacity() != size) {
    Payload fit = Payload::exact(size);
    fit.assign(event);
    event = std::move(fit);
  }
  inbound_.push(SharedPayload::adopt(std::move(event)), 1, 0);
  ++counters().rx_events;
  return 1;
}

void Stream::pop_into(uint8_t* out) {
  consume(inbound_.pop_into(out));
  if (inbound_.empty()) consume(std::exchange(deferred_credit_, 0));
}

void Stream::discard_inbound() {
  consume(inbound_.clear());
  consume(std::exchange(deferred_credit_, 0));
}

void Stream::reset_receive() {
  abandon_reassembly();  // counts an event cut short
  rx_.reset();
}

bool Stream::settle_losses(int64_t now_ns) {
  if (!rx_) return false;
  uint64_t lost = rx_->ledger.settle(now_ns);
  if (lost == 0) return false;
  counters().rx_lost_credit += lost;
  consume(lost);
  return true;
}

bool Stream::grant_due(uint64_t* total_consumed, bool eager) {
  // A receiver with window 0 never grants (0.23 rule). Otherwise grant once a quarter of
  // the window was drained (or, eagerly, whenever the queue runs empty).
  if (config_.window_bytes == 0 || consumed_total_ == granted_total_) return false;
  bool quarter = consumed_total_ - granted_total_ >= config_.window_bytes / 4;
  if (!quarter && !(eager && inbound_.empty())) return false;
  granted_total_ = consumed_total_;
  ++counters().credit_grants_sent;
  *total_consumed = consumed_total_;
  return true;
}

}  // namespace nm::stream
