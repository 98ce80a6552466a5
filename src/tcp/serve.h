// The pre-HTTP part of a connection: the PROXY protocol header, then Traefik's dispatch between
// TCP routers and the HTTP routers (pkg/server/router/tcp/router.go ServeTCP), and, when a TCP
// router takes the connection, the byte pipe to its service. Runs inside the session coroutine on
// the worker that accepted the connection.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "proxy/buffer.h"
#include "proxy/client_stream.h"
#include "proxy/deadline.h"
#include "proxy/middlewares/ip_strategy.h"
#include "tcp/table.h"
#include "tls/context.h"

namespace portier::tcp {

// What the session lends for the pre-HTTP phase; all references outlive the call.
struct Connection {
  proxy::ClientStream& client;
  proxy::Buffer& buffer;  // bytes read stay here for the HTTP session when it goes on
  proxy::DeadlineWheel& wheel;
  boost::asio::ip::tcp::endpoint& peer;  // replaced by the PROXY header's source
  std::string_view entrypoint;           // its name, for logs
  std::chrono::milliseconds first_bytes_timeout;  // for the PROXY header and the ClientHello
  std::chrono::milliseconds idle_timeout;         // of a piped connection; 0: none
  // entryPoints.<ep>.proxyProtocol: null when not configured.
  const std::optional<proxy::mw::IpMatcher>* proxy_trusted = nullptr;
  bool proxy_insecure = false;
  bool proxy_enabled = false;
  // The TCP routes of this entrypoint (null: none) and what TLS termination needs.
  const EntryPointRoutes* routes = nullptr;
  tls::ServerContext* tls_context = nullptr;
  const tls::Store* store = nullptr;
  bool* idle = nullptr;                          // true while waiting for the first bytes
  boost::asio::ip::tcp::socket** upstream = nullptr;  // the backend while piping (for abort)
};

enum class Next {
  Http,  // go on with the HTTP session (the buffer holds what was read)
  Done,  // the connection was served or refused: close it
};

// Reads the PROXY header when configured (refusing one from an untrusted peer), then lets a TCP
// router take the connection. Never throws; errors end in Next::Done.
boost::asio::awaitable<Next> serve(Connection& c);

}  // namespace portier::tcp
