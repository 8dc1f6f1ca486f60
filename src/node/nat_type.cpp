#include "node/nat_type.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "wire/address.h"

namespace nm::node {
namespace {

uint16_t port_of(const sockaddr_storage& a) {
  return a.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6&>(a).sin6_port
                                 : reinterpret_cast<const sockaddr_in&>(a).sin_port;
}

bool same_ip(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET)
    return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
  return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                     &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr, 16) == 0;
}

}  // namespace

NatType classify_nat(const sockaddr_storage& bound, std::span<const sockaddr_storage> own,
                     std::span<const sockaddr_storage> observed) {
  auto ours = [&](const sockaddr_storage& o) {
    return port_of(o) == port_of(bound) &&
           (same_ip(o, bound) || std::any_of(own.begin(), own.end(), [&](const auto& a) { return same_ip(o, a); }));
  };
  std::vector<sockaddr_storage> public_views;
  for (const auto& o : observed)
    if (!ours(o)) public_views.push_back(o);
  if (public_views.empty()) return observed.size() >= 2 ? NatType::kOpen : NatType::kUnknown;
  if (public_views.size() < 2) return NatType::kUnknown;
  bool same = std::all_of(public_views.begin(), public_views.end(),
                          [&](const auto& o) { return wire::same_address(o, public_views[0]); });
  return same ? NatType::kCone : NatType::kSymmetric;
}

}  // namespace nm::node
