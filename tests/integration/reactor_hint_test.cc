// proxy/reactor_hint.h on real loopback sockets: after mark_drained, a read waits for epoll and
// still completes with bytes that arrive later, including bytes that arrived after the reactor
// had collected an event for earlier, already consumed ones (the case the hint is for).
// read_now and read_done: a read that emptied the socket makes the next one wait for epoll
// (no recv: shown by bytes the reactor has not yet collected staying unread), and no bytes are
// lost, also those whose event the reactor collected while no read was pending (pipelining).
#include "proxy/reactor_hint.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
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

// The server socket's reads as the session makes them: read_now, else async_read_some queued
// on the reactor and read_done after it; the io_context runs until done (5 s at most).
std::string read_as_session(asio::io_context& io, tcp::socket& server, std::size_t room) {
  std::string buf(room, '\0');
  std::size_t n = 0;
  boost::system::error_code ec;
  if (read_now(server, asio::buffer(buf), n, ec)) {
    return ec ? "error: " + ec.message() : buf.substr(0, n);
  }
  std::optional<std::string> got;
  server.async_read_some(asio::buffer(buf), [&](boost::system::error_code rec, std::size_t k) {
    if (!rec) read_done(server, k, room);
    got = rec ? "error: " + rec.message() : buf.substr(0, k);
  });
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!got && std::chrono::steady_clock::now() < deadline) io.run_one_for(100ms);
  io.restart();
  return got.value_or("never completed");
}

TEST_F(ReactorHintTest, ReadNowTakesWhatIsThereAtOnce) {
  asio::write(client_, asio::buffer(std::string("GET / HTTP/1.1\r\n\r\n")));
  ::usleep(20000);
  std::string buf(64, '\0');
  std::size_t n = 0;
  boost::system::error_code ec;
  ASSERT_TRUE(read_now(server_, asio::buffer(buf), n, ec));  // a new socket may be readable
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(buf.substr(0, n), "GET / HTTP/1.1\r\n\r\n");
}

TEST_F(ReactorHintTest, AfterAShortReadTheNextReadWaitsForEpollAndLosesNothing) {
  asio::write(client_, asio::buffer(std::string("one")));
  ::usleep(20000);
  ASSERT_EQ(read_as_session(io_, server_, 64), "one");
  // New bytes, not yet collected by the reactor (the io_context has not run): read_now makes
  // no recv, so it does not see them; they are read when epoll reports them.
  asio::write(client_, asio::buffer(std::string("two")));
  ::usleep(20000);
  std::string buf(64, '\0');
  std::size_t n = 0;
  boost::system::error_code ec;
  EXPECT_FALSE(read_now(server_, asio::buffer(buf), n, ec)) << "read " << n << " bytes";
  EXPECT_EQ(read_as_session(io_, server_, 64), "two");
  // Again after a read that read_done ended, for the queued read's path.
  asio::write(client_, asio::buffer(std::string("three")));
  ::usleep(20000);
  EXPECT_FALSE(read_now(server_, asio::buffer(buf), n, ec)) << "read " << n << " bytes";
  EXPECT_EQ(read_as_session(io_, server_, 64), "three");
}

TEST_F(ReactorHintTest, BytesCollectedWhileNoReadWasPendingAreReadAtOnce) {
  // A pipelining client: the next request arrives while the session is busy with the current
  // one (no read pending); the reactor collects its event then. read_now must read it, and a
  // read that waited for another event would hang.
  asio::write(client_, asio::buffer(std::string("first")));
  ::usleep(20000);
  ASSERT_EQ(read_as_session(io_, server_, 64), "first");
  asio::steady_timer busy(io_, 30ms);  // keeps the worker turning meanwhile
  busy.async_wait([](boost::system::error_code) {});
  asio::write(client_, asio::buffer(std::string("second")));
  io_.run();  // epoll_wait collects the event for "second"
  io_.restart();
  std::string buf(64, '\0');
  std::size_t n = 0;
  boost::system::error_code ec;
  ASSERT_TRUE(read_now(server_, asio::buffer(buf), n, ec)) << "the collected event was lost";
  EXPECT_EQ(buf.substr(0, n), "second");
}

TEST_F(ReactorHintTest, AFullReadLeavesTheRestReadable) {
  // A read that fills its room does not tell the socket is empty: the rest is read at once.
  asio::write(client_, asio::buffer(std::string("0123456789abcdef")));
  ::usleep(20000);
  EXPECT_EQ(read_as_session(io_, server_, 8), "01234567");
  std::string buf(8, '\0');
  std::size_t n = 0;
  boost::system::error_code ec;
  ASSERT_TRUE(read_now(server_, asio::buffer(buf), n, ec));
  EXPECT_EQ(buf.substr(0, n), "89abcdef");
}

TEST_F(ReactorHintTest, ReadNowReportsTheEndOfTheStream) {
  asio::write(client_, asio::buffer(std::string("last")));
  ::usleep(20000);
  ASSERT_EQ(read_as_session(io_, server_, 64), "last");
  client_.shutdown(tcp::socket::shutdown_send);
  EXPECT_EQ(read_as_session(io_, server_, 64), "error: " + asio::error::make_error_code(
                                                               asio::error::eof).message());
}

}  // namespace
}  // namespace portier::proxy
