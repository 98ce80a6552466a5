// The forwarder: one request/response exchange between a client connection and an upstream
// server, with bodies streamed in both directions under back-pressure (never buffered whole),
// 1xx responses relayed, `Upgrade` turned into a two-way tunnel, and hop-by-hop and
// X-Forwarded-* fields rewritten.
//
// Threading: runs on the worker that owns the client connection, using that worker's pools.
// Failure: errors become 502 (refused, reset, malformed response) or 504 (timeout) when nothing
// has been sent to the client yet; otherwise the client connection is closed. A request is sent
// again, once, to another server only when it cannot have been processed: the connection could
// not be made, or it is idempotent, bodiless and no response byte came back (never after a
// timeout). The route's retry middleware raises the number of tries to its `attempts`, waits
// (exponential backoff) before each retry of a failed server, and lets bodiless requests of any
// method be retried. A server that refuses or resets a new connection is passively marked down
// on the worker (WorkerState::mark_down).
//
// Weighted, failover and mirroring services are walked down to a load balancer at each try
// (WorkerState::resolve), so a retry after a failure may go to the failover's fallback. Mirrors
// get their copies after the exchange, in the background (proxy/mirror.h): they never delay or
// fail the client's response.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/static_config.h"
#include "proxy/buffer.h"
#include "proxy/client_stream.h"
#include "proxy/deadline.h"
#include "proxy/http/message.h"
#include "proxy/pipeline/filter.h"
#include "proxy/pipeline/stream.h"
#include "proxy/routing_table.h"
#include "proxy/upstream_stream.h"
#include "proxy/worker_state.h"

namespace portier::proxy {

// A copy of the request body kept for mirrors while the body streams to the main service.
// Bounded: past `limit` bytes the copy is dropped (`overflow`) and the body is not mirrored.
struct BodyTee {
  std::string data;
  std::uint64_t limit = 0;
  bool overflow = false;
  bool complete = false;  // the whole body went through
};

// What the forwarder needs from the client side. Everything is borrowed from the session.
struct ClientContext {
  ClientStream& socket;
  Buffer& buffer;                 // bytes after the request head (body, next pipelined request)
  const http::RequestHead& head;  // views into buffer, valid until the body is read
  const http::RequestInfo& info;
  std::string_view target;  // origin-form target to send (after middleware path steps)
  Stream& stream;           // middlewares' edits, the retry policy, a buffered body, the record
  const Chain& chain;       // the route's filters: response hooks of the first `ran` run
  std::size_t ran;
  const config::EntryPoint& entrypoint;
  std::string_view entrypoint_port;  // for X-Forwarded-Port when the Host has none
  std::string_view peer_ip;
  bool trusted_peer = false;  // may set X-Forwarded-* (forwardedHeaders.trustedIPs)
  const bool* draining;       // the worker is shutting down: answer with Connection: close
  std::string& scratch;       // reused for serialized heads: no allocation once warm
  // Set to the upstream stream while one is in use, so a forced shutdown can close it (and a
  // reset HTTP/2 client stream cancel it).
  UpstreamStream** upstream_slot = nullptr;
  BodyTee* tee = nullptr;  // set by forward() for mirrored requests with a body
};

// KeepAlive, Close: the response was written (or the client is gone). Local: nothing was
// written; stream.local holds the answer (an error, 503, or a middleware's replacement: then
// stream.replace_by names the filter whose replace() makes it), which the codec writes.
enum class Outcome { KeepAlive, Close, Local };

// A Deadline callback that cancels the operations pending on the tcp::socket `ctx` points to.
void cancel_socket(void* ctx);
// The same for the UpstreamStream `ctx` points to (a socket, or an HTTP/2 stream's pipe).
void cancel_upstream(void* ctx);
// The same for the ClientStream `ctx` points to (a socket, or an HTTP/2 stream's pipe).
void cancel_client(void* ctx);

boost::asio::awaitable<Outcome> forward(WorkerState& worker, ClientContext& client,
                                        const ServiceTarget& service);

// The head of the request as `server` of `svc` gets it, up to its body framing and final CRLF:
// request line (target after path steps), Host, the client's fields less hop-by-hop ones and
// those header middlewares replace, X-Forwarded-*, X-Real-Ip, the middlewares' fields. `copy`
// (a mirror's copy): also leaves out Content-Length, Transfer-Encoding and Expect.
void append_request_head(const ClientContext& c, const ServiceTarget& svc,
                         const ServerTarget& server, std::string_view hostname, bool copy,
                         std::string& out);

// The response head as the client gets it (into `out`, replacing its content): status line with
// the server's reason, the server's fields less hop-by-hop ones and those `response_headers`
// replace or remove, the edits, `set_cookie` (complete field lines, for final and 101 responses), then
// Upgrade for a 101, or Transfer-Encoding: chunked (`chunk_out`) and Connection for a final one
// (`close_client`; keep-alive for an HTTP/1.0 client), and the final CRLF.
void append_response_head(const http::ResponseHead& head,
                          const std::vector<HeaderEdit>& response_headers,
                          std::string_view set_cookie, int client_version_minor, bool chunk_out,
                          bool close_client, std::string& out);

// Writes a local answer (stream.local) with the response edits: Content-Type and Content-Length
// from it, its fields, then the edits middlewares made. `close` (or local.close) closes the
// connection after it. Fills record.status.
boost::asio::awaitable<Outcome> write_local(WorkerState& worker, ClientStream& socket,
                                            std::string& scratch, Stream& stream, bool close,
                                            std::chrono::milliseconds write_timeout,
                                            bool head_request);

// Writes a complete short response (`<reason>\n` as text/plain) and reports whether the client
// connection may be kept. `close` adds Connection: close. `head_request`: the answer to HEAD,
// whose fields describe the body but which carries none.
boost::asio::awaitable<Outcome> respond_status(WorkerState& worker, ClientStream& socket,
                                               std::string& scratch, int status, bool close,
                                               std::chrono::milliseconds write_timeout,
                                               std::string_view body = {},
                                               std::string_view extra_fields = {},
                                               bool head_request = false);

}  // namespace portier::proxy
