// Keep-alive connections to one upstream server, owned by one worker (shared-nothing: a worker
// never touches another worker's pool). Idle connections are watched: when the server closes one
// (or sends unsolicited bytes), it leaves the pool at once instead of failing the next request.
// Bounded: at most max_idle idle connections (oldest closed first), each at most idle_timeout.
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
    std::uint64_t gen;
    Clock::time_point since;
  };
  void on_readable(std::uint64_t gen);

  std::size_t max_idle_;
  std::chrono::milliseconds idle_timeout_;
  std::deque<Idle> idle_;  // back: most recent
  std::uint64_t next_gen_ = 0;
};

}  // namespace portier::proxy
