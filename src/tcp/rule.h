// Traefik v3's TCP rule language, compiled once per table build and evaluated per connection:
//
//   rule    := or ;  or := and ("||" and)* ;  and := unary ("&&" unary)*
//   unary   := "!" unary | "(" or ")" | Matcher "(" string ")"
//   string  := `raw` | "Go-style \"escaped\""
//
// Matchers, one value each (Traefik's pkg/muxer/tcp/matcher.go): HostSNI (`*` matches every
// connection, `*.example.com` one leading label), HostSNIRegexp (RE2 over the SNI), ClientIP
// (an address or CIDR), ALPN (one of the protocols the client offers; `acme-tls/1` refused).
// The grammar and lexer are the HTTP rules' (rules/expr.h, generic over the matcher set); the
// matchers are a separate set: the two share none, and HTTP's Request type has nothing of a
// connection's SNI or ALPN.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace portier::tcp {

// What a TCP rule looks at. Views are valid for the duration of one matches() call.
struct ConnInfo {
  std::string_view sni;                // lower case; "" without TLS or without SNI
  std::span<const std::string> alpn;   // the protocols a ClientHello offered
  boost::asio::ip::address client;     // the peer, or the PROXY header's source
};

class Rule {
 public:
  Rule();
  ~Rule();
  Rule(Rule&&) noexcept;
  Rule& operator=(Rule&&) noexcept;

  bool matches(const ConnInfo& conn) const;
  // The rule is exactly HostSNI(`*`) (Traefik's catch-all: lowest default priority, and the
  // last resort when HTTPS routers share the entrypoint).
  bool catch_all() const { return catch_all_; }
  // The HostSNI values of the rule (lower case, `*` left out): names a TLS-terminating router
  // asks a certificate resolver for, and the names that must have TLS on the router.
  const std::vector<std::string>& host_sni() const { return host_sni_; }
  bool has_host_sni() const { return has_host_sni_; }

  struct Node;

 private:
  friend Result<Rule> parse_rule(std::string_view text);
  std::unique_ptr<Node> root_;
  std::vector<std::string> host_sni_;
  bool has_host_sni_ = false;
  bool catch_all_ = false;
};

// Parses and compiles; errors say where ("column 12: ...").
Result<Rule> parse_rule(std::string_view text);

}  // namespace portier::tcp
