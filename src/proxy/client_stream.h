// The client side of a connection: a TCP socket, or TLS over it once a handshake started. One
// concrete type for both keeps the session and the forwarder free of templates; the branch per
// operation is one predictable test, and no coroutine frame is added (async_initiate passes the
// caller's handler straight to the underlying operation).
//
// Threading: owned by one session coroutine on one worker.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>

namespace portier::proxy {

class ClientStream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;

  explicit ClientStream(boost::asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}
  // The TLS stream refers to socket_: a copy or a move would leave it pointing at the old one.
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  boost::asio::ip::tcp::socket& socket() { return socket_; }
  bool is_tls() const { return tls_ != nullptr; }
  TlsStream& tls() { return *tls_; }
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

 private:
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<TlsStream> tls_;
};

}  // namespace portier::proxy
