// The admin API over HTTP: Traefik's endpoints, objects with provider, status and errors, and
// never reachable through a proxying entrypoint.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

json get_json(int port, const std::string& path, int want_status = 200) {
  auto r = http_get(port, "127.0.0.1", path);
  EXPECT_TRUE(r) << path;
  if (!r) return {};
  EXPECT_EQ(r->status, want_status) << path << "\n" << r->body;
  return json::parse(r->body, nullptr, false);
}

TEST(Api, ShowsObjectsWithStatusAndErrors) {
  TempDir dir;
  Whoami w = start_whoami(dir, "api");
  std::string dyn =
      "http:\n  routers:\n    good:\n      rule: \"Host(`good.localhost`)\"\n      service: s\n"
      "    broken:\n      rule: \"Host(`bad`\"\n      service: s\n"
      "    orphan:\n      rule: \"Host(`o`)\"\n      service: nowhere\n"
      "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"" +
      w.url() + "\"\n";
  Portier p = start_portier(dir, dyn, "  traefik:\n    address: \"127.0.0.1:0\"\n",
                            "api:\n  insecure: true\n");
  auto api_port = p.proc->wait_for_log(
      "api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  ASSERT_TRUE(api_port) << p.proc->log();
  int port = std::stoi(*api_port);

  auto ping = http_get(port, "x", "/ping");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->body, "OK");
  EXPECT_EQ(get_json(port, "/api/version")["Version"], "0.1.0");

  json routers = get_json(port, "/api/http/routers");
  ASSERT_TRUE(routers.is_array());
  ASSERT_EQ(routers.size(), 3u);
  std::map<std::string, json> by_name;
  for (const auto& r : routers) by_name[r["name"]] = r;
  EXPECT_EQ(by_name["good@file"]["status"], "enabled");
  EXPECT_EQ(by_name["good@file"]["provider"], "file");
  EXPECT_EQ(by_name["good@file"]["service"], "s@file");
  EXPECT_EQ(by_name["broken@file"]["status"], "disabled");
  EXPECT_NE(by_name["broken@file"]["error"][0].get<std::string>().find("column"),
            std::string::npos);
  EXPECT_NE(by_name["orphan@file"]["error"][0].get<std::string>().find("nowhere@file"),
            std::string::npos);

  json one = get_json(port, "/api/http/routers/good@file");
  EXPECT_EQ(one["rule"], "Host(`good.localhost`)");
  get_json(port, "/api/http/routers/missing@file", 404);

  json services = get_json(port, "/api/http/services");
  ASSERT_EQ(services.size(), 2u);  // s@file and api@internal, as Traefik lists its own
  std::map<std::string, json> svc;
  for (const auto& s : services) svc[s["name"]] = s;
  EXPECT_EQ(svc["s@file"]["loadBalancer"]["servers"][0]["url"], w.url());
  EXPECT_EQ(svc["api@internal"]["provider"], "internal");
  EXPECT_EQ(get_json(port, "/api/http/services/s@file")["status"], "enabled");

  json overview = get_json(port, "/api/overview");
  EXPECT_EQ(overview["http"]["routers"]["total"], 3);
  EXPECT_EQ(overview["http"]["routers"]["errors"], 2);
  EXPECT_TRUE(get_json(port, "/api/rawdata")["routers"].contains("good@file"));
  json eps = get_json(port, "/api/entrypoints");
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0]["name"], "web");
  EXPECT_TRUE(get_json(port, "/api/http/middlewares").is_array());

  // The proxying entrypoint does not serve the API; the good router still works.
  auto through_web = http_get(p.port, "good.localhost", "/api/version");
  ASSERT_TRUE(through_web);
  EXPECT_NE(through_web->body.find("Name: api"), std::string::npos);
  auto not_routed = http_get(p.port, "127.0.0.1", "/api/version");
  ASSERT_TRUE(not_routed);
  EXPECT_EQ(not_routed->status, 404);
}

TEST(Api, ThroughARouterToApiInternal) {
  TempDir dir;
  std::string dyn =
      "http:\n  routers:\n    dashboard:\n      rule: \"Host(`traefik.localhost`)\"\n"
      "      service: api@internal\n      middlewares: [hdr]\n"
      "  middlewares:\n    hdr:\n      headers:\n        customResponseHeaders: {X-Via: router}\n";
  Portier p = start_portier(dir, dyn, "", "api: {}\n");
  EXPECT_EQ(p.proc->log().find("api listening"), std::string::npos) << "not insecure: no own port";
  auto r = http_get(p.port, "traefik.localhost", "/api/http/routers/dashboard@file");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->header("x-via"), "router");
  json j = json::parse(r->body, nullptr, false);
  EXPECT_EQ(j["service"], "api@internal");
  EXPECT_EQ(j["status"], "enabled");
  auto other = http_get(p.port, "elsewhere.localhost", "/api/version");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
}

}  // namespace
}  // namespace portier::test
