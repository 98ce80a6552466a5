// handle_api's /api/tcp/* and /api/udp/* (Traefik's pkg/api/handler_tcp.go, handler_udp.go):
// lists, lookups by name, field names, status and errors, usedBy, and the overview's counts.
#include <gtest/gtest.h>

#include "admin/api.h"

namespace portier::admin {
namespace {

using json = nlohmann::json;

std::shared_ptr<Runtime> runtime() {
  auto rt = std::make_shared<Runtime>();
  auto& tcp = rt->config.tcp;
  tcp.routers["db@file"] = {.rule = "HostSNI(`*`)",
                            .entry_points = {"pg"},
                            .middlewares = {"lan@file"},
                            .service = "pg@file"};
  tcp.routers["tls@docker"] = {.rule = "HostSNI(`a.test`)", .service = "split@file"};
  tcp.routers["tls@docker"].tls = config::TcpRouterTls{.options = "modern"};
  tcp.routers["bad@file"] = {.rule = "HostSNI(`b.test`)", .service = "nowhere"};
  tcp.services["pg@file"].load_balancer = config::TcpLoadBalancer{
      .servers = {{.address = "10.0.0.1:5432"}}, .proxy_protocol_version = 2};
  tcp.services["split@file"].weighted =
      std::vector<config::TcpWeightedService>{{"pg@file", 3}, {"other@file", 1}};
  tcp.middlewares["lan@file"].ip_allow_list = std::vector<std::string>{"10.0.0.0/8"};
  tcp.middlewares["two@file"].in_flight_conn = 2;
  auto& udp = rt->config.udp;
  udp.routers["dns@file"] = {.service = "dns@file"};
  udp.routers["fixed@file"] = {.entry_points = {"syslog"}, .service = "dns@file"};
  udp.services["dns@file"].load_balancer = std::vector<config::UdpServer>{{"10.0.0.53:53"}};
  udp.services["both@file"].weighted =
      std::vector<config::UdpWeightedService>{{"dns@file", 1}};
  rt->entrypoints = {{"pg", "127.0.0.1:5432"}, {"dns", "127.0.0.1:53"}, {"web", "127.0.0.1:80"}};
  rt->udp_entrypoints = {"dns"};
  rt->errors.push_back({"tcp router", "bad@file", "service `nowhere` does not exist"});
  rt->errors.push_back({"udp service", "both@file", "a warning", true});
  return rt;
}

json get(const RuntimeStore& store, const std::string& path, int status = 200) {
  ApiResponse r = handle_api(store, "1", "GET", path, "");
  EXPECT_EQ(r.status, status) << path << ": " << r.body;
  return json::parse(r.body, nullptr, false);
}

TEST(HandleApiL4, ListsAndLookups) {
  RuntimeStore store;
  store.set(runtime());
  struct Case {
    std::string path;
    int status;
    std::size_t count;  // for lists; 0: an object or an error
  };
  const std::vector<Case> cases = {
      {"/api/tcp/routers", 200, 3},     {"/api/tcp/services", 200, 2},
      {"/api/tcp/middlewares", 200, 2}, {"/api/udp/routers", 200, 2},
      {"/api/udp/services", 200, 2},    {"/api/tcp/routers/db%40file", 200, 0},
      {"/api/tcp/routers/nope", 404, 0}, {"/api/udp/services/nope", 404, 0},
      {"/api/udp/middlewares", 404, 0},  {"/api/tcp/routers/a/b", 404, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    ApiResponse r = handle_api(store, "1", "GET", c.path, "");
    EXPECT_EQ(r.status, c.status) << r.body;
    if (c.count > 0) {
      json j = json::parse(r.body);
      ASSERT_TRUE(j.is_array());
      EXPECT_EQ(j.size(), c.count);
    }
  }
  EXPECT_EQ(get(store, "/api/tcp/routers/nope", 404)["message"], "router not found");
  EXPECT_EQ(handle_api(store, "1", "GET", "/api/udp/middlewares", "").content_type,
            "text/plain; charset=utf-8");  // Traefik has no UDP middlewares: an unknown path
  EXPECT_EQ(handle_api(store, "1", "POST", "/api/tcp/routers", "").status, 405);
}

TEST(HandleApiL4, TraefiksFieldNames) {
  RuntimeStore store;
  store.set(runtime());
  json db = get(store, "/api/tcp/routers/db@file");
  EXPECT_EQ(db["provider"], "file");
  EXPECT_EQ(db["rule"], "HostSNI(`*`)");
  EXPECT_EQ(db["priority"], -1);  // the catch-all's default
  EXPECT_EQ(db["priorityStr"], "-1");
  EXPECT_EQ(db["entryPoints"], json({"pg"}));
  EXPECT_EQ(db["using"], json({"pg"}));
  EXPECT_EQ(db["middlewares"], json({"lan@file"}));
  EXPECT_EQ(db["status"], "enabled");
  EXPECT_FALSE(db.contains("tls"));

  json tls = get(store, "/api/tcp/routers/tls@docker");
  EXPECT_EQ(tls["provider"], "docker");
  EXPECT_EQ(tls["priority"], 17);  // the rule's length
  EXPECT_EQ(tls["tls"]["passthrough"], false);
  EXPECT_EQ(tls["tls"]["options"], "modern");
  EXPECT_EQ(tls["entryPoints"], json({"pg", "web"}));  // every TCP entrypoint, not dns (/udp)

  json bad = get(store, "/api/tcp/routers/bad@file");
  EXPECT_EQ(bad["status"], "disabled");
  EXPECT_EQ(bad["error"], json({"service `nowhere` does not exist"}));

  json pg = get(store, "/api/tcp/services/pg@file");
  EXPECT_EQ(pg["type"], "loadbalancer");
  EXPECT_EQ(pg["loadBalancer"]["servers"][0]["address"], "10.0.0.1:5432");
  EXPECT_EQ(pg["loadBalancer"]["proxyProtocol"]["version"], 2);
  EXPECT_EQ(pg["usedBy"], json({"db@file"}));
  EXPECT_FALSE(pg.contains("serverStatus"));
  json split = get(store, "/api/tcp/services/split@file");
  EXPECT_EQ(split["type"], "weighted");
  EXPECT_EQ(split["weighted"]["services"][0], json({{"name", "pg@file"}, {"weight", 3}}));
  EXPECT_EQ(split["usedBy"], json({"tls@docker"}));

  json lan = get(store, "/api/tcp/middlewares/lan@file");
  EXPECT_EQ(lan["type"], "ipallowlist");
  EXPECT_EQ(lan["ipAllowList"]["sourceRange"], json({"10.0.0.0/8"}));
  EXPECT_EQ(lan["usedBy"], json({"db@file"}));
  json two = get(store, "/api/tcp/middlewares/two@file");
  EXPECT_EQ(two["type"], "inflightconn");
  EXPECT_EQ(two["inFlightConn"]["amount"], 2);
  EXPECT_EQ(two["usedBy"], json::array());

  json dns = get(store, "/api/udp/routers/dns@file");
  EXPECT_EQ(dns["service"], "dns@file");
  EXPECT_EQ(dns["entryPoints"], json({"dns"}));  // every UDP entrypoint
  EXPECT_FALSE(dns.contains("rule"));
  EXPECT_EQ(get(store, "/api/udp/routers/fixed@file")["entryPoints"], json({"syslog"}));
  json dsvc = get(store, "/api/udp/services/dns@file");
  EXPECT_EQ(dsvc["type"], "loadbalancer");
  EXPECT_EQ(dsvc["loadBalancer"]["servers"][0]["address"], "10.0.0.53:53");
  EXPECT_EQ(dsvc["usedBy"], json({"dns@file", "fixed@file"}));
  json both = get(store, "/api/udp/services/both@file");
  EXPECT_EQ(both["type"], "weighted");
  EXPECT_EQ(both["status"], "warning");
}

TEST(HandleApiL4, OverviewAndRawdata) {
  RuntimeStore store;
  store.set(runtime());
  json o = get(store, "/api/overview");
  EXPECT_EQ(o["tcp"]["routers"], json({{"total", 3}, {"warnings", 0}, {"errors", 1}}));
  EXPECT_EQ(o["tcp"]["services"]["total"], 2);
  EXPECT_EQ(o["tcp"]["middlewares"]["total"], 2);
  EXPECT_EQ(o["udp"]["routers"]["total"], 2);
  EXPECT_EQ(o["udp"]["services"], json({{"total", 2}, {"warnings", 1}, {"errors", 0}}));
  EXPECT_FALSE(o["udp"].contains("middlewares"));
  json raw = get(store, "/api/rawdata");
  EXPECT_TRUE(raw["tcpRouters"].contains("db@file"));
  EXPECT_TRUE(raw["tcpMiddlewares"].contains("two@file"));
  EXPECT_TRUE(raw["udpServices"].contains("both@file"));

  // Nothing of tcp or udp: zero counts, and rawdata without those keys (as Traefik's).
  store.set(std::make_shared<Runtime>());
  o = get(store, "/api/overview");
  EXPECT_EQ(o["tcp"]["routers"]["total"], 0);
  EXPECT_EQ(o["udp"]["services"]["total"], 0);
  EXPECT_FALSE(get(store, "/api/rawdata").contains("tcpRouters"));
}

}  // namespace
}  // namespace portier::admin
