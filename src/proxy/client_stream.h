// The client side of a connection: a TCP socket, or TLS over it once a handshake started, or
// one HTTP/2 stream of such a connection (a StreamPipe: see proxy/stream_pipe.h). One concrete
// type for all keeps the session and the forwarder free of templates; the branch per operation
// is one predictable test, and no coroutine frame is added (async_initiate passes the caller's
// handler straight to the underlying operation).
//
// Threading: owned by one session coroutine on one worker.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <span>

#include "proxy/reactor_hint.h"
#include "proxy/send_now.h"
#include "proxy/stream_pipe.h"
#include "proxy/tls_socket.h"

namespace portier::proxy {

class ClientStream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  using TlsStream = TlsSocket;

  explicit ClientStream(boost::asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}
  // The TLS stream refers to socket_: a copy or a move would leave it pointing at the old one.
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;

  // One stream of `connection`'s HTTP/2 session: reads and writes go to `pipe`; TLS state and
  // the peer are the connection's. socket() is then a socket that was never opened: the
  // connection's own is not the stream's to close or cancel.
  ClientStream(ClientStream& connection, StreamPipe& pipe)
      : socket_(connection.get_executor()), parent_(&connection), pipe_(&pipe) {}

  executor_type get_executor() { return socket_.get_executor(); }
  boost::asio::ip::tcp::socket& socket() { return socket_; }
  bool is_tls() const { return parent_ ? parent_->is_tls() : tls_ != nullptr; }
  TlsStream& tls() { return parent_ ? parent_->tls() : *tls_; }
  // An HTTP/2 stream (no Upgrade, no connection of its own to close).
  bool is_stream() const { return pipe_ != nullptr; }
  TlsStream& start_tls(boost::asio::ssl::context& ctx) {
    tls_ = std::make_unique<TlsStream>(socket_, ctx.native_handle());
    return *tls_;
  }

  // Reads at once what is there (plain: reactor_hint.h's read_now; TLS: TlsSocket's). Returns
  // false when the caller must wait: it then starts async_read_some at once, and after it
  // completes without error calls read_done(n, room) (a plain socket's short read marks it
  // drained). Only with no other read or write of this stream pending, and never for an
  // HTTP/2 stream (always false).
  bool read_now(boost::asio::mutable_buffer buf, std::size_t& n, boost::system::error_code& ec) {
    if (pipe_) {
      ec.clear();
      return false;
    }
    if (tls_) return tls_->read_now(buf, n, ec);
    return proxy::read_now(socket_, buf, n, ec);
  }
  void read_done(std::size_t n, std::size_t room) {
    if (!pipe_ && !tls_) proxy::read_done(socket_, n, room);
  }
  // Sends at once what the socket takes (send_now.h; TLS: TlsSocket::write_now). Returns false
  // when the rest of `bufs` (for TLS: of its ciphertext, `bufs` being empty) is for async_write.
  bool write_now(std::span<boost::asio::const_buffer> bufs, boost::system::error_code& ec) {
    if (pipe_) {
      ec.clear();
      return false;
    }
    if (tls_) return tls_->write_now(bufs, ec);
    return send_now(&socket_, bufs, ec);
  }

  // An idle connection may wait for its client without a read operation holding a buffer
  // (async_wait_readable): a socket of its own with nothing buffered in TLS either way.
  bool can_wait_idle() const { return !pipe_ && (!tls_ || tls_->quiet()); }
  // The same while one read is pending (to cancel it and wait as above instead).
  bool can_wait_idle_after_read() const { return !pipe_ && (!tls_ || tls_->quiet_but_reading()); }
  // Completes when the socket has bytes to read (or an error); then read_now reads them, as
  // the reactor's event set the "may be readable" flag (reactor_hint.h).
  template <typename Token>
  auto async_wait_readable(Token&& token) {
    return socket_.async_wait(boost::asio::ip::tcp::socket::wait_read,
                              std::forward<Token>(token));
  }

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (pipe_) {
            pipe_->async_read_some(b, std::move(handler));
          } else if (tls_) {
            tls_->async_read_some(b, std::move(handler));
          } else {
            socket_.async_read_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (pipe_) {
            pipe_->async_write_some(b, std::move(handler));
          } else if (tls_) {
            tls_->async_write_some(b, std::move(handler));
          } else {
            socket_.async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

  // Half-close for tunnels: the TCP FIN (TLS has no half-close of its own).
  void shutdown(boost::asio::ip::tcp::socket::shutdown_type what, boost::system::error_code& ec) {
    if (pipe_ == nullptr) socket_.shutdown(what, ec);
  }
  // Ends pending reads and writes with operation_aborted (a Deadline's way to stop them).
  void cancel(boost::system::error_code& ec) {
    if (pipe_) {
      pipe_->cancel();
    } else {
      socket_.cancel(ec);
    }
  }

 private:
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<TlsStream> tls_;
  ClientStream* parent_ = nullptr;  // an HTTP/2 stream's connection
  StreamPipe* pipe_ = nullptr;
};

}  // namespace portier::proxy
