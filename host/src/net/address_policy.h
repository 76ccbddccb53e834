// net/address_policy.h — which IP addresses count as "public" for the SSRF guard.
//
// An outbound fetch of a user-supplied URL may only connect to globally routable unicast
// addresses. Everything else — loopback, RFC 1918 private, CGNAT, link-local (cloud metadata at
// 169.254.169.254), multicast, unspecified, documentation/benchmark/reserved ranges, IPv6 ULA and
// site-local, and IPv4 embedded in IPv6 (mapped, compatible, NAT64, 6to4, Teredo) when the
// embedded address is not public — is refused with a reason naming the range.
//
//   if (auto why = non_public_reason("10.0.0.7")) /* *why == "private network (10.0.0.0/8)" */;
#pragma once

#include <optional>
#include <string>

struct sockaddr;

namespace jarvis::host {

/// Why `address` (a numeric IPv4 or IPv6 literal, no brackets, no zone) is not a public unicast
/// address, or nullopt when it is public. A string that is not an IP literal yields
/// "not an IP address".
std::optional<std::string> non_public_reason(const std::string& address);

/// The same check for a socket address (AF_INET / AF_INET6); other families are refused.
std::optional<std::string> non_public_reason(const sockaddr* address);

/// Numeric text form of a socket address ("127.0.0.1", "::1"); "" for other families.
std::string address_to_string(const sockaddr* address);

}  // namespace jarvis::host
