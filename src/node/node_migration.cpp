// Path migration: a direct session follows its peer to a new address (a NAT rebinding, a
// new network) on authenticated packets, proves the address with a challenge, and sends
// there under the anti-amplification limit until then (session/peer_address.h).
#include <sodium.h>

#include <algorithm>

#include "node/clock.h"
#include "node/node.h"

namespace nm::node {

void Node::follow_peer(session::Session& s, const sockaddr_storage& from, size_t bytes, bool newest,
                       int64_t now, std::vector<Outgoing>& out) {
  if (s.routed || !s.confirmed || !s.has(wire::capability::kPathMigration)) return;
  if (wire::same_address(from, s.peer_addr())) {  // nearly every packet: nothing moves
    s.address.on_authenticated(from, bytes, newest);
    return;
  }
  sockaddr_storage before = s.peer_addr();
  if (!s.address.on_authenticated(from, bytes, newest)) return;
  reindex_neighbour(s.peer_node_id(), before, s.peer_addr());
  if (s.address.validated()) return;  // back at the address it was proven at
  uint64_t token;
  randombytes_buf(&token, sizeof token);
  s.address.begin_challenge(token);
  path_tick(s, now, out);
}

void Node::reindex_neighbour(uint64_t peer, const sockaddr_storage& before, const sockaddr_storage& after) {
  auto old = neighbour_by_addr_.find(wire::address_key(before));
  if (old != neighbour_by_addr_.end() && old->second == peer) neighbour_by_addr_.erase(old);
  neighbour_by_addr_[wire::address_key(after)] = peer;
}

void Node::path_tick(session::Session& s, int64_t now, std::vector<Outgoing>& out) {
  int64_t interval = s.challenge_interval_ns();
  if (s.address.challenge_due(now, interval)) {
    send_path_frame(s, wire::ExtType::kPathChallenge, s.address.token(), s.peer_addr(), out);
    return;
  }
  sockaddr_storage before = s.peer_addr();
  if (s.address.give_up_if_unanswered(now, interval)) reindex_neighbour(s.peer_node_id(), before, s.peer_addr());
}

// Always straight to `to`, never behind a routing header: a path frame tests one path.
void Node::send_path_frame(session::Session& s, wire::ExtType type, uint64_t token, const sockaddr_storage& to,
                           std::vector<Outgoing>& out) {
  wire::ExtFrame f;
  f.type = type;
  f.next_expected = token;
  Outgoing& o = out.emplace_back();
  stamp_ext_packet(s, std::span(&f, 1), o);
  o.peer = s.peer_node_id();
  o.to = to;
  note_unproven(s, o);
}

void Node::note_unproven(const session::Session& s, Outgoing& o) {
  o.unproven = !s.routed && !s.address.validated() && wire::same_address(o.to, s.address.current());
}

void Node::handle_path_frame(session::Session& s, const wire::ExtFrame& f, const sockaddr_storage* direct_from,
                             bool& answered, std::vector<Outgoing>& out) {
  if (!direct_from) return;  // through relays: it tests no path of ours
  const sockaddr_storage& from = *direct_from;
  if (f.type == wire::ExtType::kPathResponse) {
    if (s.direct_probe && s.direct_probe->challenge.answered_by(f.next_expected) &&
        wire::same_address(from, s.direct_probe->addr)) {
      promote_to_direct(s, from, s.direct_probe->challenge.round_trip(now_ns()));  // it carries both ways
    } else {
      int64_t now = now_ns();
      int64_t rtt = s.address.challenge_round_trip(now);
      bool same_path = wire::same_ip(from, s.address.last_validated());  // a NAT rebinding
      if (s.address.on_response(f.next_expected, from) && !same_path) start_new_path(s, now, rtt);
    }
    return;
  }
  // A routed session's peer punched a path to us: prove it from our side too.
  if (s.routed) start_direct_probe(s, from, now_ns(), out);
  // One answer per packet, where the challenge came from (as large as the challenge: no
  // gain for whoever sends them), paid from the peer's response budget.
  if (answered) return;
  answered = true;
  if (!s.budget.spend(kPathFrameBytes)) {
    ++stats_.responses_deferred;
    return;
  }
  send_path_frame(s, wire::ExtType::kPathResponse, f.next_expected, from, out);
}

void Node::start_new_path(session::Session& s, int64_t now, int64_t path_rtt_ns) {
  s.pmtu.reset();
  start_path_mtu(s, now);
  s.restart_path_estimates(static_cast<double>(config_.session_rate_bytes_per_sec), path_rtt_ns);
}

void Node::limit_unproven(std::vector<Outgoing>& out) {
  std::erase_if(out, [&](const Outgoing& o) REQUIRES(mu_) {
    if (!o.unproven) return false;
    auto it = sessions_.find(o.hop ? o.hop : o.peer);
    session::PeerAddress* path = it != sessions_.end() ? &it->second->address : nullptr;
    // The path may have moved since the datagram was built (another thread flushes it
    // later): it goes if its address answered meanwhile; not if the path went back or on.
    if (path && path->validated() && wire::same_address(o.to, path->last_validated())) return false;
    size_t bytes = o.packet->datagram_len();
    if (!path || path->validated() || !wire::same_address(o.to, path->current()) || !path->may_send(bytes)) {
      ++stats_.tx_refused_unproven_path;
      return true;
    }
    path->on_sent(bytes);
    return false;
  });
}

}  // namespace nm::node
