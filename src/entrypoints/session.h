// One client connection: reads request heads (bounded, strictly parsed), routes each request on
// the worker's current routing table and hands it to the forwarder; keep-alive and pipelining
// (requests answered in order). Runs on the worker that accepted the connection. A connection
// whose TLS handshake chose h2, or that opens with the HTTP/2 preface (h2c), goes to the HTTP/2
// codec (h2_connection.h), which runs each stream's request through serve_requests.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "entrypoints/entrypoint.h"
#include "entrypoints/request_end.h"
#include "proxy/buffer.h"
#include "proxy/client_stream.h"
#include "proxy/http/message.h"
#include "proxy/http/parser.h"
#include "proxy/pipeline/stream.h"

namespace portier::entrypoints {

class Worker;
struct SessionHandle;

// Who is at the other end of a connection.
struct Peer {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string ip;
  bool trusted = false;  // forwardedHeaders.trustedIPs
};

// How serving a connection ended.
enum class Ended {
  Closed,     // normally, or on an error answered
  PeerGone,   // the client closed or failed first: no TLS close_notify to send
  H2Preface,  // the client opened with the HTTP/2 preface: the connection is HTTP/2
  Parked,     // idle through a worker tick (SessionHandle::may_park): nothing read, nothing held
};

// The client connection preface of RFC 9113 3.4.
inline constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// What serving a request needs besides the connection, kept for the next request (a
// connection's next one, or an HTTP/2 connection's next stream): its strings and vectors keep
// their capacity, so a warm request allocates nothing here.
struct RequestScratch {
  std::string scratch;  // serialized heads
  http::RequestHead head;
  http::RequestInfo info;
  std::string decoded_path;     // only used when a path has %-escapes
  std::string path_buf;         // only used when a path needs normalizing
  std::string target_buf;       // the normalized path and the query
  std::string send_target_buf;  // the path middlewares rewrote, and the query
  proxy::Stream stream;
  RequestCapture capture;  // what the access log needs of the head
};

// A connection's read buffer and request scratch while it is served, which the worker keeps for
// its next connection when this one ends or is parked idle (session.cc): a new connection then
// costs no 16 KiB buffer allocation, and none of it lives in a coroutine frame (RequestScratch
// alone is several KiB, more than the 1020 bytes Asio recycles, so a frame holding it was
// allocated and freed per connection, evicting a smaller cached frame each time). The scratch
// itself is made anew each time, so nothing of one connection's requests reaches the next;
// only the capacity of its serialized-head string is kept.
struct ConnectionMemory {
  explicit ConnectionMemory(std::size_t capacity) : buffer(capacity) {}
  proxy::Buffer buffer;
  std::optional<RequestScratch> scratch;  // engaged while a connection uses it
  std::string spare_heads;                // RequestScratch::scratch's memory between connections
};

// Serves HTTP/1.1 requests from `socket` (bytes already read are in `buffer`) until the
// connection ends; with `one_request` (an HTTP/2 stream, whose pipe carries exactly one request),
// after the first response. `resumed`: a parked connection's client sent again (not its first
// bytes; the idle timeout runs on until handle.idle_until).
boost::asio::awaitable<Ended> serve_requests(Worker& worker, const EntryPointSpec& ep,
                                             proxy::ClientStream& socket, proxy::Buffer& buffer,
                                             SessionHandle& handle, const Peer& peer,
                                             RequestScratch& rs, bool one_request,
                                             bool resumed = false);

boost::asio::awaitable<void> run_session(Worker& worker, const EntryPointSpec& entrypoint,
                                         boost::asio::ip::tcp::socket socket,
                                         boost::asio::ip::tcp::endpoint peer);

}  // namespace portier::entrypoints
