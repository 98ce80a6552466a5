#include "proxy/upstream_pool.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace portier::proxy {

bool idle_and_open(boost::asio::ip::tcp::socket& s) {
  char byte;
  ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // n > 0: bytes nobody asked for (the connection is in an unknown state); n == 0: the server
  // closed it; an error other than EAGAIN: reset.
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

bool idle_and_open(UpstreamConn& c) {
  if (c.stream.is_tls() && SSL_has_pending(c.stream.tls().native_handle()) == 1) return false;
  return idle_and_open(c.stream.socket());
}

void UpstreamPool::keep_session(UpstreamConn& conn) {
  if (conn.session == nullptr || conn.generation != generation_) return;
  forget_session();
  session_ = conn.session;
  conn.session = nullptr;
}

// Every reuse is checked, however short the idle time: a server that answers twice, or writes
// late, makes the next client read a response meant for somebody else. The peek costs about
// half a microsecond against the tens a proxied request costs.
std::unique_ptr<UpstreamConn> UpstreamPool::take(std::uint64_t generation) {
  if (generation > generation_) {
    close_all();
    forget_session();
    generation_ = generation;
  }
  if (generation != generation_) return nullptr;  // a retired incarnation: dial afresh
  const auto now = Clock::now();
  while (!idle_.empty()) {
    Idle entry = std::move(idle_.back());
    idle_.pop_back();
    if (idle_timeout_.count() > 0 && now - entry.since > idle_timeout_) {
      continue;  // expired: closed by the unique_ptr
    }
    if (!idle_and_open(*entry.conn)) continue;
    return std::move(entry.conn);
  }
  return nullptr;
}

void UpstreamPool::put(std::unique_ptr<UpstreamConn> conn) {
  if (conn->generation > generation_) {
    close_all();
    forget_session();
    generation_ = conn->generation;
  }
  keep_session(*conn);
  if (max_idle_ == 0 || conn->generation != generation_ || !conn->buffer.empty() ||
      !conn->stream.is_open()) {
    return;
  }
  if (idle_.size() >= max_idle_) idle_.pop_front();
  idle_.push_back(Idle{std::move(conn), Clock::now()});
}

void UpstreamPool::sweep(Clock::time_point now) {
  if (idle_timeout_.count() > 0) {
    while (!idle_.empty() && now - idle_.front().since > idle_timeout_) idle_.pop_front();
  }
  // Connections the server closed while they sat here: release them (and their CLOSE_WAIT
  // sockets) instead of keeping them until the idle timeout.
  std::erase_if(idle_, [](Idle& i) { return !idle_and_open(*i.conn); });
}

}  // namespace portier::proxy
