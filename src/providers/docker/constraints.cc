#include "providers/docker/constraints.h"

#include <re2/re2.h>

#include <cctype>

namespace portier::providers::docker {

struct Constraints::Node {
  enum class Kind { And, Or, Not, Label, LabelRegex } kind;
  std::shared_ptr<const Node> a, b;
  std::string key, value;
  std::shared_ptr<re2::RE2> re;
};

namespace {

using Node = Constraints::Node;

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  Result<std::shared_ptr<const Node>> parse() {
    auto n = parse_or();
    if (!n) return n;
    skip();
    if (i_ != s_.size()) return fail("expected && or || or the end");
    return n;
  }

 private:
  using R = Result<std::shared_ptr<const Node>>;
  void skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(const char* t) {
    skip();
    std::string_view tv(t);
    if (s_.compare(i_, tv.size(), tv) == 0) {
      i_ += tv.size();
      return true;
    }
    return false;
  }
  Error fail(const std::string& what) const {
    return Error{"constraints: column " + std::to_string(i_ + 1) + ": " + what};
  }
  static std::shared_ptr<const Node> bin(Node::Kind k, std::shared_ptr<const Node> a,
                                         std::shared_ptr<const Node> b) {
    auto n = std::make_shared<Node>();
    n->kind = k;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }
  R parse_or() {
    auto l = parse_and();
    if (!l) return l;
    auto node = *l;
    while (eat("||")) {
      auto r = parse_and();
      if (!r) return r;
      node = bin(Node::Kind::Or, node, *r);
    }
    return node;
  }
  R parse_and() {
    auto l = parse_unary();
    if (!l) return l;
    auto node = *l;
    while (eat("&&")) {
      auto r = parse_unary();
      if (!r) return r;
      node = bin(Node::Kind::And, node, *r);
    }
    return node;
  }
  R parse_unary() {
    if (eat("!")) {
      auto inner = parse_unary();
      if (!inner) return inner;
      return bin(Node::Kind::Not, *inner, nullptr);
    }
    if (eat("(")) {
      auto inner = parse_or();
      if (!inner) return inner;
      if (!eat(")")) return fail("expected )");
      return inner;
    }
    Node::Kind kind;
    if (eat("LabelRegex(")) {
      kind = Node::Kind::LabelRegex;
    } else if (eat("Label(")) {
      kind = Node::Kind::Label;
    } else {
      return fail("expected Label(`key`, `value`) or LabelRegex(`key`, `regexp`)");
    }
    auto key = string_arg();
    if (!key) return key.error();
    if (!eat(",")) return fail("expected , between the key and the value");
    auto value = string_arg();
    if (!value) return value.error();
    if (!eat(")")) return fail("expected )");
    auto n = std::make_shared<Node>();
    n->kind = kind;
    n->key = *key;
    n->value = *value;
    if (kind == Node::Kind::LabelRegex) {
      re2::RE2::Options o;
      o.set_log_errors(false);
      n->re = std::make_shared<re2::RE2>(n->value, o);
      if (!n->re->ok()) return fail("invalid regexp `" + n->value + "`: " + n->re->error());
    }
    return std::shared_ptr<const Node>(n);
  }
  Result<std::string> string_arg() {
    skip();
    if (i_ >= s_.size() || (s_[i_] != '`' && s_[i_] != '"')) {
      return Error{fail("expected a `quoted` value").message};
    }
    char q = s_[i_];
    std::size_t end = s_.find(q, i_ + 1);
    if (end == std::string::npos) return Error{fail("unterminated string").message};
    std::string v = s_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    return Result<std::string>(boost::system::in_place_value, std::move(v));
  }

  const std::string& s_;
  std::size_t i_ = 0;
};

bool eval(const Node& n, const std::map<std::string, std::string>& labels) {
  switch (n.kind) {
    case Node::Kind::And:
      return eval(*n.a, labels) && eval(*n.b, labels);
    case Node::Kind::Or:
      return eval(*n.a, labels) || eval(*n.b, labels);
    case Node::Kind::Not:
      return !eval(*n.a, labels);
    case Node::Kind::Label: {
      auto it = labels.find(n.key);
      return it != labels.end() && it->second == n.value;
    }
    case Node::Kind::LabelRegex: {
      auto it = labels.find(n.key);
      return it != labels.end() && re2::RE2::PartialMatch(it->second, *n.re);
    }
  }
  return false;
}

}  // namespace

bool Constraints::matches(const std::map<std::string, std::string>& labels) const {
  return !root_ || eval(*root_, labels);
}

Result<Constraints> parse_constraints(const std::string& text) {
  Constraints c;
  bool blank = text.find_first_not_of(" \t") == std::string::npos;
  if (blank) return c;
  Parser p(text);
  auto root = p.parse();
  if (!root) return root.error();
  c.root_ = *root;
  return c;
}

}  // namespace portier::providers::docker
