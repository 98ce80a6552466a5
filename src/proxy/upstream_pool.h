// Keep-alive connections to one upstream server, owned by one worker (shared-nothing: a worker
// never touches another worker's pool).
//
// A connection is reused only in a known state: after a clean exchange with nothing buffered
// beyond the response (put refuses it otherwise), and, at every take, after one non-blocking
// peek shows that nothing arrived since and the server has not closed it. Bytes nobody asked
// for (a server answering twice, or late) would otherwise be read as the next client's
// response. The worker's once-a-second sweep also releases connections the server closed.
// Bounded: at most max_idle idle connections (oldest closed first), each at most idle_timeout.
//
// Server ids are recycled when URLs go away (TableBuilder), so each pool belongs to one
// incarnation of its id (`generation`, increasing): a connection of an older incarnation is
// never handed to a newer one, nor pooled again after the id moved on.
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
  UpstreamConn(const boost::asio::any_io_executor& ex, std::size_t buffer_size,
               std::uint64_t server_generation)
      : socket(ex), buffer(buffer_size), generation(server_generation) {}
  boost::asio::ip::tcp::socket socket;
  Buffer buffer;  // response bytes; empty whenever the connection is idle
  std::uint64_t generation;  // the ServerTarget::generation it was dialled for
};

class UpstreamPool {
 public:
  UpstreamPool(std::size_t max_idle, std::chrono::milliseconds idle_timeout)
      : max_idle_(max_idle), idle_timeout_(idle_timeout) {}
  ~UpstreamPool() { close_all(); }
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // The most recently used idle connection of this server incarnation that is still open and
  // holds no unread bytes, or nullptr. One MSG_PEEK per candidate. A newer `generation` than
  // the pool's closes what the pool holds (the id now names another server).
  std::unique_ptr<UpstreamConn> take(std::uint64_t generation);
  // Returns a connection after a clean exchange (no buffered bytes); closes it instead when it
  // is not reusable, belongs to another incarnation, or the pool is full.
  void put(std::unique_ptr<UpstreamConn> conn);
  // Closes connections idle longer than the idle timeout, or closed by the server, or that
  // received bytes while idle.
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
  std::uint64_t generation_ = 0;
  std::deque<Idle> idle_;  // back: most recent
};

// True when the peer has neither sent anything nor closed: a non-blocking peek finds no data
// (EAGAIN). Exposed for tests.
bool idle_and_open(boost::asio::ip::tcp::socket& s);

}  // namespace portier::proxy
