#include "entrypoints/accept.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <cerrno>
#include <cstring>

#include "proxy/asio_access.h"

namespace portier::entrypoints {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

error_code prepare_listener(tcp::acceptor& listener) {
  error_code ec;
  listener.non_blocking(true, ec);
  if (ec) return ec;
  int one = 1;
  if (::setsockopt(listener.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    ec.assign(errno, boost::system::system_category());
  }
  return ec;
}

error_code accept_now(tcp::acceptor& listener, tcp::socket& sock, tcp::endpoint& peer) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  int fd;
  do {
    fd = ::accept4(listener.native_handle(), reinterpret_cast<sockaddr*>(&addr), &len,
                   SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return asio::error::would_block;
    return {errno, boost::system::system_category()};
  }
  error_code ec;
  sock.assign(addr.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    return ec;
  }
  namespace ops = asio::detail::socket_ops;
  auto& state = proxy::socket_impl(sock).state_;  // Asio's state bits (asio_access.h)
  state |= ops::internal_non_blocking;  // accept4 made it so
  state &= ~ops::possible_dup;          // nobody else holds this descriptor
  std::memcpy(peer.data(), &addr, std::min<std::size_t>(len, sizeof(sockaddr_in6)));
  peer.resize(std::min<std::size_t>(len, sizeof(sockaddr_in6)));
  return {};
}

}  // namespace portier::entrypoints
