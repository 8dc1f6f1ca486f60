// Per-session pacing with weighted fair sharing between local streams: with a session
// rate (congestion control towards netmesh peers, or the node's session_rate_bytes_per_sec)
// data packets wait in their stream's queue and leave as the token bucket and the
// congestion window allow, by deficit round robin, each backlogged stream getting
// fairness_weight quanta per round: at once when sent, on each acknowledgement, and on a
// 1 ms tick that runs only while packets wait. Packets are sealed when released, so the TX
// counter (and the peer's replay window) sees them in wire order.
#include <algorithm>

#include "node/clock.h"
#include "node/node.h"
#include "wire/compact_header.h"

namespace nm::node {

void Node::transmit(session::Session& s, stream::Stream& st, stream::SentPacket&& p,
                    std::vector<Outgoing>& out) {
  seal_data_packet(s, st, p, out);
  if (recovery(s, st)) {
    // On a long path a stream's first retransmission timer comes from what the session knows
    // of it (its handshake RTT): the 200 ms default would resend everything there. Shorter
    // paths keep the default until the stream's own sample (a loaded host delays ACKs).
    if (st.rtt().srtt() == 0 && s.path.rtt_samples > 0 &&
        3 * s.rtt.smoothed() > stream::RttEstimator::kInitialRto)
      st.rtt().sample(s.rtt.smoothed());
    st.retransmit().add(std::move(p));
  }
  s.ticking.insert(st.id());
}

void Node::emit_data_packet(session::Session& s, const StreamPtr& st, stream::SentPacket&& p,
                            std::vector<Outgoing>& out) {
  if (!s.sender.paced()) {
    transmit(s, *st, std::move(p), out);
    return;
  }
  st->push_paced(std::move(p));
  s.sender.backlogged(st->id());
  pace_session(s, now_ns(), out);  // what the bucket and the window allow leaves now
}

void Node::on_pace_tick(uv_timer_t* handle) {
  auto* self = static_cast<Node*>(handle->data);
  std::vector<Outgoing> out;
  MutexLock lk(self->mu_);
  self->pace(now_ns(), out);
  bool waiting = false;
  for (auto& [peer, s] : self->sessions_) waiting |= !s->sender.idle();
  if (!waiting) {  // nothing left to release: no wake-ups until packets wait again
    uv_timer_stop(&self->pace_timer_);
    self->pace_timer_running_ = false;
  }
  self->flush(lk, out, 0);
}

void Node::on_pace_kick(uv_async_t* handle) {
  auto* self = static_cast<Node*>(handle->data);
  MutexLock lk(self->mu_);
  if (self->pace_timer_running_) uv_timer_start(&self->pace_timer_, &Node::on_pace_tick, 1, 1);
}

namespace {
// The session's streams' queues, as its Sender sees them (session/sender.h). Released
// packets are sealed then, so the TX counter follows wire order.
template <typename Send, typename Resend>
struct PacedQueues {
  session::Session& s;
  int64_t now;
  Send send;
  Resend resend_again;

  stream::Stream* find(uint64_t id) {
    auto it = s.streams.find(id);
    return it == s.streams.end() ? nullptr : it->second.get();
  }
  // A packet to send again comes first (one acknowledged meanwhile is skipped).
  stream::SentPacket* next_resend(stream::Stream& st) {
    if (!st.resends_waiting()) return nullptr;
    stream::Paced& q = st.paced();
    while (!q.resends.empty()) {
      if (stream::SentPacket* p = st.retransmit().unacked(q.resends.front())) return p;
      q.resends.pop_front();
    }
    return nullptr;
  }
  int64_t head_cost(uint64_t id) {
    stream::Stream* st = find(id);
    if (!st) return 0;
    if (stream::SentPacket* p = next_resend(*st)) return datagram_bytes(*st, *p);
    if (st->paced_bytes() == 0) return 0;
    return datagram_bytes(*st, st->paced().queue.front());
  }
  // What the packet's datagram will be: the rate and the window count real bytes (a
  // compact header is some 40 bytes shorter than the credit's 0.23 overhead says).
  int64_t datagram_bytes(const stream::Stream& st, const stream::SentPacket& p) {
    return static_cast<int64_t>(s.data_datagram_bytes(st, p));
  }
  // Asked right before a packet would go: a probe timeout's allowance is spent here.
  bool window_allows(int64_t bytes) {
    if (!s.cc || s.cc->can_send(static_cast<uint64_t>(bytes))) return true;
    if (s.probe_allowance == 0) return false;
    --s.probe_allowance;
    return true;
  }
  uint32_t weight(uint64_t id) {
    stream::Stream* st = find(id);
    return st ? st->config().fairness_weight : 1;
  }
  // (Called by Node::pace, which holds mu_: the analysis cannot see that through `send`.)
  void send_head(uint64_t id) NO_THREAD_SAFETY_ANALYSIS {
    stream::Stream& st = *find(id);
    stream::Paced& q = st.paced();
    if (stream::SentPacket* resend = next_resend(st)) {
      q.resends.pop_front();
      resend->resend_queued = false;
      resend_again(st, *resend);
      return;
    }
    stream::SentPacket p = st.pop_paced();
    // An open packet left to fill behind the queue (Node::on_flush_open) goes next.
    stream::SentPacket open;
    if (q.queue.empty() && st.open_packet_behind_pacer() && st.close_open_packet(open, now)) {
      st.push_paced(std::move(open));
    }
    p.first_sent_ns = p.last_sent_ns = now;
    send(st, std::move(p));
  }
  void drained(uint64_t id) {
    stream::Stream* st = find(id);
    if (!st) return;
    st->changed.notify_all();  // a draining close may wait
    // Less credit than the congestion window has room for: the peer's window, not the
    // application, limits the stream (as a TCP sender limited by the receive window).
    if (s.cc) credit_limited |= st->tx_credit().remaining() < s.cc->room();
  }
  bool credit_limited = false;  // a stream drained this turn is waiting for credit
};
}  // namespace

void Node::pace(int64_t now, std::vector<Outgoing>& out) {
  for (auto& [peer, s] : sessions_) pace_session(*s, now, out);
}

void Node::pace_session(session::Session& s, int64_t now, std::vector<Outgoing>& out) {
  if (s.sender.idle()) return;
  auto send = [&](stream::Stream& st, stream::SentPacket&& p) REQUIRES(mu_) { transmit(s, st, std::move(p), out); };
  auto resend = [&](stream::Stream& st, stream::SentPacket& p) REQUIRES(mu_) { resend_one(s, st, p, out); };
  PacedQueues<decltype(send), decltype(resend)> queues{s, now, send, resend};
  // A new address that has not answered a challenge takes only what its limit allows:
  // data waits (for the answer, or for more bytes from there) rather than being refused.
  if (s.address.may_send(s.max_packet())) s.sender.release(now, queues);
  // Nothing left to send with room in the window, and not for want of the peer's credit:
  // the application limits the rate now.
  if (s.sender.idle() && s.cc && !queues.credit_limited && s.cc->room() > 0)
    s.delivery.on_app_limited(s.cc->in_flight());
  wake_pacer(s);
}

void Node::wake_pacer(const session::Session& s) {
  if (!s.sender.idle() && !pace_timer_running_ && loop_alive_) {
    pace_timer_running_ = true;
    uv_async_send(&pace_kick_);  // timers belong to the loop thread
  }
}

void Node::start_congestion_control(session::Session& s) {
  if (s.cc) return;
  s.cc = session::make_congestion_controller(config_.congestion_control, s.max_packet());
  s.update_pacing_rate(static_cast<double>(config_.session_rate_bytes_per_sec));
}

}  // namespace nm::node
