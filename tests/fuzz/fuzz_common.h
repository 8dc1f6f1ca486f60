// Shared set-up of the node fuzzers: a live Node on loopback with an authenticated
// scripted peer (tests/support/test_peer.h), so encrypted paths are reachable.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "node/address.h"
#include "node/node.h"
#include "test_peer.h"

namespace nm::fuzz {

inline node::NodeConfig fuzz_config() {
  node::NodeConfig c;
  node::parse_address("127.0.0.1:0", c.bind_addr);
  c.psk.fill(0x42);
  c.heartbeat_interval_ms = 1000;
  c.handshake_timeout_ms = 2000;
  c.handshake_retries = 1;
  c.max_streams = 32;
  c.max_event_bytes = 1 << 20;
  c.drain_timeout_ms = 10;
  c.inbound_stream.window_bytes = 65536;
  return c;
}

struct Fixture {
  std::shared_ptr<node::Node> node;
  nmt_peer* peer = nullptr;
  sockaddr_storage peer_addr{};
  crypto::Key32 psk{};
  uint64_t inputs = 0;

  void start() {
    node::NodeConfig c = fuzz_config();
    psk = c.psk;
    if (node::Node::create(c, node) != NM_OK) {
      std::fprintf(stderr, "fuzz fixture: node creation failed\n");
      std::abort();
    }
    peer = nmt_peer_new();
    std::string addr = node->local_address();
    nmt_peer_target(peer, addr.c_str(), node->public_key().data(), node->id());
    node::parse_address("127.0.0.1:" + std::to_string(nmt_peer_port(peer)), peer_addr);
    node->allow_peer(nmt_peer_id(peer));
    connect();
  }

  // (Re)handshakes: a fresh session drops every stream state the inputs built up.
  void connect() {
    if (nmt_peer_handshake(peer, psk.data(), NMT_CAP_ALL, 2000) != 0) {
      std::fprintf(stderr, "fuzz fixture: handshake failed\n");
      std::abort();
    }
    // The node's side of a reliable stream with unacknowledged data and of a stream
    // waiting for credit, so ACK/NACK/probe/grant frames have something to act on.
    stream::StreamConfig rel;
    rel.reliable = true;
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

  void feed(const uint8_t* data, size_t size) {
    node->receive_datagram(std::span<const uint8_t>(data, size), peer_addr);
    if (++inputs % 4096 == 0) {
      nmt_received* r = new nmt_received;
      while (nmt_peer_recv(peer, r, 0, 1) != -1) {  // drain what the node sent us
      }
      delete r;
      connect();
    }
  }
};

}  // namespace nm::fuzz
