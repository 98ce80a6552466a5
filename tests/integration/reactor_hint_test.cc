// proxy/reactor_hint.h on real loopback sockets: after mark_drained, a read waits for epoll and
// still completes with bytes that arrive later, including bytes that arrived after the reactor
// had collected an event for earlier, already consumed ones (the case the hint is for).
#include "proxy/reactor_hint.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace portier::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

class ReactorHintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor listener(io_, {asio::ip::make_address("127.0.0.1"), 0});
    client_.connect(listener.local_endpoint());
    listener.accept(server_);
    server_.non_blocking(true);
  }

  // One async_read_some on the server socket, driven by the io_context until it completes
  // (5 s at most); what it read, or nullopt.
  std::optional<std::string> read_once(std::chrono::milliseconds send_after,
                                       const std::string& send) {
    std::optional<std::string> got;
    char buf[64];
    server_.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
      got = ec ? std::string("error: ") + ec.message() : std::string(buf, n);
    });
    io_.run_for(send_after);  // the read is queued on the reactor: nothing to read yet
    io_.restart();
    EXPECT_FALSE(got) << "completed before anything was sent: " << *got;
    asio::write(client_, asio::buffer(send));
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!got && std::chrono::steady_clock::now() < deadline) io_.run_one_for(100ms);
    io_.restart();
    return got;
  }

  // A recv on the server socket as upstream_pool.cc's peek makes it: true when nothing waits.
  bool peek_finds_nothing() {
    char byte;
    return ::recv(server_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0;
  }

  asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  tcp::socket client_{io_}, server_{io_};
};

TEST_F(ReactorHintTest, AReadAfterTheHintWaitsForEpollAndSeesLaterBytes) {
  ASSERT_TRUE(peek_finds_nothing());
  mark_drained(server_);
  auto got = read_once(50ms, "first");
  ASSERT_TRUE(got) << "the read never completed: a readiness event was lost";
  EXPECT_EQ(*got, "first");
}

TEST_F(ReactorHintTest, StaleEventsThenHintThenNewBytes) {
  // Bytes consumed by a read made at once, whose event the reactor collects only afterwards
  // (it sets the "may be readable" flag for nothing), then the hint, then new bytes: the
  // read must be woken by the new bytes' event.
  for (int round = 0; round < 3; ++round) {
    asio::write(client_, asio::buffer(std::string("x")));
    ::usleep(20000);  // the byte is in the socket before the read starts
    char buf[8];
    std::size_t n = 0;
    server_.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t k) {
      ASSERT_FALSE(ec) << ec.message();
      n = k;
    });
    io_.run_for(20ms);  // the read, then the reactor collects the byte's (now stale) event
    io_.restart();
    ASSERT_EQ(n, 1u);
    ASSERT_TRUE(peek_finds_nothing());
    mark_drained(server_);
    auto got = read_once(30ms, "round " + std::to_string(round));
    ASSERT_TRUE(got) << "round " << round << ": the read never completed";
    EXPECT_EQ(*got, "round " + std::to_string(round));
  }
}

}  // namespace
}  // namespace portier::proxy
