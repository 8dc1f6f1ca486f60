// libFuzzer: the handshake responder. The input is a Noise msg1 (first byte: mode):
//   0: the bytes as the Noise message, straight into NoiseHandshake::responder and, in a
//      handshake packet, into a live Node that allows several peers;
//   1: a valid msg1 (right PSK and key, one of the allowed peers) with (u8 offset, xor)
//      edits applied — reaches the accepting path, replay guard and session install.
#include <vector>

#include "crypto/session_keys.h"
#include "fuzz_common.h"
#include "wire/header.h"

namespace {

struct HandshakeFixture {
  std::shared_ptr<nm::node::Node> node;
  nm::crypto::Key32 psk{}, static_private{};
  std::vector<uint64_t> peers = {0x1111, 0xDEADBEEFCAFEull, 0x8000000000000001ull};
  sockaddr_storage from{};
};

HandshakeFixture& fixture() {
  static HandshakeFixture* f = [] {
    auto* x = new HandshakeFixture;
    nm::node::NodeConfig c = nm::fuzz::fuzz_config();
    x->static_private.fill(0x21);
    c.static_private_key = x->static_private;
    x->psk = c.psk;
    if (nm::node::Node::create(c, x->node) != NM_OK) std::abort();
    for (uint64_t p : x->peers) x->node->allow_peer(p);
    nm::wire::parse_address("127.0.0.1:9", x->from);  // replies go nowhere
    return x;
  }();
  return *f;
}

void feed(HandshakeFixture& f, std::span<const uint8_t> msg) {
  f.node->receive_datagram(nm::fuzz::handshake_datagram(msg), f.from);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& f = fixture();
  if (size == 0) return 0;
  std::span<const uint8_t> rest(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto hs = nm::crypto::NoiseHandshake::responder(nm::crypto::handshake_prologue(f.peers[0], f.node->id()),
                                                    f.psk, f.static_private);
    std::vector<uint8_t> payload;
    if (hs.read_message(rest, payload)) {
      std::vector<uint8_t> msg2;
      hs.write_message({}, msg2);
    }
    feed(f, rest);
    return 0;
  }
  if (rest.empty()) return 0;
  uint64_t peer = f.peers[rest[0] % f.peers.size()];
  auto init = nm::crypto::NoiseHandshake::initiator(nm::crypto::handshake_prologue(peer, f.node->id()),
                                                    f.psk, f.node->public_key());
  std::vector<uint8_t> msg1;
  if (!init.write_message({}, msg1)) return 0;
  for (size_t i = 1; i + 2 <= rest.size(); i += 2) {
    if (rest[i] == 0xFF) {
      msg1.resize(rest[i + 1]);  // truncate / extend with zeros
      continue;
    }
    if (!msg1.empty()) msg1[rest[i] % msg1.size()] ^= rest[i + 1];
  }
  feed(f, msg1);
  return 0;
}
