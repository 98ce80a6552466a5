// Sending what a plain TCP socket takes at once, before a waiting write is started.
//
// An Asio write that completes at once still hands its completion to the back of the worker's
// queue (Boost 1.81 posts every immediate completion): the coroutine resumes only after
// everything queued before it. That turn costs instructions on every request, and latency
// when the queue is long (a worker busy with TLS handshakes holds a finished response behind
// all of them). A request or response head, with the body when it is small, nearly always fits
// into the socket's send buffer: send_now sends it inline with one sendmsg, and only what the
// socket did not take is left to async_write, which waits for room as before (under the
// caller's deadline).
//
// Only for a plain TCP socket (ClientStream::write_now and UpstreamStream::write_now call it
// for theirs: TLS records go through TlsSocket or ssl::stream, an HTTP/2 stream's bytes through
// its pipe) with no write pending on it. Never blocks (MSG_DONTWAIT) and never raises SIGPIPE
// (MSG_NOSIGNAL).
//
// Threading: the socket's worker.
#pragma once

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <span>

namespace portier::proxy {

// Sends from `bufs` what `socket` takes now and drops what was sent from the front of `bufs`.
// Returns true when nothing is left to do: everything went, or the socket failed (`ec`, as
// async_write would have reported it). Returns false, with `ec` clear, when the rest of `bufs`
// (all of it if `socket` is null, closed, or full) is for async_write. At most 64 buffers go
// in one call; any after them are left for async_write too.
bool send_now(boost::asio::ip::tcp::socket* socket, std::span<boost::asio::const_buffer> bufs,
              boost::system::error_code& ec);

inline bool send_now(boost::asio::ip::tcp::socket* socket, boost::asio::const_buffer& buf,
                     boost::system::error_code& ec) {
  return send_now(socket, std::span<boost::asio::const_buffer>(&buf, 1), ec);
}

}  // namespace portier::proxy
