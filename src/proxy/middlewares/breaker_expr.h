// The circuitBreaker middleware's expression language (Traefik docs; vulcand/oxy cbreaker
// predicates), parsed once when the table is built and evaluated against a metrics window.
//
//   expr       := and ('||' and)*
//   and        := primary ('&&' primary)*
//   primary    := '(' expr ')' | operand cmp operand
//   cmp        := '>' | '<' | '>=' | '<=' | '==' | '!='
//   operand    := number | NetworkErrorRatio() | ResponseCodeRatio(a, b, c, d)
//               | LatencyAtQuantileMS(q) | RequestThreshold()
//
// Semantics as oxy: NetworkErrorRatio() is network errors / requests (0 with no requests);
// ResponseCodeRatio(a, b, c, d) is the count of codes in [a, b) over the count in [c, d) (0 when
// the latter is 0); LatencyAtQuantileMS(q) is the latency at percentile q (0..100) in whole
// milliseconds (truncated); RequestThreshold() is the number of requests in the window.
// '&&' binds tighter than '||'; both short-circuit.
//
// Where we are more lenient than oxy: oxy types its operands (an int literal against
// NetworkErrorRatio(), or a float against LatencyAtQuantileMS(), is a parse error there, and the
// function must be on the left); here every operand is a number and either side may be a
// function. ResponseCodeRatio's arguments must be integers, as there.
//
// An Expression is immutable: share it between workers; eval() is const and allocation-free.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace portier::proxy::mw {

// What an expression reads: a window of recent requests. The seam for tests (fake numbers)
// and for RollingMetrics.
class Metrics {
 public:
  virtual ~Metrics() = default;
  virtual double network_error_ratio() const = 0;
  virtual double response_code_ratio(int from_a, int to_a, int from_b, int to_b) const = 0;
  // Whole milliseconds, truncated (oxy: int(LatencyAtQuantile(q) / time.Millisecond)).
  virtual int64_t latency_at_quantile_ms(double quantile) const = 0;
  virtual int64_t total_count() const = 0;
};

class Expression {
 public:
  // Errors give the 0-based byte offset: "offset 22: expected ')'".
  static Result<Expression> parse(std::string_view text);

  bool eval(const Metrics& m) const;
  // The parsed tree printed back fully parenthesized (tests, logs): "((A > 0.5) || (B < 2))".
  std::string to_string() const;

  struct Operand {
    enum class Kind {
      Number,
      NetworkErrorRatio,
      ResponseCodeRatio,
      LatencyAtQuantileMS,
      RequestThreshold
    };
    Kind kind = Kind::Number;
    double number = 0;           // Number; the quantile for LatencyAtQuantileMS
    std::array<int, 4> codes{};  // ResponseCodeRatio
  };
  enum class Cmp { Gt, Lt, Ge, Le, Eq, Ne };
  struct Node {
    enum class Kind { Or, And, Compare };
    Kind kind = Kind::Compare;
    std::vector<Node> children;  // Or, And: two or more
    Operand lhs, rhs;            // Compare
    Cmp cmp = Cmp::Gt;
  };

 private:
  explicit Expression(Node root) : root_(std::make_shared<const Node>(std::move(root))) {}
  std::shared_ptr<const Node> root_;
};

}  // namespace portier::proxy::mw
