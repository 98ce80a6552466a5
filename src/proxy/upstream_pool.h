// Keep-alive connections to one upstream server, owned by one worker (shared-nothing: a worker
// never touches another worker's pool). A connection that has been idle for more than 200 ms
// is checked (one non-blocking peek) before reuse and by the worker's once-a-second sweep, so
// connections the server closed leave the pool instead of failing the next request; connections
// reused quickly cost no syscall at all. Bounded: at most max_idle idle connections (oldest
// closed first), each at most idle_timeout.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>

#include "proxy/buffer.h"
#include "proxy/deadline.h"

namespace portier::proxy {

struct UpstreamConn {
  UpstreamConn(const boost::asio::any_io_executor& ex, std::size_t buffer_size)
      : socket(ex), buffer(buffer_size) {}
  boost::asio::ip::tcp::socket socket;
  Buffer buffer;  // response bytes; empty whenever the connection is idle
};

class UpstreamPool {
 public:
  UpstreamPool(std::size_t max_idle, std::chrono::milliseconds idle_timeout)
      : max_idle_(max_idle), idle_timeout_(idle_timeout) {}
  ~UpstreamPool() { close_all(); }
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // The most recently used idle connection, or nullptr.
  std::unique_ptr<UpstreamConn> take();
  // Returns a connection after a clean exchange (no buffered bytes); may close it instead.
  void put(std::unique_ptr<UpstreamConn> conn);
  // Closes connections idle longer than the idle timeout.
  void sweep(Clock::time_point now);
  void close_all() { idle_.clear(); }
  std::size_t idle_count() const { return idle_.size(); }

 private:
  struct Idle {
    std::unique_ptr<UpstreamConn> conn;
    Clock::time_point since;
  };

  std::size_t max_idle_;
  std::chrono::milliseconds idle_timeout_;
  std::deque<Idle> idle_;  // back: most recent
};

}  // namespace portier::proxy
