// A hint to Asio's epoll reactor that a socket holds no data, after a read portier made itself.
//
// Asio keeps, per socket, a "may be readable" flag: a read that finds the flag set is first
// tried at once (a recv that fails with EAGAIN when nothing came), and only then waits for the
// next epoll event. Every readiness event the reactor collects sets the flag, also an event for
// bytes a speculative read has consumed already (epoll reports them after the fact); under load
// that left the flag set, for nothing, before 4 in 10 reads of a response (docs/performance.md).
// The peek that checks a pooled upstream connection before reuse (upstream_pool.cc) is such a
// read: when it finds nothing, mark_drained clears the flag, so the read of the response waits
// for epoll's next event without the failed recv. Bytes that arrive after the peek raise a new
// event, which sets the flag again: no readiness is lost.
//
// Reaches into Asio's reactor (its details): pinned to Boost 1.81's epoll reactor by
// static_asserts (reactor_hint.cc, asio_access.h). Call it on the thread that runs the
// socket's io_context, which only that thread runs (portier's workers), with no read pending
// on the socket.
#pragma once

#include <boost/asio/ip/tcp.hpp>

namespace portier::proxy {

void mark_drained(boost::asio::ip::tcp::socket& socket);

}  // namespace portier::proxy
