// ipAllowList, rateLimit, inFlightReq, circuitBreaker: filters that decide from the client and the
// traffic whether a request goes on. The state of the last three is shared by the workers (one
// mutex each, held for a map lookup), so limits hold for the process whatever the number of
// workers; it is kept per router, as Traefik builds one instance per router, and survives
// reloads that leave the middleware's configuration unchanged (ChainContext::state).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <unordered_map>

#include "common/log.h"
#include "proxy/middlewares/breaker.h"
#include "proxy/middlewares/breaker_expr.h"
#include "proxy/middlewares/filters.h"
#include "proxy/middlewares/ip_strategy.h"
#include "proxy/middlewares/rate_limiter.h"

namespace portier::proxy::mw {
namespace {

namespace asio = boost::asio;

Result<IpStrategy> make_strategy(const config::IpStrategy& c) {
  IpStrategyConfig sc;
  sc.depth = c.depth;
  sc.excluded_ips = c.excluded_ips;
  if (c.ipv6_subnet != 0) sc.ipv6_subnet = c.ipv6_subnet;
  return IpStrategy::make(sc);
}

// The client address by `strategy`: X-Forwarded-For is read only from trusted peers
// (forwardedHeaders.trustedIPs), as Traefik's entrypoint drops it from the others before any
// middleware runs.
std::string client_ip(const Stream& s, const IpStrategy& strategy) {
  std::array<std::string_view, 8> xff;
  std::size_t n = 0;
  if (s.trusted_peer && s.fields != nullptr) {
    for (const auto& f : *s.fields) {
      if (n < xff.size() && http::iequals(f.name, "x-forwarded-for")) xff[n++] = f.value;
    }
  }
  return strategy.client_ip(s.peer_ip, std::span<const std::string_view>(xff.data(), n));
}

// sourceCriterion: what groups requests (rateLimit, inFlightReq).
class Source {
 public:
  static Result<Source> make(const std::optional<config::SourceCriterion>& c) {
    Source src;
    if (!c) return src;
    int set = (c->ip_strategy ? 1 : 0) + (c->request_header_name.empty() ? 0 : 1) +
              (c->request_host ? 1 : 0);
    if (set > 1) {
      return Error{"sourceCriterion: set only one of ipStrategy, requestHeaderName, requestHost"};
    }
    if (c->ip_strategy) {
      auto st = make_strategy(*c->ip_strategy);
      if (!st) return Error{"sourceCriterion.ipStrategy: " + st.error().message};
      src.strategy_ = std::move(*st);
    }
    src.header_ = c->request_header_name;
    src.host_ = c->request_host;
    return src;
  }
  // The key, or "" when the request has none (Traefik answers 500 then).
  std::string key(const Stream& s) const {
    if (host_) return std::string(s.host.substr(0, s.host.rfind(':') == std::string_view::npos
                                                      ? s.host.size()
                                                      : s.host.rfind(':')));
    if (!header_.empty()) {
      auto v = s.header(header_);
      return v ? std::string(*v) : std::string();
    }
    if (strategy_) return client_ip(s, *strategy_);
    return std::string(s.peer_ip);
  }

 private:
  std::optional<IpStrategy> strategy_;
  std::string header_;
  bool host_ = false;
};

Verdict refuse(Stream& s, int status) {
  s.respond(status);
  return Verdict::Respond;
}

// ---- ipAllowList ----

class IpAllowListFilter final : public Filter {
 public:
  IpAllowListFilter(std::string name, IpMatcher allowed, std::optional<IpStrategy> strategy,
                    int reject)
      : Filter(std::move(name), kRequest),
        allowed_(std::move(allowed)),
        strategy_(std::move(strategy)),
        reject_(reject) {}
  Verdict on_request(Stream& s) const override {
    bool ok;
    if (strategy_) {
      ok = allowed_.contains(std::string_view(client_ip(s, *strategy_)));
    } else {
      ok = allowed_.contains(s.peer);
    }
    if (ok) return Verdict::Continue;
    log::debug("request refused by ipAllowList", {{"middleware", name()}, {"client", s.peer_ip}});
    return refuse(s, reject_);
  }

 private:
  IpMatcher allowed_;
  std::optional<IpStrategy> strategy_;
  int reject_;
};

// ---- rateLimit ----

struct RateState {
  explicit RateState(RateLimiter l) : limiter(std::move(l)) {}
  std::mutex mu;
  RateLimiter limiter;
};

class RateLimitFilter final : public Filter {
 public:
  RateLimitFilter(std::string name, std::shared_ptr<RateState> state, Source source)
      : Filter(std::move(name), kAsyncRequest),
        state_(std::move(state)),
        source_(std::move(source)) {}
  asio::awaitable<Verdict> on_request_async(Stream& s) const override {
    const std::string key = source_.key(s);
    if (key.empty()) co_return refuse(s, 500);
    RateLimiter::Decision d;
    {
      std::lock_guard lock(state_->mu);
      d = state_->limiter.take(key, RateLimiter::Clock::now());
    }
    if (!d.allowed) {
      s.respond(429);
      s.local.fields.push_back({"Retry-After", retry_after_seconds(d.delay)});
      s.local.fields.push_back(
          {"X-Retry-In",
           go_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(d.delay))});
      co_return Verdict::Respond;
    }
    if (d.delay.count() > 0) {
      // Within the allowed delay: the request waits for its token (Traefik sleeps too).
      asio::steady_timer timer(co_await asio::this_coro::executor, d.delay);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return Verdict::Continue;
  }

 private:
  std::shared_ptr<RateState> state_;
  Source source_;
};

// ---- inFlightReq ----

struct InFlightState {
  std::mutex mu;
  std::unordered_map<std::string, long long> counts;
};

class InFlightFilter final : public Filter {
 public:
  InFlightFilter(std::string name, std::shared_ptr<InFlightState> state, Source source,
                 long long amount)
      : Filter(std::move(name), kRequest | kComplete),
        state_(std::move(state)),
        source_(std::move(source)),
        amount_(amount) {}
  Verdict on_request(Stream& s) const override {
    std::string key = source_.key(s);
    if (key.empty()) return refuse(s, 500);
    std::lock_guard lock(state_->mu);
    long long& n = state_->counts[key];
    if (n >= amount_) {
      if (n == 0) state_->counts.erase(key);
      return refuse(s, 429);
    }
    ++n;
    s.notes.emplace_back(this, std::move(key));
    return Verdict::Continue;
  }
  void on_complete(Stream& s) const override {
    // Only a request that was counted is uncounted (one refused here was not).
    const std::string* key = s.note(this);
    if (key == nullptr) return;
    std::lock_guard lock(state_->mu);
    auto it = state_->counts.find(*key);
    if (it != state_->counts.end() && --it->second <= 0) state_->counts.erase(it);
  }

 private:
  std::shared_ptr<InFlightState> state_;
  Source source_;
  long long amount_;
};

// ---- circuitBreaker ----

struct BreakerState {
  std::mutex mu;
  Breaker breaker;
  explicit BreakerState(Breaker b) : breaker(std::move(b)) {}
};

class CircuitBreakerFilter final : public Filter {
 public:
  CircuitBreakerFilter(std::string name, std::shared_ptr<BreakerState> state, int response_code)
      : Filter(std::move(name), kRequest | kComplete),
        state_(std::move(state)),
        code_(response_code) {}
  Verdict on_request(Stream& s) const override {
    bool allowed;
    {
      std::lock_guard lock(state_->mu);
      allowed = state_->breaker.allow(Breaker::Clock::now());
    }
    if (allowed) return Verdict::Continue;
    return refuse(s, code_);
  }
  void on_complete(Stream& s) const override {
    if (s.record.answered_by == name()) return;  // the fallback: not a request to the service
    const auto now = Breaker::Clock::now();
    const auto latency =
        std::chrono::duration_cast<std::chrono::microseconds>(now - s.record.start);
    std::lock_guard lock(state_->mu);
    state_->breaker.record(s.record.status, latency, now);
  }

 private:
  std::shared_ptr<BreakerState> state_;
  int code_;
};

}  // namespace

Built ip_allow_list(const std::string& name, const config::Middleware& m,
                    const ChainContext&) {
  const auto& c = *m.ip_allow_list;
  if (c.source_range.empty()) return Error{"ipAllowList.sourceRange is empty"};
  auto allowed = IpMatcher::parse(c.source_range);
  if (!allowed) return Error{"ipAllowList.sourceRange: " + allowed.error().message};
  std::optional<IpStrategy> strategy;
  if (c.ip_strategy) {
    auto st = make_strategy(*c.ip_strategy);
    if (!st) return Error{"ipAllowList.ipStrategy: " + st.error().message};
    strategy = std::move(*st);
  }
  return std::make_unique<IpAllowListFilter>(name, std::move(*allowed), std::move(strategy),
                                             c.reject_status_code);
}

Built rate_limit(const std::string& name, const config::Middleware& m, const ChainContext& ctx) {
  const auto& c = *m.rate_limit;
  if (c.average < 0) return Error{"rateLimit.average must not be negative"};
  auto source = Source::make(c.source_criterion);
  if (!source) return Error{"rateLimit." + source.error().message};
  RateLimitConfig rc;
  rc.average = c.average;
  rc.period = std::chrono::duration_cast<std::chrono::nanoseconds>(c.period);
  rc.burst = c.burst;
  auto limiter = RateLimiter::make(rc);
  if (!limiter) return Error{"rateLimit: " + limiter.error().message};
  auto state = ctx.state<RateState>(
      name, m, [&] { return std::make_shared<RateState>(std::move(*limiter)); });
  return std::make_unique<RateLimitFilter>(name, std::move(state), std::move(*source));
}

Built in_flight_req(const std::string& name, const config::Middleware& m,
                    const ChainContext& ctx) {
  const auto& c = *m.in_flight_req;
  if (c.amount <= 0) return Error{"inFlightReq.amount must be at least 1"};
  auto source = Source::make(c.source_criterion);
  if (!source) return Error{"inFlightReq." + source.error().message};
  auto state = ctx.state<InFlightState>(name, m, [] { return std::make_shared<InFlightState>(); });
  return std::make_unique<InFlightFilter>(name, std::move(state), std::move(*source), c.amount);
}

Built circuit_breaker(const std::string& name, const config::Middleware& m,
                      const ChainContext& ctx) {
  const auto& c = *m.circuit_breaker;
  if (c.expression.empty()) return Error{"circuitBreaker.expression is empty"};
  auto expr = Expression::parse(c.expression);
  if (!expr) return Error{"circuitBreaker.expression: " + expr.error().message};
  BreakerOptions opts;
  opts.check_period = c.check_period;
  opts.fallback_duration = c.fallback_duration;
  opts.recovery_duration = c.recovery_duration;
  auto state = ctx.state<BreakerState>(name, m, [&] {
    return std::make_shared<BreakerState>(Breaker(std::move(*expr), opts));
  });
  return std::make_unique<CircuitBreakerFilter>(name, std::move(state), c.response_code);
}

}  // namespace portier::proxy::mw
