#include "stream/stream.h"

#include <utility>

#include "wire/extension.h"
#include "wire/frames.h"
#include "wire/header.h"

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
  if (tx_charged_ == 0) tx_credit_ = TxCredit(config.window_bytes);  // nothing charged yet
}

bool Stream::charge(uint64_t cost, size_t events, int64_t now_ns) {
  if (!tx_credit_.try_acquire(cost)) {
    ++counters().backpressure_events;
    return false;
  }
  tx_charged_ += cost;
  counters().tx_events += events;
  set_active(now_ns);
  refresh_readiness();
  return true;
}

bool Stream::begin_packet(size_t payload_len, size_t events, uint64_t* seq_out, int64_t now_ns) {
  if (!charge(payload_len + wire::kPacketOverhead, events, now_ns)) return false;
  *seq_out = tx_seq_++;
  tx().last_emit_ns = now_ns;
  return true;
}

Stream::Join Stream::join_open_packet(std::span<const uint8_t> event, int64_t now_ns, size_t capacity,
                                      SentPacket* filled) {
  auto& open = tx().open;
  size_t frame = wire::kFrameOverhead + event.size();
  if (open && open->events >= wire::kMaxEventsPerPacket) return Join::kFull;
  if ((open ? open->payload.size() : 0) + frame > capacity)
    return filled ? span_open_packet(event, now_ns, capacity, *filled) : Join::kFull;
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

Stream::Join Stream::span_open_packet(std::span<const uint8_t> event, int64_t now_ns, size_t capacity,
                                      SentPacket& filled) {
  // A start of a few bytes would cost a frame header for little: the packet leaves as it is.
  constexpr size_t kMinStart = 64;
  std::optional<OpenPacket>& opened = tx_->open;
  size_t used = opened ? opened->payload.size() : 0;
  size_t room = capacity > used ? capacity - used : 0;
  if (room < wire::kFrameOverhead + kMinStart) return Join::kFull;
  size_t start = room - wire::kFrameOverhead;  // less than the event: it did not fit
  // The rest must fit the next packet: an event never crosses two boundaries.
  if (wire::kFrameOverhead + (event.size() - start) > capacity) return Join::kFull;
  uint64_t charged_before = tx_charged_;
  uint64_t rest_cost = wire::kPacketOverhead + wire::kFrameOverhead + (event.size() - start);
  if (!charge(room + rest_cost + (opened ? 0 : wire::kPacketOverhead), 1, now_ns)) return Join::kNoCredit;
  if (!opened) {
    opened.emplace();
    opened->payload = Payload::pooled(wire::kMaxPayloadSize);
    opened->charged_before = charged_before;
  }
  OpenPacket& open = *opened;
  size_t at = open.payload.size();
  open.payload.resize(at + room);
  wire::write_frame(open.payload.data() + at, event.first(start));
  ++open.events;
  open.frag_flags |= wire::frag::kSpanTail;
  close_open_packet(filled, now_ns);
  OpenPacket& next = tx_->open.emplace();
  next.payload = Payload::pooled(wire::kMaxPayloadSize);
  next.payload.resize(wire::kFrameOverhead + event.size() - start);
  wire::write_frame(next.payload.data(), event.subspan(start));
  next.events = 1;
  next.frag_flags = wire::frag::kSpanHead;
  next.charged_before = tx_charged_ - rest_cost;
  return Join::kSpanned;
}

bool Stream::close_open_packet(SentPacket& out, int64_t now_ns) {
  if (!has_open_packet()) return false;
  OpenPacket& open = *tx_->open;
  out.seq = tx_seq_++;
  out.event_count = open.events;
  out.frag_flags = open.frag_flags;
  out.charged_before = open.charged_before;
  out.payload = SharedPayload::adopt(std::move(open.payload));
  out.first_sent_ns = out.last_sent_ns = now_ns;
  tx_->open.reset();
  tx_->last_emit_ns = now_ns;
  return true;
}

TxCredit::Grant Stream::apply_grant(uint64_t total_consumed) {
  ++counters().credit_grants_received;
  TxCredit::Grant g = tx_credit_.apply_grant(total_consumed);
  refresh_readiness();
  return g;
}

int Stream::readiness_fd(Direction d) {
  if (!readiness_) {
    readiness_ = std::make_unique<Readiness>();
    refresh_readiness();
  }
  LevelFd& level = d == Direction::kReceive ? readiness_->receive : readiness_->send;
  return level.open() ? level.fd() : -1;
}

void Stream::raise_readiness_forever() {
  if (!readiness_) return;
  readiness_->forever = true;
  readiness_->receive.set(true);
  readiness_->send.set(true);
}

void Stream::push_paced(SentPacket&& p) {
  Paced& q = paced();
  q.bytes += p.wire_bytes();
  q.queue.push_back(std::move(p));
  if (pacer_full()) q.pushing_back = true;
  refresh_readiness();
}

SentPacket Stream::pop_paced() {
  Paced& q = paced();
  SentPacket p = std::move(q.queue.front());
  q.queue.pop_front();
  q.bytes -= p.wire_bytes();
  if (q.pushing_back && q.bytes <= kPacedLowWater) {
    q.pushing_back = false;
    changed.notify_all();  // a blocking send may go on
  }
  refresh_readiness();
  return p;
}

void Stream::refresh_readiness() {
  if (!readiness_ || readiness_->forever) return;
  readiness_->receive.set(inbound_.events() > 0 || state_ == StreamState::kClosed);
  readiness_->send.set(send_would_not_wait());
}

}  // namespace nm::stream
