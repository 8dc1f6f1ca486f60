// Micro-benchmarks of netmesh internals (Google Benchmark). Linked against netmesh_core; the
// headers are the library's own (src/). Run by bench/run.sh, results in results/micro.csv.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <cstring>
#include <vector>

#include "crypto/aead.h"
#include "crypto/noise.h"
#include "crypto/session_keys.h"
#include "session/packet_buffer.h"
#include "session/session.h"
#include "stream/rx_packet.h"
#include "stream/stream.h"
#include "wire/frames.h"
#include "wire/header.h"

namespace {

using namespace nm;

wire::Header sample_header() {
  wire::Header h;
  h.flags = wire::flags::kReliable;
  h.session_id = 0x1122334455667788ULL;
  h.stream_id = 42;
  h.sequence = 1000;
  h.origin_hash = 77;
  h.subnet_id = 3;
  h.payload_len = 1024;
  h.event_count = 8;
  wire::set_nonce(h, 0xdeadbeef, 12345);
  return h;
}

void BM_HeaderEncode(benchmark::State& state) {
  wire::Header h = sample_header();
  uint8_t out[wire::kHeaderSize];
  for (auto _ : state) {
    wire::encode_header(h, out);
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_HeaderEncode);

void BM_HeaderDecode(benchmark::State& state) {
  uint8_t bytes[wire::kHeaderSize];
  wire::encode_header(sample_header(), bytes);
  wire::Header h;
  for (auto _ : state) {
    auto e = wire::decode_header(std::span<const uint8_t>(bytes, sizeof bytes), h);
    benchmark::DoNotOptimize(e);
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_HeaderDecode);

void BM_HeaderAad(benchmark::State& state) {
  uint8_t bytes[wire::kHeaderSize];
  wire::encode_header(sample_header(), bytes);
  uint8_t aad[wire::kAadSize];
  for (auto _ : state) {
    wire::header_aad(bytes, aad);
    benchmark::DoNotOptimize(aad);
  }
}
BENCHMARK(BM_HeaderAad);

crypto::SessionKeys sample_keys() {
  crypto::SessionKeys k;
  k.session_id = 0x0102030405060708ULL;
  randombytes_buf(k.tx.data(), k.tx.size());
  k.rx = k.tx;  // a session that can open its own packets
  k.nonce_prefix = static_cast<uint32_t>(k.session_id) ^ static_cast<uint32_t>(k.session_id >> 32);
  return k;
}

sockaddr_storage any_addr() {
  sockaddr_storage a{};
  a.ss_family = AF_INET;
  return a;
}

// Session::stamp + PacketBuffer::seal: header encode + AAD + ChaCha20-Poly1305 of the payload (the send path).
void BM_SessionSeal(benchmark::State& state) {
  if (sodium_init() < 0) state.SkipWithError("sodium_init");
  const size_t len = static_cast<size_t>(state.range(0));
  session::Session s(1, any_addr(), sample_keys(), 0);
  session::PacketBuffer buf;
  std::memset(buf.payload(), 0xab, len);
  for (auto _ : state) {
    wire::Header h;
    h.stream_id = 5;
    s.stamp(h, len, buf);
    buf.seal();
    benchmark::DoNotOptimize(buf.bytes());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
}
BENCHMARK(BM_SessionSeal)->Arg(64)->Arg(1024)->Arg(8104);

// Session::stamp + seal then Session::open (decode header, replay check, AEAD open) of the same packet.
void BM_SessionSealOpen(benchmark::State& state) {
  if (sodium_init() < 0) state.SkipWithError("sodium_init");
  const size_t len = static_cast<size_t>(state.range(0));
  crypto::SessionKeys k = sample_keys();
  session::Session tx2(1, any_addr(), k, 0), rx2(1, any_addr(), k, 0);
  session::PacketBuffer buf;
  std::memset(buf.payload(), 0xab, len);
  for (auto _ : state) {
    wire::Header h;
    h.stream_id = 5;
    tx2.stamp(h, len, buf);
    buf.seal();
    wire::Header parsed;
    wire::decode_header(std::span<const uint8_t>(buf.bytes(), buf.len), parsed);
    std::span<uint8_t> pt;
    auto e = rx2.open(parsed, std::span<uint8_t>(buf.bytes(), buf.len), pt, 0);
    if (e != session::OpenError::kOk) {
      state.SkipWithError("open failed");
      break;
    }
    benchmark::DoNotOptimize(pt.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
}
BENCHMARK(BM_SessionSealOpen)->Arg(64)->Arg(1024)->Arg(8104);

// The AEAD alone (no header, AAD only): each implementation, and aead_seal's choice by size.
template <int Impl>  // 0 = libsodium, 1 = OpenSSL, 2 = aead_seal (libsodium below 1 KiB)
void BM_AeadSeal(benchmark::State& state) {
  if (sodium_init() < 0) state.SkipWithError("sodium_init");
  const size_t len = static_cast<size_t>(state.range(0));
  crypto::Key32 key{};
  randombytes_buf(key.data(), key.size());
  std::vector<uint8_t> data(len, 0xab);
  uint8_t nonce[12] = {}, aad[wire::kAadSize] = {}, tag[16];
  uint64_t ctr = 0;
  for (auto _ : state) {
    crypto::make_nonce(1, ctr++, nonce);
    if constexpr (Impl == 2) {
      crypto::aead_seal(key, nonce, aad, sizeof aad, data.data(), len, tag);
    } else if (!crypto::aead_seal_with(Impl ? crypto::AeadImpl::kOpenSsl : crypto::AeadImpl::kSodium,
                                       key, nonce, aad, sizeof aad, data.data(), len, tag)) {
      state.SkipWithError("no ChaCha20-Poly1305 in this OpenSSL");
      break;
    }
    benchmark::DoNotOptimize(tag);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
}
BENCHMARK(BM_AeadSeal<0>)->Name("BM_AeadSealLibsodium")->Arg(64)->Arg(1024)->Arg(1200)->Arg(1300)->Arg(1350)->Arg(1400)->Arg(1440)->Arg(8104);
BENCHMARK(BM_AeadSeal<1>)->Name("BM_AeadSealOpenSsl")->Arg(64)->Arg(1024)->Arg(1200)->Arg(1300)->Arg(1350)->Arg(1400)->Arg(1440)->Arg(8104);
BENCHMARK(BM_AeadSeal<2>)->Name("BM_AeadSealChosen")->Arg(64)->Arg(1024)->Arg(1200)->Arg(1440)->Arg(8104);

// Frame packing as a send call does it: events join the stream's open packet (charged to
// an unbounded window) until it is full, then the packet closes (Stream::join_open_packet,
// close_open_packet: the frames are written once, into a pooled payload).
void BM_FramePack(benchmark::State& state) {
  const size_t ev = static_cast<size_t>(state.range(0));
  const size_t n = wire::kMaxPayloadSize / (ev + wire::kFrameOverhead);
  std::vector<uint8_t> event(ev, 0x5a);
  stream::StreamConfig config;
  config.window_bytes = 0;
  stream::Stream st(1, 9, config, true, 1, 0);
  for (auto _ : state) {
    for (size_t i = 0; i < n; ++i) st.join_open_packet(event, 0, wire::kMaxPayloadSize, nullptr);
    stream::SentPacket p;
    st.close_open_packet(p, 0);
    benchmark::DoNotOptimize(p.payload.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * ev));
}
BENCHMARK(BM_FramePack)->Arg(64)->Arg(1024)->Arg(8104);

// Frame parsing on receive (read_frames) plus the pooled buffer a data packet is decrypted
// into and queued from (before 2026-12-06 the payload was decrypted in place and copied).
void BM_FrameUnpack(benchmark::State& state) {
  const size_t ev = static_cast<size_t>(state.range(0));
  const size_t n = wire::kMaxPayloadSize / (ev + wire::kFrameOverhead);
  std::vector<uint8_t> event(ev, 0x5a), payload;
  for (size_t i = 0; i < n; ++i) wire::append_frame(payload, event);
  std::vector<std::span<const uint8_t>> frames;
  for (auto _ : state) {
    stream::RxPacket p;
    stream::Payload buffer = stream::Payload::pooled(payload.size());  // as decrypt_batch (the
    buffer.resize(payload.size());                                     // AEAD writes it)
    wire::read_frames(payload, static_cast<uint16_t>(n), frames);     // as handle_net_packet
    p.data = stream::SharedPayload::adopt(std::move(buffer));          // as handle_data
    p.events = static_cast<uint16_t>(frames.size());
    benchmark::DoNotOptimize(p.data.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * ev));
}
BENCHMARK(BM_FrameUnpack)->Arg(64)->Arg(1024)->Arg(8104);

// Receive-side stream bookkeeping: on_packet (reliable, in order) then pop every event.
void BM_StreamDeliverPop(benchmark::State& state) {
  const size_t ev = static_cast<size_t>(state.range(0));
  const size_t n = wire::kMaxPayloadSize / (ev + wire::kFrameOverhead);
  stream::StreamConfig cfg;
  cfg.reliable = true;
  stream::Stream st(1, 5, cfg, true, 1, 0);
  std::vector<uint8_t> out(ev), event(ev, 0x5a), block;
  for (size_t i = 0; i < n; ++i) wire::append_frame(block, event);
  uint64_t seq = 0;
  for (auto _ : state) {
    stream::RxPacket p;
    p.seq = seq++;
    p.cost = static_cast<uint32_t>(block.size() + wire::kPacketOverhead);
    p.data = stream::SharedPayload::copy_of(block);
    p.events = static_cast<uint16_t>(n);
    st.on_packet(std::move(p), true, true, {16 << 20}, 0);
    while (st.inbound_pending() > 0) {
      st.pop_into(out.data());
      benchmark::DoNotOptimize(out.data());
    }
    uint64_t total;
    benchmark::DoNotOptimize(st.grant_due(&total, false));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_StreamDeliverPop)->Arg(64)->Arg(1024)->Arg(8104);


// A forged direct msg1 (right size, wrong keys) against N allowed peers: what an attacker's
// datagram costs the responder before it is rejected. The classic responder builds one
// Noise state per allowed peer (three X25519 each); NoiseResponder does one X25519 in all.
void BM_ForgedMsg1Classic(benchmark::State& state) {
  crypto::Key32 psk, s_priv, forged_key;
  psk.fill(0x42);
  s_priv.fill(0x11);
  forged_key.fill(0x33);
  std::vector<uint8_t> msg1;
  crypto::NoiseHandshake::initiator(crypto::handshake_prologue(1, 2), psk,
                                    crypto::x25519_public(forged_key)).write_message({}, msg1);
  for (auto _ : state) {
    for (int64_t peer = 0; peer < state.range(0); ++peer) {
      auto hs = crypto::NoiseHandshake::responder(crypto::handshake_prologue(peer + 10, 2), psk, s_priv);
      std::vector<uint8_t> payload;
      benchmark::DoNotOptimize(hs.read_message(msg1, payload));
    }
  }
}
BENCHMARK(BM_ForgedMsg1Classic)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);

void BM_ForgedMsg1Responder(benchmark::State& state) {
  crypto::Key32 psk, s_priv, forged_key;
  psk.fill(0x42);
  s_priv.fill(0x11);
  forged_key.fill(0x33);
  std::vector<uint8_t> msg1;
  crypto::NoiseHandshake::initiator(crypto::handshake_prologue(1, 2), psk,
                                    crypto::x25519_public(forged_key)).write_message({}, msg1);
  crypto::NoiseResponder responder(psk, s_priv);
  std::vector<crypto::Digest> candidates;
  for (int64_t peer = 0; peer < state.range(0); ++peer)
    candidates.push_back(responder.candidate(crypto::handshake_prologue(peer + 10, 2)));
  for (auto _ : state) benchmark::DoNotOptimize(responder.read_msg1(msg1, candidates));
}
BENCHMARK(BM_ForgedMsg1Responder)->Arg(1)->Arg(64)->Arg(1024)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
