// Helpers shared by the fuzz targets: invariant checks that abort (libFuzzer and the replay
// runner both report an abort with the input that caused it).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace portier::fuzz {

// Aborts with `what` when `ok` is false.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

// `part` is empty or lies inside `whole` (zero-copy views never point elsewhere).
inline void check_inside(std::string_view whole, std::string_view part, const char* what) {
  if (part.empty()) return;
  check(part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size(),
        what);
}

// No byte that would end a header line or a request line early.
inline bool has_line_break(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

}  // namespace portier::fuzz
