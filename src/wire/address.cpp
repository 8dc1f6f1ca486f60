#include "wire/address.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace nm::wire {

namespace {
// Decimal digits only, at most `max` (strtol would take blanks, a sign, and wrap).
bool parse_decimal(const std::string& text, uint32_t max, uint32_t& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return !text.empty() && ec == std::errc() && ptr == end && out <= max;
}
}  // namespace

bool parse_address(const std::string& text, sockaddr_storage& out) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 >= text.size()) return false;
  std::string host = text.substr(0, colon);
  uint32_t port = 0;
  if (!parse_decimal(text.substr(colon + 1), 65535, port)) return false;
  if (host == "localhost") host = "127.0.0.1";

  std::memset(&out, 0, sizeof out);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&out);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    std::string ip = host.substr(1, host.size() - 2);
    // A link-local address names its interface: [fe80::1%eth0]:port (or %index).
    if (size_t pct = ip.find('%'); pct != std::string::npos) {
      std::string zone = ip.substr(pct + 1);
      ip.resize(pct);
      a6->sin6_scope_id = if_nametoindex(zone.c_str());
      uint32_t index = 0;
      if (a6->sin6_scope_id == 0 && parse_decimal(zone, UINT32_MAX, index)) a6->sin6_scope_id = index;
      if (a6->sin6_scope_id == 0) return false;
    }
    return inet_pton(AF_INET6, ip.c_str(), &a6->sin6_addr) == 1;
  }
  auto* a4 = reinterpret_cast<sockaddr_in*>(&out);
  a4->sin_family = AF_INET;
  a4->sin_port = htons(static_cast<uint16_t>(port));
  return inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1;
}

std::string format_address(const sockaddr_storage& addr) {
  char ip[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a6->sin6_addr, ip, sizeof ip);
    std::string zone;
    if (a6->sin6_scope_id != 0) {
      char name[IF_NAMESIZE] = {};
      zone = "%" + std::string(if_indextoname(a6->sin6_scope_id, name) ? name : std::to_string(a6->sin6_scope_id));
    }
    return "[" + std::string(ip) + zone + "]:" + std::to_string(ntohs(a6->sin6_port));
  }
  const auto* a4 = reinterpret_cast<const sockaddr_in*>(&addr);
  inet_ntop(AF_INET, &a4->sin_addr, ip, sizeof ip);
  return std::string(ip) + ":" + std::to_string(ntohs(a4->sin_port));
}

uint16_t address_port(const sockaddr_storage& addr) {
  return ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6&>(addr).sin6_port
                                          : reinterpret_cast<const sockaddr_in&>(addr).sin_port);
}

bool same_ip(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET6)
    return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                       &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr, sizeof(in6_addr)) == 0;
  return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr ==
         reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
}

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
  return same_ip(a, b) && address_port(a) == address_port(b);
}

socklen_t address_length(const sockaddr_storage& addr) {
  return addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

bool is_v4_mapped(const sockaddr_storage& addr) {
  return addr.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr);
}

sockaddr_storage unmapped(const sockaddr_storage& addr) {
  if (!is_v4_mapped(addr)) return addr;
  const auto& a6 = reinterpret_cast<const sockaddr_in6&>(addr);
  sockaddr_storage out{};
  auto& a4 = reinterpret_cast<sockaddr_in&>(out);
  a4.sin_family = AF_INET;
  a4.sin_port = a6.sin6_port;
  std::memcpy(&a4.sin_addr, a6.sin6_addr.s6_addr + 12, 4);
  return out;
}

sockaddr_storage v4_mapped(const sockaddr_storage& v4) {
  if (v4.ss_family != AF_INET) return v4;
  const auto& a4 = reinterpret_cast<const sockaddr_in&>(v4);
  sockaddr_storage out{};
  auto& a6 = reinterpret_cast<sockaddr_in6&>(out);
  a6.sin6_family = AF_INET6;
  a6.sin6_port = a4.sin_port;
  a6.sin6_addr.s6_addr[10] = a6.sin6_addr.s6_addr[11] = 0xff;
  std::memcpy(a6.sin6_addr.s6_addr + 12, &a4.sin_addr, 4);
  return out;
}

bool is_unicast_destination(const sockaddr_storage& addr) {
  sockaddr_storage a = unmapped(addr);
  if (address_port(a) == 0) return false;
  if (a.ss_family == AF_INET) {
    uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr);
    return ip != INADDR_BROADCAST && !IN_MULTICAST(ip);
  }
  if (a.ss_family != AF_INET6) return false;
  return !IN6_IS_ADDR_MULTICAST(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr);
}

bool is_unspecified(const sockaddr_storage& addr) {
  sockaddr_storage a = unmapped(addr);
  if (a.ss_family == AF_INET) return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr == INADDR_ANY;
  return a.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr);
}

bool is_loopback(const sockaddr_storage& addr, bool this_host) {
  if (this_host && is_unspecified(addr)) return true;
  sockaddr_storage a = unmapped(addr);
  if (a.ss_family == AF_INET) return (ntohl(reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr) >> 24) == 127;
  return a.ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr);
}

AddressKey address_key(const sockaddr_storage& addr) {
  AddressKey k;
  k.bytes[0] = static_cast<uint8_t>(addr.ss_family);
  if (addr.ss_family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    std::memcpy(k.bytes + 2, &a6->sin6_port, 2);
    std::memcpy(k.bytes + 4, &a6->sin6_addr, 16);
  } else {
    const auto* a4 = reinterpret_cast<const sockaddr_in*>(&addr);
    std::memcpy(k.bytes + 2, &a4->sin_port, 2);
    std::memcpy(k.bytes + 4, &a4->sin_addr, 4);
  }
  return k;
}

size_t AddressKeyHash::operator()(const AddressKey& k) const noexcept {
  // FNV-1a. Only our own sessions' addresses are ever inserted, so flooding is not a concern.
  uint64_t h = 1469598103934665603ULL;
  for (uint8_t b : k.bytes) h = (h ^ b) * 1099511628211ULL;
  return static_cast<size_t>(h);
}

}  // namespace nm::wire
