#include "proxy/middlewares/breaker.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace portier::proxy::mw {
namespace {

using namespace std::chrono_literals;

int64_t floor_div(RollingMetrics::Clock::time_point t, std::chrono::seconds unit) {
  auto d = t.time_since_epoch();
  auto q = d / unit;
  if (d < d.zero() && q * unit != d) --q;
  return q;
}

int bucket_of(uint64_t us) {
  us = std::min<uint64_t>(us, (uint64_t{1} << 33) - 1);
  if (us < 16) return static_cast<int>(us);
  int e = 63 - std::countl_zero(us);
  int sub = static_cast<int>((us >> (e - 4)) & 15);
  return 16 + (e - 4) * 16 + sub;
}

uint64_t bucket_upper(int idx) {
  if (idx < 16) return static_cast<uint64_t>(idx);
  int o = (idx - 16) / 16;
  uint64_t sub = static_cast<uint64_t>((idx - 16) % 16);
  return ((16 + sub + 1) << o) - 1;
}

bool is_net_error(int status) { return status == 0 || status == 502 || status == 504; }

}  // namespace

bool RollingMetrics::live_counter(const CounterSlot& s) const {
  return s.second > now_second_ - kCounterSlots && s.second <= now_second_;
}

bool RollingMetrics::live_latency(const LatencySlot& s) const {
  int64_t now_period = now_second_ >= 0 ? now_second_ / 10 : (now_second_ - 9) / 10;
  return s.period > now_period - kLatencySlots && s.period <= now_period;
}

void RollingMetrics::advance(Clock::time_point now) { now_second_ = floor_div(now, 1s); }

void RollingMetrics::reset() {
  counters_ = {};
  for (auto& l : latencies_) l.period = -1;
}

void RollingMetrics::record(int status, std::chrono::microseconds latency, Clock::time_point now) {
  advance(now);
  CounterSlot& c = counters_[static_cast<size_t>(now_second_ % kCounterSlots)];
  if (c.second != now_second_) {
    c.second = now_second_;
    c.total = 0;
    c.net_errors = 0;
    c.codes.clear();
  }
  ++c.total;
  if (is_net_error(status)) ++c.net_errors;
  int code = status == 0 ? 502 : status;
  auto it = std::find_if(c.codes.begin(), c.codes.end(), [&](auto& p) { return p.first == code; });
  if (it == c.codes.end()) {
    c.codes.emplace_back(code, 1);
  } else {
    ++it->second;
  }

  int64_t period = floor_div(now, 10s);
  LatencySlot& l = latencies_[static_cast<size_t>(period % kLatencySlots)];
  if (l.period != period) {
    l.period = period;
    l.buckets.fill(0);
  }
  ++l.buckets[static_cast<size_t>(
      bucket_of(static_cast<uint64_t>(std::max<int64_t>(latency.count(), 0))))];
}

int64_t RollingMetrics::total_count() const {
  int64_t n = 0;
  for (const auto& c : counters_) {
    if (live_counter(c)) n += c.total;
  }
  return n;
}

int64_t RollingMetrics::network_error_count() const {
  int64_t n = 0;
  for (const auto& c : counters_) {
    if (live_counter(c)) n += c.net_errors;
  }
  return n;
}

double RollingMetrics::network_error_ratio() const {
  int64_t total = total_count();
  if (total == 0) return 0;
  return static_cast<double>(network_error_count()) / static_cast<double>(total);
}

double RollingMetrics::response_code_ratio(int from_a, int to_a, int from_b, int to_b) const {
  int64_t a = 0;
  int64_t b = 0;
  for (const auto& c : counters_) {
    if (!live_counter(c)) continue;
    for (auto [code, n] : c.codes) {
      if (code >= from_a && code < to_a) a += n;
      if (code >= from_b && code < to_b) b += n;
    }
  }
  return b == 0 ? 0 : static_cast<double>(a) / static_cast<double>(b);
}

int64_t RollingMetrics::latency_at_quantile_ms(double quantile) const {
  std::array<uint64_t, kLatencyBuckets> merged{};
  uint64_t total = 0;
  for (const auto& l : latencies_) {
    if (!live_latency(l)) continue;
    for (size_t i = 0; i < merged.size(); ++i) merged[i] += l.buckets[i];
  }
  for (uint64_t n : merged) total += n;
  if (total == 0) return 0;
  // As HdrHistogram's ValueAtQuantile: the first bucket where the running count reaches
  // max(1, round(q% of the total)), reported as the bucket's highest value.
  double q = std::clamp(quantile, 0.0, 100.0);
  auto want =
      std::max<uint64_t>(1, static_cast<uint64_t>(q / 100 * static_cast<double>(total) + 0.5));
  uint64_t seen = 0;
  for (size_t i = 0; i < merged.size(); ++i) {
    seen += merged[i];
    if (seen >= want) return static_cast<int64_t>(bucket_upper(static_cast<int>(i)) / 1000);
  }
  return static_cast<int64_t>(bucket_upper(kLatencyBuckets - 1) / 1000);
}

Breaker::Breaker(Expression condition, BreakerOptions options)
    : condition_(std::move(condition)), options_(options) {}

bool Breaker::allow(Clock::time_point now) {
  switch (state_) {
    case State::Standby:
      return true;
    case State::Tripped:
      if (now < until_) return false;
      state_ = State::Recovering;
      until_ = now + options_.recovery_duration;
      recovery_start_ = now;
      allowed_ = 0;
      denied_ = 0;
      [[fallthrough]];
    case State::Recovering: {
      if (now > until_ || options_.recovery_duration <= std::chrono::milliseconds(0)) {
        state_ = State::Standby;
        return true;
      }
      double target = 0.5 * std::chrono::duration<double>(now - recovery_start_).count() /
                      std::chrono::duration<double>(options_.recovery_duration).count();
      double ratio =
          static_cast<double>(allowed_ + 1) / static_cast<double>(allowed_ + 1 + denied_);
      if (ratio < target) {
        ++allowed_;
        return true;
      }
      ++denied_;
      return false;
    }
  }
  return true;
}

void Breaker::record(int status, std::chrono::microseconds latency, Clock::time_point now) {
  metrics_.record(status, latency, now);
  if (!(now > next_check_)) return;
  next_check_ = now + options_.check_period;
  if (state_ == State::Tripped) return;
  metrics_.advance(now);
  if (!condition_.eval(metrics_)) return;
  state_ = State::Tripped;
  until_ = now + options_.fallback_duration;
  metrics_.reset();
}

}  // namespace portier::proxy::mw
