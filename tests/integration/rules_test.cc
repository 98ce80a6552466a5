// The rule language as a Traefik user writes it, through a real portier: matcher names in any of
// Traefik's four spellings, wildcard and catch-all hosts, IPv6 literals in Host.
#include <gtest/gtest.h>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

TEST(RulesAsTraefikWritesThem, WildcardsSpellingsAndIpv6Hosts) {
  TempDir dir;
  Whoami w = start_whoami(dir, "w");
  auto router = [&](const std::string& name, const std::string& rule, int priority) {
    return "    " + name + ":\n      rule: '" + rule + "'\n      priority: " +
           std::to_string(priority) + "\n      service: s\n      middlewares: [" + name +
           "]\n";
  };
  auto tag = [](const std::string& name) {
    return "    " + name + ":\n      headers:\n        customResponseHeaders:\n          X-Router: " +
           name + "\n";
  };
  std::string cfg = "http:\n  routers:\n" + router("wild", "Host(`*.example.com`)", 30) +
                    router("lower", "host(`exact.test`) && PATHPREFIX(\"/api\")", 20) +
                    router("v6", "Host(`::1`)", 10) + router("any", "Host(`*`)", 1) +
                    "  middlewares:\n" + tag("wild") + tag("lower") + tag("v6") + tag("any") +
                    "  services:\n    s:\n      loadBalancer:\n        servers:\n"
                    "          - url: \"" +
                    w.url() + "\"\n";
  Portier p = start_portier(dir, cfg, "", "", 1);
  struct Case {
    std::string host, path, router;
  };
  const std::vector<Case> cases = {
      {"a.example.com", "/", "wild"},
      {"A.Example.COM:8000", "/", "wild"},
      {"example.com", "/", "any"},
      {"a.b.example.com", "/", "any"},
      {"exact.test", "/api/x", "lower"},
      {"exact.test", "/other", "any"},
      {"[::1]:8000", "/", "v6"},
      {"[::2]", "/", "any"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.host + c.path);
    auto r = http_get(p.port, c.host, c.path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("x-router"), c.router);
  }
}

}  // namespace
}  // namespace portier::test
