// Rendezvous and hole punching as net-mesh 0.23 does them (subprotocol 0x0D01,
// wire/traversal.h): a coordinator introduces two of its peers, both send keep-alives to
// each other's public address at the agreed moment, and each acknowledges through the
// coordinator when the other's arrives. Between netmesh peers the punched path then carries
// the relayed session itself: a path challenge straight to the peer's address, answered,
// moves the session to it (same keys, same streams, nothing lost or repeated).
#include <sodium.h>

#include <algorithm>
#include <chrono>

#include "node/clock.h"
#include "node/node.h"
#include "node/status.h"
#include "node/waiter_listing.h"
#include "wire/address.h"
#include "wire/traversal.h"

namespace nm::node {
namespace {

int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// How far ahead a coordinator sets the punch (0.23's punch_fire_lead): both introductions
// must arrive before it.
constexpr int64_t kFireLeadMs = 500;

}  // namespace

void Node::send_rendezvous(session::Session& s, const wire::RendezvousMessage& m, std::vector<Outgoing>& out) {
  uint8_t body[wire::kRendezvousMaxSize];
  if (size_t n = wire::encode_rendezvous(m, body))
    send_traversal_event(s, wire::kSubprotocolRendezvous, std::span<const uint8_t>(body, n), out);
}

void Node::handle_rendezvous(session::Session& s, Frames frames, std::vector<Outgoing>& out) {
  int64_t now = now_ns();
  for (auto body : frames) {
    auto m = wire::decode_rendezvous(body);
    if (!m) {
      ++stats_.drop_malformed;
      continue;
    }
    switch (m->kind) {
      case wire::RendezvousMessage::Kind::kRequest: coordinate(s, m->request, out); break;
      case wire::RendezvousMessage::Kind::kIntroduce: on_introduce(s, m->introduce, now, out); break;
      case wire::RendezvousMessage::Kind::kAck: on_punch_ack(s, m->ack, body, out); break;
    }
  }
}

// As the coordinator: introduce the requester and its target to each other, each at the
// address this node sees it at (what its NAT maps its socket to), not at the address the
// requester claims (0.23 believes that claim). Both must be reached directly.
void Node::coordinate(session::Session& a, const wire::PunchRequest& req, std::vector<Outgoing>& out) {
  session::Session* b = session_for(req.target);
  if (!b || b->routed || a.routed || b == &a) {
    ++stats_.drop_malformed;  // nobody we reach directly to introduce
    return;
  }
  constexpr size_t kIntroduceBytes = wire::kPacketOverhead + wire::kFrameOverhead + wire::kRendezvousMaxSize;
  if (!a.budget.spend(2 * kIntroduceBytes)) {
    ++stats_.responses_deferred;
    return;
  }
  int64_t fire_at = unix_ms() + kFireLeadMs;
  wire::RendezvousMessage to_a, to_b;
  to_a.kind = to_b.kind = wire::RendezvousMessage::Kind::kIntroduce;
  to_a.introduce = {b->peer_node_id(), b->peer_addr(), static_cast<uint64_t>(fire_at)};
  to_b.introduce = {a.peer_node_id(), a.peer_addr(), static_cast<uint64_t>(fire_at)};
  send_rendezvous(a, to_a, out);
  send_rendezvous(*b, to_b, out);
}

// As an endpoint: punch towards the peer. Only for a peer we asked about, through the
// coordinator we asked, or one we already reach through relays (the other side of someone
// else's request): an introduction cannot aim our keep-alives at strangers' addresses.
void Node::on_introduce(session::Session& coordinator, const wire::PunchIntroduce& in, int64_t now,
                        std::vector<Outgoing>& out) {
  auto asked = std::find_if(directs_.begin(), directs_.end(), [&](const PendingDirect* d) {
    return d->peer == in.peer && d->coordinator == coordinator.peer_node_id();
  });
  session::Session* peer = session_for(in.peer);
  if (asked == directs_.end() && !(peer && peer->routed)) {
    ++stats_.drop_malformed;
    return;
  }
  // The coordinator names the address the peer's datagrams came from, which is never the
  // unspecified one (as a destination, that is this host's own ports).
  if (wire::is_unspecified(in.peer_reflex) || !socket_.can_send_to(in.peer_reflex)) {
    ++stats_.drop_malformed;
    return;
  }
  // An introduction we did not ask for never replaces a punch we asked for (whoever sends
  // them could else keep our connect_direct from ever punching).
  if (asked == directs_.end()) {
    const PunchSchedule::Punch* ours = punches_.find(in.peer);
    if (ours && std::any_of(directs_.begin(), directs_.end(), [&](const PendingDirect* d) {
          return d->peer == in.peer && d->coordinator == ours->coordinator;
        })) {
      ++stats_.drop_malformed;
      return;
    }
  }
  // The coordinator pays for what the punch makes us send (keep-alives to the address it
  // names, challenges there): not the peer, whose session it is.
  if (!coordinator.budget.spend(kPunchBytes)) {
    ++stats_.responses_deferred;
    return;
  }
  ++stats_.punches_attempted;
  int64_t fire_at_ns = PunchSchedule::firing_moment(in.fire_at_ms, unix_ms(), now);
  punches_.schedule(in.peer, coordinator.peer_node_id(), in.peer_reflex, fire_at_ns, now);
  punch_tick(now, out);
}

// An acknowledgement: ours to forward (as coordinator, only the sender's own), or one for
// us, which tells a 0.23 caller that its peer heard it (netmesh goes by the challenge on
// the punched path instead).
void Node::on_punch_ack(session::Session& s, const wire::PunchAck& ack, std::span<const uint8_t> body,
                        std::vector<Outgoing>& out) {
  if (ack.to == node_id_) return;
  session::Session* to = session_for(ack.to);
  if (ack.from != s.peer_node_id() || !to) {
    ++stats_.drop_malformed;  // an ack in someone else's name, or for nobody we reach
    return;
  }
  if (!s.budget.spend(wire::kPacketOverhead + wire::kFrameOverhead + body.size())) {
    ++stats_.responses_deferred;
    return;
  }
  send_traversal_event(*to, wire::kSubprotocolRendezvous, body, out);
}

void Node::handle_keepalive(std::span<const uint8_t> d, const sockaddr_storage& from, std::vector<Outgoing>& out) {
  int64_t now = now_ns();
  auto punch = wire::decode_keepalive(d) ? punches_.on_keepalive(from, now) : std::nullopt;
  if (!punch) {
    ++stats_.ignored_mesh_packets;
    return;
  }
  // The hole is open: acknowledge through the coordinator (what a 0.23 caller waits for),
  // and prove the path to a netmesh peer with a challenge on the relayed session.
  if (session::Session* c = session_for(punch->coordinator)) {
    wire::RendezvousMessage ack;
    ack.kind = wire::RendezvousMessage::Kind::kAck;
    ack.ack = {node_id_, punch->peer, 0};
    send_rendezvous(*c, ack, out);
  }
  if (session::Session* s = session_for(punch->peer)) start_direct_probe(*s, from, now, out, true);
}

void Node::punch_tick(int64_t now, std::vector<Outgoing>& out) {
  for (const sockaddr_storage& to : punches_.due(now)) {
    Outgoing& o = out.emplace_back();
    wire::encode_keepalive(node_id_, o.packet->bytes());
    o.packet->len = wire::kKeepAliveSize;
    o.to = to;
  }
  punches_.expire(now);
}

void Node::start_direct_probe(session::Session& s, const sockaddr_storage& addr, int64_t now,
                              std::vector<Outgoing>& out, bool prepaid) {
  if (!s.routed || !s.has(wire::capability::kPathMigration)) return;
  if (s.direct_probe && wire::same_address(s.direct_probe->addr, addr)) return;
  uint64_t token;
  randombytes_buf(&token, sizeof token);
  s.direct_probe = session::Session::DirectProbe{addr, session::PathChallenge(token), prepaid};
  direct_probe_tick(s, now, out);
}

void Node::direct_probe_tick(session::Session& s, int64_t now, std::vector<Outgoing>& out) {
  session::Session::DirectProbe& p = *s.direct_probe;
  int64_t interval = s.challenge_interval_ns();
  if (p.challenge.send_due(now, interval)) {
    // The peer's packets started it (a challenge from that address): paid from its
    // response budget, as an answer is. (Refused, it still counts as sent: a peer that
    // spent its budget gets no probe.) A punch's probe was paid by its coordinator.
    if (!p.prepaid && !s.budget.spend(kPathFrameBytes)) {
      ++stats_.responses_deferred;
      return;
    }
    send_path_frame(s, wire::ExtType::kPathChallenge, p.challenge.token(), p.addr, out);
  } else if (p.challenge.exhausted(now, interval)) {
    s.direct_probe.reset();  // the punched path does not carry: the session stays relayed
  }
}

void Node::promote_to_direct(session::Session& s, const sockaddr_storage& addr, int64_t path_rtt_ns) {
  int64_t now = now_ns();
  uint64_t peer = s.peer_node_id();
  s.routed = false;
  s.address = session::PeerAddress(addr);
  s.direct_probe.reset();
  routes_->add_neighbour(peer, now);
  failures_->add(peer, now);
  neighbour_by_addr_[wire::address_key(addr)] = peer;
  start_new_path(s, now, path_rtt_ns);
  ++stats_.punches_succeeded;
  direct_cv_.notify_all();
}

session::Session* Node::relay_of(const session::Session& s) {
  uint64_t peer = s.peer_node_id();
  auto r = routes_->lookup(peer);
  session::Session* relay = session_for(r && r->next_hop != peer ? r->next_hop : neighbour_at(s.peer_addr()));
  return relay && !relay->routed ? relay : nullptr;
}

void Node::request_punch(session::Session& coordinator, uint64_t peer, std::vector<Outgoing>& out) {
  wire::RendezvousMessage req;
  req.kind = wire::RendezvousMessage::Kind::kRequest;
  req.request = {peer, reflex_addr_ ? *reflex_addr_ : socket_.local_address()};
  send_rendezvous(coordinator, req, out);
}

void Node::auto_direct(session::Session& s, int64_t now, std::vector<Outgoing>& out) {
  if (config_.auto_direct_ms == 0 || !s.routed || !s.confirmed || !s.has(wire::capability::kPathMigration) ||
      now < s.next_direct_try_ns)
    return;
  session::Session* relay = relay_of(s);
  if (!relay) return;
  if (s.next_direct_try_ns != 0) ++stats_.relay_fallbacks;  // the last try left it relayed
  s.next_direct_try_ns = now + int64_t{config_.auto_direct_ms} * 1'000'000;
  request_punch(*relay, s.peer_node_id(), out);
}

nm_status Node::connect_direct(uint64_t peer_id, uint64_t coordinator, int timeout_ms) {
  MutexLock lk(mu_);
  session::Session* s = session_for(peer_id);
  if (!s) return fail(NM_ERR_NOT_CONNECTED, "no session with peer " + std::to_string(peer_id));
  if (!s->routed) return NM_OK;
  session::Session* c = coordinator == 0 ? relay_of(*s) : session_for(coordinator);
  if (!c || c->routed)
    return fail(NM_ERR_NOT_CONNECTED, coordinator == 0 ? "no relay of the session is reached directly"
                                                       : "the coordinator " + std::to_string(coordinator) +
                                                             " must be reached directly");
  if (!s->has(wire::capability::kPathMigration))
    return fail(NM_ERR_INVALID_ARGUMENT, "peer " + std::to_string(peer_id) + " cannot move a session to a direct path");
  PendingDirect pd{peer_id, c->peer_node_id()};
  WaiterListing listed(lk, directs_, &pd);
  std::vector<Outgoing> out;
  request_punch(*c, peer_id, out);
  flush(lk, out, 0);
  lk.lock();
  auto direct = [&]() REQUIRES(mu_) {
    session::Session* cur = session_for(peer_id);
    return stopping_ || !cur || !cur->routed;
  };
  if (timeout_ms < 0) {
    direct_cv_.wait(lk.native(), direct);
  } else {
    direct_cv_.wait_for(lk.native(), std::chrono::milliseconds(timeout_ms), direct);
  }
  listed.end();
  if (stopping_) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
  session::Session* cur = session_for(peer_id);
  if (!cur) return fail(NM_ERR_NOT_CONNECTED, "the session with peer " + std::to_string(peer_id) + " ended");
  if (!cur->routed) return NM_OK;
  ++stats_.relay_fallbacks;
  return fail(NM_ERR_TIMEOUT, "no direct path to peer " + std::to_string(peer_id) + " within " +
                                  std::to_string(timeout_ms) + " ms: the session stays relayed");
}

}  // namespace nm::node
