#include "conn.h"

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <cstring>

namespace whoami {

namespace http = portier::http;

std::string endpoint_string(const tcp::endpoint& ep) {
  std::string host = ep.address().to_string();
  if (ep.address().is_v6()) {
    host = "[" + host + "]";
  }
  return host + ":" + std::to_string(ep.port());
}

Conn::Conn(tcp::socket socket, std::uint64_t seq)
    : socket_(std::move(socket)),
      seq_(seq),
      buf_(new char[kBufferSize]),
      timer_(socket_.get_executor()) {
  error_code ec;
  tcp::endpoint local = socket_.local_endpoint(ec);
  if (!ec) {
    local_ip_ = local.address().to_string();
  }
  tcp::endpoint remote = socket_.remote_endpoint(ec);
  if (!ec) {
    remote_addr_ = endpoint_string(remote);
  }
  socket_.set_option(tcp::no_delay(true), ec);
  touch();
}

asio::awaitable<error_code> Conn::read_more(bool touch_deadline) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (end_ == kBufferSize) {
    if (begin_ == 0) {
      co_return asio::error::no_buffer_space;
    }
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (touch_deadline) {
    touch();
  }
  auto into = asio::buffer(buf_.get() + end_, kBufferSize - end_);
  auto [ec, n] = tls_ ? co_await tls_->async_read_some(into, asio::as_tuple(asio::use_awaitable))
                      : co_await socket_.async_read_some(into, asio::as_tuple(asio::use_awaitable));
  end_ += n;
  co_return ec;
}

asio::awaitable<error_code> Conn::start_tls(asio::ssl::context& ctx) {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, ctx);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                             asio::as_tuple(asio::use_awaitable));
  if (ec) co_return ec;
  SSL* ssl = tls_->native_handle();
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) tls_info_.sni = sni;
  tls_info_.resumed = SSL_session_reused(ssl) == 1;
  tls_info_.version = SSL_get_version(ssl);
  if (X509* peer = SSL_get1_peer_certificate(ssl)) {
    char subject[512];
    X509_NAME_oneline(X509_get_subject_name(peer), subject, sizeof subject);
    tls_info_.client_cert = subject;
    X509_free(peer);
  }
  co_return error_code{};
}

asio::awaitable<error_code> Conn::fill(std::size_t n) {
  while (end_ - begin_ < n) {
    if (kBufferSize - begin_ < n) {
      // Not enough room behind begin_: move the unconsumed bytes to the front first.
      std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (error_code ec = co_await read_more(); ec) {
      co_return ec;
    }
  }
  co_return error_code{};
}

asio::awaitable<void> Conn::lingering_close() {
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (!ec) {
    // Shorten the deadline; cancelling the timer makes the watchdog re-arm for it.
    deadline_ = std::chrono::steady_clock::now() + kLingerTimeout;
    timer_.cancel();
    std::size_t drained = 0;
    while (drained < 4 * kBufferSize) {
      begin_ = end_;  // drop what was read; read_more() then starts at the front
      if (co_await read_more(false)) {
        break;
      }
      drained += end_ - begin_;
    }
  }
  socket_.close(ec);
}

void Conn::reset() {
  error_code ec;
  socket_.set_option(asio::socket_base::linger(true, 0), ec);
  socket_.close(ec);
}

asio::awaitable<void> Conn::watchdog() {
  for (;;) {
    if (deadline_ <= std::chrono::steady_clock::now()) {
      error_code ec;
      socket_.close(ec);
      co_return;
    }
    timer_.expires_at(deadline_);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    // Woken by the deadline, by lingering_close() (re-check), or because the connection is over.
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) {
      co_return;
    }
  }
}

BodyReader::BodyReader(Conn& conn, const http::RequestInfo& info, int version_minor)
    : conn_(conn),
      kind_(info.framing.kind),
      remaining_(info.framing.length),
      need_continue_(info.expect_continue && version_minor >= 1),
      done_(false) {
  if (kind_ == http::BodyKind::None || (kind_ == http::BodyKind::Length && remaining_ == 0)) {
    done_ = true;
    need_continue_ = false;
  }
}

asio::awaitable<error_code> BodyReader::start() {
  if (!need_continue_) {
    co_return error_code{};
  }
  need_continue_ = false;
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  co_return co_await conn_.write(asio::buffer(kContinue));
}

asio::awaitable<std::pair<std::error_code, std::string_view>> BodyReader::next() {
  if (error_code ec = co_await start(); ec) {
    co_return std::pair{std::error_code(ec), std::string_view{}};
  }
  while (!done_) {
    std::string_view in = conn_.buffered();
    if (!in.empty()) {
      if (kind_ == http::BodyKind::Length) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
        conn_.consume(n);
        remaining_ -= n;
        done_ = remaining_ == 0;
        co_return std::pair{std::error_code{}, in.substr(0, n)};
      }
      http::ChunkedDecoder::Step step = decoder_.feed(in);
      conn_.consume(step.consumed);
      if (step.error != http::Error::None) {
        co_return std::pair{make_error_code(step.error), std::string_view{}};
      }
      done_ = step.done;
      if (!step.data.empty()) {
        co_return std::pair{std::error_code{}, step.data};
      }
      if (step.consumed != 0) {
        continue;
      }
    }
    error_code ec = co_await conn_.read_more();
    if (ec) {
      co_return std::pair{std::error_code(ec), std::string_view{}};
    }
  }
  co_return std::pair{std::error_code{}, std::string_view{}};
}

asio::awaitable<std::error_code> BodyReader::discard() {
  while (!done_) {
    auto [ec, data] = co_await next();
    if (ec) {
      co_return ec;
    }
  }
  co_return std::error_code{};
}

}  // namespace whoami
