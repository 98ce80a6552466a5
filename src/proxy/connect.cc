#include "proxy/connect.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>

#include "proxy/asio_access.h"

namespace portier::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

error_code last_error() { return {errno, boost::system::system_category()}; }

// A non-blocking, close-on-exec TCP socket for `to`'s family, TCP_NODELAY set, registered with
// `socket`'s reactor and flagged for Asio as non-blocking and without duplicates.
error_code open(tcp::socket& socket, const tcp::endpoint& to) {
  error_code ec;
  socket.close(ec);
  const int fd = ::socket(to.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          IPPROTO_TCP);
  if (fd < 0) return last_error();
  int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    ec = last_error();
    ::close(fd);
    return ec;
  }
  socket.assign(to.protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    return ec;
  }
  namespace ops = asio::detail::socket_ops;
  auto& state = socket_impl(socket).state_;  // Asio's state bits (asio_access.h)
  state |= ops::internal_non_blocking;        // SOCK_NONBLOCK made it so
  state &= ~ops::possible_dup;                // nobody else holds this descriptor
  return {};
}

}  // namespace

asio::awaitable<error_code> connect(tcp::socket& socket, const tcp::endpoint& to) {
  if (error_code ec = open(socket, to)) co_return ec;
  const int fd = socket.native_handle();
  if (::connect(fd, to.data(), static_cast<socklen_t>(to.size())) == 0) co_return error_code{};
  // EINTR: the connect goes on in the background, as EINPROGRESS says.
  if (errno != EINPROGRESS && errno != EINTR) co_return last_error();
  // Writable (or an error or hang-up event) once the handshake ended either way.
  auto [wec] = co_await socket.async_wait(tcp::socket::wait_write,
                                          asio::as_tuple(asio::use_awaitable));
  if (wec) co_return wec;
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) co_return last_error();
  co_return error_code(err, boost::system::system_category());
}

}  // namespace portier::proxy
