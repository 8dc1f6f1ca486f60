// libFuzzer: the whole receive path of a live Node (Node::receive_datagram), with an
// authenticated session. The first input byte picks how the rest becomes a datagram:
//   0: raw bytes, as they would arrive from the peer's address;
//   1: a packet sealed with the real session keys: 36 bytes of header fields (see
//      packet_fields() in fuzz_common.h), then the plaintext — reaches data, grant,
//      extension, sealed pingwave, fragment and NAT traversal code, in either header;
//   2: mutations of a freshly sealed valid data packet: (u16le offset, xor byte) edits;
//   3: a handshake-flagged packet with the rest as the Noise message;
//   4: as 1, from a stranger's address (the session may follow it there: path migration).
#include <vector>

#include "fuzz_common.h"
#include "wire/extension.h"
#include "wire/header.h"

namespace {

nm::fuzz::Fixture& fixture() {
  static nm::fuzz::Fixture* f = [] {
    auto* x = new nm::fuzz::Fixture;
    x->add_stranger();
    x->start();
    return x;
  }();
  return *f;
}

using nm::fuzz::le;

void sealed(nm::fuzz::Fixture& f, const uint8_t* d, size_t n, bool from_stranger) {
  if (n < nm::fuzz::kSealFields) return;
  nmt_packet p = nm::fuzz::packet_fields(d);
  if (d[34] == 0xFF) {
    p.use_counter = 1;
    p.counter = le(d + 35, 1) ? nmt_peer_next_counter(f.peer) - d[35] : UINT64_MAX;
  }
  size_t len = std::min<size_t>(n - 36, 8192);
  std::vector<uint8_t> out(len + 128);
  size_t dl = nmt_peer_seal(f.peer, &p, d + 36, len, out.data(), out.size());
  if (dl && from_stranger) {
    f.feed_from(out.data(), dl, f.strangers[0].addr);
  } else if (dl) {
    f.feed(out.data(), dl);
  }
}

void mutated(nm::fuzz::Fixture& f, const uint8_t* d, size_t n) {
  // A valid data packet with two events on stream 3, sealed now (fresh counter).
  static uint64_t seq = 0;
  uint8_t plain[32] = {5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o', 3, 0, 0, 0, 'a', 'b', 'c'};
  nmt_packet p{};
  p.stream_id = 3;
  p.sequence = seq++;
  p.subnet_id = 1;
  p.event_count = 2;
  uint8_t out[256];
  size_t dl = nmt_peer_seal(f.peer, &p, plain, 16, out, sizeof out);
  size_t len = dl;
  for (size_t i = 0; i + 3 <= n; i += 3) {
    size_t at = static_cast<size_t>(le(d + i, 2));
    if (at == 0xFFFF) {  // truncate / extend
      len = std::min<size_t>(d[i + 2], sizeof out);
      continue;
    }
    out[at % sizeof out] ^= d[i + 2];
  }
  f.feed(out, len);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& f = fixture();
  if (size == 0) return 0;
  switch (data[0] % 5) {
    case 0: f.feed(data + 1, size - 1); break;
    case 1: sealed(f, data + 1, size - 1, false); break;
    case 4: sealed(f, data + 1, size - 1, true); break;
    case 2: mutated(f, data + 1, size - 1); break;
    case 3: {
      auto d = nm::fuzz::handshake_datagram(std::span<const uint8_t>(data + 1, size - 1));
      f.feed(d.data(), d.size());
      break;
    }
  }
  return 0;
}
