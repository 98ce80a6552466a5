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
// read_now applies the same rule to reads portier makes itself, as nginx reads: a recv only
// when the reactor has seen the socket readable since the last read that emptied it, and a
// read that returns less than the room it had (the socket had no more) marks it drained. Asio
// clears its flag only at end of file, so after each request read its next read was tried at
// once and failed whenever the client had not sent again yet; and a read Asio completes at
// once still resumes its coroutine only after everything queued on the worker before it.
//
// Reaches into Asio's reactor (its details): pinned to Boost 1.81's epoll reactor by
// static_asserts (reactor_hint.cc, asio_access.h). Call it on the thread that runs the
// socket's io_context, which only that thread runs (portier's workers), with no read pending
// on the socket.
#pragma once

#include <boost/asio/ip/tcp.hpp>

namespace portier::proxy {

void mark_drained(boost::asio::ip::tcp::socket& socket);

// Reads into `buf` what `socket` holds now. Returns true when the read is over: `n` bytes (more
// than 0), or `ec` (eof when the peer ended, or a failure). Returns false, with `ec` clear,
// when nothing is there: the flag is then clear, and the caller starts async_read_some at once
// (before anything else runs on the worker). Asio then queues the read without a system call
// and performs it on the next epoll event; its completion goes to read_done.
bool read_now(boost::asio::ip::tcp::socket& socket, boost::asio::mutable_buffer buf,
              std::size_t& n, boost::system::error_code& ec);

// After that async_read_some read `n` bytes into `room`: a short read marks the socket drained.
// Sound because the read was queued, so the reactor performed it on an event and completed it
// at once, in the same turn, with no epoll_wait since its recv; it takes that nothing else
// (a write) is pending on the socket, or the reactor would post the read's completion instead.
void read_done(boost::asio::ip::tcp::socket& socket, std::size_t n, std::size_t room);

}  // namespace portier::proxy
