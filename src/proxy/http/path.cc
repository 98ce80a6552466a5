#include "proxy/http/path.h"

#include "common/ascii.h"

namespace portier::http {
namespace {

char upper_hex(char c) { return c >= 'a' && c <= 'f' ? static_cast<char>(c - 'a' + 'A') : c; }

// RFC 3986 §2.3: escapes of these are the characters themselves.
bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::uint8_t denied_bit(unsigned char c) {
  switch (c) {
    case '/':
      return encoded::kSlash;
    case '\\':
      return encoded::kBackSlash;
    case 0:
      return encoded::kNull;
    case ';':
      return encoded::kSemicolon;
    case '%':
      return encoded::kPercent;
    case '?':
      return encoded::kQuestionMark;
    case '#':
      return encoded::kHash;
    default:
      return 0;
  }
}

// Whether `raw` may differ from its normalized form: an escape, a '#', or (when sanitizing) an
// empty or dot segment. One pass, no writes: the common case ends here.
bool needs_work(std::string_view raw, bool sanitize) {
  if (raw.empty() || raw.front() != '/') return true;
  const char* p = raw.data();
  const char* end = p + raw.size();
  for (; p < end; ++p) {
    const char c = *p;
    if (c == '%' || c == '#') return true;
    if (c != '/' || !sanitize || p + 1 == end) continue;
    if (p[1] == '/') return true;
    if (p[1] != '.') continue;
    if (p + 2 == end || p[2] == '/') return true;                   // "/."
    if (p[2] == '.' && (p + 3 == end || p[3] == '/')) return true;  // "/.."
  }
  return false;
}

// Go's path.Clean on a rooted path, in place (the write index never passes the read index),
// then the trailing slash put back as url.URL.JoinPath does.
void clean(std::string& p) {
  const bool trailing = p.back() == '/';
  const std::size_t n = p.size();
  std::size_t r = 1;
  std::size_t w = 1;
  while (r < n) {
    if (p[r] == '/') {
      ++r;
    } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
      ++r;
    } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
      r += 2;
      if (w > 1) {  // drop the last segment; at the root, ".." stays at the root
        --w;
        while (w > 1 && p[w] != '/') --w;
      }
    } else {
      if (w != 1) p[w++] = '/';
      while (r < n && p[r] != '/') p[w++] = p[r++];
    }
  }
  p.resize(w);
  if (trailing && p.back() != '/') p.push_back('/');
}

}  // namespace

PathResult normalize_path(std::string_view raw, const PathPolicy& policy, std::string& scratch) {
  if (!needs_work(raw, policy.sanitize)) return {Error::None, raw};
  scratch.clear();
  if (raw.empty() || raw.front() != '/') scratch.push_back('/');
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '#') return {Error::FragmentInTarget, {}};
    if (c != '%') {
      scratch.push_back(c);
      continue;
    }
    if (i + 2 >= raw.size()) return {Error::BadPercentEncoding, {}};
    const int hi = hex_value(raw[i + 1]);
    const int lo = hex_value(raw[i + 2]);
    if (hi < 0 || lo < 0) return {Error::BadPercentEncoding, {}};
    const auto decoded = static_cast<unsigned char>(hi * 16 + lo);
    if (is_unreserved(decoded)) {
      scratch.push_back(static_cast<char>(decoded));
    } else if ((policy.denied & denied_bit(decoded)) != 0) {
      return {Error::EncodedCharacter, {}};
    } else {
      scratch.push_back('%');
      scratch.push_back(upper_hex(raw[i + 1]));
      scratch.push_back(upper_hex(raw[i + 2]));
    }
    i += 2;
  }
  if (policy.sanitize) clean(scratch);
  return {Error::None, scratch};
}

}  // namespace portier::http
