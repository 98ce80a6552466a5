// The pure parts of forwardAuth and errors (no I/O, table-tested): the fields their
// sub-requests carry, URLs, status ranges and error-page targets, as Traefik computes them
// (pkg/middlewares/auth/forward.go, pkg/middlewares/customerrors/custom_errors.go,
// pkg/types/http_code_range.go). Safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "proxy/middlewares/url.h"
#include "proxy/pipeline/stream.h"

namespace portier::proxy::mw {

using FieldList = std::vector<std::pair<std::string, std::string>>;

// Go's http.CanonicalHeaderKey ("x-auth-user" -> "X-Auth-User"); names with characters that are
// not token characters come back unchanged, as in Go.
std::string canonical_key(std::string_view name);
// One of the X-Forwarded-* fields (and X-Real-Ip, X-Scheme) Traefik manages; '_' reads as '-'.
bool is_managed_x_header(std::string_view name);
// Traefik's managed X headers, canonical (forwardedheaders.XHeadersSet).
const std::vector<std::string>& managed_x_headers();

// The request's fields as a Traefik middleware sees them at this point of the chain: the
// client's (less hop-by-hop ones, Host, body framing and Expect, and X-Forwarded-* from an
// untrusted peer), earlier middlewares' edits applied, and what Traefik's entrypoint adds
// (X-Forwarded-Proto, -Host, -Port, -Server, X-Real-Ip, when absent). `server_name`: this
// proxy's host name for X-Forwarded-Server ("" leaves it out).
FieldList effective_fields(const Stream& s, std::string_view server_name);

// forwardAuth.trustForwardHeader: unset (Traefik's deprecated default), true, false.
enum class TrustForward { Unset, Trust, Distrust };
struct AuthRequestInfo {
  std::string_view method;   // the client's
  std::string_view host;     // the Host as sent
  std::string_view uri;      // path and query as the server would get them
  std::string_view peer_ip;  // the connection's peer
  bool tls = false;          // the client connection is TLS
};
// The fields of the request to the auth server (Traefik's writeHeader / oldWriteHeader):
// `fields` filtered by `allowed` (authRequestHeaders; empty: all), then X-Forwarded-For,
// -Method, -Proto, -Port, -Host, -Uri per the trust mode.
FieldList auth_request_fields(FieldList fields, TrustForward trust,
                              const std::vector<std::string>& allowed, const AuthRequestInfo& r);

// An http or https URL, split.
struct HttpUrl {
  std::string scheme;     // "http" or "https"
  std::string host;       // without brackets
  std::string port;       // numeric; the scheme's default when absent
  std::string authority;  // as written ("h:8080", "[::1]"): the Host field
  std::string path;       // "/" when empty
  std::string query;      // with its '?', or ""
};
Result<HttpUrl> parse_http_url(std::string_view url);
// `ref` (a Location value) resolved against `base` (RFC 3986 section 5.2, as Go's
// url.URL.ResolveReference does).
std::string resolve_reference(const HttpUrl& base, std::string_view ref);
// The cookie name of a Set-Cookie value ("" when malformed).
std::string_view cookie_name(std::string_view set_cookie);

// A sub-request's answer as a local answer's fields: hop-by-hop fields and Content-Length left
// out (write_local frames the body), Content-Type into `l.content_type` ("" when absent and the
// body is empty, text/plain when absent with a body: Go would sniff it), the rest appended in
// order (repeated fields, Set-Cookie say, stay repeated).
void copy_response_fields(const FieldList& fields, LocalResponse& l);

// Status ranges ("500-599", "404"); errors name the bad entry.
using StatusRanges = std::vector<std::pair<int, int>>;
Result<StatusRanges> parse_status_ranges(const std::vector<std::string>& specs);
bool in_ranges(const StatusRanges& ranges, int status);
// The target of an error-page request: "/" + query without its leading '/', with {status},
// {originalStatus} and {url} (already escaped) replaced; "/" when query is empty.
std::string error_page_target(std::string_view query, int status, int original_status,
                              std::string_view escaped_url);

}  // namespace portier::proxy::mw
