#include "proxy/http/message.h"

#include <algorithm>
#include <charconv>

namespace portier::http {
namespace {

// Content-Length: 1*DIGIT, no sign, no whitespace inside, at most 2^62 (RFC 9110 §8.6).
bool parse_length(std::string_view v, std::uint64_t& out) {
  if (v.empty() || v.size() > 19) return false;
  std::uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (n > (std::uint64_t{1} << 62)) return false;
  out = n;
  return true;
}

// Transfer-Encoding must be exactly "chunked" (case-insensitive): portier implements no other
// transfer coding, and RFC 9112 §6.3 makes anything whose final coding is not chunked a 400.
Error check_transfer_encoding(const Fields& fields, bool& chunked) {
  chunked = false;
  int codings = 0;
  int chunked_count = 0;
  bool last_chunked = false;
  for (const Field& f : fields) {
    if (!iequals(f.name, "transfer-encoding")) continue;
    if (f.value.empty()) return Error::BadTransferEncoding;
    for_each_token(f.value, [&](std::string_view t) {
      ++codings;
      last_chunked = iequals(t, "chunked");
      chunked_count += last_chunked ? 1 : 0;
    });
  }
  if (codings == 0) return Error::None;
  if (!last_chunked || chunked_count > 1) return Error::BadTransferEncoding;
  if (codings > 1) return Error::UnsupportedTransferEncoding;  // e.g. "gzip, chunked"
  chunked = true;
  return Error::None;
}

Error check_content_length(const Fields& fields, bool& present, std::uint64_t& length) {
  present = false;
  for (const Field& f : fields) {
    if (!iequals(f.name, "content-length")) continue;
    if (present) return Error::DuplicateContentLength;
    if (!parse_length(f.value, length)) return Error::BadContentLength;
    present = true;
  }
  return Error::None;
}

void read_connection(const Fields& fields, ConnectionInfo& out) {
  bool has_upgrade_field = false;
  bool upgrade_option = false;
  for (const Field& f : fields) {
    if (iequals(f.name, "connection")) {
      for_each_token(f.value, [&](std::string_view t) {
        if (iequals(t, "close"))
          out.close = true;
        else if (iequals(t, "keep-alive"))
          out.keep_alive = true;
        else if (iequals(t, "upgrade"))
          upgrade_option = true;
      });
    } else if (iequals(f.name, "upgrade") && !f.value.empty()) {
      has_upgrade_field = true;
    }
  }
  out.upgrade = has_upgrade_field && upgrade_option;
}

constexpr bool is_reg_name_char(unsigned char c) {
  // unreserved / sub-delims (RFC 3986 §3.2.2), without ',' (a Host is one value, not a list)
  // and without pct-encoded (no name needs it, and `a%2Ecom` would route apart from `a.com`).
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ';':
    case '=':
      return true;
    default:
      return false;
  }
}
// The same as a table: a Host's name is checked for every request, a byte at a time.
constexpr std::array<bool, 256> make_reg_name_table() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = is_reg_name_char(static_cast<unsigned char>(c));
  return t;
}
constexpr auto kRegName = make_reg_name_table();

bool is_ipv6_char(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.';
}

// port = *DIGIT (RFC 3986 §3.2.3), at most 65535; empty means the scheme's default.
bool valid_port(std::string_view p) {
  if (p.size() > 5) return false;
  unsigned n = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  return n <= 65535;
}

// The request-target's form (RFC 9112 §3.2). The parser has already limited it to visible
// ASCII and to these forms; CONNECT's authority-form is refused before this.
Error analyze_target(std::string_view target, RequestInfo& out) {
  if (target.front() == '/') {
    out.target = target;
    return Error::None;
  }
  if (target == "*") {
    out.asterisk = true;
    return Error::None;
  }
  const std::size_t colon = target.find("://");
  if (colon == std::string_view::npos ||
      !(iequals(target.substr(0, colon), "http") || iequals(target.substr(0, colon), "https"))) {
    return Error::BadTarget;
  }
  std::string_view rest = target.substr(colon + 3);
  const std::size_t end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) return Error::UserinfoInTarget;
  if (authority.empty() || !valid_host(authority)) return Error::BadTarget;
  out.absolute_form = true;
  out.host = authority;
  out.target = rest.substr(end);
  return Error::None;
}

bool offers_h2c(const Fields& fields) {
  bool h2c = false;
  for (const Field& f : fields) {
    if (!iequals(f.name, "upgrade")) continue;
    for_each_token(f.value, [&](std::string_view t) { h2c |= iequals(t, "h2c"); });
  }
  return h2c;
}

}  // namespace

Error analyze_request(const RequestHead& head, RequestInfo& out) {
  out = RequestInfo{};
  if (head.method == "CONNECT") return Error::BadConnectMethod;
  const Field* host = nullptr;
  for (const Field& f : head.fields) {
    if (iequals(f.name, "host")) {
      if (host != nullptr) return Error::DuplicateHost;
      host = &f;
    }
  }
  if (host == nullptr && head.version_minor == 1) return Error::MissingHost;
  if (host != nullptr) {
    if (!valid_host(host->value)) return Error::BadHost;
    out.host = host->value;
  }
  if (Error e = analyze_target(head.target, out); e != Error::None) return e;
  if (offers_h2c(head.fields)) return Error::H2cUpgrade;

  bool chunked = false;
  if (Error e = check_transfer_encoding(head.fields, chunked); e != Error::None) return e;
  bool has_length = false;
  std::uint64_t length = 0;
  if (Error e = check_content_length(head.fields, has_length, length); e != Error::None) return e;
  bool has_te = chunked;
  if (has_te && has_length) return Error::LengthWithChunked;
  if (has_te && head.version_minor == 0) return Error::BadTransferEncoding;
  if (chunked) {
    out.framing.kind = BodyKind::Chunked;
  } else if (has_length && length > 0) {
    out.framing = {BodyKind::Length, length};
  }

  read_connection(head.fields, out.connection);
  if (const Field* e = head.fields.find("expect")) {
    out.expect_continue = iequals(e->value, "100-continue");
  }
  out.persistent = head.version_minor == 1 ? !out.connection.close
                                           : out.connection.keep_alive && !out.connection.close;
  return Error::None;
}

Error analyze_response(const ResponseHead& head, std::string_view request_method,
                       ResponseInfo& out) {
  out = ResponseInfo{};
  read_connection(head.fields, out.connection);
  out.persistent = head.version_minor == 1 ? !out.connection.close
                                           : out.connection.keep_alive && !out.connection.close;
  bool chunked = false;
  Error te = check_transfer_encoding(head.fields, chunked);
  bool has_length = false;
  std::uint64_t length = 0;
  Error cl = check_content_length(head.fields, has_length, length);
  bool no_body =
      request_method == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304;
  if (no_body) {
    return Error::None;
  }
  if (te != Error::None) return te;
  if (chunked && has_length) return Error::LengthWithChunked;
  if (cl != Error::None) return cl;
  if (chunked) {
    out.framing.kind = BodyKind::Chunked;
  } else if (has_length) {
    out.framing = {length ? BodyKind::Length : BodyKind::None, length};
  } else {
    out.framing.kind = BodyKind::UntilClose;
    out.persistent = false;
  }
  return Error::None;
}

bool valid_host(std::string_view h) {
  if (h.empty()) return true;
  std::string_view port;
  bool has_port = false;
  if (h.front() == '[') {
    const std::size_t close = h.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view literal = h.substr(1, close - 1);
    if (literal.find(':') == std::string_view::npos) return false;
    for (char c : literal) {
      if (!is_ipv6_char(static_cast<unsigned char>(c))) return false;
    }
    const std::string_view rest = h.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      has_port = true;
      port = rest.substr(1);
    }
  } else {
    const std::size_t colon = h.find(':');
    const std::string_view name = h.substr(0, colon);
    if (name.empty()) return false;
    for (char c : name) {
      if (!kRegName[static_cast<unsigned char>(c)]) return false;
    }
    if (colon != std::string_view::npos) {
      has_port = true;
      port = h.substr(colon + 1);
    }
  }
  return !has_port || valid_port(port);
}

std::size_t remove_underscore_fields(Fields& fields) {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < fields.count; ++i) {
    if (fields[i].name.find('_') != std::string_view::npos) continue;
    if (kept != i) fields[kept] = fields[i];
    ++kept;
  }
  const std::size_t removed = fields.count - kept;
  fields.count = kept;
  return removed;
}

bool has_underscore_field(const Fields& fields) {
  for (const Field& f : fields) {
    if (f.name.find('_') != std::string_view::npos) return true;
  }
  return false;
}

namespace {

// Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade: told apart
// by length first, since this runs for every field of every message.
bool fixed_hop_by_hop(std::string_view n) {
  switch (n.size()) {
    case 2:
      return iequals(n, "te");
    case 7:
      return iequals(n, "trailer") || iequals(n, "upgrade");
    case 10:
      return iequals(n, "connection") || iequals(n, "keep-alive");
    case 16:
      return iequals(n, "proxy-connection");
    case 17:
      return iequals(n, "transfer-encoding");
    default:
      return false;
  }
}

bool lists(std::string_view value, std::string_view name) {
  bool named = false;
  for_each_token(value, [&](std::string_view t) { named = named || iequals(t, name); });
  return named;
}

}  // namespace

bool is_hop_by_hop(std::string_view name, const Fields& fields) {
  if (fixed_hop_by_hop(name)) return true;
  for (const Field& f : fields) {
    if (f.name.size() == 10 && iequals(f.name, "connection") && lists(f.value, name)) return true;
  }
  return false;
}

HopByHop::HopByHop(const Fields& fields) {
  for (const Field& f : fields) {
    if (f.name.size() != 10 || !iequals(f.name, "connection")) continue;
    for_each_token(f.value, [&](std::string_view t) {
      if (count_ < kInline) {
        listed_[count_++] = t;
      } else {
        more_ = &fields;
      }
    });
    if (more_ != nullptr) return;
  }
}

// Each name was split out of its Connection field once (the constructor); before, each call
// split every Connection field again (a memchr and a lambda per field written).
bool HopByHop::operator()(std::string_view name) const {
  if (fixed_hop_by_hop(name)) return true;
  if (more_ != nullptr) return is_hop_by_hop(name, *more_);
  for (std::size_t i = 0; i < count_; ++i) {
    if (iequals(listed_[i], name)) return true;
  }
  return false;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace portier::http
