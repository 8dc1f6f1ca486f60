// "ip:port" / "[v6]:port" text <-> sockaddr.
#pragma once
#include <sys/socket.h>

#include <string>

namespace nm::node {

// Numeric IPv4 or bracketed IPv6 plus a port; also "localhost:port". false on anything else.
bool parse_address(const std::string& text, sockaddr_storage& out);
std::string format_address(const sockaddr_storage& addr);
bool same_address(const sockaddr_storage& a, const sockaddr_storage& b);
socklen_t address_length(const sockaddr_storage& addr);

}  // namespace nm::node
