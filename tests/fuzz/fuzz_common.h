// Shared set-up of the node fuzzers: a live Node on loopback with authenticated scripted
// peers (tests/support/test_peer.h), so encrypted paths are reachable, plus bare sockets
// ("strangers") that are nobody's neighbour, so every source address can be played.
#pragma once
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "crypto/aead.h"
#include "crypto/session_keys.h"
#include "wire/address.h"
#include "node/node.h"
#include "test_peer.h"
#include "wire/ack_frame.h"
#include "wire/extension.h"
#include "wire/header.h"
#include "wire/piece.h"

namespace nm::fuzz {

inline node::NodeConfig fuzz_config() {
  node::NodeConfig c;
  wire::parse_address("127.0.0.1:0", c.bind_addr);
  c.psk.fill(0x42);
  c.heartbeat_interval_ms = 1000;
  c.handshake_timeout_ms = 2000;
  c.handshake_retries = 1;
  c.max_streams = 32;
  c.max_event_bytes = 1 << 20;
  c.drain_timeout_ms = 10;
  c.inbound_stream.window_bytes = 65536;
  // Every msg1 examined: a rate limit would make the same input behave differently with
  // the clock (fuzz_mesh turns it on in some epochs).
  c.handshake_rate_per_sec = 0;
  return c;
}

inline uint64_t le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

[[noreturn]] inline void die(const char* what) {
  std::fprintf(stderr, "fuzz fixture: %s\n", what);
  std::abort();
}

// A bound UDP socket on 127.0.0.1 that never handshakes: a source address the node does
// not know, and a place its replies can go (no ICMP errors, the port stays ours).
struct Stranger {
  int fd = -1;
  sockaddr_storage addr{};
  std::string text;

  void open() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    wire::parse_address("127.0.0.1:0", addr);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(sockaddr_in)) != 0)
      die("stranger socket");
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    text = wire::format_address(addr);
  }
  // The next datagram (within timeout_ms), or an empty vector.
  std::vector<uint8_t> recv(int timeout_ms) {
    pollfd pfd{fd, POLLIN, 0};
    std::vector<uint8_t> buf;
    if (::poll(&pfd, 1, timeout_ms) <= 0) return buf;
    buf.resize(65536);
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
  }
  size_t drain() {
    size_t n = 0;
    uint8_t b[16];
    while (::recv(fd, b, sizeof b, MSG_DONTWAIT) >= 0) ++n;
    return n;
  }
};

// Header fields of a sealed packet chosen by 36 input bytes (the format of
// fuzz_node_receive mode 1 and fuzz_mesh kind 9):
//   [0] flags (HANDSHAKE cleared)  [1] frag_flags  [2] subprotocol: < 200 one of
//   data/StreamWindow/netmesh/pingwave, < 220 session ACK, < 240 piece, else [3..5) raw  [5] stream: < 200 id % 8, < 230
//   the control stream, else [6..14) raw  [14] sequence (< 200 itself, else [15..23))
//   [23] subnet % 4, bit 7: in a compact header  [24..28) origin_hash  [28..30) fragment_offset  [30..32) fragment_id
//   [32..34) event_count  [34] == 0xFF: [35] picks the nonce counter (caller's rule).
inline constexpr size_t kSealFields = 36;
inline nmt_packet packet_fields(const uint8_t* d) {
  nmt_packet p{};
  p.flags = d[0] & ~wire::flags::kHandshake;
  p.frag_flags = d[1];
  static const uint16_t subprotocols[] = {wire::kSubprotocolData, wire::kSubprotocolStreamWindow,
                                          wire::kSubprotocolNetmesh, wire::kSubprotocolPingwave};
  p.subprotocol_id = d[2] < 200   ? subprotocols[d[2] % 4]
                     : d[2] < 220 ? wire::kSubprotocolAck    // session acknowledgements
                     : d[2] < 240 ? wire::kSubprotocolPiece  // pieces of a data packet
                                  : static_cast<uint16_t>(le(d + 3, 2));
  uint8_t sel = d[5];
  p.stream_id = sel < 200 ? sel % 8 : sel < 230 ? wire::kControlStreamId : le(d + 6, 8);
  p.sequence = d[14] < 200 ? d[14] : le(d + 15, 8);
  p.subnet_id = static_cast<uint32_t>(d[23] % 4);
  p.origin_hash = le(d + 24, 4);
  p.fragment_offset = static_cast<uint16_t>(le(d + 28, 2));
  p.fragment_id = static_cast<uint16_t>(le(d + 30, 2));
  p.event_count = static_cast<uint16_t>(le(d + 32, 2));
  p.compact = (d[23] & 0x80) != 0;  // (nmt_peer_seal refuses what a compact header cannot state)
  return p;
}

// Seals like nmt_peer_seal, with any session keys (sessions the fixture completed itself).
inline std::vector<uint8_t> seal_with(const crypto::SessionKeys& keys, uint64_t counter, const nmt_packet& spec,
                                      std::span<const uint8_t> plaintext) {
  wire::Header h;
  h.flags = spec.flags;
  h.frag_flags = spec.frag_flags;
  h.subprotocol_id = spec.subprotocol_id;
  h.stream_id = spec.stream_id;
  h.sequence = spec.sequence;
  h.origin_hash = spec.origin_hash;
  h.subnet_id = spec.subnet_id;
  h.fragment_id = spec.fragment_id;
  h.fragment_offset = spec.fragment_offset;
  h.event_count = spec.event_count;
  h.session_id = keys.session_id;
  h.payload_len = static_cast<uint16_t>(plaintext.size());
  wire::set_nonce(h, keys.nonce_prefix, counter);
  std::vector<uint8_t> out(wire::kHeaderSize + plaintext.size() + wire::kTagSize);
  wire::encode_header(h, out.data());
  uint8_t aad[wire::kAadSize];
  wire::header_aad(out.data(), aad);
  if (!plaintext.empty()) std::memcpy(out.data() + wire::kHeaderSize, plaintext.data(), plaintext.size());
  crypto::aead_seal(keys.tx, h.nonce, aad, sizeof aad, out.data() + wire::kHeaderSize, plaintext.size(),
                    out.data() + wire::kHeaderSize + plaintext.size());
  return out;
}

// A handshake datagram: the 68-byte header with only HANDSHAKE and payload_len, then msg.
inline std::vector<uint8_t> handshake_datagram(std::span<const uint8_t> msg) {
  std::vector<uint8_t> d(wire::kHeaderSize + msg.size());
  wire::Header h;
  h.flags = wire::flags::kHandshake;
  h.payload_len = static_cast<uint16_t>(std::min<size_t>(msg.size(), wire::kMaxPayloadSize));
  wire::encode_header(h, d.data());
  if (!msg.empty()) std::memcpy(d.data() + wire::kHeaderSize, msg.data(), msg.size());
  return d;
}

struct Fixture {
  struct Peer {
    nmt_peer* p = nullptr;
    sockaddr_storage addr{};
    uint64_t caps = 0;  // announced in its capability hello (0: a net-mesh 0.23 peer, none)
    uint64_t id() const { return nmt_peer_id(p); }
  };
  node::NodeConfig config = fuzz_config();
  std::shared_ptr<node::Node> node;
  std::vector<Peer> peers;  // handshaken neighbours; peers[0] is "the" peer
  std::vector<Stranger> strangers;
  nmt_peer* peer = nullptr;        // peers[0].p
  sockaddr_storage peer_addr{};    // peers[0].addr
  crypto::Key32 psk{};
  uint64_t inputs = 0;

  // One netmesh peer (fuzz_node_receive); other fixtures add peers/strangers first.
  void start() {
    // Session acknowledgements, path MTU discovery and path migration: sealed packets reach
    // the ACK, packet-piece and path-challenge handlers, the node probes (the peer never
    // answers), and a sealed packet from a stranger's address moves the path there.
    if (peers.empty())
      add_peer(NMT_CAP_ALL | wire::capability::kSessionAck | wire::capability::kPmtud |
               wire::capability::kPathMigration);
    create_node();
    connect();
  }

  void add_peer(uint64_t caps) {
    Peer p;
    p.p = nmt_peer_new();
    if (!p.p) die("peer creation failed");
    wire::parse_address("127.0.0.1:" + std::to_string(nmt_peer_port(p.p)), p.addr);
    p.caps = caps;
    peers.push_back(p);
    peer = peers[0].p;
    peer_addr = peers[0].addr;
  }

  void add_stranger() { strangers.emplace_back().open(); }

  // A fresh node (new id, keys, port and empty state) that allows every peer; the peers are
  // re-targeted but not handshaken.
  void create_node() {
    if (node) node->shutdown();
    node.reset();
    psk = config.psk;
    if (node::Node::create(config, node) != NM_OK) die("node creation failed");
    std::string addr = node->local_address();
    for (Peer& p : peers) {
      nmt_peer_target(p.p, addr.c_str(), node->public_key().data(), node->id());
      node->allow_peer(p.id());
    }
  }

  // Drops whatever the node sent a peer (it is never read otherwise).
  static void drain(nmt_peer* p) {
    auto* r = new nmt_received;
    while (nmt_peer_recv(p, r, 0, 1) != -1) {
    }
    delete r;
  }

  // A real handshake over UDP, as initiator. A responder's session is confirmed by the
  // peer's first authenticated packet: the hello, or for a 0.23 peer (no hello) a
  // heartbeat. Returns once the node has taken both and answered.
  void handshake(Peer& p) {
    drain(p.p);
    uint64_t before = node->stats().datagrams_received;
    // A few attempts (each a fresh msg1): on a loaded machine one can take longer than its
    // 2 s, and a fixture hiccup must not end an hour-long run. A node that stops answering
    // handshakes for good still fails here.
    int attempt = 0;
    while (nmt_peer_handshake(p.p, psk.data(), p.caps, 2000) != 0)
      if (++attempt == 5) die("handshake failed 5 times");
    if (p.caps == 0) {
      nmt_packet hb{};
      hb.flags = wire::flags::kHeartbeat;
      uint8_t out[128];
      size_t n = nmt_peer_seal(p.p, &hb, nullptr, 0, out, sizeof out);
      if (n == 0 || nmt_peer_send_raw(p.p, out, n) != 0) die("heartbeat failed");
    }
    settle(before + 2);
  }

  // (Re)handshakes peer 0: a fresh session drops every stream state the inputs built up.
  void connect() {
    handshake(peers[0]);
    // The node's side of a reliable stream with unacknowledged data and of a stream
    // waiting for credit, so ACK/NACK/probe/grant frames have something to act on.
    stream::StreamConfig rel;
    node::StreamPtr st;
    for (uint64_t id : {1, 2}) {
      rel.reliable = id == 1;
      if (node->open_stream(nmt_peer_id(peer), id, rel, st) == NM_OK) {
        nm_event_t e{"fuzz", 4};
        size_t sent = 0;
        node->send(st, std::span<const nm_event_t>(&e, 1), &sent);
      }
    }
  }

  // One datagram into the node's receive path, as if from `from` (no socket involved).
  node::Node::Answer feed_from(const uint8_t* data, size_t size, const sockaddr_storage& from) {
    return node->receive_datagram(std::span<const uint8_t>(data, size), from);
  }

  // fuzz_node_receive: from peer 0's address; the session is renewed every 4096 inputs.
  void feed(const uint8_t* data, size_t size) {
    feed_from(data, size, peer_addr);
    if (++inputs % 4096 == 0) {
      drain(peer);
      connect();
    }
  }

  // Waits until the node has taken `datagrams` datagrams off its socket and sends nothing
  // more (what it answered has left and is counted in bytes_sent).
  void settle(uint64_t datagrams) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    uint64_t last = UINT64_MAX;
    int stable = 0;
    while (stable < 3) {
      if (std::chrono::steady_clock::now() > deadline) die("node did not settle");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      nm_node_stats_t s = node->stats();
      if (s.datagrams_received < datagrams) continue;
      stable = s.bytes_sent == last ? stable + 1 : 0;
      last = s.bytes_sent;
    }
  }
};

}  // namespace nm::fuzz
