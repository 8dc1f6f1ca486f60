// The direct handshake in both roles (wire spec §3.4).
#include <algorithm>
#include <chrono>

#include "crypto/session_keys.h"
#include "node/address.h"
#include "node/node.h"
#include "node/status.h"
#include "wire/little_endian.h"

namespace nm::node {

namespace {
constexpr size_t kRememberedEphemerals = 64;
using Clock = std::chrono::steady_clock;
}  // namespace

nm_status Node::connect(const std::string& addr_text, const crypto::Key32& peer_public_key,
                        uint64_t peer_id, bool via_relay) {
  PendingConnect pc;
  pc.routed = via_relay;
  if (!parse_address(addr_text, pc.addr))
    return fail(NM_ERR_ADDRESS, "cannot parse address '" + addr_text + "' (want ip:port or [ip6]:port)");
  pc.peer_id = peer_id;
  if (peer_id == node_id_ || peer_public_key == static_public_)
    return fail(NM_ERR_INVALID_ARGUMENT, "cannot connect a node to itself");
  auto prologue = crypto::handshake_prologue(node_id_, peer_id);

  std::unique_lock lk(mu_);
  if (stopping_) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
  // The peer may answer our dial with its own (crossing dials) and re-handshake later; a
  // dial that fails leaves nothing allowed behind.
  bool was_allowed = !known_peers_.insert(peer_id).second;
  connects_.push_back(&pc);
  uint32_t attempts = std::max<uint32_t>(1, config_.handshake_retries);
  for (uint32_t attempt = 0; attempt < attempts && !stopping_ && !pc.done; ++attempt) {
    // Every attempt uses a fresh ephemeral key: 0.23 responders drop a repeated msg1.
    pc.handshake = crypto::NoiseHandshake::initiator(prologue, config_.psk, peer_public_key);
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
      pc.handshake->write_message({}, msg1);
      build_handshake_packet(msg1, pc.addr, out[0]);
    }
    flush(lk, out, 100);
    lk.lock();
    pc.cv.wait_for(lk, std::chrono::milliseconds(config_.handshake_timeout_ms),
                   [&] { return pc.done || stopping_; });
  }
  connects_.erase(std::find(connects_.begin(), connects_.end(), &pc));
  if (pc.done) {
    wait_for_hello(lk, peer_id);
    return NM_OK;
  }
  if (!was_allowed && !sessions_.count(peer_id)) known_peers_.erase(peer_id);
  if (stopping_) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
  return fail(NM_ERR_HANDSHAKE, "no valid handshake answer from " + addr_text + " after " +
                          std::to_string(attempts) + " attempt(s) of " +
                          std::to_string(config_.handshake_timeout_ms) +
                          " ms (peer down, or wrong PSK, public key or node id?)");
}

bool Node::is_replayed_msg1(uint64_t peer_id, const crypto::Key32& ephemeral) {
  // A replayed msg1 must not replace a live session (0.23's rotation gate does the same for
  // routed handshakes): each initiator ephemeral is answered once.
  auto& seen = seen_ephemerals_[peer_id];
  if (std::find(seen.begin(), seen.end(), ephemeral) != seen.end()) {
    ++stats_.drop_replay;
    return true;
  }
  seen.push_back(ephemeral);
  if (seen.size() > kRememberedEphemerals) seen.pop_front();
  return false;
}

nm_status Node::allow_peer(uint64_t peer_id) {
  std::lock_guard lk(mu_);
  if (stopping_) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
  known_peers_.insert(peer_id);
  return NM_OK;
}

nm_status Node::accept(uint64_t peer_id, int timeout_ms) {
  std::unique_lock lk(mu_);
  if (stopping_) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
  known_peers_.insert(peer_id);
  PendingAccept pa{peer_id, {}};
  accepts_.push_back(&pa);
  auto ready = [&] { return stopping_ || sessions_.count(peer_id) > 0; };
  if (timeout_ms < 0) {
    pa.cv.wait(lk, ready);
  } else {
    pa.cv.wait_for(lk, std::chrono::milliseconds(timeout_ms), ready);
  }
  accepts_.erase(std::find(accepts_.begin(), accepts_.end(), &pa));
  if (sessions_.count(peer_id)) {
    wait_for_hello(lk, peer_id);
    return NM_OK;
  }
  if (stopping_) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
  return fail(NM_ERR_TIMEOUT, "no handshake from peer " + std::to_string(peer_id) + " within " +
                                  std::to_string(timeout_ms) + " ms");
}

void Node::handle_handshake(std::span<const uint8_t> noise_msg, const sockaddr_storage& from,
                            std::vector<Outgoing>& out) {
  // A reply to one of our connects comes from exactly the address we dialled.
  for (PendingConnect* pc : connects_) {
    if (pc->done || pc->routed || !pc->handshake || !same_address(pc->addr, from)) continue;
    crypto::NoiseHandshake attempt = *pc->handshake;  // a failed read spoils the state
    std::vector<uint8_t> payload;
    if (attempt.read_message(noise_msg, payload)) {
      install_session(pc->peer_id, from, crypto::derive_session_keys(attempt.handshake_hash(), true),
                      false, out);
      pc->done = true;
      pc->cv.notify_all();
      return;
    }
  }
  if (!try_respond(noise_msg, from, out)) return;
}

bool Node::try_respond(std::span<const uint8_t> noise_msg, const sockaddr_storage& from,
                       std::vector<Outgoing>& out) {
  if (known_peers_.empty()) {
    ++stats_.drop_unexpected_handshake;
    return false;
  }
  // The direct msg1 does not name its sender; the prologue binds the node ids, so only
  // the right candidate decrypts it (wire spec §14.2).
  for (uint64_t peer_id : known_peers_) {
    auto hs = crypto::NoiseHandshake::responder(crypto::handshake_prologue(peer_id, node_id_),
                                                config_.psk, static_private_);
    std::vector<uint8_t> payload;
    if (!hs.read_message(noise_msg, payload)) continue;
    if (is_replayed_msg1(peer_id, hs.remote_ephemeral())) return false;
    std::vector<uint8_t> msg2;
    if (!hs.write_message({}, msg2)) break;
    build_handshake_packet(msg2, from, out.emplace_back());
    install_session(peer_id, from, crypto::derive_session_keys(hs.handshake_hash(), false), false,
                    out);
    return true;
  }
  ++stats_.drop_handshake_rejected;
  return false;
}

}  // namespace nm::node
