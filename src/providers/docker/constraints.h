// providers.docker.constraints: which containers the provider considers, as Traefik's label
// expressions: Label(`key`, `value`), LabelRegex(`key`, `regexp`), &&, ||, ! and parentheses,
// e.g. "Label(`environment`, `prod`) && !LabelRegex(`team`, `^test-`)". Compiled once (RE2;
// LabelRegex is unanchored, like Go's MatchString).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/result.h"

namespace portier::providers::docker {

class Constraints {
 public:
  // Default: matches everything. Copies share the compiled expression (immutable).
  bool matches(const std::map<std::string, std::string>& labels) const;
  struct Node;

 private:
  friend Result<Constraints> parse_constraints(const std::string& text);
  std::shared_ptr<const Node> root_;  // shared: options are copied around
};

// "" gives constraints that match every container.
Result<Constraints> parse_constraints(const std::string& text);

}  // namespace portier::providers::docker
