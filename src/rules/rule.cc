#include "rules/rule.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "rules/expr.h"

namespace portier::rules {

namespace ip = boost::asio::ip;

struct Rule::Node {
  enum class Kind {
    And,
    Or,
    Not,
    Host,
    HostWildcard,  // Host(`*.example.com`): s1 is ".example.com"
    HostAny,       // Host(`*`)
    HostRegexp,
    Path,
    PathPrefix,
    PathRegexp,
    Method,
    Header,
    HeaderRegexp,
    Query,
    QueryRegexp,
    ClientIP,
  };
  Kind kind;
  std::unique_ptr<Node> a, b;
  std::string s1, s2;
  std::unique_ptr<re2::RE2> re;
  ip::address net;
  unsigned prefix = 0;
};

namespace {

using Node = Rule::Node;
using Kind = Node::Kind;

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Traefik's parser knows each matcher under four spellings: as documented (PathPrefix), all
// lower (pathprefix), all upper (PATHPREFIX), and title case (Pathprefix). No others.
bool spelled_as(std::string_view canonical, std::string_view name) {
  if (name == canonical || name.size() != canonical.size()) return name == canonical;
  bool lower = true, upper = true, title = true;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(canonical[i]);
    const char lo = static_cast<char>(std::tolower(c));
    const char up = static_cast<char>(std::toupper(c));
    lower = lower && name[i] == lo;
    upper = upper && name[i] == up;
    title = title && name[i] == (i == 0 ? up : lo);
  }
  return lower || upper || title;
}


// ---------------------------------------------------------------------------------------------
// The HTTP matchers over the shared grammar (expr.h), compiled as they are read.

struct MatcherSpec {
  std::string_view name;
  Kind kind;
  int min_args;
  int max_args;
};

constexpr MatcherSpec kMatchers[] = {
    {"Host", Kind::Host, 1, 1},
    {"HostRegexp", Kind::HostRegexp, 1, 1},
    {"Path", Kind::Path, 1, 1},
    {"PathPrefix", Kind::PathPrefix, 1, 1},
    {"PathRegexp", Kind::PathRegexp, 1, 1},
    {"Method", Kind::Method, 1, 1},
    {"Header", Kind::Header, 2, 2},
    {"HeaderRegexp", Kind::HeaderRegexp, 2, 2},
    {"Query", Kind::Query, 1, 2},
    {"QueryRegexp", Kind::QueryRegexp, 1, 2},
    {"ClientIP", Kind::ClientIP, 1, 1},
};

// The HTTP matchers for rules::parse_expression (expr.h): matchers compiled as they are read.
class HttpLang {
 public:
  using Node = Rule::Node;
  using NodeResult = Result<std::unique_ptr<Node>>;
  static constexpr const char* kExample = "Host(`example.com`)";

  static std::unique_ptr<Node> combine(Op op, std::unique_ptr<Node> a, std::unique_ptr<Node> b) {
    auto n = std::make_unique<Node>();
    n->kind = op == Op::And ? Kind::And : op == Op::Or ? Kind::Or : Kind::Not;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }

  bool uses_path = false;
  bool uses_query = false;

  Error check_name(const std::string& name, std::size_t col) const {
    if (spec_of(name) != nullptr) return Error{};
    std::string msg = "unknown matcher " + name;
    for (const auto& m : kMatchers) {
      if (iequal(m.name, name)) {
        msg += " (write " + std::string(m.name) + ", or all lower, all upper or only its " +
               "first letter upper, as Traefik accepts)";
      }
    }
    if (name == "HostHeader" || name == "HostSNI") msg += " (not an HTTP v3 matcher)";
    return error_at(col, msg);
  }

  NodeResult matcher(const std::string& name, std::size_t col, std::vector<std::string>& args) {
    const MatcherSpec* spec = spec_of(name);
    if (static_cast<int>(args.size()) < spec->min_args ||
        static_cast<int>(args.size()) > spec->max_args) {
      std::string want =
          spec->min_args == spec->max_args
              ? std::to_string(spec->min_args)
              : std::to_string(spec->min_args) + " or " + std::to_string(spec->max_args);
      std::string msg = name + " takes " + want + " value" + (want == "1" ? "" : "s") + ", got " +
                        std::to_string(args.size());
      if (spec->kind == Kind::Host || spec->kind == Kind::PathPrefix || spec->kind == Kind::Path) {
        msg += " (v3 syntax: combine values with ||, e.g. Host(`a`) || Host(`b`))";
      }
      return error_at(col, msg);
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (args[i].empty()) {  // Traefik refuses an empty value for every matcher
        return error_at(col, name + ": value " + std::to_string(i + 1) + " is empty");
      }
    }
    auto node = std::make_unique<Node>();
    node->kind = spec->kind;
    if (auto e = compile(*node, name, col, args); !e.message.empty()) return e;
    return node;
  }

 private:
  Error compile(Node& n, const std::string& name, std::size_t col,
                const std::vector<std::string>& args) {
    auto err = [&](const std::string& m) {
      return Error{"column " + std::to_string(col) + ": " + name + ": " + m};
    };
    auto regex = [&](const std::string& pattern) -> Error {
      re2::RE2::Options opts;
      opts.set_log_errors(false);
      n.re = std::make_unique<re2::RE2>(pattern, opts);
      if (!n.re->ok()) return err("invalid regexp `" + pattern + "`: " + n.re->error());
      return Error{};
    };
    n.s1 = args[0];
    if (args.size() > 1) n.s2 = args[1];
    switch (n.kind) {
      case Kind::Host: {
        if (n.s1.empty()) return err("empty host");
        for (char& c : n.s1) {
          if (static_cast<unsigned char>(c) >= 0x80) return err("non-ASCII characters in host");
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (n.s1 == "*") {  // every host, even none (Traefik)
          n.kind = Kind::HostAny;
          return Error{};
        }
        if (n.s1.size() > 1 && n.s1.back() == '.') n.s1.pop_back();
        // An IPv6 literal may come with or without brackets; requests' hosts have none.
        if (n.s1.size() > 2 && n.s1.front() == '[' && n.s1.back() == ']') {
          n.s1 = n.s1.substr(1, n.s1.size() - 2);
        }
        if (n.s1.front() == '*') {
          // `*.example.com`: one label, any, in front of example.com (Traefik's wildcard).
          if (n.s1.size() < 3 || n.s1[1] != '.' || n.s1.find('*', 1) != std::string::npos) {
            return err("wildcard `" + n.s1 + "`: write `*` or `*.domain`");
          }
          n.kind = Kind::HostWildcard;
          n.s1.erase(0, 1);
          return Error{};
        }
        if (n.s1.find('*') != std::string::npos) {
          return err("wildcard `" + n.s1 + "`: only a leading `*.` is allowed");
        }
        return Error{};
      }
      case Kind::HostRegexp:
        if (n.s1.empty()) return err("empty regexp");
        return regex(n.s1);
      case Kind::Path:
      case Kind::PathPrefix:
        uses_path = true;
        if (n.s1.empty() || n.s1.front() != '/')
          return err("path `" + n.s1 + "` must start with /");
        return Error{};
      case Kind::PathRegexp:
        uses_path = true;
        if (n.s1.empty()) return err("empty regexp");
        return regex(n.s1);
      case Kind::Method:
        for (char& c : n.s1) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (n.s1.empty()) return err("empty method");
        return Error{};
      case Kind::Header:
        if (n.s1.empty()) return err("empty header name");
        return Error{};
      case Kind::HeaderRegexp:
        if (n.s1.empty()) return err("empty header name");
        if (n.s2.empty()) return err("empty regexp");
        return regex(n.s2);
      case Kind::Query:
        uses_query = true;
        return Error{};
      case Kind::QueryRegexp:
        uses_query = true;
        if (args.size() == 1) {
          n.kind = Kind::Query;  // one argument: same as Query (Traefik)
          return Error{};
        }
        return regex(n.s2);
      case Kind::ClientIP: {
        std::string addr = n.s1;
        unsigned max = 0;
        bool has_prefix = false;
        if (auto slash = addr.find('/'); slash != std::string::npos) {
          std::string p = addr.substr(slash + 1);
          addr.resize(slash);
          if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), ::isdigit)) {
            return err("invalid CIDR `" + n.s1 + "`");
          }
          n.prefix = static_cast<unsigned>(std::stoi(p));
          has_prefix = true;
        }
        boost::system::error_code ec;
        n.net = ip::make_address(addr, ec);
        if (ec) return err("invalid IP or CIDR `" + n.s1 + "`");
        max = n.net.is_v4() ? 32 : 128;
        if (!has_prefix) n.prefix = max;
        if (n.prefix > max) return err("prefix longer than the address in `" + n.s1 + "`");
        return Error{};
      }
      default:
        return err("internal: not a matcher");
    }
  }

  static const MatcherSpec* spec_of(const std::string& name) {
    const MatcherSpec* spec = nullptr;
    for (const auto& m : kMatchers) {
      if (spelled_as(m.name, name)) spec = &m;
    }
    return spec;
  }
};

// Hosts the node can only match, or false when it can match any host.
bool pinned(const Node& n, std::vector<std::string>& out) {
  switch (n.kind) {
    case Kind::Host:
      out.push_back(n.s1);
      return true;
    case Kind::And: {
      std::vector<std::string> a, b;
      if (pinned(*n.a, a)) {
        out.insert(out.end(), a.begin(), a.end());
        return true;
      }
      if (pinned(*n.b, b)) {
        out.insert(out.end(), b.begin(), b.end());
        return true;
      }
      return false;
    }
    case Kind::Or: {
      std::vector<std::string> a, b;
      if (!pinned(*n.a, a) || !pinned(*n.b, b)) return false;
      out.insert(out.end(), a.begin(), a.end());
      out.insert(out.end(), b.begin(), b.end());
      return true;
    }
    default:
      return false;
  }
}

void collect_host_names(const Node& n, std::vector<std::string>& out) {
  if (n.kind == Kind::Host) out.push_back(n.s1);
  if (n.kind == Kind::HostWildcard) out.push_back("*" + n.s1);
  if (n.a) collect_host_names(*n.a, out);
  if (n.b) collect_host_names(*n.b, out);
}

bool in_network(const ip::address& net, unsigned prefix, ip::address peer) {
  if (peer.is_v6() && peer.to_v6().is_v4_mapped() && net.is_v4()) {
    peer = ip::make_address_v4(ip::v4_mapped, peer.to_v6());
  }
  if (peer.is_v4() != net.is_v4()) return false;
  auto compare = [&](const auto& x, const auto& y) {
    unsigned bits = prefix;
    for (std::size_t i = 0; i < x.size() && bits > 0; ++i) {
      unsigned take = std::min(bits, 8u);
      unsigned char mask = static_cast<unsigned char>(0xff << (8 - take));
      if ((x[i] & mask) != (y[i] & mask)) return false;
      bits -= take;
    }
    return true;
  };
  if (peer.is_v4()) return compare(peer.to_v4().to_bytes(), net.to_v4().to_bytes());
  return compare(peer.to_v6().to_bytes(), net.to_v6().to_bytes());
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Query component decoding as Go's url.ParseQuery: '+' is a space, %XX escapes (a malformed
// escape is kept as it is).
std::size_t query_decode(std::string_view in, char* out) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    int h = -1, l = -1;
    if (in[i] == '%' && i + 2 < in.size()) {
      h = hex_digit(in[i + 1]);
      l = hex_digit(in[i + 2]);
    }
    if (in[i] == '+') {
      out[n++] = ' ';
    } else if (h >= 0 && l >= 0) {
      out[n++] = static_cast<char>(h * 16 + l);
      i += 2;
    } else {
      out[n++] = in[i];
    }
  }
  return n;
}

// Calls f(key, value) for each decoded pair; stops when f returns true. Pairs longer than the
// scratch space are skipped.
template <typename F>
bool any_query_pair(std::string_view query, F&& f) {
  std::array<char, 1024> kbuf, vbuf;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    std::string_view k = pair.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (k.size() > kbuf.size() || v.size() > vbuf.size()) continue;
    std::size_t kn = query_decode(k, kbuf.data());
    std::size_t vn = query_decode(v, vbuf.data());
    if (f(std::string_view(kbuf.data(), kn), std::string_view(vbuf.data(), vn))) return true;
  }
  return false;
}

bool eval(const Node& n, const Request& r) {
  switch (n.kind) {
    case Kind::And:
      return eval(*n.a, r) && eval(*n.b, r);
    case Kind::Or:
      return eval(*n.a, r) || eval(*n.b, r);
    case Kind::Not:
      return !eval(*n.a, r);
    case Kind::Host:
      return r.host == n.s1;
    case Kind::HostWildcard: {
      const std::size_t dot = r.host.find('.');
      return dot != std::string_view::npos && r.host.substr(dot) == n.s1;
    }
    case Kind::HostAny:
      return true;
    case Kind::HostRegexp:
      return re2::RE2::PartialMatch(re2::StringPiece(r.host.data(), r.host.size()), *n.re);
    case Kind::Path:
      return r.path == n.s1;
    case Kind::PathPrefix:
      return r.path.substr(0, n.s1.size()) == n.s1;
    case Kind::PathRegexp:
      return re2::RE2::PartialMatch(re2::StringPiece(r.path.data(), r.path.size()), *n.re);
    case Kind::Method:
      return r.method == n.s1;
    case Kind::Header:
      for (const auto& h : r.headers) {
        if (iequal(h.name, n.s1) && h.value == n.s2) return true;
      }
      return false;
    case Kind::HeaderRegexp:
      for (const auto& h : r.headers) {
        if (iequal(h.name, n.s1) &&
            re2::RE2::PartialMatch(re2::StringPiece(h.value.data(), h.value.size()), *n.re)) {
          return true;
        }
      }
      return false;
    case Kind::Query:
      return any_query_pair(
          r.query, [&](std::string_view k, std::string_view v) { return k == n.s1 && v == n.s2; });
    case Kind::QueryRegexp:
      return any_query_pair(r.query, [&](std::string_view k, std::string_view v) {
        return k == n.s1 && re2::RE2::PartialMatch(re2::StringPiece(v.data(), v.size()), *n.re);
      });
    case Kind::ClientIP:
      return in_network(n.net, n.prefix, r.client_ip);
  }
  return false;
}

}  // namespace

Rule::Rule() = default;
Rule::~Rule() = default;
Rule::Rule(Rule&&) noexcept = default;
Rule& Rule::operator=(Rule&&) noexcept = default;

bool Rule::matches(const Request& req) const { return root_ && eval(*root_, req); }

Result<Rule> parse(std::string_view text) {
  HttpLang lang;
  auto root = parse_expression(text, lang);
  if (!root) return root.error();
  Rule rule;
  rule.root_ = std::move(*root);
  rule.uses_path_ = lang.uses_path;
  rule.uses_query_ = lang.uses_query;
  collect_host_names(*rule.root_, rule.host_names_);
  std::sort(rule.host_names_.begin(), rule.host_names_.end());
  rule.host_names_.erase(std::unique(rule.host_names_.begin(), rule.host_names_.end()),
                         rule.host_names_.end());
  std::vector<std::string> hosts;
  if (pinned(*rule.root_, hosts)) {
    std::sort(hosts.begin(), hosts.end());
    hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
    rule.pinned_hosts_ = std::move(hosts);
  }
  return rule;
}

std::size_t percent_decode(std::string_view in, char* out) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out[n++] = in[i];
      continue;
    }
    if (i + 2 >= in.size()) return std::string_view::npos;
    int h = hex_digit(in[i + 1]), l = hex_digit(in[i + 2]);
    if (h < 0 || l < 0) return std::string_view::npos;
    out[n++] = static_cast<char>(h * 16 + l);
    i += 2;
  }
  return n;
}

}  // namespace portier::rules
