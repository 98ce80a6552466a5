// The circuitBreaker middleware's state: a rolling window of request outcomes and oxy's
// cbreaker state machine (vulcand/oxy v2 cbreaker.go, ratio.go; memmetrics/roundtrip.go).
//
// RollingMetrics: counts over the last 10 s in 1 s slots (requests, network errors, requests
// per status code), latencies over the last 60 s in 10 s slots (oxy: 6 sub-histograms rolled
// every 10 s). Latencies go into a log-linear histogram: exact below 16 us, else 16 buckets per
// power of two, so a quantile is reported as its bucket's upper bound, at most 6.25% above the
// true value (oxy's HDR histogram: 2 significant figures, 1%); values are capped at 2^33 us (~2.4
// h). Network errors, as oxy: responses 502 and 504, plus status 0 (no response at all), which is
// counted as a 502 in the per-code counts, the status the client gets.
// Memory: about 12 KiB per RollingMetrics.
//
// Breaker, as oxy's CircuitBreaker:
//   Standby    every request goes through; after each recorded request, at most once per
//              check_period, the expression is evaluated; true -> Tripped (metrics reset).
//   Tripped    every request is refused (the caller answers responseCode, 503 by default) until
//              fallback_duration has passed; the next allow() then enters Recovering.
//   Recovering for recovery_duration, a growing share of requests goes through: oxy's ratio
//              controller lets a request through when allowed/(allowed+denied) stays below
//              0.5 * elapsed / recovery_duration (so at most half at the end, deterministic;
//              no randomness is needed). The expression is still checked after each recorded
//              request and trips again when true. When recovery_duration has passed -> Standby.
// Time is passed in. Threading: none; one Breaker per worker and per middleware instance.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

#include "proxy/middlewares/breaker_expr.h"

namespace portier::proxy::mw {

class RollingMetrics final : public Metrics {
 public:
  using Clock = std::chrono::steady_clock;

  // A completed request: `status` 0 for a network error (no response).
  void record(int status, std::chrono::microseconds latency, Clock::time_point now);
  // Moves the window to `now`; call before reading (the Breaker does).
  void advance(Clock::time_point now);
  void reset();

  double network_error_ratio() const override;
  double response_code_ratio(int from_a, int to_a, int from_b, int to_b) const override;
  int64_t latency_at_quantile_ms(double quantile) const override;
  int64_t total_count() const override;
  int64_t network_error_count() const;

  static constexpr int kCounterSlots = 10;     // x 1 s
  static constexpr int kLatencySlots = 6;      // x 10 s
  static constexpr int kLatencyBuckets = 480;  // 16 exact + 29 octaves x 16

 private:
  struct CounterSlot {
    int64_t second = -1;
    uint32_t total = 0;
    uint32_t net_errors = 0;
    std::vector<std::pair<int, uint32_t>> codes;  // few distinct codes per second
  };
  struct LatencySlot {
    int64_t period = -1;
    std::array<uint32_t, kLatencyBuckets> buckets{};
  };
  bool live_counter(const CounterSlot& s) const;
  bool live_latency(const LatencySlot& s) const;

  int64_t now_second_ = 0;
  std::array<CounterSlot, kCounterSlots> counters_{};
  std::array<LatencySlot, kLatencySlots> latencies_{};
};

struct BreakerOptions {
  std::chrono::milliseconds check_period{100};
  std::chrono::milliseconds fallback_duration{10'000};
  std::chrono::milliseconds recovery_duration{10'000};
};

class Breaker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State { Standby, Tripped, Recovering };

  explicit Breaker(Expression condition, BreakerOptions options = {});

  // Whether this request may go to the service; false: answer with the fallback response.
  bool allow(Clock::time_point now);
  // After a request that allow() let through completes (status 0: network error).
  void record(int status, std::chrono::microseconds latency, Clock::time_point now);

  State state() const { return state_; }
  const RollingMetrics& metrics() const { return metrics_; }

 private:
  Expression condition_;
  BreakerOptions options_;
  RollingMetrics metrics_;
  State state_ = State::Standby;
  Clock::time_point until_{};
  Clock::time_point next_check_{};  // oxy's lastCheck: checks happen when now is after it
  // Recovering: oxy's ratioController.
  Clock::time_point recovery_start_{};
  int64_t allowed_ = 0;
  int64_t denied_ = 0;
};

}  // namespace portier::proxy::mw
