// A header field as views into a message buffer. Shared by the wire parser (proxy/http) and the
// rule matchers (rules/), which must not depend on each other.
#pragma once

#include <string_view>

namespace portier {

struct HeaderView {
  std::string_view name;   // as sent; compare case-insensitively
  std::string_view value;  // leading and trailing whitespace removed
};

}  // namespace portier
