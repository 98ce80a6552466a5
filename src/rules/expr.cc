#include "rules/expr.h"

#include <cctype>

namespace portier::rules {

Error error_at(std::size_t column, const std::string& message) {
  return Error{"column " + std::to_string(column) + ": " + message};
}

Result<Token> Lexer::next() {
  while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  std::size_t col = i_ + 1;
  if (i_ >= s_.size()) return Token{Tok::End, "", col};
  char c = s_[i_];
  auto two = s_.substr(i_, 2);
  if (two == "&&") return i_ += 2, Token{Tok::And, "&&", col};
  if (two == "||") return i_ += 2, Token{Tok::Or, "||", col};
  if (c == '!') return ++i_, Token{Tok::Not, "!", col};
  if (c == '(') return ++i_, Token{Tok::LParen, "(", col};
  if (c == ')') return ++i_, Token{Tok::RParen, ")", col};
  if (c == ',') return ++i_, Token{Tok::Comma, ",", col};
  if (c == '`') {
    std::size_t end = s_.find('`', i_ + 1);
    if (end == std::string_view::npos) return error_at(col, "unterminated `string`");
    Token t{Tok::String, std::string(s_.substr(i_ + 1, end - i_ - 1)), col};
    i_ = end + 1;
    return t;
  }
  if (c == '"') return quoted(col);
  if (std::isalpha(static_cast<unsigned char>(c))) {
    std::size_t start = i_;
    while (i_ < s_.size() && std::isalnum(static_cast<unsigned char>(s_[i_]))) ++i_;
    return Token{Tok::Ident, std::string(s_.substr(start, i_ - start)), col};
  }
  if (c == '\'') return error_at(col, "single quotes are not allowed; use `backticks` or \"quotes\"");
  return error_at(col, std::string("unexpected character '") + c + "'");
}

// A Go interpreted string literal with the common escapes.
Result<Token> Lexer::quoted(std::size_t col) {
  std::string out;
  for (std::size_t j = i_ + 1; j < s_.size(); ++j) {
    char c = s_[j];
    if (c == '"') {
      i_ = j + 1;
      return Token{Tok::String, out, col};
    }
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++j >= s_.size()) break;
    switch (s_[j]) {
      case '"':
        out.push_back('"');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      default:
        return error_at(j, std::string("unknown escape \\") + s_[j] + " in quoted string");
    }
  }
  return error_at(col, "unterminated \"string\"");
}

}  // namespace portier::rules
