#include "proxy/upstream_pool.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "proxy/h2_upstream.h"
#include "proxy/reactor_hint.h"

namespace portier::proxy {

bool idle_and_open(boost::asio::ip::tcp::socket& s) {
  char byte;
  ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // n > 0: bytes nobody asked for (the connection is in an unknown state); n == 0: the server
  // closed it; an error other than EAGAIN: reset.
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    mark_drained(s);  // the response's read waits for epoll instead of failing a recv first
    return true;
  }
  return false;
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
void UpstreamPool::close_all() {
  idle_.clear();
  for (auto& s : h2_) s->close();
  h2_.clear();
}

std::shared_ptr<H2Session> UpstreamPool::h2_take(std::uint64_t generation) {
  if (generation > generation_) {
    close_all();
    forget_session();
    generation_ = generation;
  }
  if (generation != generation_) return nullptr;
  std::erase_if(h2_, [](const std::shared_ptr<H2Session>& s) { return s->dead(); });
  for (auto& s : h2_) {
    if (s->usable()) return s;
  }
  return nullptr;
}

void UpstreamPool::h2_add(std::shared_ptr<H2Session> session, std::uint64_t generation) {
  if (generation > generation_) {
    close_all();
    forget_session();
    generation_ = generation;
  }
  if (generation != generation_) {
    session->retire();  // the id names another server now: no new streams, closes when idle
    return;
  }
  h2_.push_back(std::move(session));
}

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
  conn->buffer.shrink();  // an idle connection keeps one page, not a large body's block
  idle_.push_back(Idle{std::move(conn), Clock::now()});
}

void UpstreamPool::sweep(Clock::time_point now) {
  if (idle_timeout_.count() > 0) {
    while (!idle_.empty() && now - idle_.front().since > idle_timeout_) idle_.pop_front();
  }
  // Connections the server closed while they sat here: release them (and their CLOSE_WAIT
  // sockets) instead of keeping them until the idle timeout.
  std::erase_if(idle_, [](Idle& i) { return !idle_and_open(*i.conn); });
  // HTTP/2 connections: the dead ones go, and those without a stream for the idle timeout close.
  std::erase_if(h2_, [&](std::shared_ptr<H2Session>& s) {
    if (s->dead()) return true;
    if (idle_timeout_.count() > 0 && s->idle() && now - s->idle_since() > idle_timeout_) {
      s->close();
      return true;
    }
    return false;
  });
}

}  // namespace portier::proxy
