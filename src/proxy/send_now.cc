#include "proxy/send_now.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/error.hpp>
#include <cerrno>

namespace portier::proxy {

bool send_now(boost::asio::ip::tcp::socket* socket, std::span<boost::asio::const_buffer> bufs,
              boost::system::error_code& ec) {
  const std::size_t count = bufs.size();
  ec.clear();
  if (socket == nullptr || !socket->is_open()) return false;
  constexpr std::size_t kMaxIov = 64;  // body_copy.h's gather writes take up to 52
  iovec iov[kMaxIov];
  std::size_t n = 0;
  for (std::size_t i = 0; i < count && n < kMaxIov; ++i) {
    if (bufs[i].size() == 0) continue;
    iov[n].iov_base = const_cast<void*>(bufs[i].data());
    iov[n].iov_len = bufs[i].size();
    ++n;
  }
  if (n == 0) return true;  // nothing to send
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  ssize_t sent;
  do {
    sent = ::sendmsg(socket->native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    ec.assign(errno, boost::asio::error::get_system_category());
    return true;
  }
  // Drop what went from the front; the rest (if any) stays for async_write.
  auto left = static_cast<std::size_t>(sent);
  bool rest = false;
  for (std::size_t i = 0; i < count; ++i) {
    if (left >= bufs[i].size()) {
      left -= bufs[i].size();
      bufs[i] = boost::asio::const_buffer();
    } else {
      bufs[i] += left;
      left = 0;
      rest = rest || bufs[i].size() > 0;
    }
  }
  return !rest;
}

}  // namespace portier::proxy
