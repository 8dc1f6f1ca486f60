#include "node/node.h"

#include <sodium.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include "crypto/session_keys.h"
#include "wire/address.h"
#include "wire/traversal.h"
#include "node/clock.h"
#include "node/identity_file.h"
#include "node/status.h"
#include "wire/compact_header.h"
#include "wire/frames.h"
#include "wire/piece.h"
#include "wire/pingwave.h"
#include "wire/stream_window.h"

namespace nm::node {

namespace {
bool all_zero(const crypto::Key32& k) {
  return std::all_of(k.begin(), k.end(), [](uint8_t b) { return b == 0; });
}
}  // namespace

Node::Node(const NodeConfig& config)
    : config_(config), budget_(config.max_session_buffer_bytes, config.max_buffer_bytes) {}

nm_status Node::create(const NodeConfig& config, std::shared_ptr<Node>& out) {
  if (sodium_init() < 0) return fail(NM_ERR_CRYPTO, "libsodium failed to initialise");
  if (all_zero(config.psk)) return fail(NM_ERR_INVALID_ARGUMENT, "psk must not be all zero");
  std::shared_ptr<Node> node(new Node(config));
  nm_status s = node->start();
  if (s != NM_OK) return s;
  out = std::move(node);
  return NM_OK;
}

nm_status Node::start() {
  // Identity: ed25519 from a seed; node_id is derived from it exactly as net-mesh does.
  crypto::Key32 seed = config_.identity_seed;
  if (all_zero(seed)) randombytes_buf(seed.data(), seed.size());
  static_private_ = config_.static_private_key;
  if (all_zero(static_private_)) randombytes_buf(static_private_.data(), static_private_.size());
  if (!config_.identity_file.empty())
    if (nm_status s = load_or_create_identity(config_.identity_file, seed, static_private_); s != NM_OK)
      return s;
  unsigned char ed_pk[crypto_sign_PUBLICKEYBYTES], ed_sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(ed_pk, ed_sk, seed.data());
  sodium_memzero(ed_sk, sizeof ed_sk);
  crypto::Key32 ed_pub;
  std::memcpy(ed_pub.data(), ed_pk, 32);
  node_id_ = crypto::node_id_from_identity(ed_pub);
  static_public_ = crypto::x25519_public(static_private_);
  routes_ = std::make_unique<RoutingTable>(node_id_);
  responder_ = std::make_unique<crypto::NoiseResponder>(config_.psk, static_private_);
  // Replays are refused across restarts exactly when the static key survives them.
  handshake_guard_ = std::make_unique<HandshakeGuard>(
      config_.handshake_rate_per_sec,
      config_.identity_file.empty() ? std::string() : config_.identity_file + ".replay");
  pingwave_relay_ = std::make_unique<PingwaveRelay>(int64_t{config_.heartbeat_interval_ms} * 1000000);
  failures_ = std::make_unique<FailureDetector>(
      FailureDetectorConfig{int64_t{config_.suspect_after_ms} * 1000000,
                            int64_t{config_.fail_after_ms} * 1000000});

  if (events_.fd() < 0 || peer_events_signal_.fd() < 0) return fail(NM_ERR_INTERNAL, "eventfd failed");
  std::string error;
  if (!socket_.open(config_.bind_addr, error)) return fail(NM_ERR_ADDRESS, error);

  if (uv_loop_init(&loop_) != 0) return fail(NM_ERR_INTERNAL, "uv_loop_init failed");
  loop_.data = this;
  uv_poll_init_socket(&loop_, &poll_, socket_.fd());
  poll_.data = this;
  uv_poll_start(&poll_, UV_READABLE, &Node::on_readable);
  uv_timer_init(&loop_, &tick_timer_);
  tick_timer_.data = this;
  uv_timer_start(&tick_timer_, &Node::on_tick, config_.heartbeat_interval_ms,
                 config_.heartbeat_interval_ms);
  uv_timer_init(&loop_, &recovery_timer_);
  recovery_timer_.data = this;
  uv_timer_start(&recovery_timer_, &Node::on_recovery_tick, kRecoveryTickMs, kRecoveryTickMs);
  uv_timer_init(&loop_, &pace_timer_);
  pace_timer_.data = this;
  uv_async_init(&loop_, &pace_kick_, &Node::on_pace_kick);
  pace_kick_.data = this;
  uv_async_init(&loop_, &stop_async_, &Node::on_stop);
  stop_async_.data = this;
  uv_async_init(&loop_, &delay_kick_, &Node::on_delay_kick);
  delay_kick_.data = this;
  uv_async_init(&loop_, &flush_open_, &Node::on_flush_open);
  flush_open_.data = this;
  uv_timer_init(&loop_, &delay_timer_);
  delay_timer_.data = this;
  loop_thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  return NM_OK;
}

void Node::shutdown() {
  {
    MutexLock lk(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto* pc : connects_) pc->cv.notify_all();
    for (auto* pa : accepts_) pa->cv.notify_all();
    peer_events_cv_.notify_all();
    hello_cv_.notify_all();
    reflex_cv_.notify_all();
    direct_cv_.notify_all();
    peer_events_signal_.raise_forever();
    for (auto& [id, s] : sessions_)
      for (auto& [sid, st] : s->streams) {
        st->changed.notify_all();
        st->raise_readiness_forever();
      }
    events_.raise_forever();
    // What arrived is acknowledged, and what the application read is granted back, before
    // we go (the delayed ones too, which would have waited for the next tick): a peer
    // draining a stream to us (DRAIN_THEN_CLOSE), or waiting for its credit to come back
    // as the sign that everything was read, is not left waiting for packets that never
    // come. Sent, not waited for.
    std::vector<Outgoing> out;
    send_session_acks(out, true);
    send_acks(out, false);
    for (auto& [peer, s] : sessions_)
      for (auto& [id, st] : s->streams) grant_if_due(*s, st, out, true);
    flush(lk, out, 0);
  }
  if (loop_thread_.joinable()) {
    uv_async_send(&stop_async_);
    loop_thread_.join();
  }
}

Node::~Node() {
  shutdown();
  if (loop_.data) uv_loop_close(&loop_);
#ifndef NDEBUG
  // Closing every stream must bring the totals back to exactly zero: nothing drifted.
  check_budget();
  for (auto& [peer, s] : sessions_) {
    while (stream::Stream* st = s->stream_lru.oldest()) remove_stream(*s, s->streams.at(st->id()), true);
    assert(s->rx.held == 0);
  }
  assert(budget_.held() == 0);
#endif
}

void Node::on_stop(uv_async_t* handle) {
  auto* self = static_cast<Node*>(handle->data);
  MutexLock lk(self->mu_);  // kick_delay_timer callers hold mu_ or send_mu_
  MutexLock send_lock(self->send_mu_);
  self->loop_alive_ = false;
  uv_poll_stop(&self->poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->poll_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->tick_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->recovery_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->pace_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->stop_async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->delay_kick_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->flush_open_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->pace_kick_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->delay_timer_), nullptr);
}

std::string Node::local_address() const { return wire::format_address(socket_.local_address()); }

nm_node_stats_t Node::stats() {
  MutexLock lk(mu_);
  nm_node_stats_t s = stats_;
  s.sessions = sessions_.size();
  s.sessions_unconfirmed = pending_.size();
  for (const auto& [peer, session] : sessions_) s.sessions_unconfirmed += !session->confirmed;
  s.datagrams_sent = datagrams_sent_;
  s.bytes_sent = bytes_sent_;
  s.tx_refused_by_network = socket_.refused();
  return s;
}

// ---- loop thread ----

void Node::on_readable(uv_poll_t* handle, int status, int) {
  if (status < 0) return;
  static_cast<Node*>(handle->data)->receive_datagrams();
}

void Node::receive_datagrams() {
  std::vector<Outgoing>& out = loop_out_;
  // Bounded per wake-up so timers and the stop request are never starved.
  for (int round = 0; round < 8; ++round) {
    std::span<const UdpSocket::Received> batch = socket_.receive_batch();
    if (batch.empty()) break;
    if (loop_decrypted_.size() < batch.size()) loop_decrypted_.resize(batch.size());
    Decrypted* decrypted = loop_decrypted_.data();
    for (size_t i = 0; i < batch.size(); i += UdpSocket::kBatch)
      decrypt_batch(batch.subspan(i, std::min(UdpSocket::kBatch, batch.size() - i)), decrypted + i);
    {
      MutexLock lk(mu_);
      for (size_t i = 0; i < batch.size(); ++i)
        impair_inbound(std::span<uint8_t>(batch[i].data, batch[i].len), *batch[i].from, out, &decrypted[i]);
      send_acks(out, true);  // one ACK/NACK per stream per batch, not per packet
      flush(lk, out, 0);
    }
    for (size_t i = 0; i < batch.size(); ++i) decrypted[i] = Decrypted();  // buffers not taken: to the pool
  }
}

// What a datagram is, in 0.23's dispatch order (wire spec §13): keep-alive, pingwave,
// routed, direct. Only the header is read, so decrypting the payload does not change it.
enum class DatagramKind { kKeepAlive, kPingwave, kRouted, kNet, kCompact };
static DatagramKind classify(std::span<const uint8_t> d) {
  if (d.size() == 14 && d[0] == 0x50 && d[1] == 0x48) return DatagramKind::kKeepAlive;
  if (wire::is_compact(d)) return DatagramKind::kCompact;  // (or a pingwave: handle_datagram)
  if (wire::is_pingwave(d)) return DatagramKind::kPingwave;
  if (wire::is_routed_datagram(d)) return DatagramKind::kRouted;
  return DatagramKind::kNet;
}

void Node::decrypt_batch(std::span<const UdpSocket::Received> batch, Decrypted* decrypted) {
  struct Job {
    size_t index;
    wire::Header h;
    crypto::SessionKeys keys;
  };
  Job jobs[UdpSocket::kBatch];
  size_t count = 0;
  {
    MutexLock lk(mu_);
    if (!inbound_impairments_.empty()) return;  // impairments act on the ciphertext
    for (size_t i = 0; i < batch.size(); ++i) {
      std::span<const uint8_t> d(batch[i].data, batch[i].len);
      Job& j = jobs[count];
      DatagramKind kind = classify(d);
      if ((kind != DatagramKind::kNet && kind != DatagramKind::kCompact) || !wire::decode_any_header(d, j.h) ||
          (j.h.flags & wire::flags::kHandshake))
        continue;
      j.h.session_id = session_id_named(j.h);
      auto it = peer_by_session_id_.find(j.h.session_id);
      if (it == peer_by_session_id_.end()) continue;
      const session::Session& s = *sessions_.at(it->second);
      s.complete_counter(j.h);
      if (!s.admissible(j.h, d)) continue;
      j.index = i;
      j.keys = s.keys();
      ++count;
    }
  }
  for (size_t k = 0; k < count; ++k) {
    Job& j = jobs[k];
    Decrypted& d = decrypted[j.index];
    uint8_t* to = nullptr;  // in place
    if (wire::carries_stream_data(j.h)) {
      d.plaintext = stream::Payload::pooled(j.h.payload_len);
      d.plaintext.resize(j.h.payload_len);
      to = d.plaintext.data();
    }
    d.done = session::decrypt_payload(j.keys, j.h, std::span<uint8_t>(batch[j.index].data, batch[j.index].len), to);
    sodium_memzero(&j.keys, sizeof j.keys);
  }
}

Node::Answer Node::receive_datagram(std::span<const uint8_t> datagram, const sockaddr_storage& from) {
  std::vector<uint8_t> copy(datagram.begin(), datagram.end());  // decrypted in place
  std::vector<Outgoing> out;
  MutexLock lk(mu_);
  impair_inbound(copy, from, out);
  Answer answer;
  answer.datagrams = out.size();  // an upper bound: an outbound impairment may drop some
  for (const Outgoing& o : out) answer.bytes += o.packet->datagram_len();
  send_acks(out, true);  // acknowledgements due, of this datagram or of earlier ones: not counted
  flush(lk, out, 0);
  return answer;
}

void Node::handle_datagram(std::span<uint8_t> d, const sockaddr_storage& from,
                           std::vector<Outgoing>& out, Decrypted* decrypted) {
  ++stats_.datagrams_received;
  stats_.bytes_received += d.size();
  switch (classify(d)) {
    case DatagramKind::kKeepAlive: handle_keepalive(d, from, out); return;  // NAT punch
    case DatagramKind::kPingwave: handle_pingwave(d, from, out); return;
    case DatagramKind::kRouted: handle_routed(d, from, out); return;
    case DatagramKind::kNet: handle_net_packet(d, from, nullptr, out, decrypted); return;
    case DatagramKind::kCompact:
      // A 0.23 pingwave starts with its origin's node id, which may start 0x6E: its size
      // tells it apart unless the session id bits are one of ours.
      if (wire::is_pingwave(d) && session_id_of(d) == 0) {
        handle_pingwave(d, from, out);
      } else {
        handle_net_packet(d, from, nullptr, out, decrypted);
      }
      return;
  }
}

uint64_t Node::session_id_named(const wire::Header& h) const {
  if (h.header_bytes == wire::kHeaderSize) return h.session_id;
  return compact_ids_.find(wire::compact_session_bits(h.session_id));
}

uint64_t Node::session_id_of(std::span<const uint8_t> d) const {
  if (wire::is_compact(d)) {
    return d.size() < wire::kCompactFixedSize ? 0 : compact_ids_.find(wire::compact_session_bits(d));
  }
  // A direct Net packet's 0.23 header holds it at bytes 24..32.
  if (d.size() < 32 || wire::get_le<uint16_t>(d.data()) != wire::kMagic) return 0;
  return wire::get_le<uint64_t>(d.data() + 24);
}

void Node::handle_net_packet(std::span<uint8_t> d, const sockaddr_storage& from,
                             const wire::RoutingHeader* routed, std::vector<Outgoing>& out,
                             Decrypted* decrypted) {
  wire::Header h;
  if (!wire::decode_any_header(d, h)) {
    ++stats_.drop_malformed;  // nothing unparseable goes further
    return;
  }
  if (h.flags & wire::flags::kHandshake) {
    // All bytes after the header are the Noise message (0.23 ignores payload_len here).
    std::span<const uint8_t> noise_msg = d.subspan(wire::kHeaderSize);
    if (noise_msg.size() > kMaxHandshakeMessage) {
      ++stats_.drop_malformed;  // 48 or 56 bytes in practice: don't hash kilobytes per candidate
      return;
    }
    if (routed) {
      handle_routed_handshake(*routed, noise_msg, from, out);
    } else {
      handle_handshake(noise_msg, from, out);
    }
    return;
  }
  h.session_id = session_id_named(h);
  session::Session* found = nullptr;
  bool parked = false;
  if (auto it = peer_by_session_id_.find(h.session_id); it != peer_by_session_id_.end()) {
    found = sessions_.at(it->second).get();
  } else if (auto p = pending_.find(h.session_id); p != pending_.end()) {
    found = p->second.get();  // an authenticated packet confirms it (below)
    parked = true;
  } else {
    ++stats_.drop_unknown_session;
    return;
  }
  int64_t now = now_ns();
  std::span<uint8_t> plaintext;
  bool heartbeat = h.flags & wire::flags::kHeartbeat;
  if (heartbeat && h.payload_len != 0) {
    ++stats_.drop_malformed;
    return;
  }
  found->complete_counter(h);
  bool newest = wire::nonce_counter(h) >= found->rx_next_counter();
  switch (found->open(h, d, plaintext, now, decrypted && decrypted->done)) {
    case session::OpenError::kOk: break;
    case session::OpenError::kLengthMismatch: ++stats_.drop_malformed; return;
    case session::OpenError::kReplay: ++stats_.drop_replay; return;
    case session::OpenError::kAuthFailed: ++stats_.drop_auth_failed; return;
  }
  stream::Payload* buffer = decrypted ? decrypted->buffer() : nullptr;
  if (buffer) plaintext = {buffer->data(), buffer->size()};  // (the datagram kept its ciphertext)
  if ((parked || !found->confirmed) && !(found = confirm(*found, is_hello(h, plaintext), out))) {
    ++stats_.drop_unknown_session;  // the losing side of crossing dials
    return;
  }
  session::Session& s = *found;
  s.budget.on_received(d.size() + (routed ? wire::kRoutingHeaderSize : 0));
  if (!routed) follow_peer(s, from, d.size(), newest, now, out);
  uint64_t pn = wire::nonce_counter(h);
  bool data = wire::carries_stream_data(h);  // (handshakes were handled above)
  // Data counts once it is known to be taken; an empty acknowledgement packet is a ping.
  bool ping = h.subprotocol_id == wire::kSubprotocolAck && h.event_count == 0;
  if (!data) note_arrival(s, pn, ping, now);
  // Nothing else in a ping: its padding (a path MTU probe) only gives it a size.
  if (ping && !heartbeat && s.has(wire::capability::kSessionAck)) return;
  if (heartbeat) {
    // 0.23 drops routed heartbeats; between netmesh nodes they keep routed sessions alive,
    // also one we moved to a punched path while the peer has not yet (node_rendezvous.cpp).
    if (routed && !s.routed && !s.has(wire::capability::kPathMigration)) {
      ++stats_.drop_malformed;
      return;
    }
    s.note_heartbeat(now);
    ++stats_.heartbeats_received;
    if (!s.routed) failures_->heartbeat(s.peer_node_id(), now);
    return;
  }
  // Frames are read once here and handed to the handler of the subprotocol.
  std::vector<std::span<const uint8_t>>& frames = frames_scratch_;
  wire::read_frames(plaintext, h.event_count, frames);
  if (!wire::frames_exact(plaintext, frames, h.event_count)) {
    ++stats_.drop_malformed;  // authentic but mis-framed: a broken or hostile peer
    return;
  }
  if (h.subprotocol_id == wire::kSubprotocolStreamWindow) {
    handle_grants(s, frames, out);
  } else if (h.subprotocol_id == wire::kSubprotocolNetmesh && s.has(wire::capability::kRecovery)) {
    handle_extension(s, frames, routed ? nullptr : &from, out);
  } else if (h.subprotocol_id == wire::kSubprotocolPingwave &&
             s.has(wire::capability::kAuthPingwaves) && !routed) {
    handle_sealed_pingwaves(s, frames, out);
  } else if (h.subprotocol_id == wire::kSubprotocolAck && s.has(wire::capability::kSessionAck)) {
    handle_session_ack(s, frames, out);
  } else if (h.subprotocol_id == wire::kSubprotocolPiece && s.has(wire::capability::kPmtud)) {
    handle_piece(s, frames, pn, now, out);
  } else if (h.subprotocol_id == wire::kSubprotocolReflex) {
    handle_reflex(s, frames, from, routed != nullptr, out);
  } else if (h.subprotocol_id == wire::kSubprotocolRendezvous) {
    handle_rendezvous(s, frames, out);
  } else if (data) {
    if (handle_data(s, h, plaintext, buffer, out)) note_arrival(s, pn, true, now);
  } else {
    ++stats_.drop_unknown_subprotocol;  // never handed to the application (unlike 0.23)
  }
}

// A capability hello: a StreamWindow packet whose first frame is a grant for the hello
// stream id (the first thing a netmesh node sends on a session).
bool Node::is_hello(const wire::Header& h, std::span<const uint8_t> plaintext) {
  wire::Grant g;
  return h.subprotocol_id == wire::kSubprotocolStreamWindow && plaintext.size() >= wire::kFrameOverhead &&
         wire::decode_grant(plaintext.subspan(wire::kFrameOverhead,
                                              std::min(plaintext.size() - wire::kFrameOverhead, wire::kGrantSize)),
                            g) &&
         g.stream_id == wire::kHelloStreamId;
}

bool Node::handle_data(session::Session& s, const wire::Header& h, std::span<uint8_t> plaintext,
                       stream::Payload* buffer, std::vector<Outgoing>& out) {
  auto it = s.streams.find(h.stream_id);
  bool at_cap = config_.max_streams > 0 && s.streams.size() >= config_.max_streams;
  if (it == s.streams.end() && !at_cap && budget_.room(s.rx) < session::kStreamCharge) {
    ++stats_.drop_over_budget;  // a new stream is memory too (at the cap, one is evicted for it)
    return false;
  }
  StreamPtr st = it != s.streams.end() ? it->second
                                       : create_stream(s, h.stream_id, config_.inbound_stream, false);
  if (!st) {
    ++stats_.drop_over_budget;  // at the cap, and every stream holds something: it comes again
    return false;
  }
  stream::RxPacket p;
  p.seq = h.sequence;
  p.cost = static_cast<uint32_t>(plaintext.size() + wire::kPacketOverhead);
  // A netmesh sender says so in every data packet (flags::kNetmeshData): its hello may
  // have been lost, and the packet must not be read as a 0.23 one meanwhile.
  bool netmesh = h.flags & wire::flags::kNetmeshData;
  s.netmesh_data_seen |= netmesh;
  p.frag_flags = netmesh || s.has(wire::capability::kFragments) ? h.frag_flags : 0;
  p.frag_index = h.fragment_offset;
  // How to receive follows how the peer sends (its RELIABLE flag), not our own config:
  // a stream the peer started before we opened it must not change mode midway.
  bool sender_reliable = h.flags & wire::flags::kReliable;
  bool epochs = netmesh || s.has(wire::capability::kEpochs);
  if (epochs) {
    p.epoch = h.subnet_id;
    p.charged_before = h.origin_hash;
    p.accounted = !sender_reliable;
  } else {
    // A 0.23 sender reopens streams with nothing on the wire to say so. (A netmesh peer's
    // hello comes within an RTT: until a second has passed, it may just not be here yet.)
    p.may_restart = config_.compat_0_23 || now_ns() - s.established_ns() > kHelloGraceNs;
  }
  // (Its frames were checked above.)
  p.data = buffer ? stream::SharedPayload::adopt(std::move(*buffer)) : stream::SharedPayload::copy_of(plaintext);
  p.events = h.event_count;
  bool ordered = sender_reliable && (netmesh || s.has(wire::capability::kRecovery));
  // Duplicates are dropped, except on 0.23 fire-and-forget streams: a 0.23 sender restarts
  // sequences at 0 when it reopens a stream, and nothing on its wire says so.
  bool dedup = sender_reliable || st->config().reliable || epochs;
  int64_t now = now_ns();
  if (st->over_window(p.cost)) {
    ++stats_.drop_over_window;  // the peer ignores our credit; memory stays bounded
    return false;
  }
  s.ticking.insert(st->id());
  st->ack().set_released_by_session(s.has(wire::capability::kSessionRelease));
  uint64_t stray_before = st->stray_fragments();
  size_t added;
  bool taken;
  {
    session::HeldChange charge(budget_, s.rx, *st);
    stream::RxResult r = st->on_packet(std::move(p), ordered, dedup,
                                       {config_.max_event_bytes, budget_.room(s.rx)}, now);
    if (r.over_budget) ++stats_.drop_over_budget;  // a reliable sender retransmits it later
    taken = !r.over_budget && !r.refused;
    added = r.events;
    if (epochs) st->settle_losses(now);
  }
  stats_.drop_bad_fragment += st->stray_fragments() - stray_before;
  if (ordered) report_soon(st);
  grant_if_due(s, st, out);  // fragments and lost packets are credited without a read
  if (added > 0) {
    events_.add(static_cast<int64_t>(added));
    st->changed.notify_all();
  }
  return taken;
}

void Node::handle_grants(session::Session& s, Frames frames, std::vector<Outgoing>& out) {
  // A packet's hellos count as one (its first): a peer that packs many gets one answer.
  bool hello_seen = false, first_hello = false;
  for (auto frame : frames) {
    wire::Grant g;
    if (!wire::decode_grant(frame, g)) {
      ++stats_.drop_bad_grant;
      continue;
    }
    if (g.stream_id == wire::kHelloStreamId && !config_.compat_0_23) {
      if (!std::exchange(hello_seen, true)) first_hello = handle_hello(s, g.total_consumed, out);
      continue;
    }
    auto it = s.streams.find(g.stream_id);
    if (it == s.streams.end()) {
      ++stats_.drop_unknown_stream;  // closed or never opened here: nothing to credit
      continue;
    }
    const StreamPtr& st = it->second;
    s.ticking.insert(st->id());
    auto applied = st->apply_grant(g.total_consumed);
    if (applied == stream::TxCredit::Grant::kClamped) ++stats_.grants_clamped;
    if (applied != stream::TxCredit::Grant::kStale) {
      if (st->fragmenting()) pump_fragments(s, st, SIZE_MAX, out);
      st->changed.notify_all();
    }
  }
  // Now we know the peer is netmesh: crossing dials resolve by node id on both sides.
  if (first_hello) settle_crossing(s.peer_node_id(), out);
}

bool Node::handle_hello(session::Session& s, uint64_t capabilities, std::vector<Outgoing>& out) {
  bool first = !std::exchange(s.peer_hello_seen, true);
  // What a peer can do is said once per session; its hello is only repeated until it has
  // ours. A later hello that says otherwise is not taken: taking back session
  // acknowledgements would leave a congestion window that nothing opens again.
  if (first) s.peer_capabilities = capabilities & wire::capability::kAll;
  if (capabilities & wire::capability::kSeenYours) s.peer_has_our_hello = true;
  // The search first (the window starts at its datagram size), then the window, then the
  // first probe: every tracked datagram must be in the window's flight.
  int64_t now = now_ns();
  start_path_mtu(s, now);
  if (s.has(wire::capability::kSessionAck)) start_congestion_control(s);
  probe_path_mtu(s, now, out);
  // Ours confirms we have theirs. A repeat (ours was lost) is answered from the response
  // budget: a peer that keeps asking pays for the answers.
  if (first || (!s.peer_has_our_hello && s.budget.spend(kGrantBytes))) {
    send_hello(s, out);
  } else if (!s.peer_has_our_hello) {
    ++stats_.responses_deferred;
  }
  auto_direct(s, now, out);
  hello_cv_.notify_all();
  return first;
}

void Node::on_tick(uv_timer_t* handle) {
  auto* self = static_cast<Node*>(handle->data);
  std::vector<Outgoing> out;
  MutexLock lk(self->mu_);
  self->tick(out);
  self->flush(lk, out, 0);
}

void Node::tick(std::vector<Outgoing>& out) {
  int64_t now = now_ns();
  prune_sessions(now);
  for (auto& [peer, s] : sessions_) {
    evict_idle_streams(*s, now);
    auto_direct(*s, now, out);
    if (!heartbeat_due(*s, now)) continue;
    // 0.23 needs a verified heartbeat well inside 60 s to keep us Healthy (wire spec §10).
    Outgoing& o = out.emplace_back();
    wire::Header h;
    h.flags = wire::flags::kHeartbeat;
    stamp_untracked(*s, h, 0, *o.packet);
    address_to(*s, o);
    s->last_heartbeat_tx_ns = now;
    ++stats_.heartbeats_sent;
    // A lost hello is repeated a few times; a 0.23 peer never answers and ignores them.
    if (!s->peer_has_our_hello && s->hellos_sent < kMaxHellos) send_hello(*s, out);
  }
  check_budget();
  mesh_tick(now, out);
}

// (The analysis cannot follow a lock released through the caller's MutexLock; write_out,
// which does the work, it checks.)
size_t Node::flush(MutexLock& lk, std::vector<Outgoing>& out, int wait_ms,
                   int* err) NO_THREAD_SAFETY_ANALYSIS {
  limit_unproven(out);
  if (out.empty()) {  // nothing to order: don't queue behind another thread's sends
    lk.unlock();
    return 0;
  }
  MutexLock send_lock(send_mu_);
  lk.unlock();
  return write_out(out, wait_ms, err);
}

size_t Node::write_out(std::vector<Outgoing>& out, int wait_ms, int* err) {
  for (Outgoing& o : out) o.packet->seal();  // the AEAD runs outside mu_
  std::vector<UdpSocket::Datagram>& batch = datagrams_scratch_;
  batch.clear();
  for (const Outgoing& o : out)
    batch.push_back({o.packet->datagram(), o.packet->datagram_len(), &o.to, o.dont_fragment});
  size_t handled = 0;
  if (outbound_impairments_.empty()) {
    handled = socket_.send_many(batch.data(), batch.size(), wait_ms, err);
  } else {  // one at a time, each past the fault injection first, by send_many's rules
    int first_err = 0;
    for (; handled < out.size(); ++handled) {
      if (impair_outbound(out[handled])) continue;
      int e = 0;
      bool stopped = socket_.send_many(&batch[handled], 1, wait_ms, &e) == 0;
      if (!first_err) first_err = e;
      if (stopped) break;
    }
    if (err && first_err) *err = first_err;
  }
  // What went before the first refusal or error (what a stream's sender may count as sent);
  // the counters take every datagram that left.
  size_t before_failure = handled;
  uint64_t datagrams = 0, bytes = 0;
  for (size_t i = 0; i < handled; ++i) {
    if (batch[i].refused) {
      before_failure = std::min(before_failure, i);
      continue;
    }
    ++datagrams;
    bytes += batch[i].len;
  }
  datagrams_sent_ += datagrams;
  bytes_sent_ += bytes;
  out.clear();
  return before_failure;
}

// ---- session and stream bookkeeping (under mu_) ----

session::Session* Node::session_for(uint64_t peer_id) {
  auto it = sessions_.find(peer_id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

session::Session* Node::session_of(const StreamPtr& st) {
  session::Session* s = session_for(st->peer_node_id());
  if (!s) return nullptr;
  auto it = s->streams.find(st->id());
  return it != s->streams.end() && it->second == st ? s : nullptr;
}

StreamPtr Node::create_stream(session::Session& s, uint64_t stream_id,
                              const stream::StreamConfig& cfg, bool by_app) {
  if (config_.max_streams > 0 && s.streams.size() >= config_.max_streams) {
    stream::Stream* victim = s.stream_lru.oldest();
    for (int looked = 1; victim && !holds_nothing(*victim); ++looked)
      victim = looked < kEvictionScan ? victim->lru().newer() : nullptr;
    if (!victim) return nullptr;
    remove_stream(s, s.streams.at(victim->id()), true);
  }
  auto st = std::make_shared<stream::Stream>(s.peer_node_id(), stream_id, cfg, by_app,
                                             s.next_epoch(), now_ns());
  attach_stream(s, st);
  return st;
}

void Node::attach_stream(session::Session& s, const StreamPtr& st) {
  s.streams[st->id()] = st;
  // Only streams that hold nothing yet (new, or carried over unused).
  budget_.update(s.rx, 0, session::kStreamCharge);  // the application's streams too, never refused
  s.stream_lru.push_back(st->lru());
}

void Node::detach_stream(session::Session& s, const StreamPtr& st) {
  s.streams.erase(st->id());
  st->lru().unlink();
  // Out of the session, out of its budget: what a draining stream keeps readable is the
  // application's to read or free.
  budget_.update(s.rx, st->held_bytes() + session::kStreamCharge, 0);
}

void Node::remove_stream(session::Session& s, StreamPtr st, bool drop_inbound) {
  detach_stream(s, st);
  close_stream_locked(st, drop_inbound);
}

void Node::close_stream_locked(const StreamPtr& st, bool drop_inbound) {
  st->abandon_transmit();
  st->abandon_receive();
  if (drop_inbound || st->inbound_pending() == 0) {
    events_.add(-static_cast<int64_t>(st->inbound_pending()));
    st->discard_inbound();
    st->set_state(stream::StreamState::kClosed);
  } else {
    st->set_state(stream::StreamState::kDraining);
  }
  st->changed.notify_all();
}

void Node::evict_idle_streams(session::Session& s, int64_t now) {
  int64_t idle_ns = int64_t{config_.stream_idle_timeout_ms} * 1000000;
  if (idle_ns <= 0) return;
  // Oldest first: the walk ends at the first stream active within the timeout.
  for (stream::Stream* st = s.stream_lru.oldest(); st && now - st->last_activity_ns() > idle_ns;) {
    stream::Stream* next = st->lru().newer();
    // Only a stream holding nothing (the app was told its events were sent: an outage
    // longer than the timeout loses nothing).
    if (holds_nothing(*st)) remove_stream(s, s.streams.at(st->id()), true);
    st = next;
  }
}

void Node::build_grant(session::Session& s, uint64_t stream_id, uint64_t total, Outgoing& out) {
  wire::Grant g{stream_id, total};
  build_grants(s, std::span<const wire::Grant>(&g, 1), out);
}

void Node::build_grants(session::Session& s, std::span<const wire::Grant> grants, Outgoing& out) {
  wire::Header h = s.control_header(wire::kSubprotocolStreamWindow, static_cast<uint16_t>(grants.size()));
  uint8_t* end = out.packet->payload();
  for (const wire::Grant& g : grants) {
    uint8_t frame[wire::kGrantSize];
    wire::encode_grant(g, frame);
    end = wire::write_frame(end, frame);
  }
  stamp_untracked(s, h, end - out.packet->payload(), *out.packet);
  address_to(s, out);
}

void Node::grant_if_due(session::Session& s, const StreamPtr& st, std::vector<Outgoing>& out,
                        bool eager, int64_t eager_gap_ns) {
  // Grants go out per quarter window drained. When the queue runs empty the rest goes too:
  // at once for a 0.23 sender (it cannot ask for a grant it missed), from the recovery tick
  // for a netmesh sender, so a ping-pong costs one grant per tick, not per event (a stalled
  // netmesh sender probes anyway), and less than a sixteenth of the window at most once
  // per `eager_gap_ns`.
  // Paid from the peer's response budget: what its own packets consumed (its data, or the
  // credit of packets it says were lost) is granted back, and a peer that sends nothing
  // but claims of loss earns only what its packets do. Unpaid, the grant stays due.
  if (s.budget.available() < kGrantBytes) return;
  uint64_t total;
  bool netmesh = s.has(wire::capability::kRecovery);
  if (st->grant_due(&total, eager || !netmesh, now_ns(), netmesh ? eager_gap_ns : 0)) {
    s.budget.spend(kGrantBytes);
    build_grant(s, st->id(), total, out.emplace_back());
  }
}

void Node::build_handshake_packet(std::span<const uint8_t> noise_msg, const sockaddr_storage& to,
                                  Outgoing& out) {
  // Handshake packets: header with only the HANDSHAKE flag and payload_len, no AEAD tag.
  wire::Header h;
  h.flags = wire::flags::kHandshake;
  h.payload_len = static_cast<uint16_t>(noise_msg.size());
  wire::encode_header(h, out.packet->bytes());
  std::memcpy(out.packet->payload(), noise_msg.data(), noise_msg.size());
  out.packet->len = wire::kHeaderSize + noise_msg.size();
  out.packet->head = session::PacketBuffer::kHeadroom;
  out.to = to;
}

void Node::check_budget(const session::Session& s) const {
#ifndef NDEBUG
  uint64_t held = 0;
  for (const auto& [id, st] : s.streams) held += st->held_bytes() + session::kStreamCharge;
  assert(held == s.rx.held);
#else
  (void)s;
#endif
}

void Node::check_budget() const {
#ifndef NDEBUG
  uint64_t total = 0;
  for (const auto& [peer, s] : sessions_) {
    check_budget(*s);
    total += s->rx.held;
  }
  for (const auto& [sid, s] : pending_) total += s->rx.held;  // nothing: never received data
  assert(total == budget_.held());
#endif
}

}  // namespace nm::node
