// proxy/tls_socket.h against Asio's ssl::stream as the client, over real loopback sockets: the
// handshake over bytes read before it, reads and writes made at once or waited for, a write
// larger than the socket takes, both directions at once, and how a connection ends.
#include "proxy/tls_socket.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <string>

#include "support/certs.h"
#include "support/process.h"

namespace portier::proxy {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 1000) % 26);
  return s;
}

class TlsSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = test::make_ca(dir_, "ca", "Test CA");
    auto leaf = test::make_leaf(dir_, ca, "leaf", {"localhost"});
    server_ctx_.use_certificate_chain_file(leaf.cert.string());
    server_ctx_.use_private_key_file(leaf.key.string(), ssl::context::pem);
    client_ctx_.load_verify_file(ca.cert.string());
    client_ctx_.set_verify_mode(ssl::verify_peer);
    tcp::acceptor listener(io_, {asio::ip::make_address("127.0.0.1"), 0});
    client_.next_layer().connect(listener.local_endpoint());
    listener.accept(server_);
    SSL_set_tlsext_host_name(client_.native_handle(), "localhost");
  }

  // Runs the io_context until `done` or 20 s; false on timeout.
  bool run_until(const bool& done) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done && std::chrono::steady_clock::now() < deadline) io_.run_one_for(100ms);
    return done;
  }

  // The server's handshake as the session makes it: the first bytes read from the plain
  // socket, then the handshake over them and the rest.
  asio::awaitable<error_code> server_handshake(TlsSocket& tls) {
    char first[64];
    auto [rec, n] = co_await server_.async_read_some(asio::buffer(first), kNoThrow);
    if (rec) co_return rec;
    auto [ec, used] = co_await tls.async_handshake(ssl::stream_base::server,
                                                   asio::buffer(first, n), kNoThrow);
    if (!ec) {
      EXPECT_EQ(used, n);
    }
    co_return ec;
  }

  // The error of the server's read when the client ends the connection: with close_notify
  // (Asio's async_shutdown sends it, then waits) or with a FIN alone.
  error_code read_until_end(bool notify) {
    TlsSocket tls(server_, server_ctx_.native_handle());
    bool done = false;
    error_code read_ec;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          if (co_await server_handshake(tls)) co_return;
          char buf[64];
          auto [ec, n] = co_await tls.async_read_some(asio::buffer(buf), kNoThrow);
          read_ec = ec;
          done = true;
        },
        asio::detached);
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          auto [hec] = co_await client_.async_handshake(ssl::stream_base::client, kNoThrow);
          if (hec) co_return;
          if (notify) {
            co_await client_.async_shutdown(kNoThrow);
          } else {
            error_code ec;
            client_.next_layer().shutdown(tcp::socket::shutdown_send, ec);
          }
        },
        asio::detached);
    EXPECT_TRUE(run_until(done));
    return read_ec;
  }

  // Ends what is still pending (a client's shutdown waiting for the server's close_notify).
  void TearDown() override {
    error_code ec;
    client_.next_layer().close(ec);
    server_.close(ec);
    io_.restart();
    io_.run_for(200ms);
  }

  test::TempDir dir_;
  asio::io_context io_{1};
  ssl::context server_ctx_{ssl::context::tls_server};
  ssl::context client_ctx_{ssl::context::tls_client};
  tcp::socket server_{io_};
  ssl::stream<tcp::socket> client_{io_, client_ctx_};
};

TEST_F(TlsSocketTest, HandshakeOverBytesReadBeforeThenARequestAndItsResponse) {
  TlsSocket tls(server_, server_ctx_.native_handle());
  bool done = false;
  std::string request, response;
  error_code server_ec, client_ec;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        server_ec = co_await server_handshake(tls);
        if (server_ec) co_return;
        char buf[256];
        std::size_t n = 0;
        error_code ec;
        if (!tls.read_now(asio::buffer(buf), n, ec)) {
          std::tie(ec, n) = co_await tls.async_read_some(asio::buffer(buf), kNoThrow);
        }
        if (ec) {
          server_ec = ec;
          co_return;
        }
        request.assign(buf, n);
        std::array<asio::const_buffer, 2> out = {asio::buffer(std::string_view("HTTP/1.1 200 OK\r\n")),
                                                 asio::buffer(std::string_view("\r\nbody"))};
        if (!tls.write_now(out, ec)) std::tie(ec, std::ignore) = co_await asio::async_write(tls, out, kNoThrow);
        server_ec = ec;
      },
      asio::detached);
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto [hec] = co_await client_.async_handshake(ssl::stream_base::client, kNoThrow);
        if ((client_ec = hec)) co_return;
        auto [wec, w] = co_await asio::async_write(client_, asio::buffer(std::string("GET / HTTP/1.1\r\n\r\n")), kNoThrow);
        if ((client_ec = wec)) co_return;
        std::string got(23, '\0');
        auto [rec, r] = co_await asio::async_read(client_, asio::buffer(got), kNoThrow);
        client_ec = rec;
        response = got.substr(0, r);
        done = true;
      },
      asio::detached);
  ASSERT_TRUE(run_until(done));
  EXPECT_FALSE(server_ec) << server_ec.message();
  EXPECT_FALSE(client_ec) << client_ec.message();
  EXPECT_EQ(request, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(response, "HTTP/1.1 200 OK\r\n\r\nbody");
}

TEST_F(TlsSocketTest, AWriteLargerThanTheSocketTakesIsSentWhole) {
  // The client reads only after a pause, so the socket fills: write_now leaves ciphertext,
  // and async_write with the (emptied) buffers sends the rest.
  const std::string big = pattern(8 << 20);
  TlsSocket tls(server_, server_ctx_.native_handle());
  bool done = false, left_some = false;
  std::string got;
  error_code server_ec, client_ec;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        if ((server_ec = co_await server_handshake(tls))) co_return;
        std::array<asio::const_buffer, 1> out = {asio::buffer(big)};
        error_code ec;
        if (!tls.write_now(out, ec)) {
          left_some = true;
          EXPECT_EQ(out[0].size(), 0u);
          std::tie(ec, std::ignore) = co_await asio::async_write(tls, out, kNoThrow);
        }
        server_ec = ec;
      },
      asio::detached);
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto [hec] = co_await client_.async_handshake(ssl::stream_base::client, kNoThrow);
        if ((client_ec = hec)) co_return;
        asio::steady_timer pause(io_, 300ms);
        co_await pause.async_wait(kNoThrow);
        got.resize(big.size());
        auto [rec, r] = co_await asio::async_read(client_, asio::buffer(got), kNoThrow);
        client_ec = rec;
        got.resize(r);
        done = true;
      },
      asio::detached);
  ASSERT_TRUE(run_until(done));
  EXPECT_TRUE(left_some) << "the socket took 8 MiB at once: the waiting path was not tested";
  // The 8 MiB of ciphertext are not kept once sent: an idle connection holds about two records.
  EXPECT_LE(tls.held_bytes(), 40u * 1024) << "held after the write";
  EXPECT_FALSE(server_ec) << server_ec.message();
  EXPECT_FALSE(client_ec) << client_ec.message();
  EXPECT_TRUE(got == big) << "received " << got.size() << " bytes, not the ones sent";
}

TEST_F(TlsSocketTest, ReadsAndWritesInBothDirectionsAtOnce) {
  // As HTTP/2 uses it: a read waits while writes go on, on the one connection.
  const std::string up = pattern(3 << 20), down = pattern(5 << 20);
  TlsSocket tls(server_, server_ctx_.native_handle());
  int finished = 0;
  bool done = false;
  std::string server_got, client_got;
  error_code server_write_ec, client_ec;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        if (co_await server_handshake(tls)) co_return;
        asio::co_spawn(
            io_,
            [&]() -> asio::awaitable<void> {
              char buf[16384];
              while (server_got.size() < up.size()) {
                auto [ec, n] = co_await tls.async_read_some(asio::buffer(buf), kNoThrow);
                if (ec) break;
                server_got.append(buf, n);
              }
              done = ++finished == 3;
            },
            asio::detached);
        for (std::size_t at = 0; at < down.size(); at += 100000) {
          auto [ec, n] = co_await asio::async_write(
              tls, asio::buffer(down.data() + at, std::min<std::size_t>(100000, down.size() - at)),
              kNoThrow);
          if ((server_write_ec = ec)) break;
        }
        done = ++finished == 3;
      },
      asio::detached);
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto [hec] = co_await client_.async_handshake(ssl::stream_base::client, kNoThrow);
        if ((client_ec = hec)) co_return;
        asio::co_spawn(
            io_,
            [&]() -> asio::awaitable<void> {
              auto [ec, n] = co_await asio::async_write(client_, asio::buffer(up), kNoThrow);
              if (ec) client_ec = ec;
            },
            asio::detached);
        client_got.resize(down.size());
        auto [rec, r] = co_await asio::async_read(client_, asio::buffer(client_got), kNoThrow);
        if (rec) client_ec = rec;
        client_got.resize(r);
        done = ++finished == 3;
      },
      asio::detached);
  ASSERT_TRUE(run_until(done)) << finished << " of 3 directions finished";
  EXPECT_FALSE(server_write_ec) << server_write_ec.message();
  EXPECT_FALSE(client_ec) << client_ec.message();
  EXPECT_TRUE(server_got == up) << server_got.size() << " bytes up";
  EXPECT_TRUE(client_got == down) << client_got.size() << " bytes down";
}

// The server's read when the client ends: with close_notify (Asio's async_shutdown sends it)
// or with a FIN alone.
TEST_F(TlsSocketTest, ThePeersCloseNotifyIsTheEndOfTheStream) {
  EXPECT_EQ(read_until_end(true), asio::error::eof);
}

TEST_F(TlsSocketTest, AFinWithoutCloseNotifyIsATruncation) {
  EXPECT_EQ(read_until_end(false), ssl::error::stream_truncated);
}

TEST_F(TlsSocketTest, AFailedHandshakeSendsItsAlert) {
  // A client certificate required and none given: with TLS 1.3 the client's side of the
  // handshake is done before the server refuses, and it learns why from the alert.
  server_ctx_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  TlsSocket tls(server_, server_ctx_.native_handle());
  bool done = false;
  error_code server_ec, client_ec;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        server_ec = co_await server_handshake(tls);
        error_code ec;
        server_.close(ec);  // as the session does after a failed handshake
      },
      asio::detached);
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto [hec] = co_await client_.async_handshake(ssl::stream_base::client, kNoThrow);
        client_ec = hec;
        if (!hec) {
          char buf[16];
          auto [rec, n] = co_await client_.async_read_some(asio::buffer(buf), kNoThrow);
          client_ec = rec;
        }
        done = true;
      },
      asio::detached);
  ASSERT_TRUE(run_until(done));
  EXPECT_TRUE(server_ec);
  // The alert's reason, not the end of the stream.
  EXPECT_NE(client_ec.message().find("certificate required"), std::string::npos)
      << client_ec.message();
}

TEST_F(TlsSocketTest, ShutdownSendsCloseNotifyAndEndsWithThePeers) {
  TlsSocket tls(server_, server_ctx_.native_handle());
  bool done = false;
  error_code shutdown_ec, client_read_ec;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        if (co_await server_handshake(tls)) co_return;
        auto [ec] = co_await tls.async_shutdown(kNoThrow);
        shutdown_ec = ec;
        done = true;
      },
      asio::detached);
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto [hec] = co_await client_.async_handshake(ssl::stream_base::client, kNoThrow);
        if (hec) co_return;
        char buf[16];
        auto [rec, n] = co_await client_.async_read_some(asio::buffer(buf), kNoThrow);
        client_read_ec = rec;  // the server's close_notify
        co_await client_.async_shutdown(kNoThrow);
      },
      asio::detached);
  ASSERT_TRUE(run_until(done));
  EXPECT_EQ(client_read_ec, asio::error::eof) << client_read_ec.message();
  EXPECT_FALSE(shutdown_ec) << shutdown_ec.message();
}

}  // namespace
}  // namespace portier::proxy
