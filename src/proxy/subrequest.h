// A small HTTP/1.1 client for requests a middleware makes on its own account: forwardAuth's
// request to the authentication server, the errors middleware's request for an error page.
//
// One connection per sub-request, always `Connection: close`: these requests are rare next to
// the proxied ones (one per request that reaches an auth-protected router, one per error page),
// and a fresh connection keeps the client free of pool state. A pool can come later if auth
// servers ever show up in profiles.
//
// Names are resolved with Asio's asynchronous resolver (getaddrinfo on Asio's resolver thread,
// never on the worker); IP literals are not resolved at all. TLS uses an SSL_CTX made once by
// the caller (make_client_tls, on the control plane) and shared by every worker. Response bytes
// are parsed only by proxy/http (the project's one parser).
//
// Threading: send_subrequest runs on the worker whose WorkerState it gets, as a coroutine that
// suspends the calling request only. Failure: a SubError, never an exception.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace portier::proxy {

class WorkerState;

// Where a sub-request goes.
struct SubTarget {
  std::string host;  // name or IP literal (no brackets): resolved, and the TLS server name
  std::string port;  // numeric
  std::optional<boost::asio::ip::tcp::endpoint> endpoint;  // set: used as is, no resolution
  std::shared_ptr<boost::asio::ssl::context> tls;          // null: plain HTTP
  bool verify = true;  // TLS: check the certificate's chain and that it names `host`
};

struct SubRequest {
  std::string_view method;
  // The request line and fields, each line ending in CRLF, without Connection, Content-Length,
  // Transfer-Encoding and the final CRLF (send_subrequest adds those).
  std::string_view head;
  std::optional<std::string_view> body;  // sent with Content-Length; nullopt: no body
  std::chrono::milliseconds timeout{30000};  // the whole exchange, resolution included
  std::uint64_t max_body = 1 << 20;          // longer response bodies fail with TooLarge
};

struct SubResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> fields;  // as sent, in order
  std::string body;                                         // decoded
  // The first field of that name (case-insensitive), or nullptr.
  const std::string* field(std::string_view name) const;
};

enum class SubError { None, Resolve, Connect, Tls, Io, Timeout, Malformed, TooLarge };
std::string_view describe(SubError e);

struct SubResult {
  SubError error = SubError::None;
  SubResponse response;
};

boost::asio::awaitable<SubResult> send_subrequest(WorkerState& worker, const SubTarget& target,
                                                  const SubRequest& request);

// TLS settings of a sub-request client (forwardAuth.tls): `ca`, `cert`, `key` are file paths or
// PEM text; an empty `ca` trusts the system's roots. Control plane only (reads files).
struct ClientTlsConfig {
  std::string ca;
  std::string cert;
  std::string key;
  bool insecure_skip_verify = false;
};
Result<std::shared_ptr<boost::asio::ssl::context>> make_client_tls(const ClientTlsConfig& c);

}  // namespace portier::proxy
