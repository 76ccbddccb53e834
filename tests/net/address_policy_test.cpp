// Tests of the SSRF guard's address classification (public vs. every non-public range).
#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include "net/address_policy.h"

namespace {

using jarvis::host::non_public_reason;

/// Expects `addr` to be refused with a reason containing `needle`.
void expect_refused(const std::string& addr, const std::string& needle) {
  auto why = non_public_reason(addr);
  ASSERT_TRUE(why.has_value()) << addr << " was considered public";
  EXPECT_NE(why->find(needle), std::string::npos) << addr << ": " << *why;
}

TEST(AddressPolicy, PublicAddresses) {
  for (const char* a :
       {"8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.0", "172.15.255.255",
        "172.32.0.0", "192.167.255.255", "198.20.0.1", "223.255.255.255", "2606:4700:4700::1111",
        "2001:4860:4860::8888", "2a00:1450:4001:80b::200e", "64:ff9b::808:808", "::ffff:8.8.8.8",
        "2002:808:808::1"}) {
    auto why = non_public_reason(a);
    EXPECT_FALSE(why.has_value()) << a << ": " << why.value_or("");
  }
}

TEST(AddressPolicy, IPv4SpecialRanges) {
  expect_refused("0.0.0.0", "unspecified");
  expect_refused("0.1.2.3", "this network");
  expect_refused("10.0.0.1", "private");
  expect_refused("10.255.255.255", "private");
  expect_refused("100.64.0.1", "carrier-grade NAT");
  expect_refused("100.127.255.255", "carrier-grade NAT");
  expect_refused("127.0.0.1", "loopback");
  expect_refused("127.255.0.9", "loopback");
  expect_refused("169.254.169.254", "link-local");
  expect_refused("172.16.0.1", "private");
  expect_refused("172.31.255.255", "private");
  expect_refused("192.0.0.8", "IETF");
  expect_refused("192.0.2.1", "documentation");
  expect_refused("192.168.1.1", "private");
  expect_refused("198.18.0.1", "benchmarking");
  expect_refused("198.19.255.255", "benchmarking");
  expect_refused("198.51.100.7", "documentation");
  expect_refused("203.0.113.9", "documentation");
  expect_refused("224.0.0.1", "multicast");
  expect_refused("239.255.255.250", "multicast");
  expect_refused("240.0.0.1", "reserved");
  expect_refused("255.255.255.255", "reserved");
}

TEST(AddressPolicy, IPv6SpecialRanges) {
  expect_refused("::", "unspecified");
  expect_refused("::1", "loopback");
  expect_refused("::ffff:127.0.0.1", "IPv4-mapped address of loopback");
  expect_refused("::ffff:10.1.2.3", "IPv4-mapped address of private");
  expect_refused("::ffff:169.254.169.254", "link-local");
  expect_refused("::127.0.0.1", "IPv4-compatible");
  expect_refused("64:ff9b::7f00:1", "NAT64");
  expect_refused("64:ff9b:1::1", "local-use NAT64");
  expect_refused("100::1", "discard");
  expect_refused("2001::1", "Teredo");
  expect_refused("2001:db8::1", "documentation");
  expect_refused("2002:7f00:1::1", "6to4 address (2002::/16) of loopback");
  expect_refused("2002:c0a8:101::1", "6to4");
  expect_refused("fc00::1", "unique local");
  expect_refused("fd12:3456:789a::1", "unique local");
  expect_refused("fe80::1", "link-local");
  expect_refused("febf::1", "link-local");
  expect_refused("fec0::1", "site-local");
  expect_refused("ff02::1", "multicast");
  expect_refused("4000::1", "reserved");
}

TEST(AddressPolicy, NonAddressesAreRefused) {
  expect_refused("localhost", "not an IP address");
  expect_refused("", "not an IP address");
  expect_refused("[::1]", "not an IP address");
  expect_refused("1.2.3", "not an IP address");
}

TEST(AddressPolicy, SockaddrForms) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  ::inet_pton(AF_INET, "192.168.0.10", &v4.sin_addr);
  auto why = non_public_reason(reinterpret_cast<sockaddr*>(&v4));
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("private"), std::string::npos);
  EXPECT_EQ(jarvis::host::address_to_string(reinterpret_cast<sockaddr*>(&v4)), "192.168.0.10");

  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  ::inet_pton(AF_INET6, "2606:4700::1111", &v6.sin6_addr);
  EXPECT_FALSE(non_public_reason(reinterpret_cast<sockaddr*>(&v6)).has_value());
  EXPECT_EQ(jarvis::host::address_to_string(reinterpret_cast<sockaddr*>(&v6)), "2606:4700::1111");

  sockaddr other{};
  other.sa_family = AF_UNIX;
  EXPECT_TRUE(non_public_reason(&other).has_value());
  EXPECT_TRUE(non_public_reason(static_cast<const sockaddr*>(nullptr)).has_value());
}

}  // namespace
