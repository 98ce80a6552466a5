// handle_api: the API's routing, apart from any HTTP server (both ApiServer and api@internal
// answer through it).
#include "admin/api.h"

#include <gtest/gtest.h>

#include "admin/dashboard.h"

namespace portier::admin {
namespace {

using json = nlohmann::json;

TEST(HandleApi, RoutesDecodesAndRefuses) {
  RuntimeStore store;
  auto rt = std::make_shared<Runtime>();
  rt->config.http.routers["who ami@file"] =
      config::Router{.rule = "Host(`a`)", .service = "s@file"};
  rt->config.http.services["s@file"].load_balancer.emplace();
  rt->config.http.services["api@internal"];
  rt->config.http.middlewares["m@file"].type = "headers";
  rt->entrypoints["web"] = "127.0.0.1:80";
  rt->providers["file"];
  store.set(rt);

  struct Case {
    std::string method, path;
    int status;
    std::string content_type;  // prefix
    std::string body;          // substring
  };
  const std::vector<Case> cases = {
      {"GET", "/ping", 200, "text/plain", "OK"},
      {"HEAD", "/api/version", 200, "application/json", "\"Version\":\"9.9\""},
      {"GET", "/api/overview", 200, "application/json", "\"routers\""},
      {"GET", "/api/rawdata", 200, "application/json", "who ami@file"},
      {"GET", "/api/entrypoints", 200, "application/json", "127.0.0.1:80"},
      {"GET", "/api/providers", 200, "application/json", "\"file\""},
      {"GET", "/api/providers/file", 200, "application/json", "\"file\""},
      {"GET", "/api/providers/nope", 404, "application/json", "provider not found"},
      {"GET", "/api/http/routers", 200, "application/json", "who ami@file"},
      {"GET", "/api/http/routers/who%20ami%40file", 200, "application/json", "Host(`a`)"},
      {"GET", "/api/http/routers/who ami@file", 200, "application/json", "Host(`a`)"},
      {"GET", "/api/http/routers/nope@file", 404, "application/json", "router not found"},
      {"GET", "/api/http/routers/", 404, "text/plain", "404 page not found"},
      {"GET", "/api/http/routers/a/b", 404, "text/plain", "404 page not found"},
      {"GET", "/api/http/services/api%40internal", 200, "application/json", "\"internal\""},
      {"GET", "/api/http/services/nope", 404, "application/json", "service not found"},
      {"GET", "/api/http/middlewares/m@file", 200, "application/json", "headers"},
      {"GET", "/api/http/middlewares/x", 404, "application/json", "middleware not found"},
      {"GET", "/", 404, "text/plain", "404 page not found"},
      {"GET", "/api/versions", 404, "text/plain", ""},
      {"POST", "/api/rawdata", 405, "text/plain", "method not allowed"},
      {"DELETE", "/api/http/routers/who%20ami%40file", 405, "text/plain", ""},
      {"POST", "/elsewhere", 404, "text/plain", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path);
    ApiResponse r = handle_api(store, "9.9", c.method, c.path, "");
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(r.content_type.rfind(c.content_type, 0), 0u) << r.content_type;
    EXPECT_NE(r.body.find(c.body), std::string::npos) << r.body;
    EXPECT_EQ(r.allow.empty(), c.status != 405);
  }
  // api@internal is listed with no type and no loadBalancer, as Traefik lists its own.
  json svc = json::parse(handle_api(store, "", "GET", "/api/http/services/api@internal", "").body);
  EXPECT_EQ(svc["provider"], "internal");
  EXPECT_FALSE(svc.contains("type"));
  EXPECT_FALSE(svc.contains("loadBalancer"));
}

std::string field(const ApiResponse& r, const std::string& name) {
  for (const auto& [n, v] : r.fields) {
    if (n == name) return v;
  }
  return "";
}

TEST(Dashboard, ServesFilesRedirectsAndRefuses) {
  RuntimeStore store;
  store.dashboard = true;
  const std::string v = "v=" + std::string(dashboard_version());
  struct Case {
    std::string method, path, query;
    int status;
    std::string content_type;  // prefix
    std::string body;          // substring
    std::string cache;         // Cache-Control, "" when none
  };
  const std::vector<Case> cases = {
      {"GET", "/dashboard", "", 302, "text/html", "dashboard/", ""},
      {"GET", "/dashboard/", "", 200, "text/html; charset=utf-8", "<title>portier", "no-cache"},
      {"HEAD", "/dashboard/", "", 200, "text/html", "", "no-cache"},
      {"GET", "/dashboard/index.html", "", 200, "text/html", "app.js?" + v, "no-cache"},
      {"GET", "/dashboard/app.js", v, 200, "text/javascript; charset=utf-8", "use strict",
       "public, max-age=31536000, immutable"},
      {"GET", "/dashboard/app.js", "v=old", 200, "text/javascript", "", "no-cache"},
      {"GET", "/dashboard/style.css", v, 200, "text/css; charset=utf-8", "", "public"},
      {"GET", "/dashboard/favicon.svg", v, 200, "image/svg+xml", "<svg", "public"},
      {"GET", "/dashboard/nope.js", "", 404, "text/plain", "404 page not found", ""},
      {"GET", "/dashboard/a/app.js", "", 404, "text/plain", "", ""},
      {"GET", "/dashboardx", "", 404, "text/plain", "", ""},
      {"POST", "/dashboard/", "", 405, "text/plain", "", ""},
      {"POST", "/dashboard/nope", "", 404, "text/plain", "", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path + "?" + c.query);
    ApiResponse r = handle_api(store, "9.9", c.method, c.path, c.query);
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(r.content_type.rfind(c.content_type, 0), 0u) << r.content_type;
    EXPECT_NE(r.body.find(c.body), std::string::npos);
    EXPECT_EQ(field(r, "Cache-Control").rfind(c.cache, 0), 0u) << field(r, "Cache-Control");
    if (c.status == 200) {
      EXPECT_NE(field(r, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
      EXPECT_EQ(field(r, "X-Content-Type-Options"), "nosniff");
    }
  }
  EXPECT_EQ(field(handle_api(store, "", "GET", "/dashboard", ""), "Location"), "dashboard/");
  // The placeholder is replaced in every file it is in; no file is empty.
  for (const auto& f : dashboard_files()) {
    SCOPED_TRACE(std::string(f.name));
    EXPECT_EQ(f.body.find("@DASHBOARD_VERSION@"), std::string_view::npos);
    EXPECT_FALSE(f.body.empty());
  }

  // api.dashboard: false
  store.dashboard = false;
  for (const char* path : {"/dashboard", "/dashboard/", "/dashboard/app.js"}) {
    SCOPED_TRACE(path);
    ApiResponse r = handle_api(store, "", "GET", path, v);
    EXPECT_EQ(r.status, 404);
    EXPECT_TRUE(r.fields.empty());
  }
}

TEST(HandleApi, CertificatesWithoutKeys) {
  RuntimeStore store;
  auto rt = std::make_shared<Runtime>();
  CertificateInfo file{.source = "file",
                       .names = {"a.example.com", "b.example.com"},
                       .subject = "CN=a.example.com",
                       .issuer = "CN=Example CA",
                       .serial = "0A",
                       .not_before = 1700000000,
                       .not_after = 1800000000};
  CertificateInfo issued = file;
  issued.source = "acme";
  issued.names = {"www.example.com", "example.com"};
  issued.resolver = "le";
  issued.domains = {"example.com", "www.example.com"};
  issued.state = "renewing";
  issued.next_attempt = 1790000000;
  CertificateInfo failed{.source = "acme",
                         .resolver = "le",
                         .domains = {"other.example.com"},
                         .state = "failed",
                         .last_error = "urn:ietf:params:acme:error:connection",
                         .failures = 2,
                         .next_attempt = 1700000600};
  CertificateInfo generated{.source = "generated",
                            .is_default = true,
                            .subject = "CN=PORTIER DEFAULT CERT",
                            .issuer = "CN=PORTIER DEFAULT CERT",
                            .not_before = 1700000000,
                            .not_after = 1731536000};
  rt->certificates = {file, issued, failed, generated};
  store.set(rt);

  ApiResponse r = handle_api(store, "", "GET", "/api/portier/certificates", "");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  json j = json::parse(r.body);
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(j[0], json::parse(R"({"source":"file","default":false,"main":"a.example.com",
      "sans":["b.example.com"],"subject":"CN=a.example.com","issuer":"CN=Example CA",
      "serial":"0A","notBefore":"2023-11-14T22:13:20.000Z","notAfter":"2027-01-15T08:00:00.000Z"})"));
  // ACME: the main name is the first one asked for; the state is the manager's.
  EXPECT_EQ(j[1]["main"], "example.com");
  EXPECT_EQ(j[1]["sans"], json::parse(R"(["www.example.com"])"));
  EXPECT_EQ(j[1]["acme"], json::parse(R"({"resolver":"le","domains":["example.com",
      "www.example.com"],"state":"renewing","nextAttempt":"2026-09-21T14:13:20.000Z"})"));
  // Not issued yet: names and the error, no certificate fields.
  EXPECT_EQ(j[2]["main"], "other.example.com");
  EXPECT_FALSE(j[2].contains("notAfter"));
  EXPECT_FALSE(j[2].contains("issuer"));
  EXPECT_EQ(j[2]["acme"]["lastError"], "urn:ietf:params:acme:error:connection");
  EXPECT_EQ(j[2]["acme"]["failures"], 2);
  EXPECT_EQ(j[3]["default"], true);
  EXPECT_FALSE(j[3].contains("main"));
  EXPECT_EQ(r.body.find("PRIVATE"), std::string::npos);
  EXPECT_EQ(r.body.find("key"), std::string::npos);
}

TEST(HandleApi, TrafficHook) {
  RuntimeStore store;
  ApiResponse none = handle_api(store, "", "GET", "/api/portier/traffic", "");
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(none.body, "404 page not found\n");
  EXPECT_EQ(json::parse(handle_api(store, "", "GET", "/api/overview", "").body)["traffic"],
            json::parse(R"({"available":false})"));

  int calls = 0;
  store.traffic_source = [&calls] {
    ++calls;
    return json{{"uptimeSeconds", 12.5},
                {"entryPoints",
                 {{"web",
                   {{"requests", 10},
                    {"status", {{"1xx", 0}, {"2xx", 8}, {"3xx", 0}, {"4xx", 2}, {"5xx", 0}}},
                    {"openConnections", 1}}}}},
                {"routers", json::object()},
                {"services", json::object()}};
  };
  ApiResponse r = handle_api(store, "", "GET", "/api/portier/traffic", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  json j = json::parse(r.body);
  EXPECT_EQ(j["uptimeSeconds"], 12.5);
  EXPECT_EQ(j["entryPoints"]["web"]["status"]["4xx"], 2);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(json::parse(handle_api(store, "", "GET", "/api/overview", "").body)["traffic"],
            json::parse(R"({"available":true})"));
  EXPECT_EQ(handle_api(store, "", "POST", "/api/portier/traffic", "").status, 405);
}

// Which instance answers: api.dashboardName (Traefik's /api/version field), else the host name.
TEST(HandleApi, InstanceName) {
  RuntimeStore store;
  store.hostname = "node-1";
  json overview = json::parse(handle_api(store, "3.0", "GET", "/api/overview", "").body);
  EXPECT_EQ(overview["instance"], json::parse(R"({"name":"node-1","hostname":"node-1"})"));
  EXPECT_FALSE(json::parse(handle_api(store, "3.0", "GET", "/api/version", "").body)
                   .contains("dashboardName"));
  store.dashboard_name = "edge-a";
  overview = json::parse(handle_api(store, "3.0", "GET", "/api/overview", "").body);
  EXPECT_EQ(overview["instance"], json::parse(R"({"name":"edge-a","hostname":"node-1"})"));
  EXPECT_EQ(json::parse(handle_api(store, "3.0", "GET", "/api/version", "").body)["dashboardName"],
            "edge-a");
}

TEST(HandleApi, PercentDecode) {
  EXPECT_EQ(percent_decode("a%40b%2Fc"), "a@b/c");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("%4"), "%4");
  EXPECT_EQ(percent_decode("%zz%41"), "%zzA");
}

}  // namespace
}  // namespace portier::admin
