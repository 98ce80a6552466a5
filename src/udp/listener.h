// One worker's socket on a UDP entrypoint and the sessions behind it (Traefik's pkg/udp/conn.go
// and proxy.go). A session is one client address (ip:port): its first datagram picks a server
// and opens a connected socket to it; datagrams then flow both ways until `timeout` passes
// without one. The kernel's SO_REUSEPORT hash of the 4-tuple keeps a client on one worker's
// socket, so a session lives on one worker, without locks.
//
// Bounded: one 64 KiB buffer per listener (every datagram fits), at most `max_sessions`
// sessions (the least recently active is closed for a new one), no queues: a datagram that
// cannot be sent at once (the socket's send buffer is full) is dropped, as the network would.
// Worker thread only, after construction.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace portier::udp {

class Listener {
 public:
  // The server endpoint for a new session, or nullopt (no router, no server: dropped).
  using Pick = std::function<std::optional<boost::asio::ip::udp::endpoint>()>;

  Listener(boost::asio::io_context& io, boost::asio::ip::udp::socket socket,
           std::chrono::milliseconds timeout, Pick pick, std::size_t max_sessions = 10000);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void start();
  // Stops reading and closes every session (shutdown).
  void close();
  std::size_t sessions() const { return by_client_.size(); }

 private:
  struct Session {
    explicit Session(boost::asio::io_context& io) : upstream(io), timer(io) {}
    boost::asio::ip::udp::endpoint client;
    boost::asio::ip::udp::socket upstream;
    boost::asio::steady_timer timer;
    std::chrono::steady_clock::time_point last;
    std::list<Session*>::iterator lru;
    bool closed = false;
  };
  using SessionPtr = std::shared_ptr<Session>;

  void wait_client();
  void on_client_readable();
  void wait_upstream(const SessionPtr& s);
  void on_upstream_readable(const SessionPtr& s);
  void arm_timer(const SessionPtr& s);
  SessionPtr open_session(const boost::asio::ip::udp::endpoint& client);
  void end_session(Session& s);
  void touch(Session& s);

  boost::asio::io_context& io_;
  boost::asio::ip::udp::socket socket_;
  std::chrono::milliseconds timeout_;
  Pick pick_;
  std::size_t max_sessions_;
  std::vector<char> buffer_;
  std::unordered_map<boost::asio::ip::udp::endpoint, SessionPtr> by_client_;
  std::list<Session*> lru_;  // front: the most recently active
  bool closed_ = false;
};

}  // namespace portier::udp
