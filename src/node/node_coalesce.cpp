// Adaptive flush: events of a burst of sends share packets instead of each call sending
// its own. Full packets always leave at once; only a partly filled last packet waits, and
// only while the stream is busy, so a lone send (a request, a ping) is never delayed
// (open_packet_policy.h). The events of one call always share packets.
#include "node/clock.h"
#include "node/node.h"
#include "node/open_packet_policy.h"
#include "wire/extension.h"
#include "wire/frames.h"

namespace nm::node {

namespace {
// Sends closer together than this are a burst: a caller sending faster than a packet
// per 20 µs gains more from shared packets than it loses to one loop wake-up.
constexpr int64_t kBurstGapNs = 20'000;
}  // namespace

Node::Coalesce Node::add_to_open_packet(session::Session& s, const StreamPtr& st,
                                        std::span<const std::span<const uint8_t>> events,
                                        size_t& next, std::vector<Outgoing>& out) {
  int64_t now = now_ns();
  bool was_open = st->has_open_packet();
  // While the packets of a stream that fills its packets wait for the pacer, a new event
  // could not leave before them anyway: it joins the open packet instead of going alone.
  bool may_span = fills_packets(s, *st);
  bool behind_pacer = may_span && st->paced_bytes() > 0;
  // A call's events are a burst whatever the machine's speed. A call that starts one (no
  // packet open, none emitted in the last 20 us, none waiting for the pacer) sends its
  // last packet itself (no loop wake-up).
  bool lone_call = !was_open && now - st->last_emit_ns() >= kBurstGapNs && !behind_pacer;
  bool lone_event = events.size() - next == 1 && events[next].size() <= s.max_event_in_packet();
  if (!was_open && (st->pacer_full() || (lone_call && lone_event))) return Coalesce::kNotBurst;
  // Fixed for this call: the loop leaves when a packet closes, and the charge it counts
  // with only grows (an upper bound for the open packet's).
  const size_t room = s.data_payload_room(*st);
  const size_t largest = max_unfragmented_event(s, *st, room);
  stream::SentPacket filled;
  for (; next < events.size() && events[next].size() <= largest; ++next) {
    switch (st->join_open_packet(events[next], now, room, may_span ? &filled : nullptr)) {
      case stream::Stream::Join::kAdded: continue;
      case stream::Stream::Join::kSpanned: {
        emit_data_packet(s, st, std::move(filled), out);
        // The event's rest is open. A large event's leaves with the call's last, as its
        // fragments did (and it is mostly a small rest that nothing of this call fills).
        bool larger_than_a_packet = events[next].size() > s.max_event_in_packet();
        if (++next == events.size() && larger_than_a_packet) {
          emit_open_packet(s, st, out);
        } else {
          request_flush(st);
        }
        return Coalesce::kContinue;
      }
      case stream::Stream::Join::kFull:
        emit_open_packet(s, st, out);
        return Coalesce::kContinue;
      case stream::Stream::Join::kNoCredit:
        // Send what is open: the receiver grants credit back only for events it has seen.
        // (Behind packets waiting for the pacer it can still fill: the pacer takes it
        // when they have left, and their arrival brings credit back.)
        if (behind_pacer) {
          st->leave_open_packet_to_pacer();
        } else {
          emit_open_packet(s, st, out);
        }
        return Coalesce::kBackpressure;
    }
  }
  if (next < events.size()) {
    emit_open_packet(s, st, out);  // a large event follows: the open packet goes first
    return Coalesce::kContinue;
  }
  if (sends_open_packet_now({lone_call, behind_pacer, events.size(), st->open_packet_bytes(), room})) {
    emit_open_packet(s, st, out);
  } else {
    request_flush(st);
  }
  return Coalesce::kContinue;
}

// The largest event sent whole or cut at one packet boundary; larger ones go as fragments
// (equal pieces, numbered). A stream that fills its packets cuts an event of up to two
// packets there: an 8 KiB event on an 8 KiB path takes one datagram and a bit of the
// next, not two half-empty ones. But a cut event is charged both packets at once: one the
// credit cannot cover now goes as fragments, each within one packet's credit (it waited
// for credit a window under two packets never holds, and a blocking send woken by one
// packet's credit spun).
size_t Node::max_unfragmented_event(const session::Session& s, const stream::Stream& st, size_t room) {
  if (!fills_packets(s, st)) return s.max_event_in_packet();
  size_t spanned = stream::Stream::max_spanned_event(room);
  if (st.tx_credit().unbounded()) return spanned;
  constexpr uint64_t kTwoPackets = 2 * (wire::kPacketOverhead + wire::kFrameOverhead);
  uint64_t credit = st.tx_credit().remaining();
  uint64_t affordable = credit > kTwoPackets ? credit - kTwoPackets : 0;
  return std::max(s.max_event_in_packet(), static_cast<size_t>(std::min<uint64_t>(spanned, affordable)));
}

// A reliable stream to a peer that reads events cut at packet boundaries fills its
// packets to the brim (fire-and-forget streams keep whole events: a loss would take two).
bool Node::fills_packets(const session::Session& s, const stream::Stream& st) {
  return st.config().reliable && s.has(wire::capability::kSpanning);
}

// One wake-up per loop turn, not per packet: the loop sends whatever is open then.
void Node::request_flush(const StreamPtr& st) {
  if (st->has_open_packet() && !st->flush_requested() && loop_alive_) {
    st->set_flush_requested(true);
    open_packets_.push_back(st);
    uv_async_send(&flush_open_);
  }
}

void Node::emit_open_packet(session::Session& s, const StreamPtr& st, std::vector<Outgoing>& out) {
  stream::SentPacket p;
  if (st->close_open_packet(p, now_ns())) emit_data_packet(s, st, std::move(p), out);
}

void Node::on_flush_open(uv_async_t* handle) {
  auto* self = static_cast<Node*>(handle->data);
  std::vector<Outgoing>& out = self->loop_out_;
  MutexLock lk(self->mu_);
  for (const StreamPtr& st : self->open_packets_) {
    st->set_flush_requested(false);
    session::Session* s = self->session_for(st->peer_node_id());
    if (!s) continue;
    // Behind packets waiting for the pacer it stays open to fill: the pacer takes it as
    // soon as they have left (PacedQueues::send_head).
    if (fills_packets(*s, *st) && st->paced_bytes() > 0) {
      st->leave_open_packet_to_pacer();
      continue;
    }
    self->emit_open_packet(*s, st, out);
  }
  self->open_packets_.clear();
  self->flush(lk, out, 100);
}

}  // namespace nm::node
