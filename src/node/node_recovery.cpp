// netmesh-to-netmesh extensions: capability hello, reliable recovery (ACK/NACK,
// retransmission on NACK or timeout) and fragmentation of large events.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "node/clock.h"
#include "node/node.h"
#include "wire/frames.h"
#include "wire/stream_window.h"

namespace nm::node {

namespace {
constexpr auto kHelloWait = std::chrono::milliseconds(250);
constexpr auto kMaxHelloWait = std::chrono::milliseconds(3000);
constexpr size_t kMaxResendPerTick = 64;       // per stream: keeps one tick's burst bounded
}  // namespace

bool Node::recovery(const session::Session& s, const stream::Stream& st) {
  return st.config().reliable && s.has(wire::capability::kRecovery);
}

void Node::send_hello(session::Session& s, std::vector<Outgoing>& out) {
  if (config_.compat_0_23) return;
  // Rides in a StreamWindow grant for a stream id nobody opens: 0.23 ignores it.
  uint64_t caps = wire::capability::kAll;
  if (!s.compact_bits) caps &= ~wire::capability::kCompactHeader;  // another session has its bits
  if (s.peer_hello_seen) caps |= wire::capability::kSeenYours;
  build_grant(s, wire::kHelloStreamId, caps, out.emplace_back());
  ++s.hellos_sent;
  s.last_hello_ns = now_ns();
}

void Node::wait_for_hello(MutexLock& lk, uint64_t peer_id) {
  if (config_.compat_0_23) return;
  // The peer's hello: a responder sends it right behind msg2, so an initiator has it when
  // its handshake ends; a responder has the initiator's a round trip after msg2. Data sent
  // before it would go without recovery, as to a 0.23 peer, and a loss there could never
  // be repaired. (The peer need not have ours: our data packets say they are netmesh's,
  // flags::kNetmeshData, and are read as such before our hello.)
  // 3 round trips: the first hellos, or the ones repeated after 1.25 (session_loss_tick),
  // with room to spare. A 0.23 peer costs connect that long.
  auto wait = kHelloWait;
  if (session::Session* s = session_for(peer_id); s && s->path.rtt_samples > 0)
    wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::nanoseconds(3 * s->rtt.smoothed())),
                      kHelloWait, kMaxHelloWait);
  hello_cv_.wait_for(lk.native(), wait, [&]() REQUIRES(mu_) {
    session::Session* s = session_for(peer_id);
    return stopping_ || !s || s->peer_hello_seen;
  });
}

void Node::seal_data_packet(session::Session& s, const stream::Stream& st,
                            const stream::SentPacket& p, std::vector<Outgoing>& outs) {
  wire::Header h;
  h.flags = st.config().reliable ? wire::flags::kReliable : 0;
  if (s.has_all(wire::capability::kDataFields)) h.flags |= wire::flags::kNetmeshData;
  h.frag_flags = p.frag_flags;
  h.fragment_id = p.frag_id;
  h.fragment_offset = p.frag_index;
  h.stream_id = st.id();
  h.sequence = p.seq;
  h.event_count = p.event_count;
  if (s.has(wire::capability::kEpochs)) {
    h.subnet_id = st.tx_epoch();
    h.origin_hash = p.charged_before;
  }
  if (s.sized_by_pmtu() && s.data_datagram_bytes(st, p) > s.max_packet()) {
    send_in_pieces(s, st, p, h, outs);
    return;
  }
  // The AEAD reads the frames where they are kept (for retransmission) and writes the
  // ciphertext into the datagram: the only copy between the caller's events and the socket.
  Outgoing& out = outs.emplace_back();
  out.plaintext = p.payload;
  uint64_t pn = s.stamp(h, p.payload.size(), *out.packet, out.plaintext.data(), s.compact_data());
  address_to(s, out);
  if (s.has(wire::capability::kSessionAck)) note_sent(s, st, p, pn, out.packet->len);
}

bool Node::build_event_packet(session::Session& s, const StreamPtr& st,
                              std::span<const uint8_t> event, std::vector<Outgoing>& out) {
  if (st->pacer_full()) return false;
  int64_t now = now_ns();
  stream::SentPacket p;
  p.charged_before = st->tx_charged();
  if (!st->begin_packet(wire::kFrameOverhead + event.size(), 1, &p.seq, now)) return false;
  p.event_count = 1;
  p.payload = stream::SharedPayload::frames_of({&event, 1});
  p.first_sent_ns = p.last_sent_ns = now;
  emit_data_packet(s, st, std::move(p), out);
  return true;
}

bool Node::pump_fragments(session::Session& s, const StreamPtr& st, size_t max_packets,
                          std::vector<Outgoing>& out) {
  auto& f = st->tx_fragmenting();
  size_t built = 0;
  while (f && built < max_packets) {
    // Equal-sized fragments (not full ones and a stub): runs of equal datagrams go out
    // as one GSO message, and no packet carries a few bytes at a full packet's cost. The
    // fragment index is 16 bits: an event too large for 65,535 packets of the path's size
    // gets larger fragments (and IP fragments them).
    size_t piece_max = std::max(s.max_event_in_packet(), (f->event.size() + 65534) / 65535);
    size_t pieces = (f->event.size() + piece_max - 1) / piece_max;
    size_t chunk = std::min((f->event.size() + pieces - 1) / pieces, f->event.size() - f->offset);
    bool last = f->offset + chunk == f->event.size();
    if (st->pacer_full()) return false;
    int64_t now = now_ns();
    stream::SentPacket p;
    p.charged_before = st->tx_charged();
    if (!st->begin_packet(wire::kFrameOverhead + chunk, last ? 1 : 0, &p.seq, now)) return false;
    p.event_count = 1;
    p.frag_flags = wire::frag::kFragment | (last ? wire::frag::kLast : 0);
    p.frag_id = f->frag_id;
    p.frag_index = f->next_index++;
    std::span<const uint8_t> piece = std::span<const uint8_t>(f->event).subspan(f->offset, chunk);
    p.payload = stream::SharedPayload::frames_of({&piece, 1});
    p.first_sent_ns = p.last_sent_ns = now;
    f->offset += chunk;
    emit_data_packet(s, st, std::move(p), out);
    ++built;
    if (last) f.reset();
  }
  return !f;
}

void Node::resend(session::Session& s, stream::Stream& st, std::vector<stream::SentPacket*>& packets,
                  std::vector<Outgoing>& out) {
  for (stream::SentPacket* p : packets)
    if (!resend_one(s, st, *p, out)) break;  // the rest waits for the timer
  packets.clear();
}

bool Node::resend_one(session::Session& s, stream::Stream& st, stream::SentPacket& p,
                      std::vector<Outgoing>& out) {
  // Within what the peer paid for (response_budget.h).
  if (!s.budget.spend(p.wire_bytes())) {
    ++stats_.responses_deferred;
    return false;
  }
  p.last_sent_ns = now_ns();
  ++p.transmissions;
  ++st.counters().retransmits;
  seal_data_packet(s, st, p, out);  // same seq, fresh nonce
  return true;
}

void Node::build_ext_packet(session::Session& s, std::span<const wire::ExtFrame> frames, Outgoing& out) {
  stamp_ext_packet(s, frames, out);
  address_to(s, out);
}

void Node::stamp_ext_packet(session::Session& s, std::span<const wire::ExtFrame> frames, Outgoing& out) {
  wire::Header h = s.control_header(wire::kSubprotocolNetmesh, static_cast<uint16_t>(frames.size()));
  uint8_t* w = out.packet->payload();
  for (const auto& f : frames) {
    uint8_t body[wire::kExtFrameSize];
    size_t n = wire::encode_ext_frame(f, body);
    w = wire::write_frame(w, std::span<const uint8_t>(body, n));
  }
  stamp_untracked(s, h, static_cast<size_t>(w - out.packet->payload()), *out.packet);
}

void Node::handle_extension(session::Session& s, Frames frames, const sockaddr_storage* direct_from,
                            std::vector<Outgoing>& out) {
  std::vector<stream::SentPacket*> resend_list;
  std::vector<wire::Grant>& answers = grant_scratch_;  // to credit probes, one packet for all
  answers.clear();
  bool challenge_answered = false;  // one path response per packet
  for (auto body : frames) {
    auto f = wire::decode_ext_frame(body);
    if (!f) {
      ++stats_.drop_malformed;
      continue;
    }
    if (f->type == wire::ExtType::kPathChallenge || f->type == wire::ExtType::kPathResponse) {
      handle_path_frame(s, *f, direct_from, challenge_answered, out);
      continue;
    }
    auto it = s.streams.find(f->stream_id);
    if (it == s.streams.end()) {
      ++stats_.drop_unknown_stream;
      continue;
    }
    stream::Stream& st = *it->second;
    s.ticking.insert(st.id());
    if (f->type == wire::ExtType::kCreditProbe) {
      uint64_t total;
      if (st.probe_answer_due(now_ns()) && st.current_grant(&total)) answers.push_back({st.id(), total});
      continue;
    }
    // A report about seqs we never sent must not release (and so lose) unacked data.
    if (f->next_expected > st.tx_seq() || f->highest >= st.tx_seq() || f->base > st.tx_seq()) {
      ++stats_.drop_malformed;
      continue;
    }
    int64_t now = now_ns();
    st.retransmit().on_ack(f->next_expected, f->highest, now, st.rtt());
    if (f->type == wire::ExtType::kNack) {
      ++st.counters().nacks_received;
      // With session acknowledgements the session's loss detection decides what to resend.
      bool resend_missing = !s.has(wire::capability::kSessionAck);
      st.retransmit().on_nack_block(f->base, f->missing, f->highest, now, st.rtt(), resend_missing,
                                    resend_list);
    }
    s.budget.on_acknowledged(st.retransmit().take_acknowledged_bytes());
    resend(s, st, resend_list, out);
    if (st.tx_idle()) st.changed.notify_all();  // a draining close may be waiting
  }
  // As many as the session's datagram holds (its path MTU), not what 8 KiB would.
  size_t per_packet = std::min(wire::kMaxGrantsPerPacket, s.payload_capacity() / (wire::kFrameOverhead + wire::kGrantSize));
  for (size_t i = 0; i < answers.size(); i += per_packet) {
    size_t n = std::min(per_packet, answers.size() - i);
    if (!s.budget.spend(wire::kPacketOverhead + n * (wire::kFrameOverhead + wire::kGrantSize))) {
      ++stats_.responses_deferred;
      break;
    }
    build_grants(s, std::span(answers).subspan(i, n), out.emplace_back());
  }
}

void Node::probe_credit(session::Session& s, stream::Stream& st, std::vector<Outgoing>& out) {
  if (!s.has(wire::capability::kRecovery) || st.tx_credit().unbounded() || !st.probe_due(now_ns()))
    return;
  if (!s.budget.spend(wire::kPacketOverhead + wire::kFrameOverhead + wire::kExtFrameSize)) {
    ++stats_.responses_deferred;  // a peer that withholds credit and sends nothing
    return;
  }
  wire::ExtFrame f;
  f.type = wire::ExtType::kCreditProbe;
  f.stream_id = st.id();
  build_ext_packet(s, std::span<const wire::ExtFrame>(&f, 1), out.emplace_back());
}

void Node::send_acks(std::vector<Outgoing>& out, bool delay_few) {
  send_session_acks(out);
  if (ack_due_.empty()) return;
  int64_t now = now_ns();
  std::vector<StreamPtr>& delayed = acks_delayed_;  // reused members: no allocation per batch
  std::vector<std::pair<uint64_t, wire::ExtFrame>>& frames = ack_frames_;  // (peer, frame)
  delayed.clear();
  frames.clear();
  for (const StreamPtr& st : ack_due_) {
    stream::AckPolicy& ack = st->ack();
    session::Session* s = session_for(st->peer_node_id());
    int64_t interval = s ? std::max(stream::AckPolicy::kNackRepeatNs, s->rtt.smoothed()) : 0;
    switch (ack.when(delay_few, now, interval)) {
      case stream::AckPolicy::When::kNothing: ack.delist(); continue;
      case stream::AckPolicy::When::kLater: delayed.push_back(st); continue;
      case stream::AckPolicy::When::kNow: break;
    }
    size_t n = ack.frames_needed(st->reorder());
    if (s && n > 0 &&
        !s->budget.spend(wire::kPacketOverhead + n * (wire::kFrameOverhead + wire::kExtFrameSize))) {
      ++stats_.responses_deferred;  // a peer that makes gaps on purpose; asked again later
      delayed.push_back(st);
      continue;
    }
    ack.delist();
    wire::ExtFrame report[stream::AckPolicy::kMaxNackBlocks];
    n = ack.report(st->reorder(), st->id(), now, report);
    if (!s) continue;
    for (size_t i = 0; i < n; ++i) frames.emplace_back(st->peer_node_id(), report[i]);
    if (n > 0 && report[0].type == wire::ExtType::kNack) ++st->counters().nacks_sent;
  }
  ack_due_.swap(delayed);
  // One packet of frames per peer (frames are independent, so their order does not matter).
  std::sort(frames.begin(), frames.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  constexpr size_t kFrameBytes = wire::kFrameOverhead + wire::kExtFrameSize;
  wire::ExtFrame packet[wire::kMaxPayloadSize / kFrameBytes];
  for (size_t i = 0; i < frames.size();) {
    uint64_t peer = frames[i].first;
    session::Session* s = session_for(peer);
    if (!s) {
      while (i < frames.size() && frames[i].first == peer) ++i;
      continue;
    }
    size_t per_packet = s->payload_capacity() / kFrameBytes;
    size_t n = 0;
    for (; i < frames.size() && frames[i].first == peer; ++i) {
      packet[n++] = frames[i].second;
      bool last = i + 1 == frames.size() || frames[i + 1].first != peer;
      if (n == per_packet || last) {
        build_ext_packet(*s, std::span<const wire::ExtFrame>(packet, n), out.emplace_back());
        n = 0;
      }
    }
  }
}

void Node::on_recovery_tick(uv_timer_t* handle) {
  auto* self = static_cast<Node*>(handle->data);
  std::vector<Outgoing> out;
  MutexLock lk(self->mu_);
  self->recovery_tick(out);
  self->flush(lk, out, 0);
}

void Node::recovery_tick(std::vector<Outgoing>& out) {
  int64_t now = now_ns();
  if (!punches_.empty()) punch_tick(now, out);
  std::vector<stream::SentPacket*> resend_list;
  for (auto& [peer, s] : sessions_) {
    session_loss_tick(*s, now, out);
    if (!s->address.validated()) path_tick(*s, now, out);
    if (s->direct_probe) direct_probe_tick(*s, now, out);
    if (!s->answers_as_netmesh(wire::capability::kRecovery)) continue;
    std::vector<uint64_t>& ids = tick_scratch_;  // the work below may mark streams again
    ids.assign(s->ticking.begin(), s->ticking.end());
    for (uint64_t id : ids) {
      auto found = s->streams.find(id);
      if (found == s->streams.end() || !found->second->needs_tick()) {
        s->ticking.erase(id);
        continue;
      }
      const StreamPtr& st = found->second;
      {
        session::HeldChange charge(budget_, s->rx, *st);
        st->settle_losses(now);  // may drop an event that can no longer complete
        // Delivery waiting for room for a large event's reservation: memory may have freed.
        if (st->stalled()) {
          size_t added = st->resume({config_.max_event_bytes, budget_.room(s->rx)}).events;
          if (added > 0) {
            events_.add(static_cast<int64_t>(added));
            st->changed.notify_all();
            report_soon(st);  // the sender learns what was released
            st->ack().request();
          }
        }
      }
      // What an idle reader drained since the last grant: a sixteenth of the window on any
      // tick, less at most once per round trip (a reader that keeps up would else send a
      // grant every 5 ms, as many as its acknowledgements on an asymmetric link's way back).
      grant_if_due(*s, st, out, true, s->rtt.smoothed());
      // Sender: tail loss and lost NACKs are recovered by the retransmission timer. With
      // session acknowledgements the session's probe timeout and loss detection do that,
      // and the timer is a safety net for a lost stream ACK: after two probe timeouts, the
      // oldest packet only, behind the congestion window like the session's resends. (It
      // sent the whole flight at once, and again at each backoff: a path that stalled for a
      // second got three flights when it came back, and dropped most of them.)
      if (st->has_unacked()) {
        bool session_acked = s->has(wire::capability::kSessionAck);
        int64_t safety = session_acked ? 2 * s->rtt.pto(session::AckTracker::kMaxAckDelayNs) : 0;
        if (session_acked && s->sender.paced()) {
          if (stream::SentPacket* p = st->retransmit().oldest_timed_out(now, st->rtt(), safety))
            queue_resend(*s, *st, *p);
        } else {
          st->retransmit().timed_out(now, st->rtt(), safety, kMaxResendPerTick, resend_list);
          resend(*s, *st, resend_list, out);
        }
      }
      if (st->fragmenting() && !pump_fragments(*s, st, kMaxResendPerTick, out) &&
          st->tx_credit().remaining() < wire::kMaxPacketSize)
        probe_credit(*s, *st, out);
      // Receiver: a gap that persists is NACKed again.
      if (st->ack().repeat_due(st->reorder(), now, s->path.rtt_samples ? s->rtt.smoothed() : 0)) {
        report_soon(st);
        st->ack().request();
      }
    }
  }
  send_acks(out, false);
}

}  // namespace nm::node
