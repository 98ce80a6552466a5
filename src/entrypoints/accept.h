// Accepting connections with fewer system calls than Asio's async_accept makes.
//
// Asio accepts with accept(2), then calls ioctl(FIONBIO) on the socket's first operation, and
// at close calls epoll_ctl(EPOLL_CTL_DEL) before close(2): it cannot know that no duplicate of
// an assigned descriptor exists, and close(2) removes a descriptor from epoll only when it is
// the last one. accept4(SOCK_NONBLOCK | SOCK_CLOEXEC) makes the socket non-blocking in the same
// call, and a descriptor accept4 just returned has no duplicate, so both calls go. TCP_NODELAY
// is set once on the listening socket (Linux copies it to every accepted socket).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace portier::entrypoints {

// Makes `listener` non-blocking (accept_now never waits) and sets TCP_NODELAY on it, for the
// sockets it accepts.
boost::system::error_code prepare_listener(boost::asio::ip::tcp::acceptor& listener);

// One connection from `listener`'s queue without waiting: `sock` (closed on entry) is set and
// registered with its executor's reactor, `peer` is the client. would_block when the queue is
// empty (wait for the listener to become readable, then call again); other errors are
// accept4's (ECONNABORTED: that client went away; EMFILE, ENFILE, ENOBUFS: back off).
boost::system::error_code accept_now(boost::asio::ip::tcp::acceptor& listener,
                                     boost::asio::ip::tcp::socket& sock,
                                     boost::asio::ip::tcp::endpoint& peer);

}  // namespace portier::entrypoints
