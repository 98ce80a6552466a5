// The HTTP/2 codec of a client connection (RFC 9113, framing and HPACK by nghttp2): ALPN h2 on
// TLS entrypoints, or the connection preface on plain ones (h2c with prior knowledge). Each
// request stream runs the same request code as HTTP/1.1 (serve_requests, one request, over the
// stream's pipe: h2_stream.h), so routing, middlewares and load balancing do not know which
// protocol the request came in on.
//
// Limits and defences: SETTINGS_MAX_CONCURRENT_STREAMS from entryPoints.<ep>.http2
// .maxConcurrentStreams, and as many request handlers alive at once at most (a stream the
// client resets still counts until its handler has stopped, so resetting streams cannot pile
// up work: CVE-2023-44487, together with nghttp2's reset rate limit); the header block is
// bounded by the entrypoint's maxHeaderBytes (SETTINGS_MAX_HEADER_LIST_SIZE, 431 past it, the
// connection closed past twice that, which also ends CONTINUATION floods, CVE-2024-27316,
// along with nghttp2's own CONTINUATION limit); the HPACK table by maxDecoderHeaderTableSize;
// SETTINGS and PING floods by nghttp2's limit on queued acknowledgements; empty DATA frames
// by a count. Flow control: 256 KiB per stream, 1 MiB per connection, reopened as the request
// code reads (back-pressure to the client); responses wait for the client's windows.
//
// Timeouts: readHeaderTimeout for the first frames, idleTimeout while no stream is open (then
// GOAWAY), writeTimeout for each write to the socket; each stream's request code keeps its own
// read and write deadlines. On shutdown (the worker drains) the connection sends GOAWAY, lets
// its open streams finish and closes.
//
// Threading: the worker that accepted the connection; stream handlers are coroutines on it.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "entrypoints/entrypoint.h"
#include "entrypoints/session.h"
#include "proxy/buffer.h"
#include "proxy/client_stream.h"

namespace portier::entrypoints {

class Worker;
struct SessionHandle;

// Serves the connection as HTTP/2 until it ends. `buffer` holds bytes already read (the
// preface, or nothing after a TLS handshake). `handle` is the connection's, registered with the
// worker (idle while no stream is open).
boost::asio::awaitable<Ended> serve_h2(Worker& worker, const EntryPointSpec& ep,
                                       proxy::ClientStream& socket, proxy::Buffer& buffer,
                                       SessionHandle& handle, const Peer& peer);

}  // namespace portier::entrypoints
