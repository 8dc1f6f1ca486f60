// The C ABI: every entry point is one entry() call (capi/entry.h: exception guard and handle
// lookup); structs cross through the caller's size (capi/sized.h) and are converted by
// their field lists (capi/convert.h).
#include <xxhash.h>

#include <cstring>
#include <string>

#include "capi/convert.h"
#include "capi/entry.h"
#include "capi/sized.h"
#include "netmesh.h"
#include "netmesh_testing.h"
#include "node/status.h"
#include "wire/address.h"

using nm::capi::entry;
using nm::capi::NodeRef;
using nm::capi::StreamRef;
using nm::node::fail;

static_assert(NM_VERSION_MAJOR == NETMESH_VERSION_MAJOR && NM_VERSION_MINOR == NETMESH_VERSION_MINOR &&
                  NM_VERSION_PATCH == NETMESH_VERSION_PATCH,
              "NM_VERSION_* in netmesh.h must match project(VERSION) in CMakeLists.txt");

namespace {

constexpr uint64_t kRetryForever = UINT64_MAX;

nm_status null_arg(const char* name) {
  return fail(NM_ERR_INVALID_ARGUMENT, std::string(name) + " must not be NULL");
}

nm_status send_with(StreamRef& s, const nm_event_t* events, size_t count, size_t* out_sent,
                    uint64_t max_retries, int timeout_ms) {
  size_t sent_local = 0;
  size_t* sent = out_sent ? out_sent : &sent_local;
  *sent = 0;
  if (count > 0 && !events) return null_arg("events");
  std::span<const nm_event_t> span(events, count);
  if (max_retries == 0) return s->send(s.stream(), span, sent);
  return s->send_waiting(s.stream(), span, max_retries, timeout_ms, sent, s.h.released.get());
}

// A blocking call's timeout: -1 waits for ever, 0 does not wait; other negative values are
// mistakes (they were taken as "forever").
nm_status wait_timeout(int timeout_ms) {
  return timeout_ms < -1 ? fail(NM_ERR_INVALID_ARGUMENT, "timeout_ms must be -1 (for ever) or >= 0") : NM_OK;
}

nm_status recv_batch(StreamRef& s, void* buf, size_t buf_len, size_t* lens, size_t max_events,
                     size_t* out_count, int timeout_ms) {
  if (nm_status st = wait_timeout(timeout_ms); st != NM_OK) return st;
  if (!lens || max_events == 0) return fail(NM_ERR_INVALID_ARGUMENT, "lens must hold >= 1 entry");
  if (!buf && buf_len > 0) return null_arg("buf");
  static uint8_t empty;  // a valid pointer for zero-length buffers
  std::span<uint8_t> out(buf ? static_cast<uint8_t*>(buf) : &empty, buf_len);
  return s->recv(s.stream(), out, std::span<size_t>(lens, max_events), out_count, timeout_ms, s.h.released.get());
}

}  // namespace

extern "C" {

const char* nm_version(void) {
  return entry([] { return NETMESH_VERSION; });
}

const char* nm_strerror(int32_t status) {
  return entry([&]() -> const char* {
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
  });
}

const char* nm_last_error_message(void) {
  return entry([] { return nm::node::last_error_detail(); });
}

nm_status nm_node_config_init(nm_node_config_t* config, size_t config_size) {
  return entry([&] {
    return nm::capi::init_sized(config, config_size, nm::capi::default_node_config(), "config");
  });
}

nm_status nm_node_new(const nm_node_config_t* config, nm_node_t** out) {
  return entry([&] {
    if (!config) return null_arg("config");
    if (!out) return null_arg("out_node");
    *out = nullptr;
    nm_node_config_t c = nm::capi::default_node_config();
    if (nm_status s = nm::capi::read_sized(config, c, "config"); s != NM_OK) return s;
    nm::node::NodeConfig cfg;
    if (nm_status s = nm::capi::to_node_config(c, cfg); s != NM_OK) return s;
    std::shared_ptr<nm::node::Node> node;
    if (nm_status s = nm::node::Node::create(cfg, node); s != NM_OK) return s;
    *out = nm::capi::register_node(std::move(node));
    return NM_OK;
  });
}

nm_status nm_node_free(nm_node_t* handle) {
  return entry([&] {
    if (!handle) return null_arg("node");
    auto node = nm::capi::unregister_node(handle);
    if (!node) return fail(NM_ERR_INVALID_HANDLE, "node handle is not live (double free?)");
    node->shutdown();  // memory goes when the last in-flight call returns
    return NM_OK;
  });
}

nm_status nm_node_public_key(nm_node_t* handle, uint8_t out_key[NM_KEY_SIZE]) {
  return entry(handle, [&](NodeRef& n) {
    if (!out_key) return null_arg("out_key");
    std::memcpy(out_key, n->public_key().data(), NM_KEY_SIZE);
    return NM_OK;
  });
}

nm_status nm_node_id(nm_node_t* handle, uint64_t* out) {
  return entry(handle, [&](NodeRef& n) {
    if (!out) return null_arg("out_node_id");
    *out = n->id();
    return NM_OK;
  });
}

namespace {

// An address as "ip:port" (or "" for none) into the caller's buffer, NUL included.
nm_status write_address(const std::string& addr, char* buf, size_t len) {
  if (!buf) return null_arg("buf");
  if (addr.size() + 1 > len)
    return fail(NM_ERR_BUFFER_TOO_SMALL, "address needs " + std::to_string(addr.size() + 1) + " bytes");
  std::memcpy(buf, addr.c_str(), addr.size() + 1);
  return NM_OK;
}

}  // namespace

nm_status nm_node_local_addr(nm_node_t* handle, char* buf, size_t len) {
  return entry(handle, [&](NodeRef& n) { return write_address(n->local_address(), buf, len); });
}

// The reflex probes are spread over their timeout: it must be finite (-1, "forever"
// elsewhere, was taken as 0: no time to answer).
static nm_status finite_timeout(int timeout_ms) {
  return timeout_ms < 0 ? fail(NM_ERR_INVALID_ARGUMENT, "timeout_ms must be >= 0 (the probes are spread over it)")
                        : NM_OK;
}

nm_status nm_node_probe_reflex(nm_node_t* handle, uint64_t peer_node_id, int timeout_ms, char* buf, size_t len) {
  return entry(handle, [&](NodeRef& n) {
    if (!buf) return null_arg("buf");
    if (nm_status s = finite_timeout(timeout_ms); s != NM_OK) return s;
    sockaddr_storage seen{};
    if (nm_status s = n->probe_reflex(peer_node_id, timeout_ms, seen); s != NM_OK) return s;
    return write_address(nm::wire::format_address(seen), buf, len);
  });
}

nm_status nm_node_classify_nat(nm_node_t* handle, int timeout_ms, int* out_nat_type) {
  return entry(handle, [&](NodeRef& n) {
    if (!out_nat_type) return null_arg("out_nat_type");
    if (nm_status s = finite_timeout(timeout_ms); s != NM_OK) return s;
    nm::node::NatType type;
    std::optional<sockaddr_storage> reflex;
    if (nm_status s = n->classify_nat(timeout_ms, type, reflex); s != NM_OK) return s;
    *out_nat_type = static_cast<int>(type);
    return NM_OK;
  });
}

nm_status nm_node_nat_type(nm_node_t* handle, int* out_nat_type) {
  return entry(handle, [&](NodeRef& n) {
    if (!out_nat_type) return null_arg("out_nat_type");
    nm::node::NatType type;
    std::optional<sockaddr_storage> reflex;
    n->nat_state(type, reflex);
    *out_nat_type = static_cast<int>(type);
    return NM_OK;
  });
}

nm_status nm_node_connect_direct(nm_node_t* handle, uint64_t peer_node_id, uint64_t coordinator_node_id,
                                 int timeout_ms) {
  return entry(handle, [&](NodeRef& n) {
    if (nm_status s = wait_timeout(timeout_ms); s != NM_OK) return s;
    return n->connect_direct(peer_node_id, coordinator_node_id, timeout_ms);
  });
}

nm_status nm_node_reflex_addr(nm_node_t* handle, char* buf, size_t len) {
  return entry(handle, [&](NodeRef& n) {
    nm::node::NatType type;
    std::optional<sockaddr_storage> reflex;
    n->nat_state(type, reflex);
    return write_address(reflex ? nm::wire::format_address(*reflex) : "", buf, len);
  });
}

nm_status nm_node_stats(nm_node_t* handle, nm_node_stats_t* out, size_t out_size) {
  return entry(handle, [&](NodeRef& n) { return nm::capi::write_sized(n->stats(), out, out_size, "out"); });
}

nm_status nm_node_event_fd(nm_node_t* handle, int* out_fd) {
  return entry(handle, [&](NodeRef& n) {
    if (!out_fd) return null_arg("out_fd");
    *out_fd = n->event_fd();
    return NM_OK;
  });
}

nm_status nm_node_connect(nm_node_t* handle, const char* addr, const uint8_t key[NM_KEY_SIZE],
                          uint64_t peer_node_id) {
  return entry(handle, [&](NodeRef& n) {
    if (!addr) return null_arg("addr");
    if (!key) return null_arg("peer_public_key");
    nm::crypto::Key32 k;
    std::memcpy(k.data(), key, NM_KEY_SIZE);
    return n->connect(addr, k, peer_node_id);
  });
}

nm_status nm_node_connect_via(nm_node_t* handle, const char* relay_addr, const uint8_t key[NM_KEY_SIZE],
                              uint64_t peer_node_id) {
  return entry(handle, [&](NodeRef& n) {
    if (!relay_addr) return null_arg("relay_addr");
    if (!key) return null_arg("peer_public_key");
    nm::crypto::Key32 k;
    std::memcpy(k.data(), key, NM_KEY_SIZE);
    return n->connect(relay_addr, k, peer_node_id, true);
  });
}

nm_status nm_node_session_stats(nm_node_t* handle, uint64_t peer_node_id, nm_session_stats_t* out,
                                size_t out_size) {
  return entry(handle, [&](NodeRef& n) {
    if (!out) return null_arg("out");
    if (nm_status s = nm::capi::check_size<nm_session_stats_t>(out_size, "out"); s != NM_OK) return s;
    nm_session_stats_t st{};
    if (nm_status s = n->session_stats(peer_node_id, st); s != NM_OK) return s;
    return nm::capi::write_sized(st, out, out_size, "out");
  });
}

nm_status nm_node_routes(nm_node_t* handle, nm_route_t* out, size_t capacity, size_t elem_size,
                         size_t* out_count) {
  return entry(handle, [&](NodeRef& n) {
    return nm::capi::write_list(n->routes(), out, capacity, elem_size, out_count, "out");
  });
}

nm_status nm_node_next_peer_event(nm_node_t* handle, nm_peer_event_t* out, size_t out_size, int timeout_ms) {
  return entry(handle, [&](NodeRef& n) {
    if (!out) return null_arg("out");
    if (nm_status s = nm::capi::check_size<nm_peer_event_t>(out_size, "out"); s != NM_OK) return s;
    if (nm_status s = wait_timeout(timeout_ms); s != NM_OK) return s;
    nm_peer_event_t ev{};
    if (nm_status s = n->next_peer_event(ev, timeout_ms); s != NM_OK) return s;
    nm::capi::copy_out(ev, out, out_size);
    return NM_OK;
  });
}

nm_status nm_node_peer_event_fd(nm_node_t* handle, int* out_fd) {
  return entry(handle, [&](NodeRef& n) {
    if (!out_fd) return null_arg("out_fd");
    *out_fd = n->peer_event_fd();
    return NM_OK;
  });
}

nm_status nm_node_allow_peer(nm_node_t* handle, uint64_t peer_node_id) {
  return entry(handle, [&](NodeRef& n) { return n->allow_peer(peer_node_id); });
}

nm_status nm_node_accept(nm_node_t* handle, uint64_t peer_node_id, int timeout_ms) {
  return entry(handle, [&](NodeRef& n) {
    if (nm_status s = wait_timeout(timeout_ms); s != NM_OK) return s;
    return n->accept(peer_node_id, timeout_ms);
  });
}

nm_status nm_impairment_init(nm_impairment_t* impairment, size_t impairment_size) {
  return entry([&] {
    return nm::capi::init_sized(impairment, impairment_size, nm::capi::default_impairment(), "impairment");
  });
}

nm_status nm_node_set_impairment(nm_node_t* handle, uint64_t peer_node_id, uint32_t directions,
                                 const nm_impairment_t* imp) {
  return entry(handle, [&](NodeRef& n) {
    if (directions < NM_OUTBOUND || directions > NM_BOTH_DIRECTIONS)
      return fail(NM_ERR_INVALID_ARGUMENT, "directions must be NM_OUTBOUND, NM_INBOUND or both");
    if (!imp) {
      n->set_impairment(peer_node_id, static_cast<int>(directions), nullptr);
      return NM_OK;
    }
    nm_impairment_t c = nm::capi::default_impairment();
    if (nm_status s = nm::capi::read_sized(imp, c, "impairment"); s != NM_OK) return s;
    nm::node::ImpairmentConfig cfg;
    if (nm_status s = nm::capi::to_impairment(c, cfg); s != NM_OK) return s;
    n->set_impairment(peer_node_id, static_cast<int>(directions), &cfg);
    return NM_OK;
  });
}

nm_status nm_node_impairment_stats(nm_node_t* handle, nm_impairment_stats_t* out, size_t out_size) {
  return entry(handle, [&](NodeRef& n) {
    return nm::capi::write_sized(nm::capi::to_impairment_stats(n->impairment_counters()), out, out_size,
                                 "out");
  });
}

nm_status nm_stream_config_init(nm_stream_config_t* config, size_t config_size) {
  return entry([&] {
    return nm::capi::init_sized(config, config_size, nm::capi::default_stream_config(), "config");
  });
}

nm_status nm_node_open_stream(nm_node_t* handle, uint64_t peer_node_id, uint64_t stream_id,
                              const nm_stream_config_t* config, nm_stream_t** out) {
  return entry(handle, [&](NodeRef& n) {
    if (!out) return null_arg("out_stream");
    *out = nullptr;
    nm_stream_config_t c = nm::capi::default_stream_config();
    if (config)
      if (nm_status s = nm::capi::read_sized(config, c, "config"); s != NM_OK) return s;
    nm::stream::StreamConfig cfg;
    if (nm_status s = nm::capi::to_stream_config(c, cfg); s != NM_OK) return s;
    if (stream_id == UINT64_MAX)
      return fail(NM_ERR_INVALID_ARGUMENT, "stream id UINT64_MAX is reserved for credit grants");
    nm::node::StreamPtr st;
    if (nm_status s = n->open_stream(peer_node_id, stream_id, cfg, st); s != NM_OK) return s;
    *out = nm::capi::register_stream(n.handle, n.node, std::move(st));
    return NM_OK;
  });
}

nm_status nm_node_close_stream(nm_node_t* handle, nm_stream_t* stream) {
  return entry(handle, stream, [&](NodeRef& n, StreamRef& s) { return n->close_stream(s.stream()); });
}

nm_status nm_stream_free(nm_stream_t* stream) {
  return entry([&] {
    if (!stream) return null_arg("stream");
    nm::capi::StreamHandle h;
    if (!nm::capi::unregister_stream(stream, h))
      return fail(NM_ERR_INVALID_HANDLE, "stream handle is not live (double free?)");
    h.released->store(true);
    if (auto node = h.node.lock()) node->wake_waiters(h.stream);  // its blocked calls return
    return NM_OK;
  });
}

nm_status nm_stream_send(nm_stream_t* stream, const nm_event_t* events, size_t count, size_t* out_sent) {
  if (out_sent) *out_sent = 0;
  return entry(stream, [&](StreamRef& s) { return send_with(s, events, count, out_sent, 0, -1); });
}

nm_status nm_stream_send_with_retry(nm_stream_t* stream, const nm_event_t* events, size_t count,
                                    uint32_t max_retries, size_t* out_sent) {
  if (out_sent) *out_sent = 0;
  return entry(stream, [&](StreamRef& s) { return send_with(s, events, count, out_sent, max_retries, -1); });
}

nm_status nm_stream_send_blocking(nm_stream_t* stream, const nm_event_t* events, size_t count,
                                  int timeout_ms, size_t* out_sent) {
  if (out_sent) *out_sent = 0;
  return entry(stream, [&](StreamRef& s) {
    if (nm_status st = wait_timeout(timeout_ms); st != NM_OK) return st;
    return send_with(s, events, count, out_sent, kRetryForever, timeout_ms);
  });
}

nm_status nm_stream_recv(nm_stream_t* stream, void* buf, size_t buf_len, size_t* out_len, int timeout_ms) {
  if (out_len) *out_len = 0;
  return entry(stream, [&](StreamRef& s) {
    if (!out_len) return null_arg("out_len");
    size_t count = 0;
    return recv_batch(s, buf, buf_len, out_len, 1, &count, timeout_ms);
  });
}

nm_status nm_stream_recv_batch(nm_stream_t* stream, void* buf, size_t buf_len, size_t* lens,
                               size_t max_events, size_t* out_count, int timeout_ms) {
  if (out_count) *out_count = 0;
  return entry(stream, [&](StreamRef& s) {
    if (!out_count) return null_arg("out_count");
    return recv_batch(s, buf, buf_len, lens, max_events, out_count, timeout_ms);
  });
}

nm_status nm_stream_event_fd(nm_stream_t* stream, uint32_t which, int* out_fd) {
  if (out_fd) *out_fd = -1;
  return entry(stream, [&](StreamRef& s) {
    if (!out_fd) return null_arg("out_fd");
    if (which != NM_STREAM_READABLE && which != NM_STREAM_WRITABLE)
      return fail(NM_ERR_INVALID_ARGUMENT, "which must be NM_STREAM_READABLE or NM_STREAM_WRITABLE");
    using Direction = nm::stream::Stream::Direction;
    return s->stream_event_fd(s.stream(), which == NM_STREAM_READABLE ? Direction::kReceive : Direction::kSend,
                              *out_fd);
  });
}

nm_status nm_stream_stats(nm_stream_t* stream, nm_stream_stats_t* out, size_t out_size) {
  return entry(stream, [&](StreamRef& s) {
    if (!out) return null_arg("out");
    if (nm_status st = nm::capi::check_size<nm_stream_stats_t>(out_size, "out"); st != NM_OK) return st;
    nm_stream_stats_t stats;
    if (nm_status st = s->stream_stats(s.stream(), stats); st != NM_OK) return st;
    nm::capi::copy_out(stats, out, out_size);
    return NM_OK;
  });
}

nm_status nm_node_all_stream_stats(nm_node_t* handle, nm_stream_stats_t* out, size_t capacity,
                                   size_t elem_size, size_t* out_count) {
  return entry(handle, [&](NodeRef& n) {
    return nm::capi::write_list(n->all_stream_stats(), out, capacity, elem_size, out_count, "out");
  });
}

nm_status nm_stream_id_from_key(const void* key, size_t len, uint64_t* out) {
  return entry([&] {
    if (!key && len > 0) return null_arg("key");
    if (!out) return null_arg("out_stream_id");
    *out = XXH3_64bits(key, len);
    return NM_OK;
  });
}

}  // extern "C"
