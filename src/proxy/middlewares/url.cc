#include "proxy/middlewares/url.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>

namespace portier::proxy {
// Go's replacement syntax ($1, ${1}, $name, ${name}, $$) to RE2's (\1, \\), with Go's meaning:
// a name is the longest run of letters, digits and '_' ("$1x" is the group named "1x"); a
// group that does not exist expands to nothing; a '$' that starts no valid reference ("$/",
// "${}", "${x") is a literal '$'. RE2 can refer to groups 0 to 9 only, so a reference to a
// later group is refused (the middleware is reported) rather than expanded wrongly.
Result<std::string> rewrite_for_re2(const std::string& go, const re2::RE2& re) {
  std::string out;
  const auto& named = re.NamedCapturingGroups();
  const int groups = re.NumberOfCapturingGroups();
  auto is_name = [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_';
  };
  for (std::size_t i = 0; i < go.size(); ++i) {
    char c = go[i];
    if (c == '\\') {
      out += "\\\\";
      continue;
    }
    if (c != '$' || i + 1 == go.size()) {
      out += c;
      continue;
    }
    if (go[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    std::string name;
    std::size_t j = i + 1;
    if (go[j] == '{') {
      std::size_t close = go.find('}', j);
      if (close != std::string::npos) name = go.substr(j + 1, close - j - 1);
      if (close == std::string::npos || name.empty() ||
          !std::all_of(name.begin(), name.end(), is_name)) {
        out += '$';  // malformed: Go copies the '$' and goes on
        continue;
      }
      j = close + 1;
    } else {
      while (j < go.size() && is_name(go[j])) name += go[j++];
      if (name.empty()) {
        out += '$';
        continue;
      }
    }
    int index = -1;
    if (std::all_of(name.begin(), name.end(), ::isdigit)) {
      if (name.size() <= 4) index = std::stoi(name);
      if (index > groups) index = -1;
    } else if (auto it = named.find(name); it != named.end()) {
      index = it->second;
    }
    if (index > 9) {
      return Error{"replacement refers to group " + std::to_string(index) +
                   "; only groups 0 to 9 can be used"};
    }
    if (index >= 0) out += "\\" + std::to_string(index);  // else: expands to nothing, as in Go
    i = j - 1;
  }
  std::string why;
  if (!re.CheckRewriteString(out, &why)) return Error{"replacement: " + why};
  return Result<std::string>(boost::system::in_place_value, std::move(out));
}

std::string redirect_location(const Redirect& r, std::string_view current_scheme,
                              std::string_view host, std::string_view target) {
  if (r.regex) {
    std::string url = std::string(current_scheme) + "://" + std::string(host) + std::string(target);
    if (!re2::RE2::PartialMatch(url, *r.regex)) return "";
    std::string original = url;
    // Unchanged: no redirect (it would loop); the request goes on to the router's service, as
    // in Traefik.
    if (re2::RE2::GlobalReplace(&url, *r.regex, r.rewrite) <= 0 || url == original) return "";
    return url;
  }
  if (current_scheme == r.scheme) return "";
  std::string_view h = host;
  if (!h.empty() && h.front() == '[') {
    h = h.substr(0, h.find(']') + 1);
  } else {
    h = h.substr(0, h.rfind(':'));
  }
  std::string loc = r.scheme + "://" + std::string(h);
  bool default_port = r.port.empty() || (r.scheme == "https" && r.port == "443") ||
                      (r.scheme == "http" && r.port == "80");
  if (!default_port) loc += ":" + r.port;
  loc.append(target);
  return loc;
}

int redirect_status(const Redirect& r, std::string_view method) {
  bool safe = method == "GET" || method == "HEAD";
  if (r.permanent) return safe ? 301 : 308;
  return safe ? 302 : 307;
}

std::string query_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

}  // namespace portier::proxy
