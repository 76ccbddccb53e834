// Classification of IPv4/IPv6 addresses as public or not, for the SSRF guard (see the header).
#include "net/address_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace jarvis::host {
namespace {

struct V4Range {
  std::uint32_t base;
  int prefix;
  const char* reason;
};

constexpr std::uint32_t ip4(int a, int b, int c, int d) {
  return (static_cast<std::uint32_t>(a) << 24) | (static_cast<std::uint32_t>(b) << 16) |
         (static_cast<std::uint32_t>(c) << 8) | static_cast<std::uint32_t>(d);
}

// IANA IPv4 Special-Purpose Address Registry, minus the globally reachable anycast entries.
constexpr std::array<V4Range, 16> kV4Ranges = {{
    {ip4(0, 0, 0, 0), 8, "unspecified / this network (0.0.0.0/8)"},
    {ip4(10, 0, 0, 0), 8, "private network (10.0.0.0/8)"},
    {ip4(100, 64, 0, 0), 10, "carrier-grade NAT (100.64.0.0/10)"},
    {ip4(127, 0, 0, 0), 8, "loopback (127.0.0.0/8)"},
    {ip4(169, 254, 0, 0), 16, "link-local (169.254.0.0/16)"},
    {ip4(172, 16, 0, 0), 12, "private network (172.16.0.0/12)"},
    {ip4(192, 0, 0, 0), 24, "IETF protocol assignments (192.0.0.0/24)"},
    {ip4(192, 0, 2, 0), 24, "documentation (192.0.2.0/24)"},
    {ip4(192, 88, 99, 0), 24, "6to4 relay anycast (192.88.99.0/24)"},
    {ip4(192, 168, 0, 0), 16, "private network (192.168.0.0/16)"},
    {ip4(198, 18, 0, 0), 15, "benchmarking (198.18.0.0/15)"},
    {ip4(198, 51, 100, 0), 24, "documentation (198.51.100.0/24)"},
    {ip4(203, 0, 113, 0), 24, "documentation (203.0.113.0/24)"},
    {ip4(224, 0, 0, 0), 4, "multicast (224.0.0.0/4)"},
    {ip4(240, 0, 0, 0), 4, "reserved (240.0.0.0/4)"},
    {ip4(255, 255, 255, 255), 32, "broadcast (255.255.255.255)"},
}};

std::optional<std::string> v4_reason(std::uint32_t a) {
  for (const auto& r : kV4Ranges) {
    std::uint32_t mask = r.prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - r.prefix);
    if ((a & mask) == (r.base & mask)) return std::string(r.reason);
  }
  return std::nullopt;
}

std::uint32_t v4_at(const std::uint8_t* b) {
  return (static_cast<std::uint32_t>(b[0]) << 24) | (static_cast<std::uint32_t>(b[1]) << 16) |
         (static_cast<std::uint32_t>(b[2]) << 8) | static_cast<std::uint32_t>(b[3]);
}

/// True when the first `bits` bits of `a` equal those of `prefix`.
bool v6_prefix(const std::uint8_t* a, std::initializer_list<std::uint8_t> prefix, int bits) {
  std::uint8_t p[16] = {};
  std::size_t i = 0;
  for (auto v : prefix) p[i++] = v;
  int full = bits / 8, rest = bits % 8;
  if (std::memcmp(a, p, static_cast<std::size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  std::uint8_t mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[full] & mask) == (p[full] & mask);
}

/// Checks the IPv4 address embedded in an IPv6 address; `what` names the embedding.
std::optional<std::string> embedded(std::uint32_t v4, const char* what) {
  if (auto r = v4_reason(v4)) return std::string(what) + " of " + *r;
  return std::nullopt;
}

std::optional<std::string> v6_reason(const std::uint8_t* a) {
  static const std::uint8_t zero[16] = {};
  if (std::memcmp(a, zero, 16) == 0) return std::string("unspecified (::)");
  if (std::memcmp(a, zero, 15) == 0 && a[15] == 1) return std::string("loopback (::1)");
  if (v6_prefix(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, 96)) {
    return embedded(v4_at(a + 12), "IPv4-mapped address");
  }
  if (v6_prefix(a, {}, 96)) return std::string("IPv4-compatible address (::/96, deprecated)");
  if (v6_prefix(a, {0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0}, 96)) {
    return std::string("IPv4-translated address (::ffff:0:0:0/96)");
  }
  if (v6_prefix(a, {0x00, 0x64, 0xFF, 0x9B}, 96)) {
    return embedded(v4_at(a + 12), "NAT64 address (64:ff9b::/96)");
  }
  if (v6_prefix(a, {0x00, 0x64, 0xFF, 0x9B, 0x00, 0x01}, 48)) {
    return std::string("local-use NAT64 (64:ff9b:1::/48)");
  }
  if (v6_prefix(a, {0x01, 0x00}, 64)) return std::string("discard-only (100::/64)");
  if (v6_prefix(a, {0x20, 0x01, 0x00, 0x00}, 32)) return std::string("Teredo (2001::/32)");
  if (v6_prefix(a, {0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48)) {
    return std::string("benchmarking (2001:2::/48)");
  }
  if (v6_prefix(a, {0x20, 0x01, 0x00, 0x10}, 28)) return std::string("ORCHID (2001:10::/28)");
  if (v6_prefix(a, {0x20, 0x01, 0x00, 0x20}, 28)) return std::string("ORCHIDv2 (2001:20::/28)");
  if (v6_prefix(a, {0x20, 0x01, 0x0D, 0xB8}, 32))
    return std::string("documentation (2001:db8::/32)");
  if (v6_prefix(a, {0x20, 0x02}, 16)) return embedded(v4_at(a + 2), "6to4 address (2002::/16)");
  if (v6_prefix(a, {0x3F, 0xFF}, 20)) return std::string("documentation (3fff::/20)");
  if (v6_prefix(a, {0x5F, 0x00}, 16)) return std::string("segment routing (5f00::/16)");
  if (v6_prefix(a, {0xFC}, 7)) return std::string("unique local address (fc00::/7)");
  if (v6_prefix(a, {0xFE, 0x80}, 10)) return std::string("link-local (fe80::/10)");
  if (v6_prefix(a, {0xFE, 0xC0}, 10)) return std::string("site-local (fec0::/10, deprecated)");
  if (v6_prefix(a, {0xFF}, 8)) return std::string("multicast (ff00::/8)");
  // Only 2000::/3 is allocated as global unicast; anything else is reserved by IANA.
  if (!v6_prefix(a, {0x20}, 3)) return std::string("reserved IPv6 range (outside 2000::/3)");
  return std::nullopt;
}

}  // namespace

std::optional<std::string> non_public_reason(const std::string& address) {
  in_addr v4{};
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) return v4_reason(ntohl(v4.s_addr));
  in6_addr v6{};
  if (::inet_pton(AF_INET6, address.c_str(), &v6) == 1) return v6_reason(v6.s6_addr);
  return std::string("not an IP address");
}

std::optional<std::string> non_public_reason(const sockaddr* address) {
  if (address == nullptr) return std::string("no address");
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return v4_reason(ntohl(in->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    return v6_reason(in6->sin6_addr.s6_addr);
  }
  return std::string("unsupported address family");
}

std::string address_to_string(const sockaddr* address) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (address == nullptr) return "";
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    if (::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf)) return buf;
  } else if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    if (::inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf)) return buf;
  }
  return "";
}

}  // namespace jarvis::host
