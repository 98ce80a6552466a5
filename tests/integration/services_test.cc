// Weighted and failover services against real whoami processes on loopback: shares, health
// propagation (active and passive), nesting, and reference errors in the API.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

// One router for everything to service `top`, and these services (YAML under services:).
std::string routed(const std::string& services, const std::string& extra_http = "") {
  return "http:\n  routers:\n    r:\n      rule: \"PathPrefix(`/`)\"\n      service: top\n" +
         extra_http + "  services:\n" + services;
}

// A load balancer `name` over `url`, optionally health-checked on /health every `interval`.
std::string lb(const std::string& name, const std::string& url, const std::string& interval = "") {
  std::string y = "    " + name + ":\n      loadBalancer:\n";
  if (!interval.empty()) {
    y += "        healthCheck:\n          path: /health\n          interval: " + interval +
         "\n          timeout: 200ms\n";
  }
  return y + "        servers:\n          - url: \"" + url + "\"\n";
}

// Which whoami answered each of `n` requests on one keep-alive connection ("503" etc. for
// errors, "dead" when the connection broke).
std::map<std::string, int> spread(int port, int n) {
  std::map<std::string, int> names;
  Conn c(port);
  for (int i = 0; i < n; ++i) {
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.read_response();
    if (!r) {
      ++names["dead"];
      break;
    }
    ++names[r->status == 200 ? r->header("x-whoami-name") : std::to_string(r->status)];
  }
  return names;
}

void set_health(const Whoami& w, int status) {
  Conn c(w.port);
  std::string body = std::to_string(status);
  c.send("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body);
  ASSERT_TRUE(c.read_response());
}

TEST(WeightedService, ThreeToOneOverTwoServices) {
  TempDir dir;
  Whoami a = start_whoami(dir, "a"), b = start_whoami(dir, "b");
  Portier p = start_portier(dir,
                            routed("    top:\n      weighted:\n        services:\n"
                                   "          - name: sa\n            weight: 3\n"
                                   "          - name: sb\n            weight: 1\n" +
                                   lb("sa", a.url()) + lb("sb", b.url())),
                            "", "", 2);
  const int kRequests = 4000;
  auto n = spread(p.port, kRequests);
  ASSERT_EQ(n["a"] + n["b"], kRequests) << "every request answered by a or b";
  // Within 2 % of 3:1 (one connection stays on one worker, where the smooth weighted round
  // robin gives exactly 3:1).
  EXPECT_NEAR(n["a"], kRequests * 3 / 4, kRequests * 0.02);
  EXPECT_NEAR(n["b"], kRequests / 4, kRequests * 0.02);
}

TEST(WeightedService, SkipsChildrenWithoutAvailableServerAnd503WhenNoneIs) {
  TempDir dir;
  Whoami a = start_whoami(dir, "a"), b = start_whoami(dir, "b");
  Portier p = start_portier(dir,
                            routed("    top:\n      weighted:\n        services:\n"
                                   "          - name: sa\n          - name: sb\n"
                                   "        healthCheck: {}\n" +
                                   lb("sa", a.url(), "200ms") + lb("sb", b.url(), "200ms")),
                            "", "", 1);
  auto n = spread(p.port, 100);
  EXPECT_EQ(n["a"], 50);
  EXPECT_EQ(n["b"], 50);
  set_health(a, 503);
  EXPECT_TRUE(poll_until([&] { return spread(p.port, 20)["b"] == 20; }, 5s))
      << "a child whose only server is down gets nothing";
  set_health(b, 500);
  ASSERT_TRUE(poll_until([&] { return spread(p.port, 5)["503"] == 5; }, 5s));
  auto r = http_get(p.port, "x", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "no available server\n");
}

TEST(FailoverService, HealthCheckMovesTrafficToFallbackAndBack) {
  TempDir dir;
  Whoami main = start_whoami(dir, "main"), spare = start_whoami(dir, "spare");
  const auto interval = 500ms;
  Portier p = start_portier(dir,
                            routed("    top:\n      failover:\n        service: m\n"
                                   "        fallback: f\n        healthCheck: {}\n" +
                                   lb("m", main.url(), "500ms") + lb("f", spare.url())),
                            "", "", 2);
  EXPECT_EQ(spread(p.port, 50)["main"], 50);
  set_health(main, 503);
  EXPECT_TRUE(poll_until([&] { return spread(p.port, 20)["spare"] == 20; }, 5s));
  // No request fails while main is out.
  EXPECT_EQ(spread(p.port, 100)["spare"], 100);

  set_health(main, 200);
  const auto back_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(poll_until(
      [&] {
        auto r = http_get(p.port, "x", "/");
        return r && r->header("x-whoami-name") == "main";
      },
      5s));
  const auto took = std::chrono::steady_clock::now() - back_at;
  // The next probe (one interval at most) brings main back; workers see it on their next pick.
  EXPECT_LT(took, interval + 500ms)
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  EXPECT_EQ(spread(p.port, 50)["main"], 50);
}

TEST(FailoverService, KilledMainServerCostsNoClientError) {
  TempDir dir;
  auto main = std::make_unique<Whoami>(start_whoami(dir, "main"));
  Whoami spare = start_whoami(dir, "spare");
  // No health check: passive health and the retry find out.
  Portier p = start_portier(
      dir,
      routed("    top:\n      failover:\n        service: m\n        fallback: f\n" +
             lb("m", main->url()) + lb("f", spare.url())),
      "", "", 2);
  EXPECT_EQ(spread(p.port, 20)["main"], 20);
  main.reset();  // SIGKILL
  int spare_n = 0, errors = 0;
  for (int i = 0; i < 50; ++i) {
    auto r = http_get(p.port, "x", "/");  // new connections: both workers
    if (r && r->status == 200) {
      spare_n += r->header("x-whoami-name") == "spare";
    } else {
      ++errors;
    }
  }
  EXPECT_EQ(errors, 0) << "the refused connection is retried on the fallback";
  EXPECT_EQ(spare_n, 50);
  EXPECT_TRUE(p.proc->wait_for_log("server failed; out of this worker's rotation", 1s));
}

TEST(NestedServices, WeightedOfAFailover) {
  TempDir dir;
  Whoami a = start_whoami(dir, "a"), b = start_whoami(dir, "b"), c = start_whoami(dir, "c");
  // top = weighted(fo: 1, sc: 1), fo = failover(sa -> sb).
  Portier p = start_portier(dir,
                            routed("    top:\n      weighted:\n        services:\n"
                                   "          - name: fo\n          - name: sc\n"
                                   "    fo:\n      failover:\n        service: sa\n"
                                   "        fallback: sb\n" +
                                   lb("sa", a.url(), "200ms") + lb("sb", b.url()) +
                                   lb("sc", c.url())),
                            "", "", 1);
  auto n = spread(p.port, 200);
  EXPECT_EQ(n["a"], 100);
  EXPECT_EQ(n["c"], 100);
  EXPECT_EQ(n.count("b"), 0u);
  set_health(a, 503);
  ASSERT_TRUE(poll_until([&] { return spread(p.port, 20)["b"] == 10; }, 5s));
  n = spread(p.port, 200);
  EXPECT_EQ(n["b"], 100) << "the failover's share went to its fallback";
  EXPECT_EQ(n["c"], 100);
  // The failover with no available server at all is skipped by the weighted parent.
  set_health(a, 200);
  ASSERT_TRUE(poll_until([&] { return spread(p.port, 20)["a"] == 10; }, 5s));
}

TEST(ServicesApi, ReferenceErrorsDisableServicesAndRouters) {
  TempDir dir;
  Whoami a = start_whoami(dir, "a");
  const std::string dyn =
      "http:\n  routers:\n"
      "    ok:\n      rule: \"Host(`ok`)\"\n      service: w\n"
      "    cyc:\n      rule: \"Host(`cyc`)\"\n      service: loop1\n"
      "    miss:\n      rule: \"Host(`miss`)\"\n      service: fo\n"
      "  services:\n"
      "    w:\n      weighted:\n        services:\n          - name: sa\n            weight: 2\n"
      "    loop1:\n      failover:\n        service: loop2\n        fallback: sa\n"
      "    loop2:\n      weighted:\n        services:\n          - name: loop1\n"
      "    fo:\n      failover:\n        service: sa\n        fallback: nowhere\n" +
      lb("sa", a.url());
  Portier p = start_portier(dir, dyn, "  traefik:\n    address: \"127.0.0.1:0\"\n",
                            "api:\n  insecure: true\n", 1);
  auto api_port = p.proc->wait_for_log(
      "api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  ASSERT_TRUE(api_port) << p.proc->log();
  auto get = [&](const std::string& path) {
    auto r = http_get(std::stoi(*api_port), "127.0.0.1", path);
    return r ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
  };
  auto w = get("/api/http/services/w@file");
  EXPECT_EQ(w["status"], "enabled") << w.dump();
  EXPECT_EQ(w["type"], "weighted");
  EXPECT_EQ(w["weighted"]["services"][0]["name"], "sa@file");
  EXPECT_EQ(w["weighted"]["services"][0]["weight"], 2);

  auto loop = get("/api/http/services/loop1@file");
  EXPECT_EQ(loop["status"], "disabled") << loop.dump();
  EXPECT_EQ(loop["type"], "failover");
  EXPECT_NE(loop["error"][0].get<std::string>().find("services form a cycle"),
            std::string::npos)
      << loop.dump();
  auto fo = get("/api/http/services/fo@file");
  EXPECT_EQ(fo["status"], "disabled");
  EXPECT_EQ(fo["error"][0], "failover.fallback: service `nowhere@file` does not exist");
  auto miss = get("/api/http/routers/miss@file");
  EXPECT_EQ(miss["status"], "disabled");
  EXPECT_EQ(miss["error"][0], "service `fo@file` does not exist or is disabled");

  // The enabled one serves; the disabled ones answer 404 (no router).
  auto r = http_get(p.port, "ok", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = http_get(p.port, "cyc", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

}  // namespace
}  // namespace portier::test
