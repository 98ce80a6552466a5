// The grammar both rule languages share, Traefik v3's: the HTTP rules (rules/rule.h) and the
// TCP rules (tcp/rule.h) differ only in their matchers, so this parser is generic over them.
//
//   rule    := or
//   or      := and ( "||" and )*
//   and     := unary ( "&&" unary )*
//   unary   := "!" unary | "(" or ")" | matcher
//   matcher := Name "(" string ( "," string )* ")"
//   string  := `raw` | "Go-style \"escaped\""
//
// A language is a class `Lang` with:
//   using Node = ...;  // its compiled tree
//   static std::unique_ptr<Node> combine(Op op, std::unique_ptr<Node> a, std::unique_ptr<Node> b);
//       // b is null for Op::Not
//   Error check_name(const std::string& name, std::size_t column);
//       // before the arguments are read: an empty Error when `name` is one of its matchers
//   Result<std::unique_ptr<Node>> matcher(const std::string& name, std::size_t column,
//                                         std::vector<std::string>& args);
//       // the arguments as written (at least one); checks their number and compiles
//   static constexpr const char* kExample;  // a matcher, for "expected a matcher such as ..."
//
// Bounded: nesting (`!` and `(`) stops at kMaxNesting levels and a rule at kMaxMatchers
// matchers, since parsing, matching and destroying recurse over the tree (found by
// tests/fuzz/rule_fuzz.cc: 200,000 `!` overflowed the stack). Errors say where ("column 12: ").
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace portier::rules {

enum class Op { And, Or, Not };

inline constexpr int kMaxNesting = 100;    // `!` and `(` inside one another
inline constexpr int kMaxMatchers = 1000;  // each && or || adds a level to the tree too

enum class Tok { Ident, String, LParen, RParen, Comma, And, Or, Not, End };

struct Token {
  Tok kind = Tok::End;
  std::string text;
  std::size_t column = 0;  // 1-based
};

// Tokens of a rule; strings come unquoted (Go's escapes \" \\ \n \t \r in "quoted" ones).
class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  Result<Token> next();

 private:
  Result<Token> quoted(std::size_t col);
  std::string_view s_;
  std::size_t i_ = 0;
};

Error error_at(std::size_t column, const std::string& message);

template <typename Lang>
class ExprParser {
 public:
  using Node = typename Lang::Node;
  using NodeResult = Result<std::unique_ptr<Node>>;

  ExprParser(std::string_view text, Lang& lang) : lex_(text), lang_(lang) {}

  NodeResult parse() {
    if (auto r = advance(); !r) return r.error();
    if (cur_.kind == Tok::End) return Error{"empty rule"};
    auto node = parse_or();
    if (!node) return node;
    if (cur_.kind != Tok::End) return expected("&&, || or the end of the rule");
    return node;
  }

 private:
  Result<bool> advance() {
    auto t = lex_.next();
    if (!t) return t.error();
    cur_ = std::move(*t);
    return true;
  }

  Error expected(const std::string& what) const {
    std::string got = cur_.kind == Tok::End ? "the end of the rule" : "`" + cur_.text + "`";
    return error_at(cur_.column, "expected " + what + ", got " + got);
  }

  // or := and ("||" and)*, and := unary ("&&" unary)*
  NodeResult parse_binary(Tok tok, Op op, NodeResult (ExprParser::*operand)()) {
    auto left = (this->*operand)();
    if (!left) return left;
    std::unique_ptr<Node> node = std::move(*left);
    while (cur_.kind == tok) {
      if (auto r = advance(); !r) return r.error();
      auto right = (this->*operand)();
      if (!right) return right;
      node = Lang::combine(op, std::move(node), std::move(*right));
    }
    return node;
  }
  NodeResult parse_or() { return parse_binary(Tok::Or, Op::Or, &ExprParser::parse_and); }
  NodeResult parse_and() { return parse_binary(Tok::And, Op::And, &ExprParser::parse_unary); }

  NodeResult parse_unary() {
    if ((cur_.kind == Tok::Not || cur_.kind == Tok::LParen) && nesting_ >= kMaxNesting) {
      return error_at(cur_.column,
                      "nested more than " + std::to_string(kMaxNesting) + " levels deep");
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
      return Lang::combine(Op::Not, std::move(*inner), nullptr);
    }
    if (cur_.kind == Tok::LParen) {
      if (auto r = advance(); !r) return r.error();
      auto inner = parse_or();
      if (!inner) return inner;
      if (cur_.kind != Tok::RParen) return expected(")");
      if (auto r = advance(); !r) return r.error();
      return inner;
    }
    if (cur_.kind != Tok::Ident) return expected(std::string("a matcher such as ") + Lang::kExample);
    return parse_matcher();
  }

  NodeResult parse_matcher() {
    const std::size_t col = cur_.column;
    if (++matchers_ > kMaxMatchers) {
      return error_at(col, "more than " + std::to_string(kMaxMatchers) + " matchers in one rule");
    }
    const std::string name = cur_.text;
    if (Error e = lang_.check_name(name, col); !e.message.empty()) return e;
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
    auto node = lang_.matcher(name, col, args);
    if (!node) return node;
    if (auto r = advance(); !r) return r.error();
    return node;
  }

  Lexer lex_;
  Lang& lang_;
  Token cur_;
  int nesting_ = 0;
  int matchers_ = 0;
};

// Parses `text` into Lang's tree.
template <typename Lang>
Result<std::unique_ptr<typename Lang::Node>> parse_expression(std::string_view text, Lang& lang) {
  return ExprParser<Lang>(text, lang).parse();
}

}  // namespace portier::rules
