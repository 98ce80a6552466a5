// Traefik v3's rule language: parsed and compiled once when a routing table is built, evaluated
// per request without parsing or allocating. The grammar (rules/expr.h) is shared with the TCP
// rules; the matchers are HTTP's.
//
//   rule    := or
//   or      := and ( "||" and )*
//   and     := unary ( "&&" unary )*
//   unary   := "!" unary | "(" or ")" | matcher
//   matcher := Name "(" string ( "," string )* ")"
//   string  := `raw` | "Go-style \"escaped\""
//
// Matchers (v3 arities): Host, HostRegexp, Path, PathPrefix, PathRegexp, Method, ClientIP take
// one value; Header and HeaderRegexp two; Query and QueryRegexp one or two. Regexes are RE2
// (Go's syntax, linear time). Errors say where ("column 12: ...").
#pragma once

#include <boost/asio/ip/address.hpp>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/header_view.h"
#include "common/result.h"

namespace portier::rules {

// What a rule looks at. Views are valid for the duration of one match() call.
struct Request {
  std::string_view host;    // lower case, without port and trailing dot
  std::string_view method;  // as sent
  std::string_view path;    // percent-decoded, no query
  std::string_view query;   // raw query string, without '?'
  std::span<const HeaderView> headers;
  boost::asio::ip::address client_ip;
};

class Rule {
 public:
  Rule();  // an empty rule: matches nothing
  ~Rule();
  Rule(Rule&&) noexcept;
  Rule& operator=(Rule&&) noexcept;

  bool matches(const Request& req) const;

  // Hosts this rule can only match (so it may live in the host index), or empty when the rule
  // can match other hosts too. Lower case.
  const std::vector<std::string>& pinned_hosts() const { return pinned_hosts_; }
  // Every Host matcher's name in the rule, wildcards (`*.example.com`) included, `*` left out,
  // lower case, sorted, once each: the names a certificate resolver is asked for (Traefik's
  // ParseDomains).
  const std::vector<std::string>& host_names() const { return host_names_; }
  // Does any matcher look at the path? (Then the engine percent-decodes it.)
  bool uses_path() const { return uses_path_; }
  bool uses_query() const { return uses_query_; }

  struct Node;

 private:
  friend Result<Rule> parse(std::string_view text);
  std::unique_ptr<Node> root_;
  std::vector<std::string> pinned_hosts_;
  std::vector<std::string> host_names_;
  bool uses_path_ = false;
  bool uses_query_ = false;
};

// Parses and compiles a rule. Errors carry the column (1-based) and what was expected.
Result<Rule> parse(std::string_view text);

// Percent-decodes `in` into `out` (which must hold in.size() bytes); returns the decoded length,
// or npos when an escape is malformed. Used for paths before matching.
std::size_t percent_decode(std::string_view in, char* out);

}  // namespace portier::rules
