// Session acknowledgements between netmesh peers (capability kSessionAck; wire/ack_frame.h):
// the receiver reports which datagrams arrived by packet number (AckTracker), the sender
// learns from it what arrived, what was lost and how long the round trip takes
// (LossDetector, RttStats). Only data datagrams are tracked: they are what the peer's
// acknowledgements are for. Of the others only the send time is kept (stamp_untracked): an
// acknowledgement's largest number may be one of them, and its sample is the fresh one.
#include <cstring>
#include <string>

#include "node/clock.h"
#include "node/node.h"
#include "node/status.h"
#include "wire/ack_frame.h"
#include "wire/frames.h"

namespace nm::node {

void Node::note_arrival(session::Session& s, uint64_t pn, bool eliciting, int64_t now) {
  // Recorded before the peer's hello too: its first datagrams are then acknowledged as well.
  s.acks.on_packet(pn, eliciting, now, s.rtt.smoothed());
  if (eliciting && !s.ack_queued && s.answers_as_netmesh(wire::capability::kSessionAck)) {
    s.ack_queued = true;
    session_acks_due_.push_back(s.peer_node_id());
  }
}

void Node::note_sent(session::Session& s, const stream::Stream& st, const stream::SentPacket& p, uint64_t pn,
                     size_t bytes, bool piece) {
  track(s, session::SentDatagram{.pn = pn,
                                 .sent_ns = p.last_sent_ns,
                                 .bytes = static_cast<uint32_t>(bytes),
                                 .stream_id = st.id(),
                                 .stream_seq = p.seq,
                                 .piece = piece,
                                 .delivery = {}});
}

void Node::release_delivered(session::Session& s, const session::SentDatagram& d) {
  auto it = s.streams.find(d.stream_id);
  if (it == s.streams.end() || !recovery(s, *it->second)) return;
  stream::Stream& st = *it->second;
  st.retransmit().on_delivered(d.stream_seq, d.sent_ns);
  s.budget.on_acknowledged(st.retransmit().take_acknowledged_bytes());
  if (st.tx_idle()) st.changed.notify_all();  // a draining close may be waiting
}

void Node::track(session::Session& s, session::SentDatagram d) {
  if (s.cc) {
    d.delivery = s.delivery.on_sent(d.sent_ns, s.cc->in_flight());
    s.cc->on_sent(d.bytes);
    d.flight = s.cc->in_flight();
  }
  if (auto given_up = s.loss.on_sent(d)) on_lost(s, *given_up);
}

uint64_t Node::stamp_untracked(session::Session& s, wire::Header& h, size_t payload_len,
                               session::PacketBuffer& buf) {
  uint64_t pn = s.stamp(h, payload_len, buf);
  if (s.has(wire::capability::kSessionAck)) s.loss.on_sent_untracked(pn, now_ns(), static_cast<uint32_t>(buf.len));
  return pn;
}

bool Node::on_lost(session::Session& s, const session::SentDatagram& d) {
  if (d.pmtu_probe) {
    pmtu_on_probe_lost(s, d, now_ns());
    return false;
  }
  ++s.path.datagrams_lost;
  bool congestion = !pmtu_on_lost(s, d);
  if (congestion && s.cc) {
    s.cc_undo.before_loss(*s.cc, d);
    s.cc->on_lost(now_ns(), d.bytes, d.sent_ns, d.flight, s.rtt);
  }
  queue_resend(s, d);
  return congestion;
}

// A reliable packet is sent again when the session declares the datagram of its latest
// transmission lost (RFC 9002 style: each loss once, with a fresh packet number), through
// the pacer and the congestion window, ahead of the stream's new packets. The stream's
// NACKs then only say what arrived, and its timer is a safety net (node_recovery.cpp).
void Node::queue_resend(session::Session& s, const session::SentDatagram& d) {
  if (d.stream_id == wire::kControlStreamId || !s.sender.paced()) return;
  auto it = s.streams.find(d.stream_id);
  if (it == s.streams.end() || !recovery(s, *it->second) || !it->second->has_unacked()) return;
  stream::Stream& st = *it->second;
  if (stream::SentPacket* p = st.retransmit().lost(d.stream_seq, d.sent_ns)) queue_resend(s, st, *p);
}

void Node::queue_resend(session::Session& s, stream::Stream& st, stream::SentPacket& p) {
  p.resend_queued = true;
  st.paced().resends.push_back(uint64_t{p.seq});
  s.sender.backlogged(st.id());
  wake_pacer(s);  // whoever queued it: nothing may be in flight to wake the pacer otherwise
}

void Node::send_session_acks(std::vector<Outgoing>& out, bool all) {
  int64_t now = now_ns();
  size_t kept = 0;
  for (uint64_t peer : session_acks_due_) {
    session::Session* s = session_for(peer);
    if (!s || !s->ack_queued) continue;
    switch (s->acks.when(now)) {
      case session::AckTracker::When::kNothing: s->ack_queued = false; continue;
      case session::AckTracker::When::kLater:
        if (all) break;
        session_acks_due_[kept++] = peer;
        continue;
      case session::AckTracker::When::kNow: break;
    }
    size_t frame = wire::kAckFrameHeader + s->acks.ranges() * wire::kAckRangeSize;
    if (!s->budget.spend(wire::kPacketOverhead + wire::kFrameOverhead + frame)) {
      ++stats_.responses_deferred;  // a peer that sends tiny datagrams to be acknowledged
      session_acks_due_[kept++] = peer;
      continue;
    }
    s->ack_queued = false;
    uint8_t body[wire::kAckFrameHeader + wire::kMaxAckRanges * wire::kAckRangeSize];
    size_t n = wire::encode_ack_frame(s->acks.take(now), body);
    Outgoing& o = out.emplace_back();
    wire::Header h = s->control_header(wire::kSubprotocolAck, 1);
    uint8_t* end = wire::write_frame(o.packet->payload(), std::span<const uint8_t>(body, n));
    stamp_untracked(*s, h, static_cast<size_t>(end - o.packet->payload()), *o.packet);
    address_to(*s, o);
    ++s->path.acks_sent;
  }
  session_acks_due_.resize(kept);
}

void Node::handle_session_ack(session::Session& s, Frames frames, std::vector<Outgoing>& out) {
  std::optional<wire::AckFrame> f;  // (pings, without frames, stop in handle_net_packet)
  if (frames.size() != 1 || !(f = wire::decode_ack_frame(frames[0])) ||
      f->ranges.front().last >= s.packets_sent()) {
    ++stats_.drop_malformed;  // an acknowledgement of datagrams we never sent is a lie
    return;
  }
  ++s.path.acks_received;
  int64_t now = now_ns();
  session::LossDetector::AckResult& r = ack_result_;
  s.loss.on_ack(*f, now, s.rtt, r);
  if (r.rtt_sampled) ++s.path.rtt_samples;
  s.path.spurious_losses += r.spurious.size();
  uint64_t prior_in_flight = s.cc ? s.cc->in_flight() : 0;
  for (const session::SentDatagram& d : r.acked) {
    ++s.path.datagrams_acked;
    if (s.cc) {
      s.delivery.on_acked(now, d.bytes, d.sent_ns, d.delivery);
      s.cc->on_acked(now, d.bytes, d.sent_ns, s.rtt, prior_in_flight);
    }
    pmtu_on_acked(s, d, now);
    if (d.stream_id != wire::kControlStreamId && !d.piece && s.has(wire::capability::kSessionRelease))
      release_delivered(s, d);
  }
  if (r.largest_untracked_bytes) {  // (after the data: the largest was sent last)
    session::SentDatagram untracked{.sent_ns = r.largest_untracked_sent_ns,
                                    .bytes = r.largest_untracked_bytes,
                                    .stream_id = wire::kControlStreamId,
                                    .delivery = {}};
    pmtu_on_acked(s, untracked, now);
  }
  bool congestion = false;
  for (const session::SentDatagram& d : r.lost) congestion |= on_lost(s, d);
  // (Only when a loss it judged was congestion: a black hole's are not.)
  if (r.persistent_congestion && congestion && s.cc) {
    s.cc->on_persistent_congestion();
    s.cc_undo.forget();
  }
  for (uint64_t pn : r.spurious) {
    std::unique_ptr<session::CongestionController> before = s.cc_undo.on_spurious(pn);
    if (!before) continue;
    s.restore_controller(std::move(before));
    ++s.path.congestion_undone;
  }
  pmtu_judge(s, now);
  if (s.cc) s.cc->on_rate_sample(now, s.delivery.take_sample(), s.rtt, r.rtt_sampled);
  s.probe_allowance = 0;  // the path answers
  if (s.pmtu) s.pmtu->on_path_answered();
  s.update_pacing_rate(static_cast<double>(config_.session_rate_bytes_per_sec));
  // A probe the search wants takes the room first: a sender that keeps its window full
  // would else never leave room for one, and a search after a black hole never end.
  probe_path_mtu(s, now, out);
  pace_session(s, now, out);  // the acknowledgement opened the window
}

void Node::session_loss_tick(session::Session& s, int64_t now, std::vector<Outgoing>& out) {
  // An unanswered hello was lost (or its answer was), or the peer is 0.23 and never
  // answers: repeated within the hellos' bound, not a heartbeat later (connect waits for the
  // exchange). Without the peer's hello yet, after a round trip and a quarter: one lost
  // hello must not make a netmesh peer look like 0.23 by the time connect stops waiting
  // (our first data would go without recovery, and the peer would read it as 0.23's).
  // (Not while unconfirmed: a responder's early hello is the one its msg1 paid for.)
  if (s.confirmed && !s.peer_has_our_hello && s.hellos_sent > 0 && s.hellos_sent < kMaxHellos &&
      now - s.last_hello_ns >= (s.peer_hello_seen ? s.rtt.pto(session::AckTracker::kMaxAckDelayNs)
                                                         : s.rtt.smoothed() * 5 / 4))
    send_hello(s, out);
  probe_path_mtu(s, now, out);  // a search due again, or a probe the window had no room for
  check_for_black_hole(s, now, out);
  if (!s.has(wire::capability::kSessionAck) || now < s.loss.deadline(s.rtt)) return;
  if (s.loss.loss_timer_armed()) {
    std::vector<session::SentDatagram>& lost = ack_result_.lost;
    lost.clear();
    s.loss.on_loss_timer(now, s.rtt, lost);
    for (const session::SentDatagram& d : lost) on_lost(s, d);
    pmtu_judge(s, now);
    s.update_pacing_rate(static_cast<double>(config_.session_rate_bytes_per_sec));
  } else {
    // Nothing heard for a probe timeout: one or two datagrams beyond the window (waiting
    // data, or a ping when nothing waits) ask the peer to answer; the next waits longer.
    s.loss.on_probe_timeout();
    ++s.path.probe_timeouts;
    // A ping instead also when datagrams are larger than the path's base size: in a black
    // hole the data probes vanish too, and only an answer to a small one lets the large
    // ones be declared lost (and the black hole found).
    bool large = s.sized_by_pmtu() && s.pmtu->current() > s.pmtu->base();
    bool ping = s.sender.idle() || large;
    s.probe_allowance = ping ? 0 : kProbeDatagrams;
    if (ping) send_ping(s, now, out);
  }
  pace_session(s, now, out);
}

void Node::send_ping(session::Session& s, int64_t now, std::vector<Outgoing>& out, uint32_t probe_size) {
  Outgoing& o = out.emplace_back();
  wire::Header h = s.control_header(wire::kSubprotocolAck, 0);
  size_t padding = probe_size ? probe_size - wire::kPacketOverhead : 0;
  std::memset(o.packet->payload(), 0, padding);
  uint64_t pn = s.stamp(h, padding, *o.packet);
  address_to(s, o);
  // Tracked like data: its acknowledgement samples the RTT and ends the backoff.
  session::SentDatagram d{.pn = pn,
                          .sent_ns = now,
                          .bytes = static_cast<uint32_t>(o.packet->len),
                          .stream_id = wire::kControlStreamId,
                          .pmtu_probe = probe_size != 0,
                          .delivery = {}};
  track(s, d);
}

nm_status Node::session_stats(uint64_t peer_id, nm_session_stats_t& out) {
  MutexLock lk(mu_);
  session::Session* s = session_for(peer_id);
  if (!s) return fail(NM_ERR_NOT_CONNECTED, "no session with peer " + std::to_string(peer_id));
  const session::RttStats& rtt = s->rtt;
  bool sampled = s->path.rtt_samples > 0;
  out.peer_node_id = peer_id;
  out.session_acks = s->has(wire::capability::kSessionAck);
  out.routed = s->routed;
  out.congestion_control = static_cast<uint8_t>(config_.congestion_control);
  out.srtt_ns = sampled ? static_cast<uint64_t>(rtt.smoothed()) : 0;
  out.rttvar_ns = sampled ? static_cast<uint64_t>(rtt.rttvar()) : 0;
  out.min_rtt_ns = sampled ? static_cast<uint64_t>(rtt.min()) : 0;
  out.latest_rtt_ns = sampled ? static_cast<uint64_t>(rtt.latest()) : 0;
  out.rtt_samples = s->path.rtt_samples;
  // The congestion controller keeps the flight (it exists whenever datagrams are tracked).
  out.bytes_in_flight = s->cc ? s->cc->in_flight() : 0;
  out.datagrams_in_flight = s->loss.outstanding();
  out.datagrams_acked = s->path.datagrams_acked;
  out.datagrams_lost = s->path.datagrams_lost;
  out.probe_timeouts = s->path.probe_timeouts;
  out.acks_sent = s->path.acks_sent;
  out.acks_received = s->path.acks_received;
  if (s->cc) {
    out.cwnd_bytes = s->cc->window();
    out.pacing_rate_bytes_per_sec = static_cast<uint64_t>(s->sender.rate());
    out.max_datagram_bytes = s->cc->max_datagram();
    out.congestion_events = s->cc->congestion_events();
  }
  out.spurious_retransmissions = s->path.spurious_losses;
  out.congestion_events_undone = s->path.congestion_undone;
  out.loss_threshold_datagrams = s->loss.packet_threshold();
  out.loss_threshold_rtt_eighths = static_cast<uint64_t>(s->loss.time_threshold_eighths());
  if (s->pmtu) {
    out.pmtu_probes_sent = s->pmtu->probes_sent();
    out.pmtu_probes_lost = s->pmtu->probes_lost();
    out.pmtu_black_holes = s->pmtu->black_holes();
  }
  out.path_migrations = s->address.counters().migrations;
  out.path_validations = s->address.counters().validations;
  out.path_reverts = s->address.counters().reverts;
  out.path_restarts = s->path.restarts;
  return NM_OK;
}

}  // namespace nm::node
