// Per-connection I/O for whoami: the socket, one fixed read buffer, and the deadline a watchdog
// enforces. A Conn is owned by its connection coroutine frame and used from that coroutine only
// (one io_context thread); nothing here is thread-safe. Failures come back as error codes.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>

#include "proxy/http/chunked.h"
#include "proxy/http/message.h"

namespace whoami {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// The read buffer and the largest single body write.
inline constexpr std::size_t kBufferSize = 64 * 1024;
inline constexpr std::chrono::seconds kIdleTimeout{60};
inline constexpr std::chrono::seconds kLingerTimeout{2};

// Process-wide state shared by every worker thread.
struct Shared {
  std::string name;
  std::string hostname;
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<int> health{200};
  std::uint64_t delay_ms = 0;  // --delay: added before every answer of / (a slow backend)
  // --drain after SIGTERM: every answer says Connection: close.
  std::atomic<bool> draining{false};
  // The last request /auth received (head and body), served by /last-auth.
  std::mutex auth_mu;
  std::string last_auth;
  // --tls-cert/--tls-key: connections are TLS (null: plain HTTP).
  std::unique_ptr<asio::ssl::context> tls;
};

// What a TLS connection's handshake told (reported in every answer: X-Whoami-Tls-* fields and
// a "TLS:" line of the request dump).
struct TlsInfo {
  std::string sni;          // the server name the client sent ("" when none)
  bool resumed = false;     // an abbreviated handshake (session resumption)
  std::string client_cert;  // the client certificate's subject, "" when none was presented
  std::string version;
};

// "1.2.3.4:80" or "[::1]:80".
std::string endpoint_string(const tcp::endpoint& ep);

class Conn {
 public:
  Conn(tcp::socket socket, std::uint64_t seq);

  tcp::socket& socket() { return socket_; }
  // TLS: the server side of the handshake, then every read and write goes through it. Returns
  // the handshake's error.
  asio::awaitable<error_code> start_tls(asio::ssl::context& ctx);
  const TlsInfo* tls_info() const { return tls_ ? &tls_info_ : nullptr; }
  std::uint64_t seq() const { return seq_; }
  const std::string& local_ip() const { return local_ip_; }
  const std::string& remote_addr() const { return remote_addr_; }

  // Bytes read but not consumed yet. Valid until the next read_more().
  std::string_view buffered() const { return {buf_.get() + begin_, end_ - begin_}; }
  char* buffered_data() { return buf_.get() + begin_; }
  void consume(std::size_t n) { begin_ += n; }
  bool buffer_full() const { return begin_ == 0 && end_ == kBufferSize; }

  // Reads at least one more byte into the buffer (moving unconsumed bytes to its front when it is
  // full). Extends the deadline unless `touch` is false. Fails with no_buffer_space when the
  // buffer holds kBufferSize unconsumed bytes.
  asio::awaitable<error_code> read_more(bool touch = true);
  // Reads until at least n (<= kBufferSize) bytes are buffered.
  asio::awaitable<error_code> fill(std::size_t n);

  template <typename Buffers>
  asio::awaitable<error_code> write(const Buffers& buffers) {
    touch();
    if (tls_) {
      auto [ec, n] =
          co_await asio::async_write(*tls_, buffers, asio::as_tuple(asio::use_awaitable));
      co_return ec;
    }
    auto [ec, n] =
        co_await asio::async_write(socket_, buffers, asio::as_tuple(asio::use_awaitable));
    co_return ec;
  }

  // Pushes the deadline kIdleTimeout (or `extra` more) into the future.
  void touch(std::chrono::steady_clock::duration extra = {}) {
    deadline_ = std::chrono::steady_clock::now() + kIdleTimeout + extra;
  }

  // Half-closes, then reads and drops what the peer still sends (bounded in bytes and time) so
  // that closing does not turn into an RST that destroys the response in flight.
  asio::awaitable<void> lingering_close();
  // Closes with an RST (SO_LINGER {1, 0}).
  void reset();

  // Runs until the deadline passes (then closes the socket) or until cancelled. Runs beside the
  // connection coroutine, joined with operator||.
  asio::awaitable<void> watchdog();

 private:
  tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  TlsInfo tls_info_;
  std::uint64_t seq_;
  std::string local_ip_;
  std::string remote_addr_;
  std::unique_ptr<char[]> buf_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  asio::steady_timer timer_;
};

// Reads one request body (Content-Length or chunked) as a series of spans inside the Conn buffer.
// Sends "100 Continue" first when the request asked for it.
class BodyReader {
 public:
  BodyReader(Conn& conn, const portier::http::RequestInfo& info, int version_minor);

  // Sends the interim 100 response if the client waits for one and it was not sent yet.
  asio::awaitable<error_code> start();
  // The next piece of body data; an empty span once the body is complete (done() is true). The
  // span is valid until the next call. Errors: the socket's, or an http::Error for a bad chunk.
  asio::awaitable<std::pair<std::error_code, std::string_view>> next();
  bool done() const { return done_; }
  // Reads and drops the rest of the body.
  asio::awaitable<std::error_code> discard();

 private:
  Conn& conn_;
  portier::http::BodyKind kind_;
  std::uint64_t remaining_;
  portier::http::ChunkedDecoder decoder_;
  bool need_continue_;
  bool done_;
};

}  // namespace whoami
