// The server side of an upstream connection: a TCP socket, or TLS over it for https:// servers
// (started by dial_upstream, proxy/upstream_tls.h). The twin of ClientStream: one concrete type
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
  TlsStream& tls() { return *tls_; }
  // Wraps the connected socket; the handshake is the caller's.
  TlsStream& start_tls(boost::asio::ssl::context& ctx) {
    tls_ = std::make_unique<TlsStream>(socket_, ctx);
    return *tls_;
  }

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_) {
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
          if (tls_) {
            tls_->async_write_some(b, std::move(handler));
          } else {
            socket_.async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

  // Half-close for tunnels: the TCP FIN (TLS has no half-close of its own).
  void shutdown(boost::asio::ip::tcp::socket::shutdown_type what, boost::system::error_code& ec) {
    socket_.shutdown(what, ec);
  }
  void cancel(boost::system::error_code& ec) { socket_.cancel(ec); }
  bool is_open() const { return socket_.is_open(); }
  // Bytes readable without waiting: decrypted ones OpenSSL holds, then the socket's (for TLS
  // those are still records, which is enough to tell "more is coming").
  std::size_t available(boost::system::error_code& ec) {
    const int pending = tls_ ? SSL_pending(tls_->native_handle()) : 0;
    return static_cast<std::size_t>(pending > 0 ? pending : 0) + socket_.available(ec);
  }

 private:
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<TlsStream> tls_;
};

}  // namespace portier::proxy
