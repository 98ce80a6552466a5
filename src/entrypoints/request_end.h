// What a session reports when a request ends: one observation to the worker's metrics shard and
// one record to the access log. Nothing here formats text or takes a lock; the access log's
// record is filled in place in a slot of the worker's own queue (AccessLog::begin/commit).
//
// The request head's views do not outlive a streamed body (the bytes that held them are reused),
// so what the access log needs of the head is copied at the start (RequestCapture, only when an
// access log is configured; its strings keep their capacity across a connection's requests).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "observability/metrics.h"
#include "proxy/http/parser.h"
#include "proxy/pipeline/stream.h"

namespace portier::entrypoints {

class Worker;
struct EntryPointSpec;

struct RequestCapture {
  bool log = false;  // an access log wants this request's details
  std::uint8_t method = 0;
  int version_minor = 1;
  bool http2 = false;  // the request came on an HTTP/2 stream (its head was rebuilt as 1.1)
  std::uint64_t request_count = 0;  // RequestCount, given when the request arrived
  observability::Protocol protocol = observability::Protocol::Http;
  // The access log's, only when `log`:
  std::chrono::system_clock::time_point wall_start;
  SSL* ssl = nullptr;  // the connection's TLS session, or null
  std::string method_text, target, host, forwarded_for;
  std::vector<std::pair<std::string, std::string>> headers;  // only when the log wants headers
  std::size_t header_count = 0;                               // entries of `headers` in use
  proxy::ResponseCopies response;  // filled by the forwarder through Stream::response_copies
  // What the session sets Stream::response_copies to: null unless the log keeps headers.
  proxy::ResponseCopies* response_copies() { return log && wants_headers ? &response : nullptr; }
  bool wants_headers = false;
};

// At the start of a request (the head parsed; before any body byte is read). Cheap when neither
// metrics nor an access log is on.
// `trusted`: the peer is in forwardedHeaders.trustedIPs (its X-Forwarded-For is the client).
void capture_request(Worker& worker, const http::RequestHead& head, SSL* ssl, bool trusted,
                     RequestCapture& out);

// When the request is over (answered, or the connection failed). `stream` holds the record.
void report_request(Worker& worker, const EntryPointSpec& ep, const proxy::Stream& stream,
                    const RequestCapture& capture, const boost::asio::ip::tcp::endpoint& peer);

}  // namespace portier::entrypoints
