// The circuit breaker: expression parsing (precedence, errors with offsets), evaluation against
// fake metrics, the rolling window, and oxy's state machine with injected time.
#include "proxy/middlewares/breaker.h"

#include <gtest/gtest.h>

namespace portier::proxy::mw {
namespace {

using namespace std::chrono_literals;
using Clock = Breaker::Clock;
using State = Breaker::State;

TEST(BreakerExpr, Parse) {
  struct Case {
    std::string text, want;  // want: to_string(), or the error message
    bool ok;
  };
  std::vector<Case> cases = {
      {"NetworkErrorRatio() > 0.5", "(NetworkErrorRatio() > 0.5)", true},
      {"  NetworkErrorRatio()>0.5  ", "(NetworkErrorRatio() > 0.5)", true},
      {"LatencyAtQuantileMS(50.0) > 100", "(LatencyAtQuantileMS(50) > 100)", true},
      {"ResponseCodeRatio(500, 600, 0, 600) >= 0.25",
       "(ResponseCodeRatio(500, 600, 0, 600) >= 0.25)", true},
      {"RequestThreshold() != 10", "(RequestThreshold() != 10)", true},
      {"0.5 < NetworkErrorRatio()", "(0.5 < NetworkErrorRatio())", true},
      {"NetworkErrorRatio() == 1e-1", "(NetworkErrorRatio() == 0.1)", true},
      {"NetworkErrorRatio() > 0.5 || RequestThreshold() > 1 && LatencyAtQuantileMS(99) <= 2",
       "((NetworkErrorRatio() > 0.5) || ((RequestThreshold() > 1) && (LatencyAtQuantileMS(99) "
       "<= 2)))",
       true},
      {"(NetworkErrorRatio() > 0.5 || RequestThreshold() > 1) && LatencyAtQuantileMS(99) < 2",
       "(((NetworkErrorRatio() > 0.5) || (RequestThreshold() > 1)) && (LatencyAtQuantileMS(99) "
       "< 2))",
       true},
      {"NetworkErrorRatio() > 1 || NetworkErrorRatio() > 2 || NetworkErrorRatio() > 3",
       "((NetworkErrorRatio() > 1) || (NetworkErrorRatio() > 2) || (NetworkErrorRatio() > 3))",
       true},
      {"", "offset 0: expected a number or a function", false},
      {"NetworkErrorRatio()", "offset 19: expected a comparison (> < >= <= == !=)", false},
      {"NetworkErrorRatio() > ", "offset 22: expected a number or a function", false},
      {"NetworkErrorRatio() => 1", "offset 20: expected a comparison (> < >= <= == !=)", false},
      {"Foo() > 1", "offset 0: unknown function `Foo`", false},
      {"NetworkErrorRatio > 1", "offset 18: expected `(`", false},
      {"NetworkErrorRatio(1) > 0", "offset 20: NetworkErrorRatio takes 0 argument(s), got 1",
       false},
      {"ResponseCodeRatio(500, 600, 0) > 1",
       "offset 30: ResponseCodeRatio takes 4 argument(s), got 3", false},
      {"ResponseCodeRatio(500.5, 600, 0, 600) > 1", "offset 18: expected an integer status code",
       false},
      {"ResponseCodeRatio(500 600, 0, 600) > 1", "offset 22: expected `,` or `)`", false},
      {"LatencyAtQuantileMS(101) > 1", "offset 24: the quantile must be in 0..100", false},
      {"(NetworkErrorRatio() > 0.5", "offset 26: expected `)`", false},
      {"NetworkErrorRatio() > 0.5)", "offset 25: unexpected `)`", false},
      {"NetworkErrorRatio() > 0.5 &&", "offset 28: expected a number or a function", false},
      {"NetworkErrorRatio() > 0.5 & RequestThreshold() > 1", "offset 26: unexpected `&`", false},
      {"NetworkErrorRatio() > 1.2.3", "offset 22: invalid number", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto e = Expression::parse(c.text);
    if (c.ok) {
      ASSERT_TRUE(e) << e.error().message;
      EXPECT_EQ(e->to_string(), c.want);
    } else {
      ASSERT_FALSE(e) << e->to_string();
      EXPECT_EQ(e.error().message, c.want);
    }
  }
}

struct FakeMetrics : Metrics {
  double ner = 0, rcr = 0;
  int64_t latency = 0, total = 0;
  mutable std::vector<int> rcr_args;
  mutable double quantile = -1;
  double network_error_ratio() const override { return ner; }
  double response_code_ratio(int a, int b, int c, int d) const override {
    rcr_args = {a, b, c, d};
    return rcr;
  }
  int64_t latency_at_quantile_ms(double q) const override {
    quantile = q;
    return latency;
  }
  int64_t total_count() const override { return total; }
};

TEST(BreakerExpr, Eval) {
  struct Case {
    std::string text;
    FakeMetrics m;
    bool want;
  };
  auto fm = [](double ner, double rcr, int64_t lat, int64_t total) {
    FakeMetrics m;
    m.ner = ner;
    m.rcr = rcr;
    m.latency = lat;
    m.total = total;
    return m;
  };
  std::vector<Case> cases = {
      {"NetworkErrorRatio() > 0.5", fm(0.6, 0, 0, 0), true},
      {"NetworkErrorRatio() > 0.5", fm(0.5, 0, 0, 0), false},
      {"NetworkErrorRatio() >= 0.5", fm(0.5, 0, 0, 0), true},
      {"NetworkErrorRatio() == 0.5", fm(0.5, 0, 0, 0), true},
      {"NetworkErrorRatio() != 0.5", fm(0.5, 0, 0, 0), false},
      {"NetworkErrorRatio() <= 0.5", fm(0.4, 0, 0, 0), true},
      {"NetworkErrorRatio() < 0.5", fm(0.5, 0, 0, 0), false},
      {"0.5 < NetworkErrorRatio()", fm(0.6, 0, 0, 0), true},
      {"LatencyAtQuantileMS(50) > 100", fm(0, 0, 101, 0), true},
      {"ResponseCodeRatio(500, 600, 0, 600) > 0.25", fm(0, 0.3, 0, 0), true},
      {"RequestThreshold() > 10 && NetworkErrorRatio() > 0.5", fm(0.9, 0, 0, 10), false},
      {"RequestThreshold() > 10 && NetworkErrorRatio() > 0.5", fm(0.9, 0, 0, 11), true},
      // && before ||: true || (false && x)
      {"NetworkErrorRatio() > 0.5 || RequestThreshold() > 1 && LatencyAtQuantileMS(1) > 1",
       fm(0.9, 0, 0, 0), true},
      {"(NetworkErrorRatio() > 0.5 || RequestThreshold() > 1) && LatencyAtQuantileMS(1) > 1",
       fm(0.9, 0, 0, 0), false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto e = Expression::parse(c.text);
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(e->eval(c.m), c.want);
  }
  FakeMetrics m;
  Expression::parse("ResponseCodeRatio(500, 600, 0, 600) > 0 || LatencyAtQuantileMS(99.9) > 0")
      ->eval(m);
  EXPECT_EQ(m.rcr_args, (std::vector<int>{500, 600, 0, 600}));
  EXPECT_DOUBLE_EQ(m.quantile, 99.9);
}

TEST(RollingMetrics, WindowRatiosAndQuantiles) {
  RollingMetrics m;
  Clock::time_point t{1000s};
  for (int i = 0; i < 6; ++i) m.record(200, 1ms, t);
  m.record(502, 10ms, t + 1s);
  m.record(504, 10ms, t + 2s);
  m.record(0, 10ms, t + 3s);
  m.record(503, 100ms, t + 4s);
  m.advance(t + 4s);
  EXPECT_EQ(m.total_count(), 10);
  EXPECT_EQ(m.network_error_count(), 3);
  EXPECT_DOUBLE_EQ(m.network_error_ratio(), 0.3);
  EXPECT_DOUBLE_EQ(m.response_code_ratio(500, 600, 0, 600), 0.4);
  EXPECT_DOUBLE_EQ(m.response_code_ratio(502, 503, 200, 201), 2.0 / 6);  // status 0 counts as 502
  EXPECT_DOUBLE_EQ(m.response_code_ratio(500, 600, 300, 400), 0);        // no divisor
  EXPECT_EQ(m.latency_at_quantile_ms(50), 1);
  EXPECT_EQ(m.latency_at_quantile_ms(90), 10);
  EXPECT_EQ(m.latency_at_quantile_ms(100), 102);  // 100 ms: its bucket's top, within 6.25%
  EXPECT_EQ(m.latency_at_quantile_ms(0), 1);

  // 10 s window for counts: at t+10s the t slot is gone, the others stay.
  m.advance(t + 10s);
  EXPECT_EQ(m.total_count(), 4);
  EXPECT_DOUBLE_EQ(m.network_error_ratio(), 0.75);
  m.advance(t + 14s);
  EXPECT_EQ(m.total_count(), 0);
  EXPECT_DOUBLE_EQ(m.network_error_ratio(), 0);
  // Latencies stay for 60 s (six 10 s slots), as oxy's rolling histogram.
  EXPECT_EQ(m.latency_at_quantile_ms(50), 1);
  m.advance(t + 70s);
  EXPECT_EQ(m.latency_at_quantile_ms(50), 0);

  m.record(200, 5ms, t + 71s);
  m.reset();
  m.advance(t + 71s);
  EXPECT_EQ(m.total_count(), 0);
  EXPECT_EQ(m.latency_at_quantile_ms(50), 0);
}

TEST(RollingMetrics, QuantileAccuracy) {
  RollingMetrics m;
  Clock::time_point t{1000s};
  for (int ms = 1; ms <= 1000; ++ms) m.record(200, std::chrono::milliseconds(ms), t);
  m.advance(t);
  for (double q : {10.0, 50.0, 90.0, 99.0}) {
    SCOPED_TRACE(q);
    double exact = q * 10;
    auto got = static_cast<double>(m.latency_at_quantile_ms(q));
    EXPECT_GE(got, exact - 1);
    EXPECT_LE(got, exact * 1.0625 + 1);
  }
}

TEST(Breaker, Transitions) {
  auto expr = Expression::parse("NetworkErrorRatio() > 0.5");
  ASSERT_TRUE(expr);
  Breaker b(*expr, {100ms, 10s, 10s});
  Clock::time_point t0{1000s};
  EXPECT_TRUE(b.allow(t0));
  b.record(200, 1ms, t0);  // first check: ratio 0
  b.record(502, 1ms, t0 + 10ms);
  b.record(0, 1ms, t0 + 20ms);
  b.record(502, 1ms, t0 + 100ms);  // 3/4 but not after the next check time yet
  EXPECT_EQ(b.state(), State::Standby);
  EXPECT_TRUE(b.allow(t0 + 100ms));
  Clock::time_point trip = t0 + 101ms;
  b.record(504, 1ms, trip);
  EXPECT_EQ(b.state(), State::Tripped);
  EXPECT_EQ(b.metrics().total_count(), 0);  // reset on tripping

  EXPECT_FALSE(b.allow(trip + 1s));
  EXPECT_FALSE(b.allow(trip + 10s - 1ns));
  // Fallback over: recovering, starting at 0% of traffic.
  Clock::time_point rec = trip + 10s;
  EXPECT_FALSE(b.allow(rec));
  EXPECT_EQ(b.state(), State::Recovering);
  // Half way: the target is 25% (0.5 * 5 s / 10 s).
  int allowed = 0;
  for (int i = 0; i < 399; ++i) allowed += b.allow(rec + 5s);
  EXPECT_NEAR(allowed, 100, 1);
  // Good responses while recovering do not trip it.
  b.record(200, 1ms, rec + 5s);
  EXPECT_EQ(b.state(), State::Recovering);
  // Past the recovery duration: standby, everything goes through.
  EXPECT_TRUE(b.allow(rec + 10s + 1ns));
  EXPECT_EQ(b.state(), State::Standby);
  EXPECT_TRUE(b.allow(rec + 11s));
}

TEST(Breaker, TripsAgainWhileRecovering) {
  auto expr = Expression::parse("ResponseCodeRatio(500, 600, 0, 600) >= 0.5");
  ASSERT_TRUE(expr);
  Breaker b(*expr, {100ms, 5s, 10s});
  Clock::time_point t{1000s};
  b.record(500, 1ms, t);
  ASSERT_EQ(b.state(), State::Tripped);
  EXPECT_FALSE(b.allow(t + 4s));
  EXPECT_FALSE(b.allow(t + 5s));  // enters recovering
  ASSERT_EQ(b.state(), State::Recovering);
  b.record(503, 1ms, t + 6s);
  EXPECT_EQ(b.state(), State::Tripped);
  EXPECT_FALSE(b.allow(t + 10s));
  EXPECT_FALSE(b.allow(t + 11s));  // 5 s after the second trip: recovering again
  EXPECT_EQ(b.state(), State::Recovering);
}

TEST(Breaker, ChecksAtMostOncePerPeriod) {
  auto expr = Expression::parse("NetworkErrorRatio() > 0.5");
  ASSERT_TRUE(expr);
  Breaker b(*expr, {1s, 10s, 10s});
  Clock::time_point t{1000s};
  b.record(200, 1ms, t);  // checked, next check after t + 1 s
  for (int i = 1; i <= 10; ++i) b.record(0, 1ms, t + i * 100ms);
  EXPECT_EQ(b.state(), State::Standby);  // t + 1 s is not after t + 1 s
  b.record(0, 1ms, t + 1001ms);
  EXPECT_EQ(b.state(), State::Tripped);
}

}  // namespace
}  // namespace portier::proxy::mw
