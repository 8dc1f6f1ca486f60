// "ip:port" / "[v6]:port" text <-> sockaddr.
#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace nm::wire {

// Numeric IPv4 or bracketed IPv6 plus a port; also "localhost:port". false on anything else.
bool parse_address(const std::string& text, sockaddr_storage& out);
std::string format_address(const sockaddr_storage& addr);
bool same_address(const sockaddr_storage& a, const sockaddr_storage& b);
// The same family and IP (ports aside); the port in host order.
bool same_ip(const sockaddr_storage& a, const sockaddr_storage& b);
uint16_t address_port(const sockaddr_storage& addr);
socklen_t address_length(const sockaddr_storage& addr);

// IPv4 peers seen through an IPv6 socket are ::ffff:a.b.c.d. Inside the node every IPv4
// address is AF_INET (what a peer announces and a user types); the socket maps at its edge.
bool is_v4_mapped(const sockaddr_storage& addr);
sockaddr_storage unmapped(const sockaddr_storage& addr);  // a v4-mapped address as AF_INET
sockaddr_storage v4_mapped(const sockaddr_storage& v4);   // an AF_INET address as ::ffff:a.b.c.d
// A destination a datagram can go to: a port, and an IP that is neither multicast nor the
// limited broadcast (a peer's announcement may name anything). The unspecified address
// is this host to the kernel (a node bound to 0.0.0.0 is dialled at its local address).
bool is_unicast_destination(const sockaddr_storage& addr);
// 0.0.0.0 or :: (either form of IPv4): what a socket binds to, never a datagram's source.
bool is_unspecified(const sockaddr_storage& addr);
// 127.0.0.0/8 or ::1 (either form of IPv4); with this_host, also the unspecified address,
// which as a destination is this host.
bool is_loopback(const sockaddr_storage& addr, bool this_host = false);

// An address as a hashable value (family, port, IP), for lookups by datagram source.
struct AddressKey {
  uint8_t bytes[20] = {};  // family(1) pad(1) port(2) ip(16)
  friend bool operator==(const AddressKey&, const AddressKey&) = default;
};
AddressKey address_key(const sockaddr_storage& addr);
struct AddressKeyHash {
  size_t operator()(const AddressKey& k) const noexcept;
};

}  // namespace nm::wire
