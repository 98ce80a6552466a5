// Small text helpers for tests.
#pragma once

#include <string>

namespace portier::test {

// How many times `needle` occurs in `text` (overlaps counted): lines of a log, say.
inline int count_in(const std::string& text, const std::string& needle) {
  int n = 0;
  for (std::size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

}  // namespace portier::test
