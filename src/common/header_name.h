// Header names in Go's canonical form ("user-agent" -> "User-Agent"), as Traefik writes them in
// its access log keys and as its configuration matches them. Shared by config (header modes)
// and observability (the log's header keys). Pure; any thread.
#pragma once

#include <string>
#include <string_view>

namespace portier {

// net/textproto.CanonicalMIMEHeaderKey: the first letter and every letter after '-' upper-case,
// the others lower-case. A name with a byte that is not a token character (a space, say) is
// returned unchanged, as Go does.
inline void canonical_header_name(std::string_view name, std::string& out) {
  out.assign(name);
  for (char c : name) {
    const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!token) return;
  }
  bool upper = true;
  for (char& c : out) {
    if (upper && c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    } else if (!upper && c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    upper = c == '-';
  }
}

inline std::string canonical_header_name(std::string_view name) {
  std::string out;
  canonical_header_name(name, out);
  return out;
}

}  // namespace portier
