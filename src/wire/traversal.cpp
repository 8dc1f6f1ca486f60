#include "wire/traversal.h"

#include <netinet/in.h>

#include <cstring>

namespace nm::wire {
namespace {

void put_port(uint8_t* out, uint16_t network_order_port) { std::memcpy(out, &network_order_port, 2); }

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

}  // namespace nm::wire
