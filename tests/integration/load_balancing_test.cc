// Load balancing across real whoami processes: weights, and no traffic to servers that are
// down or weighted out.
#include <gtest/gtest.h>

#include <map>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

std::string weighted(const std::vector<std::pair<std::string, int>>& servers,
                     const std::string& health = "") {
  std::string y =
      "http:\n  routers:\n    r:\n      rule: \"PathPrefix(`/`)\"\n      service: s\n"
      "  services:\n    s:\n      loadBalancer:\n" +
      health + "        servers:\n";
  for (const auto& [url, w] : servers) {
    y += "          - url: \"" + url + "\"\n            weight: " + std::to_string(w) + "\n";
  }
  return y;
}

std::map<std::string, int> spread(int port, int requests) {
  std::map<std::string, int> names;
  Conn c(port);
  for (int i = 0; i < requests; ++i) {
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.read_response();
    if (!r) break;
    names[r->header("x-whoami-name") + std::to_string(r->status)]++;
  }
  return names;
}

TEST(LoadBalancing, WeightsAreHonoured) {
  TempDir dir;
  Whoami a = start_whoami(dir, "a"), b = start_whoami(dir, "b");
  Portier p = start_portier(dir, weighted({{a.url(), 1}, {b.url(), 3}}), "", "", 1);
  auto names = spread(p.port, 10000);
  // Smooth weighted round robin on one worker: 1:3 exactly, well within the 2 % asked for.
  EXPECT_NEAR(names["a200"], 2500, 200);
  EXPECT_NEAR(names["b200"], 7500, 200);
}

TEST(LoadBalancing, WeightZeroGetsNothingAllOutIs503) {
  TempDir dir;
  Whoami a = start_whoami(dir, "a"), b = start_whoami(dir, "b");
  Portier p = start_portier(dir, weighted({{a.url(), 0}, {b.url(), 1}}), "", "", 1);
  auto names = spread(p.port, 100);
  EXPECT_EQ(names["b200"], 100);
  EXPECT_EQ(names.count("a200"), 0u);
  TempDir dir2;
  Portier none = start_portier(dir2, weighted({{a.url(), 0}}), "", "", 1);
  auto r = http_get(none.port, "x", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "no available server\n");
}

void set_health(const Whoami& w, int status) {
  Conn c(w.port);
  std::string body = std::to_string(status);
  c.send("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body);
  ASSERT_TRUE(c.read_response());
}

// Polls until `pred` holds for a burst of requests through portier.
template <typename Pred>
bool spread_until(int port, Pred pred) {
  return poll_until([&] { return pred(spread(port, 20)); }, 5s);
}

TEST(LoadBalancing, HealthChecksTakeServersOutAndBackIn) {
  TempDir dir;
  Whoami a = start_whoami(dir, "a"), b = start_whoami(dir, "b");
  std::string check =
      "        healthCheck:\n          path: /health\n          interval: 200ms\n"
      "          timeout: 200ms\n";
  Portier p = start_portier(dir, weighted({{a.url(), 1}, {b.url(), 1}}, check), "", "", 1);
  ASSERT_TRUE(spread_until(p.port, [](auto n) { return n["a200"] > 0 && n["b200"] > 0; }));
  set_health(b, 503);
  // Within about one interval b leaves the rotation: only a answers.
  EXPECT_TRUE(spread_until(p.port, [](auto n) { return n["a200"] == 20; })) << p.proc->log();
  EXPECT_TRUE(p.proc->wait_for_log("server unhealthy; out of rotation.*error=\"status 503\"", 1s));
  set_health(a, 500);
  EXPECT_TRUE(spread_until(p.port, [](auto n) { return n["503"] == 20; })) << "all down: 503";
  set_health(a, 200);
  set_health(b, 200);
  EXPECT_TRUE(spread_until(p.port, [](auto n) { return n["a200"] > 0 && n["b200"] > 0; }))
      << "both back in rotation";
  EXPECT_TRUE(p.proc->wait_for_log("server healthy again", 1s));
}

}  // namespace
}  // namespace portier::test
