// The upstream pool with TLS connections on real loopback sockets (no processes): a quiet TLS
// connection is reused; one the server wrote to while idle (a record: data, or a close_notify)
// is not; the newest session a connection received becomes the pool's, for the next dial.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "proxy/upstream_pool.h"
#include "support/certs.h"

namespace portier::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct TlsFixture {
  test::TempDir dir;
  test::CertFiles ca = test::make_ca(dir, "ca", "pool CA");
  test::CertFiles leaf = test::make_leaf(dir, ca, "leaf", {"pool.test"});
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  asio::ssl::context server_ctx{asio::ssl::context::tls_server};
  asio::ssl::context client_ctx{asio::ssl::context::tls_client};
  TlsFixture() {
    server_ctx.use_certificate_chain_file(leaf.cert.string());
    server_ctx.use_private_key_file(leaf.key.string(), asio::ssl::context::pem);
    // As upstream_tls.cc sets it: new sessions go to the connection's slot.
    SSL_CTX_set_session_cache_mode(client_ctx.native_handle(),
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  }
  struct Pair {
    std::unique_ptr<UpstreamConn> client;
    tcp::socket server_socket;
    std::unique_ptr<asio::ssl::stream<tcp::socket&>> server;
  };
  // Connects, handshakes, and makes one exchange ("ping"/"pong"), so that what the server sent
  // after its handshake (TLS 1.3 tickets) has been read, as the forwarder's first response does.
  Pair connect() {
    Pair p{std::make_unique<UpstreamConn>(io.get_executor(), 4096, 1), tcp::socket(io), nullptr};
    p.client->socket().connect(acceptor.local_endpoint());
    p.server_socket = acceptor.accept();
    p.server = std::make_unique<asio::ssl::stream<tcp::socket&>>(p.server_socket, server_ctx);
    std::thread server([&] {
      p.server->handshake(asio::ssl::stream_base::server);
      char buf[4];
      asio::read(*p.server, asio::buffer(buf));
      asio::write(*p.server, asio::buffer(std::string("pong")));
    });
    auto& tls = p.client->stream.start_tls(client_ctx);
    tls.handshake(asio::ssl::stream_base::client);
    asio::write(tls, asio::buffer(std::string("ping")));
    char buf[4];
    asio::read(tls, asio::buffer(buf));
    server.join();
    return p;
  }
};

TEST(UpstreamPoolTls, AQuietTlsConnectionIsReused) {
  TlsFixture f;
  UpstreamPool pool(4, std::chrono::seconds(60));
  auto p = f.connect();
  UpstreamConn* raw = p.client.get();
  pool.put(std::move(p.client));
  EXPECT_EQ(pool.take(1).get(), raw);
}

// Waits (2 s at most) until something (bytes or a FIN) reached the client's socket.
bool arrived(UpstreamConn& c) {
  for (int i = 0; i < 200; ++i) {
    char b;
    if (::recv(c.socket().native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(UpstreamPoolTls, ARecordOrACloseNotifyWhileIdleDiscardsIt) {
  TlsFixture f;
  UpstreamPool pool(4, std::chrono::seconds(60));
  auto late = f.connect();
  auto closing = f.connect();
  EXPECT_TRUE(idle_and_open(*late.client));
  EXPECT_TRUE(idle_and_open(*closing.client));
  UpstreamConn& late_conn = *late.client;
  UpstreamConn& closing_conn = *closing.client;
  pool.put(std::move(late.client));
  pool.put(std::move(closing.client));
  ASSERT_EQ(pool.idle_count(), 2u);
  asio::write(*late.server, asio::buffer(std::string("HTTP/1.1 200 OK\r\n\r\n")));
  // close_notify alone (no FIN): SSL_shutdown queues it in Asio's BIO, async_shutdown sends it.
  closing.server->async_shutdown([](const boost::system::error_code&) {});
  f.io.run_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(arrived(late_conn));
  ASSERT_TRUE(arrived(closing_conn));
  EXPECT_EQ(pool.take(1), nullptr);
  EXPECT_EQ(pool.idle_count(), 0u);
}

TEST(UpstreamPoolTls, TheNewestSessionBecomesThePools) {
  TlsFixture f;
  UpstreamPool pool(4, std::chrono::seconds(60));
  auto p = f.connect();
  EXPECT_EQ(pool.session(), nullptr);
  p.client->session = SSL_get1_session(p.client->stream.tls().native_handle());
  SSL_SESSION* s = p.client->session;
  ASSERT_NE(s, nullptr);
  pool.put(std::move(p.client));
  EXPECT_EQ(pool.session(), s);
  // A newer incarnation of the id forgets it: another server now.
  EXPECT_EQ(pool.take(2), nullptr);
  EXPECT_EQ(pool.session(), nullptr);
}

}  // namespace
}  // namespace portier::proxy
