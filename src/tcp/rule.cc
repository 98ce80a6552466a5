#include "tcp/rule.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "proxy/middlewares/ip_strategy.h"
#include "rules/expr.h"

namespace portier::tcp {

enum class Kind { And, Or, Not, HostSni, HostSniAll, HostSniRegexp, ClientIp, Alpn };

struct Rule::Node {
  Kind kind;
  std::unique_ptr<Node> a, b;
  std::string value;  // HostSni: lower case, "*." prefix kept for wildcards; Alpn: the protocol
  std::unique_ptr<re2::RE2> re;
  std::optional<proxy::mw::IpMatcher> ips;
};

namespace {

using Node = Rule::Node;

// The TCP matchers for rules::parse_expression (rules/expr.h), Traefik's pkg/muxer/tcp.
class TcpLang {
 public:
  using Node = Rule::Node;
  using NodeResult = Result<std::unique_ptr<Node>>;
  static constexpr const char* kExample = "HostSNI(`example.com`)";

  static std::unique_ptr<Node> combine(rules::Op op, std::unique_ptr<Node> a,
                                       std::unique_ptr<Node> b = nullptr) {
    return node(op == rules::Op::And ? Kind::And : op == rules::Op::Or ? Kind::Or : Kind::Not,
                std::move(a), std::move(b));
  }

  Error check_name(const std::string& name, std::size_t col) const {
    if (kind_of(name)) return Error{};
    std::string m = "unknown matcher " + name + " (TCP rules: HostSNI, HostSNIRegexp, ClientIP, ALPN)";
    if (name == "Host" || name == "PathPrefix" || name == "Path" || name == "HostRegexp") {
      m += "; " + name + " is an HTTP matcher";
    }
    return rules::error_at(col, m);
  }

  NodeResult matcher(const std::string& name, std::size_t col, std::vector<std::string>& args) {
    auto err = [&](const std::string& m) { return rules::error_at(col, m); };
    if (args.size() != 1) {
      return err(name + " takes 1 value, got " + std::to_string(args.size()) +
                 " (v3 syntax: combine values with ||)");
    }
    const Kind kind = *kind_of(name);
    std::string v = args[0];
    if (v.empty()) return err(name + ": empty value");
    auto n = node(kind);
    switch (kind) {
      case Kind::HostSni: {
        has_host_sni = true;
        if (v == "*") {
          n->kind = Kind::HostSniAll;
          break;
        }
        // Traefik's hostOrIP: ^(\*\.)?[[:word:]\.\-\:]+$
        std::string_view rest = v;
        if (rest.starts_with("*.")) rest.remove_prefix(2);
        const bool ok = !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
                 c == ':';
        });
        if (!ok) return err("HostSNI: `" + v + "` is not a valid host name");
        for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (v.back() == '.') v.pop_back();
        host_sni.push_back(v);
        n->value = std::move(v);
        break;
      }
      case Kind::HostSniRegexp: {
        for (char c : v) {
          if (static_cast<unsigned char>(c) >= 0x80) {
            return err("HostSNIRegexp: `" + v + "` is not ASCII");
          }
        }
        RE2::Options o;
        o.set_log_errors(false);
        n->re = std::make_unique<re2::RE2>(v, o);
        if (!n->re->ok()) return err("HostSNIRegexp: " + n->re->error());
        break;
      }
      case Kind::ClientIp: {
        auto m = proxy::mw::IpMatcher::parse(std::span<const std::string>(&v, 1));
        if (!m) return err("ClientIP: " + m.error().message);
        n->ips = std::move(*m);
        break;
      }
      case Kind::Alpn:
        if (v == "acme-tls/1") return err("ALPN: `acme-tls/1` is not allowed");
        n->value = std::move(v);
        break;
      default:
        break;
    }
    return n;
  }

  std::vector<std::string> host_sni;
  bool has_host_sni = false;

 private:
  static std::optional<Kind> kind_of(const std::string& name) {
    static const std::pair<const char*, Kind> kNames[] = {{"HostSNI", Kind::HostSni},
                                                          {"HostSNIRegexp", Kind::HostSniRegexp},
                                                          {"ClientIP", Kind::ClientIp},
                                                          {"ALPN", Kind::Alpn}};
    for (const auto& [n, k] : kNames) {
      if (name == n) return k;
    }
    return std::nullopt;
  }
  static std::unique_ptr<Node> node(Kind k, std::unique_ptr<Node> a = nullptr,
                                    std::unique_ptr<Node> b = nullptr) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }
};

// `*.example.com` matches a name whose first label is anything and the rest is example.com
// (Traefik's DomainMatchHostExpression).
bool host_matches(std::string_view sni, std::string_view expr) {
  if (expr.starts_with("*")) {
    const std::size_t dot = sni.find('.');
    if (dot == std::string_view::npos) return expr == "*";
    return expr.substr(1) == sni.substr(dot);
  }
  return sni == expr;
}

bool eval(const Node& n, const ConnInfo& c) {
  switch (n.kind) {
    case Kind::And:
      return eval(*n.a, c) && eval(*n.b, c);
    case Kind::Or:
      return eval(*n.a, c) || eval(*n.b, c);
    case Kind::Not:
      return !eval(*n.a, c);
    case Kind::HostSniAll:
      return true;
    case Kind::HostSni:
      return !c.sni.empty() && host_matches(c.sni, n.value);
    case Kind::HostSniRegexp:
      return RE2::PartialMatch(re2::StringPiece(c.sni.data(), c.sni.size()), *n.re);
    case Kind::ClientIp:
      return n.ips->contains(c.client);
    case Kind::Alpn:
      return std::find(c.alpn.begin(), c.alpn.end(), n.value) != c.alpn.end();
  }
  return false;
}

}  // namespace

Rule::Rule() = default;
Rule::~Rule() = default;
Rule::Rule(Rule&&) noexcept = default;
Rule& Rule::operator=(Rule&&) noexcept = default;

bool Rule::matches(const ConnInfo& conn) const { return root_ && eval(*root_, conn); }

Result<Rule> parse_rule(std::string_view text) {
  TcpLang lang;
  auto root = rules::parse_expression(text, lang);
  if (!root) return root.error();
  Rule r;
  r.catch_all_ = (*root)->kind == Kind::HostSniAll;
  r.root_ = std::move(*root);
  std::sort(lang.host_sni.begin(), lang.host_sni.end());
  lang.host_sni.erase(std::unique(lang.host_sni.begin(), lang.host_sni.end()), lang.host_sni.end());
  r.host_sni_ = std::move(lang.host_sni);
  r.has_host_sni_ = lang.has_host_sni;
  return r;
}

}  // namespace portier::tcp
