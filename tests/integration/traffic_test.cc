// Middlewares that act on the traffic to a service: retry on statuses, the circuit breaker, and
// middleware state that survives a reload (rate limits).
#include <gtest/gtest.h>

#include <fstream>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

// Makes whoami's /health answer `status` (asked directly, not through portier).
void set_health(const Whoami& w, int status) {
  Conn c(w.port);
  const std::string body = std::to_string(status);
  ASSERT_TRUE(c.send("POST /health HTTP/1.1\r\nHost: w\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
}

std::string config(const std::string& url, const std::string& middlewares,
                   const std::string& extra_router = "") {
  return "http:\n  routers:\n    r:\n      rule: \"Host(`t.localhost`)\"\n      service: s\n"
         "      middlewares: [m]\n" +
         extra_router + "  middlewares:\n    m:\n" + middlewares +
         "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"" + url +
         "\"\n";
}

TEST(Traffic, RetryOnStatus) {
  TempDir dir;
  Whoami w = start_whoami(dir, "retry");
  Portier p = start_portier(dir, config(w.url(),
                                        "      retry:\n        attempts: 3\n"
                                        "        status: [\"500-599\"]\n"));
  set_health(w, 503);
  long before = w.requests();
  auto r = http_get(p.port, "t.localhost", "/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);  // the last try's answer
  // Every try is over before the answer: three /health requests, then this /stats call.
  EXPECT_EQ(w.requests(), before + 3 + 1);

  // A POST is not retried on a status unless retryNonIdempotentMethod.
  before = w.requests();
  Conn c(p.port);
  ASSERT_TRUE(c.send("POST /health HTTP/1.1\r\nHost: t.localhost\r\nContent-Length: 3\r\n\r\n"
                     "abc"));
  auto post = c.read_response();
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 400);  // whoami refuses "abc" as a status: answered once
  EXPECT_EQ(w.requests(), before + 1 + 1);

  set_health(w, 200);
  auto ok = http_get(p.port, "t.localhost", "/health");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST(Traffic, RetryResendsABufferedBody) {
  TempDir dir;
  Whoami w = start_whoami(dir, "retrybody");
  Portier p = start_portier(dir, config(w.url(),
                                        "      retry:\n        attempts: 2\n"
                                        "        status: [\"400\"]\n"
                                        "        retryNonIdempotentMethod: true\n"));
  const long before = w.requests();
  Conn c(p.port);
  ASSERT_TRUE(c.send("POST /health HTTP/1.1\r\nHost: t.localhost\r\nContent-Length: 3\r\n\r\n"
                     "abc"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  // Both tries carried the body (whoami answers 400 only to a body it read and refused).
  EXPECT_EQ(w.requests(), before + 2 + 1);
}

TEST(Traffic, CircuitBreakerOpensAndFallsBack) {
  TempDir dir;
  Whoami w = start_whoami(dir, "breaker");
  Portier p = start_portier(dir, config(w.url(),
                                        "      circuitBreaker:\n"
                                        "        expression: \"ResponseCodeRatio(500, 600, 0, "
                                        "600) > 0.5\"\n"
                                        "        checkPeriod: 50ms\n"
                                        "        fallbackDuration: 30s\n"));
  set_health(w, 500);
  int fallback = 0;
  for (int i = 0; i < 40 && fallback == 0; ++i) {
    auto r = http_get(p.port, "t.localhost", "/health");
    ASSERT_TRUE(r);
    if (r->status == 503) {
      ++fallback;
    } else {
      EXPECT_EQ(r->status, 500);
      std::this_thread::sleep_for(20ms);
    }
  }
  ASSERT_EQ(fallback, 1) << p.proc->log();
  // Open: nothing reaches the server, whatever it would answer now.
  set_health(w, 200);
  const long before = w.requests();
  for (int i = 0; i < 5; ++i) {
    auto r = http_get(p.port, "t.localhost", "/health");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
  }
  EXPECT_EQ(w.requests(), before + 1);  // only this /stats call
}

TEST(Traffic, RateLimitStateSurvivesAReload) {
  TempDir dir;
  Whoami w = start_whoami(dir, "reload");
  const std::string mw =
      "      rateLimit:\n        average: 1\n        period: 1m\n        burst: 1\n";
  Portier p = start_portier(dir, config(w.url(), mw));
  auto first = http_get(p.port, "t.localhost", "/");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  auto second = http_get(p.port, "t.localhost", "/");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 429);
  // Another router appears; the limiter of router r is the same one.
  dir.write("dynamic.yml",
            config(w.url(), mw,
                   "    other:\n      rule: \"Host(`o.localhost`)\"\n      service: s\n"));
  ASSERT_TRUE(poll_until(
      [&] {
        auto r = http_get(p.port, "o.localhost", "/");
        return r && r->status == 200;
      },
      5s));
  auto third = http_get(p.port, "t.localhost", "/");
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, 429);
}

}  // namespace
}  // namespace portier::test
