#include "tcp/rule.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "proxy/middlewares/ip_strategy.h"

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
constexpr int kMaxNesting = 100;
constexpr int kMaxMatchers = 1000;

enum class Tok { Ident, String, LParen, RParen, And, Or, Not, Comma, End };

struct Token {
  Tok kind = Tok::End;
  std::string text;
  std::size_t column = 0;
};

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<std::unique_ptr<Node>> parse() {
    if (auto r = advance(); !r) return r.error();
    if (cur_.kind == Tok::End) return Error{"empty rule"};
    auto n = parse_or();
    if (!n) return n;
    if (cur_.kind != Tok::End) return expected("&&, || or the end of the rule");
    return n;
  }
  std::vector<std::string> host_sni;
  bool has_host_sni = false;

 private:
  using NodeResult = Result<std::unique_ptr<Node>>;

  Error err(std::size_t col, const std::string& m) const {
    return Error{"column " + std::to_string(col) + ": " + m};
  }
  Error expected(const std::string& what) const {
    return err(cur_.column, "expected " + what + ", got " +
                                (cur_.kind == Tok::End ? "the end of the rule" : "`" + cur_.text + "`"));
  }

  Result<bool> advance() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    cur_ = Token{Tok::End, "", i_ + 1};
    if (i_ >= s_.size()) return true;
    const char c = s_[i_];
    auto two = [&](char x) { return i_ + 1 < s_.size() && s_[i_ + 1] == x; };
    if (c == '(' || c == ')' || c == ',' || c == '!') {
      cur_.kind = c == '(' ? Tok::LParen : c == ')' ? Tok::RParen : c == ',' ? Tok::Comma : Tok::Not;
      cur_.text = std::string(1, c);
      ++i_;
      return true;
    }
    if ((c == '&' && two('&')) || (c == '|' && two('|'))) {
      cur_.kind = c == '&' ? Tok::And : Tok::Or;
      cur_.text = std::string(2, c);
      i_ += 2;
      return true;
    }
    if (c == '`') {
      const std::size_t end = s_.find('`', i_ + 1);
      if (end == std::string_view::npos) return err(i_ + 1, "unterminated `string`");
      cur_.kind = Tok::String;
      cur_.text = std::string(s_.substr(i_ + 1, end - i_ - 1));
      i_ = end + 1;
      return true;
    }
    if (c == '"') {
      std::string out;
      std::size_t j = i_ + 1;
      for (;; ++j) {
        if (j >= s_.size()) return err(i_ + 1, "unterminated \"string\"");
        if (s_[j] == '"') break;
        if (s_[j] == '\\') {
          if (++j >= s_.size()) return err(i_ + 1, "unterminated \"string\"");
          const char e = s_[j];
          if (e == '\\' || e == '"') {
            out.push_back(e);
          } else if (e == 'n') {
            out.push_back('\n');
          } else if (e == 't') {
            out.push_back('\t');
          } else {
            return err(j, "unsupported escape \\" + std::string(1, e) + " (use a `raw string`)");
          }
          continue;
        }
        out.push_back(s_[j]);
      }
      cur_.kind = Tok::String;
      cur_.text = std::move(out);
      i_ = j + 1;
      return true;
    }
    if (std::isalpha(static_cast<unsigned char>(c))) {
      std::size_t j = i_;
      while (j < s_.size() && std::isalnum(static_cast<unsigned char>(s_[j]))) ++j;
      cur_.kind = Tok::Ident;
      cur_.text = std::string(s_.substr(i_, j - i_));
      i_ = j;
      return true;
    }
    return err(i_ + 1, "unexpected character `" + std::string(1, c) + "`");
  }

  static std::unique_ptr<Node> node(Kind k, std::unique_ptr<Node> a = nullptr,
                                    std::unique_ptr<Node> b = nullptr) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }

  NodeResult parse_or() {
    auto left = parse_and();
    if (!left) return left;
    auto n = std::move(*left);
    while (cur_.kind == Tok::Or) {
      if (auto r = advance(); !r) return r.error();
      auto right = parse_and();
      if (!right) return right;
      n = node(Kind::Or, std::move(n), std::move(*right));
    }
    return n;
  }

  NodeResult parse_and() {
    auto left = parse_unary();
    if (!left) return left;
    auto n = std::move(*left);
    while (cur_.kind == Tok::And) {
      if (auto r = advance(); !r) return r.error();
      auto right = parse_unary();
      if (!right) return right;
      n = node(Kind::And, std::move(n), std::move(*right));
    }
    return n;
  }

  NodeResult parse_unary() {
    if ((cur_.kind == Tok::Not || cur_.kind == Tok::LParen) && nesting_ >= kMaxNesting) {
      return err(cur_.column, "nested more than " + std::to_string(kMaxNesting) + " levels deep");
    }
    struct Level {
      int& n;
      explicit Level(int& v) : n(++v) {}
      ~Level() { --n; }
    } level(nesting_);
    if (cur_.kind == Tok::Not) {
      if (auto r = advance(); !r) return r.error();
      auto inner = parse_unary();
      if (!inner) return inner;
      return node(Kind::Not, std::move(*inner));
    }
    if (cur_.kind == Tok::LParen) {
      if (auto r = advance(); !r) return r.error();
      auto inner = parse_or();
      if (!inner) return inner;
      if (cur_.kind != Tok::RParen) return expected(")");
      if (auto r = advance(); !r) return r.error();
      return inner;
    }
    if (cur_.kind != Tok::Ident) return expected("a matcher such as HostSNI(`example.com`)");
    return parse_matcher();
  }

  NodeResult parse_matcher() {
    const std::size_t col = cur_.column;
    if (++matchers_ > kMaxMatchers) return err(col, "too many matchers in one rule");
    const std::string name = cur_.text;
    static const std::pair<const char*, Kind> kNames[] = {{"HostSNI", Kind::HostSni},
                                                          {"HostSNIRegexp", Kind::HostSniRegexp},
                                                          {"ClientIP", Kind::ClientIp},
                                                          {"ALPN", Kind::Alpn}};
    std::optional<Kind> kind;
    for (const auto& [n, k] : kNames) {
      if (name == n) kind = k;
    }
    if (!kind) {
      std::string m = "unknown matcher " + name + " (TCP rules: HostSNI, HostSNIRegexp, ClientIP, ALPN)";
      if (name == "Host" || name == "PathPrefix" || name == "Path" || name == "HostRegexp") {
        m += "; " + name + " is an HTTP matcher";
      }
      return err(col, m);
    }
    if (auto r = advance(); !r) return r.error();
    if (cur_.kind != Tok::LParen) return expected("( after " + name);
    std::vector<std::string> args;
    for (;;) {
      if (auto r = advance(); !r) return r.error();
      if (cur_.kind != Tok::String) return expected("a `string` argument to " + name);
      args.push_back(cur_.text);
      if (auto r = advance(); !r) return r.error();
      if (cur_.kind == Tok::Comma) continue;
      if (cur_.kind == Tok::RParen) break;
      return expected(", or ) in " + name + "(...)");
    }
    if (auto r = advance(); !r) return r.error();
    if (args.size() != 1) {
      return err(col, name + " takes 1 value, got " + std::to_string(args.size()) +
                          " (v3 syntax: combine values with ||)");
    }
    std::string v = args[0];
    if (v.empty()) return err(col, name + ": empty value");
    auto n = node(*kind);
    switch (*kind) {
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
        if (!ok) return err(col, "HostSNI: `" + v + "` is not a valid host name");
        for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (v.back() == '.') v.pop_back();
        host_sni.push_back(v);
        n->value = std::move(v);
        break;
      }
      case Kind::HostSniRegexp: {
        for (char c : v) {
          if (static_cast<unsigned char>(c) >= 0x80) {
            return err(col, "HostSNIRegexp: `" + v + "` is not ASCII");
          }
        }
        RE2::Options o;
        o.set_log_errors(false);
        n->re = std::make_unique<re2::RE2>(v, o);
        if (!n->re->ok()) return err(col, "HostSNIRegexp: " + n->re->error());
        break;
      }
      case Kind::ClientIp: {
        auto m = proxy::mw::IpMatcher::parse(std::span<const std::string>(&v, 1));
        if (!m) return err(col, "ClientIP: " + m.error().message);
        n->ips = std::move(*m);
        break;
      }
      case Kind::Alpn:
        if (v == "acme-tls/1") return err(col, "ALPN: `acme-tls/1` is not allowed");
        n->value = std::move(v);
        break;
      default:
        break;
    }
    return n;
  }

  std::string_view s_;
  std::size_t i_ = 0;
  Token cur_;
  int nesting_ = 0;
  int matchers_ = 0;
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
  Parser p(text);
  auto root = p.parse();
  if (!root) return root.error();
  Rule r;
  r.catch_all_ = (*root)->kind == Kind::HostSniAll;
  r.root_ = std::move(*root);
  std::sort(p.host_sni.begin(), p.host_sni.end());
  p.host_sni.erase(std::unique(p.host_sni.begin(), p.host_sni.end()), p.host_sni.end());
  r.host_sni_ = std::move(p.host_sni);
  r.has_host_sni_ = p.has_host_sni;
  return r;
}

}  // namespace portier::tcp
