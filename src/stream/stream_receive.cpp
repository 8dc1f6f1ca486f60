// The receiving half of a stream: ordering, reassembly, the inbound queue, credit back to
// the sender, and admission within the receive budget the node passes in (RxLimits).
//
// Admission: every packet that would make the stream hold more must fit the room left in
// its session's and the node's budgets, or it is dropped (a reliable sender retransmits).
// Three rules keep that from ever wedging a stream:
//  - A large event reserves max_event_bytes when its first fragment is delivered; its
//    next fragments and its completion are covered by the reservation and always admitted,
//    so an event that started always finishes.
//  - An early packet (it waits for a gap) leaves room for what fills gaps: a full packet,
//    and a reservation unless this stream is reassembling already.
//  - An event start that reaches the head of the reorder buffer without room for its
//    reservation waits there (the stream is stalled; the node resumes it on its recovery
//    tick) instead of being delivered beyond the budget.
#include <algorithm>
#include <utility>

#include "stream/stream.h"
#include "wire/extension.h"
#include "wire/frames.h"
#include "wire/header.h"
#include "wire/little_endian.h"

namespace nm::stream {

Stream::Allowance Stream::allowance(const RxLimits& limits) const {
  uint64_t held = held_bytes();
  uint64_t limit = limits.room > UINT64_MAX - held ? UINT64_MAX : held + limits.room;
  return {limit, limits.max_event_bytes};
}

uint64_t Stream::delivery_cost(const RxPacket& p, size_t max_event_bytes) const {
  // Kept whole while its events or the start it ends with wait; an event it completes
  // replaces the reservation its start made.
  if (p.frag_flags & wire::frag::kSpanMarks)
    return p.held() + (p.frag_flags & wire::frag::kSpanTail ? kSpanReservation : 0);
  if (p.frag_flags & wire::frag::kFragment) {
    // A start takes over the reservation of an event it abandons; other fragments are
    // covered by the reservation or kept nowhere.
    // (Below 0 when a span's start reserved more: the u64 wraps, and held_bytes() + cost is
    // still exact, as held_bytes() includes that reservation.)
    uint64_t reserved = rx_ ? rx_->reserved : 0;
    return p.frag_index == 0 ? event_reservation(max_event_bytes) - reserved : 0;
  }
  return p.events > 0 ? p.held() : 0;
}

RxResult Stream::on_packet(RxPacket&& p, bool ordered, bool dedup, const RxLimits& limits,
                           int64_t now_ns) {
  set_active(now_ns);
  if (p.epoch < rx_epoch_) {
    ++counters().rx_stale_dropped;  // a late packet from before the peer reopened the stream
    return {};
  }
  if (p.epoch > rx_epoch_) {
    reset_receive();
    restart_credit();
    rx_epoch_ = p.epoch;
  }
  const Allowance a = allowance(limits);
  if (!ordered) {
    switch (rx().seq.record(p.seq, dedup, p.may_restart)) {
      case RxSequence::Verdict::kDuplicate: ++counters().rx_duplicates_dropped; return {};
      case RxSequence::Verdict::kRestart:
        ++counters().rx_restarts;
        restart_credit();
        break;
      case RxSequence::Verdict::kNew: break;
    }
    // Refused before the loss ledger sees it: it is written off as lost, its credit returned.
    if (!fits(delivery_cost(p, a.max_event_bytes), a)) return {0, true};
    // A packet already written off as lost had its credit returned then.
    if (p.accounted && !rx().ledger.on_arrival(p.seq, p.charged_before, p.cost, now_ns)) p.cost = 0;
    return {deliver(std::move(p), a.max_event_bytes)};
  }
  RxResult result;
  RxState& r = rx();
  const ReorderBuffer::Place place = r.reorder.place(p.seq);
  ack_.on_packet(r.reorder, place, p.seq);
  switch (place) {
    case ReorderBuffer::Place::kDuplicate: ++counters().rx_duplicates_dropped; return {};
    case ReorderBuffer::Place::kTooFar: return {.events = 0, .over_budget = false, .refused = true};
    case ReorderBuffer::Place::kNext:
      if (!fits(delivery_cost(p, a.max_event_bytes), a)) return {0, true};
      r.reorder.take_next();
      r.seq.record(p.seq, false);
      result.events = deliver(std::move(p), a.max_event_bytes);
      break;
    case ReorderBuffer::Place::kAhead: {
      uint64_t gap_room = kFullPacketHeld + (r.reserved ? 0 : event_reservation(a.max_event_bytes));
      if (!fits(p.held() + gap_room, a)) return {0, true};
      r.seq.record(p.seq, false);
      r.reorder.hold(std::move(p));
      break;
    }
  }
  result.events += deliver_ready(a);
  return result;
}

RxResult Stream::resume(const RxLimits& limits) {
  if (!stalled()) return {};
  return {deliver_ready(allowance(limits))};
}

size_t Stream::deliver_ready(const Allowance& a) {
  RxState& r = rx();
  size_t added = 0;
  while (const RxPacket* next = r.reorder.ready()) {
    // Leaving the buffer releases what the packet pinned there (compared without overflow:
    // an unlimited room is UINT64_MAX).
    uint64_t cost = delivery_cost(*next, a.max_event_bytes), freed = next->held();
    if (held_bytes() + cost > freed && held_bytes() + cost - freed > a.limit) {
      r.stalled = true;
      return added;
    }
    RxPacket p;
    r.reorder.pop_ready(p);
    added += deliver(std::move(p), a.max_event_bytes);
  }
  r.stalled = false;
  return added;
}

size_t Stream::deliver(RxPacket&& p, size_t max_event_bytes) {
  if (p.frag_flags & wire::frag::kSpanMarks) return deliver_spanning(std::move(p), max_event_bytes);
  if (p.frag_flags & wire::frag::kFragment) return deliver_fragment(std::move(p), max_event_bytes);
  // The packet's wire cost (what the sender was charged) is released as the application
  // reads its events: credit follows consumption, not arrival. (cost 0: written off as lost
  // earlier, credited back then.)
  if (p.events == 0) {
    consume(p.cost);
    return 0;
  }
  inbound_.push(std::move(p.data), p.events, p.cost);
  refresh_readiness();
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
  r.span_start = SharedPayload();
  consume(std::exchange(r.span_credit, 0));  // the event it was kept for is gone
  r.reserved = 0;
}

size_t Stream::deliver_fragment(RxPacket&& p, size_t max_event_bytes) {
  consume_or_defer(p.cost);
  RxState& r = rx();
  // A fragment continues only a fragmented event, never the start a span tail left (that
  // start is a slice of its packet, not a frame being put together here).
  bool continues = r.reassembling && !r.span_start && p.frag_index == r.reassembly_next_index &&
                   p.seq == r.reassembly_next_seq;
  size_t max_frame = wire::kFrameOverhead + max_event_bytes;
  if (p.frag_index == 0) {
    abandon_reassembly();  // a new event starts: whatever was pending is incomplete
    r.reassembling = true;
    r.reserved = event_reservation(max_event_bytes);
    // Room for the frame header first; the buffer grows (doubling) up to the largest frame,
    // never beyond: the reservation covers it.
    r.reassembly = Payload::exact(std::min<size_t>(64 * 1024, max_frame));
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
    if (need > max_frame) {
      r.reassembly_oversize = true;  // keep consuming fragments, keep none of them
      r.reassembly = Payload();
      r.reserved = 0;
    } else {
      if (need > r.reassembly.capacity())
        r.reassembly.reserve(std::min(std::max(need, 2 * r.reassembly.capacity()), max_frame));
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
  // A right-sized copy waits for the reader, so an unread event pins no more than it needs
  // (and no more than its reservation, which it replaces).
  Payload event = std::move(r.reassembly);
  if (event.capacity() != event.size()) {
    Payload fit = Payload::exact(event.size());
    fit.assign(event);
    event = std::move(fit);
  }
  return finish_event(std::move(event));
}

size_t Stream::finish_event(Payload&& frame) {
  wire::put_le(frame.data(), static_cast<uint32_t>(frame.size() - wire::kFrameOverhead));
  inbound_.push(SharedPayload::adopt(std::move(frame)), 1, 0);
  return event_queued();
}

size_t Stream::event_queued() {
  rx().reserved = 0;  // the event replaces its reservation
  refresh_readiness();
  ++counters().rx_events;
  return 1;
}

// A packet of a reliable stream that leaves full: [the rest of the event the previous
// packet started] [whole events] [the start of an event the next packet ends]. Its cost is
// released as the application reads: with its whole events (queued as a range of the
// packet), else with the event its first frame completes, else with the one its start
// begins. (Held back until the queue drained, as a fragment's, a slow reader's sender
// would wait for the whole queue instead of the next event.)
size_t Stream::deliver_spanning(RxPacket&& p, size_t max_event_bytes) {
  RxState& r = rx();
  const bool head = p.frag_flags & wire::frag::kSpanHead, tail = p.frag_flags & wire::frag::kSpanTail;
  if (p.events < (head && tail ? 2 : 1) || (p.frag_flags & wire::frag::kFragment)) {
    ++stray_fragments_;  // no sender writes this: a forged or broken packet
    consume(p.cost);
    return 0;
  }
  const uint32_t whole = p.events - head - tail;
  uint32_t credit = p.cost;  // not yet given to an event
  const uint8_t* base = p.data.data();
  auto frame_len = [&](uint32_t at) { return wire::get_le<uint32_t>(base + at); };
  uint32_t at = 0;
  size_t added = 0;
  if (head) {
    uint32_t len = frame_len(0);
    bool continues = r.reassembling && r.span_start && p.seq == r.reassembly_next_seq;
    if (!continues) {
      if (!r.reassembling) ++stray_fragments_;
      abandon_reassembly();  // its start was lost (fire-and-forget): the event goes whole
    } else if (r.span_len + len > max_event_bytes) {
      r.reassembling = false;  // dropped as oversize, not as incomplete
      abandon_reassembly();
      ++counters().rx_oversize_dropped;
    } else {
      // Queued as the two packets' slices, which pin no more than its reservation did.
      uint32_t event_credit = std::exchange(r.span_credit, 0) + (whole == 0 ? std::exchange(credit, 0) : 0);
      r.reassembling = false;
      inbound_.push_cut(std::move(r.span_start), r.span_offset, r.span_len, p.data, event_credit);
      added += event_queued();
    }
    at = wire::kFrameOverhead + len;
  } else if (r.reassembling && r.span_start) {
    abandon_reassembly();  // the packet meant to end the pending start does not
  }
  uint32_t end = static_cast<uint32_t>(p.data.size());
  if (tail) {
    abandon_reassembly();  // a fragmented event cut short by a new start (counted)
    uint32_t start = at;
    for (uint32_t i = 0; i < whole; ++i) start += wire::kFrameOverhead + frame_len(start);
    end = start;
    r.reassembling = true;
    r.reserved = kSpanReservation;
    r.reassembly_next_seq = p.seq + 1;
    r.span_start = p.data;
    r.span_offset = start + wire::kFrameOverhead;
    r.span_len = frame_len(start);
    if (whole == 0) r.span_credit = std::exchange(credit, 0);  // released with that event
  }
  if (whole == 0) {
    consume(credit);  // its event was dropped (0 if an event took it)
    return added;
  }
  inbound_.push(std::move(p.data), at, end, static_cast<uint16_t>(whole), credit);
  refresh_readiness();
  counters().rx_events += whole;
  return added + whole;
}

void Stream::pop_into(uint8_t* out) {
  consume(inbound_.pop_into(out));
  if (inbound_.empty()) {
    consume(std::exchange(deferred_credit_, 0));
    refresh_readiness();
  }
}

void Stream::discard_inbound() {
  consume(inbound_.clear());
  consume(std::exchange(deferred_credit_, 0));
  refresh_readiness();
}

// A new incarnation of the peer's stream: its sender starts counting credit from 0, so our
// grants do too; what the old one left unread stays readable but returns nothing to it.
void Stream::restart_credit() {
  inbound_.forget_credit();
  consumed_total_ = granted_total_ = deferred_credit_ = 0;
}

void Stream::reset_receive() {
  abandon_reassembly();  // counts an event cut short
  rx_.reset();
}

void Stream::abandon_receive() {
  abandon_reassembly();
  if (!rx_) return;
  rx_->reorder.clear();
  rx_->stalled = false;
}

bool Stream::settle_losses(int64_t now_ns) {
  if (!rx_) return false;
  uint64_t lost = rx_->ledger.settle(now_ns);
  // A fire-and-forget event whose next fragment was written off can never complete: its
  // reservation goes now, not when the stream next hears from the peer.
  if (rx_->reassembling && rx_->reassembly_next_seq < rx_->ledger.next_seq()) abandon_reassembly();
  if (lost == 0) return false;
  counters().rx_lost_credit += lost;
  consume(lost);
  return true;
}

bool Stream::grant_due(uint64_t* total_consumed, bool eager, int64_t now_ns, int64_t eager_gap_ns) {
  // A receiver with window 0 never grants (0.23 rule). Otherwise grant once a quarter of
  // the window was drained (or, eagerly, whenever the queue runs empty).
  if (config_.window_bytes == 0 || consumed_total_ == granted_total_) return false;
  uint64_t drained = consumed_total_ - granted_total_;
  if (drained < config_.window_bytes / 4) {
    if (!eager || !inbound_.empty()) return false;
    if (drained < config_.window_bytes / 16 && now_ns - last_grant_ns_ < eager_gap_ns) return false;
  }
  granted_total_ = consumed_total_;
  last_grant_ns_ = now_ns;
  ++counters().credit_grants_sent;
  *total_consumed = consumed_total_;
  return true;
}

}  // namespace nm::stream
