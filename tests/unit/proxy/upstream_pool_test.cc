// The upstream pool's reuse rules on real loopback sockets (no processes): a connection is
// handed out only when nothing arrived on it and the server has not closed it, and never to
// another incarnation of its server id.
#include "proxy/upstream_pool.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

namespace portier::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Pair {
  std::unique_ptr<UpstreamConn> client;
  tcp::socket server;
};

struct Fixture {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  Pair connect(std::uint64_t generation) {
    auto c = std::make_unique<UpstreamConn>(io.get_executor(), 4096, generation);
    c->socket().connect(acceptor.local_endpoint());
    tcp::socket s = acceptor.accept();
    return {std::move(c), std::move(s)};
  }
};

TEST(UpstreamPool, AQuietConnectionIsReused) {
  Fixture f;
  UpstreamPool pool(4, std::chrono::seconds(60));
  auto [c, s] = f.connect(1);
  UpstreamConn* raw = c.get();
  pool.put(std::move(c));
  EXPECT_EQ(pool.take(1).get(), raw);
}

TEST(UpstreamPool, BytesNobodyAskedForOrACloseDiscardTheConnection) {
  Fixture f;
  UpstreamPool pool(4, std::chrono::seconds(60));
  auto [late, late_server] = f.connect(1);
  auto [closed, closed_server] = f.connect(1);
  pool.put(std::move(late));
  pool.put(std::move(closed));
  asio::write(late_server, asio::buffer(std::string("HTTP/1.1 200 OK\r\n\r\n")));
  closed_server.close();
  // On loopback the bytes and the FIN are queued before write() and close() return. Both
  // connections are checked however briefly they sat idle: neither is handed out.
  EXPECT_EQ(pool.take(1), nullptr);
  EXPECT_EQ(pool.idle_count(), 0u);
}

TEST(UpstreamPool, AConnectionWithBufferedBytesIsNotPooled) {
  Fixture f;
  UpstreamPool pool(4, std::chrono::seconds(60));
  auto [c, s] = f.connect(1);
  std::memcpy(c->buffer.prepare().data(), "x", 1);
  c->buffer.commit(1);
  pool.put(std::move(c));
  EXPECT_EQ(pool.idle_count(), 0u);
}

TEST(UpstreamPool, IncarnationsOfAnIdNeverShareConnections) {
  Fixture f;
  UpstreamPool pool(4, std::chrono::seconds(60));
  auto [old_conn, s1] = f.connect(5);
  pool.put(std::move(old_conn));
  // The id now names another server (generation 9): the old connection is not handed out.
  EXPECT_EQ(pool.take(9), nullptr);
  EXPECT_EQ(pool.idle_count(), 0u);
  auto [new_conn, s2] = f.connect(9);
  UpstreamConn* raw = new_conn.get();
  pool.put(std::move(new_conn));
  // A request still running on an older table neither gets it nor pools into it.
  EXPECT_EQ(pool.take(5), nullptr);
  auto [stale, s3] = f.connect(5);
  pool.put(std::move(stale));
  EXPECT_EQ(pool.idle_count(), 1u);
  EXPECT_EQ(pool.take(9).get(), raw);
}

}  // namespace
}  // namespace portier::proxy
