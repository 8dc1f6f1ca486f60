// The direct handshake in both roles (wire spec §3.4), and what guards the responder.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "crypto/session_keys.h"
#include "wire/address.h"
#include "node/clock.h"
#include "node/node.h"
#include "node/status.h"
#include "node/waiter_listing.h"
#include "wire/frames.h"
#include "wire/little_endian.h"
#include "wire/stream_window.h"

namespace nm::node {

namespace {
// A flood of forged msg2s from the address we dialled costs one X25519 each: an attempt
// reads at most this many, then waits for its retry.
constexpr uint32_t kMaxMsg2ReadsPerAttempt = 16;
constexpr size_t kNoiseKeySize = 32;
// A netmesh initiator pads its direct msg1 with a Noise payload of zeros as large as a
// capability hello datagram (a 0.23 node answers no direct msg1): such a msg1 pays for msg2
// and the responder's hello together, which the responder then sends at once, so the
// initiator knows what its peer is when the handshake ends, a round trip sooner. An
// unpadded msg1 (compat_0_23, an older netmesh) gets msg2 alone: never more than came in.
constexpr size_t kHelloDatagram = wire::kPacketOverhead + wire::kFrameOverhead + wire::kGrantSize;
}  // namespace

nm_status Node::connect(const std::string& addr_text, const crypto::Key32& peer_public_key,
                        uint64_t peer_id, bool via_relay) {
  PendingConnect pc;
  pc.routed = via_relay;
  if (!wire::parse_address(addr_text, pc.addr))
    return fail(NM_ERR_ADDRESS, "cannot parse address '" + addr_text + "' (want ip:port or [ip6]:port)");
  if (const char* why = socket_.unreachable_reason(pc.addr))
    return fail(NM_ERR_ADDRESS, "cannot reach " + addr_text + " from " + local_address() + ": " + why);
  pc.addr = wire::unmapped(pc.addr);  // [::ffff:a.b.c.d] answers from a.b.c.d, as received
  pc.peer_id = peer_id;
  if (peer_id == node_id_ || peer_public_key == static_public_)
    return fail(NM_ERR_INVALID_ARGUMENT, "cannot connect a node to itself");
  auto prologue = crypto::handshake_prologue(node_id_, peer_id);

  MutexLock lk(mu_);
  if (stopping_) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
  // The peer may answer our dial with its own (crossing dials) and re-handshake later; a
  // dial that fails leaves nothing allowed behind.
  bool was_allowed = !app_allowed_.insert(peer_id).second;
  allowed_.add(peer_id, responder_->candidate(prologue_as_responder(peer_id)));
  WaiterListing listed(lk, connects_, &pc);
  int64_t started = now_ns();
  // The peer's own dial may give us the session first (crossing dials): that counts.
  auto have_new_session = [&]() REQUIRES(mu_) {
    session::Session* s = session_for(peer_id);
    return s && s->confirmed && s->established_ns() >= started;
  };
  uint32_t attempts = std::max<uint32_t>(1, config_.handshake_retries);
  int refused = 0;  // errno of a msg1 the local stack refused: no answer can come (as TCP's connect)
  for (uint32_t attempt = 0; attempt < attempts && !stopping_ && !pc.done && !have_new_session() && !refused;
       ++attempt) {
    // Every attempt uses a fresh ephemeral key: 0.23 responders drop a repeated msg1.
    pc.handshake = crypto::NoiseHandshake::initiator(prologue, config_.psk, peer_public_key);
    pc.reads = 0;
    std::vector<uint8_t> msg1;
    std::vector<Outgoing> out(1);
    if (via_relay) {
      // The routed msg1 names its initiator (the responder cannot guess it): u64le(id).
      uint8_t id[8];
      wire::put_le(id, node_id_);
      pc.handshake->write_message(id, msg1);
      build_handshake_packet(msg1, pc.addr, out[0]);
      wire::RoutingHeader rh{wire::kDefaultHandshakeTtl, 0, 0, wire::routing_id(node_id_), peer_id};
      uint8_t encoded[wire::kRoutingHeaderSize];
      rh.encode(encoded);
      out[0].packet->prepend_routing_header(encoded);
    } else {
      static constexpr uint8_t kPadding[kHelloDatagram] = {};
      pc.handshake->write_message(config_.compat_0_23 ? std::span<const uint8_t>() : kPadding, msg1);
      build_handshake_packet(msg1, pc.addr, out[0]);
    }
    pc.msg1_sent_ns = now_ns();
    int err = 0;
    if (flush(lk, out, 100, &err) == 0 && UdpSocket::destination_error(err)) refused = err;
    lk.lock();
    if (refused) break;
    pc.cv.wait_for(lk.native(), std::chrono::milliseconds(config_.handshake_timeout_ms),
                   [&]() REQUIRES(mu_) { return pc.done || stopping_ || have_new_session(); });
  }
  listed.end();
  // OK whenever a usable session with the peer exists: ours, the peer's crossing dial, or
  // (our dial refused, as 0.23 refuses a second handshake from a live peer) the one we had.
  session::Session* s = session_for(peer_id);
  bool usable = s && s->confirmed &&
                (pc.done || s->established_ns() >= started ||
                 now_ns() - s->last_rx_ns() < int64_t{config_.session_timeout_ms} * 1000000);
  if (usable && !stopping_) {
    wait_for_hello(lk, peer_id);
    std::vector<Outgoing> out;
    prefer_peers_dial(peer_id, started, out);
    flush(lk, out, 100);
    return NM_OK;
  }
  if (!was_allowed) {
    app_allowed_.erase(peer_id);
    if (!sessions_.count(peer_id)) allowed_.remove(peer_id);
  }
  if (stopping_) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
  if (refused)
    return fail(NM_ERR_TRANSPORT, "cannot send to " + addr_text + " from " + local_address() + ": " +
                                      std::strerror(refused));
  return fail(NM_ERR_HANDSHAKE, "no valid handshake answer from " + addr_text + " after " +
                          std::to_string(attempts) + " attempt(s) of " +
                          std::to_string(config_.handshake_timeout_ms) +
                          " ms (peer down, or wrong PSK, public key or node id?)");
}

std::array<uint8_t, 32> Node::prologue_as_responder(uint64_t initiator) const {
  return crypto::handshake_prologue(initiator, node_id_);
}

nm_status Node::allow_peer(uint64_t peer_id) {
  MutexLock lk(mu_);
  if (stopping_) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
  if (peer_id == node_id_) return fail(NM_ERR_INVALID_ARGUMENT, "a node cannot allow itself");
  app_allowed_.insert(peer_id);
  allowed_.add(peer_id, responder_->candidate(prologue_as_responder(peer_id)));
  return NM_OK;
}

nm_status Node::accept(uint64_t peer_id, int timeout_ms) {
  if (nm_status s = allow_peer(peer_id); s != NM_OK) return s;
  MutexLock lk(mu_);
  PendingAccept pa{peer_id, {}};
  WaiterListing listed(lk, accepts_, &pa);
  auto ready = [&]() REQUIRES(mu_) { return stopping_ || sessions_.count(peer_id) > 0; };
  if (timeout_ms < 0) {
    pa.cv.wait(lk.native(), ready);
  } else {
    pa.cv.wait_for(lk.native(), std::chrono::milliseconds(timeout_ms), ready);
  }
  listed.end();
  if (sessions_.count(peer_id)) {
    wait_for_hello(lk, peer_id);
    return NM_OK;
  }
  if (stopping_) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
  return fail(NM_ERR_TIMEOUT, "no handshake from peer " + std::to_string(peer_id) + " within " +
                                  std::to_string(timeout_ms) + " ms");
}

bool Node::may_read_msg2(PendingConnect& pc) {
  return !pc.done && pc.handshake && pc.reads++ < kMaxMsg2ReadsPerAttempt;
}

void Node::handle_handshake(std::span<const uint8_t> noise_msg, const sockaddr_storage& from,
                            std::vector<Outgoing>& out) {
  // A reply to one of our connects comes from exactly the address we dialled.
  bool ours = finish_dial(noise_msg, from, false, out, [&](const PendingConnect& pc) {
    return !pc.routed && wire::same_address(pc.addr, from);
  });
  if (!ours) respond_direct(noise_msg, from, out);
}

bool Node::finish_dial(std::span<const uint8_t> noise_msg, const sockaddr_storage& from, bool routed,
                       std::vector<Outgoing>& out, const std::function<bool(const PendingConnect&)>& mine) {
  for (PendingConnect* pc : connects_) {
    if (!mine(*pc) || !may_read_msg2(*pc)) continue;
    crypto::NoiseHandshake attempt = *pc->handshake;  // a failed read spoils the state
    std::vector<uint8_t> payload;
    if (attempt.read_message(noise_msg, payload)) {
      complete_initiator(pc->peer_id, from, crypto::derive_session_keys(attempt.handshake_hash(), true),
                         routed, now_ns() - pc->msg1_sent_ns, out);
      pc->done = true;
      pc->cv.notify_all();
      return true;
    }
  }
  return false;
}

bool Node::admit_msg1(std::span<const uint8_t> noise_msg) {
  if (noise_msg.size() < kNoiseKeySize + 16) {
    ++stats_.drop_handshake_rejected;
    return false;
  }
  if (!handshake_guard_->admit(now_ns())) {
    ++stats_.drop_handshake_rate_limited;  // a flood: not worth an X25519 each
    return false;
  }
  crypto::Key32 ephemeral;
  std::copy_n(noise_msg.begin(), kNoiseKeySize, ephemeral.begin());
  if (handshake_guard_->seen(ephemeral)) {
    ++stats_.drop_replay;  // each msg1 is answered once
    return false;
  }
  return true;
}

bool Node::write_msg2(crypto::NoiseResponder::Accepted& accepted, std::vector<uint8_t>& msg2) {
  handshake_guard_->remember(accepted.handshake.remote_ephemeral());
  if (!make_room_for_session()) {
    ++stats_.drop_session_limit;
    return false;
  }
  return accepted.handshake.write_message({}, msg2);
}

void Node::respond_direct(std::span<const uint8_t> noise_msg, const sockaddr_storage& from,
                          std::vector<Outgoing>& out) {
  if (allowed_.empty()) {
    ++stats_.drop_unexpected_handshake;
    return;
  }
  if (!admit_msg1(noise_msg)) return;
  // The direct msg1 does not name its sender; the prologue binds the node ids, so only the
  // right candidate authenticates it (wire spec §14.2). One X25519 for all candidates.
  auto accepted = responder_->read_msg1(noise_msg, allowed_.hashes());
  if (!accepted) {
    ++stats_.drop_handshake_rejected;
    return;
  }
  std::vector<uint8_t> msg2;
  if (!write_msg2(*accepted, msg2)) return;
  build_handshake_packet(msg2, from, out.emplace_back());
  uint64_t peer = allowed_.id(accepted->index);
  session::Session* s = complete_responder(
      peer, from, crypto::derive_session_keys(accepted->handshake.handshake_hash(), false), false, out);
  // Our hello right behind msg2 when the msg1 paid for it (kHelloDatagram). Not while we
  // dial the peer too: crossing dials settle on the confirmed sessions' hellos.
  bool paid = accepted->payload.size() >= kHelloDatagram;
  bool dialling = std::any_of(connects_.begin(), connects_.end(),
                              [&](const PendingConnect* pc) { return pc->peer_id == peer; });
  if (s && paid && !dialling) send_hello(*s, out);
}

}  // namespace nm::node
