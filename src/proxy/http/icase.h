// Case-insensitive (ASCII) prefix and substring tests on field values, beside iequals.
#pragma once

#include <string_view>

#include "proxy/http/parser.h"

namespace portier::http {

inline bool starts_with_icase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

inline bool contains_icase(std::string_view s, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= s.size(); ++i) {
    if (iequals(s.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

}  // namespace portier::http
