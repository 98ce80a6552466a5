// Decoding loadBalancer.strategy and loadBalancer.sticky (Traefik v3's names and defaults).
#include <gtest/gtest.h>

#include <optional>

#include "config/decode.h"
#include "unit/config/decode_errors.h"

namespace portier::config {
namespace {

std::string service_with(const std::string& lb_lines) {
  return "http:\n  services:\n    s:\n      loadBalancer:\n        servers:\n"
         "          - url: \"http://127.0.0.1:1\"\n" +
         lb_lines;
}

TEST(LoadBalancerDecode, StrategyAndSticky) {
  struct Case {
    std::string name;
    std::string lines;
    std::string strategy;
    std::optional<StickyCookie> sticky;
    std::string error;  // substring of the decode error; "" when it must decode
  };
  StickyCookie full;
  full.name = "srv";
  full.secure = true;
  full.http_only = true;
  full.same_site = "lax";
  full.max_age = 60;
  full.path = "/app";
  full.domain = "example.com";
  const std::vector<Case> cases = {
      {"defaults", "", "", std::nullopt, ""},
      {"p2c", "        strategy: p2c\n", "p2c", std::nullopt, ""},
      {"hrw", "        strategy: hrw\n", "hrw", std::nullopt, ""},
      // Unknown strategies decode; the table builder disables the service with its error.
      {"unknown strategy decodes", "        strategy: leasttime\n", "leasttime", std::nullopt, ""},
      {"sticky cookie defaults", "        sticky:\n          cookie: {}\n", "", StickyCookie{}, ""},
      {"label short form", "        sticky:\n          cookie: \"true\"\n", "", StickyCookie{}, ""},
      {"cookie false", "        sticky:\n          cookie: false\n", "", std::nullopt, ""},
      {"every field, any case",
       "        sticky:\n          cookie:\n            name: srv\n            secure: true\n"
       "            httponly: true\n            sameSite: Lax\n            maxAge: 60\n"
       "            path: /app\n            domain: example.com\n",
       "", full, ""},
      {"bad sameSite", "        sticky:\n          cookie:\n            sameSite: sideways\n", "",
       std::nullopt, "sticky.cookie.sameSite` must be none, lax or strict"},
      {"unknown cookie key", "        sticky:\n          cookie:\n            nmae: x\n", "",
       std::nullopt, "unknown key `http.services.s.loadBalancer.sticky.cookie.nmae`"},
      {"bad maxAge", "        sticky:\n          cookie:\n            maxAge: soon\n", "",
       std::nullopt, "maxAge"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto cfg = decode_dynamic_yaml(service_with(c.lines), "d.yml");
    if (!c.error.empty()) {
      const std::string errors = decode_errors(service_with(c.lines), "d.yml");
      EXPECT_NE(errors.find(c.error), std::string::npos) << errors;
      continue;
    }
    ASSERT_TRUE(cfg) << cfg.error().message;
    const auto& lb = *cfg->http.services.at("s").load_balancer;
    EXPECT_EQ(lb.strategy, c.strategy);
    EXPECT_EQ(lb.sticky, c.sticky);
  }
}

}  // namespace
}  // namespace portier::config
