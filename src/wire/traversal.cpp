#include "wire/traversal.h"

#include <netinet/in.h>

#include <cstring>

#include "wire/little_endian.h"

namespace nm::wire {
namespace {

void put_port(uint8_t* out, uint16_t network_order_port) { std::memcpy(out, &network_order_port, 2); }

template <typename T>
void put_be(uint8_t* out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<uint8_t>(v >> (8 * (sizeof(T) - 1 - i)));
}

template <typename T>
T get_be(const uint8_t* in) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | in[i]);
  return v;
}

constexpr size_t kRequestSize = 28, kIntroduceSize = 36, kAckSize = 21;
constexpr uint8_t kKeepAliveMagic[2] = {0x50, 0x48};

}  // namespace

bool encode_address_block(const sockaddr_storage& addr, uint8_t out[kAddressBlockSize]) {
  std::memset(out, 0, kAddressBlockSize);
  if (addr.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(addr);
    out[0] = 4;
    std::memcpy(out + 1, &v4.sin_addr, 4);
    put_port(out + 17, v4.sin_port);  // sin_port is big-endian already
    return true;
  }
  if (addr.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(addr);
    out[0] = 6;
    std::memcpy(out + 1, &v6.sin6_addr, 16);
    put_port(out + 17, v6.sin6_port);
    return true;
  }
  return false;
}

std::optional<sockaddr_storage> decode_address_block(std::span<const uint8_t> block) {
  if (block.size() != kAddressBlockSize) return std::nullopt;
  sockaddr_storage out{};
  if (block[0] == 4) {
    auto& v4 = reinterpret_cast<sockaddr_in&>(out);
    v4.sin_family = AF_INET;
    std::memcpy(&v4.sin_addr, block.data() + 1, 4);
    std::memcpy(&v4.sin_port, block.data() + 17, 2);
    return out;
  }
  if (block[0] == 6) {
    auto& v6 = reinterpret_cast<sockaddr_in6&>(out);
    v6.sin6_family = AF_INET6;
    std::memcpy(&v6.sin6_addr, block.data() + 1, 16);
    std::memcpy(&v6.sin6_port, block.data() + 17, 2);
    return out;
  }
  return std::nullopt;
}

size_t encode_rendezvous(const RendezvousMessage& m, uint8_t out[kRendezvousMaxSize]) {
  out[0] = static_cast<uint8_t>(m.kind);
  switch (m.kind) {
    case RendezvousMessage::Kind::kRequest:
      put_be<uint64_t>(out + 1, m.request.target);
      return encode_address_block(m.request.self_reflex, out + 9) ? kRequestSize : 0;
    case RendezvousMessage::Kind::kIntroduce:
      put_be<uint64_t>(out + 1, m.introduce.peer);
      if (!encode_address_block(m.introduce.peer_reflex, out + 9)) return 0;
      put_be<uint64_t>(out + 28, m.introduce.fire_at_ms);
      return kIntroduceSize;
    case RendezvousMessage::Kind::kAck:
      put_be<uint64_t>(out + 1, m.ack.from);
      put_be<uint64_t>(out + 9, m.ack.to);
      put_be<uint32_t>(out + 17, m.ack.punch_id);
      return kAckSize;
  }
  return 0;
}

std::optional<RendezvousMessage> decode_rendezvous(std::span<const uint8_t> body) {
  if (body.empty()) return std::nullopt;
  RendezvousMessage m;
  const uint8_t* b = body.data();
  switch (body[0]) {
    case 1: {
      if (body.size() != kRequestSize) return std::nullopt;
      auto addr = decode_address_block(body.subspan(9, kAddressBlockSize));
      if (!addr) return std::nullopt;
      m.kind = RendezvousMessage::Kind::kRequest;
      m.request = {get_be<uint64_t>(b + 1), *addr};
      return m;
    }
    case 2: {
      if (body.size() != kIntroduceSize) return std::nullopt;
      auto addr = decode_address_block(body.subspan(9, kAddressBlockSize));
      if (!addr) return std::nullopt;
      m.kind = RendezvousMessage::Kind::kIntroduce;
      m.introduce = {get_be<uint64_t>(b + 1), *addr, get_be<uint64_t>(b + 28)};
      return m;
    }
    case 3:
      if (body.size() != kAckSize) return std::nullopt;
      m.kind = RendezvousMessage::Kind::kAck;
      m.ack = {get_be<uint64_t>(b + 1), get_be<uint64_t>(b + 9), get_be<uint32_t>(b + 17)};
      return m;
  }
  return std::nullopt;
}

void encode_keepalive(uint64_t sender, uint8_t out[kKeepAliveSize]) {
  out[0] = kKeepAliveMagic[0];
  out[1] = kKeepAliveMagic[1];
  put_le<uint64_t>(out + 2, sender);
  put_le<uint32_t>(out + 10, 0);
}

std::optional<uint64_t> decode_keepalive(std::span<const uint8_t> datagram) {
  if (datagram.size() != kKeepAliveSize || datagram[0] != kKeepAliveMagic[0] || datagram[1] != kKeepAliveMagic[1])
    return std::nullopt;
  return get_le<uint64_t>(datagram.data() + 2);
}

}  // namespace nm::wire
