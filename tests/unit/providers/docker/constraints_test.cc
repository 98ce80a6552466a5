// providers.docker.constraints: Traefik's label expressions.
#include "providers/docker/constraints.h"

#include <gtest/gtest.h>

#include "providers/docker/config_builder.h"

namespace portier::providers::docker {
namespace {

TEST(Constraints, Table) {
  const std::map<std::string, std::string> labels = {{"env", "prod"}, {"team", "test-infra"}};
  struct Case {
    std::string expr;
    bool match;
  };
  const std::vector<Case> cases = {
      {"", true},
      {"Label(`env`, `prod`)", true},
      {"Label(`env`, `dev`)", false},
      {"Label(`missing`, `x`)", false},
      {"!Label(`env`, `dev`)", true},
      {"LabelRegex(`team`, `^test-`)", true},
      {"LabelRegex(`team`, `infra`)", true},  // unanchored, like Go's MatchString
      {"Label(`env`, `prod`) && !LabelRegex(`team`, `^test-`)", false},
      {"Label(`env`, `dev`) || LabelRegex(`team`, `^test-`)", true},
      {"(Label(`env`, `dev`) || Label(`env`, `prod`)) && Label(`team`, `test-infra`)", true},
      {"Label(\"env\", \"prod\")", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expr);
    auto parsed = parse_constraints(c.expr);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->matches(labels), c.match);
  }
  for (const char* bad :
       {"Label(`a`)", "Labels(`a`, `b`)", "Label(`a`, `b`", "LabelRegex(`a`, `(`)",
        "Label(`a`, `b`) &&", "Label(`a`, `b`) Label(`c`, `d`)"}) {
    SCOPED_TRACE(bad);
    auto parsed = parse_constraints(bad);
    ASSERT_FALSE(parsed);
    EXPECT_NE(parsed.error().message.find("column"), std::string::npos) << parsed.error().message;
  }
}

TEST(Constraints, SelectContainers) {
  BuilderOptions options;
  options.constraints = *parse_constraints("Label(`env`, `prod`)");
  Container prod, dev;
  prod.name = "prod";
  prod.labels = {{"env", "prod"}};
  dev.name = "dev";
  dev.labels = {{"env", "dev"}};
  for (Container* c : {&prod, &dev}) {
    c->network_mode = "bridge";
    c->networks = {{"bridge", "172.18.0.2"}};
    c->exposed_ports = {80};
  }
  auto out = build_configuration({prod, dev}, options);
  EXPECT_EQ(out.config.http.routers.count("prod"), 1u);
  EXPECT_EQ(out.config.http.routers.count("dev"), 0u);
}

}  // namespace
}  // namespace portier::providers::docker
