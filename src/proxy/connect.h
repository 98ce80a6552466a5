// Connecting to a server with fewer system calls than Asio's async_connect makes.
//
// Asio opens the socket with socket(2), makes it non-blocking with ioctl(FIONBIO) on the first
// operation, and when the reactor reports the connect finished, calls poll(2) to ask again
// before getsockopt(SO_ERROR). Here the socket is made non-blocking (and close-on-exec) by
// socket(2) itself, TCP_NODELAY is set before the connect (every caller wants it; Linux keeps
// it), and the reactor's writability event is taken as the answer: getsockopt(SO_ERROR) tells
// whether it connected. A descriptor socket(2) just returned has no duplicate, so Asio does not
// call epoll_ctl(EPOLL_CTL_DEL) before closing it either (as entrypoints/accept.h does for
// accepted sockets). Per new connection: socket, setsockopt, connect, epoll_ctl twice (add, and
// Asio's one for the write interest), getsockopt; Asio's way made ioctl and poll as well.
//
// Threading: the socket's worker (the coroutine runs on its executor).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace portier::proxy {

// Opens `socket` (closing what it held) for `to`'s protocol, registers it with its executor's
// reactor and connects it, TCP_NODELAY set. The error is the connect's (connection_refused,
// ...), operation_aborted when the socket was cancelled (a Deadline) while the connect waited,
// or the socket's creation's (EMFILE, ...). On error the socket may be left open: the caller
// closes or drops it.
boost::asio::awaitable<boost::system::error_code> connect(boost::asio::ip::tcp::socket& socket,
                                                         const boost::asio::ip::tcp::endpoint& to);

}  // namespace portier::proxy
