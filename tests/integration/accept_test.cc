// entrypoints/accept.h on real loopback sockets: what accept4 hands to Asio must behave as a
// socket Asio accepted itself, and a descriptor number reused after a close (no EPOLL_CTL_DEL
// was made for it) must still get its readiness events.
#include "entrypoints/accept.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <string>

namespace portier::entrypoints {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class AcceptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    listener_.open(tcp::v4());
    listener_.bind({asio::ip::make_address("127.0.0.1"), 0});
    listener_.listen();
    ASSERT_FALSE(prepare_listener(listener_));
  }

  // A connected client, and the server side accept_now gives for it.
  void connect_and_accept(tcp::socket& client, tcp::socket& server) {
    client.connect(listener_.local_endpoint());
    tcp::endpoint peer;
    boost::system::error_code ec;
    for (int i = 0; i < 1000; ++i) {  // the handshake completes asynchronously on loopback
      ec = accept_now(listener_, server, peer);
      if (ec != asio::error::would_block) break;
      ::usleep(1000);
    }
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(peer, client.local_endpoint());
  }

  // One echo of `text` through `server`, driven by the io_context's reactor.
  void expect_async_read(tcp::socket& client, tcp::socket& server, const std::string& text) {
    std::string got(text.size(), '\0');
    bool done = false;
    asio::async_read(server, asio::buffer(got), [&](boost::system::error_code ec, std::size_t n) {
      EXPECT_FALSE(ec) << ec.message();
      EXPECT_EQ(n, text.size());
      done = true;
    });
    io_.poll();  // nothing to read yet: the read waits in the reactor
    EXPECT_FALSE(done);
    asio::write(client, asio::buffer(text));
    io_.run_for(std::chrono::seconds(5));
    io_.restart();
    EXPECT_TRUE(done);
    EXPECT_EQ(got, text);
  }

  asio::io_context io_;
  tcp::acceptor listener_{io_};
};

TEST_F(AcceptTest, EmptyQueueWouldBlock) {
  tcp::socket s(io_);
  tcp::endpoint peer;
  EXPECT_EQ(accept_now(listener_, s, peer), asio::error::would_block);
  EXPECT_FALSE(s.is_open());
}

TEST_F(AcceptTest, SocketIsNonBlockingCloseOnExecAndNoDelay) {
  tcp::socket client(io_), server(io_);
  connect_and_accept(client, server);
  const int fd = server.native_handle();
  EXPECT_TRUE(::fcntl(fd, F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC);
  int nodelay = 0;
  socklen_t len = sizeof nodelay;
  ASSERT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
  EXPECT_EQ(nodelay, 1);  // inherited from the listening socket
  expect_async_read(client, server, "hello");
}

TEST_F(AcceptTest, ReusedDescriptorNumberStillGetsEvents) {
  // close(2) alone takes the descriptor out of epoll (nobody else holds it); the next socket
  // with the same number must be registered afresh and see its data.
  for (int round = 0; round < 3; ++round) {
    tcp::socket client(io_), server(io_);
    connect_and_accept(client, server);
    expect_async_read(client, server, "round " + std::to_string(round));
    server.close();
  }
}

}  // namespace
}  // namespace portier::entrypoints
