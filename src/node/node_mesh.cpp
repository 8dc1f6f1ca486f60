// The mesh: routed handshakes, forwarding by routing header (no decryption), pingwave
// route discovery, neighbour failure detection and the peer event queue (wire spec §3.5,
// §10, §12).
#include <algorithm>
#include <chrono>
#include <cstring>

#include "crypto/session_keys.h"
#include "wire/address.h"
#include "node/clock.h"
#include "node/node.h"
#include "node/status.h"
#include "wire/frames.h"
#include "wire/little_endian.h"
#include "wire/pingwave.h"

namespace nm::node {

namespace {
constexpr size_t kMaxPeerEvents = 1024;
constexpr int64_t kRouteMaxAgeHeartbeats = 4;  // a learned route not refreshed this long is gone
}  // namespace

void Node::address_to(const session::Session& s, Outgoing& out) {
  out.peer = s.peer_node_id();
  out.to = s.peer_addr();
  // Sized by path MTU discovery (larger packets leave as pieces): IP must not cut it.
  out.dont_fragment = s.sized_by_pmtu();
  note_unproven(s, out);
  if (!s.routed) return;
  // Behind a routing header, to the best next hop (else where the handshake came from).
  if (auto r = routes_->lookup(s.peer_node_id()); r && r->next_hop != s.peer_node_id()) {
    if (auto it = sessions_.find(r->next_hop); it != sessions_.end() && !it->second->routed) {
      // The next hop's path: an address it has not proven yet gets what its own traffic
      // would (limit_unproven), however many sessions route through it.
      out.to = it->second->peer_addr();
      out.hop = r->next_hop;
      note_unproven(*it->second, out);
    }
  }
  wire::RoutingHeader rh{wire::kDefaultDataTtl, 0, 0, wire::routing_id(node_id_), s.peer_node_id()};
  uint8_t encoded[wire::kRoutingHeaderSize];
  rh.encode(encoded);
  out.packet->prepend_routing_header(encoded);
}

uint64_t Node::neighbour_at(const sockaddr_storage& addr) const {
  auto it = neighbour_by_addr_.find(wire::address_key(addr));
  return it == neighbour_by_addr_.end() ? 0 : it->second;
}

void Node::handle_routed(std::span<uint8_t> d, const sockaddr_storage& from, std::vector<Outgoing>& out) {
  auto rh = wire::RoutingHeader::decode(d);
  if (!rh) {
    ++stats_.drop_malformed;
    return;
  }
  std::span<uint8_t> inner = d.subspan(wire::kRoutingHeaderSize);
  if (rh->dest_id == node_id_) {
    handle_net_packet(inner, from, &*rh, out);
    return;
  }
  // Not ours: forward on the header alone (nothing is decrypted), one hop closer. Only
  // for a direct neighbour at an address it proved (else anyone could use us as an open
  // relay, or a thief who moved a neighbour's session to itself with one of its datagrams
  // until the challenge went unanswered), and only what fits one packet.
  uint64_t via = neighbour_at(from);
  session::Session* neighbour = via ? session_for(via) : nullptr;
  if (!neighbour || !neighbour->address.validated() || inner.size() > wire::kMaxPacketSize) {
    ++stats_.forward_refused;
    return;
  }
  if (!wire::forward(*rh)) {
    ++stats_.forward_ttl_expired;
    return;
  }
  auto route = routes_->lookup(rh->dest_id);
  auto next = route ? sessions_.find(route->next_hop) : sessions_.end();
  if (next == sessions_.end() || next->second->routed || wire::same_address(next->second->peer_addr(), from)) {
    ++stats_.forward_no_route;
    return;
  }
  Outgoing& o = out.emplace_back();
  std::memcpy(o.packet->bytes(), inner.data(), inner.size());
  o.packet->len = inner.size();
  uint8_t encoded[wire::kRoutingHeaderSize];
  rh->encode(encoded);
  o.packet->prepend_routing_header(encoded);
  o.to = next->second->peer_addr();
  o.peer = route->next_hop;
  note_unproven(*next->second, o);
  ++stats_.forwarded;
}

void Node::handle_routed_handshake(const wire::RoutingHeader& rh, std::span<const uint8_t> noise_msg,
                                   const sockaddr_storage& from, std::vector<Outgoing>& out) {
  bool via_relays = rh.hop_count > 0;  // else the peer sent it to us directly
  // msg2 for one of our routed connects: it names the responder in src_id.
  if (finish_dial(noise_msg, from, via_relays, out, [&](const PendingConnect& pc) {
        return pc.routed && wire::routing_id(pc.peer_id) == rh.src_id;
      }))
    return;
  // msg1 from any PSK holder (how a started node accepts new peers): its payload names the
  // initiator; its routing id keys the prologue.
  if (!admit_msg1(noise_msg)) return;
  crypto::Digest candidate = responder_->candidate(crypto::handshake_prologue(rh.src_id, node_id_));
  auto accepted = responder_->read_msg1(noise_msg, std::span<const crypto::Digest>(&candidate, 1));
  if (!accepted || accepted->payload.size() < 8) {
    ++stats_.drop_handshake_rejected;
    return;
  }
  uint64_t initiator = wire::get_le<uint64_t>(accepted->payload.data());
  if (wire::routing_id(initiator) != rh.src_id || initiator == node_id_ || initiator == 0) {
    ++stats_.drop_handshake_rejected;
    return;
  }
  std::vector<uint8_t> msg2;
  if (!write_msg2(*accepted, msg2)) return;
  Outgoing& o = out.emplace_back();
  build_handshake_packet(msg2, from, o);
  wire::RoutingHeader reply{wire::kDefaultHandshakeTtl, 0, 0, wire::routing_id(node_id_), initiator};
  uint8_t encoded[wire::kRoutingHeaderSize];
  reply.encode(encoded);
  o.packet->prepend_routing_header(encoded);
  // msg2 goes back the way msg1 came (the relay that handed it to us).
  complete_responder(initiator, from, crypto::derive_session_keys(accepted->handshake.handshake_hash(), false),
                     via_relays, out);
}

void Node::handle_pingwave(std::span<const uint8_t> d, const sockaddr_storage& from,
                           std::vector<Outgoing>& out) {
  auto pw = wire::Pingwave::decode(d);
  if (!pw) {
    ++stats_.drop_malformed;  // 72 bytes that are not a pingwave (bad health byte)
    return;
  }
  // 0.23's rule: only from a direct neighbour. Its source address is all that vouches for a
  // raw pingwave, so a neighbour that sends them sealed (netmesh) is never believed raw.
  uint64_t via = neighbour_at(from);
  session::Session* s = via ? session_for(via) : nullptr;
  if (!s || s->has(wire::capability::kAuthPingwaves) ||
      failures_->state(via) == FailureDetector::State::kFailed) {
    ++stats_.ignored_mesh_packets;
    return;
  }
  pingwave_relay_->earn_raw(d.size());
  on_pingwave(*pw, via, true, out);
}

void Node::handle_sealed_pingwaves(session::Session& s, Frames frames, std::vector<Outgoing>& out) {
  if (s.routed || failures_->state(s.peer_node_id()) == FailureDetector::State::kFailed) {
    ++stats_.ignored_mesh_packets;  // pingwaves are between direct neighbours only
    return;
  }
  for (auto frame : frames) {
    auto pw = wire::Pingwave::decode(frame);
    if (!pw) {
      ++stats_.drop_malformed;
      continue;
    }
    on_pingwave(*pw, s.peer_node_id(), false, out);
  }
}

void Node::on_pingwave(wire::Pingwave pw, uint64_t via, bool raw, std::vector<Outgoing>& out) {
  ++stats_.pingwaves_received;
  if (pw.origin_node_id == node_id_ || pw.origin_node_id == 0) return;
  int64_t now = now_ns();
  if (!pingwave_relay_->admit(pw.origin_node_id, via, now)) {
    ++stats_.pingwave_origins_refused;  // a flood of invented origins from this neighbour
    return;
  }
  routes_->offer_pingwave(pw.origin_node_id, via, pw.hop_count, pw.seq, now, raw);
  // A raw wave goes on only along the route it is part of: one the routing table refused
  // (a forgery against an authenticated route) is not relayed, and above all not sealed to
  // netmesh neighbours, who would take it as authenticated.
  if (raw) {
    auto route = routes_->lookup(pw.origin_node_id);
    if (!route || route->next_hop != via) return;
  }
  // Re-broadcast (the first copy of a new wave came the shortest way), never back where it
  // came from nor to its origin (split horizon), at most as far as our own waves travel.
  pw.ttl = std::min(pw.ttl, config_.pingwave_ttl);
  if (pw.hop_count + 1 >= wire::kMaxHops || !wire::forward(pw)) return;
  if (!pingwave_relay_->should_relay(pw.origin_node_id, pw.seq, now)) return;
  for (const auto& [peer, s] : sessions_) {
    // Not to an unconfirmed session: its msg1 may be a replay, its address anyone's.
    if (!s->confirmed || s->routed || !RoutingTable::should_forward_pingwave_to(peer, pw.origin_node_id, via) ||
        failures_->state(peer) == FailureDetector::State::kFailed)
      continue;
    if (raw && !pingwave_relay_->spend_raw(pingwave_datagram_size(*s))) {
      ++stats_.pingwave_relays_suppressed;  // off-path input never buys more than it paid
      continue;
    }
    send_pingwave(*s, pw, out);
  }
}

size_t Node::pingwave_datagram_size(const session::Session& s) {
  if (!s.has(wire::capability::kAuthPingwaves)) return wire::kPingwaveSize;
  return wire::kPacketOverhead + wire::kFrameOverhead + wire::kPingwaveSize;
}

void Node::send_pingwave(session::Session& s, const wire::Pingwave& pw, std::vector<Outgoing>& out) {
  Outgoing& o = out.emplace_back();
  if (s.has(wire::capability::kAuthPingwaves)) {
    wire::Header h = s.control_header(wire::kSubprotocolPingwave, 1);
    uint8_t body[wire::kPingwaveSize];
    pw.encode(body);
    uint8_t* end = wire::write_frame(o.packet->payload(), body);
    stamp_untracked(s, h, end - o.packet->payload(), *o.packet);
  } else {
    pw.encode(o.packet->bytes());
    o.packet->len = wire::kPingwaveSize;
  }
  o.to = s.peer_addr();
  o.peer = s.peer_node_id();
  note_unproven(s, o);
}

void Node::mesh_tick(int64_t now, std::vector<Outgoing>& out) {
  // Liveness of neighbours: transitions become peer events; a failed neighbour's routes go
  // (traffic takes another path if pingwaves showed one) and come back when it recovers.
  for (const auto& t : failures_->check(now)) {
    using State = FailureDetector::State;
    // A stalled tick can see healthy -> failed at once: the application still gets
    // suspected before failed, as the header promises.
    if (t.to == State::kSuspected || (t.to == State::kFailed && t.from == State::kHealthy))
      emit_peer_event(t.peer, NM_PEER_SUSPECTED);
    if (t.to == State::kFailed) {
      routes_->remove_next_hop(t.peer);  // its direct route and every route through it
      emit_peer_event(t.peer, NM_PEER_FAILED);
    }
    if (t.to == State::kHealthy) {
      routes_->add_neighbour(t.peer, now);
      emit_peer_event(t.peer, NM_PEER_RECOVERED);
    }
  }
  routes_->expire(now, kRouteMaxAgeHeartbeats * int64_t{config_.heartbeat_interval_ms} * 1000000);
  pingwave_relay_->expire(now);
  if (config_.compat_0_23) return;
  // Our own pingwave, after the heartbeats, to every live neighbour (wire spec §10).
  wire::Pingwave pw;
  pw.origin_node_id = node_id_;
  pw.seq = ++pingwave_seq_;
  pw.ttl = config_.pingwave_ttl;
  pw.origin_timestamp_us = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch()).count());
  for (const auto& [peer, s] : sessions_) {
    // Live confirmed neighbours only: an unconfirmed session sends nothing on its own.
    if (!s->confirmed || s->routed || failures_->state(peer) == FailureDetector::State::kFailed) continue;
    send_pingwave(*s, pw, out);
    ++stats_.pingwaves_sent;
  }
}

void Node::emit_peer_event(uint64_t peer, nm_peer_event_kind kind) {
  if (peer_events_.size() == kMaxPeerEvents) {
    peer_events_.pop_front();  // the application is not polling: keep the latest
    peer_events_signal_.add(-1);
  }
  peer_events_.push_back(
      {.peer_node_id = peer, .kind = kind, .reserved0 = 0, .at_ns = static_cast<uint64_t>(now_ns())});
  peer_events_signal_.add(1);
  peer_events_cv_.notify_all();
}

nm_status Node::next_peer_event(nm_peer_event_t& out, int timeout_ms) {
  MutexLock lk(mu_);
  auto ready = [&]() REQUIRES(mu_) { return stopping_ || !peer_events_.empty(); };
  if (timeout_ms < 0) {
    peer_events_cv_.wait(lk.native(), ready);
  } else if (timeout_ms > 0) {
    peer_events_cv_.wait_for(lk.native(), std::chrono::milliseconds(timeout_ms), ready);
  }
  if (peer_events_.empty())
    return stopping_ ? fail(NM_ERR_SHUTDOWN, "node is shutting down")
                     : fail(NM_ERR_TIMEOUT, "no peer event within " + std::to_string(timeout_ms) + " ms");
  out = peer_events_.front();
  peer_events_.pop_front();
  peer_events_signal_.add(-1);
  return NM_OK;
}

std::vector<nm_route_t> Node::routes() {
  MutexLock lk(mu_);
  int64_t now = now_ns();
  std::vector<nm_route_t> all;
  for (const Route& r : routes_->snapshot())
    all.push_back({.dest = r.dest, .next_hop = r.next_hop, .metric = r.metric, .reserved0 = 0,
                   .age_ns = static_cast<uint64_t>(now - r.updated_ns)});
  return all;
}

}  // namespace nm::node
