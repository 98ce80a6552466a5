// Traefik's rateLimit middleware (pkg/middlewares/ratelimiter, in-memory limiter): one token
// bucket per source key, with golang.org/x/time/rate's reservation semantics.
//
//   rate  = average / period (tokens per second); average <= 0: no limit at all.
//   burst = max(burst, 1); a new (or forgotten) bucket starts full.
//   A request takes a token. When none is left it reserves one in the future: if the wait is
//   at most max_delay, the request is allowed after that wait (Traefik sleeps; the caller here
//   suspends without blocking, e.g. a steady_timer); otherwise it is refused (429, the token
//   is not taken) with Retry-After = ceil(wait in s) and X-Retry-In = the wait (Go format).
//   max_delay = 500 ms when rate < 1/s, else 1 s / (2 * floor(rate)), as Traefik computes it.
//
// Memory: at most `max_keys` buckets (Traefik: 65536 sources). A bucket idle for ttl is
// forgotten (Traefik's ttlmap: ttl = 1 s + (rate >= 1 ? 1 s : floor(1/rate) s)); when the table
// is full, the least recently used bucket is dropped first (what Traefik's expiry heap drops,
// since all buckets share one ttl). A forgotten bucket comes back full.
//
// Workers: one RateLimiter per worker and per middleware (shared-nothing, no locks). With N
// workers and connections spread over them, a client can get up to N times the configured
// rate, unless the caller passes scale = 1.0 / N, which divides the rate and the burst (burst
// rounded up, at least 1); max_delay and ttl then follow the per-worker rate.
//
// Threading: none; not thread-safe. take() never blocks and allocates only for a new key.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"

namespace portier::proxy::mw {

struct RateLimitConfig {
  int64_t average = 0;                                       // requests per period; 0: no limit
  std::chrono::nanoseconds period{std::chrono::seconds(1)};  // 0 means 1 s, as Traefik
  int64_t burst = 1;
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxKeys = 65536;

  // Errors: a negative period (Traefik's message), scale not in (0, 1].
  static Result<RateLimiter> make(const RateLimitConfig& config, double scale = 1.0,
                                  size_t max_keys = kMaxKeys);

  struct Decision {
    bool allowed = true;
    // allowed: wait this long before forwarding (zero: at once). Refused: when a token will be
    // there (for Retry-After / X-Retry-In).
    Clock::duration delay{0};
  };
  Decision take(std::string_view key, Clock::time_point now);

  double rate() const { return rate_; }  // tokens per second; 0 = unlimited
  double burst() const { return burst_; }
  Clock::duration max_delay() const { return max_delay_; }
  Clock::duration ttl() const { return ttl_; }
  size_t size() const { return map_.size(); }

 private:
  struct Bucket {
    std::string key;
    double tokens = 0;
    Clock::time_point last;
    Clock::time_point expires;
  };
  RateLimiter() = default;

  double rate_ = 0;
  double burst_ = 1;
  Clock::duration max_delay_{0};
  Clock::duration ttl_{0};
  size_t max_keys_ = kMaxKeys;
  std::list<Bucket> lru_;  // least recently used first
  std::unordered_map<std::string_view, std::list<Bucket>::iterator> map_;  // views into lru_
};

// The Retry-After value Traefik sends: whole seconds, rounded up ("1" for 200 ms).
std::string retry_after_seconds(RateLimiter::Clock::duration d);
// Go's time.Duration.String(), used for X-Retry-In: "0s", "750ms", "1.5s", "2m3s", "1h0m0s".
std::string go_duration(std::chrono::nanoseconds d);

}  // namespace portier::proxy::mw
