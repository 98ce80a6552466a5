// proxy/connect.h on real loopback sockets: the socket it hands over must behave as one Asio
// connected itself (reads and writes through the reactor, a reused descriptor number still
// seeing its events after a close that made no EPOLL_CTL_DEL), and its errors must be the
// connect's: refused, and aborted when cancelled while the handshake waits.
#include "proxy/connect.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace portier::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

class ConnectTest : public ::testing::Test {
 protected:
  // Runs proxy::connect(socket, to) to its end (at most 5 s) and returns its error.
  std::optional<error_code> connect_now(tcp::socket& socket, const tcp::endpoint& to) {
    std::optional<error_code> got;
    asio::co_spawn(io_, connect(socket, to), [&](std::exception_ptr, error_code ec) { got = ec; });
    io_.run_for(5s);
    io_.restart();
    return got;
  }

  asio::io_context io_;
};

TEST_F(ConnectTest, SocketIsNonBlockingCloseOnExecNoDelayAndCarriesData) {
  tcp::acceptor listener(io_, {asio::ip::make_address("127.0.0.1"), 0});
  // Three rounds: each closes its socket without EPOLL_CTL_DEL, and the next one, likely with
  // the same descriptor number, must be registered afresh and see its events.
  for (int round = 0; round < 3; ++round) {
    tcp::socket up(io_);
    auto ec = connect_now(up, listener.local_endpoint());
    ASSERT_TRUE(ec.has_value());
    ASSERT_FALSE(*ec) << ec->message();
    const int fd = up.native_handle();
    EXPECT_TRUE(::fcntl(fd, F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC);
    int nodelay = 0;
    socklen_t len = sizeof nodelay;
    ASSERT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
    EXPECT_EQ(nodelay, 1);
    tcp::socket server = listener.accept();
    EXPECT_EQ(server.remote_endpoint(), up.local_endpoint());

    // Server to client through the reactor: the read waits, then the bytes wake it.
    const std::string text = "round " + std::to_string(round);
    std::string got(text.size(), '\0');
    bool done = false;
    asio::async_read(up, asio::buffer(got), [&](error_code rec, std::size_t n) {
      EXPECT_FALSE(rec) << rec.message();
      EXPECT_EQ(n, text.size());
      done = true;
    });
    io_.poll();
    EXPECT_FALSE(done);
    asio::write(server, asio::buffer(text));
    io_.run_for(5s);
    io_.restart();
    EXPECT_TRUE(done);
    EXPECT_EQ(got, text);

    // Client to server.
    bool sent = false;
    asio::async_write(up, asio::buffer(text), [&](error_code wec, std::size_t) {
      EXPECT_FALSE(wec) << wec.message();
      sent = true;
    });
    io_.run_for(5s);
    io_.restart();
    EXPECT_TRUE(sent);
    std::string echoed(text.size(), '\0');
    asio::read(server, asio::buffer(echoed));
    EXPECT_EQ(echoed, text);
    up.close();
  }
}

TEST_F(ConnectTest, ClosedPortIsRefused) {
  tcp::endpoint to;
  {
    tcp::acceptor probe(io_, {asio::ip::make_address("127.0.0.1"), 0});
    to = probe.local_endpoint();
  }  // closed: nothing listens there now
  tcp::socket up(io_);
  auto ec = connect_now(up, to);
  ASSERT_TRUE(ec.has_value());
  EXPECT_EQ(*ec, asio::error::connection_refused) << ec->message();
}

TEST_F(ConnectTest, CancelWhileTheHandshakeWaitsAborts) {
  // A listener whose accept queue is full drops further SYNs: a connect to it stays pending
  // (the client retransmits after a second), so the cancel comes while it waits.
  tcp::acceptor listener(io_);
  listener.open(tcp::v4());
  listener.bind({asio::ip::make_address("127.0.0.1"), 0});
  listener.listen(0);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    const tcp::endpoint to = listener.local_endpoint();
    ::connect(fd, to.data(), static_cast<socklen_t>(to.size()));
    fillers.push_back(fd);
  }
  ::usleep(50 * 1000);  // the queued handshakes complete on loopback

  tcp::socket up(io_);
  std::optional<error_code> got;
  asio::co_spawn(io_, connect(up, listener.local_endpoint()),
                 [&](std::exception_ptr, error_code ec) { got = ec; });
  asio::steady_timer timer(io_, 300ms);
  timer.async_wait([&](error_code) {
    EXPECT_FALSE(got.has_value()) << "the connect did not wait: " << got->message();
    up.cancel();
  });
  io_.run_for(5s);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, asio::error::operation_aborted) << got->message();
  for (int fd : fillers) ::close(fd);
}

}  // namespace
}  // namespace portier::proxy
