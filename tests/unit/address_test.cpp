// Addresses as the node reads and writes them: text forms, IPv4 inside IPv6 (::ffff:a.b.c.d,
// what an IPv6 socket sees of IPv4 peers), and which addresses a datagram may go to.
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>

#include <string>

#include "wire/address.h"

namespace nm::wire {
namespace {

sockaddr_storage parsed(const std::string& text) {
  sockaddr_storage a;
  EXPECT_TRUE(parse_address(text, a)) << text;
  return a;
}

TEST(Address, TextRoundTrips) {
  for (const char* text : {"127.0.0.1:9", "0.0.0.0:0", "[::1]:4000", "[::]:0", "[::ffff:10.1.2.3]:7",
                           "[2001:db8::17]:65535"})
    EXPECT_EQ(format_address(parsed(text)), text);
  sockaddr_storage a;
  for (const char* bad : {"", ":9", "127.0.0.1", "[::1]", "::1:9", "[::1:9", "1.2.3.4:65536", "[fe80::1%]:9",
                          "[fe80::1%no-such-interface]:9", "host.example:9",
                          // a port or zone index is decimal digits only, in range (an audit:
                          // strtol took blanks and signs, strtoul's wrap made 2^32 + 1 index 1)
                          "127.0.0.1: 0", "127.0.0.1:+0", "127.0.0.1:-0", "127.0.0.1:\t9", "127.0.0.1:9 ",
                          "127.0.0.1:0x10", "127.0.0.1:99999999999999999999", "[fe80::1%4294967297]:9",
                          "[fe80::1%-1]:9", "[fe80::1%+1]:9"})
    EXPECT_FALSE(parse_address(bad, a)) << bad;
}

TEST(Address, ALinkLocalAddressKeepsItsInterface) {
  unsigned lo = if_nametoindex("lo");
  ASSERT_NE(lo, 0u);
  sockaddr_storage by_name = parsed("[fe80::1%lo]:9"), by_index = parsed("[fe80::1%" + std::to_string(lo) + "]:9");
  EXPECT_EQ(reinterpret_cast<const sockaddr_in6&>(by_name).sin6_scope_id, lo);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in6&>(by_index).sin6_scope_id, lo);
  EXPECT_EQ(format_address(by_index), "[fe80::1%lo]:9");
}

TEST(Address, IPv4MapsIntoIPv6AndBack) {
  sockaddr_storage v4 = parsed("10.1.2.3:4567"), mapped = v4_mapped(v4);
  EXPECT_EQ(format_address(mapped), "[::ffff:10.1.2.3]:4567");
  EXPECT_TRUE(is_v4_mapped(mapped));
  EXPECT_FALSE(is_v4_mapped(v4));
  EXPECT_TRUE(same_address(unmapped(mapped), v4));
  EXPECT_EQ(address_key(unmapped(mapped)), address_key(v4));  // one peer, one key
  // Anything else passes through unchanged.
  sockaddr_storage v6 = parsed("[2001:db8::1]:9");
  EXPECT_TRUE(same_address(unmapped(v6), v6));
  EXPECT_TRUE(same_address(v4_mapped(v6), v6));
  EXPECT_TRUE(same_address(unmapped(v4), v4));
}

TEST(Address, OnlyUnicastDestinationsWithAPort) {
  for (const char* ok : {"127.0.0.1:9", "10.0.0.1:1", "0.0.0.0:9", "[::1]:9", "[::]:9", "[::ffff:10.0.0.1]:9",
                         "[2001:db8::1]:9", "192.168.1.255:9"})
    EXPECT_TRUE(is_unicast_destination(parsed(ok))) << ok;
  for (const char* no : {"127.0.0.1:0", "[::1]:0", "255.255.255.255:9", "224.0.0.1:9", "239.1.2.3:9",
                         "[ff02::1]:9", "[::ffff:255.255.255.255]:9", "[::ffff:224.0.0.1]:9"})
    EXPECT_FALSE(is_unicast_destination(parsed(no))) << no;
}

TEST(Address, LoopbackInEitherFormAndThisHost) {
  for (const char* lo : {"127.0.0.1:9", "127.1.2.3:9", "[::1]:9", "[::ffff:127.0.0.1]:9"})
    EXPECT_TRUE(is_loopback(parsed(lo))) << lo;
  for (const char* not_lo : {"10.0.0.1:9", "0.0.0.0:9", "[::]:9", "[2001:db8::1]:9", "128.0.0.1:9"})
    EXPECT_FALSE(is_loopback(parsed(not_lo))) << not_lo;
  EXPECT_TRUE(is_loopback(parsed("0.0.0.0:9"), true));  // as a destination: this host
  EXPECT_TRUE(is_loopback(parsed("[::]:9"), true));
  EXPECT_FALSE(is_loopback(parsed("10.0.0.1:9"), true));
}

TEST(Address, UnspecifiedInEitherForm) {
  for (const char* any : {"0.0.0.0:9", "[::]:9", "[::ffff:0.0.0.0]:9"}) EXPECT_TRUE(is_unspecified(parsed(any))) << any;
  for (const char* not_any : {"0.0.0.1:9", "127.0.0.1:9", "[::1]:9", "[::ffff:10.0.0.1]:9"})
    EXPECT_FALSE(is_unspecified(parsed(not_any))) << not_any;
}

}  // namespace
}  // namespace nm::wire
