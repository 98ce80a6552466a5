#include "proxy/http/message.h"

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

bool valid_host(std::string_view h) {
  // reg-name / IPv4 / [IPv6] with optional :port. Reject what could confuse routing or logs.
  for (char c : h) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '/' || c == '\\' || c == '@' || c == '?' || c == '#') {
      return false;
    }
  }
  return true;
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

bool is_hop_by_hop(std::string_view name, const Fields& fields) {
  static constexpr std::string_view kFixed[] = {"connection", "keep-alive", "proxy-connection",
                                                "te",         "trailer",    "transfer-encoding",
                                                "upgrade"};
  for (std::string_view h : kFixed) {
    if (iequals(name, h)) return true;
  }
  bool named = false;
  for (const Field& f : fields) {
    if (named) break;
    if (!iequals(f.name, "connection")) continue;
    for_each_token(f.value, [&](std::string_view t) {
      if (iequals(t, name)) named = true;
    });
  }
  return named;
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
