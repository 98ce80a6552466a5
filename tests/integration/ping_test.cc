// ping@internal, its router on the `traefik` entrypoint, manualRouting, the terminating status
// during requestAcceptGraceTimeout, and `portier healthcheck`.
#include <gtest/gtest.h>

#include <csignal>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

const char* kDynamic =
    "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n      service: s\n"
    "    health:\n      rule: \"Host(`health.localhost`)\"\n      service: ping@internal\n"
    "      middlewares: [tag]\n"
    "  middlewares:\n    tag:\n      headers:\n        customResponseHeaders: {X-Health: \"1\"}\n"
    "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"{{URL}}\"\n";

std::string dynamic_for(const Whoami& w) {
  std::string d = kDynamic;
  d.replace(d.find("{{URL}}"), 7, w.url());
  return d;
}

int run_healthcheck(const TempDir& dir, int traefik_port) {
  auto p = Process::start({PORTIER_BIN, "healthcheck",
                           "--configFile=" + (dir.path() / "portier.yml").string(),
                           "--entryPoints.traefik.address=127.0.0.1:" +
                               std::to_string(traefik_port)},
                          dir.path() / "healthcheck.log");
  auto rc = p->wait_exit(10s);
  return rc ? *rc : -1;
}

TEST(Ping, OnTheTraefikEntrypoint) {
  TempDir dir;
  Whoami w = start_whoami(dir, "ping");
  const std::string static_yaml =
      "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
      "  traefik:\n    address: \"127.0.0.1:0\"\n"
      "ping: {}\nproviders:\n  file:\n    filename: dynamic.yml\n";
  Portier p = start_portier_static(dir, static_yaml, dynamic_for(w), {"web", "traefik"});
  const int traefik = p.ports.at("traefik");

  auto ok = http_get(traefik, "anything", "/ping");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "OK");
  Conn head(traefik);
  ASSERT_TRUE(head.send("HEAD /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto h = head.read_response(true);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->header("content-length"), "2");
  Conn post(traefik);
  ASSERT_TRUE(post.send("POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  auto ps = post.read_response();
  ASSERT_TRUE(ps);
  EXPECT_EQ(ps->status, 404);

  // The router without entryPoints serves `web`, not `traefik` (never a default entrypoint);
  // ping is not on `web`, where /ping goes to the app.
  auto app_on_traefik = http_get(traefik, "x", "/");
  ASSERT_TRUE(app_on_traefik);
  EXPECT_EQ(app_on_traefik->status, 404);
  auto ping_on_web = http_get(p.port, "x", "/ping");
  ASSERT_TRUE(ping_on_web);
  EXPECT_EQ(ping_on_web->status, 200);
  EXPECT_NE(ping_on_web->body.find("GET /ping HTTP/1.1"), std::string::npos);  // whoami's dump
  // ping@internal behind a router of one's own, with its middlewares.
  auto routed = http_get(p.port, "health.localhost", "/ping");
  ASSERT_TRUE(routed);
  EXPECT_EQ(routed->status, 200);
  EXPECT_EQ(routed->body, "OK");
  EXPECT_EQ(routed->header("x-health"), "1");

  EXPECT_EQ(run_healthcheck(dir, traefik), 0);
  p.proc->signal(SIGTERM);
  ASSERT_TRUE(p.proc->wait_exit(15s));
  EXPECT_EQ(run_healthcheck(dir, traefik), 1);
}

TEST(Ping, TerminatingStatusDuringTheAcceptGrace) {
  TempDir dir;
  Whoami w = start_whoami(dir, "grace");
  const std::string static_yaml =
      "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
      "  traefik:\n    address: \"127.0.0.1:0\"\n"
      "    transport:\n      lifeCycle:\n        requestAcceptGraceTimeout: 3s\n"
      "ping:\n  terminatingStatusCode: 204\n"
      "providers:\n  file:\n    filename: dynamic.yml\n";
  Portier p = start_portier_static(dir, static_yaml, dynamic_for(w), {"web", "traefik"});
  const int traefik = p.ports.at("traefik");
  auto before = http_get(traefik, "x", "/ping");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 200);
  const auto signalled = std::chrono::steady_clock::now();
  p.proc->signal(SIGTERM);
  ASSERT_TRUE(poll_until(
      [&] {
        auto r = http_get(traefik, "x", "/ping");
        return r && r->status == 204;
      },
      2s));
  // The proxy still serves during the grace.
  auto app = http_get(p.port, "x", "/");
  ASSERT_TRUE(app);
  EXPECT_EQ(app->status, 200);
  EXPECT_EQ(run_healthcheck(dir, traefik), 1);
  ASSERT_TRUE(p.proc->wait_exit(20s));
  EXPECT_GE(std::chrono::steady_clock::now() - signalled, 3s);
}

TEST(Ping, ManualRoutingOpensNothing) {
  TempDir dir;
  Whoami w = start_whoami(dir, "manual");
  const std::string static_yaml =
      "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
      "ping:\n  manualRouting: true\nproviders:\n  file:\n    filename: dynamic.yml\n";
  Portier p = start_portier_static(dir, static_yaml, dynamic_for(w), {"web"});
  auto routed = http_get(p.port, "health.localhost", "/ping");
  ASSERT_TRUE(routed);
  EXPECT_EQ(routed->body, "OK");
  // No `traefik` entrypoint was made: nothing listens on its default address for us... and
  // /ping on web with another host is the app's.
  auto app = http_get(p.port, "x", "/ping");
  ASSERT_TRUE(app);
  EXPECT_NE(app->body.find("GET /ping HTTP/1.1"), std::string::npos);
}

}  // namespace
}  // namespace portier::test
