// The C ABI: argument checks, handle lookups and struct conversions around node::Node.
#include <xxhash.h>

#include <cstring>
#include <exception>
#include <string>

#include "capi/handles.h"
#include "netmesh.h"
#include "node/address.h"
#include "node/status.h"

using nm::node::fail;

namespace {

constexpr uint64_t kRetryForever = UINT64_MAX;
constexpr uint32_t kMaxFragmentedEvent = 65535u * 8104u;  // fragment index is a u16

// No C++ exception may cross the C boundary.
template <typename F>
nm_status guarded(F&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(NM_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(NM_ERR_INTERNAL, e.what());
  }
}

nm_status null_arg(const char* name) {
  return fail(NM_ERR_INVALID_ARGUMENT, std::string(name) + " must not be NULL");
}

nm_status with_node(nm_node_t* handle, std::shared_ptr<nm::node::Node>& out) {
  if (!handle) return null_arg("node");
  out = nm::capi::find_node(handle);
  if (!out) return fail(NM_ERR_INVALID_HANDLE, "node handle is not live (freed or never issued)");
  return NM_OK;
}

nm_status with_stream(nm_stream_t* handle, nm::capi::StreamHandle& h,
                      std::shared_ptr<nm::node::Node>& node) {
  if (!handle) return null_arg("stream");
  if (!nm::capi::find_stream(handle, h))
    return fail(NM_ERR_INVALID_HANDLE, "stream handle is not live (freed or never issued)");
  node = h.node.lock();
  if (!node) return fail(NM_ERR_SHUTDOWN, "the stream's node was freed");
  return NM_OK;
}

// Lists go to a caller array: up to `capacity` entries, and the full count (capacity 0
// asks for the size only).
template <typename T>
nm_status copy_out(const std::vector<T>& all, T* out, size_t capacity, size_t* out_count) {
  if (!out_count) return null_arg("out_count");
  if (capacity > 0 && !out) return null_arg("out");
  *out_count = all.size();
  size_t n = std::min(capacity, all.size());
  if (n > 0) std::memcpy(out, all.data(), n * sizeof(T));
  return NM_OK;
}

// An enum the caller filled in, read as the integer it stored: loading an out-of-range
// value as the enum type is undefined behaviour in C++ (and UBSan aborts on it).
template <typename E>
int32_t enum_value(const E& e) {
  static_assert(sizeof(E) == sizeof(int32_t));
  int32_t v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

nm::stream::StreamConfig to_stream_config(const nm_stream_config_t& c) {
  nm::stream::StreamConfig s;
  s.reliable = enum_value(c.reliability) == NM_RELIABLE;
  s.window_bytes = c.window_bytes;
  s.fairness_weight = c.fairness_weight == 0 ? 1 : c.fairness_weight;  // net-mesh clamps 0 to 1
  s.close = enum_value(c.close_behaviour) == NM_DROP_AND_CLOSE
                ? nm::stream::CloseBehaviour::kDropAndClose
                : nm::stream::CloseBehaviour::kDrainThenClose;
  return s;
}

nm_status check_stream_config(const nm_stream_config_t& c) {
  int32_t reliability = enum_value(c.reliability), close = enum_value(c.close_behaviour);
  if (reliability != NM_FIRE_AND_FORGET && reliability != NM_RELIABLE)
    return fail(NM_ERR_INVALID_ARGUMENT, "reliability must be NM_FIRE_AND_FORGET or NM_RELIABLE");
  if (close != NM_DRAIN_THEN_CLOSE && close != NM_DROP_AND_CLOSE)
    return fail(NM_ERR_INVALID_ARGUMENT, "close_behaviour must be DRAIN_THEN_CLOSE or DROP_AND_CLOSE");
  if (c.window_bytes != 0 && c.window_bytes < 8192 + 84)
    return fail(NM_ERR_INVALID_ARGUMENT, "window_bytes must be 0 or at least one full packet (8276)");
  return NM_OK;
}

nm_status send_with(nm_stream_t* stream, const nm_event_t* events, size_t count, size_t* out_sent,
                    uint64_t max_retries, int timeout_ms) {
  size_t sent_local = 0;
  size_t* sent = out_sent ? out_sent : &sent_local;
  *sent = 0;
  if (count > 0 && !events) return null_arg("events");
  nm::capi::StreamHandle h;
  std::shared_ptr<nm::node::Node> node;
  if (nm_status s = with_stream(stream, h, node); s != NM_OK) return s;
  std::span<const nm_event_t> span(events, count);
  if (max_retries == 0) return node->send(h.stream, span, sent);
  return node->send_waiting(h.stream, span, max_retries, timeout_ms, sent);
}

}  // namespace

extern "C" {

const char* nm_version(void) { return NETMESH_VERSION; }

const char* nm_strerror(nm_status status) {
  switch (status) {
    case NM_OK: return "ok";
    case NM_ERR_INVALID_ARGUMENT: return "invalid argument";
    case NM_ERR_INVALID_HANDLE: return "invalid handle";
    case NM_ERR_WRONG_NODE: return "handle belongs to another node";
    case NM_ERR_NOT_CONNECTED: return "not connected";
    case NM_ERR_BACKPRESSURE: return "backpressure";
    case NM_ERR_TRANSPORT: return "transport error";
    case NM_ERR_TIMEOUT: return "timed out";
    case NM_ERR_HANDSHAKE: return "handshake failed";
    case NM_ERR_EVENT_TOO_LARGE: return "event too large";
    case NM_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case NM_ERR_SHUTDOWN: return "node shut down";
    case NM_ERR_ADDRESS: return "bad address";
    case NM_ERR_CRYPTO: return "crypto failure";
    case NM_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

const char* nm_last_error_message(void) { return nm::node::last_error_detail(); }

nm_status nm_node_config_init(nm_node_config_t* c) {
  if (!c) return null_arg("config");
  std::memset(c, 0, sizeof *c);
  c->bind_addr = "127.0.0.1:0";
  c->heartbeat_interval_ms = 5000;
  c->handshake_timeout_ms = 5000;
  c->handshake_retries = 3;
  c->session_timeout_ms = 30000;
  c->stream_idle_timeout_ms = 300000;
  c->max_streams = 4096;
  c->default_window_bytes = 65536;
  c->max_event_bytes = 16u << 20;
  c->drain_timeout_ms = 5000;
  c->suspect_after_ms = 60000;
  c->fail_after_ms = 90000;
  c->pingwave_ttl = 8;
  c->max_sessions = 1024;
  c->handshake_rate_per_sec = 500;
  c->max_session_buffer_bytes = 32u << 20;
  c->max_buffer_bytes = 256u << 20;
  return NM_OK;
}

nm_status nm_node_new(const nm_node_config_t* c, nm_node_t** out) {
  return guarded([&] {
    if (!c) return null_arg("config");
    if (!out) return null_arg("out_node");
    *out = nullptr;
    nm::node::NodeConfig cfg;
    std::string bind = c->bind_addr ? c->bind_addr : "127.0.0.1:0";
    if (!nm::node::parse_address(bind, cfg.bind_addr))
      return fail(NM_ERR_ADDRESS, "cannot parse bind_addr '" + bind + "'");
    if (c->heartbeat_interval_ms == 0 || c->handshake_timeout_ms == 0)
      return fail(NM_ERR_INVALID_ARGUMENT, "heartbeat_interval_ms and handshake_timeout_ms must be > 0");
    if (c->default_window_bytes != 0 && c->default_window_bytes < 8192 + 84)
      return fail(NM_ERR_INVALID_ARGUMENT, "default_window_bytes must be 0 or >= 8276");
    std::memcpy(cfg.psk.data(), c->psk, NM_KEY_SIZE);
    std::memcpy(cfg.identity_seed.data(), c->identity_seed, NM_KEY_SIZE);
    std::memcpy(cfg.static_private_key.data(), c->static_private_key, NM_KEY_SIZE);
    if (c->identity_file) cfg.identity_file = c->identity_file;
    cfg.heartbeat_interval_ms = c->heartbeat_interval_ms;
    cfg.handshake_timeout_ms = c->handshake_timeout_ms;
    cfg.handshake_retries = c->handshake_retries;
    cfg.session_timeout_ms = c->session_timeout_ms;
    cfg.stream_idle_timeout_ms = c->stream_idle_timeout_ms;
    cfg.max_streams = c->max_streams;
    cfg.inbound_stream.window_bytes = c->default_window_bytes;
    if (c->max_event_bytes > kMaxFragmentedEvent)
      return fail(NM_ERR_INVALID_ARGUMENT, "max_event_bytes above " + std::to_string(kMaxFragmentedEvent));
    cfg.max_event_bytes = c->max_event_bytes;
    cfg.drain_timeout_ms = c->drain_timeout_ms;
    cfg.compat_0_23 = c->compat_0_23 != 0;
    if (c->suspect_after_ms == 0 || c->fail_after_ms < c->suspect_after_ms)
      return fail(NM_ERR_INVALID_ARGUMENT, "need 0 < suspect_after_ms <= fail_after_ms");
    cfg.suspect_after_ms = c->suspect_after_ms;
    cfg.fail_after_ms = c->fail_after_ms;
    cfg.pingwave_ttl = c->pingwave_ttl;
    cfg.session_rate_bytes_per_sec = c->session_rate_bytes_per_sec;
    cfg.max_sessions = c->max_sessions;
    cfg.handshake_rate_per_sec = c->handshake_rate_per_sec;
    // A session must hold one largest event (its reservation) and still take packets.
    constexpr uint64_t kFullPacket = 8192 + 84;
    if (c->max_session_buffer_bytes < uint64_t{c->max_event_bytes} + 2 * kFullPacket)
      return fail(NM_ERR_INVALID_ARGUMENT,
                  "max_session_buffer_bytes must be at least max_event_bytes + 2 full packets (" +
                      std::to_string(uint64_t{c->max_event_bytes} + 2 * kFullPacket) + ")");
    if (c->max_buffer_bytes < c->max_session_buffer_bytes)
      return fail(NM_ERR_INVALID_ARGUMENT, "max_buffer_bytes must be at least max_session_buffer_bytes");
    cfg.max_session_buffer_bytes = c->max_session_buffer_bytes;
    cfg.max_buffer_bytes = c->max_buffer_bytes;
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = nm::node::Node::create(cfg, node); s != NM_OK) return s;
    *out = nm::capi::register_node(std::move(node));
    return NM_OK;
  });
}

nm_status nm_node_free(nm_node_t* handle) {
  return guarded([&] {
    if (!handle) return null_arg("node");
    auto node = nm::capi::unregister_node(handle);
    if (!node) return fail(NM_ERR_INVALID_HANDLE, "node handle is not live (double free?)");
    node->shutdown();  // memory goes when the last in-flight call returns
    return NM_OK;
  });
}

nm_status nm_node_public_key(nm_node_t* handle, uint8_t out_key[NM_KEY_SIZE]) {
  std::shared_ptr<nm::node::Node> node;
  if (nm_status s = with_node(handle, node); s != NM_OK) return s;
  if (!out_key) return null_arg("out_key");
  std::memcpy(out_key, node->public_key().data(), NM_KEY_SIZE);
  return NM_OK;
}

nm_status nm_node_id(nm_node_t* handle, uint64_t* out) {
  std::shared_ptr<nm::node::Node> node;
  if (nm_status s = with_node(handle, node); s != NM_OK) return s;
  if (!out) return null_arg("out_node_id");
  *out = node->id();
  return NM_OK;
}

nm_status nm_node_local_addr(nm_node_t* handle, char* buf, size_t len) {
  return guarded([&] {
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = with_node(handle, node); s != NM_OK) return s;
    if (!buf) return null_arg("buf");
    std::string addr = node->local_address();
    if (addr.size() + 1 > len)
      return fail(NM_ERR_BUFFER_TOO_SMALL, "address needs " + std::to_string(addr.size() + 1) + " bytes");
    std::memcpy(buf, addr.c_str(), addr.size() + 1);
    return NM_OK;
  });
}

nm_status nm_node_stats(nm_node_t* handle, nm_node_stats_t* out) {
  std::shared_ptr<nm::node::Node> node;
  if (nm_status s = with_node(handle, node); s != NM_OK) return s;
  if (!out) return null_arg("out");
  *out = node->stats();
  return NM_OK;
}

nm_status nm_node_event_fd(nm_node_t* handle, int* out_fd) {
  std::shared_ptr<nm::node::Node> node;
  if (nm_status s = with_node(handle, node); s != NM_OK) return s;
  if (!out_fd) return null_arg("out_fd");
  *out_fd = node->event_fd();
  return NM_OK;
}

nm_status nm_node_connect(nm_node_t* handle, const char* addr, const uint8_t key[NM_KEY_SIZE],
                          uint64_t peer_node_id) {
  return guarded([&] {
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = with_node(handle, node); s != NM_OK) return s;
    if (!addr) return null_arg("addr");
    if (!key) return null_arg("peer_public_key");
    nm::crypto::Key32 k;
    std::memcpy(k.data(), key, NM_KEY_SIZE);
    return node->connect(addr, k, peer_node_id);
  });
}

nm_status nm_node_connect_via(nm_node_t* handle, const char* relay_addr, const uint8_t key[NM_KEY_SIZE],
                              uint64_t peer_node_id) {
  return guarded([&] {
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = with_node(handle, node); s != NM_OK) return s;
    if (!relay_addr) return null_arg("relay_addr");
    if (!key) return null_arg("peer_public_key");
    nm::crypto::Key32 k;
    std::memcpy(k.data(), key, NM_KEY_SIZE);
    return node->connect(relay_addr, k, peer_node_id, true);
  });
}

nm_status nm_node_routes(nm_node_t* handle, nm_route_t* out, size_t capacity, size_t* out_count) {
  return guarded([&] {
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = with_node(handle, node); s != NM_OK) return s;
    return copy_out(node->routes(), out, capacity, out_count);
  });
}

nm_status nm_node_next_peer_event(nm_node_t* handle, nm_peer_event_t* out, int timeout_ms) {
  return guarded([&] {
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = with_node(handle, node); s != NM_OK) return s;
    if (!out) return null_arg("out");
    return node->next_peer_event(*out, timeout_ms);
  });
}

nm_status nm_node_peer_event_fd(nm_node_t* handle, int* out_fd) {
  std::shared_ptr<nm::node::Node> node;
  if (nm_status s = with_node(handle, node); s != NM_OK) return s;
  if (!out_fd) return null_arg("out_fd");
  *out_fd = node->peer_event_fd();
  return NM_OK;
}

nm_status nm_node_allow_peer(nm_node_t* handle, uint64_t peer_node_id) {
  return guarded([&] {
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = with_node(handle, node); s != NM_OK) return s;
    return node->allow_peer(peer_node_id);
  });
}

nm_status nm_node_accept(nm_node_t* handle, uint64_t peer_node_id, int timeout_ms) {
  return guarded([&] {
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = with_node(handle, node); s != NM_OK) return s;
    return node->accept(peer_node_id, timeout_ms);
  });
}

nm_status nm_impairment_init(nm_impairment_t* imp) {
  if (!imp) return null_arg("impairment");
  std::memset(imp, 0, sizeof *imp);
  imp->rate_queue_limit_us = 200000;
  imp->seed = 1;
  return NM_OK;
}

nm_status nm_node_set_impairment(nm_node_t* handle, uint64_t peer_node_id, nm_direction directions,
                                 const nm_impairment_t* imp) {
  return guarded([&] {
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = with_node(handle, node); s != NM_OK) return s;
    int32_t dirs = enum_value(directions);
    if (dirs < NM_OUTBOUND || dirs > NM_BOTH_DIRECTIONS)
      return fail(NM_ERR_INVALID_ARGUMENT, "directions must be NM_OUTBOUND, NM_INBOUND or both");
    if (!imp) {
      node->set_impairment(peer_node_id, dirs, nullptr);
      return NM_OK;
    }
    for (double p : {imp->loss, imp->burst_enter, imp->burst_exit, imp->duplicate, imp->reorder, imp->corrupt})
      if (!(p >= 0.0 && p <= 1.0)) return fail(NM_ERR_INVALID_ARGUMENT, "probabilities must be in [0, 1]");
    nm::node::ImpairmentConfig c;
    c.loss = imp->loss;
    c.burst_enter = imp->burst_enter;
    c.burst_exit = imp->burst_exit;
    c.duplicate = imp->duplicate;
    c.reorder = imp->reorder;
    c.reorder_window_us = imp->reorder_window_us;
    c.delay_us = imp->delay_us;
    c.jitter_us = imp->jitter_us;
    c.rate_bytes_per_sec = imp->rate_bytes_per_sec;
    c.rate_queue_limit_us = imp->rate_queue_limit_us;
    c.corrupt = imp->corrupt;
    c.drop_above_bytes = imp->drop_above_bytes;
    c.seed = imp->seed;
    node->set_impairment(peer_node_id, dirs, &c);
    return NM_OK;
  });
}

nm_status nm_stream_config_init(nm_stream_config_t* c) {
  if (!c) return null_arg("config");
  std::memset(c, 0, sizeof *c);
  c->reliability = NM_FIRE_AND_FORGET;
  c->window_bytes = 65536;
  c->fairness_weight = 1;
  c->close_behaviour = NM_DROP_AND_CLOSE;
  return NM_OK;
}

nm_status nm_node_open_stream(nm_node_t* handle, uint64_t peer_node_id, uint64_t stream_id,
                              const nm_stream_config_t* config, nm_stream_t** out) {
  return guarded([&] {
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = with_node(handle, node); s != NM_OK) return s;
    if (!out) return null_arg("out_stream");
    *out = nullptr;
    nm_stream_config_t cfg;
    nm_stream_config_init(&cfg);
    if (config) cfg = *config;
    if (nm_status s = check_stream_config(cfg); s != NM_OK) return s;
    if (stream_id == UINT64_MAX)
      return fail(NM_ERR_INVALID_ARGUMENT, "stream id UINT64_MAX is reserved for credit grants");
    nm::node::StreamPtr st;
    if (nm_status s = node->open_stream(peer_node_id, stream_id, to_stream_config(cfg), st); s != NM_OK)
      return s;
    *out = nm::capi::register_stream(handle, node, std::move(st));
    return NM_OK;
  });
}

nm_status nm_node_close_stream(nm_node_t* handle, nm_stream_t* stream) {
  return guarded([&] {
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = with_node(handle, node); s != NM_OK) return s;
    nm::capi::StreamHandle h;
    std::shared_ptr<nm::node::Node> owner;
    if (nm_status s = with_stream(stream, h, owner); s != NM_OK) return s;
    if (h.node_token != nm::capi::node_token(handle))
      return fail(NM_ERR_WRONG_NODE, "stream handle belongs to another node");
    return node->close_stream(h.stream);
  });
}

nm_status nm_stream_free(nm_stream_t* stream) {
  return guarded([&] {
    if (!stream) return null_arg("stream");
    if (!nm::capi::unregister_stream(stream))
      return fail(NM_ERR_INVALID_HANDLE, "stream handle is not live (double free?)");
    return NM_OK;
  });
}

nm_status nm_stream_send(nm_stream_t* stream, const nm_event_t* events, size_t count, size_t* out_sent) {
  return guarded([&] { return send_with(stream, events, count, out_sent, 0, -1); });
}

nm_status nm_stream_send_with_retry(nm_stream_t* stream, const nm_event_t* events, size_t count,
                                    uint32_t max_retries, size_t* out_sent) {
  return guarded([&] { return send_with(stream, events, count, out_sent, max_retries, -1); });
}

nm_status nm_stream_send_blocking(nm_stream_t* stream, const nm_event_t* events, size_t count,
                                  int timeout_ms, size_t* out_sent) {
  return guarded([&] { return send_with(stream, events, count, out_sent, kRetryForever, timeout_ms); });
}

nm_status nm_stream_recv(nm_stream_t* stream, void* buf, size_t buf_len, size_t* out_len,
                         int timeout_ms) {
  if (!out_len) return null_arg("out_len");
  size_t count = 0;
  *out_len = 0;
  return nm_stream_recv_batch(stream, buf, buf_len, out_len, 1, &count, timeout_ms);
}

nm_status nm_stream_recv_batch(nm_stream_t* stream, void* buf, size_t buf_len, size_t* lens,
                               size_t max_events, size_t* out_count, int timeout_ms) {
  return guarded([&] {
    if (!out_count) return null_arg("out_count");
    *out_count = 0;
    if (!lens || max_events == 0) return fail(NM_ERR_INVALID_ARGUMENT, "lens must hold >= 1 entry");
    if (!buf && buf_len > 0) return null_arg("buf");
    nm::capi::StreamHandle h;
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = with_stream(stream, h, node); s != NM_OK) return s;
    static uint8_t empty;  // a valid pointer for zero-length buffers
    std::span<uint8_t> out(buf ? static_cast<uint8_t*>(buf) : &empty, buf_len);
    return node->recv(h.stream, out, std::span<size_t>(lens, max_events), out_count, timeout_ms);
  });
}

nm_status nm_stream_stats(nm_stream_t* stream, nm_stream_stats_t* out) {
  return guarded([&] {
    if (!out) return null_arg("out");
    nm::capi::StreamHandle h;
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = with_stream(stream, h, node); s != NM_OK) return s;
    return node->stream_stats(h.stream, *out);
  });
}

nm_status nm_node_all_stream_stats(nm_node_t* handle, nm_stream_stats_t* out, size_t capacity,
                                   size_t* out_count) {
  return guarded([&] {
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = with_node(handle, node); s != NM_OK) return s;
    return copy_out(node->all_stream_stats(), out, capacity, out_count);
  });
}

nm_status nm_stream_id_from_key(const void* key, size_t len, uint64_t* out) {
  if (!key && len > 0) return null_arg("key");
  if (!out) return null_arg("out_stream_id");
  *out = XXH3_64bits(key, len);
  return NM_OK;
}

}  // extern "C"
