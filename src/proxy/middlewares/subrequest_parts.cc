#include "proxy/middlewares/subrequest_parts.h"

#include <algorithm>
#include <charconv>

#include "proxy/http/message.h"

namespace portier::proxy::mw {
namespace {

using http::iequals;

bool has(const FieldList& f, std::string_view name) {
  return std::any_of(f.begin(), f.end(), [&](const auto& p) { return iequals(p.first, name); });
}
const std::string* get(const FieldList& f, std::string_view name) {
  for (const auto& [n, v] : f) {
    if (iequals(n, name)) return &v;
  }
  return nullptr;
}
void erase(FieldList& f, std::string_view name) {
  std::erase_if(f, [&](const auto& p) { return iequals(p.first, name); });
}
void set(FieldList& f, std::string_view name, std::string_view value) {
  erase(f, name);
  f.emplace_back(name, value);
}
void set_if_absent(FieldList& f, std::string_view name, std::string_view value) {
  if (!has(f, name)) f.emplace_back(name, value);
}

// Traefik's forwardedPort: the Host's port, else 443 for https (or a TLS connection), else 80.
std::string forwarded_port(std::string_view host, const std::string* proto, bool tls) {
  std::size_t colon = host.rfind(':');
  std::size_t bracket = host.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || bracket < colon) &&
      colon + 1 < host.size()) {
    return std::string(host.substr(colon + 1));
  }
  if ((proto != nullptr && (*proto == "https" || *proto == "wss")) || tls) return "443";
  return "80";
}

// Fields that never go to a sub-request as they came: the sub-request frames its own body and
// names its own host.
bool framing_field(std::string_view n) {
  return iequals(n, "host") || iequals(n, "content-length") || iequals(n, "transfer-encoding") ||
         iequals(n, "expect");
}

std::string remove_dot_segments(std::string_view in) {
  std::vector<std::string_view> out;
  const bool absolute = !in.empty() && in.front() == '/';
  bool trailing = false;
  std::size_t i = absolute ? 1 : 0;
  while (i <= in.size()) {
    std::size_t slash = in.find('/', i);
    if (slash == std::string_view::npos) slash = in.size();
    std::string_view seg = in.substr(i, slash - i);
    trailing = seg == "." || seg == "..";
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (seg != ".") {
      out.push_back(seg);
    }
    i = slash + 1;
  }
  std::string r = absolute ? "/" : "";
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (k > 0) r += '/';
    r.append(out[k]);
  }
  if (trailing && (r.empty() || r.back() != '/')) r += '/';
  return r;
}

}  // namespace

std::string canonical_key(std::string_view name) {
  std::string out(name);
  for (char c : out) {
    if (!http::is_token_char(static_cast<unsigned char>(c))) return out;
  }
  bool upper = true;
  for (char& c : out) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    upper = c == '-';
  }
  return out;
}

const std::vector<std::string>& managed_x_headers() {
  static const std::vector<std::string> kNames = {
      "X-Forwarded-Proto",  "X-Forwarded-Scheme", "X-Forwarded-For",
      "X-Forwarded-Host",   "X-Forwarded-Port",   "X-Forwarded-Server",
      "X-Forwarded-Uri",    "X-Forwarded-Method", "X-Forwarded-Prefix",
      "X-Forwarded-Tls-Client-Cert", "X-Forwarded-Tls-Client-Cert-Info",
      "X-Scheme",           "X-Real-Ip"};
  return kNames;
}

bool is_managed_x_header(std::string_view name) {
  if (name.empty() || (name[0] != 'x' && name[0] != 'X')) return false;
  std::string dashed(name);
  std::replace(dashed.begin(), dashed.end(), '_', '-');
  const auto& set = managed_x_headers();
  return std::any_of(set.begin(), set.end(), [&](const std::string& n) { return iequals(n, dashed); });
}

FieldList effective_fields(const Stream& s, std::string_view server_name) {
  FieldList out;
  if (s.fields != nullptr) {
    const http::HopByHop hop(*s.fields);
    for (const auto& f : *s.fields) {
      if (framing_field(f.name) || hop(f.name) ||
          replaces(s.request_edits, f.name) || (!s.trusted_peer && is_managed_x_header(f.name))) {
        continue;
      }
      out.emplace_back(f.name, f.value);
    }
  }
  for (const auto& e : s.request_edits) {
    if (e.value.empty() || (!e.append && find_edit(s.request_edits, e.name) != &e)) continue;
    if (!framing_field(e.name)) out.emplace_back(e.name, e.value);
  }
  // What Traefik's entrypoint (forwardedheaders) sets before any middleware runs.
  set_if_absent(out, "X-Real-Ip", s.peer_ip);
  set_if_absent(out, "X-Forwarded-Proto", s.tls ? "https" : "http");
  if (!has(out, "X-Forwarded-Port")) {
    out.emplace_back("X-Forwarded-Port",
                     forwarded_port(s.host, get(out, "X-Forwarded-Proto"), s.tls));
  }
  if (!s.host.empty()) set_if_absent(out, "X-Forwarded-Host", s.host);
  if (!server_name.empty()) set(out, "X-Forwarded-Server", server_name);
  return out;
}

FieldList auth_request_fields(FieldList f, TrustForward trust,
                              const std::vector<std::string>& allowed, const AuthRequestInfo& r) {
  if (trust == TrustForward::Distrust) {
    std::erase_if(f, [](const auto& p) { return is_managed_x_header(p.first); });
  }
  if (!allowed.empty()) {
    std::erase_if(f, [&](const auto& p) {
      return std::none_of(allowed.begin(), allowed.end(),
                          [&](const std::string& a) { return iequals(a, p.first); });
    });
  }
  const std::string_view proto = r.tls ? "https" : "http";
  if (trust == TrustForward::Unset) {
    set(f, "X-Forwarded-For", r.peer_ip);
    set(f, "X-Forwarded-Proto", proto);
    set(f, "X-Forwarded-Method", r.method);
    set(f, "X-Forwarded-Host", r.host);
    set(f, "X-Forwarded-Uri", r.uri);
    return f;
  }
  std::string xff;
  for (const auto& [n, v] : f) {
    if (iequals(n, "X-Forwarded-For")) xff.append(v).append(", ");
  }
  xff.append(r.peer_ip);
  set(f, "X-Forwarded-For", xff);
  set_if_absent(f, "X-Forwarded-Method", r.method);
  set_if_absent(f, "X-Forwarded-Proto", proto);
  if (!has(f, "X-Forwarded-Port")) {
    f.emplace_back("X-Forwarded-Port", forwarded_port(r.host, get(f, "X-Forwarded-Proto"), r.tls));
  }
  set_if_absent(f, "X-Forwarded-Host", r.host);
  set_if_absent(f, "X-Forwarded-Uri", r.uri);
  return f;
}

Result<HttpUrl> parse_http_url(std::string_view url) {
  using R = Result<HttpUrl>;
  auto fail = [&](std::string why) {
    return R(boost::system::in_place_error, Error{"`" + std::string(url) + "`: " + why});
  };
  HttpUrl u;
  std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return fail("not an http:// or https:// URL");
  std::string_view scheme = url.substr(0, sep);
  if (iequals(scheme, "http")) {
    u.scheme = "http";
  } else if (iequals(scheme, "https")) {
    u.scheme = "https";
  } else {
    return fail("the scheme must be http or https");
  }
  std::string_view rest = url.substr(sep + 3);
  std::size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) return fail("user info is not supported");
  u.authority = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("bad IPv6 literal");
    u.host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return fail("bad host");
    if (!after.empty()) port = after.substr(1);
  } else {
    std::size_t colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return fail("no host");
  if (!port.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535) {
      return fail("bad port");
    }
    u.port = std::string(port);
  } else {
    u.port = u.scheme == "https" ? "443" : "80";
  }
  rest = rest.substr(0, rest.find('#'));
  std::size_t q = rest.find('?');
  u.path = std::string(rest.substr(0, q));
  if (u.path.empty()) u.path = "/";
  if (q != std::string_view::npos) u.query = std::string(rest.substr(q));
  return u;
}

std::string resolve_reference(const HttpUrl& base, std::string_view ref) {
  // An absolute reference: a scheme before any '/', '?' or '#'.
  std::size_t colon = ref.find(':');
  if (colon != std::string_view::npos && colon > 0 &&
      colon < ref.find_first_of("/?#") && std::isalpha(static_cast<unsigned char>(ref[0]))) {
    return std::string(ref);
  }
  const std::string origin = base.scheme + "://" + base.authority;
  if (ref.starts_with("//")) return base.scheme + ":" + std::string(ref);
  std::size_t hash = ref.find('#');
  std::string_view fragment = hash == std::string_view::npos ? "" : ref.substr(hash);
  ref = ref.substr(0, hash);
  std::size_t q = ref.find('?');
  std::string_view path = ref.substr(0, q);
  std::string_view query = q == std::string_view::npos ? "" : ref.substr(q);
  std::string out = origin;
  if (path.empty()) {
    out += base.path;
    out += q == std::string_view::npos ? std::string_view(base.query) : query;
  } else if (path.front() == '/') {
    out += remove_dot_segments(path);
    out += query;
  } else {
    std::string merged = base.path.substr(0, base.path.rfind('/') + 1);
    merged += path;
    out += remove_dot_segments(merged);
    out += query;
  }
  out += fragment;
  return out;
}

std::string_view cookie_name(std::string_view v) {
  std::size_t eq = v.find('=');
  if (eq == std::string_view::npos) return {};
  std::string_view n = v.substr(0, eq);
  while (!n.empty() && (n.front() == ' ' || n.front() == '\t')) n.remove_prefix(1);
  while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
  return n;
}

void copy_response_fields(const FieldList& fields, LocalResponse& l) {
  static constexpr std::string_view kHop[] = {"connection", "keep-alive", "proxy-connection",
                                              "te",         "trailer",    "trailers",
                                              "transfer-encoding", "upgrade", "content-length"};
  l.content_type.emplace();
  bool typed = false;
  for (const auto& field : fields) {
    // Named, not a structured binding: clang 14 cannot capture one in the lambda below.
    const auto& n = field.first;
    const auto& v = field.second;
    if (std::any_of(std::begin(kHop), std::end(kHop), [&](std::string_view h) {
          return iequals(n, h);
        })) {
      continue;
    }
    if (iequals(n, "content-type")) {
      if (!typed) l.content_type = v;
      typed = true;
      continue;
    }
    l.fields.push_back({n, v, true});
  }
  if (!typed && !l.body.empty()) l.content_type = "text/plain; charset=utf-8";
}

Result<StatusRanges> parse_status_ranges(const std::vector<std::string>& specs) {
  StatusRanges out;
  for (const auto& spec : specs) {
    // Traefik splits on '-' and reads the first two parts.
    std::string_view s = spec;
    std::size_t dash = s.find('-');
    std::string_view parts[2] = {s.substr(0, dash),
                                 dash == std::string_view::npos ? s : s.substr(dash + 1)};
    parts[1] = parts[1].substr(0, parts[1].find('-'));
    int v[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
      auto [p, ec] = std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), v[i]);
      if (ec != std::errc() || p != parts[i].data() + parts[i].size() || parts[i].empty()) {
        return Result<StatusRanges>(boost::system::in_place_error,
                                    Error{"status `" + spec + "` is not a status or a range"});
      }
    }
    out.emplace_back(v[0], v[1]);
  }
  return out;
}

bool in_ranges(const StatusRanges& ranges, int status) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const auto& r) { return status >= r.first && status <= r.second; });
}

std::string error_page_target(std::string_view query, int status, int original_status,
                              std::string_view escaped_url) {
  if (query.empty()) return "/";
  if (query.front() == '/') query.remove_prefix(1);
  std::string out = "/";
  const std::string st = std::to_string(status), orig = std::to_string(original_status);
  // One pass, as three successive replacements would also do on these placeholders (none of
  // them can appear in another's value: the URL is escaped).
  for (std::size_t i = 0; i < query.size();) {
    if (query.substr(i).starts_with("{status}")) {
      out += st;
      i += 8;
    } else if (query.substr(i).starts_with("{originalStatus}")) {
      out += orig;
      i += 16;
    } else if (query.substr(i).starts_with("{url}")) {
      out += escaped_url;
      i += 5;
    } else {
      out += query[i++];
    }
  }
  return out;
}

}  // namespace portier::proxy::mw
