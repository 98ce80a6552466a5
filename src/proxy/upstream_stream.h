// The server side of an upstream connection: a TCP socket, or TLS over it for https:// servers
// (started by dial_upstream, proxy/upstream_tls.h), or one stream of an HTTP/2 connection to the
// server (a StreamPipe: proxy/h2_upstream.h). The twin of ClientStream: one concrete type
// for both, so the forwarder's Pipe, copy_body and tunnel take it without templates or a
// virtual call; the plain path pays one predictable branch per operation and no allocation.
//
// Threading: owned by one connection (UpstreamConn, a mirror copy, a health probe) on one thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <span>

#include "proxy/reactor_hint.h"
#include "proxy/send_now.h"
#include "proxy/stream_pipe.h"

namespace portier::proxy {

class UpstreamStream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;

  explicit UpstreamStream(const boost::asio::any_io_executor& ex) : socket_(ex) {}
  // The TLS stream refers to socket_: a copy or a move would leave it pointing at the old one.
  UpstreamStream(const UpstreamStream&) = delete;
  UpstreamStream& operator=(const UpstreamStream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  boost::asio::ip::tcp::socket& socket() { return socket_; }
  bool is_tls() const { return tls_ != nullptr; }
  // One HTTP/2 stream: reads and writes go to `pipe` (socket() is then never opened: the
  // connection's socket is not the stream's to cancel or close).
  void attach(StreamPipe& pipe) { pipe_ = &pipe; }
  bool is_pipe() const { return pipe_ != nullptr; }
  TlsStream& tls() { return *tls_; }
  // ClientStream's read_now and write_now, for a plain connection (always false over TLS or
  // an HTTP/2 stream: those wait in Asio). No read_done: a request body may be being written
  // while the response is read, so a read's completion may come on a later turn.
  bool read_now(boost::asio::mutable_buffer buf, std::size_t& n, boost::system::error_code& ec) {
    ec.clear();
    return pipe_ == nullptr && tls_ == nullptr && proxy::read_now(socket_, buf, n, ec);
  }
  bool write_now(std::span<boost::asio::const_buffer> bufs, boost::system::error_code& ec) {
    return send_now(pipe_ || tls_ ? nullptr : &socket_, bufs, ec);
  }
  // Wraps the connected socket; the handshake is the caller's.
  TlsStream& start_tls(boost::asio::ssl::context& ctx) {
    tls_ = std::make_unique<TlsStream>(socket_, ctx);
    return *tls_;
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
  // A forced shutdown's: closes the socket (an HTTP/2 stream's pending operations are cancelled;
  // its connection is closed by its pool).
  void close(boost::system::error_code& ec) {
    if (pipe_) {
      pipe_->cancel();
    } else {
      socket_.close(ec);
    }
  }
  bool is_open() const { return pipe_ != nullptr || socket_.is_open(); }
  // Bytes readable without waiting: decrypted ones OpenSSL holds, then the socket's (for TLS
  // those are still records, which is enough to tell "more is coming").
  std::size_t available(boost::system::error_code& ec) {
    if (pipe_) return 0;
    const int pending = tls_ ? SSL_pending(tls_->native_handle()) : 0;
    return static_cast<std::size_t>(pending > 0 ? pending : 0) + socket_.available(ec);
  }

 private:
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<TlsStream> tls_;
  StreamPipe* pipe_ = nullptr;
};

}  // namespace portier::proxy
