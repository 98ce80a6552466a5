// Semantic checks on a parsed head: message framing (RFC 9112 §6), Host, Connection options.
// These turn a grammatically valid head into the few facts the engine acts on, and reject the
// ambiguous framings that make request smuggling possible.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "proxy/http/parser.h"

namespace portier::http {

enum class BodyKind : std::uint8_t {
  None,       // no body
  Length,     // Content-Length bytes
  Chunked,    // Transfer-Encoding: chunked
  UntilClose  // responses only: the body ends when the server closes
};

struct Framing {
  BodyKind kind = BodyKind::None;
  std::uint64_t length = 0;  // when kind == Length
};

// Which Connection options and hop-by-hop facts a message carries.
struct ConnectionInfo {
  bool close = false;       // "Connection: close"
  bool keep_alive = false;  // "Connection: keep-alive" (matters for HTTP/1.0)
  bool upgrade = false;     // "Connection: upgrade" together with an Upgrade field
};

struct RequestInfo {
  Framing framing;
  ConnectionInfo connection;
  // The authority the request is for (may carry a port): an absolute-form target's (RFC 9112
  // §3.2.2: it wins over the Host field, which is then ignored), else the Host field as sent;
  // empty when there is neither.
  std::string_view host;
  // The origin-form of the target: path and query as sent ("/p?q"). For an absolute-form target
  // the part after the authority, which may be empty or start with '?' (its path is then "/").
  // Empty for the asterisk-form.
  std::string_view target;
  bool asterisk = false;       // "OPTIONS *": a request for the server itself
  bool absolute_form = false;  // "GET http://host/p"
  bool expect_continue = false;
  bool persistent = true;  // may the client connection stay open after this exchange
};

// Checks a request head. Errors: MissingHost (HTTP/1.1 without Host, even with an absolute-form
// target), DuplicateHost, BadHost (not a RFC 3986 host with an optional all-digit port: a list,
// a percent-escape or a stray character), BadTarget (an absolute-form target whose scheme is not
// http or https, or with an empty or bad host), UserinfoInTarget, BadContentLength,
// DuplicateContentLength (even two equal values), LengthWithChunked, BadTransferEncoding,
// UnsupportedTransferEncoding, BadConnectMethod, H2cUpgrade (an Upgrade field offering h2c).
Error analyze_request(const RequestHead& head, RequestInfo& out);

// Whether `host` is a valid Host value (or authority): reg-name (unreserved and sub-delims but
// ','), IPv4 or a bracketed IPv6 literal, then optionally ':' and at most five digits (<= 65535).
// Empty is valid (RFC 9110 §7.2).
bool valid_host(std::string_view host);

// Removes, in place and keeping their order, the fields whose names contain '_'. Returns how many
// were removed. (nginx's default, underscores_in_headers off: X_Forwarded_For and
// X-Forwarded-For are one variable to CGI, PHP, WSGI.)
std::size_t remove_underscore_fields(Fields& fields);
// Whether some field name contains '_'.
bool has_underscore_field(const Fields& fields);

struct ResponseInfo {
  Framing framing;
  ConnectionInfo connection;
  bool persistent = true;  // may the upstream connection be reused after this response
};

// Checks a response head to a request with `request_method`. HEAD, 1xx, 204 and 304 responses
// have no body whatever their fields say.
Error analyze_response(const ResponseHead& head, std::string_view request_method,
                       ResponseInfo& out);

// True for the fields that never cross a proxy (RFC 9110 §7.6.1): Connection, Keep-Alive,
// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, plus every name that a Connection
// field of the same message (`fields`) lists. Does not allocate.
bool is_hop_by_hop(std::string_view name, const Fields& fields);

// The same test for many names of one message: its Connection fields are found and split into
// the names they list once, not once per name. Holds views into `fields`, which must outlive
// it.
class HopByHop {
 public:
  explicit HopByHop(const Fields& fields);
  bool operator()(std::string_view name) const;

 private:
  static constexpr std::size_t kInline = 8;
  std::array<std::string_view, kInline> listed_{};  // the names the Connection fields list
  std::size_t count_ = 0;
  const Fields* more_ = nullptr;  // set when they list more than kInline: scan them all
};

// Calls f(token) for each comma-separated element of a list field value, trimmed, skipping empty
// elements.
template <typename F>
void for_each_token(std::string_view value, F&& f) {
  std::size_t i = 0;
  while (i <= value.size()) {
    std::size_t comma = value.find(',', i);
    if (comma == std::string_view::npos) {
      comma = value.size();
    }
    std::string_view t = value.substr(i, comma - i);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) {
      t.remove_prefix(1);
    }
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) {
      t.remove_suffix(1);
    }
    if (!t.empty()) {
      f(t);
    }
    i = comma + 1;
  }
}

// The status line reason for common codes ("Bad Request"); "Unknown" otherwise.
std::string_view reason_phrase(int status);

}  // namespace portier::http
