// The name cache of server URLs: never blocks the builder, rebuilds on a first answer or a
// change, retries failures, keeps the last good address through a failure. The failing resolver
// is a fake: no test here may ask a DNS server. "localhost" goes through the real getaddrinfo
// (answered from /etc/hosts).
#include "proxy/name_cache.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <deque>

namespace portier::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

TEST(NameCache, AddressLiteralsAnswerAtOnce) {
  asio::io_context io;
  int changes = 0;
  NameCache cache(io.get_executor(), [&] { ++changes; });
  auto a = cache.lookup("127.0.0.7", "8080");
  ASSERT_TRUE(a.endpoint);
  EXPECT_EQ(a.endpoint->address().to_string(), "127.0.0.7");
  EXPECT_EQ(a.endpoint->port(), 8080);
  auto b = cache.lookup("::1", "80");
  ASSERT_TRUE(b.endpoint);
  EXPECT_TRUE(b.endpoint->address().is_v6());
  EXPECT_EQ(changes, 0);
}

TEST(NameCache, ANameResolvesInTheBackgroundAndAsksForARebuild) {
  asio::io_context io;
  int changes = 0;
  NameCache cache(io.get_executor(), [&] {
    ++changes;
    io.stop();
  });
  auto first = cache.lookup("localhost", "8080");
  EXPECT_FALSE(first.endpoint);
  EXPECT_NE(first.error.find("resolving `localhost`"), std::string::npos) << first.error;
  io.run_for(5s);
  EXPECT_EQ(changes, 1);
  auto second = cache.lookup("localhost", "8080");
  ASSERT_TRUE(second.endpoint) << second.error;
  EXPECT_TRUE(second.endpoint->address().is_loopback());
  EXPECT_EQ(second.endpoint->port(), 8080);
}

// A fake resolver: answers are queued by the test and delivered through the executor.
struct FakeDns {
  asio::io_context& io;
  std::deque<std::optional<tcp::endpoint>> answers;  // nullopt: a failure
  int calls = 0;
  NameCache::ResolveFn fn() {
    return [this](const std::string&, const std::string&, NameCache::Done done) {
      ++calls;
      std::optional<tcp::endpoint> a;
      if (!answers.empty()) {
        a = answers.front();
        answers.pop_front();
      }
      asio::post(io, [a, done = std::move(done)] {
        if (a) {
          done({}, a);
        } else {
          done(asio::error::host_not_found, std::nullopt);
        }
      });
    };
  }
};

TEST(NameCache, AFailureIsRetriedAndASuccessRebuilds) {
  asio::io_context io;
  FakeDns dns{io, {std::nullopt, tcp::endpoint(asio::ip::make_address("10.1.2.3"), 80)}};
  int changes = 0;
  NameCache cache(io.get_executor(), [&] { ++changes; }, dns.fn());
  EXPECT_FALSE(cache.lookup("backend", "80").endpoint);
  io.run_for(200ms);
  EXPECT_EQ(changes, 1) << "the failure changes the error the service shows";
  auto failed = cache.lookup("backend", "80");
  EXPECT_FALSE(failed.endpoint);
  EXPECT_NE(failed.error.find("cannot resolve `backend`"), std::string::npos) << failed.error;
  // The retry comes after one second, not at the next configuration change.
  io.restart();
  io.run_for(1500ms);
  EXPECT_EQ(dns.calls, 2);
  EXPECT_EQ(changes, 2);
  auto ok = cache.lookup("backend", "80");
  ASSERT_TRUE(ok.endpoint);
  EXPECT_EQ(ok.endpoint->address().to_string(), "10.1.2.3");
}

TEST(NameCache, AFailureAfterASuccessKeepsTheLastAddress) {
  asio::io_context io;
  FakeDns dns{io, {tcp::endpoint(asio::ip::make_address("10.1.2.3"), 80), std::nullopt}};
  int changes = 0;
  NameCache cache(io.get_executor(), [&] { ++changes; }, dns.fn(), 100ms);
  cache.lookup("backend", "80");
  io.run_for(300ms);  // the answer, then the refresh 100 ms later, which fails
  EXPECT_EQ(dns.calls, 2) << "answered, then refreshed";
  EXPECT_EQ(changes, 1) << "a failed refresh changes nothing for the builder";
  NameCache::Answer a = cache.lookup("backend", "80");
  ASSERT_TRUE(a.endpoint) << a.error;
  EXPECT_EQ(a.endpoint->address().to_string(), "10.1.2.3");
  // Names nobody asked for since the last sweep are forgotten: the next lookup starts over.
  cache.sweep();
  cache.sweep();
  EXPECT_FALSE(cache.lookup("backend", "80").endpoint);
}

}  // namespace
}  // namespace portier::proxy
