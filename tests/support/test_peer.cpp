// Test-only hostile peer: real handshake and session keys, arbitrary packets (test_peer.h).
#include "test_peer.h"

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/noise.h"
#include "crypto/session_keys.h"
#include "wire/ack_frame.h"
#include "wire/address.h"
#include "wire/compact_header.h"
#include "wire/extension.h"
#include "wire/frames.h"
#include "wire/header.h"
#include "wire/little_endian.h"
#include "wire/pingwave.h"
#include "wire/routing_header.h"
#include "wire/stream_window.h"

struct nmt_peer {
  int fd = -1;
  uint64_t id = 0;
  sockaddr_storage target{};
  std::string target_text;
  nm::crypto::Key32 target_key{};
  uint64_t target_id = 0;
  bool have_keys = false;
  nm::crypto::SessionKeys keys{};
  uint64_t tx_counter = 0;
  uint64_t rx_next_counter = 0;  // highest counter opened + 1 (compact headers state 32 bits)
  uint64_t control_seq = 0;
  std::optional<nm::crypto::NoiseHandshake> pending;
  std::vector<uint8_t> last_msg1;
  nm::crypto::Key32 static_private{}, static_public{};  // for answering the node's dial
};

namespace {

bool recv_from_target(nmt_peer* p, std::vector<uint8_t>& buf, int timeout_ms) {
  pollfd pfd{p->fd, POLLIN, 0};
  if (::poll(&pfd, 1, timeout_ms) <= 0) return false;
  buf.resize(65536);
  ssize_t n = ::recv(p->fd, buf.data(), buf.size(), 0);
  if (n < 0) return false;
  buf.resize(static_cast<size_t>(n));
  return true;
}

// Header (HANDSHAKE flag and payload_len only) + Noise message, as the node frames them.
std::vector<uint8_t> handshake_datagram(const std::vector<uint8_t>& noise_msg) {
  std::vector<uint8_t> d(nm::wire::kHeaderSize + noise_msg.size());
  nm::wire::Header h;
  h.flags = nm::wire::flags::kHandshake;
  h.payload_len = static_cast<uint16_t>(noise_msg.size());
  nm::wire::encode_header(h, d.data());
  std::memcpy(d.data() + nm::wire::kHeaderSize, noise_msg.data(), noise_msg.size());
  return d;
}

// The finished handshake's keys become the peer's session, counters from zero.
void start_session(nmt_peer* p, const nm::crypto::NoiseHandshake& hs, bool initiator) {
  p->keys = nm::crypto::derive_session_keys(hs.handshake_hash(), initiator);
  p->have_keys = true;
  p->tx_counter = 0;
  p->rx_next_counter = 0;
  p->control_seq = 0;
}
}  // namespace

extern "C" {

nmt_peer* nmt_peer_new(void) {
  if (sodium_init() < 0) return nullptr;
  auto* p = new (std::nothrow) nmt_peer;
  if (!p) return nullptr;
  p->fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_storage bind_addr{};
  nm::wire::parse_address("127.0.0.1:0", bind_addr);
  int size = 4 << 20;
  setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (p->fd < 0 || ::bind(p->fd, reinterpret_cast<sockaddr*>(&bind_addr), sizeof(sockaddr_in)) != 0) {
    delete p;
    return nullptr;
  }
  while (p->id == 0) randombytes_buf(&p->id, sizeof p->id);
  crypto_box_keypair(p->static_public.data(), p->static_private.data());
  return p;
}

void nmt_peer_free(nmt_peer* p) {
  if (!p) return;
  if (p->fd >= 0) ::close(p->fd);
  delete p;
}

uint64_t nmt_peer_id(const nmt_peer* p) { return p->id; }
int nmt_peer_port(const nmt_peer* p) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (getsockname(p->fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return -1;
  return ntohs(a.sin_port);
}
uint64_t nmt_peer_next_counter(const nmt_peer* p) { return p->tx_counter; }
void nmt_peer_set_next_counter(nmt_peer* p, uint64_t c) { p->tx_counter = c; }
uint64_t nmt_peer_session_id(const nmt_peer* p) { return p->keys.session_id; }

int nmt_peer_target(nmt_peer* p, const char* node_addr, const uint8_t key[32], uint64_t node_id) {
  if (!nm::wire::parse_address(node_addr, p->target)) return -1;
  p->target_text = node_addr;
  std::memcpy(p->target_key.data(), key, 32);
  p->target_id = node_id;
  return 0;
}

size_t nmt_peer_build_msg1(nmt_peer* p, const uint8_t psk[32], const uint8_t responder_key[32],
                           uint8_t* out, size_t cap) {
  return nmt_peer_build_padded_msg1(p, psk, responder_key, 0, out, cap);
}

size_t nmt_peer_build_padded_msg1(nmt_peer* p, const uint8_t psk[32], const uint8_t responder_key[32],
                                  size_t padding, uint8_t* out, size_t cap) {
  nm::crypto::Key32 k, rk;
  std::memcpy(k.data(), psk, 32);
  std::memcpy(rk.data(), responder_key, 32);
  auto hs = nm::crypto::NoiseHandshake::initiator(nm::crypto::handshake_prologue(p->id, p->target_id), k, rk);
  std::vector<uint8_t> msg1, zeros(padding);
  if (!hs.write_message(zeros, msg1)) return 0;
  std::vector<uint8_t> d = handshake_datagram(msg1);
  if (cap < d.size()) return 0;
  std::memcpy(out, d.data(), d.size());
  p->pending = hs;
  p->last_msg1 = std::move(d);
  return p->last_msg1.size();
}

size_t nmt_peer_last_msg1(const nmt_peer* p, uint8_t* out, size_t cap) {
  if (p->last_msg1.empty() || cap < p->last_msg1.size()) return 0;
  std::memcpy(out, p->last_msg1.data(), p->last_msg1.size());
  return p->last_msg1.size();
}

size_t nmt_routed_msg1(const uint8_t psk[32], const uint8_t responder_key[32], uint64_t responder_id,
                       uint64_t initiator_id, uint8_t hop_count, uint8_t* out, size_t cap) {
  if (sodium_init() < 0) return 0;
  nm::crypto::Key32 k, rk;
  std::memcpy(k.data(), psk, 32);
  std::memcpy(rk.data(), responder_key, 32);
  auto hs = nm::crypto::NoiseHandshake::initiator(
      nm::crypto::handshake_prologue(initiator_id, responder_id), k, rk);
  uint8_t id[8];
  nm::wire::put_le(id, initiator_id);
  std::vector<uint8_t> msg1;
  if (!hs.write_message(id, msg1)) return 0;
  size_t total = nm::wire::kRoutingHeaderSize + nm::wire::kHeaderSize + msg1.size();
  if (cap < total) return 0;
  nm::wire::RoutingHeader rh{nm::wire::kDefaultHandshakeTtl, hop_count, 0,
                             nm::wire::routing_id(initiator_id), responder_id};
  rh.encode(out);
  nm::wire::Header h;
  h.flags = nm::wire::flags::kHandshake;
  h.payload_len = static_cast<uint16_t>(msg1.size());
  nm::wire::encode_header(h, out + nm::wire::kRoutingHeaderSize);
  std::memcpy(out + nm::wire::kRoutingHeaderSize + nm::wire::kHeaderSize, msg1.data(), msg1.size());
  return total;
}

void nmt_peer_public_key(const nmt_peer* p, uint8_t out[32]) {
  std::memcpy(out, p->static_public.data(), 32);
}

int nmt_peer_answer(nmt_peer* p, const uint8_t psk[32], int timeout_ms) {
  nm::crypto::Key32 k;
  std::memcpy(k.data(), psk, 32);
  std::vector<uint8_t> buf;
  while (recv_from_target(p, buf, timeout_ms)) {
    nm::wire::Header h;
    if (nm::wire::decode_header(buf, h) != nm::wire::HeaderError::kOk) continue;
    if (!(h.flags & nm::wire::flags::kHandshake)) continue;
    auto hs = nm::crypto::NoiseHandshake::responder(nm::crypto::handshake_prologue(p->target_id, p->id), k,
                                                    p->static_private);
    std::vector<uint8_t> payload, msg2;
    if (!hs.read_message(std::span<const uint8_t>(buf).subspan(nm::wire::kHeaderSize), payload) ||
        !hs.write_message({}, msg2))
      continue;
    std::vector<uint8_t> d = handshake_datagram(msg2);
    if (nmt_peer_send_raw(p, d.data(), d.size()) != 0) return -1;
    start_session(p, hs, false);
    return 0;
  }
  return -1;
}

namespace {
// One frame (at most 200 bytes) in a packet of the control stream: 0 if it went.
int send_control_frame(nmt_peer* p, uint16_t subprotocol, const uint8_t* frame, size_t len) {
  nmt_packet spec{};
  spec.subprotocol_id = subprotocol;
  spec.stream_id = nm::wire::kControlStreamId;
  spec.sequence = p->control_seq++;
  spec.event_count = 1;
  uint8_t out[256];
  size_t n = nmt_peer_seal(p, &spec, frame, len, out, sizeof out);
  return n == 0 ? -1 : nmt_peer_send_raw(p, out, n);
}
}  // namespace

int nmt_peer_handshake(nmt_peer* p, const uint8_t psk[32], uint64_t caps, int timeout_ms) {
  uint8_t d[256];
  size_t n = nmt_peer_build_msg1(p, psk, p->target_key.data(), d, sizeof d);
  if (n == 0 || nmt_peer_send_raw(p, d, n) != 0) return -1;
  std::vector<uint8_t> buf;
  while (recv_from_target(p, buf, timeout_ms)) {
    nm::wire::Header h;
    if (nm::wire::decode_header(buf, h) != nm::wire::HeaderError::kOk) continue;
    if (!(h.flags & nm::wire::flags::kHandshake)) continue;
    auto attempt = *p->pending;
    std::vector<uint8_t> payload;
    if (!attempt.read_message(std::span<const uint8_t>(buf).subspan(nm::wire::kHeaderSize), payload))
      continue;
    start_session(p, attempt, true);
    p->pending.reset();
    if (caps) {
      uint8_t frame[64];
      size_t len = nmt_grant_frame(frame, nm::wire::kHelloStreamId,
                                   caps | nm::wire::capability::kSeenYours);
      return send_control_frame(p, nm::wire::kSubprotocolStreamWindow, frame, len);
    }
    return 0;
  }
  return -1;
}

size_t nmt_peer_seal(nmt_peer* p, const nmt_packet* spec, const void* plaintext, size_t len,
                     uint8_t* out, size_t cap) {
  if (!p->have_keys || len > 65535 || cap < nm::wire::kHeaderSize + len + nm::wire::kTagSize) return 0;
  nm::wire::Header h;
  h.flags = spec->flags;
  h.frag_flags = spec->frag_flags;
  h.subprotocol_id = spec->subprotocol_id;
  h.stream_id = spec->stream_id;
  h.sequence = spec->sequence;
  h.origin_hash = spec->origin_hash;
  h.subnet_id = spec->subnet_id;
  h.fragment_id = spec->fragment_id;
  h.fragment_offset = spec->fragment_offset;
  h.event_count = spec->event_count;
  h.session_id = p->keys.session_id;
  h.payload_len = static_cast<uint16_t>(len);
  uint64_t counter = spec->use_counter ? spec->counter : p->tx_counter++;
  nm::wire::set_nonce(h, p->keys.nonce_prefix, counter);
  size_t header = spec->compact ? nm::wire::encode_compact_header(h, out) : 0;
  if (header == 0) {
    if (spec->compact) return 0;  // not a packet a compact header can state
    nm::wire::encode_header(h, out);
    header = nm::wire::kHeaderSize;
  }
  uint8_t scratch[nm::wire::kAadSize];
  std::span<const uint8_t> aad = nm::wire::packet_aad(out, header, scratch);
  if (len) std::memcpy(out + header, plaintext, len);
  nm::crypto::aead_seal(p->keys.tx, h.nonce, aad.data(), aad.size(), out + header, len, out + header + len);
  return header + len + nm::wire::kTagSize;
}

int nmt_peer_send_raw(nmt_peer* p, const void* data, size_t len) {
  ssize_t n = ::sendto(p->fd, data, len, 0, reinterpret_cast<const sockaddr*>(&p->target),
                       nm::wire::address_length(p->target));
  return n == static_cast<ssize_t>(len) ? 0 : -1;
}

int nmt_send_from_new_port(const char* node_addr, const void* data, size_t len) {
  sockaddr_storage to{};
  if (!nm::wire::parse_address(node_addr, to)) return -1;
  int fd = ::socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  ssize_t n = ::sendto(fd, data, len, 0, reinterpret_cast<const sockaddr*>(&to), nm::wire::address_length(to));
  ::close(fd);
  return n == static_cast<ssize_t>(len) ? 0 : -1;
}

int nmt_peer_send_events(nmt_peer* p, const nmt_packet* spec, const void* const* events,
                         const size_t* lens, size_t count) {
  std::vector<uint8_t> plain;
  for (size_t i = 0; i < count; ++i)
    nm::wire::append_frame(plain, std::span<const uint8_t>(static_cast<const uint8_t*>(events[i]), lens[i]));
  std::vector<uint8_t> out(plain.size() + 128);
  nmt_packet s = *spec;
  if (s.event_count == 0) s.event_count = static_cast<uint16_t>(count);
  size_t n = nmt_peer_seal(p, &s, plain.data(), plain.size(), out.data(), out.size());
  if (n == 0) return -1;
  return nmt_peer_send_raw(p, out.data(), n);
}

size_t nmt_frame(uint8_t* out, const void* data, uint32_t len) {
  return static_cast<size_t>(
      nm::wire::write_frame(out, std::span<const uint8_t>(static_cast<const uint8_t*>(data), len)) - out);
}

size_t nmt_grant_frame(uint8_t* out, uint64_t stream_id, uint64_t total_consumed) {
  uint8_t g[nm::wire::kGrantSize];
  nm::wire::encode_grant({stream_id, total_consumed}, g);
  return nmt_frame(out, g, sizeof g);
}

size_t nmt_ext_frame(uint8_t* out, uint8_t type, uint64_t stream_id, uint64_t next_expected,
                     uint64_t missing) {
  uint8_t body[nm::wire::kExtFrameSize];
  nm::wire::ExtFrame f;
  f.type = static_cast<nm::wire::ExtType>(type);
  f.stream_id = stream_id;
  f.next_expected = next_expected;
  f.missing = missing;
  size_t n = nm::wire::encode_ext_frame(f, body);
  body[0] = type;  // even types the encoder does not know
  return nmt_frame(out, body, static_cast<uint32_t>(n));
}

size_t nmt_ext_frame_full(uint8_t* out, uint8_t type, uint64_t stream_id, uint64_t next_expected,
                          uint64_t highest, uint64_t base, uint64_t missing) {
  uint8_t body[nm::wire::kExtFrameSize];
  nm::wire::ExtFrame f;
  f.type = static_cast<nm::wire::ExtType>(type);
  f.stream_id = stream_id;
  f.next_expected = next_expected;
  f.highest = highest;
  f.base = base;
  f.missing = missing;
  size_t n = nm::wire::encode_ext_frame(f, body);
  body[0] = type;
  return nmt_frame(out, body, static_cast<uint32_t>(n));
}

int nmt_peer_open(nmt_peer* p, const void* datagram, size_t len, nmt_received* out) {
  std::vector<uint8_t> buf(static_cast<const uint8_t*>(datagram), static_cast<const uint8_t*>(datagram) + len);
  nm::wire::Header h;
  if (!nm::wire::decode_any_header(buf, h)) return -2;
  if (h.flags & nm::wire::flags::kHandshake) return -2;
  if (!p->have_keys) return -2;
  if (h.header_bytes != nm::wire::kHeaderSize &&
      h.session_id == nm::wire::compact_session_bits(p->keys.session_id))  // the bits a compact header states
    h.session_id = p->keys.session_id;
  if (h.session_id != p->keys.session_id) return -2;
  if (buf.size() != size_t{h.header_bytes} + h.payload_len + nm::wire::kTagSize) return -2;
  nm::wire::complete_counter(h, p->rx_next_counter);
  uint8_t nonce[12];
  nm::crypto::make_nonce(p->keys.nonce_prefix, nm::wire::nonce_counter(h), nonce);
  uint8_t scratch[nm::wire::kAadSize];
  std::span<const uint8_t> aad = nm::wire::packet_aad(buf.data(), h.header_bytes, scratch);
  uint8_t* data = buf.data() + h.header_bytes;
  if (!nm::crypto::aead_open(p->keys.rx, nonce, aad.data(), aad.size(), data, h.payload_len, data + h.payload_len))
    return -2;
  p->rx_next_counter = std::max(p->rx_next_counter, nm::wire::nonce_counter(h) + 1);
  out->header_bytes = h.header_bytes;
  out->packet_number = nm::wire::nonce_counter(h);
  out->flags = h.flags;
  out->subprotocol_id = h.subprotocol_id;
  out->stream_id = h.stream_id;
  out->sequence = h.sequence;
  out->event_count = h.event_count;
  out->plaintext_len = h.payload_len;
  std::memcpy(out->plaintext, data, h.payload_len);
  return 0;
}

int nmt_peer_send_session_ack(nmt_peer* p, uint64_t first, uint64_t last) {
  nm::wire::AckFrame f;
  f.ranges.push_back({first, last});
  uint8_t body[nm::wire::kAckFrameHeader + nm::wire::kAckRangeSize];
  uint8_t frame[sizeof body + 4];
  size_t len = nmt_frame(frame, body, static_cast<uint32_t>(nm::wire::encode_ack_frame(f, body)));
  return send_control_frame(p, nm::wire::kSubprotocolAck, frame, len);
}

int nmt_peer_recv(nmt_peer* p, nmt_received* out, int timeout_ms, int skip_control) {
  std::vector<uint8_t> buf;
  for (;;) {
    if (!recv_from_target(p, buf, timeout_ms)) return -1;
    nm::wire::Header h;
    if (!nm::wire::decode_any_header(buf, h)) return -2;
    if (h.flags & nm::wire::flags::kHandshake) {
      if (skip_control) continue;
      return -2;
    }
    if (nmt_peer_open(p, buf.data(), buf.size(), out) != 0) return -2;
    if (skip_control && ((out->flags & nm::wire::flags::kHeartbeat) || out->stream_id == nm::wire::kControlStreamId))
      continue;
    return 0;
  }
}

int nmt_peer_recv_datagram(nmt_peer* p, void* buf, size_t cap, int timeout_ms) {
  pollfd pfd{p->fd, POLLIN, 0};
  if (::poll(&pfd, 1, timeout_ms) <= 0) return -1;
  ssize_t n = ::recv(p->fd, buf, cap, MSG_DONTWAIT);
  return n < 0 ? -1 : static_cast<int>(n);
}

size_t nmt_pingwave(uint8_t out[72], uint64_t origin, uint64_t seq, uint8_t ttl, uint8_t hop_count) {
  nm::wire::Pingwave pw;
  pw.origin_node_id = origin;
  pw.seq = seq;
  pw.ttl = ttl;
  pw.hop_count = hop_count;
  pw.encode(out);
  return nm::wire::kPingwaveSize;
}

size_t nmt_routed(uint8_t* out, size_t cap, uint8_t ttl, uint8_t hop_count, uint32_t src_id,
                  uint64_t dest_id, const void* inner, size_t inner_len) {
  if (cap < nm::wire::kRoutingHeaderSize + inner_len) return 0;
  nm::wire::RoutingHeader rh{ttl, hop_count, 0, src_id, dest_id};
  rh.encode(out);
  if (inner_len) std::memcpy(out + nm::wire::kRoutingHeaderSize, inner, inner_len);
  return nm::wire::kRoutingHeaderSize + inner_len;
}

int nmt_send_spoofed(const char* from_addr, const char* to_addr, const void* data, size_t len) {
  sockaddr_storage from{}, to{};
  if (!nm::wire::parse_address(from_addr, from) || !nm::wire::parse_address(to_addr, to) ||
      from.ss_family != AF_INET || to.ss_family != AF_INET || len > 65535 - 28)
    return -1;
  const auto& src = reinterpret_cast<const sockaddr_in&>(from);
  const auto& dst = reinterpret_cast<const sockaddr_in&>(to);
  int fd = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);  // IP_HDRINCL implied
  if (fd < 0) return errno == EPERM || errno == EACCES ? -2 : -1;
  std::vector<uint8_t> d(sizeof(iphdr) + sizeof(udphdr) + len);
  iphdr ip{};
  ip.version = 4;
  ip.ihl = 5;
  ip.ttl = 64;
  ip.protocol = IPPROTO_UDP;
  ip.tot_len = htons(static_cast<uint16_t>(d.size()));  // the kernel fills it (and the checksum)
  ip.saddr = src.sin_addr.s_addr;
  ip.daddr = dst.sin_addr.s_addr;
  udphdr udp{};
  udp.source = src.sin_port;
  udp.dest = dst.sin_port;
  udp.len = htons(static_cast<uint16_t>(sizeof(udphdr) + len));
  udp.check = 0;  // IPv4: no checksum
  std::memcpy(d.data(), &ip, sizeof ip);
  std::memcpy(d.data() + sizeof ip, &udp, sizeof udp);
  if (len) std::memcpy(d.data() + sizeof ip + sizeof udp, data, len);
  sockaddr_in dest = dst;
  dest.sin_port = 0;
  ssize_t n = ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&dest), sizeof dest);
  int e = errno;
  ::close(fd);
  if (n == static_cast<ssize_t>(d.size())) return 0;
  return e == EPERM || e == EACCES ? -2 : -1;
}

int nmt_peer_expect_event(nmt_peer* p, uint64_t stream_id, const void* data, size_t len, int timeout_ms) {
  return nmt_peer_expect_event_in(p, stream_id, data, len, timeout_ms, nullptr);
}

int nmt_peer_expect_event_in(nmt_peer* p, uint64_t stream_id, const void* data, size_t len, int timeout_ms,
                             size_t* header_bytes) {
  auto* r = new nmt_received;
  int result = -1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (result != 0 && std::chrono::steady_clock::now() < deadline) {
    if (nmt_peer_recv(p, r, 50, 1) != 0) continue;
    if (r->stream_id != stream_id) continue;
    for (auto e : nm::wire::read_frames(std::span<const uint8_t>(r->plaintext, r->plaintext_len), r->event_count))
      if (e.size() == len && (len == 0 || std::memcmp(e.data(), data, len) == 0)) result = 0;
    if (result == 0 && header_bytes) *header_bytes = r->header_bytes;
  }
  delete r;
  return result;
}

size_t nmt_rss_bytes(void) {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

}  // extern "C"
