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
