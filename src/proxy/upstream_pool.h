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

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "proxy/buffer.h"
#include "proxy/deadline.h"
#include "proxy/http/parser.h"
#include "proxy/upstream_stream.h"

namespace portier::proxy {

// TLS connections (https:// servers) are pooled with their TLS state, and checked the same way:
// a record the server sent while idle (a close_notify, an unexpected response) is unread data
// on the socket, and bytes OpenSSL already decrypted count too. The pool also keeps the last
// TLS session a server issued on this worker, so the next dial resumes it (one abbreviated
// handshake instead of a full one).
struct Transport;
class H2Session;
class H2UpstreamStream;

struct UpstreamConn {
  // The buffer starts with one page and grows to `buffer_size` for a larger head or body
  // (proxy/buffer.h), and gives the larger block back when the connection goes to the pool.
  static constexpr std::size_t kInitialBuffer = 4 * 1024;
  UpstreamConn(const boost::asio::any_io_executor& ex, std::size_t buffer_size,
               std::uint64_t server_generation)
      : stream(ex), buffer(buffer_size, kInitialBuffer), generation(server_generation) {}
  ~UpstreamConn() {
    if (session != nullptr) SSL_SESSION_free(session);
    // Closed by us (idle, or after an exchange): not a broken session. Without this, OpenSSL
    // would mark the session it resumed (the pool's, shared) not resumable on free.
    if (stream.is_tls()) SSL_set_shutdown(stream.tls().native_handle(), SSL_SENT_SHUTDOWN);
  }
  UpstreamConn(const UpstreamConn&) = delete;
  UpstreamConn& operator=(const UpstreamConn&) = delete;
  boost::asio::ip::tcp::socket& socket() { return stream.socket(); }

  UpstreamStream stream;
  Buffer buffer;  // response bytes; empty whenever the connection is idle
  // The response head being read, its views into `buffer`: here rather than on the forwarder's
  // coroutine frame, which it would make too large for Asio's frame recycling (3 KiB of fields).
  http::ResponseHead head;
  std::uint64_t generation;  // the ServerTarget::generation it was dialled for
  // TLS only: the newest session the server issued on this connection (owned), and the
  // transport whose SSL_CTX made it (kept alive while the connection lives).
  SSL_SESSION* session = nullptr;
  std::shared_ptr<const Transport> transport;
  // One stream of an HTTP/2 connection (stream reads and writes it): never pooled itself; the
  // forwarder finishes it, and the connection stays in the pool's sessions.
  std::shared_ptr<H2UpstreamStream> h2;
};

class UpstreamPool {
 public:
  UpstreamPool(std::size_t max_idle, std::chrono::milliseconds idle_timeout)
      : max_idle_(max_idle), idle_timeout_(idle_timeout) {}
  ~UpstreamPool() {
    close_all();
    forget_session();
  }
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
  void close_all();
  std::size_t idle_count() const { return idle_.size(); }
  // The server incarnation the pool serves (0 before its first take or put).
  std::uint64_t generation() const { return generation_; }
  // TLS: takes the newest session `conn` received (if any) as the one to resume next.
  void keep_session(UpstreamConn& conn);
  // The session to offer when dialling (owned by the pool; SSL_set_session takes its own
  // reference), or nullptr.
  SSL_SESSION* session() const { return session_; }

  // HTTP/2 (proxy/h2_upstream.h): a connection of this server incarnation with a stream to
  // spare, or nullptr.
  std::shared_ptr<H2Session> h2_take(std::uint64_t generation);
  void h2_add(std::shared_ptr<H2Session> session, std::uint64_t generation);
  std::size_t h2_count() const { return h2_.size(); }

 private:
  struct Idle {
    std::unique_ptr<UpstreamConn> conn;
    Clock::time_point since;
  };

  std::size_t max_idle_;
  std::chrono::milliseconds idle_timeout_;
  std::uint64_t generation_ = 0;
  void forget_session() {
    if (session_ != nullptr) SSL_SESSION_free(session_);
    session_ = nullptr;
  }

  std::deque<Idle> idle_;  // back: most recent
  std::vector<std::shared_ptr<H2Session>> h2_;
  SSL_SESSION* session_ = nullptr;
};

// True when the peer has neither sent anything nor closed: a non-blocking peek finds no data
// (EAGAIN). Exposed for tests.
bool idle_and_open(boost::asio::ip::tcp::socket& s);
// The same for a pooled connection: for TLS, also nothing decrypted and unread in OpenSSL.
bool idle_and_open(UpstreamConn& c);

}  // namespace portier::proxy
