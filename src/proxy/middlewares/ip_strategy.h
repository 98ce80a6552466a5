// Client IP selection and IP range matching, as Traefik's pkg/ip (Checker, Strategy) used by
// ipAllowList, rateLimit and inFlightReq.
//
// Both types are immutable after construction: build them when the table is built, share them
// (const) between workers, call them per request. No I/O, no allocation in contains().
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace portier::proxy::mw {

// A set of addresses and CIDR ranges, IPv4 and IPv6 ("192.168.1.7", "10.0.0.0/8", "::1/128").
// As Go's net package, which Traefik uses: an IPv4 address and its IPv4-mapped IPv6 form
// (::ffff:a.b.c.d) are the same address, in either the list or the address looked up; a CIDR
// with host bits set is accepted and masked ("10.1.2.3/8" is 10.0.0.0/8); zones ("%eth0") and
// IPv4 parts with leading zeros are rejected.
class IpMatcher {
 public:
  // Errors name the entry: "invalid IP or CIDR `10.0.0.0/33`". An empty list is an error, as
  // Traefik's NewChecker ("no IP or CIDR given").
  static Result<IpMatcher> parse(std::span<const std::string> entries);

  bool contains(const boost::asio::ip::address& a) const;
  // Parses `ip` (an address, no port; a zone is ignored); false when it does not parse.
  bool contains(std::string_view ip) const;

 private:
  struct Net {
    std::array<uint8_t, 16> bytes;  // IPv4 as IPv4-mapped IPv6
    int prefix;                     // 0..128, in the 16-byte form
  };
  std::vector<Net> nets_;
};

struct IpStrategyConfig {
  int depth = 0;                          // > 0: the depth-th X-Forwarded-For entry from the right
  std::vector<std::string> excluded_ips;  // else, if any: first entry from the right not listed
  std::optional<int> ipv6_subnet;         // mask an IPv6 result to this prefix (1..128)
};

// Traefik's ipStrategy (pkg/config/dynamic IPStrategy.Get, pkg/ip/strategy.go):
//   depth > 0       DepthStrategy: the depth-th entry of X-Forwarded-For counted from the right,
//                   trimmed; "" when the list has fewer entries. excluded_ips is then ignored.
//   excluded_ips    PoolStrategy: walking X-Forwarded-For from the right, skipping empty
//                   entries, the first entry that is not in the list (an entry that is not an
//                   address is "not in the list" and is returned as is); "" if all are listed.
//                   ipv6_subnet does not apply here, as in Traefik.
//   otherwise       RemoteAddrStrategy: the peer's host.
// ipv6_subnet: when the chosen value is an IPv6 address, the first address of its /n subnet
// ("2001:db8::1" with 64 gives "2001:db8::"); anything else is returned unchanged.
class IpStrategy {
 public:
  // Errors: ipv6_subnet outside 1..128 (checked with depth or the peer strategy, as Traefik),
  // a bad excluded_ips entry.
  static Result<IpStrategy> make(const IpStrategyConfig& config);

  // `peer`: the connection's remote address, "host:port", "[v6]:port" or a bare address (as Go's
  // SplitHostPort: when it does not split, it is used whole). `xff`: the values of every
  // X-Forwarded-For field of the request, in order; they are joined as one list (RFC 9110 5.3;
  // Traefik reads only the first field, a difference only for requests with several).
  // Returns "" when there is no client IP by the strategy's rules.
  std::string client_ip(std::string_view peer, std::span<const std::string_view> xff) const;

 private:
  int depth_ = 0;
  std::optional<IpMatcher> excluded_;
  std::optional<int> ipv6_subnet_;
};

// The first address of `ip`'s /prefix subnet when `ip` is an IPv6 address, else `ip` unchanged.
std::string ipv6_subnet_ip(std::string_view ip, int prefix);

}  // namespace portier::proxy::mw
