#include "proxy/upstream_pool.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace portier::proxy {

namespace {

// True when the peer has not closed the connection and sent nothing: a non-blocking peek sees
// no data (EAGAIN). One syscall; only spent on connections that sat idle long enough for the
// server to have given up on them.
bool still_open(boost::asio::ip::tcp::socket& s) {
  char byte;
  ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// A connection reused within this long is taken without a liveness check: servers close idle
// keep-alive connections after seconds, not milliseconds (Node's default is 5 s, nginx's 75 s).
constexpr auto kCheckAfter = std::chrono::milliseconds(200);

}  // namespace

std::unique_ptr<UpstreamConn> UpstreamPool::take() {
  const auto now = Clock::now();
  while (!idle_.empty()) {
    Idle entry = std::move(idle_.back());
    idle_.pop_back();
    const auto idle_for = now - entry.since;
    if (idle_timeout_.count() > 0 && idle_for > idle_timeout_) {
      continue;  // expired: closed by the unique_ptr
    }
    if (idle_for > kCheckAfter && !still_open(entry.conn->socket)) {
      continue;  // the server closed it (or sent bytes nobody asked for)
    }
    return std::move(entry.conn);
  }
  return nullptr;
}

void UpstreamPool::put(std::unique_ptr<UpstreamConn> conn) {
  if (max_idle_ == 0 || !conn->buffer.empty() || !conn->socket.is_open()) return;
  if (idle_.size() >= max_idle_) idle_.pop_front();
  idle_.push_back(Idle{std::move(conn), Clock::now()});
}

void UpstreamPool::sweep(Clock::time_point now) {
  if (idle_timeout_.count() > 0) {
    while (!idle_.empty() && now - idle_.front().since > idle_timeout_) idle_.pop_front();
  }
  // Connections the server closed while they sat here: release them (and their CLOSE_WAIT
  // sockets) instead of keeping them until the idle timeout.
  std::erase_if(
      idle_, [now](Idle& i) { return now - i.since > kCheckAfter && !still_open(i.conn->socket); });
}

}  // namespace portier::proxy
