// What stands between this node and the internet, judged from the addresses its peers see
// its datagrams come from (reflex probes, wire/traversal.h). The classes are net-mesh 0.23's
// (numbered as its NatClass): open, cone (every peer sees the same public address: a
// mapping that does not depend on the destination, so a punched hole works), symmetric
// (each peer sees another port) and unknown (too few answers).
//
// Unlike 0.23, "open" needs the observed address to be one of this host's own: a NAT that
// keeps the source port (Linux masquerade does when it can) is not taken for no NAT. Peers
// that see one of our own addresses (on our LAN) say nothing about the NAT and are left out
// of the cone/symmetric verdict. Pure logic.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <span>

namespace nm::node {

enum class NatType : uint8_t { kUnknown = 0, kOpen = 1, kCone = 2, kSymmetric = 3 };

// `bound`: our socket's address (maybe a wildcard); `own`: this host's interface addresses
// (ports ignored); `observed`: what each peer answered.
NatType classify_nat(const sockaddr_storage& bound, std::span<const sockaddr_storage> own,
                     std::span<const sockaddr_storage> observed);

}  // namespace nm::node
