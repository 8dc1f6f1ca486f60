#include "node/nat_type.h"

#include <algorithm>
#include <vector>

#include "wire/address.h"

namespace nm::node {

NatType classify_nat(const sockaddr_storage& bound, std::span<const sockaddr_storage> own,
                     std::span<const sockaddr_storage> observed) {
  auto ours = [&](const sockaddr_storage& o) {
    return wire::address_port(o) == wire::address_port(bound) &&
           (wire::same_ip(o, bound) ||
            std::any_of(own.begin(), own.end(), [&](const auto& a) { return wire::same_ip(o, a); }));
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
