#include "proxy/middlewares/breaker_expr.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>

namespace portier::proxy::mw {
namespace {

using Node = Expression::Node;
using Operand = Expression::Operand;
using Cmp = Expression::Cmp;

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<Node> parse() {
    auto n = parse_or();
    if (!n) return n;
    skip_ws();
    if (i_ != s_.size()) return fail("unexpected `" + std::string(s_.substr(i_, 1)) + "`");
    return n;
  }

 private:
  Error fail(const std::string& what) const {
    return Error{"offset " + std::to_string(i_) + ": " + what};
  }
  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(std::string_view tok) {
    skip_ws();
    if (s_.substr(i_, tok.size()) != tok) return false;
    i_ += tok.size();
    return true;
  }

  Result<Node> parse_list(Node::Kind kind, std::string_view op) {
    auto first = kind == Node::Kind::Or ? parse_list(Node::Kind::And, "&&") : parse_primary();
    if (!first) return first;
    Node list;
    list.kind = kind;
    list.children.push_back(std::move(*first));
    while (eat(op)) {
      auto next = kind == Node::Kind::Or ? parse_list(Node::Kind::And, "&&") : parse_primary();
      if (!next) return next;
      list.children.push_back(std::move(*next));
    }
    if (list.children.size() == 1) return std::move(list.children.front());
    return list;
  }
  Result<Node> parse_or() { return parse_list(Node::Kind::Or, "||"); }

  Result<Node> parse_primary() {
    skip_ws();
    if (eat("(")) {
      auto n = parse_or();
      if (!n) return n;
      if (!eat(")")) return fail("expected `)`");
      return n;
    }
    auto lhs = parse_operand();
    if (!lhs) return lhs.error();
    skip_ws();
    static constexpr std::pair<std::string_view, Cmp> kOps[] = {{">=", Cmp::Ge}, {"<=", Cmp::Le},
                                                                {"==", Cmp::Eq}, {"!=", Cmp::Ne},
                                                                {">", Cmp::Gt},  {"<", Cmp::Lt}};
    Node n;
    bool found = false;
    for (auto [tok, cmp] : kOps) {
      if (eat(tok)) {
        n.cmp = cmp;
        found = true;
        break;
      }
    }
    if (!found) return fail("expected a comparison (> < >= <= == !=)");
    auto rhs = parse_operand();
    if (!rhs) return rhs.error();
    n.lhs = *lhs;
    n.rhs = *rhs;
    return n;
  }

  std::optional<double> number() {
    skip_ws();
    size_t start = i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.')) {
      ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    if (i_ == start) return std::nullopt;
    double v = 0;
    auto [p, ec] = std::from_chars(s_.data() + start, s_.data() + i_, v);
    if (ec != std::errc() || p != s_.data() + i_ || !std::isfinite(v)) {
      i_ = start;
      return std::nullopt;
    }
    return v;
  }

  Result<Operand> parse_operand() {
    skip_ws();
    size_t start = i_;
    Operand o;
    if (auto v = number()) {
      o.number = *v;
      return o;
    }
    if (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.')) {
      return fail("invalid number");
    }
    while (i_ < s_.size() && std::isalnum(static_cast<unsigned char>(s_[i_]))) ++i_;
    std::string_view name = s_.substr(start, i_ - start);
    size_t arity = 0;
    if (name == "NetworkErrorRatio") {
      o.kind = Operand::Kind::NetworkErrorRatio;
    } else if (name == "ResponseCodeRatio") {
      o.kind = Operand::Kind::ResponseCodeRatio;
      arity = 4;
    } else if (name == "LatencyAtQuantileMS") {
      o.kind = Operand::Kind::LatencyAtQuantileMS;
      arity = 1;
    } else if (name == "RequestThreshold") {
      o.kind = Operand::Kind::RequestThreshold;
    } else {
      i_ = start;
      if (name.empty()) return fail("expected a number or a function");
      return fail("unknown function `" + std::string(name) + "`");
    }
    if (!eat("(")) return fail("expected `(`");
    std::vector<double> args;
    skip_ws();
    if (!eat(")")) {
      for (;;) {
        size_t at = i_;
        auto v = number();
        if (!v) return fail("expected a number");
        if (o.kind == Operand::Kind::ResponseCodeRatio && (*v != std::floor(*v) || *v > 1e6)) {
          i_ = at;
          return fail("expected an integer status code");
        }
        args.push_back(*v);
        if (eat(")")) break;
        if (!eat(",")) return fail("expected `,` or `)`");
      }
    }
    if (args.size() != arity) {
      return fail(std::string(name) + " takes " + std::to_string(arity) + " argument(s), got " +
                  std::to_string(args.size()));
    }
    if (o.kind == Operand::Kind::LatencyAtQuantileMS) {
      if (args[0] < 0 || args[0] > 100) return fail("the quantile must be in 0..100");
      o.number = args[0];
    }
    for (size_t k = 0; o.kind == Operand::Kind::ResponseCodeRatio && k < 4; ++k) {
      o.codes[k] = static_cast<int>(args[k]);
    }
    return o;
  }

  std::string_view s_;
  size_t i_ = 0;
};

double value(const Operand& o, const Metrics& m) {
  switch (o.kind) {
    case Operand::Kind::Number:
      return o.number;
    case Operand::Kind::NetworkErrorRatio:
      return m.network_error_ratio();
    case Operand::Kind::ResponseCodeRatio:
      return m.response_code_ratio(o.codes[0], o.codes[1], o.codes[2], o.codes[3]);
    case Operand::Kind::LatencyAtQuantileMS:
      return static_cast<double>(m.latency_at_quantile_ms(o.number));
    case Operand::Kind::RequestThreshold:
      return static_cast<double>(m.total_count());
  }
  return 0;
}

bool eval_node(const Node& n, const Metrics& m) {
  switch (n.kind) {
    case Node::Kind::Or:
      for (const Node& c : n.children) {
        if (eval_node(c, m)) return true;
      }
      return false;
    case Node::Kind::And:
      for (const Node& c : n.children) {
        if (!eval_node(c, m)) return false;
      }
      return true;
    case Node::Kind::Compare:
      break;
  }
  double a = value(n.lhs, m);
  double b = value(n.rhs, m);
  switch (n.cmp) {
    case Cmp::Gt:
      return a > b;
    case Cmp::Lt:
      return a < b;
    case Cmp::Ge:
      return a >= b;
    case Cmp::Le:
      return a <= b;
    case Cmp::Eq:
      return a == b;
    case Cmp::Ne:
      return a != b;
  }
  return false;
}

std::string num(double v) {
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, p);
}

std::string operand_string(const Operand& o) {
  switch (o.kind) {
    case Operand::Kind::Number:
      return num(o.number);
    case Operand::Kind::NetworkErrorRatio:
      return "NetworkErrorRatio()";
    case Operand::Kind::RequestThreshold:
      return "RequestThreshold()";
    case Operand::Kind::LatencyAtQuantileMS:
      return "LatencyAtQuantileMS(" + num(o.number) + ")";
    case Operand::Kind::ResponseCodeRatio:
      return "ResponseCodeRatio(" + std::to_string(o.codes[0]) + ", " + std::to_string(o.codes[1]) +
             ", " + std::to_string(o.codes[2]) + ", " + std::to_string(o.codes[3]) + ")";
  }
  return "?";
}

std::string node_string(const Node& n) {
  static constexpr std::string_view kCmp[] = {">", "<", ">=", "<=", "==", "!="};
  if (n.kind == Node::Kind::Compare) {
    return "(" + operand_string(n.lhs) + " " + std::string(kCmp[static_cast<int>(n.cmp)]) + " " +
           operand_string(n.rhs) + ")";
  }
  std::string out = "(";
  for (size_t i = 0; i < n.children.size(); ++i) {
    if (i > 0) out += n.kind == Node::Kind::Or ? " || " : " && ";
    out += node_string(n.children[i]);
  }
  return out + ")";
}

}  // namespace

Result<Expression> Expression::parse(std::string_view text) {
  auto root = Parser(text).parse();
  if (!root) return root.error();
  return Expression(std::move(*root));
}

bool Expression::eval(const Metrics& m) const { return eval_node(*root_, m); }

std::string Expression::to_string() const { return node_string(*root_); }

}  // namespace portier::proxy::mw
