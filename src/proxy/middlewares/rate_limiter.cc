#include "proxy/middlewares/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace portier::proxy::mw {

using namespace std::chrono_literals;

Result<RateLimiter> RateLimiter::make(const RateLimitConfig& c, double scale, size_t max_keys) {
  if (c.period < 0ns) {
    return Error{"negative value not valid for period: " + go_duration(c.period)};
  }
  if (!(scale > 0 && scale <= 1)) return Error{"rate limiter scale must be in (0, 1]"};
  RateLimiter r;
  r.max_keys_ = std::max<size_t>(max_keys, 1);
  auto period = c.period == 0ns ? std::chrono::nanoseconds(1s) : c.period;
  r.burst_ =
      std::max<double>(1, std::ceil(static_cast<double>(std::max<int64_t>(c.burst, 1)) * scale));
  if (c.average <= 0) return r;  // rate 0: unlimited (Traefik's rate.Inf)

  double rtl = static_cast<double>(c.average) * 1e9 / static_cast<double>(period.count()) * scale;
  r.rate_ = rtl;
  // Traefik: time.Second / (time.Duration(rtl) * 2), an integer division of nanoseconds.
  if (rtl < 1) {
    r.max_delay_ = 500ms;
  } else {
    r.max_delay_ = std::chrono::nanoseconds(1'000'000'000 / (static_cast<int64_t>(rtl) * 2));
  }
  int ttl = 1;
  if (rtl >= 1) {
    ++ttl;
  } else {
    ttl += static_cast<int>(1 / rtl);
  }
  r.ttl_ = std::chrono::seconds(ttl);
  return r;
}

RateLimiter::Decision RateLimiter::take(std::string_view key, Clock::time_point now) {
  if (rate_ <= 0) return {};

  auto it = map_.find(key);
  if (it != map_.end() && now >= it->second->expires) {
    lru_.erase(it->second);
    map_.erase(it);
    it = map_.end();
  }
  Bucket* b;
  if (it == map_.end()) {
    // Expired buckets are at the front (one ttl for all): drop those, then the LRU if full.
    while (!lru_.empty() && (lru_.front().expires <= now || map_.size() >= max_keys_)) {
      map_.erase(lru_.front().key);
      lru_.pop_front();
    }
    lru_.push_back(Bucket{std::string(key), burst_, now, now});
    b = &lru_.back();
    map_.emplace(b->key, std::prev(lru_.end()));
  } else {
    lru_.splice(lru_.end(), lru_, it->second);
    b = &lru_.back();
  }
  // Traefik refreshes the ttl on every request, refused ones included.
  b->expires = now + ttl_;

  // x/time/rate advance(): refill for the time since the last event, capped at burst; a clock
  // that went backwards refills nothing.
  double elapsed =
      std::chrono::duration<double>(std::max(now - b->last, Clock::duration(0))).count();
  double tokens = std::min(burst_, b->tokens + elapsed * rate_) - 1;
  Clock::duration wait{0};
  if (tokens < 0) {
    wait =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(-tokens / rate_));
  }
  if (wait > max_delay_) {
    // Traefik cancels the reservation at once, which gives the token back: nothing changes.
    return {false, wait};
  }
  b->tokens = tokens;
  b->last = std::max(now, b->last);
  return {true, wait};
}

std::string retry_after_seconds(RateLimiter::Clock::duration d) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return std::to_string((ns + 999'999'999) / 1'000'000'000);
}

namespace {

// Go's fmtFrac + fmtInt: v / 10^prec with the fraction's trailing zeros dropped.
std::string frac(uint64_t v, int prec) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    int digit = static_cast<int>(v % 10);
    print = print || digit != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  std::string out = std::to_string(v);
  if (print) out += "." + digits;
  return out;
}

}  // namespace

std::string go_duration(std::chrono::nanoseconds d) {
  int64_t n = d.count();
  if (n == 0) return "0s";
  std::string sign = n < 0 ? "-" : "";
  uint64_t u = n < 0 ? static_cast<uint64_t>(-(n + 1)) + 1 : static_cast<uint64_t>(n);
  if (u < 1'000'000'000) {
    if (u < 1'000) return sign + std::to_string(u) + "ns";
    if (u < 1'000'000) return sign + frac(u, 3) + "\u00b5s";
    return sign + frac(u, 6) + "ms";
  }
  std::string secs = frac(u % 60'000'000'000, 9) + "s";
  u /= 60'000'000'000;  // minutes
  if (u == 0) return sign + secs;
  std::string out = std::to_string(u % 60) + "m" + secs;
  u /= 60;
  if (u > 0) out = std::to_string(u) + "h" + out;
  return sign + out;
}

}  // namespace portier::proxy::mw
