// Session lifecycle: which handshake becomes a peer's session and when, crossing dials,
// the session limit, and pruning (SECURITY.md, "Handshakes and sessions").
//
// A session made as initiator is confirmed by msg2 itself. One made as responder is not:
// msg1 may be a replay (anyone who saw it can send it again), and nobody but the real
// initiator can send an authenticated packet on it. So a responder's session
//  * becomes the peer's session at once only while the peer has no confirmed session
//    (so accept() returns and the application can send), and otherwise waits as pending;
//  * sends nothing on its own (no heartbeats, hellos or pingwaves) and is not a
//    neighbour (no forwarding, no pingwaves accepted) until confirmed;
//  * is confirmed by the first authenticated packet on it, and then replaces the peer's
//    older session;
//  * expires after session_timeout_ms if that never happens.
#include <algorithm>
#include <cstdlib>

#include "node/clock.h"
#include "node/node.h"

namespace nm::node {

namespace {
constexpr size_t kMaxPendingPerPeer = 4;
// 0.23 deletes a peer that failed and was not heard for 30 session timeouts (wire spec §10).
constexpr int64_t kPruneAfterSessionTimeouts = 30;
}  // namespace

std::unique_ptr<session::Session> Node::new_session(uint64_t peer_id, const sockaddr_storage& addr,
                                                    const crypto::SessionKeys& keys, bool routed) {
  auto s = std::make_unique<session::Session>(peer_id, addr, keys, now_ns());
  s->routed = routed;
  s->compact_bits = compact_ids_.claim(s->session_id());
  s->sender.set_rate(static_cast<double>(config_.session_rate_bytes_per_sec));
  ++stats_.handshakes_completed;
  return s;
}

void Node::complete_initiator(uint64_t peer_id, const sockaddr_storage& addr, const crypto::SessionKeys& keys,
                              bool routed, int64_t handshake_rtt_ns, std::vector<Outgoing>& out) {
  auto s = new_session(peer_id, addr, keys, routed);
  s->we_initiated = true;
  // msg1 -> msg2 is a round trip (RFC 9002 seeds from the handshake too); no ack delay.
  s->rtt.on_sample(handshake_rtt_ns, 0, 0);
  ++s->path.rtt_samples;
  s->confirmed = true;  // msg2 authenticated it
  session::Session* current = session_for(peer_id);
  if (current && crossing(*current, *s) && keeps_first(*current, *s, current->peer_hello_seen)) {
    notify_connects(*current);  // our connect is satisfied by the peer's handshake
    park(std::move(s));
    return;
  }
  activate(std::move(s), out);
}

session::Session* Node::complete_responder(uint64_t peer_id, const sockaddr_storage& addr,
                              const crypto::SessionKeys& keys, bool routed, std::vector<Outgoing>& out) {
  auto s = new_session(peer_id, addr, keys, routed);
  session::Session* current = session_for(peer_id);
  if (current && current->confirmed) {
    park(std::move(s));  // a live session is never disturbed by an unconfirmed handshake
    return nullptr;
  }
  return &activate(std::move(s), out);
}

session::Session& Node::activate(std::unique_ptr<session::Session> s, std::vector<Outgoing>& out) {
  uint64_t peer = s->peer_node_id();
  if (auto old = take_active(peer)) {
    // It may still be the one the peer uses: unconfirmed, or one of crossing dials.
    bool crossed = crossing(*old, *s);
    if (crossed) carry_unused_streams(*old, *s);
    bool keep_parked = !old->confirmed || !s->confirmed || crossed;
    if (keep_parked) {
      retire_streams(*old);
      park(std::move(old));
    } else {
      retire(std::move(old));
    }
  }
  peer_by_session_id_[s->session_id()] = peer;
  session::Session& active = *(sessions_[peer] = std::move(s));
  for (auto* pa : accepts_)
    if (pa->peer_id == peer) pa->cv.notify_all();
  if (active.confirmed) on_confirmed(active, out);
  return active;
}

session::Session* Node::confirm(session::Session& s, bool hello, std::vector<Outgoing>& out) {
  auto it = pending_.find(s.session_id());
  if (it == pending_.end()) {  // the peer's active session
    on_confirmed(s, out);
    return &s;
  }
  session::Session* current = session_for(s.peer_node_id());
  s.confirmed = true;
  if (current && crossing(*current, s) &&
      keeps_first(*current, s, hello || current->peer_hello_seen || s.peer_hello_seen) &&
      !gone_silent_since(*current, s, now_ns()))
    return nullptr;  // stays parked
  std::unique_ptr<session::Session> candidate = std::move(it->second);
  pending_.erase(it);
  return &activate(std::move(candidate), out);
}

void Node::carry_unused_streams(session::Session& from, session::Session& to) {
  // Crossing dials are one connection: a stream the application opened on the dial that
  // lost, and has not used yet, carries over with its handle (it would be stale otherwise,
  // through no doing of the application). A used one ends with its session.
  for (auto it = from.streams.begin(); it != from.streams.end();) {
    StreamPtr st = it->second;
    if (!st->unused() || to.streams.count(st->id())) {
      ++it;
      continue;
    }
    ++it;  // before detach_stream erases st's entry
    detach_stream(from, st);
    st->move_to_epoch(to.next_epoch());
    attach_stream(to, st);
  }
}

bool Node::crossing(const session::Session& a, const session::Session& b) const {
  // (Two u32 settings: their product fits a u64, and is capped before it becomes ns.)
  uint64_t window_ms = uint64_t{config_.handshake_timeout_ms} * std::max<uint32_t>(1, config_.handshake_retries);
  int64_t window = static_cast<int64_t>(std::min<uint64_t>(window_ms, INT64_MAX / 1000000)) * 1000000;
  return a.confirmed && b.confirmed && a.we_initiated != b.we_initiated &&
         std::abs(a.established_ns() - b.established_ns()) < window;
}

bool Node::gone_silent_since(const session::Session& kept, const session::Session& other, int64_t now) {
  int64_t grace = std::max<int64_t>(kCrossingGraceNs, 4 * kept.rtt.smoothed());
  return kept.last_rx_ns() < other.established_ns() && now - other.established_ns() > grace;
}

bool Node::keeps_first(const session::Session& a, const session::Session& b, bool netmesh) const {
  if (netmesh) {  // both sides apply this: the handshake of the lower node id
    uint64_t a_initiator = a.we_initiated ? node_id_ : a.peer_node_id();
    uint64_t b_initiator = b.we_initiated ? node_id_ : b.peer_node_id();
    return a_initiator < b_initiator;
  }
  // net-mesh 0.23 always ends on the session its own connect() completed, and sends on
  // nothing else: keep the peer's dial, unless it is the other one the peer is sending on.
  const session::Session& peers_dial = a.we_initiated ? b : a;
  const session::Session& ours = a.we_initiated ? a : b;
  bool keep_peers = peers_dial.heard() || !ours.heard();
  return keep_peers == !a.we_initiated;
}

void Node::settle_crossing(uint64_t peer_id, std::vector<Outgoing>& out) {
  session::Session* current = session_for(peer_id);
  if (!current) return;
  for (auto& [sid, parked] : pending_) {
    if (parked->peer_node_id() != peer_id || !crossing(*current, *parked)) continue;
    if (keeps_first(*current, *parked, true)) return;
    std::unique_ptr<session::Session> winner = std::move(parked);
    pending_.erase(sid);
    activate(std::move(winner), out);
    return;
  }
}

void Node::prefer_peers_dial(uint64_t peer_id, int64_t since, std::vector<Outgoing>& out) {
  session::Session* current = session_for(peer_id);
  if (!current || !current->we_initiated || current->peer_hello_seen || current->heard()) return;
  // No hello by now: a 0.23 peer, which ends on its own dial if it got our answer. Take the
  // newest one it made during ours now, before the application uses ours.
  auto newest = pending_.end();
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    const session::Session& p = *it->second;
    if (p.peer_node_id() == peer_id && !p.we_initiated && p.established_ns() >= since &&
        (newest == pending_.end() || p.established_ns() > newest->second->established_ns()))
      newest = it;
  }
  if (newest == pending_.end()) return;
  std::unique_ptr<session::Session> peers = std::move(newest->second);
  pending_.erase(newest);
  activate(std::move(peers), out);
}

void Node::notify_connects(const session::Session& s) {
  for (PendingConnect* pc : connects_)
    if (pc->peer_id == s.peer_node_id() && s.confirmed) pc->cv.notify_all();
}

void Node::on_confirmed(session::Session& s, std::vector<Outgoing>& out) {
  s.confirmed = true;
  int64_t since_msg2 = now_ns() - s.established_ns();
  if (!s.we_initiated && s.path.rtt_samples == 0 && since_msg2 < kMaxHandshakeRttNs) {
    // msg2 sent -> the initiator's first packet (sent when msg2 arrived): a round trip.
    // (A late confirmation, of a parked crossing dial, says nothing about the path.)
    s.rtt.on_sample(since_msg2, 0, 0);
    ++s.path.rtt_samples;
  }
  uint64_t peer = s.peer_node_id();
  allowed_.add(peer, responder_->candidate(prologue_as_responder(peer)));  // may re-handshake later
  if (!s.routed) {
    int64_t now = now_ns();
    routes_->add_neighbour(peer, now);
    failures_->add(peer, now);
    neighbour_by_addr_[wire::address_key(s.peer_addr())] = peer;
  }
  send_hello(s, out);
  // Twice when we dialled: the peer answers only once a packet of ours arrives, and connect
  // waits for that answer (a second hello follows a round trip and a quarter later).
  if (s.we_initiated) send_hello(s, out);
  // Only now: an application that greets new peers must not greet a replayed msg1.
  emit_peer_event(peer, NM_PEER_CONNECTED);
  notify_connects(s);
}

std::unique_ptr<session::Session> Node::take_active(uint64_t peer_id) {
  auto it = sessions_.find(peer_id);
  if (it == sessions_.end()) return nullptr;
  std::unique_ptr<session::Session> s = std::move(it->second);
  sessions_.erase(it);
  peer_by_session_id_.erase(s->session_id());
  if (!s->routed && s->confirmed) {
    routes_->remove_neighbour(peer_id);
    failures_->remove(peer_id);
    auto a = neighbour_by_addr_.find(wire::address_key(s->peer_addr()));
    if (a != neighbour_by_addr_.end() && a->second == peer_id) neighbour_by_addr_.erase(a);
  }
  direct_cv_.notify_all();  // a connect_direct waiting on this session: it ended or is replaced
  return s;
}

void Node::park(std::unique_ptr<session::Session> s) {
  // Bounded per peer: the oldest unconfirmed candidate of this peer makes room.
  uint64_t peer = s->peer_node_id();
  size_t mine = 0;
  auto oldest = pending_.end();
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->second->peer_node_id() != peer) continue;
    ++mine;
    if (oldest == pending_.end() || it->second->established_ns() < oldest->second->established_ns())
      oldest = it;
  }
  if (mine >= kMaxPendingPerPeer) pending_.erase(oldest);
  pending_[s->session_id()] = std::move(s);
}

void Node::retire(std::unique_ptr<session::Session> s) { retire_streams(*s); }

void Node::retire_streams(session::Session& s) {
  // Its streams become stale handles; what they received stays readable unless the stream
  // drops on close. Everything they held leaves the receive budget with them. Reliable
  // data not yet acknowledged is lost with the session (the new one starts over, as the
  // peer's side does), and counted.
  check_budget(s);
  budget_.release(s.rx);
  for (auto& [sid, st] : s.streams) {
    if (recovery(s, *st)) stats_.tx_abandoned_packets += st->retransmit_size();
    st->lru().unlink();
    close_stream_locked(st, st->config().close == stream::CloseBehaviour::kDropAndClose);
  }
  s.streams.clear();
  s.ticking.clear();
  hello_cv_.notify_all();
}

bool Node::make_room_for_session() {
  if (config_.max_sessions == 0 || sessions_.size() + pending_.size() < config_.max_sessions) return true;
  // The oldest unconfirmed session (pending or active) gives way; confirmed ones never do.
  int64_t oldest_ns = INT64_MAX;
  uint64_t oldest_pending = 0, oldest_active = 0;
  for (const auto& [sid, s] : pending_)
    if (s->established_ns() < oldest_ns) {
      oldest_ns = s->established_ns();
      oldest_pending = sid;
      oldest_active = 0;
    }
  for (const auto& [peer, s] : sessions_)
    if (!s->confirmed && s->established_ns() < oldest_ns) {
      oldest_ns = s->established_ns();
      oldest_active = peer;
      oldest_pending = 0;
    }
  if (oldest_active) {
    retire(take_active(oldest_active));
  } else if (oldest_ns != INT64_MAX) {
    pending_.erase(oldest_pending);
  } else {
    return false;
  }
  ++stats_.sessions_pruned;
  return true;
}

void Node::prune_sessions(int64_t now) {
  int64_t unconfirmed_ns = int64_t{config_.session_timeout_ms} * 1000000;
  int64_t silent_ns = kPruneAfterSessionTimeouts * unconfirmed_ns;
  stats_.sessions_pruned += std::erase_if(pending_, [&](const auto& kv) {
    return now - kv.second->established_ns() > unconfirmed_ns;
  });
  std::vector<uint64_t> gone;
  for (const auto& [peer, s] : sessions_) {
    bool expired = s->confirmed ? now - s->last_rx_ns() > silent_ns
                                : now - s->established_ns() > unconfirmed_ns;
    if (expired) gone.push_back(peer);
  }
  for (uint64_t peer : gone) {
    retire(take_active(peer));
    if (!app_allowed_.count(peer)) allowed_.remove(peer);
    ++stats_.sessions_pruned;
  }
}

bool Node::heartbeat_due(const session::Session& s, int64_t now) const {
  if (!s.confirmed) return false;
  // A failed neighbour gets one heartbeat per fail_after_ms, enough for both sides to
  // recover after a partition, and not a stream of datagrams towards a silent address.
  if (failures_->state(s.peer_node_id()) == FailureDetector::State::kFailed)
    return now - s.last_heartbeat_tx_ns >= int64_t{config_.fail_after_ms} * 1000000;
  return true;
}

}  // namespace nm::node
