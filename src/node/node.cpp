#include "node/node.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "crypto/session_keys.h"
#include "node/address.h"
#include "node/clock.h"
#include "node/status.h"
#include "wire/frames.h"
#include "wire/stream_window.h"

namespace nm::node {

namespace {
bool all_zero(const crypto::Key32& k) {
  return std::all_of(k.begin(), k.end(), [](uint8_t b) { return b == 0; });
}
}  // namespace

Node::Node(const NodeConfig& config) : config_(config) {}

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
  unsigned char ed_pk[crypto_sign_PUBLICKEYBYTES], ed_sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(ed_pk, ed_sk, seed.data());
  sodium_memzero(ed_sk, sizeof ed_sk);
  crypto::Key32 ed_pub;
  std::memcpy(ed_pub.data(), ed_pk, 32);
  node_id_ = crypto::node_id_from_identity(ed_pub);

  static_private_ = config_.static_private_key;
  if (all_zero(static_private_)) randombytes_buf(static_private_.data(), static_private_.size());
  static_public_ = crypto::x25519_public(static_private_);

  if (events_.fd() < 0) return fail(NM_ERR_INTERNAL, "eventfd failed");
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
  uv_async_init(&loop_, &stop_async_, &Node::on_stop);
  stop_async_.data = this;
  loop_thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  return NM_OK;
}

void Node::shutdown() {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto* pc : connects_) pc->cv.notify_all();
    for (auto* pa : accepts_) pa->cv.notify_all();
    for (auto& [id, s] : sessions_)
      for (auto& [sid, st] : s->streams) st->changed.notify_all();
    events_.raise_forever();
  }
  if (loop_thread_.joinable()) {
    uv_async_send(&stop_async_);
    loop_thread_.join();
  }
}

Node::~Node() {
  shutdown();
  if (loop_.data) uv_loop_close(&loop_);
}

void Node::on_stop(uv_async_t* handle) {
  auto* self = static_cast<Node*>(handle->data);
  uv_poll_stop(&self->poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->poll_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->tick_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->stop_async_), nullptr);
}

std::string Node::local_address() const { return format_address(socket_.local_address()); }

nm_node_stats_t Node::stats() {
  std::lock_guard lk(mu_);
  nm_node_stats_t s = stats_;
  s.sessions = sessions_.size();
  s.datagrams_sent = datagrams_sent_;
  return s;
}

// ---- loop thread ----

void Node::on_readable(uv_poll_t* handle, int status, int) {
  if (status < 0) return;
  static_cast<Node*>(handle->data)->receive_datagrams();
}

void Node::receive_datagrams() {
  UdpSocket::Received batch[UdpSocket::kBatch];
  std::vector<Outgoing> out;
  // Bounded per wake-up so timers and the stop request are never starved.
  for (int round = 0; round < 8; ++round) {
    size_t n = socket_.receive_batch(batch);
    if (n == 0) break;
    std::unique_lock lk(mu_);
    for (size_t i = 0; i < n; ++i)
      handle_datagram(std::span<uint8_t>(batch[i].data, batch[i].len), batch[i].from, out);
    flush(lk, out, 0);
  }
}

void Node::handle_datagram(std::span<uint8_t> d, const sockaddr_storage& from,
                           std::vector<Outgoing>& out) {
  ++stats_.datagrams_received;
  wire::Header h;
  if (wire::decode_header(d, h) != wire::HeaderError::kOk) {
    // Routed packets, pingwaves and keep-alives (wire spec §0.1) land here too until the
    // mesh layer handles them; nothing unparseable goes further.
    ++stats_.drop_malformed;
    return;
  }
  if (h.flags & wire::flags::kHandshake) {
    // All bytes after the header are the Noise message (0.23 ignores payload_len here).
    handle_handshake(d.subspan(wire::kHeaderSize), from, out);
    return;
  }
  auto it = peer_by_session_id_.find(h.session_id);
  if (it == peer_by_session_id_.end()) {
    ++stats_.drop_unknown_session;
    return;
  }
  session::Session& s = *sessions_.at(it->second);
  int64_t now = now_ns();
  std::span<uint8_t> plaintext;
  bool heartbeat = h.flags & wire::flags::kHeartbeat;
  if (heartbeat && h.payload_len != 0) {
    ++stats_.drop_malformed;
    return;
  }
  switch (s.open(h, d, plaintext, now)) {
    case session::OpenError::kOk: break;
    case session::OpenError::kLengthMismatch: ++stats_.drop_malformed; return;
    case session::OpenError::kReplay: ++stats_.drop_replay; return;
    case session::OpenError::kAuthFailed: ++stats_.drop_auth_failed; return;
  }
  if (heartbeat) {
    s.note_heartbeat(now);
    ++stats_.heartbeats_received;
    return;
  }
  if (h.subprotocol_id == wire::kSubprotocolStreamWindow) {
    handle_grants(s, plaintext, h.event_count);
  } else if (h.subprotocol_id == wire::kSubprotocolData && h.stream_id != wire::kControlStreamId) {
    handle_data(s, h, plaintext);
  } else {
    ++stats_.drop_unknown_subprotocol;  // never handed to the application (unlike 0.23)
  }
}

void Node::handle_data(session::Session& s, const wire::Header& h, std::span<uint8_t> plaintext) {
  auto it = s.streams.find(h.stream_id);
  StreamPtr st;
  if (it != s.streams.end()) {
    st = it->second;
  } else {
    st = create_stream(s, h.stream_id, config_.inbound_stream, false);
  }
  auto frames = wire::read_frames(plaintext, h.event_count);
  size_t before = st->inbound_pending();
  st->on_packet(h.sequence, frames, plaintext.size(), now_ns());
  size_t added = st->inbound_pending() - before;
  if (added > 0) {
    events_.add(static_cast<int64_t>(added));
    st->changed.notify_all();
  }
}

void Node::handle_grants(session::Session& s, std::span<const uint8_t> plaintext, uint16_t count) {
  for (auto frame : wire::read_frames(plaintext, count)) {
    wire::Grant g;
    if (!wire::decode_grant(frame, g)) {
      ++stats_.drop_bad_grant;
      continue;
    }
    auto it = s.streams.find(g.stream_id);
    if (it == s.streams.end()) continue;  // closed or never opened here: nothing to credit
    if (it->second->apply_grant(g.total_consumed)) it->second->changed.notify_all();
  }
}

void Node::on_tick(uv_timer_t* handle) {
  auto* self = static_cast<Node*>(handle->data);
  std::vector<Outgoing> out;
  std::unique_lock lk(self->mu_);
  self->tick(out);
  self->flush(lk, out, 0);
}

void Node::tick(std::vector<Outgoing>& out) {
  int64_t now = now_ns();
  for (auto& [peer, s] : sessions_) {
    // 0.23 needs a verified heartbeat well inside 60 s to keep us Healthy (wire spec §10).
    Outgoing& o = out.emplace_back();
    o.to = s->peer_addr();
    wire::Header h;
    h.flags = wire::flags::kHeartbeat;
    s->seal(h, 0, o.packet);
    ++stats_.heartbeats_sent;
    evict_idle_streams(*s, now);
  }
}

size_t Node::flush(std::unique_lock<std::mutex>& lk, std::vector<Outgoing>& out, int wait_ms,
                   int* err) {
  std::unique_lock send_lock(send_mu_);
  lk.unlock();
  size_t sent = 0;
  for (; sent < out.size(); ++sent) {
    const Outgoing& o = out[sent];
    int e = socket_.send(o.packet.bytes.data(), o.packet.len, o.to, wait_ms);
    if (e != 0) {
      if (err) *err = e;
      break;
    }
  }
  datagrams_sent_ += sent;
  out.clear();
  return sent;
}

// ---- session and stream bookkeeping (under mu_) ----

void Node::install_session(uint64_t peer_id, const sockaddr_storage& addr,
                           const crypto::SessionKeys& keys) {
  auto old = sessions_.find(peer_id);
  if (old != sessions_.end()) {
    // A new handshake replaces the session; streams of the old one become stale.
    peer_by_session_id_.erase(old->second->session_id());
    for (auto& [sid, st] : old->second->streams) close_stream_locked(st, true);
    sessions_.erase(old);
  }
  sessions_[peer_id] = std::make_unique<session::Session>(peer_id, addr, keys, now_ns());
  peer_by_session_id_[keys.session_id] = peer_id;
  known_peers_.insert(peer_id);
  ++stats_.handshakes_completed;
  for (auto* pa : accepts_)
    if (pa->peer_id == peer_id) pa->cv.notify_all();
}

session::Session* Node::session_for(uint64_t peer_id) {
  auto it = sessions_.find(peer_id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

StreamPtr Node::create_stream(session::Session& s, uint64_t stream_id,
                              const stream::StreamConfig& cfg, bool by_app) {
  if (config_.max_streams > 0 && s.streams.size() >= config_.max_streams) {
    // At the cap the least recently active stream makes room.
    auto lru = std::min_element(s.streams.begin(), s.streams.end(), [](const auto& a, const auto& b) {
      return a.second->last_activity_ns() < b.second->last_activity_ns();
    });
    StreamPtr victim = lru->second;
    s.streams.erase(lru);
    close_stream_locked(victim, true);
  }
  auto st = std::make_shared<stream::Stream>(s.peer_node_id(), stream_id, cfg, by_app, now_ns());
  s.streams[stream_id] = st;
  return st;
}

void Node::close_stream_locked(const StreamPtr& st, bool drop_inbound) {
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
  for (auto it = s.streams.begin(); it != s.streams.end();) {
    const StreamPtr& st = it->second;
    if (idle_ns > 0 && st->inbound_pending() == 0 && now - st->last_activity_ns() > idle_ns) {
      close_stream_locked(st, true);
      it = s.streams.erase(it);
    } else {
      ++it;
    }
  }
}

void Node::build_grant(session::Session& s, uint64_t stream_id, uint64_t total, Outgoing& out) {
  wire::Header h;
  h.subprotocol_id = wire::kSubprotocolStreamWindow;
  h.stream_id = wire::kControlStreamId;
  h.sequence = s.next_control_seq();
  h.event_count = 1;
  uint8_t grant[wire::kGrantSize];
  wire::encode_grant({stream_id, total}, grant);
  uint8_t* end = wire::write_frame(out.packet.payload(), grant);
  s.seal(h, end - out.packet.payload(), out.packet);
  out.to = s.peer_addr();
}

void Node::build_handshake_packet(std::span<const uint8_t> noise_msg, const sockaddr_storage& to,
                                  Outgoing& out) {
  // Handshake packets: header with only the HANDSHAKE flag and payload_len, no AEAD tag.
  wire::Header h;
  h.flags = wire::flags::kHandshake;
  h.payload_len = static_cast<uint16_t>(noise_msg.size());
  wire::encode_header(h, out.packet.bytes.data());
  std::memcpy(out.packet.payload(), noise_msg.data(), noise_msg.size());
  out.packet.len = wire::kHeaderSize + noise_msg.size();
  out.to = to;
}

}  // namespace nm::node
