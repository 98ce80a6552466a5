// Decoding weighted, failover and mirroring services and the retry middleware (Traefik v3's
// names and defaults), and the merge qualifying the names they refer to.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "config/merge.h"
#include "unit/config/decode_errors.h"

namespace portier::config {
namespace {

std::string services(const std::string& body) { return "http:\n  services:\n" + body; }

struct Case {
  std::string name;
  std::string yaml;
  std::string error;  // substring of the decode error; "" when it must decode
};

void expect_error(const Case& c) {
  SCOPED_TRACE(c.name);
  const std::string errors = decode_errors(c.yaml, "d.yml");
  if (c.error.empty()) {
    EXPECT_EQ(errors, "");
    return;
  }
  EXPECT_NE(errors.find(c.error), std::string::npos) << errors;
}

TEST(ServicesDecode, Weighted) {
  auto cfg = decode_dynamic_yaml(services("    w:\n      weighted:\n        services:\n"
                                          "          - name: a\n            weight: 3\n"
                                          "          - name: b@docker\n"
                                          "        sticky:\n          cookie:\n"
                                          "            name: pick\n            httpOnly: true\n"
                                          "        healthCheck: {}\n"),
                                 "d.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const Service& s = cfg->http.services.at("w");
  ASSERT_TRUE(s.weighted);
  EXPECT_FALSE(s.load_balancer);
  ASSERT_EQ(s.weighted->services.size(), 2u);
  EXPECT_EQ(s.weighted->services[0], (WeightedService{"a", 3}));
  EXPECT_EQ(s.weighted->services[1], (WeightedService{"b@docker", 1})) << "weight defaults to 1";
  ASSERT_TRUE(s.weighted->sticky);
  EXPECT_EQ(s.weighted->sticky->name, "pick");
  EXPECT_TRUE(s.weighted->sticky->http_only);
  EXPECT_TRUE(s.weighted->health_check);
}

TEST(ServicesDecode, FailoverAndMirroring) {
  auto cfg = decode_dynamic_yaml(
      services("    f:\n      failover:\n        service: main\n        fallback: spare\n"
               "        healthCheck: {}\n"
               "    m:\n      mirroring:\n        service: main\n        mirrors:\n"
               "          - name: shadow\n            percent: 25\n"
               "          - name: other\n"
               "    m2:\n      mirroring:\n        service: main\n        mirrorBody: false\n"
               "        maxBodySize: 1024\n"),
      "d.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const Failover& f = *cfg->http.services.at("f").failover;
  EXPECT_EQ(f.service, "main");
  EXPECT_EQ(f.fallback, "spare");
  EXPECT_TRUE(f.health_check);
  const Mirroring& m = *cfg->http.services.at("m").mirroring;
  EXPECT_EQ(m.service, "main");
  EXPECT_TRUE(m.mirror_body) << "Traefik's default";
  EXPECT_EQ(m.max_body_size, -1) << "Traefik's default";
  ASSERT_EQ(m.mirrors.size(), 2u);
  EXPECT_EQ(m.mirrors[0], (Mirror{"shadow", 25}));
  EXPECT_EQ(m.mirrors[1], (Mirror{"other", 0}));
  const Mirroring& m2 = *cfg->http.services.at("m2").mirroring;
  EXPECT_FALSE(m2.mirror_body);
  EXPECT_EQ(m2.max_body_size, 1024);
}

TEST(ServicesDecode, Errors) {
  const std::vector<Case> cases = {
      {"two kinds",
       services("    s:\n      failover:\n        service: a\n        fallback: b\n"
                "      mirroring:\n        service: a\n"),
       "must hold exactly one of loadBalancer, weighted, failover and mirroring"},
      {"weighted services not a list", services("    s:\n      weighted:\n        services: a\n"),
       "`http.services.s.weighted.services` must be a list"},
      {"weight not a number",
       services("    s:\n      weighted:\n        services:\n          - name: a\n"
                "            weight: heavy\n"),
       "weight"},
      {"negative weight",
       services("    s:\n      weighted:\n        services:\n          - name: a\n"
                "            weight: -1\n"),
       "weight"},
      {"child without name",
       services("    s:\n      weighted:\n        services:\n          - weight: 2\n"),
       "`http.services.s.weighted.services[].name` is required"},
      {"misspelt child key",
       services("    s:\n      weighted:\n        services:\n          - nmae: a\n"),
       "unknown key `http.services.s.weighted.services[].nmae`"},
      {"failover service not a string",
       services("    s:\n      failover:\n        service: [a, b]\n        fallback: c\n"),
       "`http.services.s.failover.service` must be a string"},
      {"failover unknown key",
       services("    s:\n      failover:\n        service: a\n        fallbak: b\n"),
       "did you mean `http.services.s.failover.fallback`"},
      {"healthCheck with options",
       services("    s:\n      failover:\n        service: a\n        fallback: b\n"
                "        healthCheck:\n          path: /x\n"),
       "unknown key `http.services.s.failover.healthCheck.path`"},
      {"percent above 100",
       services("    s:\n      mirroring:\n        service: a\n        mirrors:\n"
                "          - name: b\n            percent: 150\n"),
       "percent"},
      {"mirrorBody not a bool",
       services("    s:\n      mirroring:\n        service: a\n        mirrorBody: sometimes\n"),
       "mirrorBody"},
      {"maxBodySize not a number",
       services("    s:\n      mirroring:\n        service: a\n        maxBodySize: big\n"),
       "maxBodySize"},
      {"mirrors not a list",
       services("    s:\n      mirroring:\n        service: a\n        mirrors: b\n"),
       "`http.services.s.mirroring.mirrors` must be a list"},
      {"retry attempts not a number",
       "http:\n  middlewares:\n    r:\n      retry:\n        attempts: many\n", "attempts"},
      {"retry interval not a duration",
       "http:\n  middlewares:\n    r:\n      retry:\n        attempts: 2\n"
       "        initialInterval: soon\n",
       "initialInterval"},
      {"retry unknown key",
       "http:\n  middlewares:\n    r:\n      retry:\n        attempts: 2\n        atempts: 3\n",
       "unknown key"},
      {"empty service still decodes (the builder reports it)", services("    s: {}\n"), ""},
  };
  for (const auto& c : cases) expect_error(c);
}

TEST(ServicesDecode, RetryMiddleware) {
  auto cfg = decode_dynamic_yaml(
      "http:\n  middlewares:\n    r:\n      retry:\n        attempts: 4\n"
      "        initialInterval: 250ms\n    d:\n      retry:\n        attempts: 2\n",
      "d.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const Middleware& r = cfg->http.middlewares.at("r");
  EXPECT_EQ(r.type, "retry");
  ASSERT_TRUE(r.retry);
  EXPECT_EQ(r.retry->attempts, 4);
  EXPECT_EQ(r.retry->initial_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(cfg->http.middlewares.at("d").retry->initial_interval, std::chrono::milliseconds(0))
      << "Traefik's default: retry at once";
}

TEST(ServicesDecode, MergeQualifiesChildren) {
  Configuration file;
  file.http.services["w"].weighted = Weighted{{{"a", 1}, {"b@docker", 2}}, std::nullopt, false};
  file.http.services["f"].failover = Failover{"main", "spare@docker", false};
  file.http.services["m"].mirroring = Mirroring{"main", true, -1, {{"shadow", 10}}, false};
  Configuration merged = merge({{"file", file}});
  const auto& w = *merged.http.services.at("w@file").weighted;
  EXPECT_EQ(w.services[0].name, "a@file");
  EXPECT_EQ(w.services[1].name, "b@docker");
  const auto& f = *merged.http.services.at("f@file").failover;
  EXPECT_EQ(f.service, "main@file");
  EXPECT_EQ(f.fallback, "spare@docker");
  const auto& m = *merged.http.services.at("m@file").mirroring;
  EXPECT_EQ(m.service, "main@file");
  EXPECT_EQ(m.mirrors[0].name, "shadow@file");
}

}  // namespace
}  // namespace portier::config
