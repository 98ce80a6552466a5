// The rate limiter against golang.org/x/time/rate's arithmetic and Traefik's max delay, ttl and
// source bound, with injected time.
#include "proxy/middlewares/rate_limiter.h"

#include <gtest/gtest.h>

namespace portier::proxy::mw {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;

TEST(RateLimiter, Parameters) {
  struct Case {
    std::string name;
    RateLimitConfig config;
    double scale;
    double rate, burst;
    Clock::duration max_delay, ttl;
  };
  std::vector<Case> cases = {
      {"100/s", {100, 1s, 1}, 1, 100, 1, 5ms, 2s},
      {"period 0 means 1s, burst 0 means 1", {100, 0s, 0}, 1, 100, 1, 5ms, 2s},
      {"1 per 10s", {1, 10s, 5}, 1, 0.1, 5, 500ms, 11s},
      {"3 per 2s: floor(1.5) in max delay", {3, 2s, 1}, 1, 1.5, 1, 500ms, 2s},
      {"scaled to 2 workers", {100, 1s, 9}, 0.5, 50, 5, 10ms, 2s},
      {"scaled burst at least 1", {100, 1s, 1}, 0.25, 25, 1, 20ms, 2s},
      {"no limit", {0, 1s, 1}, 1, 0, 1, 0s, 0s},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = RateLimiter::make(c.config, c.scale);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_DOUBLE_EQ(r->rate(), c.rate);
    EXPECT_DOUBLE_EQ(r->burst(), c.burst);
    EXPECT_EQ(r->max_delay(), c.max_delay);
    EXPECT_EQ(r->ttl(), c.ttl);
  }
  auto neg = RateLimiter::make({1, -1s, 1});
  ASSERT_FALSE(neg);
  EXPECT_EQ(neg.error().message, "negative value not valid for period: -1s");
  EXPECT_FALSE(RateLimiter::make({1, 1s, 1}, 0));
  EXPECT_FALSE(RateLimiter::make({1, 1s, 1}, 1.5));
}

TEST(RateLimiter, TokenBucketOverTime) {
  // 10/s, burst 2: max delay 1s / (10 * 2) = 50 ms.
  auto r = RateLimiter::make({10, 1s, 2});
  ASSERT_TRUE(r);
  Clock::time_point t0{1h};
  struct Step {
    std::string name;
    std::string key;
    Clock::duration at;
    bool allowed;
    Clock::duration delay;
  };
  std::vector<Step> steps = {
      {"burst 1", "a", 0ms, true, 0ms},
      {"burst 2", "a", 0ms, true, 0ms},
      {"empty: 100 ms away, over max delay", "a", 0ms, false, 100ms},
      {"refusal took nothing", "a", 0ms, false, 100ms},
      {"another key has its own bucket", "b", 0ms, true, 0ms},
      {"0.6 tokens: wait 40 ms", "a", 60ms, true, 40ms},
      {"the waiting request holds its token", "a", 60ms, false, 140ms},
      {"refilled to 0.6 at 160 ms", "a", 160ms, true, 40ms},
      {"full again after 1 s, capped at burst", "a", 1160ms, true, 0ms},
      {"second of burst", "a", 1160ms, true, 0ms},
      {"then empty", "a", 1160ms, false, 100ms},
  };
  for (const auto& s : steps) {
    SCOPED_TRACE(s.name);
    auto d = r->take(s.key, t0 + s.at);
    EXPECT_EQ(d.allowed, s.allowed);
    EXPECT_EQ(std::chrono::round<std::chrono::microseconds>(d.delay),
              std::chrono::duration_cast<std::chrono::microseconds>(s.delay));
  }
}

TEST(RateLimiter, UnlimitedStoresNothing) {
  auto r = RateLimiter::make({0, 1s, 1});
  ASSERT_TRUE(r);
  for (int i = 0; i < 1000; ++i) {
    auto d = r->take("k" + std::to_string(i), Clock::time_point{});
    ASSERT_TRUE(d.allowed);
    ASSERT_EQ(d.delay, 0s);
  }
  EXPECT_EQ(r->size(), 0u);
}

TEST(RateLimiter, KeysBoundedLeastRecentlyUsedDropped) {
  auto r = RateLimiter::make({1, 1s, 1}, 1.0, 3);  // 1/s, max delay 500 ms, ttl 2 s
  ASSERT_TRUE(r);
  Clock::time_point t{1h};
  EXPECT_TRUE(r->take("a", t).allowed);
  EXPECT_FALSE(r->take("a", t).allowed);  // refused, but "a" is now the most recent
  EXPECT_TRUE(r->take("b", t).allowed);
  EXPECT_TRUE(r->take("c", t).allowed);
  EXPECT_FALSE(r->take("a", t).allowed);  // touch "a": LRU order b, c, a
  EXPECT_TRUE(r->take("d", t).allowed);   // drops b
  EXPECT_EQ(r->size(), 3u);
  EXPECT_FALSE(r->take("a", t).allowed);  // a kept its empty bucket
  EXPECT_FALSE(r->take("c", t).allowed);
  EXPECT_TRUE(r->take("b", t).allowed);  // b came back full (and dropped d)
  EXPECT_EQ(r->size(), 3u);
  for (int i = 0; i < 100; ++i) r->take("x" + std::to_string(i), t);
  EXPECT_EQ(r->size(), 3u);
}

TEST(RateLimiter, IdleBucketForgottenAfterTtlAsTraefik) {
  // 1/s, burst 10: Traefik's ttl is 2 s, shorter than the 10 s a real refill takes, so a
  // drained bucket idle for 2 s comes back full. Replicated on purpose.
  auto r = RateLimiter::make({1, 1s, 10});
  ASSERT_TRUE(r);
  Clock::time_point t{1h};
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(r->take("a", t).allowed);
  EXPECT_FALSE(r->take("a", t + 100ms).allowed);  // 0.1 token; refused; ttl refreshed
  EXPECT_TRUE(r->take("a", t + 2099ms).allowed);  // 2.099 tokens, before the ttl
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(r->take("a", t + 5s).allowed) << i;  // forgotten
}

TEST(RateLimiter, HeaderValues) {
  struct Case {
    std::chrono::nanoseconds d;
    std::string retry_after, go;
  };
  std::vector<Case> cases = {
      {0ns, "0", "0s"},          {999ns, "1", "999ns"},
      {2us, "1", "2\u00b5s"},    {1500us, "1", "1.5ms"},
      {140ms, "1", "140ms"},     {1s, "1", "1s"},
      {1500ms, "2", "1.5s"},     {61500ms, "62", "1m1.5s"},
      {3600s, "3600", "1h0m0s"}, {3723s + 1ns, "3724", "1h2m3.000000001s"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.go);
    EXPECT_EQ(retry_after_seconds(std::chrono::duration_cast<Clock::duration>(c.d)), c.retry_after);
    EXPECT_EQ(go_duration(c.d), c.go);
  }
  EXPECT_EQ(go_duration(-1s), "-1s");
}

}  // namespace
}  // namespace portier::proxy::mw
